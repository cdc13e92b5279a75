"""``twin3d/TrafficEngineering-v0``: set the IGP weight of every link.

The agent picks, per link, a rung of a weight ladder (multiples of the
link's weight under the scene's ``[traffic] metric``: hops count 1 per
link); traffic follows ECMP over the new shortest paths, with the
simulator's cascades, queueing and tail drop. The opponent cuts fibres.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np

from ..scene import EventSpec
from ..sim.engine import StepResult
from .base import TwinEnv, link_in_service

__all__ = ["TrafficEngineeringEnv", "WEIGHT_LADDER", "TE_REWARD_WEIGHTS", "MAX_MATRIX_NODES"]

#: Default ladder: multiples of each link's own weight.
WEIGHT_LADDER = (1, 2, 3, 4, 6, 8, 12, 16)
#: Default weights of the reward terms.
TE_REWARD_WEIGHTS = {"served": 1.0, "drop": 1.0, "util": 0.5, "latency": 0.5}
#: Above this many routing nodes the observation carries per-node in/out totals, not the matrix.
MAX_MATRIX_NODES = 64


def _box(shape, high=np.inf) -> gym.spaces.Box:
    return gym.spaces.Box(0.0, high, shape=shape, dtype=np.float32)


class TrafficEngineeringEnv(TwinEnv):
    """Traffic engineering by IGP weights, on any scene twin3d reads.

    Action
        ``MultiDiscrete([len(ladder)] * n_links)``: rung k sets the link's
        weight to ``ladder[k]`` times its scene weight (both directions).
    Observation (dict of float32 arrays, units in the keys)
        ``link_util`` (n_links,) busier direction, load / capacity;
        ``link_load_bps``, ``link_capacity_bps`` (n_links,); ``link_up``
        (n_links,) 1 in service; ``link_weight_rung`` (n_links,) the rung in
        force; ``demand_bps`` (n_nodes, n_nodes) this step's demand matrix,
        or for more than :data:`MAX_MATRIX_NODES` nodes ``node_out_bps``
        and ``node_in_bps``; ``latency_ms`` (2,) demand-weighted p50 and
        p95; ``hour`` (1,) time of day, h.
    Reward
        ``w_served * served/offered - w_drop * dropped/offered - w_util *
        (share of links in service above [sla] util_max) - w_latency *
        max(0, p95 / [sla] latency_p95_ms - 1)``; every weighted term is in
        ``info["reward_terms"]``.

    Other parameters are those of :class:`~twin3d.envs.base.TwinEnv`; the
    default opponent cuts fibres.

    Examples
    --------
    >>> import gymnasium as gym, twin3d.envs                       # doctest: +SKIP
    >>> env = gym.make("twin3d/TrafficEngineering-v0", scene="scenes/topologyzoo/Abilene.toml")  # doctest: +SKIP
    >>> obs, info = env.reset(seed=1)  # doctest: +SKIP
    >>> obs, reward, terminated, truncated, info = env.step(env.action_space.sample())  # doctest: +SKIP
    """

    default_attacks = ("fiber_cut",)

    def __init__(self, scene, *, weight_ladder=WEIGHT_LADDER, reward_weights=None, **kw) -> None:
        super().__init__(scene, **kw)
        ladder = np.asarray(weight_ladder, dtype=float)
        if ladder.ndim != 1 or len(ladder) < 2 or not np.all(ladder > 0) or ladder[0] != 1:
            raise ValueError(f"weight_ladder must start at 1 and hold >= 2 multiples > 0, got {weight_ladder}")
        self.ladder = ladder
        self.reward_weights = {**TE_REWARD_WEIGHTS, **(reward_weights or {})}
        n, nl = self.sim.router.n_nodes, len(self.link_ids)
        self.base_weight = self.sim.link_weight.copy()
        self.action_space = gym.spaces.MultiDiscrete(np.full(nl, len(ladder)))
        spaces = {"link_util": _box((nl,)), "link_load_bps": _box((nl,)),
                  "link_capacity_bps": _box((nl,)), "link_up": _box((nl,), 1.0),
                  "link_weight_rung": _box((nl,), float(len(ladder) - 1)),
                  "latency_ms": _box((2,)), "hour": _box((1,), 24.0)}
        if n <= MAX_MATRIX_NODES:
            spaces["demand_bps"] = _box((n, n))
        else:
            spaces["node_out_bps"], spaces["node_in_bps"] = _box((n,)), _box((n,))
        self.observation_space = gym.spaces.Dict(spaces)
        self._node_totals: tuple | None = None
        self._matrix_obs = "demand_bps" in spaces
        self._n_nodes = n
        self._cell_of_pair: tuple | None = None     # (src, dst, src * n + dst) of the base pairs

    def _on_reset(self) -> None:
        self._rung = np.zeros(len(self.link_ids), dtype=np.int64)

    def _snapshot_extra(self) -> dict:
        snap = {"_rung": self._rung}
        self._rung = self._rung.copy()
        return snap

    def weights_of(self, action) -> np.ndarray:
        """(n_links,) routing weight each link gets from ``action``, in the metric's unit."""
        return self.ladder[np.asarray(action, dtype=np.int64)] * self.base_weight

    def _action_weights(self, action, t: int):
        a = np.asarray(action, dtype=np.int64)
        # both bounds in one reduction: as uint64 a negative rung is past the last one
        if a.shape != self._rung.shape or (a.size and np.maximum.reduce(a.view(np.uint64))
                                           >= len(self.ladder)):
            raise ValueError(f"action must be {len(self._rung)} rungs in [0, {len(self.ladder) - 1}]")
        changed = (a != self._rung).nonzero()[0]
        self._rung = a.copy()
        # one vector for the step: the set_weight events of the changed links, without
        # an event object per link (the episode's log lists them as events); weights_of
        # of the changed links only (the same products)
        return changed, self.ladder[a[changed]] * self.base_weight[changed]

    def _action_events(self, action, t: int) -> list[EventSpec]:
        return []

    def _observe(self, r: StepResult) -> dict[str, np.ndarray]:
        n = self._n_nodes
        src, dst, bps = r.demand
        k = r.kpis
        lat = [0.0 if x != x else x for x in (k["latency_p50_ms"], k["latency_p95_ms"])]
        obs = {"link_util": r.link_util, "link_load_bps": r.link_load_bps,
               "link_capacity_bps": r.link_capacity_bps, "link_up": link_in_service(r),
               "link_weight_rung": self._rung, "latency_ms": lat,
               "hour": [r.hour % 24.0]}
        if self._matrix_obs:
            base = self.sim._base_arrays
            if base is not None and src is base[0]:    # the base pairs are distinct: 0 + x is x
                # filled in float32 at once: the cast the float32 copy below would make
                m = np.zeros((n, n), dtype=np.float32)
                got = self._cell_of_pair
                if got is None or got[0] is not src or got[1] is not dst:
                    got = self._cell_of_pair = (src, dst, src * n + dst)
                m.ravel()[got[2]] = bps
            else:
                m = np.zeros((n, n))
                np.add.at(m, (src, dst), bps)
            obs["demand_bps"] = m
        else:           # kept while the step routes the same (read-only) arrays
            got = self._node_totals
            if got is None or got[0] is not src or got[1] is not dst or got[2] is not bps \
                    or bps.flags.writeable:
                got = (src, dst, bps, np.bincount(src, bps, minlength=n),
                       np.bincount(dst, bps, minlength=n))
                self._node_totals = got
            obs["node_out_bps"], obs["node_in_bps"] = got[3], got[4]
        return {key: np.asarray(v, dtype=np.float32) for key, v in obs.items()}

    def _reward(self, r: StepResult, action, events) -> tuple[float, dict[str, float]]:
        return transport_reward(r, self.scene.spec.sla, self.reward_weights)


def transport_reward(r: StepResult, sla, weights: dict[str, float]) -> tuple[float, dict[str, float]]:
    """The TE reward of one step and its weighted terms (see :class:`TrafficEngineeringEnv`)."""
    k = r.kpis
    offered = k["offered_bps"]
    served = k["served_bps"] / offered if offered > 0 else 1.0
    dropped = k["dropped_bps"] / offered if offered > 0 else 0.0
    up = link_in_service(r)
    n_up = np.count_nonzero(up)
    # the mean of the bools: their count over the links in service (the same float)
    over = float(np.count_nonzero(r.link_util[up] > sla.util_max) / n_up) if n_up else 0.0
    p95 = k["latency_p95_ms"]
    late = max(0.0, p95 / sla.latency_p95_ms - 1.0) if p95 == p95 else 0.0
    terms = {"served": weights["served"] * served, "drop": -weights["drop"] * dropped,
             "util": -weights["util"] * over, "latency": -weights["latency"] * late}
    return float(sum(terms.values())), terms
