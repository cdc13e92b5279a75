"""The backhaul step for B copies of one small network at once, in compiled code.

:func:`twin3d.sim.transport_step.route_step` costs well under a millisecond
on a network of tens of nodes, and most of that is Python around the
compiled kernels (building the usable graph, dispatching each pass, the
cascade loop, the tail-drop rounds). A reinforcement-learning vector
environment steps many copies of the same network, each with its own link
and node states, capacities, IGP weights and demand volumes; paying that
Python cost per copy caps it at a few thousand steps a second.
:class:`BatchRouter` runs the whole step of every copy inside one compiled
function (:func:`_step_batch`) that calls the same kernels as the router
(:func:`~twin3d.physics.routing._group`, :func:`~twin3d.physics.routing._walk`,
:func:`~twin3d.physics.routing._walk_hops`) in the same order, with the
same floating-point operations in the same order around them, so copy b's
result equals ``route_step`` on copy b's inputs bit for bit:

1. cascade: route without latency; trip every link in service whose busier
   direction's utilization exceeds ``trip_utilization``; reroute; repeat
   until nothing trips (each wave takes a link out, so it ends);
2. edge delay ``prop_delay_s + min(M/M/1 sojourn, max_queue_delay_s)`` on
   the final loads (the routing after the last wave: routing the same
   inputs again gives the same loads), then the expected latency;
3. tail drop: the pass-fraction fixed point of
   :func:`~twin3d.physics.routing.lossy_delivery` (plain rounds for the
   first ``n_nodes`` rounds, then damped by one half, tolerance
   :data:`~twin3d.physics.routing.PASS_FRACTION_TOL`, at most 500 rounds),
   then each demand's delivered share.

The demands are one set of (src, dst) pairs for the whole batch, with a
volume per copy. Weights are per copy: breadth-first search applies to a
copy only when the metric is hops and all its weights are 1, as in
:meth:`~twin3d.physics.transport.Router.route`.
"""

from __future__ import annotations

from typing import NamedTuple
import warnings

import numpy as np
from numba import njit, prange

from . import batch_dags, routing
from .batch_dags import replay, replay_hops
from .queueing import MEAN_PACKET_BITS
from .routing import PASS_FRACTION_TOL, ConvergenceWarning, _group, _walk, _walk_hops
from .transport import Router

__all__ = ["BatchRouter", "BatchStepResult", "MAX_QUEUE_DELAY_S"]

#: Cap on the queueing delay of a saturated link, s: the value of
#: :data:`twin3d.sim.transport_step.MAX_QUEUE_DELAY_S` (a test keeps them
#: equal; physics does not import the simulator).
MAX_QUEUE_DELAY_S = 0.05
#: Round limit of the tail-drop fixed point (``lossy_delivery``'s default).
MAX_DROP_ROUNDS = 500


class BatchStepResult(NamedTuple):
    """What :meth:`BatchRouter.step` returns; row b is copy b.

    Attributes
    ----------
    link_up_after : (B, n_links) bool
        Links in service after the cascade.
    link_util : (B, n_links) float
        Utilization of each link's busier direction after the cascade
        (load / capacity; inf for load on a link of capacity 0).
    link_load_bps : (B, n_links) float
        Offered load of each link's busier direction, bit/s.
    demand_bps : (B, n_demands) float
        Offered bit/s per demand.
    delivered_bps : (B, n_demands) float
        Bit/s reaching the destination after tail drops (0 if unroutable).
    routable : (B, n_demands) bool
        A path is up and both end nodes are up.
    latency_s : (B, n_demands) float
        Expected end-to-end delay, s (0 for src == dst, nan if unroutable).
    converged : (B,) bool
        The tail-drop fixed point met its tolerance.
    n_waves : (B,) int
        Cascade waves (rounds that tripped at least one link).
    tripped : (B, n_links) bool
        Links this step's cascade took out of service.
    drop_rounds : (B,) int
        Rounds the tail-drop fixed point ran.
    """

    link_up_after: np.ndarray
    link_util: np.ndarray
    link_load_bps: np.ndarray
    demand_bps: np.ndarray
    delivered_bps: np.ndarray
    routable: np.ndarray
    latency_s: np.ndarray
    converged: np.ndarray
    n_waves: np.ndarray
    tripped: np.ndarray
    drop_rounds: np.ndarray

    @property
    def lost_bps(self) -> np.ndarray:
        """(B,) unroutable demand plus tail drops, bit/s (summed as ``TransportStep.lost_bps``)."""
        return self.demand_bps.sum(axis=1) - self.delivered_bps.sum(axis=1)


class BatchRouter:
    """Step B copies of one network's backhaul at once (see the module docstring).

    Parameters
    ----------
    router : Router
        The network; its metric decides whether all-1 weights mean hops.
    src, dst : array_like of int
        (n_demands,) node indices of the demands, the same for every copy.
    mode : {"ecmp", "spf"}
    max_queue_delay_s : float
        Cap on each edge's queueing delay, s.
    reuse_dags : bool
        Record each graph's shortest-path DAGs once and replay them for the
        latency, tail-drop and survival passes (:mod:`twin3d.physics.batch_dags`,
        same results); False calls the router's kernels for every pass.
    parallel : bool
        Step the copies on numba's threads (``numba.set_num_threads``); the
        result is the same, each copy being computed alone.

    Examples
    --------
    >>> import networkx as nx
    >>> g = nx.MultiGraph([("A", "B", "AB"), ("B", "C", "BC")])
    >>> br = BatchRouter(Router(g), [0], [2])
    >>> res = br.step(np.array([[4e9], [1e9]]), np.ones((2, 2), bool), np.ones((2, 3), bool),
    ...               np.array([[10e9, 2e9]] * 2), None, 2.5)
    >>> res.delivered_bps[:, 0].tolist(), res.link_util[0].tolist()
    ([2000000000.0, 1000000000.0], [0.4, 2.0])
    """

    def __init__(self, router: Router, src, dst, mode: str = "ecmp",
                 max_queue_delay_s: float = MAX_QUEUE_DELAY_S, reuse_dags: bool = True,
                 parallel: bool = False) -> None:
        if mode not in ("ecmp", "spf"):
            raise ValueError(f"mode must be 'ecmp' or 'spf', got {mode!r}")
        self.router, self.mode = router, mode
        self.src = np.ascontiguousarray(src, dtype=np.int64)
        self.dst = np.ascontiguousarray(dst, dtype=np.int64)
        n = router.n_nodes
        if self.src.shape != self.dst.shape or self.src.ndim != 1:
            raise ValueError("src and dst must be 1-d arrays of the same length")
        if np.any((self.src < 0) | (self.src >= n) | (self.dst < 0) | (self.dst >= n)):
            raise ValueError("demand node index out of range")
        self.max_queue_delay_s = float(max_queue_delay_s)
        self.reuse_dags = bool(reuse_dags)
        self.parallel = bool(parallel)
        self.n_links = len(router.links)
        self._u = np.ascontiguousarray(router.u, dtype=np.int64)
        self._v = np.ascontiguousarray(router.v, dtype=np.int64)
        self._link = np.ascontiguousarray(router.link, dtype=np.int64)
        self._prop = np.ascontiguousarray(router.prop_delay_s, dtype=float)

    def step(self, bps, link_up, node_up, capacity_bps, weight, trip_utilization: float,
             ) -> BatchStepResult:
        """One backhaul step of every copy: cascade, latency, tail drop.

        Parameters
        ----------
        bps : (B, n_demands) float
            Offered bit/s per demand, finite and >= 0.
        link_up : (B, n_links) bool
            Links in service before the cascade.
        node_up : (B, n_nodes) bool
            Nodes in service (a down node's edges and demands are out).
        capacity_bps : (B, n_links) float
            Capacity per link, bit/s (>= 0).
        weight : (B, n_links) float or None
            Routing weight per link, finite and > 0, in the metric's unit;
            None: the router's metric weights for every copy.
        trip_utilization : float
            Utilization past which a link in service trips.

        Returns
        -------
        BatchStepResult

        Raises
        ------
        RuntimeError
            A copy's shortest-path graph has a cycle (a weight below the
            router's 1e-9 relative tolerance), as :meth:`Router.route` raises.
        """
        r, nd = self.router, len(self.src)
        bps = np.ascontiguousarray(bps, dtype=float)
        if bps.ndim != 2 or bps.shape[1] != nd:
            raise ValueError(f"bps must have shape (B, {nd}), got {bps.shape}")
        nb = bps.shape[0]
        link_up = _rows(link_up, bool, (nb, self.n_links), "link_up")
        node_up = _rows(node_up, bool, (nb, r.n_nodes), "node_up")
        cap = _rows(capacity_bps, float, (nb, self.n_links), "capacity_bps")
        if not np.all(np.isfinite(bps) & (bps >= 0)):
            raise ValueError("bps must be finite and >= 0")
        if np.any(np.isnan(cap) | (cap < 0)):
            raise ValueError("capacity_bps must be >= 0")
        hops = r.metric == "hops"
        if weight is None:
            w_edge = np.ascontiguousarray(np.broadcast_to(r.weight, (nb, r.n_edges)), dtype=float)
            unweighted = np.full(nb, hops)
        else:
            lw = _rows(weight, float, (nb, self.n_links), "weight")
            if not np.all(np.isfinite(lw) & (lw > 0)):
                raise ValueError("weight must be finite and > 0 for every link")
            w_edge = np.ascontiguousarray(lw[:, self._link])
            unweighted = hops & np.all(w_edge == 1.0, axis=1)
        spf = self.mode == "spf"
        # the router walks ECMP by hops with _walk_hops unless a test turned it off
        use_hops = unweighted & (not spf) & bool(routing._HOPS_KERNEL)
        out = _alloc(nb, self.n_links, nd)
        kernel = _step_batch_parallel if self.parallel else _step_batch
        status = kernel(r.n_nodes, self._u, self._v, self._link, self._prop, self.src,
                        self.dst, bps, link_up, node_up, cap, w_edge, unweighted, use_hops,
                        spf, self.reuse_dags, float(trip_utilization), self.max_queue_delay_s,
                        MEAN_PACKET_BITS, MAX_DROP_ROUNDS, PASS_FRACTION_TOL, *out)
        if status.any():
            raise RuntimeError("routing did not converge: the shortest-path graph has a cycle "
                               f"(copies {np.flatnonzero(status).tolist()})")
        res = BatchStepResult(out[0], out[1], out[2], bps.copy(), *out[3:])
        if not res.converged.all():     # rare: off the hot path
            bad = np.flatnonzero(~res.converged)
            warnings.warn(f"tail-drop fixed point not converged after {MAX_DROP_ROUNDS} rounds "
                          f"in copies {bad.tolist()}", ConvergenceWarning, stacklevel=2)
        return res


def _rows(a, dtype, shape: tuple, name: str) -> np.ndarray:
    arr = np.ascontiguousarray(a, dtype=dtype)
    if arr.shape != shape:
        raise ValueError(f"{name} must have shape {shape}, got {arr.shape}")
    return arr


def _alloc(nb: int, nl: int, nd: int) -> tuple:
    """Output arrays in :func:`_step_batch`'s order (without demand_bps)."""
    return (np.zeros((nb, nl), bool), np.zeros((nb, nl)), np.zeros((nb, nl)),
            np.zeros((nb, nd)), np.zeros((nb, nd), bool), np.zeros((nb, nd)),
            np.zeros(nb, bool), np.zeros(nb, np.int64), np.zeros((nb, nl), bool),
            np.zeros(nb, np.int64))


# Compiled part. error_model="numpy": a load on a link of capacity 0 divides
# by zero to inf, as numpy does in the router, instead of raising.

@njit(cache=True)
def _pass(kind, reuse, use_hops, n, unweighted, spf, g, dg, dests, dem_ptr, dem_src, bps, edge_val,
          edge_out, dem_out):  # pragma: no cover - compiled
    """One pass of ``_Dags.walk`` with the kernel the router picks for this graph
    (``g``: the usable edges), or its replay on the DAGs recorded in ``dg``."""
    out_ptr, out_head, out_w, out_edge, in_ptr, in_tail, in_w, in_edge = g
    cnt, order, pos, ptr, split, bad, dag_e, dag_h, dag_t, deg = dg
    if reuse and use_hops:
        return replay_hops(kind, n, dests, dem_ptr, dem_src, bps, edge_val, edge_out, dem_out,
                           cnt, order, pos, ptr, dag_e, dag_h, dag_t, deg)
    if reuse:
        return replay(kind, n, dests, dem_ptr, dem_src, bps, edge_val, edge_out, dem_out, cnt,
                      order, pos, ptr, split, bad, dag_e, dag_h)
    if use_hops:
        return _walk_hops(kind, n, in_ptr, in_tail, in_edge, dests, dem_ptr, dem_src, bps,
                          edge_val, edge_out, dem_out)
    return _walk(kind, n, out_ptr, out_head, out_w, out_edge, in_ptr, in_tail, in_w, unweighted,
                 spf, dests, dem_ptr, dem_src, bps, edge_val, edge_out, dem_out)


@njit(cache=True)
def _usable(n, u, v, link, w, link_up, node_up, out_ptr, out_head, out_w, out_edge, in_ptr,
            in_tail, in_w, in_edge, fill):  # pragma: no cover - compiled
    """The usable edges as ``route_arrays`` lays them out; returns their count.

    Out-edges in edge order (sorted by tail); in-edges by head, stable (a
    counting sort equals ``argsort(kind="stable")``).
    """
    m = 0
    out_ptr[:] = 0
    in_ptr[:] = 0
    for e in range(len(u)):
        if link_up[link[e]] and node_up[u[e]] and node_up[v[e]]:
            out_head[m] = v[e]
            out_w[m] = w[e]
            out_edge[m] = e
            out_ptr[u[e] + 1] += 1
            in_ptr[v[e] + 1] += 1
            m += 1
    for i in range(n):
        out_ptr[i + 1] += out_ptr[i]
        in_ptr[i + 1] += in_ptr[i]
        fill[i] = in_ptr[i]
    for k in range(m):
        e = out_edge[k]
        f = fill[v[e]]
        in_tail[f] = u[e]
        in_w[f] = out_w[k]
        in_edge[f] = e
        fill[v[e]] = f + 1
    return m


@njit(cache=True, error_model="numpy")
def _step_one(n, u, v, link, prop, src, dst, bps, link_up, node_up, cap, w, unweighted, use_hops,
              spf, reuse, trip, max_delay, packet_bits, max_iter, tol, up, util, link_load,
              delivered, routable_out, lat, tripped):  # pragma: no cover - compiled
    """``route_step`` of one copy into the output rows; returns (status, converged,
    waves, rounds), status 1 when a shortest-path graph has a cycle."""
    ne, nl = len(u), len(link_up)
    _, routable, dem_ptr, dem_idx, dem_src, dem_bps = _group(src, dst, bps, node_up, n)
    nc = len(dem_idx)
    k = 0
    for t in range(n):
        if dem_ptr[t + 1] > dem_ptr[t]:
            k += 1
    dests = np.empty(k, np.int64)
    k = 0
    for t in range(n):
        if dem_ptr[t + 1] > dem_ptr[t]:
            dests[k] = t
            k += 1
    edge_cap = np.empty(ne)
    for e in range(ne):
        edge_cap[e] = cap[link[e]]
    out_ptr = np.zeros(n + 1, np.int64)
    in_ptr = np.zeros(n + 1, np.int64)
    fill = np.empty(n, np.int64)
    out_head = np.empty(ne, np.int64)
    out_edge = np.empty(ne, np.int64)
    in_tail = np.empty(ne, np.int64)
    in_edge = np.empty(ne, np.int64)
    out_w = np.empty(ne)
    in_w = np.empty(ne)
    load = np.zeros(ne)
    reached = np.zeros(nc)
    none = np.zeros(0)
    dg = batch_dags.alloc(len(dests), n, ne)
    for i in range(nl):
        up[i] = link_up[i]
    waves = 0
    while True:    # the cascade (route_with_cascade)
        m = _usable(n, u, v, link, w, up, node_up, out_ptr, out_head, out_w, out_edge, in_ptr,
                    in_tail, in_w, in_edge, fill)
        g = (out_ptr, out_head[:m], out_w[:m], out_edge[:m], in_ptr, in_tail[:m], in_w[:m],
             in_edge[:m])
        if reuse and use_hops:      # record the DAGs the later passes replay
            batch_dags.record_hops(n, in_ptr, g[5], g[7], dests, dg[0], dg[1], dg[2], dg[3],
                                   dg[6], dg[7], dg[8], dg[9])
        elif reuse:
            batch_dags.record(n, out_ptr, g[1], g[2], g[3], in_ptr, g[5], g[6], unweighted, spf,
                              dests, dg[0], dg[1], dg[2], dg[3], dg[4], dg[5], dg[6], dg[7])
        load[:] = 0.0
        reached[:] = 0.0
        if _pass(0, reuse, use_hops, n, unweighted, spf, g, dg, dests, dem_ptr, dem_src, dem_bps,
                 none, load, reached):
            return 1, False, waves, 0
        util[:] = 0.0               # link_utilization: np.maximum.at in edge order
        for e in range(ne):
            x = load[e] / edge_cap[e] if load[e] > 0 else 0.0
            cur = util[link[e]]
            if x > cur or (x != x and cur == cur):
                util[link[e]] = x
        hit = False
        for i in range(nl):
            if up[i] and util[i] > trip:
                up[i] = False
                tripped[i] = True
                hit = True
        if not hit:
            break
        waves += 1
    # the final route has the last wave's inputs, hence its loads and routable set
    for j in range(nc):
        routable[dem_idx[j]] = reached[j] > 0
    link_load[:] = 0.0
    for e in range(ne):
        if load[e] > link_load[link[e]]:
            link_load[link[e]] = load[e]
    delay = np.empty(ne)            # prop + min(link_delay_s(load, cap), max_delay)
    for e in range(ne):
        spare = edge_cap[e] - load[e]
        q = packet_bits / spare if spare > 0 else np.inf
        delay[e] = prop[e] + (q if q < max_delay else max_delay)
    for i in range(len(src)):       # expected_latency
        lat[i] = 0.0 if routable[i] else np.nan
    t = np.full(nc, np.nan)
    if _pass(1, reuse, use_hops, n, unweighted, spf, g, dg, dests, dem_ptr, dem_src, none, delay,
             none, t):
        return 1, False, waves, 0
    for j in range(nc):
        lat[dem_idx[j]] = t[j]
    pf = np.ones(ne)                # lossy_delivery's rounds
    new = np.empty(ne)
    offered = np.zeros(ne)
    converged = False
    rounds = 0
    while rounds < max_iter:
        rounds += 1
        offered[:] = 0.0
        _pass(2, reuse, use_hops, n, unweighted, spf, g, dg, dests, dem_ptr, dem_src, dem_bps, pf,
              offered, none)
        change = 0.0                # np.max(|new - pf|, initial=0): nan propagates
        for e in range(ne):
            new[e] = edge_cap[e] / offered[e] if offered[e] > edge_cap[e] else 1.0
            d = abs(new[e] - pf[e])
            if d > change or d != d:
                change = d
        if rounds <= n:
            pf[:] = new
        else:
            for e in range(ne):
                pf[e] = 0.5 * (pf[e] + new[e])
        if change <= tol:
            converged = True
            break
    s = np.ones(nc)
    _pass(3, reuse, use_hops, n, unweighted, spf, g, dg, dests, dem_ptr, dem_src, none, pf, none,
          s)
    surv = np.ones(len(src))
    for j in range(nc):
        surv[dem_idx[j]] = s[j]
    for i in range(len(src)):
        delivered[i] = bps[i] * surv[i] if routable[i] else 0.0
        routable_out[i] = routable[i]
    return 0, converged, waves, rounds


@njit(cache=True)
def _step_batch(n, u, v, link, prop, src, dst, bps, link_up, node_up, cap, w, unweighted,
                use_hops, spf, reuse, trip, max_delay, packet_bits, max_iter, tol, up, util,
                link_load, delivered, routable, lat, converged, waves, tripped,
                rounds):  # pragma: no cover - compiled
    """:func:`_step_one` for every copy b (row b of each array); returns (B,) status."""
    status = np.zeros(bps.shape[0], np.int64)
    for b in range(bps.shape[0]):
        st, cv, wv, rd = _step_one(n, u, v, link, prop, src, dst, bps[b], link_up[b], node_up[b],
                                   cap[b], w[b], unweighted[b], use_hops[b], spf, reuse, trip,
                                   max_delay, packet_bits, max_iter, tol, up[b], util[b],
                                   link_load[b], delivered[b], routable[b], lat[b], tripped[b])
        status[b] = st
        converged[b] = cv
        waves[b] = wv
        rounds[b] = rd
    return status


@njit(cache=True, parallel=True)
def _step_batch_parallel(n, u, v, link, prop, src, dst, bps, link_up, node_up, cap, w, unweighted,
                use_hops, spf, reuse, trip, max_delay, packet_bits, max_iter, tol, up, util,
                link_load, delivered, routable, lat, converged, waves, tripped,
                rounds):  # pragma: no cover - compiled
    """:func:`_step_batch` with the copies spread over threads (each writes its own rows)."""
    status = np.zeros(bps.shape[0], np.int64)
    for b in prange(bps.shape[0]):
        st, cv, wv, rd = _step_one(n, u, v, link, prop, src, dst, bps[b], link_up[b], node_up[b],
                                   cap[b], w[b], unweighted[b], use_hops[b], spf, reuse, trip,
                                   max_delay, packet_bits, max_iter, tol, up[b], util[b],
                                   link_load[b], delivered[b], routable[b], lat[b], tripped[b])
        status[b] = st
        converged[b] = cv
        waves[b] = wv
        rounds[b] = rd
    return status
