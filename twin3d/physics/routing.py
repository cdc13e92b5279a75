"""Shortest-path routing of a traffic matrix on edge arrays (no networkx).

:func:`route_arrays` routes every demand at once, with no Python loop over
paths or demands (only over blocks of destinations and DAG depth):

1. distances to every destination: one ``scipy.sparse.csgraph.dijkstra``
   call on the reversed graph from all destinations of a block;
2. per destination the shortest-path DAG: edges with
   ``d(u) = w(u, v) + d(v)`` (relative tolerance 1e-9);
3. splits: ECMP gives each DAG edge leaving u the share 1/outdeg(u) (so
   parallel equal-cost links each take a share, and the split is per hop,
   not per path); SPF keeps only the first edge in (u, v, key) order, i.e.
   the lowest next-hop node index, then the lowest key;
4. node throughput x = b + P^T x for every destination of the block at once,
   on one block-diagonal sparse matrix as the sum of (P^T)^t b; P is
   nilpotent (a DAG), so it is exact after as many steps as the DAG is deep
   (the tail-drop solve of :func:`lossy_delivery` is iterative instead: it
   couples destinations and reports whether it converged);
5. edge load = sum over destinations of x(u) * split. :func:`expected_latency`
   solves T = c + P T the same way, with c(u) = sum split * edge delay.

Weights must be > 0 so that the DAG has no cycle.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Hashable, NamedTuple
import warnings

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

__all__ = ["Routing", "route_arrays", "expected_latency", "lossy_delivery", "LossyDelivery",
           "ConvergenceWarning", "PASS_FRACTION_TOL"]

_RTOL = 1e-9
#: Destinations per block so that the (destinations x edges) work arrays stay
#: near this many elements.
_BLOCK_ELEMS = 4_000_000


@dataclass
class Routing:
    """The result of routing. Edge arrays follow the router's edge order.

    Attributes
    ----------
    router : Router
        The :class:`twin3d.physics.transport.Router` that routed.
    mode : str
        "ecmp" or "spf".
    edge_up : numpy.ndarray
        (n_edges,) bool, the directed edges that were usable.
    load_bps : numpy.ndarray
        (n_edges,) offered load per directed edge, bit/s.
    src, dst : numpy.ndarray
        (n_demands,) node indices of each demand.
    demand_bps : numpy.ndarray
        (n_demands,) offered bit/s.
    routable : numpy.ndarray
        (n_demands,) bool: a path is up and both end nodes are up (a demand
        is routed whole or not at all).
    edge_delay_s : numpy.ndarray or None
        (n_edges,) delay per directed edge used for latency: propagation plus
        the extra (queueing) delay given to the router, seconds.
    latency_s : numpy.ndarray or None
        (n_demands,) expected end-to-end delay over the split, seconds; 0 when
        src == dst, nan when unroutable, inf when a used edge has an infinite
        delay (an overloaded M/M/1 queue).
    delivered_bps : numpy.ndarray or None
        (n_demands,) bit/s reaching the destination when overloaded edges drop
        their excess (computed when the router is given capacities).
    carried_bps : numpy.ndarray or None
        (n_edges,) bit/s each directed edge carries after upstream and its own
        drops (at most its capacity).
    drop_rounds : int
        Rounds the tail-drop fixed point ran (0 when not computed).
    converged : bool
        False when the tail-drop fixed point stopped at its round limit
        (a :class:`ConvergenceWarning` was issued); True otherwise.
    """

    router: Any
    mode: str
    edge_up: np.ndarray
    load_bps: np.ndarray
    src: np.ndarray
    dst: np.ndarray
    demand_bps: np.ndarray
    routable: np.ndarray
    edge_delay_s: np.ndarray | None = None
    latency_s: np.ndarray | None = None
    delivered_bps: np.ndarray | None = None
    carried_bps: np.ndarray | None = None
    drop_rounds: int = 0
    converged: bool = True

    @property
    def routed_bps(self) -> np.ndarray:
        """(n_demands,) bit/s delivered."""
        return np.where(self.routable, self.demand_bps, 0.0)

    @property
    def unroutable_bps(self) -> np.ndarray:
        """(n_demands,) bit/s that found no path."""
        return np.where(self.routable, 0.0, self.demand_bps)

    @property
    def utilization(self) -> np.ndarray:
        """(n_edges,) load / capacity per directed edge (inf: 0 capacity with load)."""
        cap = self.router.capacity_bps
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(self.load_bps > 0, self.load_bps / cap, 0.0)

    def loads_dict(self) -> dict[tuple, float]:
        """{(u, v, key) or (u, v): bit/s} for every directed edge."""
        return dict(zip(self.router.edge_keys, self.load_bps.tolist()))

    def link_utilization(self) -> dict[Hashable, float]:
        """{link: utilization of its busier direction}."""
        per_link = np.zeros(len(self.router.links))
        np.maximum.at(per_link, self.router.link, self.utilization)
        return dict(zip(self.router.links, per_link.tolist()))


@dataclass
class _Block:
    """One block of destinations, kept to compute latency after the loads."""

    demand: np.ndarray   # demand indices routed in this block
    kpos: np.ndarray     # their destination's position in the block
    fwd: csr_matrix      # (nk n, nk n): fwd[(k, v), (k, u)] = split
    edge: np.ndarray     # directed edge index per DAG entry
    grp: np.ndarray      # (k, u) row per DAG entry
    split: np.ndarray    # share of x(k, u) on the edge
    row: np.ndarray      # (k, v) row per DAG entry: where the edge's flow arrives
    dst_node: np.ndarray  # destination node of each demand in the block


def route_arrays(n_nodes: int, u: np.ndarray, v: np.ndarray, weight: np.ndarray,
                 up: np.ndarray, src: np.ndarray, dst: np.ndarray, bps: np.ndarray,
                 node_ok: np.ndarray, mode: str = "ecmp", unweighted: bool = False,
                 keep_blocks: bool = False) -> tuple[np.ndarray, np.ndarray, list]:
    """Route demands over directed edges sorted by (u, v, key).

    Parameters
    ----------
    n_nodes : int
    u, v, weight : numpy.ndarray
        (n_edges,) tail, head (node indices) and weight (> 0), sorted by
        (u, v, key rank).
    up : numpy.ndarray
        (n_edges,) bool, usable edges.
    src, dst, bps : numpy.ndarray
        (n_demands,) demand ends (node indices) and bit/s.
    node_ok : numpy.ndarray
        (n_nodes,) bool; demands at a down node are unroutable.
    mode : {"ecmp", "spf"}
    unweighted : bool
        All weights are 1 (breadth-first search is used).
    keep_blocks : bool
        Return the per-block DAGs for :func:`expected_latency`.

    Returns
    -------
    load_bps : numpy.ndarray
        (n_edges,) bit/s per directed edge.
    routable : numpy.ndarray
        (n_demands,) bool.
    blocks : list
        Empty unless ``keep_blocks``.
    """
    n, ne = n_nodes, len(u)
    ok = node_ok[src] & node_ok[dst]
    routable = ok & (src == dst)
    cand = ok & (src != dst)
    dests = np.unique(dst[cand])
    dpos = np.searchsorted(dests, dst)
    load = np.zeros(ne)
    active = np.flatnonzero(up)
    ua, va, wa = u[active], v[active], weight[active]
    gt = _reverse_csr(n, ua, va, wa)
    blocks: list[_Block] = []
    step = max(1, _BLOCK_ELEMS // max(len(active), n, 1))
    for c0 in range(0, len(dests), step):
        dk = dests[c0:c0 + step]
        nk = len(dk)
        dist = dijkstra(gt, directed=True, indices=dk, unweighted=unweighted)  # d(x -> dk)
        with np.errstate(invalid="ignore"):
            du = dist[:, ua]
            dag = np.abs(du - wa - dist[:, va]) <= _RTOL * du
        kk, el = np.nonzero(dag)
        grp = kk * n + ua[el]                              # (destination, node): sorted
        first = np.r_[True, grp[1:] != grp[:-1]] if len(grp) else np.zeros(0, bool)
        if mode == "spf":
            kk, el, grp = kk[first], el[first], grp[first]
            split = np.ones(len(el))
        else:
            starts = np.flatnonzero(first)
            count = np.diff(np.r_[starts, len(grp)])
            split = np.repeat(1.0 / np.maximum(count, 1), count)
        # x = b + fwd @ x pushes each node's throughput down its DAG edges.
        fwd = csr_matrix((split, (kk * n + va[el], grp)), shape=(nk * n, nk * n))
        j = np.flatnonzero(cand & (dpos >= c0) & (dpos < c0 + nk))
        j = j[np.isfinite(dist[dpos[j] - c0, src[j]])]
        routable[j] = True
        b = np.bincount((dpos[j] - c0) * n + src[j], weights=bps[j], minlength=nk * n)
        x = _fixed_point(b, fwd)
        load += np.bincount(active[el], weights=x[grp] * split, minlength=ne)
        if keep_blocks:
            blocks.append(_Block(j, dpos[j] - c0, fwd, active[el], grp, split, kk * n + va[el],
                                 dst[j]))
    return load, routable, blocks


def expected_latency(blocks: list, edge_delay_s: np.ndarray, n_nodes: int, src: np.ndarray,
                     routable: np.ndarray) -> np.ndarray:
    """Expected end-to-end delay per demand over the routed split, seconds.

    ``T(u) = sum over DAG edges (u, v) of split * (delay(u, v) + T(v))``,
    T = 0 at the destination; nan for unroutable demands.
    """
    lat = np.where(routable, 0.0, np.nan)                  # 0 stays for src == dst
    for blk in blocks:
        with np.errstate(invalid="ignore"):
            c = np.bincount(blk.grp, weights=blk.split * edge_delay_s[blk.edge],
                            minlength=blk.fwd.shape[0])
        t = _fixed_point(c, blk.fwd.T.tocsr())
        lat[blk.demand] = t[blk.kpos * n_nodes + src[blk.demand]]
    return lat


class ConvergenceWarning(RuntimeWarning):
    """An iterative solve stopped at its round limit before meeting its tolerance."""


#: Largest change of any pass fraction between two rounds at which the
#: tail-drop fixed point counts as converged (fractions are in (0, 1]).
PASS_FRACTION_TOL = 1e-9


def lossy_delivery(blocks: list, capacity_bps: np.ndarray, n_nodes: int, n_edges: int,
                   src: np.ndarray, demand_bps: np.ndarray, routable: np.ndarray,
                   max_iter: int = 500, tol: float = PASS_FRACTION_TOL) -> "LossyDelivery":
    """Delivered traffic when overloaded links drop their excess (tail drop).

    A link offered more than its capacity passes the fraction
    ``p = min(1, capacity / offered)`` of every flow through it, so a link
    downstream of a drop sees less. ``offered`` depends on the pass fractions
    of the edges upstream of it, for every destination's DAG at once; two
    destinations can route in opposite directions over two overloaded edges,
    so the dependence between edges can be cyclic and no finite number of
    rounds is exact in general (on one destination's DAG, plain rounds are
    exact after as many rounds as the DAG is deep).

    The pass fractions are solved by fixed-point iteration: plain rounds for
    the first ``n_nodes`` rounds (enough for every single-DAG case), then
    rounds damped by one half (``p <- (p + p_new) / 2``: the map is
    decreasing in ``p``, so plain rounds can oscillate between two values).
    The solve has converged when no fraction changes by more than ``tol``
    in a round. When ``max_iter`` rounds pass without that, a
    :class:`ConvergenceWarning` is issued and ``converged`` is False; the
    result is then the last round's. Each demand's delivered share is
    ``S(src)`` with ``S(u) = sum over DAG edges (u, v) of split * pass * S(v)``
    and ``S(dst) = 1``.

    Returns
    -------
    LossyDelivery
        ``delivered_bps`` (n_demands,) bit/s reaching the destination;
        ``offered_bps`` (n_edges,) bit/s arriving at each directed edge after
        upstream drops; ``pass_fraction`` (n_edges,) share each edge passes,
        in (0, 1]; ``rounds`` the number of rounds run; ``converged``.

    Examples
    --------
    >>> import networkx as nx
    >>> from twin3d.physics.transport import Router
    >>> g = nx.Graph(); g.add_edge("A", "B", capacity_bps=1e9); g.add_edge("B", "C", capacity_bps=5e8)
    >>> r = Router(g).route({("A", "C"): 2e9}, capacity_bps=Router(g).capacity_bps)
    >>> float(r.delivered_bps[0]), r.converged
    (500000000.0, True)
    """
    cap = np.asarray(capacity_bps, dtype=float)
    pf = np.ones(n_edges)
    offered = np.zeros(n_edges)
    converged, rounds = False, 0
    for rounds in range(1, max_iter + 1):
        offered = np.zeros(n_edges)
        for blk in blocks:
            m = _scaled(blk, pf)
            b = np.bincount(blk.kpos * n_nodes + src[blk.demand], weights=demand_bps[blk.demand],
                            minlength=blk.fwd.shape[0])
            x = _fixed_point(b, m)
            offered += np.bincount(blk.edge, weights=x[blk.grp] * blk.split, minlength=n_edges)
        with np.errstate(divide="ignore", invalid="ignore"):
            new = np.where(offered > cap, cap / offered, 1.0)
        change = float(np.max(np.abs(new - pf), initial=0.0))
        pf = new if rounds <= n_nodes else 0.5 * (pf + new)
        if change <= tol:
            converged = True
            break
    if not converged:
        warnings.warn(f"tail-drop fixed point not converged after {max_iter} rounds "
                      f"(pass fractions still change by up to {change:.2e})",
                      ConvergenceWarning, stacklevel=3)
    delivered = np.where(routable, demand_bps, 0.0)
    for blk in blocks:
        m = _scaled(blk, pf)
        ends = np.zeros(m.shape[0])
        ends[blk.kpos * n_nodes + blk.dst_node] = 1.0
        surv = _fixed_point(ends, m.T.tocsr())
        delivered[blk.demand] = demand_bps[blk.demand] * surv[blk.kpos * n_nodes + src[blk.demand]]
    return LossyDelivery(delivered, offered, pf, rounds, converged)


class LossyDelivery(NamedTuple):
    """What :func:`lossy_delivery` returns."""

    delivered_bps: np.ndarray
    offered_bps: np.ndarray
    pass_fraction: np.ndarray
    rounds: int
    converged: bool


def _scaled(blk: "_Block", pass_fraction: np.ndarray) -> csr_matrix:
    """The block's forward matrix with each DAG entry scaled by its edge's pass fraction."""
    n = blk.fwd.shape[0]
    return csr_matrix((blk.split * pass_fraction[blk.edge], (blk.row, blk.grp)), shape=(n, n))


def _reverse_csr(n: int, ua: np.ndarray, va: np.ndarray, wa: np.ndarray) -> csr_matrix:
    """Reversed graph (v -> u) keeping the cheapest of parallel edges (csr would sum them)."""
    if len(ua) == 0:
        return csr_matrix((n, n))
    pair = ua * n + va                                     # sorted: edges sorted by (u, v)
    starts = np.flatnonzero(np.r_[True, pair[1:] != pair[:-1]])
    wmin = np.minimum.reduceat(wa, starts)
    return csr_matrix((wmin, (va[starts], ua[starts])), shape=(n, n))


def _fixed_point(b: np.ndarray, m: csr_matrix) -> np.ndarray:
    """Solve x = b + m @ x for a nilpotent m (a DAG): x = sum over t of m^t b.

    The terms vanish exactly once t exceeds the DAG's depth (entries are >= 0,
    so infinities never meet a negative and no nan appears).
    """
    x = b.copy()
    y = b
    for _ in range(m.shape[0] + 1):
        y = m @ y
        if not y.any():
            return x
        x += y
    raise RuntimeError("routing did not converge: the shortest-path graph has a cycle")
