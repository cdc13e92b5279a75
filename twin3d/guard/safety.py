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

__all__ = ["forwarding_safe", "action_mask", "ROUTING_NEUTRAL"]


#: Event kinds that neither take a link or node out nor override forwarding: without
#: static routes or ACLs in force, IGP routing delivers within connected components,
#: which these never split (weights move traffic, restores only add), so they are safe
#: without a forwarding walk.
ROUTING_NEUTRAL = frozenset({"set_weight", "restore", "activate_spare", "set_capacity",
                             "degrade_capacity", "add_capacity", "shed", "surge", "ddos",
                             "cell_sleep", "sector", "power_down", "add_site"})


def _adds_problems(sim: Simulator, before, after, events) -> bool:
    ok = np.ones_like(before.reachable)
    for e in events:
        if e.kind == "site_outage" and e.target in sim.router.node_index:
            i = sim.router.node_index[e.target]
            ok[i, :] = ok[:, i] = False
    new = ((after.loop & ~before.loop) | (after.black_hole & ~before.black_hole)
           | (before.reachable & ~after.reachable)) & ok
    return bool(new.any())


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
    return bool(action_mask(sim, [events], context)[0])


def action_mask(sim: Simulator, candidates, context=()) -> np.ndarray:
    """(n_candidates,) bool: :func:`forwarding_safe` for each candidate list of events.

    The network with ``context`` alone is analysed once; a candidate of
    :data:`ROUTING_NEUTRAL` events only, with no static route or ACL in
    force, is safe without a walk.

    Examples
    --------
    >>> action_mask(sim, [[cap_event], loop_events])                 # doctest: +SKIP
    array([ True, False])
    """
    context = list(context)
    overrides = any(e.kind in ("static_route", "acl") for e in context)
    mask = np.ones(len(candidates), bool)
    before = None
    for i, c in enumerate(candidates):
        c = list(c)
        if not overrides and all(e.kind in ROUTING_NEUTRAL for e in c):
            continue
        if before is None:
            before = analyse(sim, net_state(sim, context))
        after = analyse(sim, net_state(sim, [*context, *c]))
        mask[i] = not _adds_problems(sim, before, after, c)
    return mask
