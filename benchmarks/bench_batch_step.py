"""Time the batched backhaul step against a loop of ``route_step`` over the copies.

Scenes: Topology Zoo Abilene (11 nodes, 14 links) and Geant2012 (37 nodes,
58 links), with the demands :class:`twin3d.sim.engine.Simulator` builds for
a scene without radio cells (the gravity matrix of ``busy_hour_bps`` over
every pair of nodes, weighted by degree), at the busy hour (``--factor``
scales it, as the diurnal profile does), the scene's
capacities, routing mode and trip threshold. Each step, every copy changes
the weight of ``--changes`` random links to a random rung of the integer
ladder 1..8 (what an agent setting IGP weights does); the weight changes are
drawn before the clock starts. Timed:

* ``BatchRouter.step`` with B = 1 (a single environment) and B = ``--batch``,
  in one thread and on numba's threads (``parallel=True``, all cores);
* a Python loop of ``route_step`` over the same B copies (what stepping B
  single environments, e.g. ``SyncVectorEnv``, costs in the backhaul).

Env-steps/s is copies x steps / wall time, the best of ``--repeats`` runs
(the machine may be shared). After timing, the last step's
batch results are checked against ``route_step`` copy by copy (exact).

Usage::

    python3 benchmarks/bench_batch_step.py [--batch 64 --steps 200 --changes 2 --seed 1
                                            --repeats 3]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numba
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from twin3d.loader import load_scene  # noqa: E402
from twin3d.physics.batch_step import BatchRouter  # noqa: E402
from twin3d.sim.engine import Simulator  # noqa: E402
from twin3d.sim.transport_step import route_step  # noqa: E402

LADDER = np.arange(1.0, 9.0)


def setup(name: str):
    sim = Simulator(load_scene(ROOT / "scenes" / "topologyzoo" / f"{name}.toml"))
    traffic = sim.scene.spec.traffic
    src, dst, bps = sim.router.demand_arrays(sim.base_demands)
    return sim, traffic, src, dst, bps


def weight_plan(rng, w0: np.ndarray, nb: int, steps: int, changes: int) -> np.ndarray:
    """(steps, nb, n_links) weights: each step each copy re-draws ``changes`` links."""
    out = np.empty((steps, nb, len(w0)))
    w = np.broadcast_to(w0, (nb, len(w0))).copy()
    for t in range(steps):
        for b in range(nb):
            w[b, rng.choice(len(w0), changes, replace=False)] = rng.choice(LADDER, changes)
        out[t] = w
    return out


def bench(name: str, nb: int, steps: int, changes: int, seed: int, repeats: int,
          factor: float = 1.0) -> dict:
    sim, traffic, src, dst, bps = setup(name)
    r, nl = sim.router, len(sim.link_ids)
    rng = np.random.default_rng(seed)
    plan = weight_plan(rng, sim.link_weight, nb, steps, changes)
    bps_b = np.broadcast_to(bps * factor, (nb, len(bps))).copy()
    link_up = np.ones((nb, nl), bool)
    node_up = np.ones((nb, r.n_nodes), bool)
    cap = np.broadcast_to(sim.link_capacity_bps, (nb, nl)).copy()
    trip = traffic.trip_utilization
    br = BatchRouter(r, src, dst, traffic.routing)
    br.step(bps_b[:1], link_up[:1], node_up[:1], cap[:1], plan[0, :1], trip)   # compile / load
    out = {"scene": name, "nodes": r.n_nodes, "links": nl, "demands": len(src), "B": nb}

    def timed(fn, n_steps):
        """Best wall time of ``repeats`` runs of n_steps steps (the machine is shared)."""
        best = np.inf
        for _ in range(repeats):
            t0 = time.perf_counter()
            for t in range(n_steps):
                fn(t)
            best = min(best, time.perf_counter() - t0)
        return best

    dt1 = timed(lambda t: br.step(bps_b[:1], link_up[:1], node_up[:1], cap[:1], plan[t, :1], trip),
                steps)
    out["batch_B1_steps_s"] = steps / dt1
    res = None

    def batch(t):
        nonlocal res
        res = br.step(bps_b, link_up, node_up, cap, plan[t], trip)

    dtb = timed(batch, steps)
    out["batch_B_env_steps_s"] = nb * steps / dtb
    brp = BatchRouter(r, src, dst, traffic.routing, parallel=True)
    brp.step(bps_b, link_up, node_up, cap, plan[0], trip)                     # compile / load
    dtp = timed(lambda t: brp.step(bps_b, link_up, node_up, cap, plan[t], trip), steps)
    out["batch_B_threads_env_steps_s"] = nb * steps / dtp
    loop_steps = max(3, steps // 10)
    dtl = timed(lambda t: [route_step(r, (src, dst, bps_b[b]), link_up[b], node_up[b], cap[b], trip,
                                      traffic.routing, weight=plan[t, b]) for b in range(nb)],
                loop_steps)
    out["route_step_loop_env_steps_s"] = nb * loop_steps / dtl
    out["speedup_B"] = out["batch_B_env_steps_s"] / out["route_step_loop_env_steps_s"]
    for b in range(nb):                         # the last batch step, copy by copy
        s = route_step(r, (src, dst, bps_b[b]), link_up[b], node_up[b], cap[b], trip,
                       traffic.routing, weight=plan[steps - 1, b])
        assert np.array_equal(res.delivered_bps[b], s.routing.delivered_bps)
        assert np.array_equal(res.latency_s[b], s.routing.latency_s, equal_nan=True)
        assert np.array_equal(res.link_up_after[b], s.link_up)
    out["waves_last_step"] = int(res.n_waves.sum())
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--changes", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=3, help="best of this many timed runs")
    ap.add_argument("--factor", type=float, default=1.0,
                    help="share of the busy-hour demand (the diurnal profile's factor)")
    ap.add_argument("--scenes", nargs="+", default=["Abilene", "Geant2012"])
    a = ap.parse_args()
    for name in a.scenes:
        o = bench(name, a.batch, a.steps, a.changes, a.seed, a.repeats, a.factor)
        print(f"{o['scene']}: {o['nodes']} nodes, {o['links']} links, {o['demands']} demands, "
              f"{a.factor:g} x busy hour")
        print(f"  single env (B=1 batch): {o['batch_B1_steps_s']:10,.0f} steps/s")
        print(f"  batch B={o['B']}:            {o['batch_B_env_steps_s']:10,.0f} env-steps/s")
        print(f"  batch B={o['B']}, {numba.get_num_threads()} threads: "
              f"{o['batch_B_threads_env_steps_s']:8,.0f} env-steps/s")
        print(f"  route_step loop B={o['B']}:  {o['route_step_loop_env_steps_s']:10,.0f} "
              "env-steps/s")
        print(f"  ratio batch / loop:      {o['speedup_B']:10.1f}x   "
              f"(cascade waves in the last step: {o['waves_last_step']}; exact vs route_step)")


if __name__ == "__main__":
    main()
