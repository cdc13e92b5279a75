"""Detours for FaultRecovery's ``reroute``: a pair's shortest path around its hottest link.

:func:`detours` takes one step's network (edges in service, routing weights,
link utilization) and, for each demand pair, finds the links of its IGP
route (the shortest-path DAG from src to dst, by the same 1e-9 relative
test as the router), the most utilized of them, and the shortest path from
src to dst that avoids every link joining that link's two sites (a pinned
hop splits over parallel links, so avoiding one of them means avoiding the
hop). Plain functions over the router's edge arrays; scipy's Dijkstra.
"""

from __future__ import annotations

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

__all__ = ["detours"]

#: Relative tolerance of "on a shortest path" (as :mod:`twin3d.physics.routing`).
RTOL = 1e-9


def _csr(n: int, u: np.ndarray, v: np.ndarray, w: np.ndarray) -> csr_matrix:
    """The graph of the given directed edges, the least weight of parallel ones."""
    order = np.lexsort((w, v, u))
    u, v, w = u[order], v[order], w[order]
    first = np.ones(len(u), bool)
    first[1:] = (u[1:] != u[:-1]) | (v[1:] != v[:-1])
    return csr_matrix((w[first], (u[first], v[first])), shape=(n, n))


def _path(pred: np.ndarray, s: int, d: int) -> list[int]:
    out = [d]
    while out[-1] != s:
        out.append(int(pred[out[-1]]))
    return out[::-1]


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
    out: list[list[int] | None] = [None] * len(pairs)
    if not pairs:
        return out
    ok = np.asarray(edge_ok, bool)
    uo, vo, wo = u[ok], v[ok], np.asarray(edge_weight, float)[ok]
    g = _csr(n_nodes, uo, vo, wo)
    srcs = sorted({s for s, _ in pairs})
    dsts = sorted({d for _, d in pairs})
    from_s = dijkstra(g, directed=True, indices=srcs)
    to_d = dijkstra(g.T.tocsr(), directed=True, indices=dsts)
    si, di = {s: i for i, s in enumerate(srcs)}, {d: i for i, d in enumerate(dsts)}
    lo = link[ok]
    for k, (s, d) in enumerate(pairs):
        ds, dt = from_s[si[s]], to_d[di[d]]
        best = ds[d]
        if s == d or not np.isfinite(best):
            continue
        on = np.abs(ds[uo] + wo + dt[vo] - best) <= RTOL * best
        hot_edges = np.flatnonzero(on)
        hot = hot_edges[np.argmax(link_util[lo[hot_edges]])]    # first of the busiest
        a, b = uo[hot], vo[hot]
        keep = ~(((uo == a) & (vo == b)) | ((uo == b) & (vo == a)))
        dist, pred = dijkstra(_csr(n_nodes, uo[keep], vo[keep], wo[keep]), directed=True,
                              indices=s, return_predecessors=True)
        if np.isfinite(dist[d]):
            out[k] = _path(pred, s, d)
    return out
