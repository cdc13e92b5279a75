"""The compiled router against the scipy router it replaced and against networkx.

``tests/scipy_router.py`` is the previous implementation (dense
destination x edge arrays, sparse fixed points), independent of the
compiled kernels. On random multigraphs with parallel links of unequal
weight, down links, down nodes, disconnected parts, demands at down nodes
and src == dst, both must give the same loads, routable demands, expected
latency and tail-drop delivery, for ECMP and SPF, by hops and by weight,
and through both kernels of ECMP by hops (the BFS-recorded DAG and the
general walk).
"""

from __future__ import annotations

from collections import defaultdict

import networkx as nx
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import scipy_router as ref
from twin3d.physics import routing
from twin3d.physics.transport import Router


def random_case(seed: int, weighted: bool):
    """A random multigraph (maybe disconnected), link and node states, demands, capacities."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 15))
    g = nx.MultiGraph()
    g.add_nodes_from(rng.permutation(n).tolist())
    for k in range(int(rng.integers(0, 3 * n + 1))):
        a, b = (int(x) for x in rng.integers(0, n, 2))
        w = float(rng.choice([1.0, 1.5, 2.0, 3.0, 0.1 + 0.2])) if weighted else 1.0
        g.add_edge(a, b, key=f"L{k:02d}", w=w, length_m=float(rng.integers(100, 5000)),
                   capacity_bps=float(rng.uniform(1, 60)))
        if rng.random() < 0.3:                                   # a parallel link
            g.add_edge(a, b, key=f"P{k:02d}", w=w if rng.random() < 0.5 else w + 1.0,
                       length_m=float(rng.integers(100, 5000)),
                       capacity_bps=float(rng.uniform(1, 60)))
    r = Router(g, metric="w" if weighted else "hops")
    link_up = rng.random(len(r.links)) > 0.2
    node_up = rng.random(n) > 0.1
    nodes = r.nodes
    dem = {(nodes[i], nodes[j]): float(rng.uniform(0, 20))
           for i, j in rng.integers(0, n, (int(rng.integers(1, 4 * n + 2)), 2))}
    extra = rng.uniform(0, 1e-4, r.n_edges)
    return r, dem, link_up, node_up, extra


def reference(r: Router, dem, link_up, node_up, extra, mode):
    src, dst, bps = r.demand_arrays(dem)
    up = r._up_mask(None, link_up, node_up)
    load, routable, blocks = ref.route_arrays(r.n_nodes, r.u, r.v, r.weight, up, src, dst, bps,
                                              node_up, mode, r.metric == "hops", keep_blocks=True)
    lat = ref.expected_latency(blocks, r.prop_delay_s + extra, r.n_nodes, src, routable)
    delivered, offered, pf, rounds, converged = ref.lossy_delivery(
        blocks, r.capacity_bps, r.n_nodes, r.n_edges, src, bps, routable)
    return load, routable, lat, delivered, offered * pf, converged


@pytest.fixture(params=[True, False], ids=["hops-kernel", "general-kernel"])
def hops_kernel(request, monkeypatch):
    monkeypatch.setattr(routing, "_HOPS_KERNEL", request.param)
    return request.param


@settings(max_examples=80, deadline=None)
@given(seed=st.integers(0, 2**31), weighted=st.booleans(), mode=st.sampled_from(["ecmp", "spf"]))
def test_same_as_the_scipy_router(seed, weighted, mode):
    for flag in (True, False):
        routing._HOPS_KERNEL = flag
        try:
            _check_against_reference(seed, weighted, mode)
        finally:
            routing._HOPS_KERNEL = True


def _check_against_reference(seed, weighted, mode):
    r, dem, link_up, node_up, extra = random_case(seed, weighted)
    got = r.route(dem, mode=mode, link_up=link_up, node_up=node_up, edge_delay_s=extra,
                  capacity_bps=r.capacity_bps)
    load, routable, lat, delivered, carried, converged = reference(r, dem, link_up, node_up,
                                                                   extra, mode)
    scale = max(1.0, float(got.demand_bps.sum()))
    np.testing.assert_allclose(got.load_bps, load, rtol=1e-9, atol=1e-9 * scale)
    assert np.array_equal(got.routable, routable)
    np.testing.assert_allclose(got.latency_s, lat, rtol=1e-9, atol=1e-18)   # nan where unroutable
    assert got.converged == converged
    np.testing.assert_allclose(got.delivered_bps, delivered, rtol=1e-7, atol=1e-7 * scale)
    np.testing.assert_allclose(got.carried_bps, carried, rtol=1e-7, atol=1e-7 * scale)
    assert np.all(got.load_bps[~got.edge_up] == 0)


def test_all_pairs_on_a_larger_multigraph_both_kernels(hops_kernel):
    """60-node geometric graph, every fifth link doubled, a few links and nodes down, all pairs."""
    g = nx.MultiGraph(nx.random_geometric_graph(60, 0.25, seed=5))
    for i, (a, b, _) in enumerate(list(g.edges(keys=True))):
        g.edges[a, b, 0]["capacity_bps"] = 40.0
        if i % 5 == 0:
            g.add_edge(a, b, capacity_bps=25.0)
    r = Router(g)
    rng = np.random.default_rng(5)
    link_up = rng.random(len(r.links)) > 0.05
    node_up = np.ones(r.n_nodes, bool)
    node_up[[3, 17]] = False
    m = rng.uniform(0, 1, (r.n_nodes, r.n_nodes))
    extra = np.full(r.n_edges, 1e-5)
    for mode in ("ecmp", "spf"):
        got = r.route(m, mode=mode, link_up=link_up, node_up=node_up, edge_delay_s=extra,
                      capacity_bps=r.capacity_bps)
        src, dst, bps = r.demand_arrays(m)
        load, routable, lat, delivered, carried, converged = reference(
            r, (src, dst, bps), link_up, node_up, extra, mode)
        np.testing.assert_allclose(got.load_bps, load, rtol=1e-9, atol=1e-9)
        assert np.array_equal(got.routable, routable) and not routable.all()
        np.testing.assert_allclose(got.latency_s, lat, rtol=1e-9, atol=1e-18)
        assert converged and got.converged
        np.testing.assert_allclose(got.delivered_bps, delivered, rtol=1e-7, atol=1e-9)
        np.testing.assert_allclose(got.carried_bps, carried, rtol=1e-7, atol=1e-9)


def test_hops_equals_unit_weights():
    """BFS (hops) and Dijkstra on weights of 1 find the same DAGs."""
    g = nx.MultiGraph(nx.random_geometric_graph(50, 0.3, seed=2))
    for a, b, k in list(g.edges(keys=True))[::4]:
        g.add_edge(a, b)
    nx.set_edge_attributes(g, 1.0, "w")
    m = np.random.default_rng(2).uniform(0, 1, (50, 50))
    for mode in ("ecmp", "spf"):
        hops = Router(g).route(m, mode=mode)
        unit = Router(g, metric="w").route(m, mode=mode)
        np.testing.assert_allclose(hops.load_bps, unit.load_bps, rtol=1e-12)
        np.testing.assert_allclose(hops.latency_s, unit.latency_s, rtol=1e-12)


def plain_dag_loads(g: nx.Graph, demands: dict) -> dict:
    """ECMP by hops with networkx, one BFS DAG per destination (bench_ecmp's baseline)."""
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
            nxt = [b for b in g[a] if dist[b] == dist[a] - 1]
            for b in nxt:
                loads[(a, b)] += f / len(nxt)
                flow[b] = flow.get(b, 0.0) + f / len(nxt)
    return loads


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_all_pairs_equal_the_plain_networkx_dag_method(seed, hops_kernel):
    g = nx.random_geometric_graph(80, 0.2, seed=seed)            # maybe disconnected
    rng = np.random.default_rng(seed)
    nodes = list(g.nodes)
    dem = {(a, b): float(rng.uniform(0, 10)) for a in nodes for b in nodes}
    got = Router(g).route(dem, latency=False)
    want = plain_dag_loads(g, dem)
    loads = got.loads_dict()
    assert set(want) <= set(loads)
    for k, val in loads.items():
        assert val == pytest.approx(want.get(k, 0.0), rel=1e-9, abs=1e-9), k
    reach = {t: nx.node_connected_component(g, t) for t in nodes}
    assert got.routable.tolist() == [s in reach[t] for s, t in dem]


def test_a_weight_below_the_tolerance_is_reported_not_looped():
    """Two nodes 1e-12 apart at distance 1e4: both DAG edges pass the 1e-9 test (a cycle)."""
    g = nx.Graph()
    g.add_edge("A", "B", w=1e4)
    g.add_edge("B", "C", w=1e-12)
    with pytest.raises(RuntimeError, match="cycle"):
        Router(g, metric="w").route({("C", "A"): 1.0, ("B", "A"): 1.0})
