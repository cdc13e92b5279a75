"""One step of the backhaul when static routes, ACLs or pair routes are in force.

:func:`route_step_forwarding` is :func:`twin3d.sim.transport_step.route_step`
over the forwarding graph of :mod:`twin3d.physics.forwarding`: the cascade's
waves route with the overrides, and so does the final routing with queueing
latency and tail drop. Traffic that forwarding drops (a loop, a black hole,
a ``drop`` route, an ACL) is lost like unroutable traffic. Steps without
overrides never come here, so their results stay those of the fast paths.

Two differences from the plain routing, both because forwarding may drop
part of a flow on the way: ``latency_s`` is the mean delay of the traffic
delivered (the plain routing's is over the whole split), and the tail-drop
fixed point reruns the forwarding each round.

Pair routes (:mod:`twin3d.physics.pinned`) ride on the same passes: in
each one the pinned pairs whose tunnel is up leave the forwarding walk and
their traffic is laid on their paths, with the same pass fractions and
delays as every other flow.
"""

from __future__ import annotations

import warnings

import numpy as np

from ..physics import forwarding_kernel as K
from ..physics.forwarding import Forwarding, Overrides, compile_overrides, forwarding_routes
from ..physics.pinned import PairPaths
from ..physics.queueing import link_delay_s
from ..physics.routing import PASS_FRACTION_TOL, ConvergenceWarning, Routing
from ..physics.transport import Router
from .cascade import Wave, link_utilization
from .transport_step import MAX_QUEUE_DELAY_S, TransportStep

__all__ = ["overrides_of", "pair_paths_of", "route_step_forwarding"]


def overrides_of(router: Router, events) -> Overrides:
    """The static_route and acl events in force (``StepState.forwarding``), in event order."""
    routes = [(e.at, e.dst, e.next_hop) for e in events if e.kind == "static_route"]
    acls = [(e.at, e.src, e.dst) for e in events if e.kind == "acl"]
    return compile_overrides(router, routes, acls)


def pair_paths_of(router: Router, pair_route: dict, demands) -> PairPaths | None:
    """The pair routes in force (``StepState.pair_route``) over a step's demand arrays;
    None when none pins a demand of the step."""
    if not pair_route:
        return None
    pp = PairPaths(router, pair_route, demands[0], demands[1])
    return pp if pp else None


def _forward(router: Router, demands, overrides: Overrides, pinned: PairPaths | None, up,
             edge_pass=None, edge_delay_s=None, **kw) -> Forwarding:
    """One forwarding pass, the pinned pairs whose tunnel is up carried on their paths."""
    act = None if pinned is None else pinned.active(up, kw.get("node_up"), kw["mode"],
                                                    overrides.sinks)
    if not act:
        return forwarding_routes(router, demands, overrides, link_up=up, edge_pass=edge_pass,
                                 edge_delay_s=edge_delay_s, **kw)
    src, dst, bps = demands
    rest = bps.copy()
    rest[act.rows] = 0.0                     # their traffic leaves the IGP walk
    f = forwarding_routes(router, (src, dst, rest), overrides, link_up=up, edge_pass=edge_pass,
                          edge_delay_s=edge_delay_s, **kw)
    load, delivered, latency = act.flow(bps, router.n_edges, edge_pass, edge_delay_s)
    out = f.outcome_bps
    out[act.rows] = 0.0
    out[act.rows, K.DELIVERED] = delivered
    out[act.rows[act.acl], K.ACL] = bps[act.rows[act.acl]]
    if f.latency_s is not None:
        f.latency_s[act.rows] = latency
    return Forwarding(f.load_bps + load, src, dst, bps, out, f.latency_s)


def route_step_forwarding(router: Router, demands, link_up: np.ndarray, node_up: np.ndarray,
                          capacity_bps: np.ndarray, trip_utilization: float, overrides: Overrides,
                          mode: str = "ecmp", first_cause: list[str] | None = None, weight=None,
                          max_iter: int = 500, pinned: PairPaths | None = None) -> TransportStep:
    """Route with static routes, ACLs and pair routes: cascade, then latency and tail drop.

    Parameters as :func:`twin3d.sim.transport_step.route_step`, plus
    ``overrides`` (:func:`overrides_of`), ``max_iter`` rounds of the
    tail-drop fixed point and ``pinned`` (:func:`pair_paths_of`).

    Examples
    --------
    >>> import networkx as nx
    >>> g = nx.MultiGraph([("A", "B", "AB"), ("B", "C", "BC")])
    >>> r = Router(g)
    >>> ov = compile_overrides(r, [("B", "C", "A")])          # B sends C's traffic back
    >>> s = route_step_forwarding(r, {("A", "C"): 1e9}, np.ones(2, bool), np.ones(3, bool),
    ...                           np.array([10e9, 10e9]), 2.0, ov)
    >>> s.lost_bps, s.link_util.tolist()
    (1000000000.0, [0.1, 0.0])
    """
    demands = router.demand_arrays(demands)
    kw = dict(mode=mode, node_up=node_up, weight=weight)
    cap = np.asarray(capacity_bps, dtype=float)
    up = np.asarray(link_up, dtype=bool).copy()
    waves, cause, k = [], list(first_cause or []), 0
    while True:      # ends: each wave takes >= 1 link out of service (as route_with_cascade)
        f = _forward(router, demands, overrides, pinned, up, **kw)
        util = link_utilization(router, f.load_bps, cap)
        over = np.flatnonzero(up & (util > trip_utilization))
        if len(over) == 0:
            break
        k += 1
        ids = [router.links[i] for i in over]
        waves.append(Wave(k, ids, {router.links[i]: float(util[i]) for i in over}, cause))
        up[over] = False
        cause = ids
    edge_cap = cap[router.link]
    load = f.load_bps
    delay = router.prop_delay_s + np.minimum(link_delay_s(load, edge_cap), MAX_QUEUE_DELAY_S)
    pf, rounds, converged, offered = np.ones(router.n_edges), 1, True, load
    if np.any(load > edge_cap):           # tail drop: the pass fractions' fixed point
        converged = False
        for rounds in range(1, max_iter + 1):
            offered = _forward(router, demands, overrides, pinned, up, edge_pass=pf, **kw).load_bps
            with np.errstate(divide="ignore", invalid="ignore"):
                new = np.where(offered > edge_cap, edge_cap / offered, 1.0)
            change = float(np.max(np.abs(new - pf), initial=0.0))
            pf = new if rounds <= router.n_nodes else 0.5 * (pf + new)
            if change <= PASS_FRACTION_TOL:
                converged = True
                break
        if not converged:
            warnings.warn(f"tail-drop fixed point not converged after {max_iter} rounds",
                          ConvergenceWarning, stacklevel=2)
    final = _forward(router, demands, overrides, pinned, up, edge_pass=pf, edge_delay_s=delay, **kw)
    edge_up = router._up_mask(None, up, node_up)
    # a demand of 0 bit/s is routable when a share of its traffic would arrive
    routable = ~np.isnan(final.latency_s) | (f.delivered_bps > 0)
    routing = Routing(router, mode, edge_up, load, f.src, f.dst, f.demand_bps,
                      routable, edge_delay_s=delay, latency_s=final.latency_s,
                      delivered_bps=final.delivered_bps, carried_bps=offered * pf,
                      drop_rounds=rounds, converged=converged)
    return TransportStep(routing, up, util, waves)
