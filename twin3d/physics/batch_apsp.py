"""Every shortest distance of a small graph with integer weights, in int32 (Floyd-Warshall).

:func:`twin3d.physics.batch_dense.record_dense` needs the distance from
every node to every destination. With integer weights every path sum is
exact, so any correct search finds the router's distances; on tens of
nodes the plainest one is the fastest: Floyd-Warshall's n**3 min-plus
steps on int32 rows, which the compiler runs 16 lanes at a time without a
branch, against Bellman-Ford's float64 sweeps that repeat until no row
changes (:func:`~twin3d.physics.batch_dense.all_pairs`, the fallback).

Weights are clamped to :data:`EXACT_TOP` and a distance to
:data:`NO_PATH`: a distance below ``EXACT_TOP`` then uses no clamped
weight, so it is the true one, and a sum of two entries never overflows
(``2 NO_PATH < 2**31``), so no step needs a branch. The caller uses the
result only when every finite distance is below ``EXACT_TOP`` (the largest
is returned); then every other entry is exactly "no path": along a shortest
path the distances grow by at most ``EXACT_TOP`` per edge, so a distance at
or past ``NO_PATH`` would leave one between ``EXACT_TOP`` and ``NO_PATH``.

When every path of up to ``n - 1`` edges sums below :data:`NO_PATH_16`
(the largest weight times ``n - 1``; a ladder of IGP weights on tens of
nodes), the same steps run on int16 rows, twice the lanes per vector, with
:data:`NO_PATH_16` for "no path" (twice it fits in int16; no finite
distance reaches it), and the result is widened to int32: the same matrix.

Examples
--------
A path 0 -> 1 -> 2 (weights 3 and 4) and a direct 0 -> 2 of weight 9:

>>> di = np.empty((3, 16), np.int32)
>>> top = all_pairs_int(3, np.array([0, 2, 3, 3]), np.array([1, 2, 2]),
...                     np.array([3.0, 9.0, 4.0]), di, np.empty(16, np.int32))
>>> int(top), di[:, :3].tolist()
(7, [[0, 3, 7], [1073741823, 0, 4], [1073741823, 1073741823, 0]])
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["EXACT_TOP", "NO_PATH", "all_pairs_int", "padded"]

#: "No path" in the int32 distances (twice it fits in int32).
NO_PATH = np.int32(2 ** 30 - 1)
#: "No path" of the int16 search (twice it fits in int16).
NO_PATH_16 = np.int16(2 ** 14 - 1)
#: Distances below this are exact (and ``record``'s 1e-9 relative test is an equality on them).
EXACT_TOP = 500_000_000


@njit(cache=True)
def padded(n):  # pragma: no cover - compiled
    """Row length of the int32 distance matrices: ``n`` rounded up to 32 lanes
    (the compiler's vector loop takes 32 int32 at a time: no scalar remainder)."""
    return (n + 31) & ~31


@njit(cache=True)
def all_pairs_int(n, out_ptr, out_head, out_w, di, rowk):  # pragma: no cover - compiled
    """``di[a, t]``: the distance from a to t over the out-edges, int32
    (:data:`NO_PATH`: none; columns ``n`` to ``padded(n)`` are 0); returns the
    largest distance below ``NO_PATH`` (int64).

    ``out_w``: integer weights (float64); ``di``: (n, padded(n)) int32;
    ``rowk``: (padded(n),) int32 scratch. Branch-free: n**2 padded(n) min-plus
    steps (37 nodes: about 5 µs; int16 rows when the weights are small:
    about 2.5). Exact when the return is below :data:`EXACT_TOP` (see the
    module's notes); otherwise use the float search.
    """
    npad = di.shape[1]
    w_top = 0.0
    for x in out_w:
        w_top = max(w_top, x)
    if w_top * (n - 1) < NO_PATH_16:     # every path sum fits: int16 lanes, then widened
        d16 = _all_pairs_16(n, out_ptr, out_head, out_w, npad)
        top = np.int16(0)
        for a in range(n):
            row16 = d16[a]
            row = di[a]
            for j in range(npad):               # without a branch: whole vectors
                x = row16[j]
                row[j] = np.int32(x) if x < NO_PATH_16 else NO_PATH
                y = x if x < NO_PATH_16 else np.int16(0)
                top = y if y > top else top     # (padding columns hold 0)
        return np.int64(top)
    _lightest_edges(n, out_ptr, out_head, out_w, di, NO_PATH, float(EXACT_TOP), np.int32)
    _floyd_warshall(n, di, rowk, np.empty(npad, np.int32), np.int32)
    top = 0
    for a in range(n):
        row = di[a]
        for j in range(n):
            x = row[j]
            if x < NO_PATH and x > top:
                top = x
    return np.int64(top)


@njit(cache=True)
def _all_pairs_16(n, out_ptr, out_head, out_w, npad):  # pragma: no cover - compiled
    """:func:`all_pairs_int`'s Floyd-Warshall on int16 rows (:data:`NO_PATH_16`: no
    path), for integer weights whose largest times ``n - 1`` is below ``NO_PATH_16``."""
    d = np.empty((n, npad), np.int16)
    _lightest_edges(n, out_ptr, out_head, out_w, d, NO_PATH_16, float(NO_PATH_16), np.int16)
    _floyd_warshall(n, d, np.empty(npad, np.int16), np.empty(npad, np.int16), np.int16)
    return d


@njit(cache=True)
def _lightest_edges(n, out_ptr, out_head, out_w, d, no_path, w_cap, lane):  # pragma: no cover
    """``d``: 0 on the diagonal and the padding, each edge's weight (parallel edges:
    the lightest; clamped to ``w_cap``), ``no_path`` elsewhere; ``lane``: d's type."""
    d[:, :] = no_path
    d[:, n:] = 0
    for a in range(n):
        d[a, a] = 0
        for e in range(out_ptr[a], out_ptr[a + 1]):
            b = out_head[e]
            x = lane(min(out_w[e], w_cap))
            if x < d[a, b]:
                d[a, b] = x


@njit(cache=True)
def _floyd_warshall(n, d, rowk, rowk1, lane):  # pragma: no cover - compiled
    """Floyd-Warshall in place on the rows of ``d`` (``lane``: their integer type,
    every sum cast back to it so that the compiler keeps the narrow lanes; numba
    would widen to int64), two intermediates at a time: row i after rounds k
    and k + 1 is min(row i, d(i, k) + row k, d'(i, k + 1) + row' k + 1), where
    d' and row' are round k's (row k does not change in round k: d(k, k) is 0),
    so each row is loaded and stored once per two rounds; rows k and k + 1 are
    copied out first (``rowk``, ``rowk1``), so the compiler sees that the rows
    it lowers do not overlap the rows it reads. No branch on "no path": it
    would be mispredicted."""
    npad = d.shape[1]
    k = 0
    while k + 1 < n:
        rowk[:] = d[k]
        dk1k = d[k + 1, k]
        r1 = d[k + 1]
        for j in range(npad):       # row k + 1 after round k
            x = lane(dk1k + rowk[j])
            y = r1[j]
            rowk1[j] = x if x < y else y
        dkk1 = rowk[k + 1]
        for i in range(n):
            a = d[i, k]
            b0 = d[i, k + 1]
            b1 = lane(a + dkk1)
            b = b0 if b0 < b1 else b1       # d'(i, k + 1)
            row = d[i]
            for j in range(npad):
                x = lane(a + rowk[j])
                z = lane(b + rowk1[j])
                y = row[j]
                x = x if x < z else z
                row[j] = x if x < y else y
        k += 2
    if k < n:                       # the last intermediate of an odd count
        rowk[:] = d[k]
        for i in range(n):
            a = d[i, k]
            row = d[i]
            for j in range(npad):
                x = lane(a + rowk[j])
                y = row[j]
                row[j] = x if x < y else y
