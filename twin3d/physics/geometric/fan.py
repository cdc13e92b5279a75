"""An angular index of the footprint walls around one source point, for rays that start there.

Every ray of the geometric model's line-of-sight tests that starts at the
antenna (the direct rays to the grid, the first legs of reflections and
corner paths) is a ray from one point. Binning the walls by the angle
they subtend from that point (``n_bins`` equal bins over 360 degrees, each
wall in every bin its angular interval touches, plus one bin either side
for rounding), sorted by their least distance from it, a ray to a point at
angle phi and plan distance L meets only walls of phi's bin nearer than L:
a dozen or so tests per ray instead of a bucket walk
(:func:`.los3d._walk`). The walls found, their crossing parameters and the
blocking test are the same (the same arithmetic, :func:`.los3d._edge_hit`).

Examples
--------
>>> import numpy as np
>>> edges = np.array([[10.0, -1.0, 10.0, 1.0]])       # a short wall 10 m east
>>> start, items, r_min = fan_index(0.0, 0.0, edges, 64)
>>> int(r_min[0]), [b for b in range(64) if start[b + 1] > start[b]]
(10, [29, 30, 31, 32, 33, 34])
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from .crossing import edge_hit, record_edge, sort_edges

__all__ = ["FAN_BINS", "fan_index", "fan_walk"]

#: Angular bins of a fan (360 / 4096 = 0.09 degrees: a 10 m wall 300 m away spans 20).
FAN_BINS = 4096


def fan_index(sx, sy, edges, n_bins):
    """Walls by angle around (sx, sy): (start (n_bins + 1,), items, r_min (E,)).

    Bin b holds ``items[start[b]:start[b + 1]]``, by increasing ``r_min``, the
    least plan distance of each wall from the source.
    """
    edges = np.ascontiguousarray(edges, dtype=float)
    lo, hi, r_min = _fan_spans(float(sx), float(sy), edges, int(n_bins))
    order = np.argsort(r_min, kind="stable")           # nearest first: every bin comes out sorted
    start, items = _fan_fill(lo, hi, order, int(n_bins))
    return start, items, r_min


@njit(cache=True)
def _fan_spans(sx, sy, edges, n_bins):
    """Per wall: the first and last bin of its angular interval (unwrapped) and r_min."""
    n_e = edges.shape[0]
    lo = np.empty(n_e, np.int64)
    hi = np.empty(n_e, np.int64)
    r_min = np.empty(n_e)
    scale = n_bins / (2.0 * np.pi)
    for e in range(n_e):
        ax, ay = edges[e, 0] - sx, edges[e, 1] - sy
        bx, by = edges[e, 2] - sx, edges[e, 3] - sy
        fx, fy = bx - ax, by - ay
        ll = fx * fx + fy * fy
        u = 0.0
        if ll > 0.0:
            u = min(1.0, max(0.0, -(ax * fx + ay * fy) / ll))
        px, py = ax + u * fx, ay + u * fy
        r_min[e] = np.sqrt(px * px + py * py)
        if r_min[e] < 1e-6:                    # the source is on the wall: every direction
            lo[e], hi[e] = 0, n_bins - 1
            continue
        pa = np.arctan2(ay, ax)
        width = np.arctan2(by, bx) - pa
        if width > np.pi:
            width -= 2.0 * np.pi
        elif width < -np.pi:
            width += 2.0 * np.pi
        first = pa if width >= 0.0 else pa + width
        lo[e] = int(np.floor((first + np.pi) * scale)) - 1
        hi[e] = int(np.floor((first + abs(width) + np.pi) * scale)) + 1
        if hi[e] - lo[e] + 1 >= n_bins:
            lo[e], hi[e] = 0, n_bins - 1
    return lo, hi, r_min


@njit(cache=True)
def _fan_fill(lo, hi, order, n_bins):
    count = np.zeros(n_bins + 1, np.int64)
    for e in range(lo.shape[0]):
        for b in range(lo[e], hi[e] + 1):
            count[b % n_bins + 1] += 1
    start = np.cumsum(count)
    fill = start[:-1].copy()
    items = np.empty(start[-1], np.int64)
    for q in range(order.shape[0]):
        e = order[q]
        for b in range(lo[e], hi[e] + 1):
            bb = b % n_bins
            items[fill[bb]] = e
            fill[bb] += 1
    return start, items


@njit(cache=True, parallel=True)
def fan_walk(src, p1, edges, edge_b, base, top, start, items, r_min, wavelength, k_max,
             out_blocked, out_n, out_t, out_top):
    """:func:`.los3d._walk` for segments src -> p1[s] from one source, through its fan.

    Same outputs: blocked, the recorded knife edges (count, t, roof z).
    """
    n_bins = start.shape[0] - 1
    scale = n_bins / (2.0 * np.pi)
    x0, y0, z0 = src[0], src[1], src[2]
    for s in prange(p1.shape[0]):
        dx, dy, dz = p1[s, 0] - x0, p1[s, 1] - y0, p1[s, 2] - z0
        length = np.sqrt(dx * dx + dy * dy)
        blocked = False
        cnt = 0
        b = int(np.floor((np.arctan2(dy, dx) + np.pi) * scale))
        b = min(max(b, 0), n_bins - 1)
        reach = length * (1.0 + 1e-9) + 1e-9
        for q in range(start[b], start[b + 1]):
            e = items[q]
            if r_min[e] > reach:
                break
            t = edge_hit(x0, y0, dx, dy, edges[e, 0], edges[e, 1], edges[e, 2], edges[e, 3])
            if t < 0.0:
                continue
            hit, cnt = record_edge(s, t, edge_b[e], z0, dz, length, base, top, wavelength, k_max,
                                   cnt, out_t, out_top)
            if hit:
                blocked = True
                if k_max == 0:
                    break
        sort_edges(s, cnt, out_t, out_top)
        out_blocked[s] = blocked
        out_n[s] = cnt
