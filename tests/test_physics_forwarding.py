"""Forwarding with static routes and ACLs against hand-worked cases and an
independent branch-by-branch walk written here with networkx."""

from __future__ import annotations

import math

import networkx as nx
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from twin3d.physics.forwarding import REASONS, forwarding_analysis, forwarding_routes
from twin3d.physics.transport import Router

LINE = nx.Graph([("A", "B"), ("B", "C"), ("C", "D")])
RING = nx.Graph([("A", "B"), ("B", "C"), ("C", "D"), ("D", "A")])


def reasons(f):
    return [REASONS[k] for k in f.reason]


# --- hand-built cases ----------------------------------------------------------

def test_two_static_routes_pointing_at_each_other_loop():
    r = Router(LINE)
    routes = [("B", "D", "A"), ("A", "D", "B")]
    a = forwarding_analysis(r, routes)
    assert a.loop_pairs() == [("A", "D", ["A", "B"]), ("B", "D", ["A", "B"])]
    assert not a.black_hole.any()
    assert not a.reachable[0, 3] and a.reachable[2, 3] and a.reachable[3, 0]
    f = forwarding_routes(r, {("A", "D"): 1e9, ("C", "D"): 2e9}, routes)
    assert reasons(f) == ["loop", "delivered"]
    assert f.dropped_bps.tolist() == [1e9, 0.0]
    loads = dict(zip(r.edge_keys, f.load_bps))
    # the looped flow crosses A->B and B->A once (counted once round), C->D carries C's
    assert loads[("A", "B")] == 1e9 and loads[("B", "A")] == 1e9 and loads[("C", "D")] == 2e9


def test_static_route_to_non_neighbour_is_a_black_hole_there():
    r = Router(LINE)
    a = forwarding_analysis(r, [("B", "D", "D")])           # B and D are not adjacent
    assert a.black_hole_pairs() == [("A", "D", "B"), ("B", "D", "B")]
    assert not a.loop.any() and not a.reachable[0, 3]
    f = forwarding_routes(r, {("A", "D"): 1e9}, [("B", "D", "D")])
    assert reasons(f) == ["no_route"] and f.delivered_bps[0] == 0.0


def test_static_route_to_down_neighbour_black_holes_despite_other_path():
    r = Router(RING)                                       # links AB, AD, BC, CD (edge order)
    link_up = np.array([k != ("A", "B") for k in r.links])
    a = forwarding_analysis(r, [("A", "C", "B")], link_up=link_up)
    assert a.black_hole_pairs() == [("A", "C", "A")]
    plain = forwarding_analysis(r, link_up=link_up)
    assert plain.reachable[0, 2] and not plain.black_hole.any()


def test_drop_route_and_acl():
    r = Router(LINE)
    f = forwarding_routes(r, {("A", "D"): 1e9, ("D", "A"): 1e9, ("B", "C"): 1e9},
                          [("C", "D", "drop")], [("B", "D", "*"), ("C", "*", "*")])
    # A->D meets the ACL at C first (C denies every pair); D->A passes B's
    # ACL (it denies only D to anything); B->C is denied at C, its destination
    assert reasons(f) == ["acl", "acl", "acl"]
    a = forwarding_analysis(r, [("C", "D", "drop")])
    assert a.black_hole_pairs() == [("A", "D", "C"), ("B", "D", "C"), ("C", "D", "C")]
    f = forwarding_routes(r, {("A", "D"): 1e9}, [("C", "D", "drop")])
    assert reasons(f) == ["static_drop"]
    acl = forwarding_analysis(r, acls=[("B", "A", "D")])   # only A's traffic to D
    assert not acl.black_hole.any() and not acl.loop.any()
    assert not acl.reachable[0, 3] and acl.reachable[0, 2] and acl.reachable[1, 3]


def test_change_only_safe_because_of_ecmp():
    # 1 reaches 3 via 0 and via 2 at equal cost; 0's static route for 3 sends to 1
    g = nx.Graph()
    g.add_nodes_from(range(4))                              # node index = node id
    g.add_edges_from([(0, 3), (2, 3), (0, 1), (1, 2)])
    r = Router(g)
    routes = [(0, 3, 1)]
    ecmp = forwarding_analysis(r, routes, mode="ecmp")
    spf = forwarding_analysis(r, routes, mode="spf")        # 1 takes 0, the lowest index
    assert ecmp.delivered[1, 3] == 0.5 and ecmp.delivered[0, 3] == 0.5
    assert spf.delivered[1, 3] == 0.0 and spf.delivered[0, 3] == 0.0
    assert ecmp.loop[1, 3] and ecmp.loop[0, 3]              # some branch loops either way
    f = forwarding_routes(r, {(1, 3): 4e9}, routes)
    assert f.outcome_bps[0].tolist() == [2e9, 0.0, 0.0, 2e9, 0.0]


def test_no_overrides_equals_router_on_a_backbone():
    g = nx.random_geometric_graph(120, 0.17, seed=3)
    rng = np.random.default_rng(0)
    for a, b in g.edges:
        g.edges[a, b]["weight"] = float(rng.uniform(1, 5))
    m = rng.uniform(0, 1e9, (120, 120))
    for metric in ("hops", "weight"):
        r = Router(g, metric)
        for mode in ("ecmp", "spf"):
            ref = r.route(m, mode=mode, latency=False)
            for fast in (True, False):
                f = forwarding_routes(r, m, mode=mode, plain_fast=fast)
                if fast:
                    assert np.array_equal(f.load_bps, ref.load_bps)
                np.testing.assert_allclose(f.load_bps, ref.load_bps, rtol=1e-12, atol=1e-6)
                np.testing.assert_array_equal(f.delivered_bps > 0, ref.routable & (ref.demand_bps > 0))


# --- the independent walk --------------------------------------------------------

def forwarder(g, n, static, d, mode, up_edges):
    """x -> x's next hops toward d (None: a "drop" route; []: none usable)."""
    h = nx.DiGraph()
    h.add_nodes_from(range(n))
    h.add_weighted_edges_from((a, b, g.edges[a, b]["w"]) for a, b in up_edges)
    dist = nx.single_source_dijkstra_path_length(h.reverse(), d, weight="weight")

    def hops(x):
        if (x, d) in static:
            nh = static[(x, d)]
            return None if nh == "drop" else ([nh] if h.has_edge(x, nh) else [])
        if x not in dist:
            return []
        nxt = sorted(y for y in h.successors(x) if y in dist and
                     abs(dist[x] - h.edges[x, y]["weight"] - dist[y]) <= 1e-9 * dist[x])
        return nxt[:1] if mode == "spf" else nxt
    return hops


def walk(g, n, static, acls, s, d, mode, up_edges):
    """Every branch from s toward d: delivered share, loop / black-hole nodes, edge loads."""
    hops = forwarder(g, n, static, d, mode, up_edges)
    out = {"delivered": 0.0, "loops": set(), "holes": set(), "load": {}}

    def denied(x):
        return any(at == x and sa in (s, "*") and da in (d, "*") for at, sa, da in acls)

    def go(x, path, p):
        if denied(x):
            return
        if x == d:
            out["delivered"] += p
            return
        nxt = hops(x)
        if not nxt:                       # "drop" (None) or no usable next hop
            out["holes"].add(x)
            return
        for y in nxt:
            q = p / len(nxt)
            out["load"][(x, y)] = out["load"].get((x, y), 0.0) + q
            if y in path:
                out["loops"].add(tuple(path[path.index(y):]))
            else:
                go(y, path + [y], q)

    go(s, [s], 1.0)
    return out


@st.composite
def cases(draw):
    n = draw(st.integers(3, 7))
    pairs = [(a, b) for a in range(n) for b in range(a + 1, n)]
    edges = draw(st.lists(st.sampled_from(pairs), min_size=n - 1, max_size=2 * n, unique=True))
    g = nx.Graph()
    g.add_nodes_from(range(n))
    for a, b in edges:
        g.add_edge(a, b, w=float(draw(st.sampled_from([1, 1, 2, 3]))))
    node = st.integers(0, n - 1)
    # mostly a neighbour (loops), sometimes any node (a non-neighbour) or "drop"
    hop = st.one_of(st.integers(0, 9).map(lambda i: ("nb", i)), node.map(lambda x: ("any", x)),
                    st.just(("drop", 0)))
    raw = draw(st.dictionaries(st.tuples(node, node), hop, max_size=6))
    static = {}
    for (at, d), (how, i) in raw.items():
        nbs = sorted(g[at])
        nh = ("drop" if how == "drop" else i if how == "any" else nbs[i % len(nbs)] if nbs else "drop")
        if nh != at:
            static[(at, d)] = nh
    acls = draw(st.lists(st.tuples(node, st.one_of(node, st.just("*")),
                                   st.one_of(node, st.just("*"))), max_size=2))
    down = draw(st.lists(st.sampled_from(edges), max_size=2, unique=True)) if edges else []
    dead = draw(st.lists(node, max_size=1))                  # a site down: its edges go
    return g, n, static, acls, set(down), set(dead), draw(st.sampled_from(["ecmp", "spf"]))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases())
def test_property_against_independent_walk(case):
    g, n, static, acls, down, dead, mode = case
    r = Router(g, "w")
    link_up = np.array([(a, b) not in down for a, b in r.links])
    node_up = np.array([x not in dead for x in range(n)])
    up_edges = [(int(a), int(b)) for a, b, ok in zip(r.u, r.v, link_up[r.link])
                if ok and a not in dead and b not in dead]
    routes = [(a, d, nh) for (a, d), nh in static.items()]
    kw = dict(mode=mode, link_up=link_up, node_up=node_up)
    an = forwarding_analysis(r, routes, acls, **kw)
    demands = {(s, d): 1.0 for s in range(n) for d in range(n) if s != d}
    f = forwarding_routes(r, demands, routes, acls, **kw)
    load = {}
    for j, (s, d) in enumerate(demands):
        if s in dead or d in dead:        # a down end: nothing routed, nothing flagged
            assert f.delivered_bps[j] == 0 and REASONS[f.reason[j]] == "no_route"
            assert not (an.reachable[s, d] or an.loop[s, d] or an.black_hole[s, d])
            continue
        w = walk(g, n, static, acls, s, d, mode, up_edges)
        assert math.isclose(an.delivered[s, d], w["delivered"], abs_tol=1e-12)
        assert math.isclose(f.delivered_bps[j], w["delivered"], abs_tol=1e-12)
        assert an.loop[s, d] == bool(w["loops"]), (s, d, w["loops"])
        assert an.black_hole[s, d] == bool(w["holes"]), (s, d, w["holes"])
        if w["holes"]:
            assert an.black_hole_at[s, d] in w["holes"]
        if w["loops"]:                    # the reported cycle is a forwarding cycle
            cyc = an.cycles[an.loop_cycle[s, d]]
            hops = forwarder(g, n, static, d, mode, up_edges)
            assert len(set(cyc)) == len(cyc) >= 2
            assert all(y in (hops(x) or []) for x, y in zip(cyc, cyc[1:] + cyc[:1])), cyc
        for k, v in w["load"].items():
            load[k] = load.get(k, 0.0) + v
    got = {(int(a), int(b)): x for a, b, x in zip(r.u, r.v, f.load_bps) if x > 0}
    assert got.keys() == {k for k, v in load.items() if v > 0}
    for k in got:
        assert math.isclose(got[k], load[k], rel_tol=1e-9)


def test_property_counts_pairs():
    # the walk flags exactly the pairs of the hand-built loop (a sanity check of the walk)
    g = nx.Graph([(0, 1), (1, 2), (2, 3)])
    nx.set_edge_attributes(g, 1.0, "w")
    up = [(0, 1), (1, 0), (1, 2), (2, 1), (2, 3), (3, 2)]
    w = walk(g, 4, {(1, 3): 0, (0, 3): 1}, [], 0, 3, "ecmp", up)
    assert w["loops"] and w["delivered"] == 0.0


def test_kdl_size_analysis_is_fast():
    import time
    g = nx.random_geometric_graph(754, 0.06, seed=1)
    r = Router(g)
    nodes = list(g)
    routes = [(nodes[i], nodes[j], nh) for i, j, nh in
              ((0, 5, nodes[1] if g.has_edge(0, 1) else "drop"), (10, 20, "drop"))]
    forwarding_analysis(r, routes)                      # compiles
    t0 = time.perf_counter()
    a = forwarding_analysis(r, routes, acls=[(3, "*", 7)])
    assert time.perf_counter() - t0 < 2.0
    assert a.reachable.sum() > 0


def test_static_route_over_parallel_links_splits_evenly():
    g = nx.MultiGraph([("A", "B", "L1"), ("A", "B", "L2"), ("A", "C", "L3"), ("B", "C", "L4")])
    r = Router(g)
    f = forwarding_routes(r, {("A", "C"): 4e9}, [("A", "C", "B")])
    loads = dict(zip(r.edge_keys, f.load_bps))
    assert loads[("A", "B", "L1")] == loads[("A", "B", "L2")] == 2e9
    assert loads[("B", "C", "L4")] == 4e9 and loads[("A", "C", "L3")] == 0.0
    spf = forwarding_routes(r, {("A", "C"): 4e9}, [("A", "C", "B")], mode="spf")
    assert dict(zip(r.edge_keys, spf.load_bps))[("A", "B", "L1")] == 4e9
    # one of the two links down: the other carries it all; both down: a black hole at A
    up = np.array([k != "L1" for k in r.links])
    assert dict(zip(r.edge_keys, forwarding_routes(r, {("A", "C"): 4e9}, [("A", "C", "B")],
                                                  link_up=up).load_bps))[("A", "B", "L2")] == 4e9
    up = np.array([k not in ("L1", "L2") for k in r.links])
    a = forwarding_analysis(r, [("A", "C", "B")], link_up=up)
    assert a.black_hole_pairs() == [("A", "C", "A")]


def test_later_static_route_replaces_earlier():
    r = Router(LINE)
    f = forwarding_routes(r, {("A", "D"): 1e9}, [("B", "D", "A"), ("A", "D", "B"), ("B", "D", "C")])
    assert reasons(f) == ["delivered"]                       # B's second route undoes the loop
