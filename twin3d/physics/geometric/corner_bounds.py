"""Loss bounds and lazy ordering shared by the corner and wall searches (issue 13).

:mod:`.corner`, :mod:`.corner_clear` and :mod:`.reflection` visit each tile's
candidates (corners, walls) in increasing order of a lower bound of their
loss over the tile's receivers, popping a min-heap only as far as a
receiver needs (:func:`corner_heap`, :func:`next_in_order`). No I/O.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["circle_bound", "circle_of", "corner_heap", "j_db", "make_heap", "next_in_order",
           "sift_down"]


@njit(cache=True)
def j_db(v):
    """ITU-R P.526 eq. 31 (as :func:`.diffraction.knife_edge_loss_db`), scalar."""
    if v <= -0.78:
        return 0.0
    return max(0.0, 6.9 + 20.0 * np.log10(np.sqrt((v - 0.1) ** 2 + 1.0) + v - 0.1))


@njit(cache=True, inline="always")
def circle_of(rx, pts, a, b, tz):
    """Bounding circle (centre x, y, radius) of the receivers ``pts[a:b]`` in plan, and the least
    height difference between them and ``tz``."""
    x0, y0, z0 = np.inf, np.inf, np.inf
    x1, y1, z1 = -np.inf, -np.inf, -np.inf
    for q in range(a, b):
        p = pts[q]
        x0, x1 = min(x0, rx[p, 0]), max(x1, rx[p, 0])
        y0, y1 = min(y0, rx[p, 1]), max(y1, rx[p, 1])
        z0, z1 = min(z0, rx[p, 2]), max(z1, rx[p, 2])
    rho = 0.5 * np.sqrt((x1 - x0) ** 2 + (y1 - y0) ** 2) + 1e-6
    dz = 0.0 if z0 <= tz <= z1 else min(abs(z0 - tz), abs(z1 - tz))
    return 0.5 * (x0 + x1), 0.5 * (y0 + y1), rho, dz


@njit(cache=True, inline="always")
def circle_bound(c, mx, my, rho, dz, cxy, d_tc, u1, lam, weight, max_leg):
    """A lower bound of corner c's loss over the receivers in a circle (:func:`circle_of`): free
    space over the shortest plan path through the circle plus J(v) at the least diffraction
    angle and second leg; inf where the circle is out of the corner's reach."""
    wx, wy = mx - cxy[c, 0], my - cxy[c, 1]
    dist = np.sqrt(wx * wx + wy * wy)
    if dist - rho > max_leg:
        return np.inf
    d2 = max(dist - rho, 1.0)                         # second legs of 1 m or less are skipped
    length = max(np.sqrt((d_tc[c] + d2) ** 2 + dz * dz), 1.0)
    lb = 20.0 * np.log10(4.0 * np.pi * length / lam)
    if weight > 0.0:
        theta = 0.0
        if dist > rho:
            cos_w = min(1.0, max(-1.0, (u1[c, 0] * wx + u1[c, 1] * wy) / dist))
            theta = max(0.0, np.arccos(cos_w) - np.arcsin(rho / dist))
        # v grows with the angle and with the second leg: its least value over the circle
        lb += weight * j_db(theta * np.sqrt(2.0 * d_tc[c] * d2 / (lam * (d_tc[c] + d2))))
    elif weight < 0.0:
        lb = -np.inf                                  # J(v) unbounded: no pruning
    return lb - 1e-6                                  # slack for rounding


@njit(cache=True, inline="always")
def corner_heap(mx, my, rho, dz, cxy, d_tc, u1, lam, weight, max_leg):  # pragma: no cover - compiled
    """The corners in reach of a tile's circle (:func:`circle_of`) and a min-heap of their loss
    bounds (:func:`circle_bound`): ``(bound, keep, m, heap, srt, n_srt, n_heap)``, m corners
    (ids ``keep``), none yet in visit order ``srt`` (all, in corner order, when ``weight`` < 0:
    every bound is -inf and the pruning depends on the order), for :func:`next_in_order`."""
    n_c = cxy.shape[0]
    bound = np.empty(n_c)
    keep = np.empty(n_c, np.int64)
    m = 0
    for c in range(n_c):
        lb = circle_bound(c, mx, my, rho, dz, cxy, d_tc, u1, lam, weight, max_leg)
        if lb == np.inf:
            continue
        bound[m] = lb
        keep[m] = c
        m += 1
    heap = make_heap(bound, m)
    srt = np.empty(m, np.int64)
    n_srt = 0
    if weight < 0.0:
        srt[:] = np.arange(m)
        n_srt = m
    return bound, keep, m, heap, srt, n_srt, m


@njit(cache=True, inline="always")
def make_heap(keys, m):  # pragma: no cover - compiled
    """A min-heap of the indices 0..m-1 by ``keys``."""
    heap = np.arange(m)
    for h in range(m // 2 - 1, -1, -1):
        sift_down(keys, heap, h, m)
    return heap


@njit(cache=True, inline="always")
def next_in_order(r, keys, heap, srt, n_srt, n_heap):  # pragma: no cover - compiled
    """The r-th least key's index (``srt[r]``), popping it off the min-heap ``heap[:n_heap]``
    when r has just passed the ``n_srt`` popped so far: ``(index, n_srt, n_heap)``."""
    if r == n_srt:
        srt[n_srt] = heap[0]
        n_srt += 1
        n_heap -= 1
        heap[0] = heap[n_heap]
        sift_down(keys, heap, 0, n_heap)
    return srt[r], n_srt, n_heap


@njit(cache=True, inline="always")
def sift_down(keys, heap, h, n):
    """Restore the min-heap ``heap[:n]`` (of indices into ``keys``) below position h."""
    cur = heap[h]
    while True:
        child = 2 * h + 1
        if child >= n:
            break
        if child + 1 < n and keys[heap[child + 1]] < keys[heap[child]]:
            child += 1
        if keys[heap[child]] < keys[cur]:
            heap[h] = heap[child]
            h = child
        else:
            break
    heap[h] = cur
