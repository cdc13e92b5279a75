"""The guard as a safety layer: a fast forwarding-only verdict per candidate action.

An RL agent (or any controller) proposes actions that are scenario events
(SANDBOX.md section 2). :func:`forwarding_safe` says whether applying them
on top of the events already in force (``context``) creates no new loop,
no new black hole and loses no reachable pair, from the forwarding walk
alone (no traffic run: a few ms on a 100-node backbone), and
:func:`action_mask` does so for a list of candidates. The full verdict,
with n1, SLA and coverage, is :func:`twin3d.guard.check`.
"""

from __future__ import annotations

import numpy as np

from ..sim.engine import Simulator
from .state import analyse, net_state

__all__ = ["forwarding_safe", "action_mask"]


def forwarding_safe(sim: Simulator, events, context=()) -> bool:
    """Whether ``events`` on top of ``context`` add no loop, black hole or lost pair.

    Pairs that touch a site the events take down (``site_outage``) are
    expected to go and do not count.

    Examples
    --------
    >>> from twin3d.scene import EventSpec
    >>> loop = [EventSpec(0, "static_route", at="A", dst="C", next_hop="B"),
    ...         EventSpec(0, "static_route", at="B", dst="C", next_hop="A")]
    >>> forwarding_safe(sim, loop)                                   # doctest: +SKIP
    False
    """
    context = list(context)
    before = analyse(sim, net_state(sim, context))
    after = analyse(sim, net_state(sim, [*context, *events]))
    ok = np.ones_like(before.reachable)
    for e in events:
        if e.kind == "site_outage" and e.target in sim.router.node_index:
            i = sim.router.node_index[e.target]
            ok[i, :] = ok[:, i] = False
    new = ((after.loop & ~before.loop) | (after.black_hole & ~before.black_hole)
           | (before.reachable & ~after.reachable)) & ok
    return not bool(new.any())


def action_mask(sim: Simulator, candidates, context=()) -> np.ndarray:
    """(n_candidates,) bool: :func:`forwarding_safe` for each candidate list of events.

    Examples
    --------
    >>> action_mask(sim, [[cap_event], loop_events])                 # doctest: +SKIP
    array([ True, False])
    """
    return np.array([forwarding_safe(sim, list(c), context) for c in candidates], bool)
