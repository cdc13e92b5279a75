"""EnergySaving for many agents: a PettingZoo Parallel environment, one agent per site.

Each radio site is an agent (named by its site id) that puts its own cells
to sleep. It sees its cells, its site's power and its neighbourhood (the
mean load of the ``n_neighbours`` nearest radio sites' cells), plus the
network's coverage, user throughput and time of day. The reward is the
shared :class:`~twin3d.envs.energy.EnergySavingEnv` reward; each agent's
``infos`` report its local terms (its site's power, its busiest cell's
load, its sleeping cells).
"""

from __future__ import annotations

import functools

import gymnasium as gym
import numpy as np
from pettingzoo import ParallelEnv

from .energy import EnergySavingEnv

__all__ = ["EnergySavingParallelEnv", "energy_saving_parallel_env"]


class EnergySavingParallelEnv(ParallelEnv):
    """One agent per radio site over one :class:`EnergySavingEnv`.

    Parameters
    ----------
    scene : str, Path or Scene
    n_neighbours : int
        Nearest radio sites each agent sees.
    **kw
        Passed to :class:`EnergySavingEnv` (steps, step_s, opponent, ...).

    Examples
    --------
    >>> env = energy_saving_parallel_env(scene="scenes/helsinki.toml")     # doctest: +SKIP
    >>> obs, infos = env.reset(seed=0)  # doctest: +SKIP
    >>> obs, rewards, terms, truncs, infos = env.step({a: env.action_space(a).sample()  # doctest: +SKIP
    ...                                                for a in env.agents})
    """

    metadata = {"name": "twin3d_energy_saving_v0", "render_modes": ["rgb_array"], "render_fps": 4}

    def __init__(self, scene, n_neighbours: int = 3, **kw) -> None:
        self.env = EnergySavingEnv(scene, **kw)
        sim = self.env.sim
        self.render_mode = self.env.render_mode
        self.cell_site = np.array([c.site_id for c in sim.cells])
        self.possible_agents = [s for s in sim.site_ids if (self.cell_site == s).any()]
        self.cells_of = {a: np.flatnonzero(self.cell_site == a) for a in self.possible_agents}
        xy = np.array([sim.twin.sites[a].xyz_m[:2] for a in self.possible_agents])
        d = np.linalg.norm(xy[:, None] - xy[None], axis=-1)
        k = min(int(n_neighbours), len(self.possible_agents) - 1)
        order = np.argsort(d, axis=1, kind="stable")[:, 1:k + 1]
        self.neighbours = {a: [self.possible_agents[j] for j in order[i]]
                           for i, a in enumerate(self.possible_agents)}
        self.site_index = {s: i for i, s in enumerate(sim.site_ids)}
        self.agents: list[str] = []

    @functools.lru_cache(maxsize=None)
    def observation_space(self, agent: str) -> gym.spaces.Dict:
        n, k = len(self.cells_of[agent]), len(self.neighbours[agent])
        box = lambda shape, high=np.inf: gym.spaces.Box(0.0, high, shape, np.float32)  # noqa: E731
        return gym.spaces.Dict({"cell_load": box((n,)), "cell_served_bps": box((n,)),
                                "cell_asleep": box((n,), 1.0), "site_power_w": box((1,)),
                                "neighbour_load": box((k,)), "coverage_pct": box((1,), 100.0),
                                "throughput_p5_bps": box((1,)), "hour": box((1,), 24.0)})

    @functools.lru_cache(maxsize=None)
    def action_space(self, agent: str) -> gym.spaces.MultiBinary:
        return gym.spaces.MultiBinary(len(self.cells_of[agent]))

    def _split(self, obs: dict) -> dict:
        out = {}
        for a in self.agents:
            c = self.cells_of[a]
            nb = [float(obs["cell_load"][self.cells_of[b]].mean()) for b in self.neighbours[a]]
            out[a] = {"cell_load": obs["cell_load"][c], "cell_served_bps": obs["cell_served_bps"][c],
                      "cell_asleep": obs["cell_asleep"][c],
                      "site_power_w": obs["site_power_w"][[self.site_index[a]]],
                      "neighbour_load": np.array(nb, dtype=np.float32),
                      "coverage_pct": obs["coverage_pct"], "throughput_p5_bps": obs["throughput_p5_bps"],
                      "hour": obs["hour"]}
        return out

    def _infos(self, obs: dict, info: dict) -> dict:
        return {a: {"shared": info["reward_terms"],
                    "local": {"site_power_w": float(obs["site_power_w"][self.site_index[a]]),
                              "cell_load_max": float(obs["cell_load"][self.cells_of[a]].max()),
                              "cells_asleep": int(obs["cell_asleep"][self.cells_of[a]].sum())}}
                for a in self.agents}

    def reset(self, seed: int | None = None, options: dict | None = None):
        obs, info = self.env.reset(seed=seed, options=options)
        self.agents = list(self.possible_agents)
        return self._split(obs), self._infos(obs, info)

    def step(self, actions: dict):
        a = np.zeros(len(self.cell_site), dtype=np.int8)
        for agent, act in actions.items():
            a[self.cells_of[agent]] = np.asarray(act, dtype=np.int8)
        obs, reward, terminated, truncated, info = self.env.step(a)
        out, infos = self._split(obs), self._infos(obs, info)
        rewards = {ag: reward for ag in self.agents}
        terms = {ag: terminated for ag in self.agents}
        truncs = {ag: truncated for ag in self.agents}
        if terminated or truncated:
            self.agents = []
        return out, rewards, terms, truncs, infos

    def simulate(self, actions: dict):
        """The next step for ``actions`` without changing the environment (a lookahead)."""
        a = np.zeros(len(self.cell_site), dtype=np.int8)
        for agent, act in actions.items():
            a[self.cells_of[agent]] = np.asarray(act, dtype=np.int8)
        return self.env.simulate(a)

    def render(self):
        return self.env.render()

    def close(self) -> None:
        self.env.close()

    def state(self) -> np.ndarray:
        """The global state: every cell's load, asleep flag and served traffic."""
        r = self.env._last
        return np.concatenate([r.cell_load, [c in r.cell_sleep for c in self.env.cell_ids],
                               r.cell_served_bps]).astype(np.float32)


def energy_saving_parallel_env(scene, **kw) -> EnergySavingParallelEnv:
    """The PettingZoo Parallel EnergySaving environment (see :class:`EnergySavingParallelEnv`)."""
    return EnergySavingParallelEnv(scene, **kw)
