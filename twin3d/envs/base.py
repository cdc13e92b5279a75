"""The common engine of twin3d's environments: one episode of the simulator.

:class:`TwinEnv` runs the scene's :class:`~twin3d.sim.engine.Simulator` on a
:class:`~twin3d.sim.live.LiveTimeline`: each step the agent's action and
the opponent's attacks become scene events at that step, and the simulator
steps once, with the same physics as ``twin3d simulate``. An episode is a
day of ``steps`` steps of ``step_s`` seconds under the scene's diurnal
demand; its event log is a scenario (``save_episode`` writes it as one).

Subclasses say what an action means (:meth:`TwinEnv._action_events`),
what the agent sees (:meth:`TwinEnv._observe`) and how it is rewarded
(:meth:`TwinEnv._reward`).
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import struct
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

from ..errors import InputError
from ..loader import Scene, load_scene
from ..scene import EventSpec, ScenarioSpec
from ..sim.engine import ScenarioResult, Simulator, StepResult
from ..sim.live import LiveTimeline
from .opponent import LazyView, Opponent, OpponentView, make_opponent

__all__ = ["TwinEnv", "load_env_scene", "link_in_service", "INCREMENTAL_NODES",
           "KEEP_DEMANDS_MAX", "HASH_DIGEST_MIN_BYTES", "hash_part"]

#: Routing nodes from which ``incremental="auto"`` reroutes incrementally.
INCREMENTAL_NODES = 200
#: Demand pairs from which ``keep_demand_arrays="auto"`` leaves each step's per-demand
#: arrays out of the episode record (999,000 pairs: 8 MB a step, 770 MB a 96-step day).
KEEP_DEMANDS_MAX = 100_000
#: The KPIs a step's ``info["kpis"]`` carries.
INFO_KPIS = ("offered_bps", "served_bps", "dropped_bps", "util_max", "latency_p95_ms", "energy_w",
             "coverage_pct", "throughput_p5_bps", "sla_violated", "converged")

#: A float64's bytes in the machine's order, as ``np.float64(x).tobytes()`` gives them.
_F64 = struct.Struct("=d")
#: Observation arrays of this many bytes or more enter the episode hash as their own
#: SHA-256 digest (a hash of hashes: as strong), so that copies that see one such array
#: (the batched env's demand matrix at one hour) hash its bytes once between them.
HASH_DIGEST_MIN_BYTES = 4096


def hash_part(a: np.ndarray):
    """What an observation array adds to the episode hash: its bytes (C order), or their
    SHA-256 digest from :data:`HASH_DIGEST_MIN_BYTES` on.

    Examples
    --------
    >>> len(hash_part(np.zeros(1024, np.float32))), bytes(hash_part(np.zeros(2, np.uint8)))
    (32, b'\\x00\\x00')
    """
    a = np.ascontiguousarray(a)
    return hashlib.sha256(a).digest() if a.nbytes >= HASH_DIGEST_MIN_BYTES else a


def link_in_service(r: StepResult) -> np.ndarray:
    """(n_links,) bool: ``link_state == "up"`` of a step (kept on the result by the simulator)."""
    if r.link_up is not None:
        return r.link_up
    return np.array([s == "up" for s in r.link_state], dtype=bool)


def load_env_scene(scene: str | Path | Scene) -> Scene:
    """A loaded :class:`Scene` from a scene TOML path or a Scene."""
    if isinstance(scene, Scene):
        return scene
    if isinstance(scene, (str, Path)):
        return load_scene(scene)
    raise TypeError(f"scene must be a scene TOML path or a loaded Scene, got {type(scene).__name__}")


class TwinEnv(gym.Env, ABC):
    """Base of the twin's environments (not registered itself).

    Parameters
    ----------
    scene : str, Path or Scene
        A scene TOML path or a loaded scene: any network twin3d reads.
    steps : int
        Steps per episode (the episode is truncated after the last).
    step_s : float
        Length of a step, seconds (default 900: a day is 96 steps).
    start_hour : float
        Hour of day of step 0.
    profile : {"diurnal", "flat"}
        Demand over the day (flat: the busy hour all day).
    opponent : "default", None, dict or callable
        The attacker (:func:`twin3d.envs.opponent.make_opponent`).
    demand_factor : float
        Multiplies the scene's demand (a busier or quieter network).
    auto_restore_steps : int or None
        An operator restores a link tripped by a cascade after this many
        steps (None: it stays down until an action restores it).
    min_served_fraction : float
        The episode terminates when the network serves less than this
        share of what is offered (it can no longer serve).
    render_mode : {"rgb_array", None}
    incremental : bool or "auto"
        Route with incremental rerouting (only the destinations a change
        touches; :class:`twin3d.physics.incremental.RoutingCache`): "auto"
        turns it on for transport-only scenes of :data:`INCREMENTAL_NODES`
        routing nodes or more.
    simulator : Simulator, optional
        A simulator of the same scene to share (copies of an environment).
    keep_demand_arrays : bool or "auto"
        Keep each step's per-demand latency and delivered bit/s in the
        episode record (:meth:`episode_result`; ``save_episode`` does not
        read them); "auto" keeps them below :data:`KEEP_DEMANDS_MAX` demand
        pairs, so that an episode on a large network does not hold
        gigabytes. The observations and rewards are the same either way.
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 4}
    #: Attack kinds of the default opponent.
    default_attacks: tuple[str, ...] = ("fiber_cut",)
    #: ``auto_restore_steps`` when the caller does not give it.
    default_auto_restore: int | None = 4

    def __init__(self, scene, *, steps: int = 96, step_s: float = 900.0, start_hour: float = 0.0,
                 profile: str = "diurnal", opponent: Any = "default", demand_factor: float = 1.0,
                 auto_restore_steps: int | None | str = "default", min_served_fraction: float = 0.5,
                 render_mode: str | None = None, simulator: Simulator | None = None,
                 incremental: bool | str = "auto", keep_demand_arrays: bool | str = "auto") -> None:
        self.scene = load_env_scene(scene)
        if keep_demand_arrays not in (True, False, "auto"):
            raise ValueError(f"keep_demand_arrays must be True, False or 'auto', "
                             f"got {keep_demand_arrays!r}")
        self.keep_demand_arrays = keep_demand_arrays
        if render_mode not in (None, "rgb_array"):
            raise ValueError(f"render_mode must be 'rgb_array' or None, got {render_mode!r}")
        if not steps >= 2:
            raise ValueError(f"steps must be >= 2, got {steps}")
        if not demand_factor > 0:
            raise ValueError(f"demand_factor must be > 0, got {demand_factor}")
        if profile not in ("diurnal", "flat"):
            raise ValueError(f"profile must be 'diurnal' or 'flat', got {profile!r}")
        self.render_mode, self.profile = render_mode, profile
        self.steps, self.step_s, self.start_hour = int(steps), float(step_s), float(start_hour)
        if simulator is None:
            if incremental == "auto":
                incremental = (not self.scene.twin.cells
                               and self.scene.twin.graph.number_of_nodes() >= INCREMENTAL_NODES)
            simulator = Simulator(self.scene, incremental=bool(incremental))
        self.sim = simulator
        # a shared simulator is scaled once, by the first environment built on it
        done = getattr(self.sim, "_env_demand_factor", 1.0)
        if done != 1.0 and done != demand_factor:
            raise ValueError(f"the shared simulator's demand is already scaled by {done:g}, "
                             f"not {demand_factor:g}")
        if demand_factor != 1.0 and done == 1.0:
            self._scale_demand(float(demand_factor))
            self.sim._env_demand_factor = float(demand_factor)
        self.demand_factor = float(demand_factor)
        self.opponent = make_opponent(opponent, self.default_attacks)
        self.auto_restore_steps = (self.default_auto_restore if auto_restore_steps == "default"
                                   else auto_restore_steps)
        self.min_served_fraction = float(min_served_fraction)
        self.link_ids, self.site_ids = self.sim.link_ids, self.sim.site_ids
        self._seeded = False
        self._hash_keys_last: tuple | None = None
        self._site_up_last: tuple | None = None    # (site states, site_up) of the last view
        self._timeline: LiveTimeline | None = None
        self._renderer = None

    # -- what subclasses define ------------------------------------------------------------
    @abstractmethod
    def _action_events(self, action, t: int) -> list[EventSpec]:
        """The scene events an action makes at step ``t``."""

    @abstractmethod
    def _observe(self, r: StepResult) -> dict[str, np.ndarray]:
        """The observation of a simulated step."""

    @abstractmethod
    def _reward(self, r: StepResult, action, events: list[EventSpec]) -> tuple[float, dict[str, float]]:
        """The reward of a step and its weighted terms."""

    def _action_weights(self, action, t: int):
        """Routing weights an action sets at step ``t``, told as one vector: (link
        positions, weights), or None (the default: actions are events only)."""
        return None

    def _on_reset(self) -> None:
        """Per-episode state of a subclass (called before step 0)."""

    # -- the engine --------------------------------------------------------------------------
    def _scale_demand(self, f: float) -> None:
        try:
            self.sim.scale_base_demand(f)
        except InputError as err:
            raise InputError(self.scene.spec.path, err.problem, "environment", "demand_factor") from None

    @property
    def t(self) -> int:
        """The step last simulated."""
        return self._t

    def _view(self) -> OpponentView:
        last = self._last
        sites = tuple(last.site_state)
        got = self._site_up_last
        if got is None or got[0] != sites:        # kept while the site states repeat
            got = self._site_up_last = (sites, np.array([s == "up" for s in sites], dtype=bool))
        return OpponentView(self.link_ids, self.site_ids, link_in_service(last), last.link_util,
                            got[1].copy(),
                            float(self.scene.spec.traffic.busy_hour_bps) * self.demand_factor,
                            self._surge_sites)

    def _opponent_events(self, t: int) -> list[EventSpec]:
        if self.opponent is None or self._last is None:
            return []
        # the built-in opponent reads its view only when it attacks: made then
        view = LazyView(self._view) if type(self.opponent) is Opponent else self._view()
        return list(self.opponent(t, view, self._opp_rng))

    def _operator_events(self, t: int) -> list[EventSpec]:
        """Restores of links tripped ``auto_restore_steps`` ago (an operator's reset)."""
        n = self.auto_restore_steps
        if n is None or self._last is None:
            return []
        due = [l for l, since in self._tripped_since.items() if t - since >= n]
        return [EventSpec(t, "restore", l) for l in due]

    def _advance(self, action) -> tuple[StepResult, list[EventSpec], list[EventSpec]]:
        t = self._t + 1 if self._last is not None else 0
        weights = None if action is None else self._action_weights(action, t)
        if weights is not None:      # first: as the set_weight events they stand for
            self._timeline.set_weights(t, *weights)
        self._n_weights = 0 if weights is None else len(weights[0])
        mine = [] if action is None else self._action_events(action, t)
        theirs = self._opponent_events(t) + self._operator_events(t)
        self._timeline.add(mine + theirs)
        # the SINR percentiles and throughput p50 are read by no observation, reward or
        # info: computed when the episode is asked for (episode_result), not per step
        r = self.sim.step(self._timeline, t, radio_kpis="later")
        self._t, self._last = t, r
        at = self.sim.link_index
        for l in [l for l in self._tripped_since if r.link_state[at[l]] != "tripped"]:
            self._tripped_since.pop(l)
        for wave in r.waves:                 # a trip (again, after a restore) starts the clock
            for l in wave["tripped"]:
                self._tripped_since[l] = t
        return r, mine, theirs

    def _finish(self, r: StepResult, action, mine, theirs):
        obs = self._observe(r)
        reward, terms = self._reward(r, action, mine)
        k = r.kpis
        offered = k["offered_bps"]
        served_frac = k["served_bps"] / offered if offered > 0 else 1.0
        terminated = bool(served_frac < self.min_served_fraction)
        truncated = bool(self._t >= self.steps - 1) and not terminated
        # the keys' and arrays' bytes (as tobytes() gives them; a large array's digest)
        # and the reward's, in one update: a digest depends on the bytes only, not on
        # how they are split
        parts = []
        for key, raw in self._hash_keys(obs):
            parts += (raw, hash_part(obs[key]))
        parts.append(_F64.pack(reward) if type(reward) is float else np.float64(reward).tobytes())
        self._hash.update(b"".join(parts))
        info = {"t": self._t, "hour": r.hour, "reward_terms": terms,
                # NaN (no radio, no demand) as None, so that infos compare equal
                "kpis": {n: (None if k[n] != k[n] else k[n]) for n in INFO_KPIS},
                "events": list(r.events), "action_events": self._n_weights + len(mine),
                "opponent_events": [f"{e.kind} {e.element}" for e in theirs if e.kind != "restore"]}
        self._record(r, action, reward, theirs)
        if terminated or truncated:
            info["episode_hash"] = self._hash.hexdigest()
        return obs, float(reward), terminated, truncated, info

    def _hash_keys(self, obs: dict) -> list[tuple[str, bytes]]:
        """The observation's keys in sorted order with their UTF-8 bytes (kept per key set)."""
        names = tuple(obs)
        got = self._hash_keys_last
        if got is None or got[0] != names:
            got = self._hash_keys_last = (names, [(k, k.encode()) for k in sorted(obs)])
        return got[1]

    def _record(self, r: StepResult, action, reward: float, theirs) -> None:
        keep = self.keep_demand_arrays
        if keep == "auto":
            keep = r.demand is None or len(r.demand[0]) < KEEP_DEMANDS_MAX
        if not keep and (r.demand_latency_s is not None or r.demand_delivered_bps is not None):
            r = dataclasses.replace(r, demand_latency_s=None, demand_delivered_bps=None)
        self._steps.append(r)
        self._actions.append(None if action is None else np.array(action, copy=True))
        self._rewards.append(float(reward))
        self._attacks.append([f"{e.kind} {e.element}" for e in theirs if e.kind != "restore"])

    def _seed_episode(self, seed: int | None, first_seed: int) -> None:
        """Seed an episode: ``first_seed`` when the first reset gives none; the
        opponent's generator drawn from the environment's."""
        if seed is None and not self._seeded:
            seed = first_seed
        gym.Env.reset(self, seed=seed)
        self._episode_seed, self._seeded = seed, True
        self._opp_rng = np.random.default_rng(int(self.np_random.integers(2**63 - 1)))
        if self.opponent is not None and hasattr(self.opponent, "reset"):
            self.opponent.reset()

    # -- the Gymnasium API -------------------------------------------------------------------
    def reset(self, *, seed: int | None = None, options: dict | None = None):
        """Start a day: the first reset without a seed takes the scene's ``seed``."""
        self._seed_episode(seed, int(self.scene.spec.seed))
        spec = ScenarioSpec("episode", self.steps, self.step_s, self.profile, (),
                            f"{type(self).__name__} episode", self.start_hour)
        self._timeline = LiveTimeline(spec, self.link_ids, self.site_ids,
                                      {s.id: s.state for s in self.sim.twin.sites.values()},
                                      {l: float(self.sim.twin.links[l].capacity_bps) for l in self.link_ids},
                                      {l: float(self.sim.twin.links[l].spare_capacity_bps)
                                       for l in self.link_ids})
        self._t, self._last = 0, None
        self._tripped_since: dict[str, int] = {}
        self._hash = hashlib.sha256()
        self._steps, self._actions, self._rewards, self._attacks = [], [], [], []
        self._surge_sites = [s for s in self.site_ids if self.sim.twin.sites[s].cells] \
            if self.sim.cells else list(self.site_ids)
        self._on_reset()
        r, mine, theirs = self._advance(None)
        obs, reward, _, _, info = self._finish(r, None, mine, theirs)
        return obs, info

    def step(self, action):
        if self._timeline is None:
            raise RuntimeError("call reset() before step()")
        if self._t >= self.steps - 1:
            raise RuntimeError("the episode is over: call reset()")
        r, mine, theirs = self._advance(action)
        return self._finish(r, action, mine, theirs)

    def _snapshot(self) -> dict:
        tl = self._timeline.fork()
        keep = ("_t", "_last", "_tripped_since", "_hash", "_steps", "_actions", "_rewards",
                "_attacks", "_opp_rng", "opponent")
        snap = {k: getattr(self, k) for k in keep}
        snap["_timeline"] = self._timeline
        self._timeline = tl
        self._tripped_since = dict(self._tripped_since)
        self._hash = self._hash.copy()
        self._steps, self._actions = list(self._steps), list(self._actions)
        self._rewards, self._attacks = list(self._rewards), list(self._attacks)
        self._opp_rng = copy.deepcopy(self._opp_rng)
        self.opponent = copy.deepcopy(self.opponent)
        snap.update(self._snapshot_extra())
        return snap

    def _snapshot_extra(self) -> dict:
        return {}

    def simulate(self, action):
        """The next (observation, reward, terminated, truncated, info) for ``action``,
        without changing the environment: a lookahead, as grid2op's ``obs.simulate``.
        The opponent's next move is drawn from a copy of its generator, so it is
        the move :meth:`step` would meet.
        """
        if self._timeline is None:
            raise RuntimeError("call reset() before simulate()")
        if self._t >= self.steps - 1:
            raise RuntimeError("the episode is over: nothing to simulate")
        snap = self._snapshot()
        try:
            return self.step(action)
        finally:
            for k, v in snap.items():
                setattr(self, k, v)

    # -- what an episode leaves ----------------------------------------------------------------
    def episode_result(self) -> ScenarioResult:
        """The episode so far as a scenario result (its events: actions and attacks; its
        steps' KPIs complete, :meth:`~twin3d.sim.engine.StepResult.complete_kpis`)."""
        spec = self._timeline.scenario_spec
        n = len(self._steps)
        spec = ScenarioSpec(spec.name, n, spec.step_s, spec.profile,
                            tuple(e for e in spec.events if e.t < n), spec.description, spec.start_hour)
        maps = {}
        for s in self._steps:           # the simulator keeps its last maps only: recombine the others
            s.complete_kpis()           # the radio KPIs the steps left for later
            if s.radio_key is not None and s.radio_key not in maps:
                maps[s.radio_key] = self.sim.step_radio_map(s)
        return ScenarioResult("episode", spec, self.link_ids, self.site_ids, list(self._steps), maps)

    def save_episode(self, path: str | Path) -> Path:
        """Write the episode as a stage: ``path/twin.usda`` and ``path/scenarios/episode.usda``.

        The episode's actions, rewards and attacks are time-sampled on
        ``/World/Episode``; ``twin3d view path`` replays it. Returns the root.
        """
        from .episode import write_episode
        return write_episode(self, Path(path))

    def render(self):
        """An (H, W, 3) uint8 picture of the network at the last step (``rgb_array``)."""
        if self.render_mode != "rgb_array":
            return None
        if self._last is None:
            raise RuntimeError("call reset() before render()")
        from .render import NetworkRenderer
        if self._renderer is None:
            self._renderer = NetworkRenderer(self.sim)
        return self._renderer.draw(self._last)

    def close(self) -> None:
        if self._renderer is not None:
            self._renderer.close()
            self._renderer = None
