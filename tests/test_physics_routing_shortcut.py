"""The tail-drop shortcut of :func:`twin3d.physics.routing.lossy_delivery`.

When no directed edge's routed load exceeds its capacity, the fixed point is
converged in its first round and the walks are skipped. The shortcut must
give what the rounds give: the same offered load, pass fractions, rounds and
convergence bit for bit, and the delivered bit/s of the rounds to within the
ulps of their survival sums (the shortcut's are exactly the demand). When an
edge is overloaded, nothing changes.
"""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest

from twin3d.physics import routing
from twin3d.physics.routing import lossy_delivery, route_arrays
from twin3d.physics.transport import Router


def _case(seed: int, weighted: bool):
    g = nx.MultiGraph(nx.random_geometric_graph(40, 0.3, seed=seed))
    rng = np.random.default_rng(seed)
    for a, b, k in list(g.edges(keys=True)):
        g.edges[a, b, k]["w"] = float(rng.choice([1.0, 2.0, 3.0]))
        if rng.random() < 0.2:
            g.add_edge(a, b, w=float(rng.choice([1.0, 2.0])))
    r = Router(g, metric="w" if weighted else "hops")
    link_up = rng.random(len(r.links)) > 0.1
    node_up = rng.random(r.n_nodes) > 0.05
    m = rng.uniform(0, 1, (r.n_nodes, r.n_nodes))
    return r, link_up, node_up, m


def _both(r, m, link_up, node_up, mode, cap, unweighted):
    src, dst, bps = r.demand_arrays(m)
    up = r._up_mask(None, link_up, node_up)
    load, routable, blocks = route_arrays(r.n_nodes, r.u, r.v, r.weight, up, src, dst, bps,
                                          node_up, mode, unweighted, keep_blocks=True)
    fast = lossy_delivery(blocks, cap, r.n_nodes, r.n_edges, src, bps, routable, load_bps=load)
    slow = lossy_delivery(blocks, cap, r.n_nodes, r.n_edges, src, bps, routable)
    return fast, slow, load, routable, bps


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("mode", ["ecmp", "spf"])
def test_shortcut_equals_the_rounds_without_overload(seed, weighted, mode):
    r, link_up, node_up, m = _case(seed, weighted)
    src, dst, bps = r.demand_arrays(m)
    cap = np.full(r.n_edges, 1e6)                      # far above any load
    fast, slow, load, routable, bps = _both(r, m, link_up, node_up, mode, cap, not weighted)
    assert np.array_equal(fast.offered_bps, slow.offered_bps)
    assert np.array_equal(fast.offered_bps, load)
    assert np.array_equal(fast.pass_fraction, slow.pass_fraction)
    assert (fast.rounds, fast.converged) == (slow.rounds, slow.converged) == (1, True)
    assert np.array_equal(fast.delivered_bps, np.where(routable, bps, 0.0))
    np.testing.assert_allclose(fast.delivered_bps, slow.delivered_bps, rtol=1e-14, atol=0)


@pytest.mark.parametrize("mode", ["ecmp", "spf"])
def test_no_shortcut_with_an_overloaded_edge(mode, monkeypatch):
    r, link_up, node_up, m = _case(4, False)
    cap = np.full(r.n_edges, 1e6)
    src, dst, bps = r.demand_arrays(m)
    fast, *_ = _both(r, m, link_up, node_up, mode, cap, True)
    cap[int(np.argmax(fast.offered_bps))] = 0.5 * float(fast.offered_bps.max())
    fast, slow, *_ = _both(r, m, link_up, node_up, mode, cap, True)
    assert fast.pass_fraction.min() < 1
    for a, b in zip(fast, slow):
        assert np.array_equal(a, b)


def test_router_route_takes_the_shortcut_and_matches_without_it(monkeypatch):
    r, link_up, node_up, m = _case(5, False)
    cap = np.full(r.n_edges, 1e6)
    fast = r.route(m, link_up=link_up, node_up=node_up, capacity_bps=cap)
    monkeypatch.setattr(routing, "_NO_DROP_SHORTCUT", False)
    slow = r.route(m, link_up=link_up, node_up=node_up, capacity_bps=cap)
    assert np.array_equal(fast.carried_bps, slow.carried_bps)
    assert np.array_equal(fast.latency_s, slow.latency_s, equal_nan=True)
    assert (fast.drop_rounds, fast.converged) == (slow.drop_rounds, slow.converged) == (1, True)
    np.testing.assert_allclose(fast.delivered_bps, slow.delivered_bps, rtol=1e-14, atol=0)
    assert np.array_equal(fast.delivered_bps, fast.routed_bps)
