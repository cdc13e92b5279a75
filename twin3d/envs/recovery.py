"""``twin3d/FaultRecovery-v0``: repair the network while an opponent breaks it.

The opponent cuts fibres, fails and powers off sites and raises surges and
DDoS; links that a cascade trips stay down until the agent restores them.
Each step the agent takes one action from a menu (:attr:`FaultRecoveryEnv.menu`),
each a scene event: steer traffic off a link or back, restore a tripped
link, light a link's spare capacity, wake a sleeping site, shed half
of a demand pair (and end that shed), or reroute a demand pair round the
hottest link of its route (and end that reroute). Many repairs take several
steps (shed, then restore the tripped link, then end the shed), so the
reward pays for traffic served at every step and charges every action.
"""

from __future__ import annotations

from dataclasses import replace

import gymnasium as gym
import numpy as np

from ..scene import EventSpec
from ..sim.engine import StepResult
from .base import TwinEnv
from .detour import Detours

__all__ = ["FaultRecoveryEnv", "FR_REWARD_WEIGHTS"]

#: Default weights: served share of the offered traffic, cost per action taken.
FR_REWARD_WEIGHTS = {"served": 1.0, "action": 0.02}
#: Routing weight multiple of an avoided link.
AVOID_FACTOR = 16.0
#: Share of a demand pair's traffic a shed action drops.
SHED_SHARE = 0.5


def _box(shape, high=np.inf) -> gym.spaces.Box:
    return gym.spaces.Box(0.0, high, shape=shape, dtype=np.float32)


class FaultRecoveryEnv(TwinEnv):
    """Fault recovery against a budgeted opponent, on any scene.

    Action
        ``Discrete(len(menu))``; ``menu[a]`` is ``(verb, element)``: 0 is
        ``("noop", "")``; per link ``avoid`` (weight x16), ``unavoid``
        (scene weight), ``restore`` (a tripped link), and ``spare``
        (``activate_spare``, links with ``spare_capacity_bps``); per radio
        site ``wake``; per demand pair among the ``n_pairs`` largest
        ``shed`` (half its traffic), ``unshed``, ``reroute`` and
        ``unreroute``. ``reroute`` pins the pair to a detour (a
        ``pair_route`` event with an explicit path, as an MPLS-TE tunnel):
        the shortest path, under the last step's weights and over the links
        and sites in service, that avoids the most utilized link of the
        pair's IGP route (every link joining that link's two sites); it is
        computed when the action is taken and kept until ``unreroute``,
        falling back to IGP routing while a link or site of the path is
        down. ``info["action_mask"]`` marks the actions that change
        something now (``reroute``: the pair is not rerouted and a detour
        exists); any other is a no-op that still costs.
        ``playbook`` (name -> list of scene events, opt-in) appends one
        ``("play", name)`` action per entry that applies those events (an
        operator's runbook: a maintenance cut, a static route);
        :class:`twin3d.envs.safety.GuardSafetyWrapper` masks the unsafe ones.
    Observation (dict of float32 arrays)
        ``link_util``, ``link_up``, ``link_tripped``, ``link_cut``,
        ``link_capacity_bps``, ``link_spare_bps`` (not yet lit),
        ``link_avoided`` (n_links,); ``site_up``, ``site_asleep``
        (n_sites,); ``pair_shed``, ``pair_rerouted`` (n_pairs,); ``served_fraction`` (1,);
        ``latency_ms`` (2,) p50 and p95; ``hour`` (1,).
    Reward
        ``w_served * served / offered - w_action * [action != noop]``, both
        weighted terms in ``info["reward_terms"]``.

    Tripped links stay down until restored (``auto_restore_steps`` None).
    """

    default_attacks = ("fiber_cut", "site_outage", "power_outage", "surge", "ddos")
    default_auto_restore = None

    def __init__(self, scene, *, n_pairs: int = 16, reward_weights=None, opponent="default",
                 playbook: dict | None = None, **kw) -> None:
        if opponent == "default":
            opponent = {"kinds": self.default_attacks, "attack_prob": 0.15, "budget": 4.0,
                        "budget_per_step": 0.5, "duration_steps": (4, 16), "cooldown_steps": 4}
        super().__init__(scene, opponent=opponent, **kw)
        self.reward_weights = {**FR_REWARD_WEIGHTS, **(reward_weights or {})}
        twin = self.sim.twin
        self.base_weight = self.sim.link_weight.copy()
        self.spare_bps = np.array([twin.links[l].spare_capacity_bps for l in self.link_ids])
        self.pairs = self._top_pairs(int(n_pairs))
        menu = [("noop", "")]
        for l, spare in zip(self.link_ids, self.spare_bps):
            menu += [("avoid", l), ("unavoid", l), ("restore", l)] + ([("spare", l)] if spare > 0 else [])
        menu += [("wake", s) for s in self.site_ids if twin.sites[s].cells]
        for s, d in self.pairs:
            menu += [("shed", f"{s}->{d}"), ("unshed", f"{s}->{d}"),
                     ("reroute", f"{s}->{d}"), ("unreroute", f"{s}->{d}")]
        #: Named lists of scene events the agent may play (opt-in; see the class docstring).
        self.playbook = {str(k): list(v) for k, v in (playbook or {}).items()}
        menu += [("play", name) for name in self.playbook]
        #: (verb, element) of every action.
        self.menu = menu
        self.action_space = gym.spaces.Discrete(len(menu))
        nl, ns = len(self.link_ids), len(self.site_ids)
        self.observation_space = gym.spaces.Dict({
            "link_util": _box((nl,)), "link_up": _box((nl,), 1.0), "link_tripped": _box((nl,), 1.0),
            "link_cut": _box((nl,), 1.0), "link_capacity_bps": _box((nl,)),
            "link_spare_bps": _box((nl,)), "link_avoided": _box((nl,), 1.0),
            "site_up": _box((ns,), 1.0), "site_asleep": _box((ns,), 1.0),
            "pair_shed": _box((len(self.pairs),), 1.0),
            "pair_rerouted": _box((len(self.pairs),), 1.0), "served_fraction": _box((1,), 1.0),
            "latency_ms": _box((2,)), "hour": _box((1,), 24.0)})
        self._index = {m: i for i, m in enumerate(menu)}
        r = self.sim.router
        self._pair_nodes = [(r.node_index[s], r.node_index[d]) for s, d in self.pairs]
        self._detour = Detours(r.u, r.v, r.link, r.n_nodes)

    def _top_pairs(self, k: int) -> list[tuple[str, str]]:
        """The ``k`` largest demand pairs at the busy hour (ties by name)."""
        sim = self.sim
        if sim.cells:
            demand = {(sim.core, s): 1.0 for s in self.site_ids if s != sim.core}
        else:
            demand = sim.base_demands
        return sorted(demand, key=lambda p: (-demand[p], p))[:k]

    def _on_reset(self) -> None:
        self._avoided = np.zeros(len(self.link_ids), dtype=bool)
        self._spared = np.zeros(len(self.link_ids), dtype=bool)
        self._shed = np.zeros(len(self.pairs), dtype=bool)
        self._rerouted = np.zeros(len(self.pairs), dtype=bool)
        self._detours: tuple | None = None       # (step result, detour per pair)

    def _snapshot_extra(self) -> dict:
        snap = {"_avoided": self._avoided, "_spared": self._spared, "_shed": self._shed,
                "_rerouted": self._rerouted, "_detours": self._detours}
        self._avoided, self._spared, self._shed, self._rerouted = (
            self._avoided.copy(), self._spared.copy(), self._shed.copy(), self._rerouted.copy())
        return snap

    def detours(self) -> list[list[str] | None]:
        """Per pair, the path (site ids) ``reroute`` would pin it to now, or None.

        See :func:`twin3d.envs.detour.detours`; computed once per step.
        Links and sites in service, weights and utilizations are the last step's.
        """
        r = self._last
        if self._detours is not None and self._detours[0] is r:
            return self._detours[1]
        router = self.sim.router
        link_up = np.array([x == "up" for x in r.link_state], dtype=bool)
        state = dict(zip(self.site_ids, r.site_state))
        node_up = np.array([state.get(n, "up") in ("up", "sleep") for n in router.nodes])
        ok = router._up_mask(None, link_up, node_up)
        weight = np.asarray(r.link_weight, dtype=float)[router.link]
        paths = self._detour(ok, weight, np.nan_to_num(np.asarray(r.link_util, dtype=float)),
                             self._pair_nodes)
        out = [None if p is None else [router.nodes[i] for i in p] for p in paths]
        self._detours = (r, out)
        return out

    def action_mask(self) -> np.ndarray:
        """(n_actions,) int8: 1 where the action changes something at the next step."""
        r = self._last
        mask = np.zeros(len(self.menu), dtype=np.int8)
        mask[0] = 1
        link = {l: i for i, l in enumerate(self.link_ids)}
        site = {s: i for i, s in enumerate(self.site_ids)}
        pair = {f"{s}->{d}": i for i, (s, d) in enumerate(self.pairs)}
        detour = self.detours() if not self._rerouted.all() else []
        for a, (verb, el) in enumerate(self.menu[1:], start=1):
            if verb in ("avoid", "unavoid", "restore", "spare"):
                i = link[el]
                ok = {"avoid": not self._avoided[i], "unavoid": self._avoided[i],
                      "restore": r.link_state[i] == "tripped", "spare": not self._spared[i]}[verb]
            elif verb == "wake":
                ok = r.site_state[site[el]] == "sleep"
            elif verb == "play":
                ok = True
            elif verb in ("shed", "unshed"):
                ok = self._shed[pair[el]] == (verb == "unshed")
            elif verb == "unreroute":
                ok = self._rerouted[pair[el]]
            else:
                ok = not self._rerouted[pair[el]] and detour[pair[el]] is not None
            mask[a] = ok
        return mask

    def menu_events(self, a: int, t: int) -> list[EventSpec]:
        """The scene events menu action ``a`` makes at step ``t``, changing nothing (noop: [])."""
        verb, el = self.menu[a]
        if verb == "noop":
            return []
        if verb in ("avoid", "unavoid"):
            i = self.link_ids.index(el)
            w = self.base_weight[i] * (AVOID_FACTOR if verb == "avoid" else 1.0)
            return [EventSpec(t, "set_weight", link=el, weight=float(w))]
        if verb in ("restore", "wake"):
            return [EventSpec(t, "restore", el)]
        if verb == "spare":
            return [EventSpec(t, "activate_spare", link=el)]
        if verb == "play":
            return [replace(e, t=t) for e in self.playbook[el]]
        k = [f"{s}->{d}" for s, d in self.pairs].index(el)
        s, d = self.pairs[k]
        if verb in ("reroute", "unreroute"):
            path = tuple(self.detours()[k] or ()) if verb == "reroute" else ()
            return [EventSpec(t, "pair_route", src=s, dst=d, path=path)]
        return [EventSpec(t, "shed", src=s, dst=d, factor=SHED_SHARE if verb == "shed" else 0.0)]

    def _action_events(self, action, t: int) -> list[EventSpec]:
        a = int(action)
        if not 0 <= a < len(self.menu):
            raise ValueError(f"action must be in [0, {len(self.menu) - 1}], got {a}")
        if a == 0 or not self.action_mask()[a]:
            return []
        verb, el = self.menu[a]
        if verb in ("avoid", "unavoid", "spare"):
            i = self.link_ids.index(el)
            if verb == "spare":
                self._spared[i] = True
            else:
                self._avoided[i] = verb == "avoid"
        elif verb in ("shed", "unshed"):
            self._shed[[f"{s}->{d}" for s, d in self.pairs].index(el)] = verb == "shed"
        elif verb in ("reroute", "unreroute"):
            self._rerouted[[f"{s}->{d}" for s, d in self.pairs].index(el)] = verb == "reroute"
        return self.menu_events(a, t)

    def _observe(self, r: StepResult) -> dict[str, np.ndarray]:
        k = r.kpis
        offered = k["offered_bps"]
        ls = np.array(r.link_state)
        ss = np.array(r.site_state)
        obs = {"link_util": r.link_util, "link_up": ls == "up", "link_tripped": ls == "tripped",
               "link_cut": ls == "cut", "link_capacity_bps": r.link_capacity_bps,
               "link_spare_bps": np.where(self._spared, 0.0, self.spare_bps),
               "link_avoided": self._avoided, "site_up": ss == "up", "site_asleep": ss == "sleep",
               "pair_shed": self._shed, "pair_rerouted": self._rerouted,
               "served_fraction": [k["served_bps"] / offered if offered > 0 else 1.0],
               "latency_ms": [k["latency_p50_ms"], k["latency_p95_ms"]], "hour": [r.hour % 24.0]}
        return {key: np.nan_to_num(np.asarray(v, dtype=np.float32), nan=0.0) for key, v in obs.items()}

    def _finish(self, r, action, mine, theirs):
        out = super()._finish(r, action, mine, theirs)
        out[4]["action_mask"] = self.action_mask()
        return out

    def _reward(self, r: StepResult, action, events) -> tuple[float, dict[str, float]]:
        k, w = r.kpis, self.reward_weights
        served = k["served_bps"] / k["offered_bps"] if k["offered_bps"] > 0 else 1.0
        acted = action is not None and int(action) != 0
        terms = {"served": w["served"] * served, "action": -w["action"] * float(acted)}
        return float(sum(terms.values())), terms
