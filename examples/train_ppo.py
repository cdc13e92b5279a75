"""Train stable-baselines3 PPO on TrafficEngineering and plot it against the baselines.

Needs the ``[rl]`` extra (``pip install -e ".[rl]"``; torch on the CPU is
enough). The environment is ``twin3d/TrafficEngineering-v0`` on a bundled
backbone (default Abilene), a day of 24 one-hour steps at ``--demand-factor``
times the scene's demand, with the default opponent (fibre cuts) and
cascades; training runs on the batched engine (``twin3d.envs.make_vec``)
through :class:`twin3d.envs.sb3.SB3VecEnv`, observations and rewards
normalised by ``VecNormalize``.

Every ``--eval-every`` steps the deterministic policy plays the evaluation
seeds; the random agent and the heuristic (inverse-capacity weights with
local re-weighting of hot links) play the same seeds once. The script
writes the learning curve (PNG) and the figures (JSON), and prints whether
PPO beat the heuristic.

Usage::

    python3 examples/train_ppo.py [--timesteps 300000] [--scene scenes/topologyzoo/Abilene.toml]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import gymnasium as gym  # noqa: E402
import stable_baselines3  # noqa: E402
import torch  # noqa: E402
from stable_baselines3 import PPO  # noqa: E402
from stable_baselines3.common.callbacks import BaseCallback  # noqa: E402
from stable_baselines3.common.vec_env import VecMonitor, VecNormalize  # noqa: E402

import twin3d.envs  # noqa: E402,F401
from twin3d.envs import make_vec  # noqa: E402
from twin3d.envs.baselines import RandomAgent, TEHeuristic, run_episode  # noqa: E402
from twin3d.envs.sb3 import SB3VecEnv  # noqa: E402


def env_kwargs(args) -> dict:
    return dict(scene=args.scene, steps=24, step_s=3600.0, demand_factor=args.demand_factor)


def evaluate_policy(model, norm: VecNormalize, args) -> float:
    """Mean total reward of the deterministic policy over the evaluation seeds."""
    seeds = list(range(10_000, 10_000 + args.eval_episodes))
    venv = make_vec("twin3d/TrafficEngineering-v0", num_envs=len(seeds), **env_kwargs(args))
    sb = SB3VecEnv(venv)
    obs, _ = venv.reset(seed=seeds)
    flat = sb._flat(obs)
    total = np.zeros(len(seeds))
    alive = np.ones(len(seeds), bool)
    while alive.any():
        action, _ = model.predict(norm.normalize_obs(flat), deterministic=True)
        obs, reward, term, trunc, _ = venv.step(action)
        total += np.where(alive, reward, 0.0)
        alive &= ~(term | trunc)
        flat = sb._flat(obs)
    return float(total.mean())


def baselines(args) -> dict[str, float]:
    env = gym.make("twin3d/TrafficEngineering-v0", **env_kwargs(args))
    seeds = range(10_000, 10_000 + args.eval_episodes)
    return {"random": float(np.mean([run_episode(env, RandomAgent(env.action_space, s), seed=s)
                                      for s in seeds])),
            "heuristic": float(np.mean([run_episode(env, TEHeuristic(env), seed=s) for s in seeds]))}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--scene", default=str(ROOT / "scenes/topologyzoo/Abilene.toml"))
    p.add_argument("--demand-factor", type=float, default=2.0)
    p.add_argument("--timesteps", type=int, default=300_000)
    p.add_argument("--envs", type=int, default=16)
    p.add_argument("--eval-every", type=int, default=25_000)
    p.add_argument("--eval-episodes", type=int, default=20)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="train_ppo.png")
    args = p.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(args.seed)
    base = baselines(args)
    print(f"baselines over {args.eval_episodes} seeded days: random {base['random']:.3f}, "
          f"heuristic {base['heuristic']:.3f}", flush=True)
    venv = SB3VecEnv(make_vec("twin3d/TrafficEngineering-v0", num_envs=args.envs, **env_kwargs(args)))
    venv.seed(args.seed)
    norm = VecNormalize(VecMonitor(venv), norm_obs=True, norm_reward=True, gamma=0.99)
    # a learning rate that decays to 0 over the budget settles the policy at its end
    model = PPO("MlpPolicy", norm, n_steps=256, batch_size=512, n_epochs=10,
                learning_rate=lambda left: 3e-4 * left, clip_range=0.15,
                gamma=0.99, ent_coef=0.005, seed=args.seed, verbose=0)
    curve, t0 = [], time.perf_counter()

    class Evaluate(BaseCallback):
        """Score the deterministic policy every ``--eval-every`` steps."""

        def __init__(self) -> None:
            super().__init__()
            self.next = args.eval_every

        def _on_step(self) -> bool:
            if self.num_timesteps >= self.next:
                self.next += args.eval_every
                score = evaluate_policy(model, norm, args)
                curve.append((self.num_timesteps, score))
                print(f"{self.num_timesteps:>8} steps  PPO {score:.3f}  "
                      f"({time.perf_counter() - t0:.0f} s)", flush=True)
            return True

    model.learn(args.timesteps, callback=Evaluate())
    if not curve or curve[-1][0] < model.num_timesteps:
        curve.append((model.num_timesteps, evaluate_policy(model, norm, args)))
    best = max(s for _, s in curve)
    final = curve[-1][1]
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(7, 4.2))
    ax.plot([c[0] for c in curve], [c[1] for c in curve], "o-", label="PPO (deterministic)")
    ax.axhline(base["heuristic"], color="tab:green", ls="--", label="heuristic")
    ax.axhline(base["random"], color="tab:red", ls=":", label="random")
    ax.set_xlabel("environment steps")
    ax.set_ylabel(f"mean day reward, {args.eval_episodes} seeded days")
    ax.set_title(f"TrafficEngineering, {Path(args.scene).stem}, demand x{args.demand_factor:g}")
    ax.legend()
    fig.tight_layout()
    fig.savefig(args.out, dpi=120)
    result = {"scene": Path(args.scene).stem, "demand_factor": args.demand_factor,
              "timesteps": args.timesteps, "seconds": time.perf_counter() - t0, **base,
              "ppo_final": final, "ppo_best": best, "curve": curve,
              "ppo_beats_heuristic": final > base["heuristic"],
              # PPO's curve depends on them (the environments' figures do not)
              "versions": {"torch": torch.__version__,
                           "stable_baselines3": stable_baselines3.__version__,
                           "numpy": np.__version__}}
    Path(args.out).with_suffix(".json").write_text(json.dumps(result, indent=1) + "\n")
    print(f"PPO final {final:.3f} vs heuristic {base['heuristic']:.3f}, random {base['random']:.3f}: "
          f"{'PPO beats the heuristic' if final > base['heuristic'] else 'PPO does NOT beat the heuristic'}"
          f" ({args.out})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
