"""Search destinations' DAGs into the arena (:func:`build`) and push demand
down kept DAGs (:func:`push`). Part of :mod:`twin3d.physics.dagstore`,
which re-exports them.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .dagarena import slack
from .routing import _RTOL, _distances


@njit(cache=True)
def build(todo, k0, end, hops, unweighted, spf, n, out_ptr, out_head, out_w, out_edge,
          in_ptr, in_tail, in_w, in_edge, dem_ptr, dem_src, bps, dist, split, own, thru,
          seg_start, seg_len, seg_cap, reached, arena, load, uses):  # pragma: no cover
    """Compute the DAG, distances, splits, flows and reached demands of ``todo[k0:]``.

    Rows t of ``dist``, ``split``, ``own`` and ``thru`` (n_nodes, n_nodes)
    become the distances to t (inf: unreached), each node's split share, its
    own reached demand to t and its throughput to t (bit/s, see
    :func:`_push_one`). The DAG is searched into the arena at ``end``, then
    kept there, or copied over t's old segment when it fits in that
    segment's room (a search again leaves no garbage then). ``hops``: ECMP by hops, recorded as
    :func:`_walk_hops` does; else as :func:`_walk` (``unweighted``:
    distances by breadth-first search). ``arena``: :meth:`Arena.arrays`. Returns (status, k, end): status 0 done; 1 the
    arena is full before ``todo[k]`` (grow it and call again from k); 2 a
    cycle (a weight below the tolerance). ``load``: (n_edges,) bit/s from
    which each searched destination's old flows are taken and to which its
    new ones are added, with ``uses`` (n_edges,) its DAG entries per edge;
    or (0,) both.
    """
    a_edge, a_tail, a_head = arena
    cap = len(a_edge)
    order = np.empty(n, np.int64)
    pos = np.zeros(n, np.int64)
    deg = np.zeros(n, np.int64)
    heap_d = np.empty(len(in_tail) + 1)
    heap_n = np.empty(len(in_tail) + 1, np.int64)
    for k in range(k0, len(todo)):
        t = todo[k]
        if cap - end < len(in_tail) + slack(len(in_tail)):    # room for the largest DAG
            return 1, k, end
        d = dist[t]
        sp = split[t]
        if len(load) and seg_len[t] > 0:          # its old flows leave the loads
            s0 = seg_start[t]
            _add_flows(load, -1.0, s0, s0 + seg_len[t], thru[t], sp, a_edge, a_tail, uses)
        d[:] = np.inf
        start = end
        if hops:                                  # as _walk_hops: BFS, DAG edges by head
            d[t] = 0.0
            order[0] = t
            head, tail = 0, 1
            while head < tail:
                a = order[head]
                head += 1
                da1 = d[a] + 1.0
                for j in range(in_ptr[a], in_ptr[a + 1]):
                    y = in_tail[j]
                    if d[y] == np.inf:
                        d[y] = da1
                        order[tail] = y
                        tail += 1
                    hit = d[y] == da1             # branch-free, as _walk_hops
                    a_edge[end] = in_edge[j]
                    a_tail[end] = y
                    a_head[end] = a
                    end += hit
                    deg[y] += hit
            cnt = tail
            for r in range(1, cnt):
                y = order[r]
                sp[y] = 1.0 / deg[y]
        else:                                     # as _walk: nodes nearest first, out-edges
            cnt = _distances(t, in_ptr, in_tail, in_w, unweighted, d, order, heap_d, heap_n)
            for r in range(cnt):
                pos[order[r]] = r
            for r in range(1, cnt):
                a = order[r]
                da = d[a]
                c = 0
                for e in range(out_ptr[a], out_ptr[a + 1]):
                    if abs(da - out_w[e] - d[out_head[e]]) <= _RTOL * da:
                        c += 1
                        if spf:
                            break
                if c == 0:
                    return 2, k, end
                sp[a] = 1.0 / c
                for e in range(out_ptr[a], out_ptr[a + 1]):
                    b = out_head[e]
                    if abs(da - out_w[e] - d[b]) <= _RTOL * da:
                        if pos[b] >= r:
                            return 2, k, end
                        a_edge[end] = out_edge[e]
                        a_tail[end] = a
                        a_head[end] = b
                        end += 1
                        if spf:
                            break
        size = end - start
        if 0 < size <= seg_cap[t]:                # t's old segment has room: searched in place
            old = seg_start[t]
            for i in range(size):
                a_edge[old + i] = a_edge[start + i]
                a_tail[old + i] = a_tail[start + i]
                a_head[old + i] = a_head[start + i]
            end = start
            start = old
        else:
            seg_start[t] = start
            seg_cap[t] = size + slack(size)
            end = start + seg_cap[t]
        seg_len[t] = size
        for j in range(dem_ptr[t], dem_ptr[t + 1]):
            reached[j] = 1.0 if d[dem_src[j]] < np.inf else 0.0
        _push_one(t, start, start + size, dem_ptr, dem_src, bps, d, sp, own[t], thru[t],
                  a_tail, a_head)
        if len(load):
            _add_flows(load, 1.0, start, start + size, thru[t], sp, a_edge, a_tail, uses)
        for r in range(cnt):
            deg[order[r]] = 0
    return 0, len(todo), end



@njit(cache=True)
def _add_flows(load, sign, start, end, x, sp, a_edge, a_tail, uses):  # pragma: no cover
    """Add (sign 1) or take (-1) one destination's flows on its segment to
    ``load``, and its entries that carry flow to ``uses`` (per edge)."""
    for q in range(start, end):
        y = a_tail[q]
        if x[y] != 0.0:
            e = a_edge[q]
            uses[e] += int(sign)
            load[e] += sign * (x[y] * sp[y])



@njit(cache=True)
def _push_one(t, start, end, dem_ptr, dem_src, bps, d, sp, own, x, a_tail,
              a_head):  # pragma: no cover - compiled
    """Own demand and throughput of destination t's nodes (rows ``own``, ``x``,
    overwritten): the reached demands, then the segment walked farthest first."""
    own[:] = 0.0
    for j in range(dem_ptr[t], dem_ptr[t + 1]):
        s = dem_src[j]
        if d[s] < np.inf:
            own[s] += bps[j]
    x[:] = own
    for q in range(end - 1, start - 1, -1):
        y = a_tail[q]
        if x[y] == 0.0:                           # as the kernels: nothing is added
            continue
        x[a_head[q]] += x[y] * sp[y]



@njit(cache=True)
def push(todo, dem_ptr, dem_src, bps, dist, split, own, thru, seg_start, seg_len,
         arena):  # pragma: no cover - compiled
    """Recompute the flows of ``todo``'s kept DAGs for new demand bit/s."""
    a_edge, a_tail, a_head = arena
    for k in range(len(todo)):
        t = todo[k]
        start = seg_start[t]
        _push_one(t, start, start + seg_len[t], dem_ptr, dem_src, bps, dist[t], split[t],
                  own[t], thru[t], a_tail, a_head)
