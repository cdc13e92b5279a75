"""Environment steps per second, single process, against a naive loop measured in the same run.

Timed:

* ``twin3d/TrafficEngineering-v0`` on Topology Zoo Abilene and Geant2012: a
  single environment and the batched vector env (``twin3d.envs.make_vec``)
  with B = 64, in env-steps/s, each with two agents: random
  (``action_space.sample()``: every IGP weight drawn anew each step, which
  on Geant2012's 155 Mbit/s links cascades almost every step) and sparse
  (2 links move one rung per step, as a re-weighting policy does);
* the naive loop on the same scenes: a fresh ``Simulator`` per step (what
  an environment built on ``twin3d simulate`` without a persistent engine
  would cost);
* a 1,000-node random geometric graph (``bench_ecmp.geometric_graph``,
  gravity demand over all 999,000 pairs): TrafficEngineering with one
  link event per step (an opponent that cuts a random link and restores
  the previous one) and a no-op agent;
* ``twin3d/EnergySaving-v0`` on the Helsinki scene with a random agent (20 %
  of cells asleep, a new set every step) and with the heuristic agent.

Each TrafficEngineering figure is the median of ``--repeats`` timed passes
(3; the lowest and highest are printed beside it): on this shared virtual
machine one pass of under a second can lose a fifth of its speed to a
neighbour. Each figure is printed beside grid2op with lightsim2grid's
published figure of about 1,000 steps/s on IEEE case14 (not measured here)
and the naive loop's. The issue's targets are printed with MET or MISSED.

Usage::

    python3 benchmarks/bench_envs.py [--steps 2000] [--rgg-nodes 1000] [--clock cpu]
        [--only te|rgg|es] [--scenes Geant2012] [--no-naive] [--repeats 3]
        [--parallel auto|serial|threads] [--busy N]

``--clock cpu`` times with the process's CPU time instead of the wall clock:
on a machine shared with other jobs the wall clock counts the time the
process waits for a core, CPU time does not (the batched engine then runs
its copies in one thread: CPU time would count every thread's). On the wall
clock ``make_vec`` picks serial or threads each step by their measured
time (``twin3d.physics.threads.ThreadChoice``); its warm-up runs in the
untimed steps.
"""

from __future__ import annotations

import argparse
import multiprocessing
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import gymnasium as gym  # noqa: E402

import twin3d  # noqa: E402
import twin3d.envs  # noqa: E402,F401
from twin3d.envs import make_vec  # noqa: E402
from twin3d.envs.baselines import ESHeuristic  # noqa: E402
from twin3d.scene import EventSpec, ScenarioSpec  # noqa: E402
from twin3d.sim.engine import Simulator  # noqa: E402

GRID2OP_CASE14 = 1000.0     # steps/s, grid2op + lightsim2grid as published (not measured here)
#: The clock the rates are timed with (``--clock``).
clock = time.perf_counter
SCENES = ROOT / "scenes"


def verdict(value: float, target: float) -> str:
    return f"{'MET' if value >= target else 'MISSED'} (target {target:,.0f})"


def rate(n: int, seconds: float) -> float:
    return n / seconds if seconds > 0 else float("inf")


def te_actions(shape: tuple, n_rungs: int, n: int, sparse: bool, seed: int = 0) -> list[np.ndarray]:
    """Random actions: every rung drawn anew, or (sparse) 2 links moved one rung a step."""
    rng = np.random.default_rng(seed)
    if not sparse:
        return [rng.integers(0, n_rungs, size=shape) for _ in range(n)]
    rung, out = np.zeros(shape, dtype=np.int64), []
    rows = np.arange(int(np.prod(shape[:-1])))[:, None]
    flat = rung.reshape(len(rows), shape[-1])
    for _ in range(n):
        cols = rng.integers(shape[-1], size=(len(rows), 2))
        flat[rows, cols] = np.clip(flat[rows, cols] + rng.choice([-1, 1], size=cols.shape), 0, n_rungs - 1)
        out.append(rung.copy())
    return out


def te_single(scene: Path, steps: int, sparse: bool = False, repeats: int = 1) -> list[float]:
    """Steps/s of one env, one rate per timed pass of ``steps`` steps (``repeats`` passes)."""
    env = gym.make("twin3d/TrafficEngineering-v0", scene=str(scene)).unwrapped
    env.reset(seed=0)
    for a in te_actions(env.action_space.shape, len(env.ladder), 20, sparse, seed=1):   # warm-up: kernels, caches
        env.step(a)
    actions = te_actions(env.action_space.shape, len(env.ladder), steps, sparse)
    env.reset(seed=1)
    rates = []
    for _ in range(repeats):
        t0 = clock()
        for a in actions:
            _, _, te, tr, _ = env.step(a)
            if te or tr:
                env.reset()
        rates.append(rate(steps, clock() - t0))
    return rates


def te_batched(scene: Path, batch: int, steps: int, sparse: bool = False,
               parallel: bool | str = "auto", repeats: int = 1) -> list[float]:
    """Env-steps/s of ``make_vec`` with ``batch`` copies, one rate per timed pass
    of ``steps`` batched steps (``repeats`` passes, the episodes running on)."""
    venv = make_vec("twin3d/TrafficEngineering-v0", num_envs=batch, scene=str(scene),
                    parallel=False if clock is time.process_time else parallel)
    venv.reset(seed=0)
    for a in te_actions(venv.action_space.shape, len(venv.proto.ladder), 8, sparse, seed=1):
        venv.step(a)
    actions = te_actions(venv.action_space.shape, len(venv.proto.ladder), steps, sparse)
    rates = []
    for _ in range(repeats):
        t0 = clock()
        for a in actions:
            venv.step(a)
        rates.append(rate(steps * batch, clock() - t0))
    return rates


def median_of(rates: list[float]) -> tuple[float, str]:
    """(the median rate, its spread as text: "" for one pass, else "median of k passes, lo-hi; ")."""
    med = float(np.median(rates))
    if len(rates) == 1:
        return med, ""
    return med, f"median of {len(rates)} passes, {min(rates):,.0f}-{max(rates):,.0f}; "


def naive_loop(scene_path: Path, steps: int) -> float:
    """A fresh Simulator per step, each stepping one random weight change."""
    scene = twin3d.load_scene(scene_path)
    rng = np.random.default_rng(0)
    links = list(scene.twin.links)
    warm = Simulator(scene)                               # compile the kernels first
    warm.step(warm.timeline(ScenarioSpec("warm", steps=1, events=(
        EventSpec(0, "set_weight", link=links[0], weight=2.0),))), 0)
    t0 = clock()
    for t in range(steps):
        sim = Simulator(scene)
        ev = EventSpec(0, "set_weight", link=links[rng.integers(len(links))], weight=float(rng.integers(1, 9)))
        sim.step(sim.timeline(ScenarioSpec("naive", steps=1, events=(ev,))), 0)
    return rate(steps, clock() - t0)


def one_link_per_step(link_ids: list[str], seed: int):
    """An opponent that cuts a random link each step and restores the one it cut before."""
    rng = np.random.default_rng(seed)
    state = {"last": None}

    def attack(t, view, _rng):
        up = [l for l, ok in zip(view.link_ids, view.link_up) if ok]
        cut = up[rng.integers(len(up))]
        out = [EventSpec(t, "fiber_cut", cut)]
        if state["last"] is not None:
            out.append(EventSpec(t, "restore", state["last"]))
        state["last"] = cut
        return out

    return attack


def te_rgg(n_nodes: int, steps: int, seed: int = 7) -> tuple[float, int, int]:
    from bench_ecmp import geometric_graph, write_scene
    g = geometric_graph(n_nodes, seed)
    with tempfile.TemporaryDirectory() as tmp:
        scene = twin3d.load_scene(write_scene(g, Path(tmp), 1e12, 2, seed))
        env = gym.make("twin3d/TrafficEngineering-v0", scene=scene, profile="flat", steps=steps + 10,
                       opponent=one_link_per_step(list(scene.twin.links), seed)).unwrapped
        env.reset(seed=0)
        noop = np.zeros(len(env.link_ids), dtype=np.int64)
        # warm-up: the kernels, and the first tries of the passes' threads (ThreadChoice: 2
        # threaded, 2 serial; the first threaded call compiles when numba's cache is cold)
        for _ in range(5):
            env.step(noop)
        t0 = clock()
        for _ in range(steps):
            env.step(noop)
        return rate(steps, clock() - t0), g.number_of_nodes(), g.number_of_edges()


def es_helsinki(steps: int, heuristic: bool) -> float:
    env = gym.make("twin3d/EnergySaving-v0", scene=str(SCENES / "helsinki.toml"), opponent=None).unwrapped
    obs, info = env.reset(seed=0)
    rng = np.random.default_rng(0)
    agent = ESHeuristic(env, lookahead=False) if heuristic else None
    for _ in range(3):
        env.step((rng.random(len(env.cell_ids)) < 0.2).astype(np.int8))
    t0 = clock()
    for _ in range(steps):
        a = agent.act(obs, info) if agent else (rng.random(len(env.cell_ids)) < 0.2).astype(np.int8)
        obs, _, te, tr, info = env.step(a)
        if te or tr:
            obs, info = env.reset()
    return rate(steps, clock() - t0)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=2000, help="single-env TE steps per scene")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--batch-steps", type=int, default=300)
    ap.add_argument("--repeats", type=int, default=3,
                    help="timed passes of each TrafficEngineering figure; the median is printed "
                         "and judged, with the lowest and highest")
    ap.add_argument("--naive-steps", type=int, default=50)
    ap.add_argument("--rgg-nodes", type=int, default=1000)
    ap.add_argument("--rgg-steps", type=int, default=20)
    ap.add_argument("--es-steps", type=int, default=100)
    ap.add_argument("--clock", choices=("wall", "cpu"), default="wall",
                    help="time with the wall clock or the process's CPU time")
    ap.add_argument("--only", choices=("te", "rgg", "es"), action="append",
                    help="time only these parts (repeatable; default: all)")
    ap.add_argument("--scenes", nargs="+", default=["Abilene", "Geant2012"],
                    help="Topology Zoo scenes of the TrafficEngineering figures")
    ap.add_argument("--parallel", choices=("auto", "serial", "threads"), default="auto",
                    help="the batched env's threads: chosen each step by time (default), or forced")
    ap.add_argument("--busy", type=int, default=0, metavar="N",
                    help="keep N other processes spinning on the CPU during the run (a busy machine)")
    ap.add_argument("--no-naive", action="store_true",
                    help="skip the naive loop (its ratios are then not printed)")
    args = ap.parse_args()
    if args.repeats < 1:
        ap.error("--repeats must be at least 1")
    hogs = [multiprocessing.Process(target=_spin, daemon=True) for _ in range(args.busy)]
    for h in hogs:
        h.start()
    try:
        return run(args)
    finally:
        for h in hogs:
            h.terminate()


def _spin() -> None:
    """Keep one core busy (``--busy``) until terminated."""
    while True:
        pass


def run(args) -> int:
    parts = set(args.only or ("te", "rgg", "es"))
    if args.busy:
        print(f"busy: {args.busy} other process(es) spinning during the run")
    global clock
    clock = time.process_time if args.clock == "cpu" else time.perf_counter
    print(f"clock: {'process CPU time' if args.clock == 'cpu' else 'wall time'}")
    print(f"reference: grid2op + lightsim2grid, IEEE case14, about {GRID2OP_CASE14:,.0f} steps/s "
          "(published, not measured here)")
    for name in args.scenes if "te" in parts else ():
        scene = SCENES / "topologyzoo" / f"{name}.toml"
        naive = float("nan") if args.no_naive else naive_loop(scene, args.naive_steps)
        for sparse, agent in ((False, "random agent (every rung anew)"),
                              (True, "sparse agent (2 links move a rung per step)")):
            single, single_spread = median_of(te_single(scene, args.steps, sparse, args.repeats))
            batched, batched_spread = median_of(te_batched(
                scene, args.batch, args.batch_steps, sparse,
                {"auto": "auto", "serial": False, "threads": True}[args.parallel], args.repeats))
            vs_single = "" if args.no_naive else \
                f"{single / naive:.1f}x the naive loop's {naive:,.0f}; "
            vs_batched = "" if args.no_naive else f"{batched / naive:.0f}x the naive loop; "
            print(f"TrafficEngineering {name}, {agent}: single env {single:,.0f} steps/s "
                  f"({single_spread}{vs_single}{single / GRID2OP_CASE14:.1f}x grid2op case14) "
                  f"{verdict(single, 2000)}")
            print(f"TrafficEngineering {name}, {agent}: batched B={args.batch} {batched:,.0f} "
                  f"env-steps/s ({batched_spread}{vs_batched}{batched / GRID2OP_CASE14:.1f}x "
                  f"grid2op case14) {verdict(batched, 20000)}")
    if "rgg" not in parts:
        return 0 if "es" not in parts else es_part(args)
    rgg, n, e = te_rgg(args.rgg_nodes, args.rgg_steps)
    print(f"TrafficEngineering on a {n}-node random geometric graph ({e} links, {n * (n - 1):,} "
          f"demand pairs), one link cut and one restored per step: {rgg:.1f} steps/s "
          f"{verdict(rgg, 20)}")
    return es_part(args) if "es" in parts else 0


def es_part(args) -> int:
    es = es_helsinki(args.es_steps, heuristic=False)
    esh = es_helsinki(args.es_steps, heuristic=True)
    print(f"EnergySaving Helsinki (30 cells, 117,162 grid points): random agent {es:.1f} steps/s "
          f"{verdict(es, 100)}; heuristic agent {esh:.1f} steps/s "
          f"({es / GRID2OP_CASE14:.2f}x grid2op case14)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
