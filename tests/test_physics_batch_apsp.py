"""The integer Floyd-Warshall distances (int16 or int32 rows) equal scipy's and the float search's.

:func:`twin3d.physics.batch_apsp.all_pairs_int` must give every distance of
``scipy.sparse.csgraph.shortest_path`` exactly (no path: ``NO_PATH``; the
padding columns 0) on random directed multigraphs with unreachable nodes,
parallel edges, ties and weight-1 edges; it must report a largest distance
at or past ``EXACT_TOP`` whenever one is (the caller then falls back to the
float search), including distances past ``NO_PATH`` and weights past int32;
and :func:`~twin3d.physics.batch_dense.record_dense` must give ``record``'s
arrays on every route it takes (counting sort, ranks by compares, float
fallback), and the batched step's outputs must not depend on what its
output buffers held before.
"""

from __future__ import annotations

import doctest

import networkx as nx
import numpy as np
import pytest
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import shortest_path

from test_physics_batch_dense import _assert_same_dags
from twin3d.physics import batch_apsp, batch_dense, batch_step
from twin3d.physics.batch_apsp import EXACT_TOP, NO_PATH, all_pairs_int, padded
from twin3d.physics.batch_step import BatchRouter
from twin3d.physics.transport import Router
from twin3d.sim.transport_step import route_step


def random_graph(seed: int, low: int = 1, high: int = 17):
    """(n, u, v, w): a random directed multigraph sorted by tail, some nodes
    without edges (unreachable), integer weights in [low, high)."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 70))
    m = int(rng.integers(0, 4 * n))
    u = rng.integers(0, n - 1, m)              # node n - 1 has no out-edges
    v = rng.integers(0, n, m)
    keep = u != v
    u, v = u[keep], v[keep]
    w = rng.integers(low, high, len(u)).astype(float)
    w[rng.random(len(u)) < 0.2] = 1.0
    order = np.argsort(u, kind="stable")
    return n, u[order], v[order], w[order]


def scipy_distances(n, u, v, w) -> np.ndarray:
    """Every distance (inf: none), parallel edges reduced to the lightest."""
    best = {}
    for a, b, x in zip(u.tolist(), v.tolist(), w.tolist()):
        best[a, b] = min(best.get((a, b), np.inf), x)
    if not best:
        d = np.full((n, n), np.inf)
        np.fill_diagonal(d, 0.0)
        return d
    a, b = np.array([k[0] for k in best]), np.array([k[1] for k in best])
    x = np.array(list(best.values()))
    return shortest_path(csr_matrix((x, (a, b)), shape=(n, n)), method="D")


def int_distances(n, u, v, w):
    out_ptr = np.r_[0, np.cumsum(np.bincount(u, minlength=n))].astype(np.int64)
    di = np.full((n, padded(n)), -5, np.int32)        # dirty: every entry must be written
    top = all_pairs_int(n, out_ptr, v.astype(np.int64), w, di, np.empty(padded(n), np.int32))
    return int(top), di


@pytest.mark.parametrize("seed", range(30))
def test_equals_scipy_and_the_float_search(seed):
    n, u, v, w = random_graph(seed)
    top, di = int_distances(n, u, v, w)
    want = scipy_distances(n, u, v, w)
    finite = np.isfinite(want)
    assert top == (want[finite].max() if finite.any() else 0)
    assert top < EXACT_TOP
    assert np.array_equal(di[:, :n][finite], want[finite].astype(np.int32))
    assert (di[:, :n][~finite] == NO_PATH).all()
    assert (di[:, n:] == 0).all()                     # padding
    assert padded(n) % 16 == 0 and padded(n) >= n
    # the float search (Bellman-Ford, the fallback) finds the same
    out_ptr = np.r_[0, np.cumsum(np.bincount(u, minlength=n))].astype(np.int64)
    dmat = np.empty((n, n))
    batch_dense.all_pairs(n, out_ptr, v, w, dmat, np.empty(n, bool), np.empty(n, bool))
    assert np.array_equal(dmat, want)
    if seed < 3:
        assert (~finite).any()                        # unreachable pairs are exercised


@pytest.mark.parametrize("seed", range(12))
def test_large_weights_report_the_fallback(seed):
    """Weights up to 2**40 (past int32 and past NO_PATH when summed): the
    returned largest distance is at or past EXACT_TOP exactly when scipy's is,
    and every distance below EXACT_TOP is exact either way."""
    n, u, v, w = random_graph(50 + seed)
    rng = np.random.default_rng(seed)
    big = rng.random(len(u)) < 0.3
    w = w.copy()
    w[big] = rng.choice([2.0e8, 3.0e8, 4.9e8, 5.0e8, 6e8, 2.0 ** 31, 2.0 ** 40], big.sum())
    top, di = int_distances(n, u, v, w)
    want = scipy_distances(n, u, v, w)
    finite = np.isfinite(want)
    true_top = want[finite].max() if finite.any() else 0.0
    assert (top >= EXACT_TOP) == (true_top >= EXACT_TOP)
    exact = want < EXACT_TOP
    assert np.array_equal(di[:, :n][exact], want[exact].astype(np.int32))
    assert (di[:, :n][~finite] == NO_PATH).all()
    if top < EXACT_TOP:
        assert np.array_equal(di[:, :n] == NO_PATH, ~finite)


@pytest.mark.parametrize("step", [2730, 2731])
def test_the_int16_search_up_to_its_bound_and_the_int32_past_it(step):
    """A chain of 6 edges of ``step``: 6 x 2730 = 16380 is below NO_PATH_16 (the
    int16 rows), 6 x 2731 = 16386 is not (int32): both give every distance, the
    far end's (the largest a path can reach) included; so does a random graph
    whose largest weight times n - 1 just fits."""
    n = 7
    u, v = np.arange(6), np.arange(1, 7)
    top, di = int_distances(n, u, v, np.full(6, float(step)))
    assert (step * 6 < batch_apsp.NO_PATH_16) == (step == 2730)
    assert top == 6 * step and di[0, 6] == 6 * step
    assert di[:, :n].tolist() == [[(b - a) * step if b >= a else NO_PATH for b in range(n)]
                                  for a in range(n)]
    for seed in range(5):
        n, u, v, w = random_graph(200 + seed)
        w = np.floor(w / w.max() * ((int(batch_apsp.NO_PATH_16) - 1) // max(n - 1, 1)))
        w = np.maximum(w, 1.0)
        assert w.max() * (n - 1) < batch_apsp.NO_PATH_16
        top, di = int_distances(n, u, v, w)
        want = scipy_distances(n, u, v, w)
        finite = np.isfinite(want)
        assert top == (want[finite].max() if finite.any() else 0)
        assert np.array_equal(di[:, :n][finite], want[finite].astype(np.int32))
        assert (di[:, :n][~finite] == NO_PATH).all() and (di[:, n:] == 0).all()


def test_a_chain_past_no_path_is_not_taken_for_no_path():
    """Five edges of 4.9e8: the far end is 2.45e9 away (past NO_PATH and int32):
    its entry is clamped, but a nearer node lies between EXACT_TOP and NO_PATH."""
    n = 6
    u, v = np.arange(5), np.arange(1, 6)
    top, di = int_distances(n, u, v, np.full(5, 4.9e8))
    assert top >= EXACT_TOP
    assert di[0, 1] == 490_000_000 and di[0, 2] == 980_000_000
    assert di[0, 5] == NO_PATH and di[5, 0] == NO_PATH


@pytest.mark.parametrize("spf", [False, True])
@pytest.mark.parametrize("seed", range(8))
def test_record_dense_on_each_route(seed, spf):
    """Distances small (counting sort), large but exact (ranks by compares:
    past the buckets), and past EXACT_TOP (float fallback): ``record``'s arrays."""
    n, u, v, w = random_graph(100 + seed, 1, 6)
    m = len(u)
    dests = np.arange(n) if seed % 2 else np.sort(
        np.random.default_rng(seed).choice(n, max(1, n // 3), replace=False)).astype(np.int64)
    routes = set()
    for scale in (1.0, 1e5, 3e8):
        ws = w * scale
        top, _ = int_distances(n, u, v, ws)
        counting = top + 2 <= batch_dense._BUCKETS * n + 2
        routes.add("float" if top >= EXACT_TOP else "count" if counting else "compare")
        if m:
            _assert_same_dags(n, u, v, ws, dests, spf)
    if m > n:
        assert {"count", "compare"} <= routes


def test_record_dense_on_the_zoo_weights():
    """Geant2012-like: every destination, weights 1 to 16, some links out."""
    g = nx.random_regular_graph(4, 37, seed=1)
    g = nx.MultiGraph(nx.relabel_nodes(g, {i: f"N{i}" for i in g}))
    r = Router(g, metric="hops")
    rng = np.random.default_rng(5)
    keep = rng.random(r.n_edges) > 0.1
    u, v = np.asarray(r.u)[keep], np.asarray(r.v)[keep]
    w = rng.integers(1, 17, len(r.links))[np.asarray(r.link)[keep]].astype(float)
    order = np.argsort(u, kind="stable")
    _assert_same_dags(r.n_nodes, u[order], v[order], w[order], np.arange(r.n_nodes))


def test_step_outputs_do_not_depend_on_the_buffers(monkeypatch):
    """The kernel writes every output entry it should: buffers full of garbage
    (as ``np.empty`` may hand back) give the results of zeroed ones."""
    g = nx.random_regular_graph(3, 16, seed=2)
    g = nx.MultiGraph(nx.relabel_nodes(g, {i: f"N{i}" for i in g}))
    r = Router(g, metric="hops")
    i, j = np.nonzero(~np.eye(r.n_nodes, dtype=bool))
    rng = np.random.default_rng(7)
    nb, nl = 5, len(r.links)
    bps = rng.uniform(0.5, 2.0, (nb, len(i))) * 3e8
    link_up = rng.random((nb, nl)) > 0.1
    node_up = rng.random((nb, r.n_nodes)) > 0.05
    cap = rng.uniform(1e9, 5e9, (nb, nl))
    weight = rng.integers(1, 17, (nb, nl)).astype(float)
    want = BatchRouter(r, i, j).step(bps, link_up, node_up, cap, weight, 1.3)
    assert want.n_waves.max() >= 1 and (want.delivered_bps < want.demand_bps).any()
    alloc = batch_step._alloc

    def dirty(*shape):
        out = alloc(*shape)
        for a in out:
            a[...] = True if a.dtype == bool else 7
        return out

    monkeypatch.setattr(batch_step, "_alloc", dirty)
    got = BatchRouter(r, i, j).step(bps, link_up, node_up, cap, weight, 1.3)
    monkeypatch.undo()
    for name, x, y in zip(want._fields, got, want):
        if name not in ("tripped", "trip_wave", "trip_util"):
            assert np.array_equal(x, y, equal_nan=True), name
    # the two the kernel writes only where a link trips start from zeros
    plain = batch_step._alloc(nb, nl, len(i))
    assert not plain[8].any() and not plain[10].any()
    for b in range(nb):
        s = route_step(r, (i, j, bps[b]), link_up[b], node_up[b], cap[b], 1.3, weight=weight[b])
        assert np.array_equal(want.delivered_bps[b], s.routing.delivered_bps)


def test_doctests():
    assert doctest.testmod(batch_apsp).failed == 0
