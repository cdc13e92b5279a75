"""Static routes and ACLs in the simulator: the ring scene worked by hand."""

from __future__ import annotations

import numpy as np
import pytest

import twin3d
from twin3d.sim.engine import simulate

from envs_scenes import RING_PAIR_BPS, write_ring_scene

#   A ---- B        every pair 2 Gbit/s; hops, ECMP
#   |      |
#   D ---- C


def _ring(tmp_path, events: str, steps: int = 3):
    path = write_ring_scene(tmp_path)
    path.write_text(path.read_text() + f'\n[[scenario]]\nname = "x"\nsteps = {steps}\n'
                    f'profile = "flat"\nevents = [{events}]\n')
    return simulate(twin3d.load_scene(path))["x"]


def _lost(step) -> dict:
    """{(src index, dst index): bit/s lost} for the pairs that lost traffic."""
    s, d, bps = step.demand
    lost = bps - step.demand_delivered_bps
    return {(int(a), int(b)): float(x) for a, b, x in zip(s, d, lost) if x > 1e-6}


def test_static_route_loop_drops_the_pair_from_its_step(tmp_path):
    # B sends C's traffic to A and A sends it to B: A->C and B->C loop from step 1
    res = _ring(tmp_path, '{ t = 1, kind = "static_route", at = "B", dst = "C", next_hop = "A" },'
                          '{ t = 1, kind = "static_route", at = "A", dst = "C", next_hop = "B" }')
    k = [s.kpis for s in res.steps]
    assert k[0]["dropped_bps"] == 0.0
    assert k[1]["dropped_bps"] == pytest.approx(2 * RING_PAIR_BPS)
    assert k[2]["dropped_bps"] == pytest.approx(2 * RING_PAIR_BPS)
    assert "static_route B to C via A" in res.steps[1].events[0]
    a, b, c = 0, 1, 2                                   # node indices, in site order
    assert _lost(res.steps[0]) == {}
    assert _lost(res.steps[1]) == pytest.approx({(a, c): RING_PAIR_BPS, (b, c): RING_PAIR_BPS})
    # latency is that of the delivered traffic: the looped pairs have none
    lat = res.steps[1].demand_latency_s
    s, d, _ = res.steps[1].demand
    assert np.isnan(lat[(s == a) & (d == c)]).all() and np.isfinite(lat[(s == c) & (d == a)]).all()


def test_acl_and_drop_route(tmp_path):
    res = _ring(tmp_path, '{ t = 1, kind = "acl", at = "C", src = "A", dst = "*", action = "deny" },'
                          '{ t = 2, kind = "static_route", at = "D", dst = "B", next_hop = "drop" }')
    k = [s.kpis for s in res.steps]
    # step 1: A's traffic that reaches C is denied there: all of A->C (both ECMP
    # branches end at C); no other pair of A crosses C on a shortest path
    assert k[1]["dropped_bps"] == pytest.approx(RING_PAIR_BPS)
    assert _lost(res.steps[1]) == pytest.approx({(0, 2): RING_PAIR_BPS})
    # step 2: D drops its traffic to B (D->B splits via A and C, but D drops it
    # before either; C->B and A->B do not pass D); A->C is still denied
    assert _lost(res.steps[2]) == pytest.approx({(0, 2): RING_PAIR_BPS, (3, 1): RING_PAIR_BPS})


@pytest.mark.parametrize("mode", ["ecmp", "spf"])
def test_forwarding_step_without_overrides_equals_route_step(mode):
    # cascade waves, tail drop and latency wired through the forwarding path agree
    # with the plain step when no override is in force
    import networkx as nx
    from twin3d.physics.forwarding import Overrides
    from twin3d.physics.transport import Router
    from twin3d.sim.forwarding_step import route_step_forwarding
    from twin3d.sim.transport_step import route_step

    g = nx.random_geometric_graph(40, 0.3, seed=5)
    mg = nx.MultiGraph()
    mg.add_nodes_from(g)
    rng = np.random.default_rng(1)
    for a, b in g.edges:
        mg.add_edge(a, b, key=f"{a}-{b}", length_m=float(rng.uniform(1e3, 5e4)))
    r = Router(mg)
    cap = rng.uniform(0.5e9, 6e9, len(r.links))
    dem = r.demand_arrays(rng.uniform(0, 8e7, (40, 40)))
    up, nodes = np.ones(len(r.links), bool), np.ones(40, bool)
    ref = route_step(r, dem, up, nodes, cap, 2.0, mode)
    got = route_step_forwarding(r, dem, up, nodes, cap, 2.0, Overrides(40), mode)
    assert ref.waves and not np.all(ref.routing.delivered_bps == ref.routing.demand_bps)
    assert [w.tripped for w in got.waves] == [w.tripped for w in ref.waves]
    np.testing.assert_array_equal(got.link_up, ref.link_up)
    np.testing.assert_allclose(got.link_util, ref.link_util, rtol=1e-12)
    np.testing.assert_allclose(got.routing.delivered_bps, ref.routing.delivered_bps,
                               rtol=1e-9, atol=1e-3)
    # mean delay of what is delivered vs of the whole split: equal where nothing drops
    whole = ref.routing.delivered_bps == ref.routing.demand_bps
    np.testing.assert_allclose(got.routing.latency_s[whole], ref.routing.latency_s[whole],
                               rtol=1e-9)
    assert got.lost_bps == pytest.approx(ref.lost_bps, rel=1e-9)


def test_static_route_to_a_failed_site_black_holes_there(tmp_path):
    # A sends C's traffic via B; when B fails A drops it (no fallback to D)
    res = _ring(tmp_path, '{ t = 0, kind = "static_route", at = "A", dst = "C", next_hop = "B" },'
                          '{ t = 1, kind = "site_outage", target = "B" },'
                          '{ t = 2, kind = "restore", target = "B" }')
    a, c, d = 0, 2, 3
    assert _lost(res.steps[0]) == {}
    lost = _lost(res.steps[1])
    assert lost[(a, c)] == pytest.approx(RING_PAIR_BPS)     # black-holed at A
    assert (d, c) not in lost and (c, a) not in lost          # D->C and C->A (via D) still flow
    assert _lost(res.steps[2]) == {}
