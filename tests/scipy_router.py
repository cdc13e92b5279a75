"""The scipy router that twin3d used before the compiled one, kept as a test reference.

It routes by blocks of destinations on dense (destinations x edges) arrays:
``scipy.sparse.csgraph.dijkstra`` from every destination, the DAG as a mask,
and node throughput, latency and tail drop as nilpotent fixed points of
sparse matrices. Independent of :mod:`twin3d.physics.routing`'s kernels, so
the tests can hold the two to the same results.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

_RTOL = 1e-9
_BLOCK_ELEMS = 4_000_000


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


def lossy_delivery(blocks: list, capacity_bps: np.ndarray, n_nodes: int, n_edges: int,
                   src: np.ndarray, demand_bps: np.ndarray, routable: np.ndarray,
                   max_iter: int = 500, tol: float = 1e-9) -> tuple:
    """The tail-drop fixed point as the scipy router solved it."""
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
    delivered = np.where(routable, demand_bps, 0.0)
    for blk in blocks:
        m = _scaled(blk, pf)
        ends = np.zeros(m.shape[0])
        ends[blk.kpos * n_nodes + blk.dst_node] = 1.0
        surv = _fixed_point(ends, m.T.tocsr())
        delivered[blk.demand] = demand_bps[blk.demand] * surv[blk.kpos * n_nodes + src[blk.demand]]
    return delivered, offered, pf, rounds, converged


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
