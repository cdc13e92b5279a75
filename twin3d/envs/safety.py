"""An opt-in safety layer: the change guard's forwarding check on every action of a menu.

:class:`GuardSafetyWrapper` wraps an environment whose actions are a menu
of scene events (FaultRecovery: ``env.unwrapped.menu`` and
``menu_events``). After every reset and step it asks
:func:`twin3d.guard.action_mask` which actions would add a forwarding loop,
a black hole or lose a reachable pair in the network as it stands (links
cut or tripped, sites down, weights, static routes and ACLs in force), and
puts the answer in ``info["guard_mask"]`` (int8, 1 = safe): the mask of
the *next* action, like FaultRecovery's ``info["action_mask"]``. An unsafe
action is replaced by the no-op, and ``info["guard_replaced"]`` says which.

Only the forwarding walk runs (no traffic), and only for actions that can
split the network or override forwarding (:data:`twin3d.guard.safety.ROUTING_NEUTRAL`);
the unwrapped environments are untouched, so the layer costs nothing
unless used. The full verdict (n1, SLA, coverage) is :func:`twin3d.guard.check`.

Examples
--------
>>> from dataclasses import replace

import gymnasium as gym, twin3d.envs
>>> from twin3d.envs.safety import GuardSafetyWrapper
>>> env = GuardSafetyWrapper(gym.make("twin3d/FaultRecovery-v0", scene="ring.toml",
...                                   playbook={"drain AB": [cut_ab]}))   # doctest: +SKIP
>>> obs, info = env.reset(seed=0)                                         # doctest: +SKIP
>>> info["guard_mask"][env.unwrapped.menu.index(("play", "drain AB"))]    # doctest: +SKIP
1
"""

from __future__ import annotations

from dataclasses import replace

import gymnasium as gym
import numpy as np

from ..guard.safety import action_mask
from ..scene import EventSpec

__all__ = ["GuardSafetyWrapper"]


class GuardSafetyWrapper(gym.Wrapper, gym.utils.RecordConstructorArgs):
    """Mask and replace actions that the guard's forwarding check flags.

    Parameters
    ----------
    env : gymnasium.Env
        An environment whose unwrapped form has ``menu`` (a list of actions),
        ``menu_events(a, t)`` (the scene events of action ``a`` at step ``t``,
        changing nothing) and ``sim`` (its Simulator); FaultRecovery has them.
    noop : int
        The action that replaces an unsafe one (FaultRecovery's 0).

    Raises
    ------
    TypeError
        The environment's actions are not a menu of scene events.
    """

    def __init__(self, env: gym.Env, noop: int = 0) -> None:
        gym.utils.RecordConstructorArgs.__init__(self, noop=noop)   # lets gym.make(spec) rebuild it
        gym.Wrapper.__init__(self, env)
        base = env.unwrapped
        if not (hasattr(base, "menu") and hasattr(base, "menu_events") and hasattr(base, "sim")):
            raise TypeError(f"{type(base).__name__}: GuardSafetyWrapper needs an environment whose "
                            "actions are a menu of scene events (menu, menu_events), such as "
                            "twin3d/FaultRecovery-v0")
        self.noop = int(noop)
        self._mask = np.ones(len(base.menu), np.int8)

    def context(self) -> list[EventSpec]:
        """The events that give the network as it stands after the last step.

        Links out (cut or tripped) as ``fiber_cut``, sites down or off as
        ``site_outage`` (a sleeping site keeps routing), weights the agent
        set as ``set_weight``, and the static routes and ACLs in force.
        """
        base = self.env.unwrapped
        sim, r = base.sim, base._last
        ev = [EventSpec(0, "fiber_cut", target=l) for l, s in zip(sim.link_ids, r.link_state) if s != "up"]
        ev += [EventSpec(0, "site_outage", target=s) for s, st in zip(sim.site_ids, r.site_state)
               if st in ("down", "off")]
        if r.link_weight is not None:
            ev += [EventSpec(0, "set_weight", link=l, weight=float(w))
                   for l, w, w0 in zip(sim.link_ids, r.link_weight, sim.link_weight) if w != w0]
        ev += [replace(e, t=0) for e in base._timeline.state(base.t).forwarding]
        return ev

    def guard_mask(self) -> np.ndarray:
        """(n_actions,) int8: 1 where the action adds no loop, black hole or lost pair now."""
        base = self.env.unwrapped
        cands = [base.menu_events(a, 0) for a in range(len(base.menu))]
        return action_mask(base.sim, cands, self.context()).astype(np.int8)

    def reset(self, **kwargs):
        obs, info = self.env.reset(**kwargs)
        self._mask = self.guard_mask()
        info["guard_mask"] = self._mask.copy()
        info["guard_replaced"] = None
        return obs, info

    def step(self, action):
        a = int(action)
        replaced = None
        if 0 <= a < len(self._mask) and not self._mask[a]:
            replaced = {"action": a, "menu": list(self.env.unwrapped.menu[a]), "by": self.noop}
            action = self.noop
        obs, reward, terminated, truncated, info = self.env.step(action)
        if not (terminated or truncated):
            self._mask = self.guard_mask()
        info["guard_mask"] = self._mask.copy()
        info["guard_replaced"] = replaced
        return obs, reward, terminated, truncated, info
