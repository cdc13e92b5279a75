"""Read the kept DAGs: link loads (:func:`sum_loads`), per-demand latency
(:func:`latency`; on numba's threads for large walks when they measure
quicker, the same bits: :func:`latency_threaded`, :func:`latency_chunks`,
:data:`LATENCY_CHOICE`), entries per edge
(:func:`count_uses`), reached demands (:func:`set_routable`), and
:func:`gather`. Part of :mod:`twin3d.physics.dagstore`, which re-exports them.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from .tally import weighted_tally
from .threads import ThreadChoice, usable_threads

#: Grouped demands from which :func:`latency_threaded` may walk on numba's threads
#: (:func:`latency_chunks`): about 1.5 ms of serial walk (measured: 0.8 ms for a
#: 250-node random geometric graph's 62,250 demands, 16 ms for 1,000 nodes'
#: 999,000), so a parallel region's start-up and wake-up is small beside it.
LATENCY_THREAD_MIN_DEMANDS = 100_000
#: Serial or threaded walks from there, by their measured time per demand: the walk
#: repeats every step of an environment, and the load average (which counts this
#: process's own threads, a minute late) took a quiet machine for a busy one.
LATENCY_CHOICE = ThreadChoice()


@njit(cache=True)
def sum_loads(dests, seg_start, seg_len, a_edge, a_tail, split, thru,
              n_edges):  # pragma: no cover - compiled
    """(n_edges,) load: each destination's flows (throughput x share of each
    DAG edge's tail) added in destination order."""
    load = np.zeros(n_edges)
    flow = np.empty(len(split[0]))               # what each node passes down each DAG edge
    for k in range(len(dests)):
        t = dests[k]
        sp = split[t]
        x = thru[t]
        for y in range(len(flow)):
            flow[y] = x[y] * sp[y]
        start = seg_start[t]
        for q in range(start, start + seg_len[t]):
            f = flow[a_tail[q]]
            if f != 0.0:
                load[a_edge[q]] += f
    return load



@njit(cache=True)
def _walk_one(t, x, split, seg_start, seg_len, a_edge, a_tail, a_head, delay, dem_ptr, dem_src,
              reached, out):  # pragma: no cover - compiled
    """Destination t's demands' delays into ``out[dem_ptr[t]:dem_ptr[t + 1]]``
    (nan where unreached), walking its DAG nearest first on the zeroed
    scratch ``x`` (n_nodes,), zeroed again after."""
    sp = split[t]
    start = seg_start[t]
    for q in range(start, start + seg_len[t]):
        y = a_tail[q]
        x[y] += sp[y] * (delay[a_edge[q]] + x[a_head[q]])
    for j in range(dem_ptr[t], dem_ptr[t + 1]):
        out[j] = x[dem_src[j]] if reached[j] > 0 else np.nan
    x[:] = 0.0                                    # a memset: cheaper than a pass over the tails



@njit(cache=True)
def latency(dests, n, split, seg_start, seg_len, arena, delay, dem_ptr, dem_src,
            reached, out, weights):  # pragma: no cover - compiled
    """``out[j]`` = expected delay of each demand j in grouped order (nan where
    unreached), walking each DAG nearest first (in sequence: the caller
    gathers the demands' order from it, cheaper than scattering here).

    Returns (count, total weight, min, max) of the finite values of all of
    ``out`` (the entries after the grouped demands as the caller set them)
    with ``weights`` > 0, the weights summed in index order: the first pass
    of a weighted percentile selection (``kpi.weighted_stats``), counted as
    the values are made. :func:`latency_threaded` gives the same bits on
    numba's threads.
    """
    a_edge, a_tail, a_head = arena
    x = np.zeros(n)
    cnt = 0
    total = 0.0
    lo = np.inf
    hi = -np.inf
    for k in range(len(dests)):
        t = dests[k]
        _walk_one(t, x, split, seg_start, seg_len, a_edge, a_tail, a_head, delay, dem_ptr,
                  dem_src, reached, out)
        for j in range(dem_ptr[t], dem_ptr[t + 1]):
            v = out[j]
            wj = weights[j]
            if np.isfinite(v) and wj > 0:
                cnt += 1
                total += wj
                lo = min(lo, v)
                hi = max(hi, v)
    return weighted_tally(out, weights, dem_ptr[len(dem_ptr) - 1], len(out), cnt, total, lo, hi)



def latency_chunks(n_demands: int) -> int:
    """Most runs of destinations to walk on threads for ``n_demands`` grouped demands:
    from :data:`LATENCY_THREAD_MIN_DEMANDS` on, numba's threads
    (:func:`~twin3d.physics.threads.usable_threads`; the caller then chooses
    by time, :data:`LATENCY_CHOICE`), else 1 (the serial :func:`latency`: a
    small walk would pay the threads' start-up)."""
    if n_demands < LATENCY_THREAD_MIN_DEMANDS:
        return 1
    return usable_threads()



@njit(cache=True, parallel=True)
def latency_threaded(dests, n, split, seg_start, seg_len, arena, delay, dem_ptr, dem_src,
                     reached, out, weights, kept, n_chunks):  # pragma: no cover - compiled
    """:func:`latency` with the destinations walked on numba's threads, in
    ``n_chunks`` contiguous runs of ``dests``: the same bits.

    Each destination writes only its own slice of ``out`` with the same
    operations in the same order (a scratch per run, zeroed between
    destinations). The count, min and max merge the runs' in order (exact).
    The total weight is a float sum in :func:`latency`'s order: ``kept`` =
    :func:`reached_weight` (count, total) of the demands reached with a
    weight > 0; when the count of finite values among them is that count,
    the finite ones are exactly those and the total is ``kept``'s, else a
    serial pass (:func:`_stats`) makes the stats.
    """
    a_edge, a_tail, a_head = arena
    nd = len(dests)
    cnts = np.zeros(n_chunks, np.int64)
    los = np.full(n_chunks, np.inf)
    his = np.full(n_chunks, -np.inf)
    for c in prange(n_chunks):
        x = np.zeros(n)
        cnt = 0
        lo = np.inf
        hi = -np.inf
        for k in range(c * nd // n_chunks, (c + 1) * nd // n_chunks):
            t = dests[k]
            _walk_one(t, x, split, seg_start, seg_len, a_edge, a_tail, a_head, delay, dem_ptr,
                      dem_src, reached, out)
            for j in range(dem_ptr[t], dem_ptr[t + 1]):
                v = out[j]
                if np.isfinite(v) and weights[j] > 0:
                    cnt += 1
                    lo = min(lo, v)
                    hi = max(hi, v)
        cnts[c] = cnt
        los[c] = lo
        his[c] = hi
    cnt = 0
    lo = np.inf
    hi = -np.inf
    for c in range(n_chunks):                     # in order: a tie keeps the first, as serially
        cnt += cnts[c]
        lo = min(lo, los[c])
        hi = max(hi, his[c])
    if cnt != kept[0]:
        return _stats(dests, dem_ptr, out, weights)
    total = kept[1]
    return weighted_tally(out, weights, dem_ptr[len(dem_ptr) - 1], len(out), cnt, total, lo, hi)



@njit(cache=True)
def reached_weight(dests, dem_ptr, reached, weights):  # pragma: no cover - compiled
    """(count, total weight) of the grouped demands reached with a weight > 0, the
    weights summed in :func:`latency`'s order (a function of what is reached
    and the weights alone: kept by the caller for :func:`latency_threaded`)."""
    cnt = 0
    total = 0.0
    for k in range(len(dests)):
        t = dests[k]
        for j in range(dem_ptr[t], dem_ptr[t + 1]):
            wj = weights[j]
            if reached[j] > 0 and wj > 0:
                cnt += 1
                total += wj
    return cnt, total



@njit(cache=True)
def _stats(dests, dem_ptr, out, weights):  # pragma: no cover - compiled
    """:func:`latency`'s stats of ``out``, made after the walk, in its order."""
    cnt = 0
    total = 0.0
    lo = np.inf
    hi = -np.inf
    for k in range(len(dests) + 1):               # then the entries after the grouped demands
        j0 = dem_ptr[dests[k]] if k < len(dests) else dem_ptr[len(dem_ptr) - 1]
        j1 = dem_ptr[dests[k] + 1] if k < len(dests) else len(out)
        cnt, total, lo, hi = weighted_tally(out, weights, j0, j1, cnt, total, lo, hi)
    return cnt, total, lo, hi



@njit(cache=True)
def count_uses(dests, seg_start, seg_len, a_edge, a_tail, thru,
               n_edges):  # pragma: no cover - compiled
    """(n_edges,) kept DAG entries that carry flow, per edge, over ``dests``' segments."""
    uses = np.zeros(n_edges, np.int64)
    for k in range(len(dests)):
        t = dests[k]
        x = thru[t]
        for q in range(seg_start[t], seg_start[t] + seg_len[t]):
            if x[a_tail[q]] != 0.0:
                uses[a_edge[q]] += 1
    return uses



@njit(cache=True)
def set_routable(todo, dem_ptr, dem_idx, reached, routable):  # pragma: no cover - compiled
    """``routable[dem_idx[j]] = reached[j] > 0`` for the demands of ``todo``; whether
    any entry changed."""
    changed = False
    for k in range(len(todo)):
        t = todo[k]
        for j in range(dem_ptr[t], dem_ptr[t + 1]):
            r = reached[j] > 0
            i = dem_idx[j]
            if routable[i] != r:
                routable[i] = r
                changed = True
    return changed



@njit(cache=True)
def gather(values, at):  # pragma: no cover - compiled
    """``values[at]`` (numpy's fancy indexing, in a compiled loop: ~2x faster for 10^6)."""
    out = np.empty(len(at))
    for j in range(len(at)):
        out[j] = values[at[j]]
    return out
