"""Read the kept DAGs: link loads (:func:`sum_loads`), per-demand latency
(:func:`latency`), entries per edge (:func:`count_uses`), reached demands
(:func:`set_routable`), and :func:`gather`. Part of
:mod:`twin3d.physics.dagstore`, which re-exports them.
"""

from __future__ import annotations

import numpy as np
from numba import njit


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
def latency(dests, n, split, seg_start, seg_len, arena, delay, dem_ptr, dem_src,
            reached, out, weights):  # pragma: no cover - compiled
    """``out[j]`` = expected delay of each demand j in grouped order (nan where
    unreached), walking each DAG nearest first (in sequence: the caller
    gathers the demands' order from it, cheaper than scattering here).

    Returns (count, total weight, min, max) of the finite values of all of
    ``out`` (the entries after the grouped demands as the caller set them)
    with ``weights`` > 0, the weights summed in index order: the first pass
    of a weighted percentile selection (``kpi.weighted_stats``), counted as
    the values are made.
    """
    a_edge, a_tail, a_head = arena
    x = np.zeros(n)
    cnt = 0
    total = 0.0
    lo = np.inf
    hi = -np.inf
    for k in range(len(dests)):
        t = dests[k]
        sp = split[t]
        start = seg_start[t]
        end = start + seg_len[t]
        for q in range(start, end):
            y = a_tail[q]
            x[y] += sp[y] * (delay[a_edge[q]] + x[a_head[q]])
        for j in range(dem_ptr[t], dem_ptr[t + 1]):
            v = x[dem_src[j]] if reached[j] > 0 else np.nan
            out[j] = v
            wj = weights[j]
            if np.isfinite(v) and wj > 0:
                cnt += 1
                total += wj
                lo = min(lo, v)
                hi = max(hi, v)
        x[:] = 0.0                                # a memset: cheaper than a pass over the tails
    for j in range(dem_ptr[len(dem_ptr) - 1], len(out)):
        v = out[j]
        wj = weights[j]
        if np.isfinite(v) and wj > 0:
            cnt += 1
            total += wj
            lo = min(lo, v)
            hi = max(hi, v)
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
