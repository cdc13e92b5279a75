"""``make_vec``: TrafficEngineering for B copies of a network, stepped at once.

:class:`BatchedTrafficEngineering` is a ``gymnasium.vector.VectorEnv`` whose
copies share one scene and step together in
:class:`~twin3d.physics.batch_step.BatchRouter`, one compiled call for the
whole batch (cascade, latency, tail drop), instead of B Python simulators.
Each copy is exactly :class:`~twin3d.envs.traffic.TrafficEngineeringEnv`
with the same seed: the same opponent, the same operator restores, the same
KPIs (``transport_kpis`` row by row), observations and rewards, bit for bit
(tests compare them). It covers what TrafficEngineering's opponent does in
a transport scene: ``fiber_cut``, ``site_outage`` and ``power_outage``
(surges and DDoS need the full simulator: use ``gymnasium.make_vec`` with
``vectorization_mode="sync"`` for those).

A copy whose episode ends is reset in the same step: its new first
observation is returned, and the last one is in ``infos["final_obs"]``
(``autoreset_mode`` SAME_STEP).
"""

from __future__ import annotations

import hashlib
import time

import gymnasium as gym
import numpy as np
from gymnasium.vector import AutoresetMode, VectorEnv

from ..physics.batch_step import BatchRouter
from ..physics.threads import ThreadChoice
from ..sim.demand import profile_factor
from .base import HASH_DIGEST_MIN_BYTES, hash_part
from .opponent import Opponent
from .traffic import TrafficEngineeringEnv
from .vector_events import NEVER, CopyEvents
from .vector_rows import StepHasher, row_percentiles
from .vector_score import score_rows

__all__ = ["BatchedTrafficEngineering", "make_vec", "row_percentiles"]

_BATCH_ATTACKS = ("fiber_cut", "site_outage", "power_outage")


class BatchedTrafficEngineering(CopyEvents, VectorEnv):
    """B copies of TrafficEngineering on one scene, stepped in one compiled call.

    Parameters
    ----------
    num_envs : int
        Copies B.
    parallel : bool or "auto"
        Step the copies, and their latency percentiles, on numba's threads
        (the same results); "auto": from :data:`THREADS_MIN_COPIES` copies
        on, when numba has :data:`PARALLEL_MIN_THREADS` threads or more,
        decided each step by the measured time of a step in each mode
        (:class:`twin3d.physics.threads.ThreadChoice`).
    scene, **kw
        As :class:`~twin3d.envs.traffic.TrafficEngineeringEnv` (one copy is
        built to hold the scene, simulator, spaces and reward).

    Examples
    --------
    >>> envs = make_vec("twin3d/TrafficEngineering-v0", num_envs=64,          # doctest: +SKIP
    ...                 scene="scenes/topologyzoo/Abilene.toml")
    >>> obs, infos = envs.reset(seed=0)  # doctest: +SKIP
    >>> obs, rewards, terminated, truncated, infos = envs.step(envs.action_space.sample())  # doctest: +SKIP
    """

    metadata = {"autoreset_mode": AutoresetMode.SAME_STEP, "render_modes": []}

    def __init__(self, num_envs: int, scene, parallel: bool | str = "auto", **kw) -> None:
        if kw.get("render_mode") is not None:
            raise ValueError("the batched engine does not render; render one copy instead")
        self.num_envs = int(num_envs)
        if self.num_envs < 1:
            raise ValueError(f"num_envs must be >= 1, got {num_envs}")
        # one template copy holds the scene and its definitions; each copy gets its own opponent
        self.copies = [TrafficEngineeringEnv(scene, **kw)]
        proto = self.copies[0]
        if proto.sim.cells:
            raise ValueError("the batched engine covers transport-only scenes "
                             f"(scene '{proto.scene.name}' has radio cells): use "
                             "gymnasium.make_vec(..., vectorization_mode='sync')")
        self.copies += [TrafficEngineeringEnv(scene=proto.scene, simulator=proto.sim, **kw)
                        for _ in range(self.num_envs - 1)]
        for c in self.copies:
            kinds = getattr(c.opponent, "kinds", _BATCH_ATTACKS) if c.opponent is not None else ()
            if not callable(c.opponent) and c.opponent is not None or \
                    any(k not in _BATCH_ATTACKS for k in kinds):
                raise ValueError(f"the batched engine plays {', '.join(_BATCH_ATTACKS)} attacks; "
                                 f"got {', '.join(kinds)}")
        sim = proto.sim
        self.proto, self.sim = proto, sim
        self.single_action_space = proto.action_space
        self.single_observation_space = proto.observation_space
        self.action_space = gym.vector.utils.batch_space(proto.action_space, self.num_envs)
        self.observation_space = gym.vector.utils.batch_space(proto.observation_space, self.num_envs)
        self.src, self.dst, self.base_bps = sim.base_demand_arrays()
        #: decide threads or not each step by their measured time (``parallel="auto"``)
        self._choice = ThreadChoice() if parallel == "auto" and _threads_may_pay(self.num_envs) \
            else None
        self.engine = BatchRouter(sim.router, self.src, self.dst, sim.scene.spec.traffic.routing,
                                  parallel=False if parallel == "auto" else bool(parallel))
        self.cap = np.array([sim.twin.links[l].capacity_bps for l in sim.link_ids], dtype=float)
        self.node_site = [sim.site_index[n] for n in sim.router.nodes]
        n = sim.router.n_nodes
        #: (n * n,) the base demand laid out as the observation's matrix (the pairs are distinct)
        self._base_matrix = np.zeros(n * n)
        self._base_matrix[self.src * n + self.dst] = self.base_bps
        self._busy_bps = float(sim.scene.spec.traffic.busy_hour_bps) * proto.demand_factor
        self._opponents = [c.opponent for c in self.copies]
        # the built-in opponent's busy steps are skipped without a call (see _play_events)
        self._plain = [type(o) is Opponent for o in self._opponents]
        self._cap32 = self.cap.astype(np.float32)
        self._t_cache: dict[int, tuple[float, float]] = {}      # step -> (hour, profile factor)
        self._matrix32: dict[float, np.ndarray] = {}            # factor -> float32 demand matrix
        self._matrix_digest: dict[float, bytes] = {}            # factor -> its SHA-256 digest
        self._hasher = StepHasher()
        self._bps_rows: np.ndarray | None = None                # a full step's demand rows
        #: (factor, its demand row, the row's values are valid engine inputs)
        self._bps_row: tuple[float, np.ndarray, bool] = (np.nan, self.base_bps, False)
        # capacities and every rung's weights are fixed: checked here once, so that a
        # step whose demand row is checked too need not have the engine check each copy
        lw = proto.ladder[:, None] * proto.base_weight[None, :]
        self._fixed_valid = bool(np.all(self.cap >= 0.0) and np.all((lw > 0.0) & (lw < np.inf)))
        w, sla = proto.reward_weights, sim.scene.spec.sla
        #: score_rows's fixed arguments: the reward weights, util_max, the p95 SLA, min served
        self._score_consts = ((float(w["served"]), float(w["drop"]), float(w["util"]),
                               float(w["latency"])), float(sla.util_max),
                              float(sla.latency_p95_ms), float(proto.min_served_fraction))
        aliases = [(i, sim.site_index[l]) for i, l in enumerate(sim.link_ids) if l in sim.site_index]
        self._link_is_site = (np.array([i for i, _ in aliases], dtype=np.int64),
                              np.array([j for _, j in aliases], dtype=np.int64))

    # -- per copy state ------------------------------------------------------------------------
    def _reset_copy(self, b: int, seed: int | None):
        c = self.copies[b]
        c._seed_episode(seed, int(c.scene.spec.seed) + b)
        self._t[b] = 0
        self._cut[b] = False
        self._tripped[b] = False
        self._trip_at[b] = -1
        self._site_down[b] = False
        self._rung[b] = 0
        self._last_util[b] = 0.0
        self._last_link_ok[b] = True
        self._hash[b] = hashlib.sha256()
        self._pending[b] = []           # restores the last episode scheduled die with it
        self._pending_t[b] = NEVER

    # -- the VectorEnv API ---------------------------------------------------------------------
    def reset(self, *, seed: int | list | None = None, options: dict | None = None):
        nb, nl, ns = self.num_envs, len(self.sim.link_ids), len(self.sim.site_ids)
        self._t = np.zeros(nb, dtype=np.int64)
        self._cut = np.zeros((nb, nl), bool)
        self._tripped = np.zeros((nb, nl), bool)
        self._trip_at = np.full((nb, nl), -1, dtype=np.int64)
        self._site_down = np.zeros((nb, ns), bool)
        self._rung = np.zeros((nb, nl), dtype=np.int64)
        self._last_util = np.zeros((nb, nl))
        self._last_link_ok = np.ones((nb, nl), bool)
        self._hash = [None] * nb
        self._pending = [[] for _ in range(nb)]
        self._pending_t = [NEVER] * nb
        seeds = seed if isinstance(seed, (list, tuple)) else \
            [None if seed is None else int(seed) + b for b in range(nb)]
        for b in range(nb):
            self._reset_copy(b, seeds[b])
        started = np.zeros(nb, bool)
        obs, rewards, terminated, truncated, infos = self._step_all(None, started)
        return obs, infos

    def step(self, actions):
        actions = np.ascontiguousarray(actions, dtype=np.int64)
        if actions.shape != (self.num_envs, len(self.sim.link_ids)):
            raise ValueError(f"actions must have shape {(self.num_envs, len(self.sim.link_ids))}")
        ladder = self.proto.ladder
        # both bounds in one reduction: as uint64 a negative rung is past the last one
        if actions.size and np.maximum.reduce(actions.view(np.uint64), axis=None) >= len(ladder):
            raise ValueError(f"actions must be rungs in [0, {len(ladder) - 1}]")
        self._t += 1
        choice = self._choice
        if choice is not None:          # the same results either way; the clock decides
            self.engine.parallel = choice.choose()
            start_s = time.perf_counter()
        obs, rewards, terminated, truncated, infos = self._step_all(actions, np.ones(self.num_envs, bool))
        done = terminated | truncated
        if done.any():
            final_obs = {k: v.copy() for k, v in obs.items()}
            infos["final_obs"] = np.array([{k: final_obs[k][b] for k in final_obs} if done[b] else None
                                           for b in range(self.num_envs)], dtype=object)
            infos["_final_obs"] = done.copy()
            infos["episode_hash"] = np.array([h.hexdigest() if d else "" for h, d in zip(
                self._final_hash, done)], dtype=object)
            infos["_episode_hash"] = done.copy()
            for b in np.flatnonzero(done):
                self._reset_copy(int(b), None)
            again = np.zeros(self.num_envs, bool)
            new_obs, _, _, _, _ = self._step_all(None, again, only=done)
            for k in obs:
                obs[k][done] = new_obs[k][done]
        if choice is not None:      # per copy stepped, an autoreset's first steps counted too
            choice.record(self.engine.parallel, time.perf_counter() - start_s,
                          self.num_envs + int(np.count_nonzero(done)))
        return obs, rewards, terminated, truncated, infos

    def _hours_factors(self, rows: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        """(hours, profile factors) of the copies (``rows``; None: all), each step's worked
        out once by the same numpy expressions (elementwise: the same bits for any row)."""
        proto, cache = self.proto, self._t_cache
        ts = self._t.tolist() if rows is None else self._t[rows].tolist()
        for t in set(ts) - cache.keys():
            hour = proto.start_hour + np.array([t], dtype=np.int64) * proto.step_s / 3600.0
            cache[t] = (float(hour[0]), float(profile_factor(hour, proto.profile)[0]))
        if _all_same(ts):                       # the copies in step, as usual
            h, f = cache[ts[0]]
            return np.full(len(ts), h), np.full(len(ts), f)
        got = [cache[t] for t in ts]
        return np.array([g[0] for g in got]), np.array([g[1] for g in got])

    def _step_all(self, actions, started, only=None):
        nb, sim, proto = self.num_envs, self.sim, self.proto
        full = only is None
        rows = np.arange(nb) if full else np.flatnonzero(only)
        sel = slice(None) if full else rows        # every copy: views, not copies
        if actions is not None:
            self._rung = actions.copy()
        self._play_events(rows.tolist(), started)
        hours, factor = self._hours_factors(None if full else rows)
        # the demand rows live for this step only (the engine's demand_bps, read by _score):
        # copies in step share one row (the engine reads it for each: one row stays in the
        # first-level cache, and nothing is copied); else one buffer for every full step
        if full:
            if self._bps_rows is None:
                self._bps_rows = np.empty((nb, len(self.base_bps)))
            fl = factor.tolist()
            if _all_same(fl):               # copies in step: one row (the product of the
                row = self._bps_row         # whole batch would give the same bits)
                if row[0] != fl[0]:
                    r = self.base_bps * fl[0]
                    row = self._bps_row = (fl[0], r, bool(np.all((r >= 0.0) & (r < np.inf))))
                bps = row[1].reshape(1, -1)
                vouch = self._fixed_valid and row[2]
            else:
                bps = np.multiply(self.base_bps[None, :], factor[:, None], out=self._bps_rows)
                vouch = False
        else:
            bps = self.base_bps[None, :] * factor[:, None]
            vouch = False
        node_up = ~self._site_down[:, self.node_site][sel]
        link_up = ~(self._cut[sel] | self._tripped[sel])
        weight = proto.ladder[self._rung[sel]] * proto.base_weight[None, :]
        res = self.engine.step(bps, link_up, node_up,
                               np.broadcast_to(self.cap, (len(rows), len(self.cap))),
                               weight, sim.scene.spec.traffic.trip_utilization, copy_demand=False,
                               check=not vouch)
        obs_rows, rewards, terminated, truncated = self._score(rows, res, bps, link_up, hours, factor)
        self._final_hash = self._hasher.update(self._hash, rows.tolist(), obs_rows, rewards,
                                               self._shared_digests(factor))
        # trips hold from the next step, until restored
        newly = res.tripped
        if full:
            np.copyto(self._trip_at, self._t[:, None], where=newly)
            self._tripped |= newly
        else:
            self._trip_at[sel] = np.where(newly, self._t[sel, None], self._trip_at[sel])
            self._tripped[sel] |= newly
        self._last_util[sel] = res.link_util
        self._last_link_ok[sel] = link_up & res.link_up_after
        flags = np.ones(nb, bool)
        infos = {"t": self._t.copy(), "_t": flags, "_served_bps": flags.copy(),
                 "_dropped_bps": flags.copy(), "_reward_terms": flags.copy()}
        if full:                # every copy stepped: the rows are the batch
            infos["served_bps"], infos["dropped_bps"] = self._served, self._dropped
            infos["reward_terms"] = self._terms
            return obs_rows, rewards, terminated, truncated, infos
        obs = {k: np.zeros((nb, *v.shape[1:]), np.float32) for k, v in obs_rows.items()}
        for k, v in obs_rows.items():
            obs[k][rows] = v
        r_all = np.zeros(nb)
        te, tr = np.zeros(nb, bool), np.zeros(nb, bool)
        r_all[rows], te[rows], tr[rows] = rewards, terminated, truncated
        infos["served_bps"], infos["dropped_bps"] = np.zeros(nb), np.zeros(nb)
        infos["served_bps"][rows] = self._served
        infos["dropped_bps"][rows] = self._dropped
        infos["reward_terms"] = {k: np.zeros(nb) for k in self._terms}
        for k, v in self._terms.items():
            infos["reward_terms"][k][rows] = v
        return obs, r_all, te, tr, infos

    def _offered(self, bps: np.ndarray, factors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(rows,) offered bit/s: the simulator's sum per factor (term by term), and the
        (rows,) numpy sums of the demand rows (``BatchStepResult.lost_bps``'s first
        term), one of each per distinct factor (the rows of one factor are equal)."""
        fl = factors.tolist()
        if _all_same(fl):
            return (np.full(len(fl), self.sim.offered_at(fl[0], bps[0])),
                    np.full(len(fl), np.add.reduce(bps[0])))
        first = {}
        for i, f in enumerate(fl):
            first.setdefault(f, i)
        sums = {f: (self.sim.offered_at(f, bps[i]), np.add.reduce(bps[i])) for f, i in first.items()}
        return np.array([sums[f][0] for f in fl]), np.array([sums[f][1] for f in fl])

    def _demand_obs(self, factors: np.ndarray, res) -> dict[str, np.ndarray]:
        """The demand observation of the rows: each pair's base bit/s times the copy's
        factor as bps is made (0 times the factor elsewhere), in float32; made once per
        factor (a day has a few dozen)."""
        n, fl = self.sim.router.n_nodes, factors.tolist()
        matrix = "demand_bps" in self.proto.observation_space.spaces
        cache = self._matrix32
        for i, f in enumerate(fl):
            if f not in cache:
                if len(cache) > 4096:
                    cache.clear()
                if matrix:
                    cache[f] = (self._base_matrix * f).astype(np.float32).reshape(n, n)
                else:               # the demand rows are bps itself: base bit/s times f
                    d = res.demand_bps[i]
                    cache[f] = (np.bincount(self.src, d, minlength=n).astype(np.float32),
                                np.bincount(self.dst, d, minlength=n).astype(np.float32))
        same = _all_same(fl)
        if matrix:
            if same:
                return {"demand_bps": np.broadcast_to(cache[fl[0]], (len(fl), n, n)).copy()}
            return {"demand_bps": np.stack([cache[f] for f in fl])}
        if same:
            o, i = cache[fl[0]]
            return {"node_out_bps": np.broadcast_to(o, (len(fl), n)).copy(),
                    "node_in_bps": np.broadcast_to(i, (len(fl), n)).copy()}
        return {"node_out_bps": np.stack([cache[f][0] for f in fl]),
                "node_in_bps": np.stack([cache[f][1] for f in fl])}

    def _shared_digests(self, factors: np.ndarray) -> dict[str, bytes] | None:
        """The episode hash's digest of the demand matrix every row shares (copies at
        one factor), for :meth:`StepHasher.update`, worked out once per factor; None
        when the rows differ or the matrix is hashed by its bytes."""
        fl = factors.tolist()
        if "demand_bps" not in self.proto.observation_space.spaces or not _all_same(fl):
            return None
        matrix = self._matrix32[fl[0]]              # made by _demand_obs this step
        if matrix.nbytes < HASH_DIGEST_MIN_BYTES:
            return None
        got = self._matrix_digest.get(fl[0])
        if got is None:
            if len(self._matrix_digest) > 4096:
                self._matrix_digest.clear()
            got = self._matrix_digest[fl[0]] = hash_part(matrix)
        return {"demand_bps": got}

    def _score(self, rows, res, bps, link_up, hours, factors):
        """Observations, rewards and ends of the stepped rows, as the single env computes them."""
        proto = self.proto
        lat = row_percentiles(res.latency_s, [50, 95], bps,      # (res.demand_bps's values)
                              parallel=self.engine.parallel) * 1e3
        offered, demand_sum = self._offered(bps, factors)
        delivered_sum = np.add.reduce(res.delivered_bps, axis=1)    # res.lost_bps's second term
        rewards, terms, served, dropped, terminated, link_obs = score_rows(
            offered, demand_sum, delivered_sum, res.link_util, res.link_load_bps, link_up,
            res.link_up_after, self._rung if len(rows) == self.num_envs else self._rung[rows],
            lat, hours, *self._score_consts)
        self._terms = dict(zip(("served", "drop", "util", "latency"), terms))
        self._served, self._dropped = served, dropped
        util32, load32, up32, rung32, lat32, hour32 = link_obs
        obs = {"link_util": util32, "link_load_bps": load32,
               "link_capacity_bps": np.broadcast_to(self._cap32, util32.shape).copy(),
               "link_up": up32, "link_weight_rung": rung32, "latency_ms": lat32, "hour": hour32}
        obs.update(self._demand_obs(factors, res))
        truncated = (self._t[rows] >= proto.steps - 1) & ~terminated
        return obs, rewards, terminated, truncated


#: Copies from which ``parallel="auto"`` may step them on numba's threads.
THREADS_MIN_COPIES = 16
#: Numba threads from which ``parallel="auto"`` may step the copies on threads.
PARALLEL_MIN_THREADS = 2


def _threads_may_pay(num_envs: int) -> bool:
    """Threads for :data:`THREADS_MIN_COPIES` copies or more on
    :data:`PARALLEL_MIN_THREADS` threads or more; each step's mode is then
    chosen by :class:`~twin3d.physics.threads.ThreadChoice`. Either mode can
    win on 2 shared cores: Geant2012 B=64 stepped at 30 µs per copy on
    threads against 57 serially on a quiet machine (2026-12-02, load 0.8), and
    at 263 against 179 at a load of about 4; Abilene at 3,910 env-steps/s
    against 14,986 at a load of about 7."""
    import numba
    return num_envs >= THREADS_MIN_COPIES and numba.get_num_threads() >= PARALLEL_MIN_THREADS


def _all_same(xs: list) -> bool:
    """Whether a non-empty list holds one value (the copies' steps or factors, most steps).

    Examples
    --------
    >>> _all_same([0.5, 0.5, 0.5]), _all_same([3, 4, 3])
    (True, False)
    """
    return xs.count(xs[0]) == len(xs)


def make_vec(env_id: str, num_envs: int, **kw):
    """A vector env of ``env_id``: TrafficEngineering on the batched engine, others synchronous.

    ``twin3d/TrafficEngineering-v0`` on a transport-only scene gives a
    :class:`BatchedTrafficEngineering`; any other environment (or a radio
    scene) gives ``gymnasium.make_vec(env_id, num_envs, vectorization_mode="sync")``.
    """
    if env_id == "twin3d/TrafficEngineering-v0":
        try:
            return BatchedTrafficEngineering(num_envs, **kw)
        except ValueError as err:
            if "radio cells" not in str(err):
                raise
    return gym.make_vec(env_id, num_envs=num_envs, vectorization_mode="sync", vector_kwargs={},
                        **kw)
