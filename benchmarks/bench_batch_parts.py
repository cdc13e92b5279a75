"""Where a batched TrafficEngineering step spends its time, per copy, in µs.

Steps ``make_vec("twin3d/TrafficEngineering-v0", num_envs=B, parallel=False)``
(one thread: the parts add up) through a whole day with the random agent (every IGP weight drawn anew each step),
recording each step's inputs to the compiled engine, then times on those
inputs, per copy and per routing round (each copy with its own weights, so
the branch predictor sees what it sees in a run):

* the search of every destination: the router's heap Dijkstra and DAG test
  (``batch_dags.record``, the reference) against the dense search (its
  distances alone: ``batch_apsp.all_pairs_int``, int32 Floyd-Warshall, and
  the float Bellman-Ford fallback ``batch_dense.all_pairs``; then the whole
  ``batch_dense.record_dense``);
* the passes over the recorded DAGs, flat (``replay_flat``): load, latency,
  and survival merged into the latency walk (``replay_pull2``);
* the whole compiled step (``BatchRouter.step``, cascades and tail drop
  included) and the rest of ``venv.step`` (opponents, observations, reward,
  hashes: Python and numpy).

Usage::

    python3 benchmarks/bench_batch_parts.py [--scene Geant2012] [--batch 64] [--clock cpu]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from numba import njit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import twin3d.envs  # noqa: E402,F401
from bench_envs import te_actions  # noqa: E402
from twin3d.envs import make_vec  # noqa: E402
from twin3d.physics import batch_apsp, batch_dags, batch_dense, batch_kernels  # noqa: E402

clock = time.perf_counter


@njit(cache=True)
def _parts(part, weights, bps_rows, n, u, v, link, dests, dem_ptr, dem_src, dem_idx):
    """Run ``part`` (0: heap record, 1: all_pairs_int, 2: record_dense with tails, 3: + load
    pass, 4: + latency pass, 5: + the latency and survival walk instead, 6: the float
    all_pairs) for every row of edge weights (the passes flat, as the batched step runs them)."""
    ws = batch_kernels._workspace(n, len(u), len(dem_idx), n)
    out_ptr, in_ptr, fill, out_head, out_edge, in_tail, in_edge = ws[0]
    w, out_w, in_w, _, load, _, _, _, _ = ws[1]
    dg, dn = ws[3], ws[4]
    link_up = np.ones(link.max() + 1, np.bool_)
    node_up = np.ones(n, np.bool_)
    nc = len(dem_idx)
    bps, reached, t, t2 = np.zeros(nc), np.zeros(nc), np.zeros(nc), np.zeros(nc)
    delay, pf, none = np.full(len(u), 1e-3), np.full(len(u), 0.9), np.zeros(0)
    for c in range(weights.shape[0]):
        w[:] = weights[c]
        m = batch_kernels._usable(n, u, v, link, w, link_up, node_up, out_ptr, out_head, out_w,
                                  out_edge, in_ptr, in_tail, in_w, in_edge, fill)
        if part == 0:
            batch_dags.record(n, out_ptr, out_head[:m], out_w[:m], out_edge[:m], in_ptr,
                              in_tail[:m], in_w[:m], False, False, dests, dg[0], dg[1], dg[2],
                              dg[3], dg[4], dg[5], dg[6], dg[7])
            continue
        if part == 1:
            batch_apsp.all_pairs_int(n, out_ptr, out_head[:m], out_w[:m], dn[5], dn[6])
            continue
        if part == 6:
            batch_dense.all_pairs(n, out_ptr, out_head[:m], out_w[:m], dn[0], dn[2], dn[3])
            continue
        batch_dense.record_dense(n, out_ptr, out_head[:m], out_w[:m], out_edge[:m], False, dests,
                                 dg[0], dg[1], dg[2], dg[3], dg[4], dg[5], dg[6], dg[7], dn[0],
                                 dn[1], dn[2], dn[3], dn[4], dn[5], dn[6], dg[8])   # (tails too)
        for j in range(nc):
            bps[j] = bps_rows[c, dem_idx[j]]
        if part >= 3:
            load[:] = 0.0
            batch_dags.replay_flat(0, n, dests, dem_ptr, dem_src, bps, none, load, reached, dg[0],
                                   dg[1], dg[2], dg[3], dg[4], dg[5], dg[6], dg[7], dg[8])
        if part == 4:
            batch_dags.replay_flat(1, n, dests, dem_ptr, dem_src, none, delay, none, t, dg[0],
                                   dg[1], dg[2], dg[3], dg[4], dg[5], dg[6], dg[7], dg[8])
        if part >= 5:               # latency and survival in one walk, as when traffic drops
            batch_dags.replay_pull2(n, dests, dem_ptr, dem_src, delay, pf, t, t2, dg[0], dg[1],
                                    dg[2], dg[3], dg[4], dg[5], dg[6], dg[7], dg[8])
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scene", default="Geant2012", help="a Topology Zoo scene name")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--clock", choices=("wall", "cpu"), default="wall")
    args = ap.parse_args()
    global clock
    clock = time.process_time if args.clock == "cpu" else time.perf_counter
    venv = make_vec("twin3d/TrafficEngineering-v0", num_envs=args.batch,
                    scene=str(ROOT / "scenes" / "topologyzoo" / f"{args.scene}.toml"),
                    parallel=False)
    venv.reset(seed=0)
    steps = venv.proto.steps - 2
    actions = te_actions(venv.action_space.shape, len(venv.proto.ladder), steps, False)
    eng, inputs, engine_s, rounds = venv.engine, [], [0.0], []
    step = eng.step

    def recorded(*a, **kw):
        t0 = clock()
        res = step(*a, **kw)
        engine_s[0] += clock() - t0
        # one demand row stands for every copy when the copies are in step: one row per copy
        inputs.append((np.broadcast_to(a[0], (len(a[4]), a[0].shape[1])).copy(), np.array(a[4])))
        rounds.append((res.n_waves.mean(), res.drop_rounds.mean(),
                       (res.delivered_bps < res.demand_bps).any(axis=1).mean()))
        return res

    venv.step(actions[0])                                   # compile
    eng.step = recorded
    inputs.clear()
    t0 = clock()
    for a in actions[1:]:
        venv.step(a)
    total_s = clock() - t0
    copies = (steps - 1) * args.batch
    r = eng.router
    weights = np.concatenate([w for _, w in inputs])[:, eng._link]
    bps_rows = np.concatenate([b for b, _ in inputs])
    _, dem_ptr, dem_idx, dem_src, dests = eng._grouping
    # a compiled search is several microseconds: time the whole set of copies, best of 5
    times = []
    for part in range(7):
        _parts(part, weights[:2], bps_rows, r.n_nodes, eng._u, eng._v, eng._link, dests, dem_ptr,
               dem_src, dem_idx)
        best = np.inf
        for _ in range(5):
            t0 = clock()
            _parts(part, weights, bps_rows, r.n_nodes, eng._u, eng._v, eng._link, dests, dem_ptr,
                   dem_src, dem_idx)
            best = min(best, (clock() - t0) / len(weights) * 1e6)
        times.append(best)
    print(f"{args.scene}: {r.n_nodes} nodes, {len(eng._u)} directed edges, {len(eng.src)} demands, "
          f"B={args.batch}, {steps - 1} steps of a day, random agent, clock "
          f"{'CPU' if args.clock == 'cpu' else 'wall'}")
    print(f"venv.step: {copies / total_s:,.0f} env-steps/s = {total_s / copies * 1e6:.1f} µs "
          f"per copy, "
          f"of which the compiled step {engine_s[0] / copies * 1e6:.1f} and the rest "
          f"(opponents, observations, reward, hashes) {(total_s - engine_s[0]) / copies * 1e6:.1f}")
    waves, drop_rounds, dropping = np.mean(rounds, axis=0)
    print(f"per copy and step: {waves:.2f} cascade waves (each a search and a load pass more), "
          f"{drop_rounds:.2f} tail-drop rounds (the first without a pass), "
          f"{100 * dropping:.0f} % of copies losing traffic (a survival pass)")
    print("per copy and routing round, µs (passes: differences of the cumulative timings):")
    print(f"  heap Dijkstra + DAG test (record, the reference) {times[0]:7.1f}")
    print(f"  dense all-pairs distances (all_pairs_int, int16|32){times[1]:7.1f}   "
          f"(float Bellman-Ford fallback: {times[6]:.1f})")
    print(f"  dense search, ranks, DAGs, tails (record_dense)  {times[2]:7.1f}   "
          f"{times[0] / times[2]:.1f}x the heap")
    print(f"  load pass                                        {times[3] - times[2]:7.1f}")
    print(f"  latency pass                                     {times[4] - times[3]:7.1f}")
    print(f"  survival, merged into the latency walk (drops)   {times[5] - times[4]:7.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
