"""Row-wise pieces of the batched TrafficEngineering step (:mod:`twin3d.envs.vector`).

:func:`row_percentiles` gives every row of a (B, n) array the numbers
:func:`twin3d.sim.kpi.weighted_percentiles` gives that row alone, bit for
bit, in one compiled call for the whole batch.
"""

from __future__ import annotations

import numpy as np
import numba
from numba import njit, prange

from ..sim import kpi
from ..sim.kpi_buckets import bucket
from .base import HASH_DIGEST_MIN_BYTES, hash_part

__all__ = ["row_percentiles", "StepHasher"]


def row_percentiles(values: np.ndarray, qs, weights: np.ndarray, parallel: bool = False) -> np.ndarray:
    """:func:`twin3d.sim.kpi.weighted_percentiles` of every row, (B, len(qs)).

    Below ``kpi._SELECT_MIN`` values each row goes through the compiled sort
    that ``weighted_percentiles`` itself calls; larger rows through a
    selection that gives the sort's answers where it is certain
    (:func:`_one_pass_select`, as ``kpi._weighted_select`` in one pass over
    the row). A row the selection leaves uncertain goes to a compiled stable
    bucket sort (:func:`_sort_select_stable`), which orders the row as the
    stable sort that ``weighted_percentiles`` falls back to, so the numbers
    are the same row by row. ``parallel``: the rows in chunks on numba's
    threads (the same numbers: a row's answers do not depend on the bucket
    range it starts from). ``weights``: one row per row of ``values``, or one
    row for all of them.

    Examples
    --------
    >>> row_percentiles(np.array([[1., 2, 3, 4], [4, 3, 2, np.nan]]), [50, 100], np.ones((2, 4)))
    array([[2., 4.],
           [3., 4.]])
    """
    v = np.ascontiguousarray(values, dtype=float)
    w = np.ascontiguousarray(weights, dtype=float)
    if v.ndim != 2 or w.ndim != 2 or w.shape[1] != v.shape[1] or w.shape[0] not in (1, len(v)):
        raise ValueError("values and weights must be 2-d of one shape (or one row of weights "
                         f"for every row), got {v.shape} and {w.shape}")
    q = np.ascontiguousarray(np.asarray(qs, dtype=float).ravel() / 100.0)
    if not np.all((q >= 0.0) & (q <= 1.0)):
        raise ValueError(f"percentiles must be in [0, 100], got {qs}")
    out = np.empty((len(v), q.size))
    by_sort = v.shape[1] < kpi._SELECT_MIN
    if parallel and len(v) > 1:
        _rows_select_parallel(v, w, q, by_sort, out, 4 * numba.get_num_threads())
    else:
        _rows_select(v, w, q, by_sort, out, 0, len(v))
    return out


@njit(cache=True, parallel=True)
def _rows_select_parallel(v, w, q, by_sort, out, n_chunks):  # pragma: no cover - compiled
    """:func:`_rows_select` of the rows in ``n_chunks`` contiguous chunks on threads."""
    nr = v.shape[0]
    n_chunks = max(1, min(nr, n_chunks))
    for c in prange(n_chunks):
        _rows_select(v, w, q, by_sort, out, c * nr // n_chunks, (c + 1) * nr // n_chunks)


@njit(cache=True)
def _rows_select(v, w, q, by_sort, out, b0, b1):  # pragma: no cover - compiled
    """Row b (``b0 <= b < b1``) of ``out``: the percentiles ``q`` (fractions) of row b,
    NaN when nothing is kept. Rows of ``kpi._SELECT_MIN`` values or more:
    :func:`_one_pass_select`, bucketed on the range of the row before (the
    first: its own), and where it is not certain :func:`_sort_select_stable`."""
    n_in = v.shape[1]
    nb = max(16, n_in // 2)
    bw = np.empty(nb)
    head = np.empty(nb, np.int64)
    nxt = np.empty(n_in, np.int64)
    seg = np.empty((2, n_in))
    lo = np.inf
    hi = -np.inf
    if not by_sort and b1 > b0:
        for i in range(n_in):
            x = v[b0, i]
            if np.isfinite(x) and w[b0 if w.shape[0] > 1 else 0, i] > 0:
                lo = min(lo, x)
                hi = max(hi, x)
    for b in range(b0, b1):
        o = out[b]
        wb = w[b] if w.shape[0] > 1 else w[0]      # one row of weights: every row's
        if by_sort:
            kept = kpi._sort_select(v[b], wb, True, q, o)
        else:
            kept, certain, row_lo, row_hi = _one_pass_select(v[b], wb, q, o, lo, hi, bw,
                                                              head, nxt, seg[0], seg[1])
            if kept > 0:
                lo, hi = row_lo, row_hi
            if not certain:
                kept = _sort_select_stable(v[b], wb, q, o)
        if kept == 0:
            o[:] = np.nan


@njit(cache=True)
def _one_pass_select(v, w, q, out, lo_guess, hi_guess, bw, head, nxt, seg_v,
                     seg_w):  # pragma: no cover - compiled
    """The weighted percentiles ``q`` of one row by selection in one pass over it:
    (values kept, certain, lowest, highest kept value).

    As :func:`twin3d.sim.kpi._weighted_select`, with the kept (finite value,
    positive weight) pairs in ``bw.size`` buckets of equal width on the range
    ``lo_guess``..``hi_guess`` (values outside go to the end buckets: the map
    stays monotone, any range gives the same answers), each bucket's members
    chained in ``head``/``nxt`` as the pass goes, so the buckets of the targets
    are read without a second pass. An answer is the first group of equal
    values whose running weight reaches ``q * total``, certain when that
    target clears the weight below and through the group by more than any
    summation order can move such sums (``kpi._margin``): then it is the
    sort's answer whatever order this one adds in. So the sums here go in
    the order quickest to add: the total in four running sums, the weight
    below a target by blocks of eight buckets. ``seg_v``, ``seg_w``: scratch
    of ``v.size`` values (a target bucket's members, sorted there).
    """
    nb = bw.size
    scale = kpi._scale(lo_guess, hi_guess, nb)
    bw[:] = 0.0
    head[:] = -1
    n = 0
    lo = np.inf
    hi = -np.inf
    for i in range(v.size):
        x = v[i]
        y = w[i]
        if np.isfinite(x) and y > 0:
            n += 1
            lo = min(lo, x)
            hi = max(hi, x)
            f = (x - lo_guess) * scale
            k = 0 if not f >= 1.0 else (nb - 1 if f >= nb - 1 else int(f))   # NaN: 0
            bw[k] += y
            nxt[i] = head[k]
            head[k] = i
    if n == 0:
        return 0, True, lo, hi
    # any order of addition will do (see above): four sums, not one chain of nb adds
    t4 = np.zeros(4)
    nb4 = nb - nb % 4
    for k in range(0, nb4, 4):
        for j in range(4):
            t4[j] += bw[k + j]
    total = (t4[0] + t4[1]) + (t4[2] + t4[3])
    for k in range(nb4, nb):
        total += bw[k]
    if not (np.isfinite(total) and total > 1e-280):
        return n, False, lo, hi
    margin = kpi._margin(n, total)
    k_at = 0                    # the scan so far: buckets below k_at weigh w_at in all
    w_at = 0.0
    for qi in range(q.size):
        t = q[qi] * total
        if qi == 0 or not t >= q[qi - 1] * total:   # not ascending: scan from the start
            k_at, w_at = 0, 0.0
        k, before = k_at, w_at
        while k + 8 <= nb:      # whole blocks of 8 buckets below the target first
            block = ((bw[k] + bw[k + 1]) + (bw[k + 2] + bw[k + 3])) + \
                ((bw[k + 4] + bw[k + 5]) + (bw[k + 6] + bw[k + 7]))
            if not before + block < t:
                break
            before += block
            k += 8
        while k < nb and before + bw[k] < t:
            before += bw[k]
            k += 1
        k_at, w_at = k, before
        if k == nb:
            return n, False, lo, hi
        m = 0                   # the bucket's members, by insertion sort on the value
        i = head[k]
        while i >= 0 and m <= 16:
            x, y = v[i], w[i]
            j = m - 1
            while j >= 0 and seg_v[j] > x:
                seg_v[j + 1] = seg_v[j]
                seg_w[j + 1] = seg_w[j]
                j -= 1
            seg_v[j + 1] = x
            seg_w[j + 1] = y
            m += 1
            i = nxt[i]
        if i >= 0:              # a crowded bucket: the rest gathered, then a merge sort
            while i >= 0:
                seg_v[m] = v[i]
                seg_w[m] = w[i]
                m += 1
                i = nxt[i]
            order = np.argsort(seg_v[:m], kind="mergesort")
            seg_v[:m], seg_w[:m] = seg_v[:m][order], seg_w[:m][order]
        j = 0
        found = False
        while j < m:
            u = seg_v[j]
            g = 0.0
            while j < m and seg_v[j] == u:
                g += seg_w[j]
                j += 1
            through = before + g
            if through >= t:
                out[qi] = u
                if not ((before == 0.0 or t - before > margin) and through - t >= margin):
                    return n, False, lo, hi
                found = True
                break
            before = through
        if not found:
            return n, False, lo, hi
    return n, True, lo, hi


@njit(cache=True)
def _sort_select_stable(v, w, q, out):  # pragma: no cover - compiled
    """:func:`twin3d.sim.kpi._argsort_percentiles` of one row by a compiled stable
    bucket sort: the pairs kept (0: ``out`` untouched).

    Both sorts are stable: equal values keep their input order, so the
    running sum of the weights adds the same numbers in the same sequence,
    and the targets and answers are numpy's bit for bit. The sort: the kept
    pairs to value buckets of equal width in input order (a monotone map,
    :func:`twin3d.sim.kpi_buckets.bucket`), each bucket sorted alone by a
    stable insertion sort (about 2 values each: a few times quicker than a
    sort of the whole row), a crowded one by a merge sort.
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
        return 0
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
        if b - a > 16:                   # a crowded bucket (one value range): a stable sort
            order = np.argsort(sv[a:b], kind="mergesort") + a
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
        s += sw[i]
        cw[i] = s
    for j in range(q.size):
        out[j] = sv[kpi.cumulative_rank(cw, m, q[j] * cw[m - 1])]
    return m


class StepHasher:
    """Each stepped copy's episode hash updated as ``TwinEnv`` hashes a step: per
    observation key (sorted) its name and the copy's row (a row of
    :data:`~twin3d.envs.base.HASH_DIGEST_MIN_BYTES` or more: its SHA-256
    digest), then the reward as a float64; laid side by side as one byte row
    per copy (the names and places made once, the bytes of a full batch in one
    kept buffer), one update each."""

    def __init__(self) -> None:
        self._layout: tuple | None = None
        self._data: np.ndarray | None = None

    def update(self, hashes: list, rows: list[int], obs: dict, rewards: np.ndarray,
               shared: dict[str, bytes] | None = None) -> list:
        """Update ``hashes[b]`` for each b of ``rows`` (row j of ``obs`` and ``rewards``
        is copy ``rows[j]``); returns ``hashes`` with None for the copies not stepped.
        ``shared``: per key hashed by digest whose rows are all one array, that
        array's digest (worked out once by the caller, not once per row)."""
        m = len(rows)
        if self._layout is None:
            layout, at = [], 0
            for k in sorted(obs):
                name = np.frombuffer(k.encode(), np.uint8)
                size = obs[k][0].nbytes
                by_digest = size >= HASH_DIGEST_MIN_BYTES
                size = 32 if by_digest else size
                layout.append((k, name, slice(at, at + name.size),
                               slice(at + name.size, at + name.size + size), by_digest))
                at += name.size + size
            self._layout = (layout, at)
        blocks, width = self._layout
        data = self._data
        if data is None or len(data) != m:
            data = np.empty((m, width + 8), np.uint8)
            for _, name, name_at, _, _ in blocks:
                data[:, name_at] = name
            if m == len(hashes):            # a full batch: kept for the next step
                self._data = data
        for k, _, _, row_at, by_digest in blocks:
            if not by_digest:
                data[:, row_at] = obs[k].reshape(m, -1).view(np.uint8)
            elif shared is not None and k in shared:
                data[:, row_at] = np.frombuffer(shared[k], np.uint8)
            else:
                for j in range(m):
                    data[j, row_at] = np.frombuffer(hash_part(obs[k][j]), np.uint8)
        data[:, width:] = np.ascontiguousarray(rewards, dtype=np.float64).reshape(m, 1).view(np.uint8)
        final = [None] * len(hashes)
        for j, b in enumerate(rows):
            h = hashes[b]
            h.update(data[j])
            final[b] = h
        return final
