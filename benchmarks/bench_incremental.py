"""Incremental rerouting: RoutingCache against a full Router.route per step.

Graph: the seeded connected random geometric graph of ``bench_ecmp.py``
(1,000 nodes by default; 100 Gbit/s links), ECMP by hops. Demands: a
gravity matrix over every ordered pair (node mass = degree, ``--total-bps``
in all, ~10^6 demands). Steps: ``--steps`` single-link events, each cutting
a random link in service or (one time in three, when a link is out)
restoring a random cut one. Every step routes with M/M/1 edge delays
(latency) and the capacities (tail drop): the work of the final route of a
simulator step.

Timed per step, the same sequence both ways: ``Router.route`` from scratch,
and ``RoutingCache.route`` (the first call, which builds the cache, timed
apart). The results must agree to 1e-12 relative (loads, latency,
delivered; routable exactly). Printed: steps/s of each, the ratio, and how
many destinations the cache searched again or only trimmed per step.

Then whole simulator steps: ``Simulator.step`` on the scene
``bench_ecmp.py`` writes from the same graph (gravity demand of
``--busy-bps``, ECMP by hops, a cumulative fibre cut every step; cascade,
latency, tail drop, KPIs), ``--sim-steps`` steps with the full routing and
with ``Simulator(scene, incremental=True)``; the KPIs must agree.

Usage::

    python3 benchmarks/bench_incremental.py [--nodes 1000 --steps 50 --seed 7]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import twin3d  # noqa: E402
from bench_ecmp import geometric_graph, write_scene  # noqa: E402
from bench_router_scaling import gravity  # noqa: E402
from twin3d.physics.incremental import RoutingCache  # noqa: E402
from twin3d.physics.queueing import link_delay_s  # noqa: E402
from twin3d.physics.transport import Router  # noqa: E402
from twin3d.sim.engine import Simulator  # noqa: E402


def events(n_links: int, steps: int, seed: int) -> list[np.ndarray]:
    """link_up per step: one random link cut or restored each step."""
    rng = np.random.default_rng(seed)
    up = np.ones(n_links, bool)
    out = []
    for _ in range(steps):
        if not up.all() and rng.random() < 1 / 3:
            up[rng.choice(np.flatnonzero(~up))] = True
        else:
            up[rng.choice(np.flatnonzero(up))] = False
        out.append(up.copy())
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nodes", type=int, default=1000)
    ap.add_argument("--steps", type=int, default=50)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--total-bps", type=float, default=1e12)
    ap.add_argument("--sim-steps", type=int, default=20)
    ap.add_argument("--busy-bps", type=float, default=1e12)
    args = ap.parse_args()

    g = geometric_graph(args.nodes, args.seed)
    r = Router(g)
    _, mat = gravity(g, args.total_bps)
    src, dst, bps = r.demand_arrays(mat)
    cap = r.capacity_bps

    def delay(load, _cap):
        return np.minimum(link_delay_s(load, cap), 0.05)

    seq = events(len(r.links), args.steps, args.seed)
    kw = dict(capacity_bps=cap, edge_delay_s=delay)
    r.route((src, dst, bps), link_up=seq[0], **kw)                # compile the kernels
    RoutingCache(r, src[:10], dst[:10]).route(bps[:10], link_up=seq[0], **kw)

    t0 = time.perf_counter()
    cache = RoutingCache(r, src, dst)
    cache.route(bps, link_up=np.ones(len(r.links), bool), **kw)
    t_build = time.perf_counter() - t0

    t_full, t_inc, searched, trimmed, joined, fell, exact = [], [], [], [], [], 0, 0
    for up in seq:
        t0 = time.perf_counter()
        want = r.route((src, dst, bps), link_up=up, **kw)
        t_full.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        got = cache.route(bps, link_up=up, **kw)
        t_inc.append(time.perf_counter() - t0)
        searched.append(cache.searched)
        trimmed.append(cache.trimmed)
        joined.append(cache.joined)
        fell += cache.fell_back
        np.testing.assert_allclose(got.load_bps, want.load_bps, rtol=1e-12, atol=0)
        exact += bool(np.array_equal(got.load_bps, want.load_bps))
        assert np.array_equal(got.routable, want.routable), "routable differs"
        np.testing.assert_allclose(got.latency_s, want.latency_s, rtol=1e-12, atol=0)
        np.testing.assert_allclose(got.delivered_bps, want.delivered_bps, rtol=1e-12)

    full, inc = float(np.mean(t_full)), float(np.mean(t_inc))
    print(f"graph: {r.n_nodes} nodes, {len(r.links)} links, {len(src):,} gravity demands; "
          f"{args.steps} steps of one link cut or restored; route with M/M/1 delays and tail drop")
    print(f"RoutingCache build (first call): {t_build:.3f} s")
    print(f"Router.route per step:        {full * 1e3:7.1f} ms  {1 / full:6.2f} steps/s  "
          f"(median {np.median(t_full) * 1e3:.1f} ms)")
    print(f"RoutingCache.route per step:  {inc * 1e3:7.1f} ms  {1 / inc:6.2f} steps/s  "
          f"({full / inc:.1f}x; median {np.median(t_inc) * 1e3:.1f} ms, ratio of medians "
          f"{np.median(t_full) / np.median(t_inc):.1f}x)")
    print(f"destinations searched again per step: mean {np.mean(searched):.0f} of "
          f"{len(np.unique(dst))} (min {min(searched)}, max {max(searched)}), trimmed without a "
          f"search {np.mean(trimmed):.0f}, joined a restored link {np.mean(joined):.0f}; "
          f"fell back to Router.route (an edge overloaded) at "
          f"{fell} steps; loads bit for bit equal at {exact} of {len(seq)} steps (all within "
          f"1e-12 relative)")
    simulator_steps(g, args)
    return 0


def simulator_steps(g, args) -> None:
    """Whole Simulator steps with a fibre cut each, full routing against incremental."""
    with tempfile.TemporaryDirectory(prefix="bench-inc-") as tmp:
        scene = twin3d.load_scene(write_scene(g, Path(tmp), args.busy_bps, args.sim_steps + 1,
                                              args.seed))
    spec = scene.spec.scenarios[0]
    rates, kpis = {}, {}
    for inc in (False, True):
        sim = Simulator(scene, incremental=inc)
        timeline = sim.timeline(spec)
        sim.step(timeline, 0)                     # the first step builds the demand arrays (and cache)
        t0 = time.perf_counter()
        steps = [sim.step(timeline, t) for t in range(1, spec.steps)]
        rates[inc] = len(steps) / (time.perf_counter() - t0)
        kpis[inc] = steps
    for a, b in zip(kpis[False], kpis[True]):
        assert a.link_state == b.link_state
        for k in a.kpis:
            np.testing.assert_allclose(a.kpis[k], b.kpis[k], rtol=1e-9, err_msg=k)
    print(f"Simulator.step, a fibre cut per step ({args.sim_steps} steps; cascade, M/M/1 "
          f"latency, tail drop, KPIs): full routing {rates[False]:.2f} steps/s, "
          f"incremental {rates[True]:.2f} steps/s ({rates[True] / rates[False]:.1f}x; KPIs equal "
          f"to 1e-9)")


if __name__ == "__main__":
    sys.exit(main())
