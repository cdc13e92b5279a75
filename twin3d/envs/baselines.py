"""Baseline agents: a seeded random agent and one heuristic per environment.

Each agent has ``act(obs, info) -> action`` and ``reset()``; :func:`run_episode`
plays one episode and returns its total reward. The heuristics are what an
operator would script without learning:

* :class:`TEHeuristic`: inverse-capacity weights (OSPF's reference
  bandwidth rule), then local re-weighting: the busiest link above ``hot``
  utilization climbs one rung of the ladder, links below ``cool`` step
  back down toward their inverse-capacity rung.
* :class:`ESHeuristic`: sleep cells whose load is below ``sleep_below``
  (a sleeping cell judged by its site's awake cells) while its site keeps
  a cell awake; with ``lookahead`` (the default), ``env.simulate`` scores
  the proposals at 1, 2, 4 and 8 times that threshold and every cell
  awake, and the best is taken; without it, a step after a coverage or
  throughput breach wakes every cell and halves the threshold.
* :class:`FRHeuristic`: a one-step lookahead over the useful repairs
  (restore tripped links, light spares, undo avoids, sheds and reroutes,
  avoid the hottest links, shed the largest pairs, reroute the largest
  pairs that have a detour), each tried with ``env.simulate``; the best
  reward wins, no-op included.
"""

from __future__ import annotations

import numpy as np

__all__ = ["RandomAgent", "TEHeuristic", "ESHeuristic", "FRHeuristic", "heuristic_for", "run_episode"]


class RandomAgent:
    """Uniform random actions from the action space, seeded."""

    def __init__(self, action_space, seed: int = 0) -> None:
        self.space = action_space
        self.space.seed(int(seed))

    def reset(self) -> None:
        pass

    def act(self, obs, info):
        return self.space.sample()


class TEHeuristic:
    """Inverse-capacity weights with local re-weighting of hot links (TrafficEngineering).

    Each step the busiest link above ``hot`` utilization climbs one rung of
    the ladder (one link at a time, so traffic does not swing back and
    forth between two links), and every link below ``cool`` that sits above
    its inverse-capacity rung steps one rung back down.
    """

    def __init__(self, env, hot: float = 0.9, cool: float = 0.5) -> None:
        env = env.unwrapped
        self.ladder, self.hot, self.cool = env.ladder, float(hot), float(cool)
        cap = np.array([env.sim.twin.links[l].capacity_bps for l in env.link_ids], dtype=float)
        finite = np.isfinite(cap) & (cap > 0)
        cap = np.where(finite, cap, cap[finite].max() if finite.any() else 1.0)
        want = cap.max() / cap                      # reference bandwidth / capacity, >= 1
        self.base = np.abs(self.ladder[None, :] - want[:, None]).argmin(axis=1)
        self.reset()

    def reset(self) -> None:
        self.rung = self.base.copy()

    def act(self, obs, info):
        util = np.asarray(obs["link_util"], dtype=float)
        up = np.asarray(obs["link_up"]) > 0
        hot = np.zeros(len(util), dtype=np.int64)
        if (up & (util > self.hot)).any():
            hot[np.argmax(np.where(up, util, -np.inf))] = 1
        cool = up & (util < self.cool) & (self.rung > self.base)
        self.rung = np.clip(self.rung + hot - cool, 0, len(self.ladder) - 1)
        return self.rung.copy()


class ESHeuristic:
    """Sleep lightly loaded cells (EnergySaving).

    Cells whose load is below a threshold sleep; every site keeps its
    busiest cell awake. With ``lookahead`` (the default) the heuristic asks
    :meth:`~twin3d.envs.base.TwinEnv.simulate` for the reward of the
    proposals at ``sleep_below`` x 1, 2, 4 and 8 and of every cell awake,
    and takes the best: an SLA term that every cell awake breaches too (a
    scene whose coverage is short at any hour) then costs nothing to sleep
    against. Without it, a step after a coverage or throughput breach wakes
    every cell and halves the threshold.
    """

    #: Multiples of ``sleep_below`` the lookahead tries.
    LOOKAHEAD_SCALES = (1.0, 2.0, 4.0, 8.0)

    def __init__(self, env, sleep_below: float = 0.05, lookahead: bool = True) -> None:
        env = env.unwrapped
        self.env = env if lookahead else None
        self.sleep_below0 = float(sleep_below)
        self.site_of = np.array([c.site_id for c in env.sim.cells])
        self.reset()

    def reset(self) -> None:
        self.sleep_below = self.sleep_below0

    def proposal(self, obs, sleep_below: float) -> np.ndarray:
        """The cells to sleep at a load threshold (1 asleep), each site keeping its busiest awake."""
        load = np.asarray(obs["cell_load"], dtype=float).copy()
        asleep = np.asarray(obs["cell_asleep"]) > 0
        for s in np.unique(self.site_of):
            mine = np.flatnonzero(self.site_of == s)
            awake = mine[~asleep[mine]]
            # a sleeping cell's users are on its site's awake cells: judge it by theirs
            load[mine[asleep[mine]]] = load[awake].mean() if len(awake) else np.inf
        sleep = load < sleep_below
        for s in np.unique(self.site_of):           # every site keeps its busiest cell awake
            mine = np.flatnonzero(self.site_of == s)
            if sleep[mine].all():
                sleep[mine[np.argmax(load[mine])]] = False
        return sleep.astype(np.int8)

    def act(self, obs, info):
        awake = np.zeros(len(self.site_of), dtype=np.int8)
        if self.env is None:
            terms = info.get("reward_terms", {})
            if terms.get("coverage", 0.0) < 0 or terms.get("throughput", 0.0) < 0:
                self.sleep_below /= 2.0             # breached: wake everything for a step
                return awake
            return self.proposal(obs, self.sleep_below)
        best, best_reward = awake, self.env.simulate(awake)[1]
        seen = {awake.tobytes()}
        for scale in self.LOOKAHEAD_SCALES:
            p = self.proposal(obs, self.sleep_below * scale)
            if p.tobytes() in seen:
                continue
            seen.add(p.tobytes())
            reward = self.env.simulate(p)[1]
            if reward > best_reward:                # ties keep the earlier (more awake) set
                best, best_reward = p, reward
        return best


class FRHeuristic:
    """Greedy one-step lookahead over the useful repairs (FaultRecovery)."""

    def __init__(self, env, n_hot: int = 2, n_shed: int = 2, n_reroute: int = 2) -> None:
        self.env, self.n_hot, self.n_shed = env.unwrapped, int(n_hot), int(n_shed)
        self.n_reroute = int(n_reroute)

    def reset(self) -> None:
        pass

    def candidates(self, obs, info) -> list[int]:
        env, mask = self.env, info["action_mask"]
        menu = env.menu
        keep = [0]
        n_reroute = self.n_reroute         # the largest pairs first (menu order)
        hot = [env.link_ids[i] for i in np.argsort(-np.asarray(obs["link_util"]), kind="stable")[:self.n_hot]]
        shed = [f"{s}->{d}" for s, d in env.pairs[:self.n_shed]]
        for a, (verb, el) in enumerate(menu):
            if not mask[a] or a == 0:
                continue
            if verb in ("restore", "spare", "unavoid", "unshed", "unreroute", "wake") or \
                    (verb == "avoid" and el in hot) or (verb == "shed" and el in shed):
                keep.append(a)
            elif verb == "reroute" and n_reroute > 0:
                n_reroute -= 1
                keep.append(a)
        return keep

    def act(self, obs, info):
        best, best_r = 0, -np.inf
        for a in self.candidates(obs, info):
            r = self.env.simulate(a)[1]
            if r > best_r + 1e-12:
                best, best_r = a, r
        return best


def heuristic_for(env):
    """The heuristic agent of an environment (by its class)."""
    from .energy import EnergySavingEnv
    from .recovery import FaultRecoveryEnv
    from .traffic import TrafficEngineeringEnv
    u = env.unwrapped
    if isinstance(u, TrafficEngineeringEnv):
        return TEHeuristic(env)
    if isinstance(u, EnergySavingEnv):
        return ESHeuristic(env)
    if isinstance(u, FaultRecoveryEnv):
        return FRHeuristic(env)
    raise TypeError(f"no heuristic for {type(u).__name__}")


def run_episode(env, agent, seed: int | None = None) -> float:
    """Play one episode; its total reward."""
    obs, info = env.reset(seed=seed)
    agent.reset()
    total, done = 0.0, False
    while not done:
        obs, r, terminated, truncated, info = env.step(agent.act(obs, info))
        total += r
        done = terminated or truncated
    return total
