"""RoutingCache against Router.route on random sequences of changes.

Random multigraphs (parallel links, some unequal weights), ECMP and SPF, by
hops and by weight: links cut and restored, weights changed, nodes down and
up, demand bit/s scaled or changed per pair, capacities that leave every
edge below its capacity or overload one. After every call the cache must
give what a fresh :meth:`Router.route` gives (to 1e-12 relative).
"""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest

from twin3d.physics.incremental import RoutingCache
from twin3d.physics.transport import Router


def _graph(seed: int, n: int = 30):
    rng = np.random.default_rng(seed)
    g = nx.MultiGraph(nx.random_geometric_graph(n, 0.32, seed=seed))
    g.add_nodes_from(range(n))
    for a, b, k in list(g.edges(keys=True)):
        g.edges[a, b, k]["w"] = float(rng.choice([1.0, 2.0, 3.0, 0.5]))
        g.edges[a, b, k]["length_m"] = float(rng.integers(100, 5000))
        if rng.random() < 0.15:
            g.add_edge(a, b, w=float(rng.choice([1.0, 2.0])), length_m=1000.0)
    return g, rng


def _same(got, want, exact: bool):
    eq = np.testing.assert_array_equal if exact else (
        lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-12, atol=0))
    eq(got.load_bps, want.load_bps)
    assert np.array_equal(got.routable, want.routable)
    assert np.array_equal(got.edge_up, want.edge_up)
    np.testing.assert_allclose(got.latency_s, want.latency_s, rtol=1e-12, atol=0)
    np.testing.assert_allclose(got.delivered_bps, want.delivered_bps, rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(got.carried_bps, want.carried_bps, rtol=1e-12, atol=1e-9)
    assert got.converged == want.converged


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
@pytest.mark.parametrize("metric", ["hops", "w"])
@pytest.mark.parametrize("mode", ["ecmp", "spf"])
def test_cache_equals_router_on_random_changes(seed, metric, mode):
    g, rng = _graph(seed)
    r = Router(g, metric=metric)
    n, nl = r.n_nodes, len(r.links)
    src, dst = (a.ravel() for a in np.meshgrid(np.arange(n), np.arange(n), indexing="ij"))
    base = rng.uniform(0, 1e6, len(src))
    cache = RoutingCache(r, src, dst, mode)
    link_up = np.ones(nl, bool)
    node_up = np.ones(n, bool)
    weight = None
    bps = base.copy()
    cap = np.full(r.n_edges, 1e12)
    searched, trimmed, joined, fell = [], [], [], []
    for step in range(40):
        kind = rng.choice(["cut", "restore", "weight", "node", "scale", "pair", "overload"],
                          p=[0.35, 0.25, 0.12, 0.06, 0.08, 0.07, 0.07])
        c = cap
        if kind == "cut":
            link_up[rng.integers(nl)] = False
        elif kind == "restore" and not link_up.all():
            link_up[rng.choice(np.flatnonzero(~link_up))] = True
        elif kind == "weight":
            weight = (r.weight[np.argsort(r.link)][::2].copy() if weight is None else weight)
            weight = np.resize(weight, nl)
            weight[rng.integers(nl)] = float(rng.choice([0.5, 1.0, 2.0, 4.0]))
        elif kind == "node":
            node_up[rng.integers(n)] ^= True
        elif kind == "scale":
            bps = base * float(rng.uniform(0.5, 2.0))
        elif kind == "pair":
            bps = bps.copy()
            bps[rng.integers(len(bps), size=5)] = rng.uniform(0, 1e6, 5)
        elif kind == "overload":
            probe = r.route((src, dst, bps), mode=mode, link_up=link_up, node_up=node_up,
                            weight=weight, latency=False)
            c = cap.copy()
            c[int(np.argmax(probe.load_bps))] = 0.5 * float(probe.load_bps.max()) + 1.0
        args = dict(link_up=link_up, node_up=node_up, weight=weight, capacity_bps=c,
                    edge_delay_s=lambda load, cp: load * 1e-15)
        got = cache.route(bps, **args)
        want = r.route((src, dst, bps), mode=mode, **args)
        assert cache.fell_back == bool(np.any(want.load_bps > c))
        fell.append(cache.fell_back)
        _same(got, want, exact=False)
        searched.append(cache.searched)
        trimmed.append(cache.trimmed)
        joined.append(cache.joined)
    # the cache did search fewer destinations than all at some steps
    assert min(searched[1:]) < n
    assert any(fell) and not all(fell)
    assert mode == "spf" or (any(trimmed) and any(joined))   # SPF: one next hop, no ties


def test_latency_only_and_no_capacity():
    g, rng = _graph(9)
    r = Router(g)
    src, dst = rng.integers(0, r.n_nodes, (2, 300))
    cache = RoutingCache(r, src, dst)
    bps = rng.uniform(0, 1, 300)
    for cut in range(8):
        link_up = np.ones(len(r.links), bool)
        link_up[rng.integers(len(r.links), size=cut)] = False
        got = cache.route(bps, link_up=link_up, latency=False)
        want = r.route((src, dst, bps), link_up=link_up, latency=False)
        np.testing.assert_allclose(got.load_bps, want.load_bps, rtol=1e-12); assert got.latency_s is None
        got = cache.route(bps, link_up=link_up)
        want = r.route((src, dst, bps), link_up=link_up)
        np.testing.assert_allclose(got.latency_s, want.latency_s, rtol=1e-12)
        assert got.delivered_bps is None


def test_arena_compaction_keeps_results():
    g, rng = _graph(11, 40)
    r = Router(g)
    n = r.n_nodes
    src, dst = (a.ravel() for a in np.meshgrid(np.arange(n), np.arange(n), indexing="ij"))
    bps = rng.uniform(0, 1, len(src))
    cache = RoutingCache(r, src, dst)
    link_up = np.ones(len(r.links), bool)
    for step in range(60):
        # many links down at once, then back one by one: DAGs searched small grow by
        # joins past their room and are copied out, leaving garbage behind
        if link_up.all():
            link_up = rng.random(len(r.links)) > 0.4
        else:
            link_up[rng.choice(np.flatnonzero(~link_up), 2)] = True
        got = cache.route(bps, link_up=link_up, latency=False)
        np.testing.assert_allclose(got.load_bps, r.route((src, dst, bps), link_up=link_up,
                                                         latency=False).load_bps, rtol=1e-12)
    assert cache.compactions > 0


def test_bad_input():
    r = Router(nx.path_graph(3))
    with pytest.raises(ValueError):
        RoutingCache(r, [0], [5])
    with pytest.raises(ValueError):
        RoutingCache(r, [0], [1], mode="ospf")
    with pytest.raises(ValueError):
        RoutingCache(r, [0], [1]).route([-1.0])


def test_no_demands_and_edge_up():
    g, rng = _graph(5, 20)
    r = Router(g)
    empty = RoutingCache(r, [], [])
    res = empty.route(np.zeros(0), capacity_bps=np.ones(r.n_edges))
    assert res.load_bps.sum() == 0 and len(res.latency_s) == 0 and res.converged
    src, dst = rng.integers(0, r.n_nodes, (2, 100))
    bps = rng.uniform(0, 1, 100)
    cache = RoutingCache(r, src, dst)
    for _ in range(5):
        edge_up = rng.random(r.n_edges) > 0.2                  # one direction at a time
        got = cache.route(bps, edge_up=edge_up)
        want = r.route((src, dst, bps), edge_up=edge_up)
        np.testing.assert_allclose(got.load_bps, want.load_bps, rtol=1e-12)
        np.testing.assert_allclose(got.latency_s, want.latency_s, rtol=1e-12)
        assert np.array_equal(got.routable, want.routable)


@pytest.mark.parametrize("metric", ["hops", "w"])
def test_a_cut_and_a_restore_per_step_equal_the_router(metric):
    """The environments' opponent: each step cuts one link and restores another, so
    destinations lose DAG edges and gain tied ones in one call (trimmed, then
    joined, shifting segments within their slack or copying them out)."""
    g, rng = _graph(5, 40)
    r = Router(g, metric=metric)
    n, nl = r.n_nodes, len(r.links)
    src, dst = (a.ravel() for a in np.meshgrid(np.arange(n), np.arange(n), indexing="ij"))
    bps = rng.uniform(0, 1e6, len(src))
    cache = RoutingCache(r, src, dst)
    link_up = rng.random(nl) > 0.3               # many links down: restores join many DAGs
    both = joined = 0
    for step in range(50):
        down = np.flatnonzero(~link_up)
        up = np.flatnonzero(link_up)
        if len(down):
            link_up[rng.choice(down)] = True
        link_up[rng.choice(up)] = False
        args = dict(link_up=link_up, capacity_bps=np.full(r.n_edges, 1e12),
                    edge_delay_s=lambda load, cp: load * 1e-15)
        got = cache.route(bps, **args)
        want = r.route((src, dst, bps), **args)
        _same(got, want, exact=False)
        both += cache.trimmed > 0 and cache.joined > 0
        joined += cache.joined
    assert both > 5 and joined > 100
