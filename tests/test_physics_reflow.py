"""Incremental rerouting by flow updates (dagflow.reflow) against full recomputes.

A cut or a restore that leaves a destination's distances as they were
only moves the flow below the tails that lost or gained next hops; the
cache recomputes those nodes' throughput instead of pushing the whole DAG.
Checked on random cut/restore sequences (the environments' opponent: one
link cut and the previous one restored per step), on multigraphs with
parallel links, bridges and pendant chains (cuts that disconnect nodes),
against a fresh :meth:`Router.route` (1e-12 relative: every node is
recomputed from its neighbours, so nothing drifts) and against a plain
networkx reference written here (1e-9).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections import defaultdict

import networkx as nx
import numpy as np
import pytest

from twin3d.physics.incremental import RoutingCache
from twin3d.physics.transport import Router
from twin3d.sim.kpi import weighted_percentiles, weighted_stats

from conftest import ROOT


def _graph(seed: int, n: int = 36):
    """A random geometric multigraph with parallel links, a pendant chain and a
    bridge to a small far cluster (cuts there disconnect nodes)."""
    rng = np.random.default_rng(seed)
    g = nx.MultiGraph(nx.random_geometric_graph(n, 0.3, seed=seed))
    g.add_nodes_from(range(n))
    for a, b, k in list(g.edges(keys=True)):
        g.edges[a, b, k]["w"] = float(rng.choice([1.0, 2.0, 3.0]))
        g.edges[a, b, k]["length_m"] = float(rng.integers(100, 5000))
        if rng.random() < 0.2:                    # a parallel link, often of equal cost
            g.add_edge(a, b, w=float(rng.choice([1.0, 1.0, 2.0])), length_m=1000.0)
    g.add_edge(0, n, w=1.0, length_m=500.0)        # pendant chain n, n + 1
    g.add_edge(n, n + 1, w=1.0, length_m=500.0)
    g.add_edge(1, n + 2, w=2.0, length_m=800.0)    # bridge to a triangle
    g.add_edge(n + 2, n + 3, w=1.0, length_m=300.0)
    g.add_edge(n + 3, n + 4, w=1.0, length_m=300.0)
    g.add_edge(n + 4, n + 2, w=1.0, length_m=300.0)
    return g, rng


def _nx_loads(g, link_up: np.ndarray, bps: dict, metric: str) -> dict:
    """ECMP loads per directed edge (tail, head, key): per destination, distances by
    networkx, then nodes farthest first pass their flow evenly over their DAG edges."""
    up = nx.MultiGraph()
    up.add_nodes_from(g)
    up.add_edges_from((a, b, k, d) for (a, b, k, d), ok in zip(g.edges(keys=True, data=True), link_up)
                      if ok)                      # the router's links are the graph's edges in order
    weight = (lambda d: 1.0) if metric == "hops" else (lambda d: d["w"])
    load: dict = defaultdict(float)
    for t in up:
        dist = nx.single_source_dijkstra_path_length(
            up, t, weight=lambda a, b, ks: min(weight(d) for d in ks.values()))
        x = defaultdict(float)
        for s in dist:
            if s != t:
                x[s] += bps[s, t]
        for a in sorted(dist, key=dist.get, reverse=True):
            if a == t:
                continue
            hops = [(b, k) for b, ks in up[a].items() for k, d in ks.items()
                    if abs(dist[a] - weight(d) - dist[b]) <= 1e-9 * dist[a]]
            for b, k in hops:
                load[a, b, k] += x[a] / len(hops)
                x[b] += x[a] / len(hops)
    return load


def _as_edges(r: Router, load: dict) -> np.ndarray:
    return np.array([load.get((r.nodes[u], r.nodes[v], r.links[k]), 0.0)
                     for u, v, k in zip(r.u, r.v, r.link)])


def _all_pairs(r: Router, rng):
    n = r.n_nodes
    src, dst = (a.ravel() for a in np.meshgrid(np.arange(n), np.arange(n), indexing="ij"))
    keep = src != dst
    return src[keep], dst[keep], rng.uniform(1e5, 1e6, int(keep.sum()))


def _check(cache, r, src, dst, bps, link_up, mode="ecmp"):
    args = dict(link_up=link_up, capacity_bps=np.full(r.n_edges, 1e15),
                edge_delay_s=lambda load, cap: load * 1e-15)
    got = cache.route(bps, **args)
    want = r.route((src, dst, bps), mode=mode, **args)
    np.testing.assert_allclose(got.load_bps, want.load_bps, rtol=1e-12, atol=0)
    assert np.array_equal(got.routable, want.routable)
    np.testing.assert_allclose(got.latency_s, want.latency_s, rtol=1e-12, atol=0)
    np.testing.assert_array_equal(got.delivered_bps, want.delivered_bps)
    return got


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("metric", ["hops", "w"])
def test_cut_and_restore_per_step_equal_full_routing_and_networkx(seed, metric):
    g, rng = _graph(seed)
    r = Router(g, metric=metric)
    src, dst, bps = _all_pairs(r, rng)
    pair_bps = {(r.nodes[s], r.nodes[t]): b for s, t, b in zip(src, dst, bps)}
    cache = RoutingCache(r, src, dst)
    nl = len(r.links)
    link_up = np.ones(nl, bool)
    bridges = [i for i, (a, b) in enumerate(g.edges()) if {a, b} & {36, 37, 38}]
    last = None
    trimmed = joined = reflowed = updated = lost_reach = 0
    for step in range(40):
        up_links = np.flatnonzero(link_up)
        cut = int(rng.choice(bridges) if step % 7 == 3 else rng.choice(up_links))
        link_up = link_up.copy()
        link_up[cut] = False
        if last is not None and last != cut:
            link_up[last] = True
        last = cut
        if step % 5 == 4:                          # and the demand changes in the same call
            bps = bps * float(rng.uniform(0.8, 1.2))
            pair_bps = {k: v for k, v in zip(pair_bps, bps)}
        before = cache._routable.copy() if cache._routable is not None else None
        got = _check(cache, r, src, dst, bps, link_up)
        if before is not None and not np.array_equal(before, got.routable):
            lost_reach += 1
        ref = _as_edges(r, _nx_loads(g, link_up, pair_bps, metric))
        np.testing.assert_allclose(got.load_bps, ref, rtol=1e-9, atol=1e-6)
        trimmed += cache.trimmed
        joined += cache.joined
        reflowed += cache.reflowed
        # distances that change are updated, not searched (dagdynamic)
        assert cache.searched == (len(cache._dests) if step == 0 else 0)
        updated += cache.updated
    assert trimmed > 50 and joined > 20 and updated > 10 and lost_reach >= 2
    # the flow moved below the changed tails only: fewer nodes than the trimmed, joined
    # and updated destinations' DAGs hold (each reaches every one of the n nodes)
    assert 0 < reflowed < 0.5 * (trimmed + joined + updated) * r.n_nodes


def test_a_tail_losing_its_last_next_hop_is_updated():
    """A -> B -> D and A -> C -> D tie; B -> D is B's only next hop to D. Cutting
    A -> B trims (A keeps C); cutting B -> D then leaves B no next hop: its distance
    grows, updated without a search."""
    g = nx.MultiGraph([("A", "B", "AB"), ("A", "C", "AC"), ("B", "D", "BD"),
                       ("C", "D", "CD"), ("B", "E", "BE"), ("E", "F", "EF"), ("F", "D", "FD")])
    r = Router(g)
    ids = r.node_index
    src = np.array([ids["A"], ids["B"], ids["E"]])
    dst = np.full(3, ids["D"])
    bps = np.array([4e9, 2e9, 1e9])
    cache = RoutingCache(r, src, dst)
    link_up = np.ones(len(r.links), bool)
    _check(cache, r, src, dst, bps, link_up)
    link_up[r.links.index("AB")] = False
    got = _check(cache, r, src, dst, bps, link_up)
    assert (cache.trimmed, cache.searched) == (1, 0)
    load = dict(zip(r.edge_keys, got.load_bps))
    assert load["A", "C", "AC"] == 4e9 and load["C", "D", "CD"] == 4e9
    assert load["B", "D", "BD"] == 2.5e9     # B's own 2 + half of E's 1 (E -> B, E -> F tie)
    link_up[r.links.index("BD")] = False               # B's last next hop: B -> E -> F -> D
    got = _check(cache, r, src, dst, bps, link_up)
    assert (cache.updated, cache.searched) == (1, 0)
    assert cache._dist[ids["D"], ids["B"]] == 3.0
    load = dict(zip(r.edge_keys, got.load_bps))
    assert load["B", "E", "BE"] == 2e9 and load["F", "D", "FD"] == 3e9
    # A -> B comes back: B -> A ties B -> E (3 hops either way), joined without a search
    link_up[r.links.index("AB")] = True
    got = _check(cache, r, src, dst, bps, link_up)
    assert (cache.joined, cache.searched) == (1, 0)
    load = dict(zip(r.edge_keys, got.load_bps))
    assert load["B", "A", "AB"] == 1e9 and load["C", "D", "CD"] == 5e9 and load["F", "D", "FD"] == 2e9


def test_parallel_links_split_and_rejoin():
    """Three parallel equal links A = B: each takes a third; one cut, each a half;
    back, a third again (a join); all cut, B unreachable."""
    g = nx.MultiGraph([("A", "B", "L1"), ("A", "B", "L2"), ("A", "B", "L3"), ("C", "A", "CA")])
    r = Router(g)
    i = r.node_index
    src, dst, bps = np.array([i["A"], i["C"]]), np.array([i["B"], i["B"]]), np.array([3e9, 3e9])
    cache = RoutingCache(r, src, dst)
    ab = [e for e, (u, v, k) in enumerate(r.edge_keys) if (u, v) == ("A", "B")]
    link_up = np.ones(len(r.links), bool)
    np.testing.assert_allclose(_check(cache, r, src, dst, bps, link_up).load_bps[ab], 2e9)
    link_up[r.links.index("L2")] = False
    got = _check(cache, r, src, dst, bps, link_up)
    assert cache.trimmed == 1 and sorted(got.load_bps[ab]) == [0.0, 3e9, 3e9]
    link_up[r.links.index("L2")] = True
    got = _check(cache, r, src, dst, bps, link_up)
    assert cache.joined == 1
    np.testing.assert_allclose(got.load_bps[ab], 2e9, rtol=1e-15)
    link_up[[r.links.index(k) for k in ("L1", "L2", "L3")]] = False
    got = _check(cache, r, src, dst, bps, link_up)
    assert not got.routable.any() and got.load_bps.sum() == 0.0


def test_latency_is_laid_out_on_first_read_and_its_sample_gives_the_percentiles():
    g, rng = _graph(4, 24)
    r = Router(g)
    src, dst, bps = _all_pairs(r, rng)
    src, dst, bps = np.r_[src, 3, 5], np.r_[dst, 3, 5], np.r_[bps, 7e5, 2e5]   # src == dst too
    cache = RoutingCache(r, src, dst)
    link_up = np.ones(len(r.links), bool)
    link_up[[0, 5]] = False
    res = cache.route(bps, link_up=link_up, edge_delay_s=lambda load, cap: load * 1e-15)
    want = r.route((src, dst, bps), link_up=link_up, edge_delay_s=lambda load, cap: load * 1e-15)
    assert "_deferred_latency_s" in vars(res) and not isinstance(vars(res)["_deferred_latency_s"],
                                                                 np.ndarray)
    np.testing.assert_allclose(res.latency_s, want.latency_s, rtol=1e-12)
    assert isinstance(vars(res)["_deferred_latency_s"], np.ndarray)     # kept once laid out
    values, weights, stats = res.latency_sample
    assert stats == weighted_stats(values, weights)        # counted as the walk made them
    qs = [5, 50, 95, 99]
    np.testing.assert_allclose(weighted_percentiles(res.latency_sample[0], qs, res.latency_sample[1]),
                               weighted_percentiles(want.latency_s, qs, bps), rtol=1e-12)


_EPISODE = """
import sys
sys.path.insert(0, sys.argv[1])
import numpy as np, gymnasium as gym, tempfile, pathlib, twin3d, twin3d.envs
from bench_ecmp import geometric_graph, write_scene
from bench_envs import one_link_per_step
scene = twin3d.load_scene(write_scene(geometric_graph(70, 5), pathlib.Path(tempfile.mkdtemp()),
                                      1e12, 2, 5))
env = gym.make("twin3d/TrafficEngineering-v0", scene=scene, steps=12, incremental=True,
               opponent=one_link_per_step(list(scene.twin.links), 5)).unwrapped
from twin3d.physics.incremental import RoutingCache
route, seen = RoutingCache.route, []
def counted(self, *a, **k):
    out = route(self, *a, **k)
    seen.append(self.trimmed + self.joined)
    return out
RoutingCache.route = counted
env.reset(seed=int(sys.argv[2])); rng = np.random.default_rng(0); done = False
while not done:        # a link event per step; now and then one link's weight moves a rung
    a = np.zeros(len(env.link_ids), dtype=np.int64)
    a[rng.integers(len(a))] = rng.integers(2)
    obs, r, te, tr, info = env.step(a); done = te or tr
assert sum(seen) > 0                            # trims and joins did happen
print(info["episode_hash"])
"""


def test_incremental_episode_hash_is_the_same_in_two_processes(tmp_path):
    script = tmp_path / "ep.py"
    script.write_text(_EPISODE)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    run = lambda seed: subprocess.run(  # noqa: E731
        [sys.executable, str(script), str(ROOT / "benchmarks"), str(seed)], cwd=ROOT,
        capture_output=True, text=True, timeout=600, env=env)
    first, second = run(3), run(3)
    assert first.returncode == 0, first.stderr[-2000:]
    assert len(first.stdout.strip()) == 64 and first.stdout == second.stdout
