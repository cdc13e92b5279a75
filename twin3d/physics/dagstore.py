"""Shortest-path DAGs kept per destination, for incremental rerouting.

The compiled kernels of :mod:`twin3d.physics.incremental`. Each
destination's DAG is a segment of an arena (flat arrays that grow by
appending; segments of recomputed destinations are left behind as garbage
until a compaction): per DAG edge its directed edge index (the tail and
head are the router's ``u`` and ``v`` of it) and the bit/s it carries for
that destination; per destination and node, the share of the node's flow
each of its DAG edges takes (``split``: 1/out-degree in the DAG for ECMP,
1 for SPF) and the distance to the destination. Entries are in the order the
kernels of :mod:`twin3d.physics.routing` meet them when walking nearest
first (:func:`~twin3d.physics.routing._walk_hops` for ECMP by hops,
:func:`~twin3d.physics.routing._walk` otherwise), so a walk over a segment,
forwards for latency and backwards for the flow, does the same floating
point operations in the same order as those kernels: the loads, summed over
destinations in index order, and the latencies are bit for bit theirs.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .routing import _RTOL, _distances

__all__ = ["Arena", "build", "push", "sum_loads", "latency"]


class Arena:
    """Flat per-DAG-edge arrays with room to append.

    Attributes
    ----------
    edge : numpy.ndarray
        (capacity,) int32: directed edge index of each DAG edge.
    flow : numpy.ndarray
        (capacity,) bit/s the edge carries for its destination.
    end : int
        Entries in use (live and garbage).
    """

    def __init__(self, capacity: int) -> None:
        capacity = max(int(capacity), 16)
        self.edge = np.empty(capacity, np.int32)
        self.flow = np.empty(capacity)
        self.end = 0

    @property
    def capacity(self) -> int:
        return len(self.edge)

    def compacted(self, dests: np.ndarray, seg_start: np.ndarray, seg_len: np.ndarray,
                  extra: int) -> "Arena":
        """A new arena with the live segments of ``dests`` in order and room for
        ``extra`` more entries; ``seg_start`` is updated in place."""
        lens = seg_len[dests]
        live = int(lens.sum())
        new = Arena(live + extra)
        # entry i of the new arena comes from old entry start(dest) + offset
        first = np.r_[0, np.cumsum(lens)[:-1]].astype(np.int64)
        idx = np.repeat(seg_start[dests] - first, lens) + np.arange(live)
        new.edge[:live] = self.edge[idx]
        new.flow[:live] = self.flow[idx]
        seg_start[dests] = first
        new.end = live
        return new


@njit(cache=True)
def build(todo, k0, end, hops, unweighted, spf, n, eu, ev, out_ptr, out_head, out_w, out_edge,
          in_ptr, in_tail, in_w, in_edge, dem_ptr, dem_src, bps, dist, split, seg_start,
          seg_len, reached, a_edge, a_flow):  # pragma: no cover - compiled
    """Compute the DAG, distances, splits, flows and reached demands of ``todo[k0:]``.

    Rows t of ``dist`` and ``split`` (n_nodes, n_nodes) become the distances
    to t (inf: unreached) and each node's split share; the DAG is appended
    to the arena at ``end``. ``hops``: ECMP by hops, recorded as
    :func:`_walk_hops` does; else as :func:`_walk` (``unweighted``:
    distances by breadth-first search). ``eu``, ``ev``: tail and head of
    every directed edge. Returns (status, k, end): status 0 done; 1 the
    arena is full before ``todo[k]`` (grow it and call again from k); 2 a
    cycle (a weight below the tolerance).
    """
    cap = len(a_edge)
    order = np.empty(n, np.int64)
    pos = np.zeros(n, np.int64)
    deg = np.zeros(n, np.int64)
    x = np.zeros(n)
    heap_d = np.empty(len(in_tail) + 1)
    heap_n = np.empty(len(in_tail) + 1, np.int64)
    for k in range(k0, len(todo)):
        t = todo[k]
        if cap - end < len(in_tail):              # room for the largest DAG
            return 1, k, end
        d = dist[t]
        d[:] = np.inf
        sp = split[t]
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
                    if d[y] == da1:
                        a_edge[end] = in_edge[j]
                        end += 1
                        deg[y] += 1
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
                        end += 1
                        if spf:
                            break
        seg_start[t] = start
        seg_len[t] = end - start
        for j in range(dem_ptr[t], dem_ptr[t + 1]):
            reached[j] = 1.0 if d[dem_src[j]] < np.inf else 0.0
        _push_one(t, start, end, eu, ev, dem_ptr, dem_src, bps, d, sp, x, a_edge, a_flow)
        for r in range(cnt):
            x[order[r]] = 0.0
            deg[order[r]] = 0
    return 0, len(todo), end


@njit(cache=True)
def _push_one(t, start, end, eu, ev, dem_ptr, dem_src, bps, d, sp, x, a_edge,
              a_flow):  # pragma: no cover - compiled
    """Flows of destination t's segment, farthest first (x is 0 on entry, left dirty)."""
    for j in range(dem_ptr[t], dem_ptr[t + 1]):
        s = dem_src[j]
        if d[s] < np.inf:
            x[s] += bps[j]
    for q in range(end - 1, start - 1, -1):
        e = a_edge[q]
        y = eu[e]
        if x[y] == 0.0:                           # as the kernels: nothing is added
            a_flow[q] = 0.0
            continue
        f = x[y] * sp[y]
        a_flow[q] = f
        x[ev[e]] += f


@njit(cache=True)
def push(todo, n, eu, ev, dem_ptr, dem_src, bps, dist, split, seg_start, seg_len, a_edge,
         a_flow):  # pragma: no cover - compiled
    """Recompute the flows of ``todo``'s kept DAGs for new demand bit/s."""
    x = np.zeros(n)
    for k in range(len(todo)):
        t = todo[k]
        start = seg_start[t]
        end = start + seg_len[t]
        _push_one(t, start, end, eu, ev, dem_ptr, dem_src, bps, dist[t], split[t], x, a_edge,
                  a_flow)
        x[t] = 0.0
        for q in range(start, end):
            x[eu[a_edge[q]]] = 0.0
        for j in range(dem_ptr[t], dem_ptr[t + 1]):
            x[dem_src[j]] = 0.0


@njit(cache=True)
def sum_loads(dests, seg_start, seg_len, a_edge, a_flow, n_edges):  # pragma: no cover
    """(n_edges,) load: each destination's flows added in destination order."""
    load = np.zeros(n_edges)
    for k in range(len(dests)):
        t = dests[k]
        start = seg_start[t]
        for q in range(start, start + seg_len[t]):
            f = a_flow[q]
            if f != 0.0:
                load[a_edge[q]] += f
    return load


@njit(cache=True)
def latency(dests, n, eu, ev, split, seg_start, seg_len, a_edge, delay, dem_ptr, dem_src,
            reached, out):  # pragma: no cover - compiled
    """``out[j]`` = expected delay of each reached demand, walking each DAG nearest first."""
    x = np.zeros(n)
    for k in range(len(dests)):
        t = dests[k]
        sp = split[t]
        start = seg_start[t]
        end = start + seg_len[t]
        for q in range(start, end):
            e = a_edge[q]
            y = eu[e]
            x[y] += sp[y] * (delay[e] + x[ev[e]])
        for j in range(dem_ptr[t], dem_ptr[t + 1]):
            if reached[j] > 0:
                out[j] = x[dem_src[j]]
        for q in range(start, end):
            x[eu[a_edge[q]]] = 0.0
