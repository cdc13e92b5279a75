"""Detours for FaultRecovery's ``reroute``: a pair's shortest path around its hottest link.

:func:`detours` takes one step's network (edges in service, routing weights,
link utilization) and, for each demand pair, finds the links of its IGP
route (the shortest-path DAG from src to dst, by the same 1e-9 relative
test as the router), the most utilized of them (the first in edge order on
ties), and the shortest path from src to dst that avoids every link joining
that link's two sites (a pinned hop splits over parallel links, so avoiding
one of them means avoiding the hop). Three Dijkstra searches per pair
(binary heap, compiled): O(E log N) each, microseconds on a backbone, so the
action mask can ask every step.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["Detours", "detours"]

#: Relative tolerance of "on a shortest path" (as :mod:`twin3d.physics.routing`).
RTOL = 1e-9


@njit(cache=True)
def _dijkstra(s, n, ptr, head, w, ok, ban_a, ban_b, dist, pred, heap_d, heap_n):  # pragma: no cover
    """Distances from s over the CSR (ptr, head, w) edges ``ok``, skipping the edges a-b and b-a.

    ``pred[v]`` is the node v was first reached from at its final distance
    (ties keep the first, so the path is the same on every run).
    """
    dist[:] = np.inf
    pred[:] = -1
    dist[s] = 0.0
    heap_d[0], heap_n[0] = 0.0, s
    size = 1
    while size > 0:
        d, x = heap_d[0], heap_n[0]
        size -= 1
        heap_d[0], heap_n[0] = heap_d[size], heap_n[size]
        i = 0
        while True:                                  # sift down
            c = 2 * i + 1
            if c >= size:
                break
            if c + 1 < size and (heap_d[c + 1], heap_n[c + 1]) < (heap_d[c], heap_n[c]):
                c += 1
            if (heap_d[c], heap_n[c]) < (heap_d[i], heap_n[i]):
                heap_d[c], heap_d[i] = heap_d[i], heap_d[c]
                heap_n[c], heap_n[i] = heap_n[i], heap_n[c]
                i = c
            else:
                break
        if d > dist[x]:
            continue                                 # a stale entry
        for e in range(ptr[x], ptr[x + 1]):
            y = head[e]
            if not ok[e] or (x == ban_a and y == ban_b) or (x == ban_b and y == ban_a):
                continue
            nd = d + w[e]
            if nd < dist[y]:
                dist[y], pred[y] = nd, x
                j = size                             # sift up
                heap_d[j], heap_n[j] = nd, y
                size += 1
                while j > 0:
                    p = (j - 1) // 2
                    if (heap_d[j], heap_n[j]) < (heap_d[p], heap_n[p]):
                        heap_d[j], heap_d[p] = heap_d[p], heap_d[j]
                        heap_n[j], heap_n[p] = heap_n[p], heap_n[j]
                        j = p
                    else:
                        break


@njit(cache=True)
def _detours(n, ptr, head, w, ok, elink, rptr, rhead, rw, rok, link_util, src, dst,
             out_nodes, out_len):  # pragma: no cover - compiled
    m = head.size
    ds, dt, dd = np.empty(n), np.empty(n), np.empty(n)
    pred, scratch = np.empty(n, np.int64), np.empty(n, np.int64)
    heap_d, heap_n = np.empty(m + 1), np.empty(m + 1, np.int64)
    for k in range(src.size):
        s, t = src[k], dst[k]
        out_len[k] = 0
        if s == t:
            continue
        _dijkstra(s, n, ptr, head, w, ok, -1, -1, ds, scratch, heap_d, heap_n)
        best = ds[t]
        if best == np.inf:
            continue
        _dijkstra(t, n, rptr, rhead, rw, rok, -1, -1, dt, scratch, heap_d, heap_n)
        hot_u, hot_v, hot = -1, -1, -np.inf
        for x in range(n):
            for e in range(ptr[x], ptr[x + 1]):
                if ok[e] and abs(ds[x] + w[e] + dt[head[e]] - best) <= RTOL * best \
                        and link_util[elink[e]] > hot:
                    hot, hot_u, hot_v = link_util[elink[e]], x, head[e]
        _dijkstra(s, n, ptr, head, w, ok, hot_u, hot_v, dd, pred, heap_d, heap_n)
        if dd[t] == np.inf:
            continue
        c, x = 0, t
        while x != -1:
            scratch[c] = x
            c += 1
            x = pred[x]
        for i in range(c):
            out_nodes[k, i] = scratch[c - 1 - i]
        out_len[k] = c


class Detours:
    """The detour search over one graph's directed edges (CSR built once).

    Parameters
    ----------
    u, v, link : (n_edges,) int
        Tail, head and link index of each directed edge (``Router.u``, ``.v``, ``.link``).
    n_nodes : int
    """

    def __init__(self, u, v, link, n_nodes: int) -> None:
        u, v = np.asarray(u, np.int64), np.asarray(v, np.int64)
        self.n = int(n_nodes)
        self.fwd = np.lexsort((v, u))              # out-edges by (tail, head)
        self.rev = np.lexsort((u, v))              # in-edges by (head, tail)
        self.ptr = np.r_[0, np.cumsum(np.bincount(u, minlength=self.n))].astype(np.int64)
        self.rptr = np.r_[0, np.cumsum(np.bincount(v, minlength=self.n))].astype(np.int64)
        self.head, self.rhead = v[self.fwd], u[self.rev]
        self.elink = np.asarray(link, np.int64)[self.fwd]

    def __call__(self, edge_ok, edge_weight, link_util, pairs) -> list[list[int] | None]:
        """See :func:`detours`."""
        if not len(pairs):
            return []
        ok, w = np.asarray(edge_ok, bool), np.asarray(edge_weight, float)
        p = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
        out = np.zeros((len(p), max(self.n, 1)), np.int64)
        length = np.zeros(len(p), np.int64)
        _detours(self.n, self.ptr, self.head, w[self.fwd], ok[self.fwd], self.elink, self.rptr,
                 self.rhead, w[self.rev], ok[self.rev], np.asarray(link_util, float),
                 np.ascontiguousarray(p[:, 0]), np.ascontiguousarray(p[:, 1]), out, length)
        return [out[k, :length[k]].tolist() if length[k] else None for k in range(len(p))]


def detours(u: np.ndarray, v: np.ndarray, link: np.ndarray, edge_ok: np.ndarray,
            edge_weight: np.ndarray, link_util: np.ndarray, n_nodes: int,
            pairs: list[tuple[int, int]]) -> list[list[int] | None]:
    """Each pair's shortest path avoiding the hottest link of its IGP route.

    Parameters
    ----------
    u, v, link : (n_edges,) int
        Tail, head and link index of each directed edge (``Router.u``, ``.v``, ``.link``).
    edge_ok : (n_edges,) bool
        Edges in service (link and both end nodes up).
    edge_weight : (n_edges,) float
        Routing weight of each edge this step (> 0).
    link_util : (n_links,) float
        Utilization of each link's busier direction.
    n_nodes : int
    pairs : list of (src, dst) node indices

    Returns
    -------
    list
        Per pair, the node indices of the detour from src to dst, or None
        when src cannot reach dst or no path avoids the hottest link.

    Examples
    --------
    The ring 0-1-2-3-0 with the link 0-1 the busiest: 0's detour to 1 goes round.

    >>> u = np.array([0, 0, 1, 1, 2, 2, 3, 3]); v = np.array([1, 3, 0, 2, 1, 3, 0, 2])
    >>> link = np.array([0, 3, 0, 1, 1, 2, 3, 2])
    >>> detours(u, v, link, np.ones(8, bool), np.ones(8), np.array([0.9, 0.1, 0.1, 0.1]), 4,
    ...         [(0, 1), (0, 2)])
    [[0, 3, 2, 1], [0, 3, 2]]
    """
    return Detours(u, v, link, n_nodes)(edge_ok, edge_weight, link_util, pairs)
