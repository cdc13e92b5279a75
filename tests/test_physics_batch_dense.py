"""The dense all-destination search equals the router's Dijkstra, array for array.

:func:`twin3d.physics.batch_dense.record_dense` must give the arrays of
:func:`twin3d.physics.batch_dags.record` (heap Dijkstra) on graphs with
integer weights, parallel links and unreachable nodes, for ECMP and SPF;
Dijkstra's order must be (distance, node index), checked against networkx's
distances sorted by hand; and the batched step must deliver a demand whole
when nothing drops, as ``route_step`` does, where summing six ECMP shares of
1/6 would not give exactly 1.
"""

from __future__ import annotations

import doctest

import networkx as nx
import numpy as np
import pytest

from twin3d.physics import batch_dags, batch_dense, routing
from twin3d.physics.batch_step import BatchRouter
from twin3d.physics.transport import Router
from twin3d.sim.transport_step import route_step


def random_edges(seed: int):
    """(n, u, v, w) of a random directed multigraph, out-edges sorted by tail,
    integer weights, maybe disconnected."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(3, 30))
    m = int(rng.integers(n, 4 * n))
    u = rng.integers(0, n, m)
    v = rng.integers(0, n, m)
    keep = u != v
    u, v = u[keep], v[keep]
    w = rng.integers(1, 6, len(u)).astype(float)
    order = np.argsort(u, kind="stable")
    return n, u[order], v[order], w[order]


def csr(n, u, v, w):
    out_ptr = np.r_[0, np.cumsum(np.bincount(u, minlength=n))].astype(np.int64)
    rev = np.argsort(v, kind="stable")
    in_ptr = np.r_[0, np.cumsum(np.bincount(v, minlength=n))].astype(np.int64)
    return out_ptr, in_ptr, u[rev], w[rev]


@pytest.mark.parametrize("scale", [1.0, 3e8])         # distances compared exactly, or within 1e-9
@pytest.mark.parametrize("spf", [False, True])
@pytest.mark.parametrize("seed", range(12))
def test_record_dense_equals_record(seed, spf, scale):
    n, u, v, w = random_edges(seed)
    w = w * scale
    out_ptr, in_ptr, in_tail, in_w = csr(n, u, v, w)
    out_edge = np.arange(len(u))
    dests = np.arange(n)
    assert batch_dense.exact_integer_weights(w, n)
    ref = batch_dags.alloc(n, n, len(u))
    got = batch_dags.alloc(n, n, len(u))
    k_ref = batch_dags.record(n, out_ptr, v, w, out_edge, in_ptr, in_tail, in_w, False, spf, dests,
                              *ref[:8])
    k_got = batch_dense.record_dense(n, out_ptr, v, w, out_edge, spf, dests, *got[:8],
                                     *batch_dense.dense_alloc(n))
    assert k_got == k_ref
    cnt = ref[0]
    assert np.array_equal(got[0], cnt)
    for k in range(n):
        c = cnt[k]
        assert np.array_equal(got[1][k, :c], ref[1][k, :c])                  # order
        assert np.array_equal(got[2][k], ref[2][k])                          # pos
        assert np.array_equal(got[3][k, :c + 1], ref[3][k, :c + 1])          # ptr
        assert np.array_equal(got[4][k, 1:c], ref[4][k, 1:c])                # split
        assert np.array_equal(got[5][k, 1:c], ref[5][k, 1:c])                # bad
    assert np.array_equal(got[6][:k_ref], ref[6][:k_ref])
    assert np.array_equal(got[7][:k_ref], ref[7][:k_ref])


def _assert_same_dags(n, u, v, w, dests, spf=False):
    out_ptr, in_ptr, in_tail, in_w = csr(n, u, v, w)
    out_edge = np.arange(len(u))
    ref = batch_dags.alloc(len(dests), n, len(u))
    got = batch_dags.alloc(len(dests), n, len(u))
    k_ref = batch_dags.record(n, out_ptr, v, w, out_edge, in_ptr, in_tail, in_w, False, spf, dests,
                              *ref[:8])
    k_got = batch_dense.record_dense(n, out_ptr, v, w, out_edge, spf, dests, *got[:8],
                                     *batch_dense.dense_alloc(n))
    assert k_got == k_ref
    cnt = ref[0]
    assert np.array_equal(got[0], cnt)
    for k in range(len(dests)):
        c = cnt[k]
        assert np.array_equal(got[1][k, :c], ref[1][k, :c])
        assert np.array_equal(got[2][k], ref[2][k])
        assert np.array_equal(got[3][k, :c + 1], ref[3][k, :c + 1])
        assert np.array_equal(got[4][k, 1:c], ref[4][k, 1:c])
        assert np.array_equal(got[5][k, 1:c], ref[5][k, 1:c])
    assert np.array_equal(got[6][:k_ref], ref[6][:k_ref])
    assert np.array_equal(got[7][:k_ref], ref[7][:k_ref])


@pytest.mark.parametrize("seed", range(8))
def test_exact_path_some_destinations_wide_graphs_and_huge_weights(seed):
    """The int32 exact path (rows padded to 16): graphs wider than one pad
    (17 to 60 nodes), a subset of destinations (slots scattered per listed
    destination), and weights past int32 that no shortest path can use
    (clamped in the test) next to small ones, against the heap record."""
    rng = np.random.default_rng(100 + seed)
    n = int(rng.integers(17, 61))
    m = int(rng.integers(2 * n, 5 * n))
    u, v = rng.integers(0, n, m), rng.integers(0, n, m)
    keep = u != v
    u, v = u[keep], v[keep]
    w = rng.integers(1, 9, len(u)).astype(float)
    w[rng.random(len(u)) < 0.1] = 2.0 ** 40          # far beyond any distance of small weights
    chain = np.arange(n - 1)                           # a path both ways: every distance small
    u, v = np.r_[u, chain, chain + 1], np.r_[v, chain + 1, chain]
    w = np.r_[w, rng.integers(1, 9, 2 * (n - 1)).astype(float)]
    order = np.argsort(u, kind="stable")
    u, v, w = u[order], v[order], w[order]
    dests = np.sort(rng.choice(n, size=int(rng.integers(1, n)), replace=False)).astype(np.int64)
    assert w.max() > 2.0 ** 31 and batch_dense.exact_integer_weights(w, n)
    for ds in (dests, np.arange(n)):
        _assert_same_dags(n, u, v, w, ds)


@pytest.mark.parametrize("seed", range(6))
def test_dijkstra_pops_by_distance_then_index(seed):
    n, u, v, w = random_edges(seed)
    _, in_ptr, in_tail, in_w = csr(n, u, v, w)
    g = nx.DiGraph()
    g.add_nodes_from(range(n))
    for a, b, x in zip(u.tolist(), v.tolist(), w.tolist()):
        if not g.has_edge(a, b) or g[a][b]["w"] > x:
            g.add_edge(a, b, w=x)
    dist = np.full(n, np.inf)
    order = np.empty(n, np.int64)
    heap_d, heap_n = np.empty(len(u) + 1), np.empty(len(u) + 1, np.int64)
    for t in range(n):
        cnt = routing._distances(t, in_ptr, in_tail, in_w, False, dist, order, heap_d, heap_n)
        want = nx.shortest_path_length(g.reverse(), t, weight="w")
        assert sorted(want.items(), key=lambda kv: (kv[1], kv[0])) == \
            [(int(a), dist[a]) for a in order[:cnt]]
        dist[:] = np.inf


def test_exact_integer_weights_refuses_fractions_and_huge_sums():
    assert batch_dense.exact_integer_weights(np.array([1.0, 16.0]), 40)
    assert not batch_dense.exact_integer_weights(np.array([1.0, 1.5]), 40)
    assert not batch_dense.exact_integer_weights(np.array([2.0 ** 50]), 40)
    assert not batch_dense.exact_integer_weights(np.array([0.0, 1.0]), 40)


def test_batch_dense_and_heap_paths_agree_with_route_step():
    """Weights 1 to 16 (dense search) and the same weights plus 0.5 (heap): both as route_step."""
    g = nx.random_regular_graph(3, 24, seed=3)
    g = nx.MultiGraph(nx.relabel_nodes(g, {i: f"N{i}" for i in g}))
    r = Router(g, metric="hops")
    i, j = np.nonzero(~np.eye(r.n_nodes, dtype=bool))
    rng = np.random.default_rng(4)
    nb, nl = 6, len(r.links)
    bps = rng.uniform(0.5, 2.0, (nb, len(i))) * 1e8
    link_up = rng.random((nb, nl)) > 0.1
    node_up = np.ones((nb, r.n_nodes), bool)
    cap = rng.uniform(2e9, 6e9, (nb, nl))
    for frac in (0.0, 0.5):
        weight = rng.integers(1, 17, (nb, nl)) + frac
        res = BatchRouter(r, i, j).step(bps, link_up, node_up, cap, weight, 1.2)
        assert res.n_waves.max() >= 1
        for b in range(nb):
            s = route_step(r, (i, j, bps[b]), link_up[b], node_up[b], cap[b], 1.2, weight=weight[b])
            assert np.array_equal(res.link_load_bps[b], s.link_load_bps(nl))
            assert np.array_equal(res.latency_s[b], s.routing.latency_s, equal_nan=True)
            assert np.array_equal(res.delivered_bps[b], s.routing.delivered_bps)


def test_nothing_dropped_delivers_each_demand_whole():
    """Six equal next hops: 6 x (1/6) sums to 1 - 2**-53, but no link is full."""
    g = nx.MultiGraph([("S", f"M{k}", f"a{k}") for k in range(6)]
                      + [(f"M{k}", "D", f"b{k}") for k in range(6)])
    r = Router(g, metric="hops")
    s, d = r.nodes.index("S"), r.nodes.index("D")
    shares = 0.0
    for _ in range(6):
        shares += (1.0 / 6) * 1.0
    assert shares != 1.0                       # the survival pass would lose an ulp
    bps = np.array([[3e9]])
    res = BatchRouter(r, [s], [d]).step(bps, np.ones((1, 12), bool), np.ones((1, 8), bool),
                                        np.full((1, 12), 10e9), None, 2.0)
    ref = route_step(r, (np.array([s]), np.array([d]), bps[0]), np.ones(12, bool),
                     np.ones(8, bool), np.full(12, 10e9), 2.0)
    assert res.delivered_bps[0, 0] == 3e9 == ref.routing.delivered_bps[0]
    assert res.drop_rounds[0] == 1 and res.converged[0]


def test_doctests():
    assert doctest.testmod(batch_dense).failed == 0


@pytest.mark.parametrize("dense", [False, True])
@pytest.mark.parametrize("seed", range(8))
def test_flat_and_merged_walks_equal_the_node_by_node_replay(seed, dense):
    """``replay_flat`` (every pass over flat edge lists) and ``replay_pull2``
    (latency and survival in one walk, as the batched step runs them when
    traffic drops) give ``replay``'s passes bit for bit, on heap-recorded
    (tolerance) and densely recorded DAGs."""
    n, u, v, w = random_edges(200 + seed)
    if not dense:
        w = w * 1.37                                   # not integers: the tolerance DAGs
    out_ptr, in_ptr, in_tail, in_w = csr(n, u, v, w)
    out_edge = np.arange(len(u))
    rng = np.random.default_rng(seed)
    src = rng.integers(0, n, 3 * n)
    dst = rng.integers(0, n, 3 * n)
    _, _, dem_ptr, _, dem_src, _ = routing._group(src, dst, np.ones(len(src)), np.ones(n, bool), n)
    dests = np.flatnonzero(np.diff(dem_ptr)).astype(np.int64)
    dg = batch_dags.alloc(len(dests), n, len(u))
    if dense:
        batch_dense.record_dense(n, out_ptr, v, w, out_edge, False, dests, *dg[:8],
                                 *batch_dense.dense_alloc(n))
    else:
        batch_dags.record(n, out_ptr, v, w, out_edge, in_ptr, in_tail, in_w, False, False, dests,
                          *dg[:8])
    delay = rng.uniform(1e-4, 3e-2, len(u))
    pf = np.where(rng.random(len(u)) < 0.7, rng.uniform(0.2, 1.0, len(u)), 1.0)
    nc, none = len(dem_src), np.zeros(0)
    lat1, surv1 = np.full(nc, np.nan), np.ones(nc)
    assert batch_dags.replay(1, n, dests, dem_ptr, dem_src, none, delay, none, lat1, *dg[:8]) == 0
    assert batch_dags.replay(3, n, dests, dem_ptr, dem_src, none, pf, none, surv1, *dg[:8]) == 0
    batch_dags.tails(len(dests), dg[0], dg[1], dg[3], dg[8])
    lat2, surv2 = np.full(nc, np.nan), np.ones(nc)
    assert batch_dags.replay_pull2(n, dests, dem_ptr, dem_src, delay, pf, lat2, surv2,
                                   *dg[:8], dg[8]) == 0
    assert np.array_equal(lat1, lat2, equal_nan=True)
    assert np.array_equal(surv1, surv2)
    for kind, edge_val, nd_val in ((1, delay, np.nan), (3, pf, 1.0)):    # flat single passes
        got = np.full(nc, nd_val)
        assert batch_dags.replay_flat(kind, n, dests, dem_ptr, dem_src, none, edge_val, none, got,
                                      *dg[:8], dg[8]) == 0
        assert np.array_equal(got, lat1 if kind == 1 else surv1, equal_nan=True)
    bps = rng.uniform(0.0, 5e9, nc) * (rng.random(nc) < 0.8)          # some demands without flow
    for kind in (0, 2):                                                # the push passes
        ref_load, ref_dem = np.zeros(len(u)), np.zeros(nc)
        got_load, got_dem = np.zeros(len(u)), np.zeros(nc)
        assert batch_dags.replay(kind, n, dests, dem_ptr, dem_src, bps, pf, ref_load, ref_dem,
                                 *dg[:8]) == 0
        assert batch_dags.replay_flat(kind, n, dests, dem_ptr, dem_src, bps, pf, got_load, got_dem,
                                      *dg[:8], dg[8]) == 0
        assert np.array_equal(ref_load, got_load) and np.array_equal(ref_dem, got_dem)
        assert ref_load.any()
    assert np.isfinite(lat2).any() and (surv2 < 1).any()


@pytest.mark.parametrize("dense", [False, True])
@pytest.mark.parametrize("spf", [False, True])
@pytest.mark.parametrize("seed", range(10))
def test_recorded_tails_equal_the_tails_pass(seed, spf, dense):
    """``record`` / ``record_dense`` given ``dag_t`` write each DAG edge's tail
    as the separate :func:`~twin3d.physics.batch_dags.tails` pass does (the
    batched step relies on it), and leave the other arrays as without it;
    some destinations only (the scatter over ``dests``) and tolerance weights too."""
    n, u, v, w = random_edges(300 + seed)
    if not dense and seed % 2:
        w = w * 1.37                                   # not integers: the tolerance DAGs
    out_ptr, in_ptr, in_tail, in_w = csr(n, u, v, w)
    out_edge = np.arange(len(u))
    dests = np.arange(n) if seed % 3 == 0 else np.arange(0, n, 2)

    def rec(dg, with_tails):
        extra = (dg[8],) if with_tails else ()
        if dense:
            return batch_dense.record_dense(n, out_ptr, v, w, out_edge, spf, dests, *dg[:8],
                                            *batch_dense.dense_alloc(n), *extra)
        return batch_dags.record(n, out_ptr, v, w, out_edge, in_ptr, in_tail, in_w, False, spf,
                                 dests, *dg[:8], *extra)

    ref = batch_dags.alloc(len(dests), n, len(u))
    got = batch_dags.alloc(len(dests), n, len(u))
    k_ref = rec(ref, False)
    ref[8][:] = -7
    batch_dags.tails(len(dests), ref[0], ref[1], ref[3], ref[8])
    k_got = rec(got, True)
    assert k_got == k_ref
    assert np.array_equal(got[0], ref[0])
    for k in range(len(dests)):
        c = ref[0][k]
        assert np.array_equal(got[3][k, :c + 1], ref[3][k, :c + 1])
        lo, hi = ref[3][k, 1], ref[3][k, c] if c > 0 else ref[3][k, 1]
        assert np.array_equal(got[8][lo:hi], ref[8][lo:hi])
        assert (ref[8][lo:hi] >= 0).all()
    assert np.array_equal(got[6][:k_ref], ref[6][:k_ref])
    assert np.array_equal(got[7][:k_ref], ref[7][:k_ref])
    assert k_ref > 0
