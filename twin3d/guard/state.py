"""What the guard's checks share: the busy-hour scenario, a step's network state, reachability.

A change is a list of scenario events at step 0 (:mod:`twin3d.guard.changes`);
every check compares the network without them (before) and with them
(after), built from the same :class:`~twin3d.sim.events.Timeline` the
simulator replays, so the guard and ``twin3d simulate`` never disagree on
what a change does.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from ..physics.forwarding import ForwardingAnalysis, forwarding_analysis
from ..scene import ScenarioSpec
from ..sim.demand import DIURNAL_PROFILE
from ..sim.engine import Simulator
from ..sim.events import StepState
from ..sim.forwarding_step import overrides_of

__all__ = ["BUSY_HOUR", "busy_hour_scenario", "with_events", "NetState", "net_state", "analyse",
           "reachable"]

#: Hour of day of the diurnal profile's peak (21:00): the guard's busy hour.
BUSY_HOUR = float(np.argmax(DIURNAL_PROFILE))


def busy_hour_scenario(events=()) -> ScenarioSpec:
    """One step at the busy hour with ``events`` at step 0 (SANDBOX.md section 5).

    Examples
    --------
    >>> sc = busy_hour_scenario()
    >>> sc.steps, sc.start_hour
    (1, 21.0)
    """
    return ScenarioSpec("guard_busy_hour", steps=1, step_s=3600.0, profile="diurnal",
                        events=tuple(events), description="the busy hour, one step",
                        start_hour=BUSY_HOUR)


def with_events(scenario: ScenarioSpec, events) -> ScenarioSpec:
    """``scenario`` with ``events`` added at step 0, after its own step-0 events.

    The timeline sorts stably by step, so the added events apply after the
    scenario's events of step 0 and before any later event.
    """
    added = tuple(replace(e, t=0) for e in events)
    return replace(scenario, events=tuple(scenario.events) + added)


class NetState:
    """The routing inputs of one step: link and node states, weights, static routes and ACLs."""

    def __init__(self, sim: Simulator, state: StepState) -> None:
        self.link_up = np.array([state.link_state[l] == "up" for l in sim.link_ids], dtype=bool)
        # a sleeping site keeps routing (SANDBOX.md section 2)
        self.node_up = np.array([state.site_state.get(n, "up") in ("up", "sleep")
                                 for n in sim.router.nodes])
        self.weight = None
        if state.weight:
            self.weight = sim.link_weight.copy()
            for l, w in state.weight.items():
                self.weight[sim.link_index[l]] = w
        self.overrides = overrides_of(sim.router, state.forwarding)


def net_state(sim: Simulator, events, scenario: ScenarioSpec | None = None) -> NetState:
    """The :class:`NetState` at step 0 of ``scenario`` (default: the busy hour) plus ``events``.

    Examples
    --------
    >>> ns = net_state(sim, [EventSpec(0, "fiber_cut", target="AB")])   # doctest: +SKIP
    >>> ns.link_up.tolist()                                              # doctest: +SKIP
    [False, True, True, True]
    """
    sc = with_events(scenario or busy_hour_scenario(), events)
    return NetState(sim, sim.timeline(sc).state(0))


def analyse(sim: Simulator, ns: NetState) -> ForwardingAnalysis:
    """Loops, black holes and reachability of every ordered pair in state ``ns``."""
    return forwarding_analysis(sim.router, ns.overrides, mode=sim.scene.spec.traffic.routing,
                               link_up=ns.link_up, node_up=ns.node_up, weight=ns.weight)


def reachable(sim: Simulator, ns: NetState) -> np.ndarray:
    """(n, n) bool: whether src's traffic to dst arrives, indexed by router node.

    Without static routes or ACLs, IGP routing delivers exactly between the
    up nodes of one connected component, which connected components give in
    O(N + E); with them, the forwarding walk decides.
    """
    if ns.overrides:
        return analyse(sim, ns).reachable
    r = sim.router
    up = r._up_mask(None, ns.link_up, ns.node_up)      # the mask the forwarding walk uses
    n = r.n_nodes
    g = coo_matrix((np.ones(int(up.sum())), (r.u[up], r.v[up])), shape=(n, n))
    _, comp = connected_components(g, directed=False)
    reach = (comp[:, None] == comp[None, :]) & ns.node_up[:, None] & ns.node_up[None, :]
    return reach

