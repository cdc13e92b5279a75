"""One step of the backhaul when static routes or ACLs are in force.

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
"""

from __future__ import annotations

import warnings

import numpy as np

from ..physics.forwarding import Overrides, compile_overrides, forwarding_routes
from ..physics.queueing import link_delay_s
from ..physics.routing import PASS_FRACTION_TOL, ConvergenceWarning, Routing
from ..physics.transport import Router
from .cascade import Wave, link_utilization
from .transport_step import MAX_QUEUE_DELAY_S, TransportStep

__all__ = ["overrides_of", "route_step_forwarding"]


def overrides_of(router: Router, events) -> Overrides:
    """The static_route and acl events in force (``StepState.forwarding``), in event order."""
    routes = [(e.at, e.dst, e.next_hop) for e in events if e.kind == "static_route"]
    acls = [(e.at, e.src, e.dst) for e in events if e.kind == "acl"]
    return compile_overrides(router, routes, acls)


def route_step_forwarding(router: Router, demands, link_up: np.ndarray, node_up: np.ndarray,
                          capacity_bps: np.ndarray, trip_utilization: float, overrides: Overrides,
                          mode: str = "ecmp", first_cause: list[str] | None = None, weight=None,
                          max_iter: int = 500) -> TransportStep:
    """Route with static routes and ACLs: cascade, then latency and tail drop.

    Parameters as :func:`twin3d.sim.transport_step.route_step`, plus
    ``overrides`` (:func:`overrides_of`) and ``max_iter`` rounds of the
    tail-drop fixed point.

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
        f = forwarding_routes(router, demands, overrides, link_up=up, **kw)
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
            offered = forwarding_routes(router, demands, overrides, link_up=up, edge_pass=pf,
                                        **kw).load_bps
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
    final = forwarding_routes(router, demands, overrides, link_up=up, edge_pass=pf,
                              edge_delay_s=delay, **kw)
    edge_up = router._up_mask(None, up, node_up)
    # a demand of 0 bit/s is routable when a share of its traffic would arrive
    routable = ~np.isnan(final.latency_s) | (f.delivered_bps > 0)
    routing = Routing(router, mode, edge_up, load, f.src, f.dst, f.demand_bps,
                      routable, edge_delay_s=delay, latency_s=final.latency_s,
                      delivered_bps=final.delivered_bps, carried_bps=offered * pf,
                      drop_rounds=rounds, converged=converged)
    return TransportStep(routing, up, util, waves)
