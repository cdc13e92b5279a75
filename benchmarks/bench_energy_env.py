"""Steps per second of ``twin3d/EnergySaving-v0`` on Helsinki with a random agent.

The agent puts a fresh random set of cells to sleep every step (each cell
asleep with probability ``--asleep``, 20 % by default), so nearly every step
meets an active set the simulator has not seen: its radio map is
recombined from the cached per-cell maps (best server, co-channel SINR,
spectral efficiency), the demand is served, the KPIs are taken and the
reward prices the all-awake reference. The environment runs with its
default opponent (surges). A warm-up of ``--warmup`` steps (compiling the
kernels, filling the per-cell caches) comes first; then ``--steps`` steps
are timed, resetting at the end of each episode (the reset counts too).

For reference, in the same run:

* one map recombination: ``Simulator.radio()`` for a random active set it
  has not seen (the per-cell maps cached);
* one full new radio map: ``radio_map()`` of the scene on the simulator's
  grid, with a fresh per-cell cache (path loss, viewsheds, antennas, O2I,
  then the same recombination);
* the breakdown of one step: the map recombination, the rest of the radio
  step (serving, the coverage and throughput p5; the environment leaves the
  SINR percentiles and throughput p50 for ``episode_result``) and the
  all-awake reference energy.

Usage::

    python3 benchmarks/bench_energy_env.py [--scene scenes/helsinki.toml --steps 100 --repeat 3]
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import gymnasium as gym  # noqa: E402

import twin3d  # noqa: E402
import twin3d.envs  # noqa: E402,F401
from twin3d.physics.coverage import radio_map  # noqa: E402
from twin3d.sim.engine import MAX_RADIO_MAPS  # noqa: E402


def random_actions(rng, n_cells: int, p: float):
    while True:
        yield (rng.random(n_cells) < p).astype(np.int8)


def time_env(env, actions, n_steps: int) -> float:
    """Seconds for ``n_steps`` steps (resetting when an episode ends)."""
    t0 = time.perf_counter()
    for _ in range(n_steps):
        _, _, term, trunc, _ = env.step(next(actions))
        if term or trunc:
            env.reset()
    return time.perf_counter() - t0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scene", default=str(ROOT / "scenes" / "helsinki.toml"))
    ap.add_argument("--steps", type=int, default=100, help="timed steps per run")
    ap.add_argument("--warmup", type=int, default=20)
    ap.add_argument("--repeat", type=int, default=3, help="timed runs (best and median shown)")
    ap.add_argument("--asleep", type=float, default=0.2, help="probability a cell sleeps")
    args = ap.parse_args(argv)

    t0 = time.perf_counter()
    env = gym.make("twin3d/EnergySaving-v0", scene=args.scene).unwrapped
    t_make = time.perf_counter() - t0
    sim = env.sim
    n_cells = len(sim.cells)
    n_pts = sim.baseline_map.rsrp_dbm.size
    print(f"scene {sim.twin.name}: {len(sim.site_ids)} sites, {n_cells} cells, "
          f"{n_pts:,} grid points ({sim.scene.spec.radio.grid_m:g} m); env made in {t_make:.2f} s")
    env.reset(seed=3)
    actions = random_actions(np.random.default_rng(0), n_cells, args.asleep)
    t0 = time.perf_counter()
    time_env(env, actions, args.warmup)
    print(f"warm-up: {args.warmup} steps in {time.perf_counter() - t0:.2f} s (kernels compiled or loaded)")
    rates = [args.steps / time_env(env, actions, args.steps) for _ in range(args.repeat)]
    print(f"EnergySaving-v0, random agent ({args.asleep:.0%} of cells asleep per step): "
          f"{statistics.median(rates):.1f} steps/s median of {args.repeat} runs of {args.steps} steps "
          f"(best {max(rates):.1f}, worst {min(rates):.1f})")

    # one map recombination: Simulator.radio for active sets it has not seen
    rng = np.random.default_rng(1)
    up = np.array([sim.twin.sites[c.site_id].state == "up" for c in sim.cells])
    times = []
    for _ in range(max(10, MAX_RADIO_MAPS // 2)):
        active = up & (rng.random(n_cells) >= args.asleep)
        if sim.radio_key(active) in sim._maps:
            continue
        t0 = time.perf_counter()
        sim.radio(active)
        times.append(time.perf_counter() - t0)
    print(f"one map recombination (Simulator.radio, new active set, cached per-cell maps): "
          f"median {statistics.median(times) * 1e3:.2f} ms over {len(times)} sets "
          f"(best {min(times) * 1e3:.2f} ms)")

    # breakdown of a step: the radio step without the map, and the awake reference
    state = env._timeline.state(env.t)
    times_rs, times_aw = [], []
    for _ in range(10):
        active_sleep = {c.id for c, a in zip(sim.cells, rng.random(n_cells) < args.asleep) if a}
        st = dataclasses.replace(state, cell_sleep=active_sleep, surges=[])
        active = np.array([st.site_state[c.site_id] == "up" and c.id not in st.cell_sleep
                           for c in sim.cells])
        sim.radio(active, st.sector)                          # the map first, then the step
        t0 = time.perf_counter()
        sim._radio_step(st, 0.5, "later")                     # as the environment steps
        times_rs.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        sim.awake_energy_w(st, 12.0)
        times_aw.append(time.perf_counter() - t0)
    print(f"radio step on a ready map (serving, coverage and p5, site power): median "
          f"{statistics.median(times_rs) * 1e3:.2f} ms; all-awake reference energy: median "
          f"{statistics.median(times_aw) * 1e3:.2f} ms")

    # one full new radio map, fresh per-cell cache, on the simulator's grid
    r = sim.scene.spec.radio
    t0 = time.perf_counter()
    radio_map(sim.twin, model=r.model, grid_m=r.grid_m, ue_height_m=r.ue_height_m,
              noise_figure_db=r.noise_figure_db, bounds=sim.radio_bounds)
    t_full = time.perf_counter() - t0
    print(f"one full new radio map (radio_map, fresh cache: path loss, viewsheds, recombination): "
          f"{t_full:.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
