"""Time twin3d's array ECMP against networkx baselines, and a whole simulator step.

Graph: a seeded ``networkx.random_geometric_graph`` (1,000 nodes by default,
the smallest radius, in 2 % steps, that leaves it connected), links of
100 Gb/s, lengths from the unit square scaled to 100 km. Demands: every
ordered pair, 1 Mbit/s each. Metric: hops (the case with many ties).

* twin3d: ``ecmp_loads`` on all pairs, timed in full (the demand dict of
  ~10^6 pairs to arrays included). ``bench_router_scaling.py`` times the
  router on demand matrices across sizes, with growth exponents.
* fair baseline, the best plain networkx method: for each destination one
  BFS (``nx.single_source_shortest_path_length``) gives the shortest-path
  DAG; nodes are processed in decreasing distance, each adding its own
  demand to what flows through it and splitting the sum evenly over its
  next hops. Timed on all pairs, no extrapolation; its loads must equal
  ``ecmp_loads``'.
* path-enumeration baseline: for each demand, every shortest path from
  ``nx.all_shortest_paths``, each carrying the product over its hops of
  1/(number of shortest next hops). Enumerating paths costs hours for all
  ~10^6 pairs (some pairs have millions of equal-hop paths), so it is timed
  on a seeded random sample of pairs and extrapolated per pair; ``ecmp_loads``
  also runs on that same sample, head to head, and the two must agree.
* ``Simulator.run`` on a scene written from the same graph (sites,
  straight links of 100 Gbit/s, a gravity demand of ``--busy-bps`` over
  all pairs, ECMP by hops, a cumulative random fibre cut every step): each
  ``Simulator.step`` is everything a step does, the cascade
  (``route_with_cascade``: route, trip links past 1.2 x capacity, reroute)
  and the capacity-aware route with M/M/1 edge delays and tail drop,
  KPIs included.

Usage::

    python3 benchmarks/bench_ecmp.py [--nodes 1000 --pairs 100 --steps 5 --seed 7]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import networkx as nx
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import twin3d  # noqa: E402
from twin3d.geo.frame import LocalFrame  # noqa: E402
from twin3d.physics.transport import ecmp_loads  # noqa: E402
from twin3d.sim.engine import Simulator  # noqa: E402

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


def dag_loads(g: nx.Graph, demands: dict) -> dict:
    """ECMP loads with plain networkx, one shortest-path DAG per destination (hops).

    For each destination: BFS distances; then every node, farthest first,
    sends what flows through it (its own demand plus what its upstream
    neighbours sent it) evenly over its next hops (neighbours one hop
    closer).
    """
    by_dst: dict = defaultdict(lambda: defaultdict(float))
    for (s, t), bps in demands.items():
        if s != t:
            by_dst[t][s] += bps
    loads: dict = defaultdict(float)
    for t, sources in by_dst.items():
        dist = nx.single_source_shortest_path_length(g, t)
        flow = dict(sources)
        for a in sorted(dist, key=dist.__getitem__, reverse=True):
            f = flow.get(a, 0.0)
            if a == t or f == 0.0:
                continue
            da = dist[a] - 1
            nxt = [b for b in g[a] if dist[b] == da]
            share = f / len(nxt)
            for b in nxt:
                loads[(a, b)] += share
                flow[b] = flow.get(b, 0.0) + share
    return loads


def write_scene(g: nx.Graph, folder: Path, busy_bps: float, steps: int, seed: int) -> Path:
    """The graph as a twin3d scene: sites, straight links, gravity demand, cuts."""
    frame = LocalFrame(25.0, 60.0)
    pos = nx.get_node_attributes(g, "pos")
    nodes = list(g.nodes)
    xy = np.array([pos[n] for n in nodes]) * SIDE_M - SIDE_M / 2
    lon, lat, _ = frame.to_wgs84(xy[:, 0], xy[:, 1], np.zeros(len(nodes)))
    sites = [{"type": "Feature", "geometry": {"type": "Point", "coordinates": [float(x), float(y)]},
              "properties": {"id": f"N{n}", "kind": "router"}} for n, x, y in zip(nodes, lon, lat)]
    edges = list(g.edges)
    links = [{"type": "Feature", "geometry": None,
              "properties": {"id": f"L{i}", "a": f"N{a}", "b": f"N{b}", "capacity_bps": 100e9}}
             for i, (a, b) in enumerate(edges)]
    (folder / "sites.geojson").write_text(json.dumps({"type": "FeatureCollection", "features": sites}))
    (folder / "links.geojson").write_text(json.dumps({"type": "FeatureCollection", "features": links}))
    cuts = np.random.default_rng(seed).choice(len(edges), size=max(steps - 1, 0), replace=False)
    events = ", ".join(f'{{ t = {t + 1}, kind = "fiber_cut", target = "L{c}" }}'
                       for t, c in enumerate(cuts))
    (folder / "graph.toml").write_text(f"""
[scene]
name = "geometric-{len(nodes)}"
[[source]]
path = "sites.geojson"
role = "sites"
[[source]]
path = "links.geojson"
role = "links"
[traffic]
demand = "gravity"
busy_hour_bps = {busy_bps!r}
routing = "ecmp"
metric = "hops"
trip_utilization = 1.2
[[scenario]]
name = "cuts"
steps = {steps}
profile = "flat"
events = [{events}]
""")
    return folder / "graph.toml"


def max_abs_diff(got: dict, want: dict) -> float:
    return max(abs(got.get(k, 0.0) - want.get(k, 0.0)) for k in set(got) | set(want))


def timed(fn, *args, repeat: int = 1, clock=time.perf_counter, **kw):
    """Best time of ``repeat`` calls by ``clock`` (wall time by default), and the result."""
    best, out = np.inf, None
    for _ in range(repeat):
        t0 = clock()
        out = fn(*args, **kw)
        best = min(best, clock() - t0)
    return best, out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nodes", type=int, default=1000)
    ap.add_argument("--pairs", type=int, default=100, help="demands in the baseline sample")
    ap.add_argument("--steps", type=int, default=5, help="scenario steps to time")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--busy-bps", type=float, default=1e12,
                    help="gravity demand over all pairs in the step benchmark, bit/s")
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
    t_dag, dag = timed(dag_loads, g, all_pairs)
    err_dag = max_abs_diff(loads_all, dag)
    assert err_dag <= 1e-9 * DEMAND_BPS * n, f"ECMP disagrees with the DAG baseline by {err_dag} bit/s"
    print(f"fair baseline (networkx BFS DAG per destination, accumulate down the DAG), all "
          f"{len(all_pairs):,} pairs: {t_dag:.2f} s; ecmp_loads is {t_dag / t_all:.1f}x faster; "
          f"max |difference| {err_dag:.2e} bit/s")

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

    with tempfile.TemporaryDirectory(prefix="bench-ecmp-") as tmp:
        scene = twin3d.load_scene(write_scene(g, Path(tmp), args.busy_bps, args.steps, args.seed))
    t0 = time.perf_counter()
    sim = Simulator(scene)
    t_init = time.perf_counter() - t0
    spec = scene.spec.scenarios[0]
    t0 = time.perf_counter()
    result = sim.run(spec)
    t_run = time.perf_counter() - t0
    t_step = t_run / len(result.steps)
    waves = sum(len(s.waves) for s in result.steps)
    last = result.steps[-1].kpis
    print(f"Simulator.step (cascade: route, trip, reroute; capacity-aware route with M/M/1 "
          f"edge delays and tail drop; KPIs), {len(sim.base_demands):,} gravity demands, "
          f"{args.steps} steps with cumulative cuts: {t_step:.3f} s/step, {1 / t_step:.2f} steps/s "
          f"(Simulator(scene) {t_init:.2f} s before; {waves} cascade waves; last step: max "
          f"utilization {last['util_max']:.2f}, latency p50 {last['latency_p50_ms']:.3f} ms, "
          f"p95 {last['latency_p95_ms']:.3f} ms, dropped {last['dropped_bps'] / 1e9:.2f} Gbit/s)")

    fair = t_dag / t_all
    ok = ratio >= 20 and t_all < 2.0 and fair >= 10
    print(f"targets: against path enumeration >= 20x {'met' if ratio >= 20 else 'MISSED'}, "
          f"against the fair baseline >= 10x {'met' if fair >= 10 else 'MISSED'}, "
          f"all pairs < 2 s {'met' if t_all < 2.0 else 'MISSED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
