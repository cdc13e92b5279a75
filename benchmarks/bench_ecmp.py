"""Time twin3d's array ECMP against a networkx all_shortest_paths baseline.

Graph: a seeded ``networkx.random_geometric_graph`` (1,000 nodes by default,
the smallest radius, in 2 % steps, that leaves it connected), links of
100 Gb/s, lengths from the unit square scaled to 100 km. Demands: every
ordered pair, 1 Mbit/s each. Metric: hops (the case with many ties).

* twin3d: ``ecmp_loads`` on all pairs, timed in full.
* baseline: for each demand, every shortest path from
  ``nx.all_shortest_paths``, each carrying the product over its hops of
  1/(number of shortest next hops). Enumerating paths costs hours for all
  ~10^6 pairs (some pairs have millions of equal-hop paths), so it is timed
  on a seeded random sample of pairs and extrapolated per pair; ``ecmp_loads``
  also runs on that same sample, head to head, and the two must agree.
* one scenario step on a compiled Router: route all pairs with a random
  link cut, utilization, M/M/1 delay per directed link, per-demand expected
  latency (propagation + queueing) and its p50/p95.

Usage::

    python3 benchmarks/bench_ecmp.py [--nodes 1000 --pairs 100 --seed 7]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import defaultdict
from pathlib import Path

import networkx as nx
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from twin3d.physics.queueing import link_delay_s  # noqa: E402
from twin3d.physics.transport import Router, ecmp_loads  # noqa: E402

DEMAND_BPS = 1e6
SIDE_M = 100_000.0


def geometric_graph(n: int, seed: int) -> nx.Graph:
    """Connected random geometric graph with ``length_m`` and ``capacity_bps``."""
    r = np.sqrt(np.log(n) / (np.pi * n))
    while True:
        g = nx.random_geometric_graph(n, r, seed=seed)
        if nx.is_connected(g):
            break
        r *= 1.02
    pos = nx.get_node_attributes(g, "pos")
    for a, b, d in g.edges(data=True):
        d["length_m"] = float(np.hypot(*np.subtract(pos[a], pos[b]))) * SIDE_M
        d["capacity_bps"] = 100e9
    g.graph["radius"] = r
    return g


def baseline_loads(g: nx.Graph, demands: dict) -> dict:
    """ECMP loads by enumerating shortest paths with networkx (hops)."""
    loads: dict = defaultdict(float)
    for (s, t), bps in demands.items():
        if s == t:
            continue
        dist = nx.single_source_shortest_path_length(g, t)
        n_next: dict = {}
        for path in nx.all_shortest_paths(g, s, t):
            frac = 1.0
            for a in path[:-1]:
                if a not in n_next:
                    n_next[a] = sum(1 for x in g[a] if dist[x] == dist[a] - 1)
                frac /= n_next[a]
            for a, b in zip(path[:-1], path[1:]):
                loads[(a, b)] += bps * frac
    return loads


def max_abs_diff(got: dict, want: dict) -> float:
    return max(abs(got.get(k, 0.0) - want.get(k, 0.0)) for k in set(got) | set(want))


def timed(fn, *args, repeat: int = 1, **kw):
    best, out = np.inf, None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn(*args, **kw)
        best = min(best, time.perf_counter() - t0)
    return best, out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nodes", type=int, default=1000)
    ap.add_argument("--pairs", type=int, default=100, help="demands in the baseline sample")
    ap.add_argument("--steps", type=int, default=5, help="scenario steps to time")
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)

    g = geometric_graph(args.nodes, args.seed)
    n = g.number_of_nodes()
    print(f"graph: {n} nodes, {g.number_of_edges()} links, radius {g.graph['radius']:.4f}, "
          f"diameter {nx.diameter(g)} hops")
    nodes = list(g.nodes)
    src, dst = np.nonzero(~np.eye(n, dtype=bool))
    all_pairs = {(nodes[s], nodes[t]): DEMAND_BPS for s, t in zip(src.tolist(), dst.tolist())}

    t_all, loads_all = timed(ecmp_loads, g, all_pairs, repeat=3)
    total = sum(loads_all.values())
    print(f"ecmp_loads, all {len(all_pairs):,} pairs: {t_all:.3f} s (best of 3; "
          f"{total / DEMAND_BPS / len(all_pairs):.2f} hops per demand on average)")

    pick = rng.choice(len(src), size=min(args.pairs, len(src)), replace=False)
    sample = {(nodes[src[i]], nodes[dst[i]]): DEMAND_BPS for i in pick}
    t_base, ref = timed(baseline_loads, g, sample)
    t_same, got = timed(ecmp_loads, g, sample, repeat=3)
    err = max_abs_diff(got, ref)
    assert err <= 1e-9 * DEMAND_BPS, f"ECMP disagrees with the networkx baseline by {err} bit/s"
    t_base_all = t_base / len(sample) * len(all_pairs)
    print(f"baseline (nx.all_shortest_paths) on {len(sample)} sampled pairs: {t_base:.2f} s; "
          f"ecmp_loads on the same pairs: {t_same:.3f} s; ratio {t_base / t_same:.0f}x; "
          f"max |difference| {err:.2e} bit/s")
    ratio = t_base_all / t_all
    print(f"baseline extrapolated to all pairs: {t_base_all:,.0f} s "
          f"({t_base_all / 3600:.1f} h); ratio to ecmp_loads all pairs: {ratio:,.0f}x")

    router = Router(g)
    s_idx, d_idx = src.astype(np.int64), dst.astype(np.int64)
    bps = np.full(len(s_idx), DEMAND_BPS)

    def step(cut: int) -> tuple[float, float, float]:
        res = router.route((s_idx, d_idx, bps), link_up=np.arange(len(router.links)) != cut,
                           edge_delay_s=link_delay_s)
        util = res.utilization
        lat = res.latency_s[res.routable & (res.src != res.dst)]
        p50, p95 = np.percentile(lat, [50, 95])
        return float(util.max()), float(p50), float(p95)

    cuts = rng.integers(0, len(router.links), args.steps)
    t0 = time.perf_counter()
    out = [step(int(c)) for c in cuts]
    t_step = (time.perf_counter() - t0) / args.steps
    umax, p50, p95 = out[-1]
    print(f"scenario step (route + utilization + M/M/1 + latency p50/p95), all pairs: "
          f"{t_step:.3f} s/step, {1 / t_step:.2f} steps/s "
          f"(last step: max utilization {umax:.2f}, latency p50 {p50 * 1e6:.0f} us, "
          f"p95 {p95 * 1e6:.0f} us)")

    ok = ratio >= 20 and t_all < 2.0
    print(f"targets: ratio >= 20x {'met' if ratio >= 20 else 'MISSED'}, "
          f"all pairs < 2 s {'met' if t_all < 2.0 else 'MISSED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
