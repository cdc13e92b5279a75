"""Key performance indicators of one step, from plain arrays.

Names carry units (``converged`` is a bool: the step's tail-drop fixed point
met its tolerance). Percentiles of grid quantities are weighted by offered
demand where a weight is given, so a crowded square counts more than an
empty park.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ..physics.kernel_args import readonly_c, writable_c
from ..physics.tally import weighted_tally
from .kpi_buckets import bucket as _bucket
from .kpi_buckets import SELECT_CHOICE, bucket_pass, gather_pass, select_chunks

__all__ = ["weighted_percentile", "weighted_percentiles", "KPI_UNITS", "radio_kpis",
           "transport_kpis"]

#: Every KPI a step reports, with its unit (for tables and USD metadata).
KPI_UNITS = {
    "coverage_pct": "%", "sinr_p5_db": "dB", "sinr_p50_db": "dB", "sinr_p95_db": "dB",
    "throughput_p5_bps": "bit/s", "throughput_p50_bps": "bit/s",
    "offered_bps": "bit/s", "served_bps": "bit/s", "dropped_bps": "bit/s",
    "util_max": "1", "util_mean": "1", "latency_p50_ms": "ms", "latency_p95_ms": "ms",
    "failed_elements": "count", "energy_w": "W", "converged": "bool",
    "sla_violated": "bool",
}


def weighted_percentiles(values, qs, weights=None, stats=None, lowest_weight=None) -> list[float]:
    """Several percentiles (0-100) of ``values``, optionally weighted.

    ``stats``: ``weighted_stats(values, weights)`` when the caller has it
    (weighted only; the same answers, one pass fewer). ``lowest_weight``,
    with ``stats``: the weight of the values equal to the lowest, ``stats[2]``,
    summed in any order; when every target lies in that group by more than
    the margin below, the answers are that value without a pass over the
    data (:func:`lowest_group_percentiles`).

    Uses the inverse of the weighted empirical CDF; NaN values and zero
    weights are ignored. NaN for every ``q`` when nothing is left.

    Examples
    --------
    >>> weighted_percentiles([1, 2, 3, 4], [50, 100])
    [2.0, 4.0]
    >>> weighted_percentiles([1, 2, 3, 4], [50], [0, 0, 1, 1])
    [3.0]

    Notes
    -----
    The definition is that of a sort: with the kept values in ascending
    order and ``cw`` the running sum of their weights, the ``q``-th
    percentile is the first value whose ``cw`` reaches ``q / 100 *
    cw[-1]``. Inputs of 64 values or more get the same numbers without sorting the
    weights along: unweighted, the answer is an order statistic of known
    rank (a plain sort of the values); weighted, a compiled selection
    finds the value where the weight crosses the target, with the weight
    below and through it, and the answer stands when the target clears
    both by more than any float summation order could move them
    (``8 (n + 2) eps`` times the total weight). Otherwise, rarely, a
    stable sort decides (numpy's, :func:`_argsort_percentiles`; below 64 values a
    compiled one, :func:`_sorted_percentiles`): equal values in their input order.
    """
    # read-only views (the demand weights are often kept read-only): one signature of the
    # selection kernels, and no copy of a large input
    v = readonly_c(values, float).ravel()
    if v.size < _SELECT_MIN:
        return _sorted_percentiles(v, qs, weights)
    q = _fractions(qs)
    if q is None:
        return _sorted_percentiles(v, qs, weights)
    w = v if weights is None else readonly_c(weights, float).ravel()
    if w.shape != v.shape:
        return _sorted_percentiles(v, qs, weights)
    out = np.empty(q.size)
    if stats is not None and weights is not None:
        if lowest_weight is not None:
            got = lowest_group_percentiles(q, stats, lowest_weight)
            if got is not None:
                return got
        # serial, or for large inputs on threads when they measure quicker
        n, certain = SELECT_CHOICE.timed(lambda k: _weighted_select_from(v, w, q, out, *stats, k),
                                         v.size, select_chunks(v.size))
    else:
        n, certain = _select(v, w, weights is not None, q, out)
    if n == 0:
        return [float("nan")] * len(qs)
    if not certain:
        return _argsort_percentiles(v, qs, w)
    return out.tolist()


@njit(cache=True)
def _margin(n, total):  # pragma: no cover - compiled
    """How far any summation order of ``n`` non-negative weights totalling about
    ``total`` (the sort's running sum included) can move such a sum, and more."""
    return 8.0 * (n + 2) * 2.220446049250313e-16 * total


def lowest_group_percentiles(q, stats, lowest_weight) -> list[float] | None:
    """The weighted percentiles at fractions ``q`` when all of them are the lowest value; else None.

    ``stats`` = (count, total weight, lowest, highest), :func:`weighted_stats`;
    ``lowest_weight``: the weight of the values equal to the lowest, summed
    in any order. The sort puts that group first, so its running weight
    through the group is ``lowest_weight`` within the summation margin of
    :func:`_weighted_select_from`; a target ``q * total`` at least that
    margin below it is reached inside the group whatever the order (a
    demand-weighted p5 of user throughput where more than 5 % of the demand
    is unserved, at 0 bit/s). Not certain (None) otherwise.
    """
    n, total, lo, _ = stats
    if n == 0 or not (np.isfinite(total) and total > 1e-280):
        return None
    margin = _margin(n, total)
    for x in q:
        if not lowest_weight - x * total >= margin:
            return None
    return [float(lo)] * len(q)


#: Fractions of the percentile lists met (never written; None: not all in [0, 100]).
_FRACTIONS: dict[tuple, np.ndarray | None] = {}


def _fractions(qs) -> np.ndarray | None:
    """``qs`` (percent) as a contiguous array of fractions in [0, 1], or None when
    one is outside; kept per list of plain numbers (a step asks the same ones)."""
    key = tuple(qs) if isinstance(qs, (list, tuple)) and len(qs) < 16 else None
    if key is not None and all(type(x) in (int, float) for x in key):
        if key in _FRACTIONS:
            return _FRACTIONS[key]
    else:
        key = None
    q = np.ascontiguousarray(np.asarray(qs, dtype=float).ravel() / 100.0)
    if not np.all((q >= 0.0) & (q <= 1.0)):
        q = None
    if key is not None and len(_FRACTIONS) < 256:
        _FRACTIONS[key] = q
    return q


@njit(cache=True, nogil=True)
def _select(v, w, weighted, q, out):  # pragma: no cover - compiled
    """:func:`weighted_percentiles` of one array into ``out`` (``q`` in [0, 1]):
    (values kept, the answers are certain). Unweighted, the order statistics
    of :func:`_rank_select`; weighted, :func:`_weighted_select` (not certain:
    the caller sorts, :func:`_argsort_percentiles`)."""
    if not weighted:
        return _rank_select(v, q, out), True
    return _weighted_select(v, w, q, out)


def _argsort_percentiles(v, qs, w) -> list[float]:
    """The sort's definition with numpy's stable argsort: where a selection is not
    certain. Stable, so that equal values keep their input order and the running
    sum is one definite sequence on every machine (numpy's default argsort may
    order equal values by the CPU's vector instructions)."""
    keep = np.isfinite(v) & (w > 0)
    v, w = v[keep], w[keep]
    order = np.argsort(v, kind="stable")
    cw = np.cumsum(w[order])
    idx = np.searchsorted(cw, np.asarray(qs, dtype=float) / 100.0 * cw[-1], side="left")
    return [float(v[order[min(i, len(v) - 1)]]) for i in idx]


#: Inputs smaller than this take the sort of :func:`_sorted_percentiles` directly.
_SELECT_MIN = 64


def _sorted_percentiles(v, qs, weights=None) -> list[float]:
    """:func:`weighted_percentiles` by one sort of the values and a running sum of the weights.

    Compiled (:func:`_sort_select`): a stable sort, so equal values keep
    their input order and the running sum is one definite sequence.
    """
    # writable, as the rows of twin3d.envs.vector_rows: one signature of _sort_select
    v = writable_c(v, float).ravel()
    w = v if weights is None else writable_c(weights, float).ravel()
    q = np.ascontiguousarray(np.asarray(qs, dtype=float).ravel() / 100.0)
    out = np.empty(q.size)
    if w.shape != v.shape:          # one weight for every value, as numpy would broadcast it
        if w.size != 1:
            raise ValueError(f"weights must have the shape of values {v.shape}, got {w.shape}")
        w = np.full(v.shape, w[0])
    if _sort_select(v, w, weights is not None, q, out) == 0:
        return [float("nan")] * len(qs)
    return [float(x) for x in out]


@njit(cache=True, nogil=True)
def _sort_select(v, w, weighted, q, out):  # pragma: no cover - compiled
    """Percentiles by a sort: the kept (finite value, weight > 0) pairs in a
    stable ascending order of value, ``cw`` their running weight (1 each
    without ``weighted``), and ``out[i]`` the first value whose ``cw``
    reaches ``q[i] * cw[-1]`` (``searchsorted(side="left")``, clipped to
    the last). Returns the pairs kept (0: ``out`` untouched)."""
    n = v.size
    kv = np.empty(n)
    kw = np.empty(n)
    m = 0
    for i in range(n):
        x = v[i]
        y = w[i] if weighted else 1.0
        if np.isfinite(x) and y > 0:
            kv[m] = x
            kw[m] = y
            m += 1
    if m == 0:
        return 0
    order = np.argsort(kv[:m], kind="mergesort")
    cw = np.empty(m)
    s = 0.0
    for i in range(m):
        s += kw[order[i]]
        cw[i] = s
    for j in range(q.size):
        out[j] = kv[order[cumulative_rank(cw, m, q[j] * cw[m - 1])]]
    return m


@njit(cache=True, nogil=True)
def cumulative_rank(cw, m, target):  # pragma: no cover - compiled
    """The first i < m with ``cw[i] >= target`` in the ascending running
    weights ``cw[:m]`` (``searchsorted(side="left")``), clipped to m - 1; a
    NaN target sorts after every sum, as in numpy."""
    lo = m
    if target == target:
        lo, hi = 0, m
        while lo < hi:
            mid = (lo + hi) >> 1
            if cw[mid] < target:
                lo = mid + 1
            else:
                hi = mid
    return min(lo, m - 1)


#: Value buckets of the selections (fewer for fewer values: ~2 values a bucket).
_BUCKETS = 4096


@njit(cache=True)
def _n_buckets(n):  # pragma: no cover - compiled
    """Buckets for n values: any count gives the same answers (the map is monotone)."""
    return _BUCKETS if n >= 2 * _BUCKETS else max(16, n // 2)


@njit(cache=True)
def _scale(lo, hi, nb):  # pragma: no cover - compiled
    span = hi - lo
    scale = nb / span if span > 0 else 0.0
    return scale if np.isfinite(scale) else 0.0


@njit(cache=True)
def _rank_select(values, q, out):  # pragma: no cover - compiled
    """Order statistics: out[i] = the ceil(q[i] n)-th smallest finite value (clipped to 1..n).

    Returns n, the finite values. Three passes: the range, the count of
    values per value bucket (which finds the bucket of each rank), and the
    values of those buckets, sorted alone. Exact.
    """
    n_in = values.size
    n = 0
    lo = np.inf
    hi = -np.inf
    for i in range(n_in):
        x = values[i]
        if np.isfinite(x):
            n += 1
            lo = min(lo, x)
            hi = max(hi, x)
    if n == 0:
        return 0
    nb = _n_buckets(n)
    scale = _scale(lo, hi, nb)
    count = np.zeros(nb + 1, np.int64)
    for i in range(n_in):
        x = values[i]
        if np.isfinite(x):
            count[_bucket(x, lo, scale, nb) + 1] += 1
    for k in range(nb):
        count[k + 1] += count[k]
    nq = q.size
    rank = np.empty(nq, np.int64)
    q_bucket = np.empty(nq, np.int64)
    slot = np.full(nb, -1, np.int64)
    start = np.zeros(nq + 1, np.int64)
    n_slots = 0
    for qi in range(nq):
        r = np.ceil(q[qi] * np.float64(n)) - 1.0
        rank[qi] = 0 if r < 0.0 else (n - 1 if r > n - 1 else int(r))
        k = 0
        while count[k + 1] <= rank[qi]:
            k += 1
        q_bucket[qi] = k
        if slot[k] < 0:
            slot[k] = n_slots
            start[n_slots + 1] = start[n_slots] + count[k + 1] - count[k]
            n_slots += 1
    fill = start[:n_slots].copy()
    seg = np.empty(start[n_slots])
    for i in range(n_in):
        x = values[i]
        if np.isfinite(x):
            t = slot[_bucket(x, lo, scale, nb)]
            if t >= 0:
                seg[fill[t]] = x
                fill[t] += 1
    for t in range(n_slots):
        seg[start[t]:start[t + 1]].sort()
    for qi in range(nq):
        k = q_bucket[qi]
        out[qi] = seg[start[slot[k]] + rank[qi] - count[k]]
    return n


@njit(cache=True)
def _weighted_select(values, weights, q, out):  # pragma: no cover - compiled
    """Weighted quantiles by selection; returns (values kept, every answer certain).
    (:func:`_weighted_select_from` after the first pass, :func:`weighted_stats`.)

    The kept (finite value, positive weight) pairs go to ``_BUCKETS`` buckets
    of equal value width (a monotone map: a bucket's values all lie below the
    next one's), with the weight of each. For the target t = q[i] * total,
    the bucket where the running weight reaches t is sorted alone, and its
    groups of equal values are walked on from the weight below it to the
    group u with weight strictly below u < t <= weight through u. The
    answer is certain when both gaps exceed the bound on how far any
    summation order of these non-negative weights (the sort's running sum
    included) can move such sums: 8 (n + 2) eps total. Three passes over
    the data: range and total, weight per bucket, the chosen buckets.
    """
    n, total, lo, hi = weighted_stats(values, weights)
    return _weighted_select_from(values, weights, q, out, n, total, lo, hi, 1)


@njit(cache=True, nogil=True)
def weighted_stats(values, weights):  # pragma: no cover - compiled
    """(count, total weight, min, max) of the finite values with a weight > 0, the
    weights summed in index order: the first pass of the weighted selection (a
    caller that makes the values can count them as it goes: ``stats=`` of
    :func:`weighted_percentiles`)."""
    return weighted_tally(values, weights, 0, values.size, 0, 0.0, np.inf, -np.inf)


@njit(cache=True, nogil=True)
def _weighted_select_from(values, weights, q, out, n, total, lo, hi,
                          n_chunks):  # pragma: no cover - compiled
    """:func:`_weighted_select` given its first pass (:func:`weighted_stats`); its
    other two passes in ``n_chunks`` runs on threads (:mod:`.kpi_buckets`: the
    same answers)."""
    if n == 0:
        return 0, True
    if not (np.isfinite(total) and total > 1e-280):
        return n, False
    margin = _margin(n, total)
    nb = _n_buckets(n)
    scale = _scale(lo, hi, nb)
    bw, count, counts = bucket_pass(values, weights, lo, scale, nb, n_chunks)
    cum = np.empty(nb + 1)
    cum[0] = 0.0
    for k in range(nb):
        cum[k + 1] = cum[k] + bw[k]
    nq = q.size
    slot = np.full(nb, -1, np.int64)
    q_bucket = np.empty(nq, np.int64)
    start = np.zeros(nq + 1, np.int64)
    n_slots = 0
    for qi in range(nq):
        t = q[qi] * total
        k = 0
        while k < nb and cum[k + 1] < t:
            k += 1
        if k == nb:
            return n, False
        q_bucket[qi] = k
        if slot[k] < 0:
            slot[k] = n_slots
            start[n_slots + 1] = start[n_slots] + count[k]
            n_slots += 1
    cv, cw = gather_pass(values, weights, lo, scale, nb, slot, start, n_slots, counts)
    for qi in range(nq):
        t = q[qi] * total
        k = q_bucket[qi]
        s = slot[k]
        seg_v = cv[start[s]:start[s + 1]]
        seg_w = cw[start[s]:start[s + 1]]
        order = np.argsort(seg_v)
        before = cum[k]
        j = 0
        m = order.size
        found = False
        while j < m:
            u = seg_v[order[j]]
            g = 0.0
            while j < m and seg_v[order[j]] == u:
                g += seg_w[order[j]]
                j += 1
            through = before + g
            if through >= t:
                out[qi] = u
                if not ((before == 0.0 or t - before > margin) and through - t >= margin):
                    return n, False
                found = True
                break
            before = through
        if not found:
            return n, False
    return n, True


def weighted_percentile(values, q, weights=None) -> float:
    """The ``q``-th percentile (0-100) of ``values``; see :func:`weighted_percentiles`.

    Examples
    --------
    >>> weighted_percentile([1, 2, 3, 4], 50)
    2.0
    """
    return weighted_percentiles(values, [q], weights)[0]


def radio_kpis(rsrp_dbm, sinr_db, user_throughput_bps, demand_bps,
               rsrp_min_dbm: float = -110.0, sinr_min_db: float = -6.0) -> dict[str, float]:
    """Coverage and SINR/throughput percentiles over the grid.

    A point is covered when its best-server RSRP and its SINR clear the
    thresholds. SINR percentiles are over the covered area; throughput
    percentiles are weighted by demand (uncovered demand counts as 0 bit/s).
    """
    rsrp = np.asarray(rsrp_dbm)
    sinr = np.asarray(sinr_db)
    covered = (rsrp >= rsrp_min_dbm) & (sinr >= sinr_min_db)
    thr = np.where(covered, user_throughput_bps, 0.0)
    s5, s50, s95 = weighted_percentiles(sinr[covered], [5, 50, 95])
    t5, t50 = weighted_percentiles(thr, [5, 50], demand_bps)
    return {
        "coverage_pct": 100.0 * float(covered.mean()) if covered.size else float("nan"),
        "sinr_p5_db": s5, "sinr_p50_db": s50, "sinr_p95_db": s95,
        "throughput_p5_bps": t5, "throughput_p50_bps": t50,
    }


def transport_kpis(utilization, link_up, latency_s, demand_bps, latency_stats=None) -> dict[str, float]:
    """Utilization over links in service, and demand-weighted latency percentiles
    (``latency_stats``: :func:`weighted_stats` of the two, when known)."""
    u = np.asarray(utilization, dtype=float)[np.asarray(link_up, dtype=bool)]
    lat = np.asarray(latency_s, dtype=float)
    p50, p95 = weighted_percentiles(lat, [50, 95], demand_bps, latency_stats)
    return {
        # np.maximum.reduce: u.max() without its Python wrapper
        "util_max": float(np.maximum.reduce(u)) if u.size else 0.0,
        # u.mean(): numpy's mean is this sum (the same pairwise add.reduce) over the count
        "util_mean": float(np.add.reduce(u)) / u.size if u.size else 0.0,
        "latency_p50_ms": 1e3 * p50, "latency_p95_ms": 1e3 * p95,
    }
