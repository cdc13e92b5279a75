"""One ray against one footprint wall: the crossing test and the knife-edge record.

Shared by the two walks over the walls, the bucket walk of any segment
(:func:`.los3d._walk`) and the fan of rays from one source
(:func:`.fan.fan_walk`), so both find the same crossings with the same
arithmetic. A ray p0 + t d (plan direction d, height z0 + t dz) crosses a
wall at t; it is blocked there when base <= z(t) < roof, and the wall's roof
is kept as a knife edge when its Fresnel parameter
v = (roof - z(t)) sqrt(2 L / (lambda d1 d2)) > -0.78 (ITU-R P.526), at most
``k_max`` per ray (beyond that the lowest above the ray is dropped).
Compiled (numba) helpers; no I/O.

Examples
--------
>>> edge_hit(0.0, 0.0, 10.0, 0.0, 5.0, -1.0, 5.0, 1.0)
0.5
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["edge_hit", "edge_hit_u", "record_edge", "sort_edges"]


@njit(cache=True, inline="always")
def edge_hit_u(ax, ay, dx, dy, ex0, ey0, ex1, ey1):
    """(t, u): a + t d crosses edge e at e0 + u (e1 - e0), both in 0-1; (-1, 0) when it does not."""
    fx, fy = ex1 - ex0, ey1 - ey0
    den = dx * fy - dy * fx
    if den == 0.0:
        return -1.0, 0.0
    wx, wy = ex0 - ax, ey0 - ay
    t = (wx * fy - wy * fx) / den
    u = (wx * dy - wy * dx) / den
    if t < 0.0 or t > 1.0 or u < 0.0 or u > 1.0:
        return -1.0, 0.0
    return t, u


@njit(cache=True, inline="always")
def edge_hit(ax, ay, dx, dy, ex0, ey0, ex1, ey1):
    """Parameter t on a + t d where it crosses edge e, or -1 when it does not."""
    return edge_hit_u(ax, ay, dx, dy, ex0, ey0, ex1, ey1)[0]


@njit(cache=True, inline="always")
def record_edge(s, t, b, z0, dz, length, base, top, wavelength, k_max, cnt, out_t, out_top):
    """Ray s crosses a wall of building b at t: (blocked there, new count of kept edges)."""
    z = z0 + t * dz
    hit = z >= base[b] and z < top[b]
    if k_max > 0:
        d1 = t * length
        d2 = length - d1
        if d1 > 0.0 and d2 > 0.0:
            v = (top[b] - z) * np.sqrt(2.0 * length / (wavelength * d1 * d2))
            if v > -0.78:
                if cnt < k_max:
                    out_t[s, cnt] = t
                    out_top[s, cnt] = top[b]
                    cnt += 1
                else:        # full: replace the lowest edge above the ray
                    lowest = 0
                    for r in range(1, k_max):
                        if out_top[s, r] - (z0 + out_t[s, r] * dz) < \
                                out_top[s, lowest] - (z0 + out_t[s, lowest] * dz):
                            lowest = r
                    if top[b] - z > out_top[s, lowest] - (z0 + out_t[s, lowest] * dz):
                        out_t[s, lowest] = t
                        out_top[s, lowest] = top[b]
    return hit, cnt


@njit(cache=True, inline="always")
def sort_edges(s, cnt, out_t, out_top):
    """Sort ray s's kept edges by t (few: insertion sort, stable); the rest of the row is t = 0,
    roof -inf."""
    for r in range(cnt, out_t.shape[1]):
        out_t[s, r] = 0.0
        out_top[s, r] = -np.inf
    for i in range(1, cnt):
        tt, hh = out_t[s, i], out_top[s, i]
        j = i - 1
        while j >= 0 and out_t[s, j] > tt:
            out_t[s, j + 1] = out_t[s, j]
            out_top[s, j + 1] = out_top[s, j]
            j -= 1
        out_t[s, j + 1] = tt
        out_top[s, j + 1] = hh
