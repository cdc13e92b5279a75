"""Row-wise pieces of the batched TrafficEngineering step (:mod:`twin3d.envs.vector`).

:func:`row_percentiles` gives every row of a (B, n) array the numbers
:func:`twin3d.sim.kpi.weighted_percentiles` gives that row alone, bit for
bit, in one compiled call for the whole batch.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ..sim import kpi
from ..sim.kpi_buckets import bucket

__all__ = ["row_percentiles"]


def row_percentiles(values: np.ndarray, qs, weights: np.ndarray) -> np.ndarray:
    """:func:`twin3d.sim.kpi.weighted_percentiles` of every row, (B, len(qs)).

    Each row goes through the compiled function that ``weighted_percentiles``
    itself calls (:func:`twin3d.sim.kpi._select`, or the sort below
    ``kpi._SELECT_MIN`` values). A row the selection leaves uncertain goes
    to a compiled bucket sort (:func:`_sort_select_order_free`) when the
    order of equal values cannot change its running sums (every group of
    equal kept values has one weight), else to the numpy sort that
    ``weighted_percentiles`` falls back to, so the numbers are the same row
    by row.

    Examples
    --------
    >>> row_percentiles(np.array([[1., 2, 3, 4], [4, 3, 2, np.nan]]), [50, 100], np.ones((2, 4)))
    array([[2., 4.],
           [3., 4.]])
    """
    v = np.ascontiguousarray(values, dtype=float)
    w = np.ascontiguousarray(weights, dtype=float)
    if v.ndim != 2 or w.shape != v.shape:
        raise ValueError(f"values and weights must be 2-d of one shape, got {v.shape} and {w.shape}")
    q = np.ascontiguousarray(np.asarray(qs, dtype=float).ravel() / 100.0)
    if not np.all((q >= 0.0) & (q <= 1.0)):
        raise ValueError(f"percentiles must be in [0, 100], got {qs}")
    out = np.empty((len(v), q.size))
    certain = np.ones(len(v), np.bool_)
    _rows_select(v, w, q, v.shape[1] < kpi._SELECT_MIN, out, certain)
    for b in np.flatnonzero(~certain):          # rare: numpy's sort decides, as for one array
        out[b] = kpi._argsort_percentiles(v[b], qs, w[b])
    return out


@njit(cache=True)
def _rows_select(v, w, q, by_sort, out, certain):  # pragma: no cover - compiled
    """Row b of ``out``: the percentiles ``q`` (fractions) of row b, NaN when nothing
    is kept; ``certain[b]`` False where only numpy's sort can decide."""
    for b in range(v.shape[0]):
        o = out[b]
        if by_sort:
            kept = kpi._sort_select(v[b], w[b], True, q, o)
        else:
            kept, certain[b] = kpi._select(v[b], w[b], True, q, o)
            if not certain[b]:
                kept, certain[b] = _sort_select_order_free(v[b], w[b], q, o)
        if kept == 0:
            o[:] = np.nan
            certain[b] = True


@njit(cache=True)
def _sort_select_order_free(v, w, q, out):  # pragma: no cover - compiled
    """:func:`twin3d.sim.kpi._argsort_percentiles` of one row by a compiled bucket
    sort: (pairs kept, the answer is numpy's).

    numpy's sort (and this one) may put equal values in any order, and the
    running sum of the weights follows that order; when every group of
    equal kept values has one weight (and one sign of zero), each order adds
    the same numbers in the same sequence, so the running sums, the targets
    and the answers are numpy's bit for bit. Otherwise (False) ``out`` is
    not to be used. The sort: the kept pairs to value buckets of equal width
    (a monotone map, :func:`twin3d.sim.kpi_buckets.bucket`), each bucket
    sorted alone (about 2 values each: a few times quicker than a sort of
    the whole row).
    """
    n = v.size
    kv = np.empty(n)
    kw = np.empty(n)
    m = 0
    lo = np.inf
    hi = -np.inf
    for i in range(n):
        x = v[i]
        y = w[i]
        if np.isfinite(x) and y > 0:
            kv[m] = x
            kw[m] = y
            m += 1
            lo = min(lo, x)
            hi = max(hi, x)
    if m == 0:
        return 0, True
    nb = kpi._n_buckets(m)
    scale = kpi._scale(lo, hi, nb)
    start = np.zeros(nb + 1, np.int64)
    for i in range(m):
        start[bucket(kv[i], lo, scale, nb) + 1] += 1
    for k in range(nb):
        start[k + 1] += start[k]
    fill = start[:nb].copy()
    sv = np.empty(m)
    sw = np.empty(m)
    for i in range(m):
        k = bucket(kv[i], lo, scale, nb)
        sv[fill[k]] = kv[i]
        sw[fill[k]] = kw[i]
        fill[k] += 1
    for k in range(nb):
        a, b = start[k], start[k + 1]
        if b - a > 16:                   # a crowded bucket (one value range): a real sort
            order = np.argsort(sv[a:b]) + a
            sv[a:b], sw[a:b] = sv[order], sw[order]
            continue
        for i in range(a + 1, b):        # insertion sort, the weight along
            x, y = sv[i], sw[i]
            j = i - 1
            while j >= a and sv[j] > x:
                sv[j + 1] = sv[j]
                sw[j + 1] = sw[j]
                j -= 1
            sv[j + 1] = x
            sw[j + 1] = y
    cw = np.empty(m)
    s = 0.0
    for i in range(m):
        if i > 0 and sv[i] == sv[i - 1] and (sw[i] != sw[i - 1]
                                             or np.signbit(sv[i]) != np.signbit(sv[i - 1])):
            return m, False
        s += sw[i]
        cw[i] = s
    for j in range(q.size):
        target = q[j] * cw[m - 1]
        lo_i = m                     # a NaN target sorts after every sum, as in numpy
        if target == target:
            lo_i, hi_i = 0, m
            while lo_i < hi_i:
                mid = (lo_i + hi_i) >> 1
                if cw[mid] < target:
                    lo_i = mid + 1
                else:
                    hi_i = mid
        out[j] = sv[min(lo_i, m - 1)]
    return m, True
