"""The batched step engine equals ``route_step`` on every copy, bit for bit.

For the Topology Zoo scenes Abilene and Geant2012 and for small random
multigraphs with parallel links, B copies with their own link cuts, node
outages, integer weights, demand volumes and capacities low enough that
cascades trip links and overloaded links drop traffic: every output of
:meth:`BatchRouter.step` for copy b must equal ``route_step`` on copy b's
inputs exactly (``np.array_equal``; latency with nan where unroutable),
cascade waves, tail-drop rounds and convergence included, for ECMP and
SPF. A 4-node ring is checked against loads and drops worked out by hand.
"""

from __future__ import annotations

import doctest

import networkx as nx
import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from conftest import SCENES
from twin3d.loader import load_scene
from twin3d.physics import batch_dags, batch_step, routing
from twin3d.physics.batch_step import MAX_QUEUE_DELAY_S, BatchRouter
from twin3d.physics.transport import Router
from twin3d.sim import transport_step
from twin3d.sim.transport_step import route_step

TRIP = 1.3


@pytest.fixture(scope="module")
def zoo_routers():
    out = {}
    for name in ("Abilene", "Geant2012"):
        scene = load_scene(SCENES / "topologyzoo" / f"{name}.toml")
        out[name] = Router(scene.twin.graph, metric=scene.spec.traffic.metric)
    return out


def all_pairs(r: Router) -> tuple[np.ndarray, np.ndarray]:
    """Every ordered pair, plus two src == dst demands."""
    i, j = np.nonzero(~np.eye(r.n_nodes, dtype=bool))
    return np.r_[i, 0, r.n_nodes - 1], np.r_[j, 0, r.n_nodes - 1]


def random_inputs(r: Router, src, dst, nb: int, seed: int, all_ones: float = 0.2):
    """(bps, link_up, node_up, capacity, weight) for nb copies.

    Capacities are drawn around each link's load with every link up and
    weight 1, so that some links pass TRIP (a cascade) and some stay
    between 1 and TRIP (tail drop), a few are 0 or inf; a share ``all_ones`` of the copies has
    every weight 1 (breadth-first search when the metric is hops).
    """
    rng = np.random.default_rng(seed)
    nl, nd = len(r.links), len(src)
    base = rng.uniform(0.5, 2.0, nd) * 1e9
    ref = route_step(r, (src, dst, base), np.ones(nl, bool), np.ones(r.n_nodes, bool),
                     np.full(nl, np.inf), np.inf)
    link_load = np.maximum(ref.link_load_bps(nl), 1e8)
    bps = base * rng.uniform(0.7, 1.3, (nb, nd))
    bps[rng.random((nb, nd)) < 0.05] = 0.0                      # some idle demands
    link_up = rng.random((nb, nl)) > 0.1
    node_up = rng.random((nb, r.n_nodes)) > 0.05
    cap = link_load * rng.uniform(0.6, 2.5, (nb, nl))
    cap[rng.random((nb, nl)) < 0.03] = 0.0                      # trips as soon as it carries
    cap[rng.random((nb, nl)) < 0.03] = np.inf
    weight = rng.integers(1, 9, (nb, nl)).astype(float)
    weight[rng.random(nb) < all_ones] = 1.0
    return bps, link_up, node_up, cap, weight


def assert_batch_equals_steps(r: Router, src, dst, mode, bps, link_up, node_up, cap, weight,
                              trip=TRIP) -> None:
    """Both ways of BatchRouter (DAGs replayed or the router's kernels) equal route_step."""
    for reuse in (True, False):
        res = BatchRouter(r, src, dst, mode, reuse_dags=reuse).step(bps, link_up, node_up, cap,
                                                                    weight, trip)
        assert_equals_steps(res, r, src, dst, mode, bps, link_up, node_up, cap, weight, trip)


def assert_equals_steps(res, r: Router, src, dst, mode, bps, link_up, node_up, cap, weight,
                        trip) -> None:
    nl = len(r.links)
    for b in range(len(bps)):
        w = None if weight is None else weight[b]
        s = route_step(r, (src, dst, bps[b]), link_up[b], node_up[b], cap[b], trip, mode, weight=w)
        rt = s.routing
        tripped = np.zeros(nl, bool)
        for wave in s.waves:
            tripped[[r.links.index(k) for k in wave.tripped]] = True
        checks = {
            "link_up_after": (res.link_up_after[b], s.link_up),
            "link_util": (res.link_util[b], s.link_util),
            "link_load_bps": (res.link_load_bps[b], s.link_load_bps(nl)),
            "demand_bps": (res.demand_bps[b], rt.demand_bps),
            "delivered_bps": (res.delivered_bps[b], rt.delivered_bps),
            "routable": (res.routable[b], rt.routable),
            "tripped": (res.tripped[b], tripped),
        }
        for name, (got, want) in checks.items():
            assert got.dtype == want.dtype and np.array_equal(got, want), (name, b)
        assert np.array_equal(res.latency_s[b], rt.latency_s, equal_nan=True), ("latency_s", b)
        assert res.n_waves[b] == len(s.waves), b
        assert res.converged[b] == rt.converged, b
        assert res.drop_rounds[b] == rt.drop_rounds, b
        assert res.lost_bps[b] == pytest.approx(s.lost_bps, rel=1e-12, abs=1e-3)


@pytest.mark.parametrize("mode", ["ecmp", "spf"])
@pytest.mark.parametrize("name", ["Abilene", "Geant2012"])
def test_zoo_batch_equals_route_step_per_copy(zoo_routers, name, mode):
    r = zoo_routers[name]
    src, dst = all_pairs(r)
    nb = 24 if name == "Abilene" else 10
    inputs = random_inputs(r, src, dst, nb, seed=11 if mode == "ecmp" else 12)
    assert_batch_equals_steps(r, src, dst, mode, *inputs)
    res = BatchRouter(r, src, dst, mode).step(*inputs, TRIP)
    # the inputs do what they are for: cascades, tail drop, cuts
    assert res.n_waves.max() >= 1 and (res.delivered_bps < res.demand_bps).any()
    assert (~res.routable).any()


@pytest.mark.parametrize("mode", ["ecmp", "spf"])
def test_default_weights_and_the_general_kernel(zoo_routers, mode, monkeypatch):
    """weight=None (the metric's), then with the router's hop kernel turned off."""
    r = zoo_routers["Abilene"]
    src, dst = all_pairs(r)
    bps, link_up, node_up, cap, _ = random_inputs(r, src, dst, 8, seed=5)
    assert_batch_equals_steps(r, src, dst, mode, bps, link_up, node_up, cap, None)
    monkeypatch.setattr(routing, "_HOPS_KERNEL", False)
    assert_batch_equals_steps(r, src, dst, mode, bps, link_up, node_up, cap, None)


def random_multigraph(seed: int) -> nx.MultiGraph:
    """Up to 12 nodes (maybe disconnected), parallel links, lengths in metres."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 13))
    g = nx.MultiGraph()
    g.add_nodes_from(rng.permutation(n).tolist())
    for k in range(int(rng.integers(1, 3 * n))):
        a, b = (int(x) for x in rng.choice(n, 2, replace=False))
        for p in range(1 + int(rng.random() < 0.35)):              # sometimes a parallel link
            g.add_edge(a, b, key=f"L{k:02d}{'P' * p}", length_m=float(rng.integers(100, 90_000)))
    return g


@pytest.mark.parametrize("mode", ["ecmp", "spf"])
@pytest.mark.parametrize("seed", range(8))
def test_random_multigraphs(seed, mode):
    r = Router(random_multigraph(seed))
    rng = np.random.default_rng(100 + seed)
    nd = int(rng.integers(1, 4 * r.n_nodes))
    src, dst = rng.integers(0, r.n_nodes, (2, nd))
    assert_batch_equals_steps(r, src, dst, mode, *random_inputs(r, src, dst, 16, seed))


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**31), st.sampled_from(["ecmp", "spf"]))
@example(949, "ecmp")
def test_fractional_weights_and_near_ties(seed, mode):
    """Weights 0.3 and 0.1 + 0.2 differ by less than the DAG test's tolerance:
    near-equal paths share ECMP, as in the router. Seed 949: two parallel links
    on one DAG with different pass fractions (the offered pass once summed
    their terms in the other order: 1 ulp off in delivered_bps)."""
    r = Router(random_multigraph(seed))
    rng = np.random.default_rng(seed)
    src, dst = rng.integers(0, r.n_nodes, (2, int(rng.integers(1, 4 * r.n_nodes))))
    bps, link_up, node_up, cap, _ = random_inputs(r, src, dst, 4, seed)
    weight = rng.choice([0.3, 0.1 + 0.2, 0.6, 1.0, 1.5, 2.0], (4, len(r.links)))
    assert_batch_equals_steps(r, src, dst, mode, bps, link_up, node_up, cap, weight)


def test_latency_metric_and_a_stubborn_fixed_point():
    """Metric 'latency' (Dijkstra even when weights are all 1) and heavy overloads."""
    r = Router(random_multigraph(3), metric="latency")
    src, dst = all_pairs(r)
    bps, link_up, node_up, cap, weight = random_inputs(r, src, dst, 12, seed=9, all_ones=0.5)
    assert_batch_equals_steps(r, src, dst, "ecmp", bps, link_up, node_up, cap * 0.2, weight,
                              trip=50.0)


def test_damped_tail_drop_rounds():
    """A 5-ring with every demand two hops clockwise: each overloaded edge is
    upstream of the next, a cycle, so the fixed point runs past its n_nodes
    plain rounds into the damped ones."""
    g = nx.MultiGraph()
    for i in range(5):
        g.add_edge(i, (i + 1) % 5, key=f"L{i}")
    r = Router(g)
    src = np.arange(5)
    dst = (src + 2) % 5
    rng = np.random.default_rng(0)
    bps, cap = rng.uniform(1, 3, (8, 5)) * 1e9, rng.uniform(0.5, 3, (8, 5)) * 1e9
    ones = np.ones((8, 5), bool)
    res = BatchRouter(r, src, dst).step(bps, ones, ones, cap, None, 100.0)
    assert (res.drop_rounds > 5).all()
    assert_batch_equals_steps(r, src, dst, "ecmp", bps, ones, ones, cap, None, trip=100.0)


def test_one_copy_equals_the_first_of_64_and_threads_change_nothing(zoo_routers):
    r = zoo_routers["Geant2012"]
    src, dst = all_pairs(r)
    inputs = random_inputs(r, src, dst, 64, seed=3)
    br = BatchRouter(r, src, dst)
    big = br.step(*inputs, TRIP)
    one = br.step(*(a[:1] for a in inputs), TRIP)
    for got, want in zip(one, big):
        assert np.array_equal(got, want[:1], equal_nan=True)
    threaded = BatchRouter(r, src, dst, parallel=True).step(*inputs, TRIP)
    for got, want in zip(threaded, big):
        assert np.array_equal(got, want, equal_nan=True)


def ring():
    """A - B - C - D - A, links named by their ends."""
    g = nx.MultiGraph()
    for a, b in ("AB", "BC", "CD", "DA"):
        g.add_edge(a, b, key=a + b)
    return Router(g)


def test_ring_with_a_cut_by_hand():
    """DA cut: A -> D (4 Gbit/s) runs A-B-C-D, B -> C (1 Gbit/s) adds to BC.

    Copy 0: CD (2 Gbit/s) carries 4, utilization 2 < trip 2.5, passes half:
    2 Gbit/s delivered. Copy 1: CD of 1.5 Gbit/s is at 2.67 and trips:
    A -> D has no path. Copy 2: C down, nothing is routable.
    """
    r = ring()
    li = {k: i for i, k in enumerate(r.links)}
    ni = r.node_index
    src, dst = [ni["A"], ni["B"]], [ni["D"], ni["C"]]
    cap = np.full((3, 4), 10e9)
    cap[0, li["CD"]], cap[1, li["CD"]], cap[2, li["CD"]] = 2e9, 1.5e9, 2e9
    link_up = np.ones((3, 4), bool)
    link_up[:, li["DA"]] = False
    node_up = np.ones((3, 4), bool)
    node_up[2, ni["C"]] = False
    bps = np.array([[4e9, 1e9]] * 3)
    res = BatchRouter(r, src, dst).step(bps, link_up, node_up, cap, None, 2.5)

    def by_link(row):
        return {k: float(row[i]) for k, i in li.items()}

    assert by_link(res.link_load_bps[0]) == {"AB": 4e9, "BC": 5e9, "CD": 4e9, "DA": 0.0}
    assert by_link(res.link_util[0]) == {"AB": 0.4, "BC": 0.5, "CD": 2.0, "DA": 0.0}
    assert res.delivered_bps[0].tolist() == [2e9, 1e9]
    assert res.n_waves[0] == 0 and res.drop_rounds[0] == 2 and res.converged[0]
    # M/M/1 of a 1500-byte packet on each hop's spare capacity; CD saturated: capped
    want = 12_000 / 6e9 + (12_000 / 5e9 + (MAX_QUEUE_DELAY_S + 0.0))
    assert res.latency_s[0].tolist() == [want, 12_000 / 5e9]

    assert res.tripped[1].tolist() == [k == "CD" for k in r.links] and res.n_waves[1] == 1
    assert res.routable[1].tolist() == [False, True]
    assert res.delivered_bps[1].tolist() == [0.0, 1e9]
    assert by_link(res.link_load_bps[1]) == {"AB": 0.0, "BC": 1e9, "CD": 0.0, "DA": 0.0}
    assert np.isnan(res.latency_s[1, 0])

    assert not res.routable[2].any() and res.delivered_bps[2].tolist() == [0.0, 0.0]
    assert res.link_load_bps[2].tolist() == [0.0] * 4
    assert_batch_equals_steps(r, np.array(src), np.array(dst), "ecmp", bps, link_up, node_up,
                              cap, None, trip=2.5)


def test_errors_constants_and_doctests():
    assert doctest.testmod(batch_step).failed == 0
    assert doctest.testmod(batch_dags).failed == 0
    assert MAX_QUEUE_DELAY_S == transport_step.MAX_QUEUE_DELAY_S
    r = ring()
    br = BatchRouter(r, [0], [2])
    ok = (np.ones((1, 1)), np.ones((1, 4), bool), np.ones((1, 4), bool), np.ones((1, 4)))
    with pytest.raises(ValueError, match="weight"):
        br.step(*ok, np.zeros((1, 4)), 1.0)
    with pytest.raises(ValueError, match="weight"):
        br.step(*ok, np.full((1, 4), np.inf), 1.0)
    for bad in (-1.0, np.nan, np.inf):
        with pytest.raises(ValueError, match="bps"):
            br.step(ok[0] * bad, *ok[1:], None, 1.0)
    for bad in (-1.0, np.nan):
        with pytest.raises(ValueError, match="capacity"):
            br.step(*ok[:3], ok[3] * bad, None, 1.0)
    with pytest.raises(ValueError, match="link_up"):
        br.step(ok[0], np.ones((1, 3), bool), *ok[2:], None, 1.0)
    # one demand row for every copy: the result of the row repeated; other row counts fail
    two = (np.ones((2, 4), bool), np.ones((2, 4), bool), np.ones((2, 4)))
    got = br.step(np.array([[3e9]]), *two, np.array([[1.0, 2, 3, 4], [4, 3, 2, 1]]), 2.0)
    want = br.step(np.array([[3e9], [3e9]]), *two, np.array([[1.0, 2, 3, 4], [4, 3, 2, 1]]), 2.0)
    for x, y in zip(got, want):
        np.testing.assert_array_equal(x, y)
    with pytest.raises(ValueError, match="rows"):
        br.step(np.ones((3, 1)), *two, None, 1.0)
    # check=False: the caller vouches for the values; valid ones give the checked result
    for parallel in (False, True):
        br.parallel = parallel
        got = br.step(*ok, np.full((1, 4), 2.0), 1.0, check=False)
        want = br.step(*ok, np.full((1, 4), 2.0), 1.0)
        for x, y in zip(got, want):
            np.testing.assert_array_equal(x, y)
        br.step(ok[0] * -1.0, *ok[1:], None, 1.0, check=False)      # not checked: no error
        with pytest.raises(ValueError, match="bps"):
            br.step(ok[0] * -1.0, *ok[1:], None, 1.0)
    with pytest.raises(ValueError, match="mode"):
        BatchRouter(r, [0], [2], mode="ospf")
    with pytest.raises(ValueError, match="range"):
        BatchRouter(r, [0], [9])
    g = nx.Graph()                  # as Router.route: a weight below the tolerance is a cycle
    g.add_edge("A", "B", w=1e4)
    g.add_edge("B", "C", w=1e-12)
    rw = Router(g, metric="w")
    with pytest.raises(RuntimeError, match="cycle"):
        BatchRouter(rw, [2, 1], [0, 0]).step(np.ones((1, 2)), np.ones((1, 2), bool),
                                             np.ones((1, 3), bool), np.ones((1, 2)), None, 1.0)
