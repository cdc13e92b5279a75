"""``twin3d/EnergySaving-v0``: put cells to sleep when the network is quiet.

Each step the agent says which cells sleep (a ``cell_sleep`` event of one
step per sleeping cell). The simulator recombines the cached per-cell
radio maps for the active set (no new radio map per step), serves the
demand on what is awake, routes the backhaul and prices every site by
EARTH with the sleep power of TR 38.864 for sleeping cells. Of the grid's
radio KPIs a step computes the coverage and the throughput p5 (what the
observation, reward and ``info`` read); the SINR percentiles and the
throughput p50 come with :meth:`~twin3d.envs.base.TwinEnv.episode_result`.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np

from ..errors import InputError
from ..scene import EventSpec
from ..sim.engine import StepResult
from .base import TwinEnv

__all__ = ["EnergySavingEnv", "ES_REWARD_WEIGHTS"]

#: Default weights of the reward terms.
ES_REWARD_WEIGHTS = {"energy": 1.0, "coverage": 2.0, "throughput": 1.0, "backhaul": 1.0}


def _finite32(v) -> np.ndarray:
    """``np.nan_to_num(np.asarray(v, float32), nan=0.0)``, skipped when already finite."""
    a = np.asarray(v, dtype=np.float32)
    return a if np.isfinite(a).all() else np.nan_to_num(a, nan=0.0)


def _box(shape, high=np.inf) -> gym.spaces.Box:
    return gym.spaces.Box(0.0, high, shape=shape, dtype=np.float32)


class EnergySavingEnv(TwinEnv):
    """Cell sleep for energy saving, on a scene with radio cells.

    Action
        ``MultiBinary(n_cells)``: 1 puts the cell to sleep for this step
        (cells in the twin's order, ``cell_ids``).
    Observation (dict of float32 arrays)
        ``cell_load`` (n_cells,) air-interface resource share (> 1:
        overloaded); ``cell_served_bps`` (n_cells,); ``cell_asleep``
        (n_cells,); ``site_power_w`` (n_sites,) (0 for sites without a radio
        energy model); ``coverage_pct``, ``throughput_p5_bps``,
        ``backhaul_util_max`` and ``hour`` (1,) each.
    Reward
        ``w_energy * saved`` with ``saved = 1 - energy / energy_awake``
        (the same step with every cell awake), minus ``w_coverage *
        max(0, 1 - coverage / [sla] coverage_pct_min)``, ``w_throughput *
        max(0, 1 - throughput_p5 / [sla] throughput_p5_bps_min)`` and
        ``w_backhaul * (dropped / offered + [busiest link above [sla]
        util_max])``; every weighted term is in ``info["reward_terms"]``. A bound of 0
        in ``[sla]`` is no bound: its term is 0.

    The default opponent raises surges. A scene without cells is an
    :class:`~twin3d.errors.InputError` naming the scene file.
    """

    default_attacks = ("surge",)

    def __init__(self, scene, *, reward_weights=None, **kw) -> None:
        from .base import load_env_scene
        scene = load_env_scene(scene)
        if not scene.twin.cells:
            raise InputError(scene.spec.path, f"EnergySaving needs a scene with radio cells; "
                             f"scene '{scene.name}' has none", "environment", "scene")
        super().__init__(scene, **kw)
        self.reward_weights = {**ES_REWARD_WEIGHTS, **(reward_weights or {})}
        self.cell_ids = [c.id for c in self.sim.cells]
        nc, ns = len(self.cell_ids), len(self.site_ids)
        self.action_space = gym.spaces.MultiBinary(nc)
        self.observation_space = gym.spaces.Dict({
            "cell_load": _box((nc,)), "cell_served_bps": _box((nc,)), "cell_asleep": _box((nc,), 1.0),
            "site_power_w": _box((ns,)), "coverage_pct": _box((1,), 100.0),
            "throughput_p5_bps": _box((1,)), "backhaul_util_max": _box((1,)), "hour": _box((1,), 24.0)})
        self._awake_cache: dict[tuple, float] = {}

    def _on_reset(self) -> None:
        self._asleep = np.zeros(len(self.cell_ids), dtype=bool)

    def _snapshot_extra(self) -> dict:
        snap = {"_asleep": self._asleep}
        self._asleep = self._asleep.copy()
        return snap

    def _action_events(self, action, t: int) -> list[EventSpec]:
        a = np.asarray(action)
        if a.shape != (len(self.cell_ids),) or not np.all((a == 0) | (a == 1)):
            raise ValueError(f"action must be {len(self.cell_ids)} values of 0 or 1")
        self._asleep = a.astype(bool)
        return [EventSpec(t, "cell_sleep", cell=self.cell_ids[i], duration=1)
                for i in np.flatnonzero(self._asleep)]

    def _observe(self, r: StepResult) -> dict[str, np.ndarray]:
        k = r.kpis
        asleep = np.array([c in r.cell_sleep for c in self.cell_ids])
        obs = {"cell_load": r.cell_load, "cell_served_bps": r.cell_served_bps,
               "cell_asleep": asleep, "site_power_w": np.nan_to_num(r.site_power_w, nan=0.0),
               "coverage_pct": [k["coverage_pct"]], "throughput_p5_bps": [k["throughput_p5_bps"]],
               "backhaul_util_max": [k["util_max"]], "hour": [r.hour % 24.0]}
        return {key: _finite32(v) for key, v in obs.items()}

    def awake_energy_w(self, r: StepResult) -> float:
        """Energy of step ``r`` with no cell asleep, W (cached per step and state)."""
        if not r.cell_sleep:
            return r.kpis["energy_w"]
        state = self.sim.step_state(self._timeline, r.t)      # the state the step read
        key = (r.t, tuple(sorted(state.site_state.items())),
               tuple((e.kind, e.element, e.factor, e.bps) for e in state.surges))
        if key not in self._awake_cache:
            self._awake_cache[key] = self.sim.awake_energy_w(state, r.hour, self.profile)
        return self._awake_cache[key]

    def _reward(self, r: StepResult, action, events) -> tuple[float, dict[str, float]]:
        k, sla, w = r.kpis, self.scene.spec.sla, self.reward_weights
        awake = self.awake_energy_w(r)
        saved = 1.0 - k["energy_w"] / awake if awake > 0 else 0.0
        cov = _shortfall(k["coverage_pct"], sla.coverage_pct_min)
        thr_pen = _shortfall(k["throughput_p5_bps"], sla.throughput_p5_bps_min)
        offered = k["offered_bps"]
        bh = (k["dropped_bps"] / offered if offered > 0 else 0.0) + float(k["util_max"] > sla.util_max)
        terms = {"energy": w["energy"] * saved, "coverage": -w["coverage"] * cov,
                 "throughput": -w["throughput"] * thr_pen, "backhaul": -w["backhaul"] * bh}
        return float(sum(terms.values())), terms


def _shortfall(value: float, bound: float) -> float:
    """max(0, 1 - value / bound): the relative shortfall below an [sla] bound; 0 for a
    bound of 0 (no bound), 1 for a NaN value (nothing measured)."""
    if value != value:
        return 1.0
    return max(0.0, 1.0 - value / bound) if bound > 0 else 0.0
