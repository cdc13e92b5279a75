"""ECMP/SPF routing: hand-worked graphs, flow conservation, and a networkx reference.

The reference enumerates every shortest path with ``nx.all_shortest_paths``;
a node path carries ``prod m(a, b) / N(a)`` of the demand, N(a) the number
of shortest next-hop links at a, m(a, b) the number of cheapest parallel
links a-b (the path's share is spread evenly over them). SPF's reference is
the lexicographically smallest path by node index (greedy lowest next hop
gives exactly that path) on its lowest-key link.
"""

from __future__ import annotations

import math
from collections import defaultdict

import networkx as nx
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from twin3d.errors import InputError
from twin3d.geo.frame import LocalFrame
from twin3d.geo.records import LinkRecord, SiteRecord, SourceData
from twin3d.model import Link, build_twin
from twin3d.physics.fiber import propagation_delay_s
from twin3d.physics.queueing import link_delay_s
from twin3d.physics.transport import Router, ecmp_loads, spf_loads

G10 = 10e9


def multigraph(edges) -> nx.MultiGraph:
    """MultiGraph with twin-like edges: key = link id, ``link`` = Link."""
    g = nx.MultiGraph()
    for lid, a, b, length_m, *rest in edges:
        cap = rest[0] if rest else 100e9
        link = Link(lid, a, b, np.zeros((2, 3)), float(length_m), float(cap))
        g.add_edge(a, b, key=lid, link=link)
    return g


def diamond() -> nx.Graph:
    return nx.Graph([("A", "B"), ("A", "C"), ("B", "D"), ("C", "D")])


def reference_loads(g, demands, weight=None, mode="ecmp"):
    """Loads from networkx all_shortest_paths (see the module docstring)."""
    order = {n: i for i, n in enumerate(g.nodes)}
    loads = defaultdict(float)

    def w(attrs):
        return 1 if weight is None else attrs[weight]

    def cheapest(a, b):
        if not g.is_multigraph():
            return [None], w(g[a][b])
        wmin = min(w(d) for d in g[a][b].values())
        return sorted(k for k, d in g[a][b].items() if w(d) == wmin), wmin

    for (s, t), bps in demands.items():
        if s == t:
            continue
        dist = nx.shortest_path_length(g, target=t, weight=weight)
        paths = list(nx.all_shortest_paths(g, s, t, weight=weight))
        if mode == "spf":
            paths = [min(paths, key=lambda p: [order[n] for n in p])]
        for p in paths:
            frac = 1.0
            for a, b in zip(p[:-1], p[1:]):
                keys, _ = cheapest(a, b)
                if mode == "ecmp":
                    n_next = sum(len(cheapest(a, x)[0]) for x in g[a]
                                 if x in dist and cheapest(a, x)[1] + dist[x] == dist[a])
                    frac *= len(keys) / n_next
            for a, b in zip(p[:-1], p[1:]):
                keys, _ = cheapest(a, b)
                keys = keys if mode == "ecmp" else keys[:1]
                for k in keys:
                    loads[(a, b) if k is None else (a, b, k)] += bps * frac / len(keys)
    return loads


def assert_loads(got: dict, want: dict, rel=1e-9):
    for k, val in got.items():
        assert val == pytest.approx(want.get(k, 0.0), rel=rel, abs=1e-6), k
    assert set(want) <= set(got)


# --- hand-worked graphs -------------------------------------------------------

def test_diamond_splits_evenly():
    loads = ecmp_loads(diamond(), {("A", "D"): G10})
    assert_loads(loads, {("A", "B"): 5e9, ("B", "D"): 5e9, ("A", "C"): 5e9, ("C", "D"): 5e9})
    assert len(loads) == 8                       # both directions of every link


def test_longer_branch_gets_nothing():
    g = nx.Graph([("A", "B"), ("B", "D"), ("A", "C"), ("C", "E"), ("E", "D")])
    assert_loads(ecmp_loads(g, {("A", "D"): G10}), {("A", "B"): G10, ("B", "D"): G10})


def test_parallel_equal_links_split_in_half():
    g = multigraph([("L1", "A", "B", 1000), ("L2", "A", "B", 1000)])
    assert_loads(ecmp_loads(g, {("A", "B"): G10, ("B", "A"): 2e9}),
                 {("A", "B", "L1"): 5e9, ("A", "B", "L2"): 5e9,
                  ("B", "A", "L1"): 1e9, ("B", "A", "L2"): 1e9})


def test_parallel_links_cheaper_one_wins():
    g = multigraph([("L1", "A", "B", 3000), ("L2", "A", "B", 1000)])
    assert_loads(ecmp_loads(g, {("A", "B"): G10}, metric="latency"), {("A", "B", "L2"): G10})


def per_hop_graph(weighted: bool) -> nx.Graph:
    g = nx.Graph()
    g.add_edges_from([("A", "B"), ("A", "C"), ("B", "D"), ("B", "E"), ("D", "F"), ("E", "F")],
                     weight=1)
    if weighted:
        g.add_edge("C", "F", weight=2)           # C reaches F at cost 2, like B
    else:
        g.add_edges_from([("C", "G"), ("G", "F")], weight=1)
    return g


@pytest.mark.parametrize("weighted", [False, True])
def test_split_is_per_hop_not_per_path(weighted):
    """Three equal paths, but A splits 1/2 - 1/2 and B splits its half again."""
    g = per_hop_graph(weighted)
    loads = ecmp_loads(g, {("A", "F"): 1.0}, metric="weight" if weighted else "hops")
    want = {("A", "B"): 0.5, ("B", "D"): 0.25, ("B", "E"): 0.25, ("D", "F"): 0.25,
            ("E", "F"): 0.25, ("A", "C"): 0.5}
    want.update({("C", "F"): 0.5} if weighted else {("C", "G"): 0.5, ("G", "F"): 0.5})
    assert_loads(loads, want)


def test_spf_tie_break_lowest_node_index_then_key():
    g = nx.MultiGraph()
    g.add_nodes_from(["A", "C", "B", "D"])       # C has the lower index
    g.add_edges_from([("A", "B", "k1"), ("A", "C", "k9"), ("A", "C", "k2"),
                      ("B", "D", "k3"), ("C", "D", "k4")])
    loads = spf_loads(g, {("A", "D"): G10})
    assert_loads(loads, {("A", "C", "k2"): G10, ("C", "D", "k4"): G10})


def test_failed_link_carries_nothing():
    g = multigraph([("AB", "A", "B", 1), ("AC", "A", "C", 1), ("BD", "B", "D", 1),
                    ("CD", "C", "D", 1)])
    r = Router(g)
    res = r.route({("A", "D"): G10, ("B", "A"): 1e9}, edge_up=r.edge_mask(down_links=["AB"]))
    loads = res.loads_dict()
    assert loads[("A", "B", "AB")] == 0 and loads[("B", "A", "AB")] == 0
    assert_loads(loads, {("A", "C", "AC"): G10, ("C", "D", "CD"): G10,     # B->A: B-D-C-A
                         ("B", "D", "BD"): 1e9, ("D", "C", "CD"): 1e9, ("C", "A", "AC"): 1e9})
    link_up = np.array([k != "AB" for k in r.links])
    assert np.array_equal(r.route({("A", "D"): G10}, link_up=link_up).load_bps,
                          r.route({("A", "D"): G10}, edge_up=r.edge_mask(["AB"])).load_bps)


def test_link_state_down_is_the_default_mask():
    g = multigraph([("AB", "A", "B", 1), ("AC", "A", "C", 1), ("BD", "B", "D", 1),
                    ("CD", "C", "D", 1)])
    g.edges["A", "B", "AB"]["link"].state = "down"
    assert_loads(ecmp_loads(g, {("A", "D"): G10}), {("A", "C", "AC"): G10, ("C", "D", "CD"): G10})


def test_cut_reports_unroutable_demand():
    g = nx.Graph([("A", "B"), ("B", "C"), ("C", "D")])
    r = Router(g)
    dem = {("A", "D"): G10, ("A", "B"): 1e9, ("C", "D"): 2e9, ("D", "D"): 3e9}
    res = r.route(dem, edge_up=r.edge_mask(down_links=[("B", "C")]))
    assert res.routable.tolist() == [False, True, True, True]
    assert res.unroutable_bps.tolist() == [G10, 0, 0, 0]
    assert res.routed_bps.sum() == 6e9
    assert np.isnan(res.latency_s[0]) and res.latency_s[3] == 0
    assert_loads(res.loads_dict(), {("A", "B"): 1e9, ("C", "D"): 2e9})


def test_down_node_drops_its_demands_and_transit():
    r = Router(diamond())
    node_up = np.array([n != "B" for n in r.nodes])
    res = r.route({("A", "D"): G10, ("B", "D"): 1e9}, node_up=node_up)
    assert res.routable.tolist() == [True, False]
    assert_loads(res.loads_dict(), {("A", "C"): G10, ("C", "D"): G10})


def test_latency_metric_picks_the_shorter_fibre():
    """Equal hops, the northern branch is half as long: all traffic goes north."""
    sites = [SiteRecord("A", 24.90, 60.17), SiteRecord("D", 25.00, 60.17),
             SiteRecord("N", 24.95, 60.175), SiteRecord("S", 24.95, 60.10)]
    links = [LinkRecord("AN", "A", "N", 10e9), LinkRecord("ND", "N", "D", 10e9),
             LinkRecord("AS", "A", "S", 10e9), LinkRecord("SD", "S", "D", 10e9)]
    twin = build_twin(SourceData(sites=sites, links=links), LocalFrame(24.95, 60.15))
    assert_loads(ecmp_loads(twin.graph, {("A", "D"): G10}, metric="latency"),
                 {("A", "N", "AN"): G10, ("N", "D", "ND"): G10})
    hops = ecmp_loads(twin.graph, {("A", "D"): G10})
    assert hops[("A", "S", "AS")] == hops[("A", "N", "AN")] == 5e9


def test_metric_from_link_attrs():
    g = multigraph([("AB", "A", "B", 1), ("AC", "A", "C", 1), ("BD", "B", "D", 1),
                    ("CD", "C", "D", 1)])
    for lid, cost in {"AB": 1, "BD": 1, "AC": 1, "CD": 5}.items():
        next(d for *_, k, d in g.edges(keys=True, data=True) if k == lid)["link"].attrs["cost"] = cost
    assert_loads(ecmp_loads(g, {("A", "D"): G10}, metric="cost"),
                 {("A", "B", "AB"): G10, ("B", "D", "BD"): G10})


def test_expected_latency_averages_equal_hop_branches():
    g = multigraph([("AB", "A", "B", 10_000, 10e9), ("BD", "B", "D", 10_000, 10e9),
                    ("AC", "A", "C", 30_000, 10e9), ("CD", "C", "D", 30_000, 10e9)])
    r = Router(g)
    res = r.route({("A", "D"): 4e9})
    prop = propagation_delay_s(np.array([20_000.0, 60_000.0]))
    assert res.latency_s[0] == pytest.approx(prop.mean(), rel=1e-12)
    spf = r.route({("A", "D"): 4e9}, mode="spf")
    assert spf.latency_s[0] == pytest.approx(prop[0], rel=1e-12)     # B comes first
    # Queueing from the routed loads: 2 Gb/s on 10 Gb/s links, 1500 B packets.
    q = r.route({("A", "D"): 4e9}, edge_delay_s=link_delay_s)
    w_hop = 12_000 / (10e9 - 2e9)
    assert q.latency_s[0] == pytest.approx(prop.mean() + 2 * w_hop, rel=1e-12)
    assert q.utilization.max() == pytest.approx(0.2)
    assert r.route({("A", "D"): 30e9}, edge_delay_s=link_delay_s).latency_s[0] == np.inf


def test_utilization_per_link_is_the_busier_direction():
    g = multigraph([("AB", "A", "B", 1, 10e9)])
    res = Router(g).route({("A", "B"): 4e9, ("B", "A"): 1e9})
    assert res.link_utilization() == {"AB": pytest.approx(0.4)}


def test_demand_forms_agree():
    r = Router(diamond())
    dem = {("A", "D"): 3e9, ("B", "C"): 1e9}
    m = np.zeros((4, 4))
    for (s, t), v in dem.items():
        m[r.node_index[s], r.node_index[t]] = v
    a = r.route(dem, latency=False).load_bps
    assert np.array_equal(a, r.route(m, latency=False).load_bps)
    assert np.array_equal(a, r.route(r.demand_arrays(dem), latency=False).load_bps)


# --- bad input -------------------------------------------------------------------

def test_missing_metric_attribute_names_link_and_field():
    g = multigraph([("L1", "A", "B", 1)])
    with pytest.raises(InputError, match=r"<graph>: link 'L1': field 'cost': has no 'cost'"):
        Router(g, metric="cost")


@pytest.mark.parametrize("bad", [0, -1.0, float("nan"), "5", True])
def test_bad_metric_value(bad):
    g = nx.Graph()
    g.add_edge("A", "B", weight=bad)
    with pytest.raises(InputError, match=r"link '\('A', 'B'\)': field 'weight': .*number > 0"):
        Router(g, metric="weight", source="net.graphml")


def test_bad_demands():
    r = Router(diamond())
    with pytest.raises(InputError, match=r"<demands>: demand A->Z: names unknown node 'Z'"):
        r.route({("A", "Z"): 1.0})
    with pytest.raises(InputError, match=r"demand A->D: field 'demand_bps': .*>= 0, got -1"):
        r.route({("A", "D"): -1.0})
    with pytest.raises(ValueError, match="mode"):
        r.route({("A", "D"): 1.0}, mode="ospf")
    with pytest.raises(ValueError, match="edge_up must have shape"):
        r.route({("A", "D"): 1.0}, edge_up=[True])


# --- random graphs: conservation and the networkx reference --------------------------

def random_graph(seed: int, multi: bool, weighted: bool):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 11))
    g = nx.MultiGraph() if multi else nx.Graph()
    g.add_nodes_from(rng.permutation(n).tolist())       # node order != node label
    extra = [tuple(rng.integers(0, n, 2)) for _ in range(int(rng.integers(0, 2 * n)))]
    pairs = [(int(rng.integers(0, i)), i) for i in range(1, n)] + extra   # connected
    for k, (a, b) in enumerate(pairs):
        if a != b:
            w = int(rng.integers(1, 4)) if weighted else 1
            length = float(rng.integers(100, 5000))
            if multi:
                g.add_edge(int(a), int(b), key=f"L{k:02d}", w=w, length_m=length)
            else:
                g.add_edge(int(a), int(b), w=w, length_m=length)
    nodes = list(g.nodes)
    dem = {(nodes[i], nodes[j]): float(rng.integers(1, 100))
           for i, j in rng.integers(0, n, (int(rng.integers(1, 3 * n)), 2))}
    return g, dem


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**31), multi=st.booleans(), weighted=st.booleans())
def test_flow_conservation(seed, multi, weighted):
    g, dem = random_graph(seed, multi, weighted)
    loads = ecmp_loads(g, dem, metric="w" if weighted else "hops")
    flow = defaultdict(float)
    for (a, b, *_), v in loads.items():
        flow[a] -= v                                     # outflow
        flow[b] += v                                     # inflow
    for (s, t), v in dem.items():
        if s != t:
            flow[s] += v                                 # originating
            flow[t] -= v                                 # terminating
    assert all(abs(x) < 1e-9 for x in flow.values())


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**31), multi=st.booleans(), weighted=st.booleans(),
       mode=st.sampled_from(["ecmp", "spf"]))
def test_agrees_with_networkx_all_shortest_paths(seed, multi, weighted, mode):
    g, dem = random_graph(seed, multi, weighted)
    fn = ecmp_loads if mode == "ecmp" else spf_loads
    got = fn(g, dem, metric="w" if weighted else "hops")
    assert_loads(got, reference_loads(g, dem, "w" if weighted else None, mode))


def test_agrees_with_reference_on_a_larger_graph():
    g = nx.random_geometric_graph(60, 0.3, seed=3)
    assert nx.is_connected(g)
    rng = np.random.default_rng(3)
    dem = {(int(s), int(t)): float(rng.uniform(1, 10)) for s, t in rng.integers(0, 60, (150, 2))}
    assert_loads(ecmp_loads(g, dem), reference_loads(g, dem))
    assert math.isclose(sum(Router(g).route(dem).routed_bps), sum(dem.values()))


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**31), multi=st.booleans(), mode=st.sampled_from(["ecmp", "spf"]))
def test_expected_latency_matches_reference(seed, multi, mode):
    """Expected delay of a demand = sum over links of its share there x the link's delay."""
    g, dem = random_graph(seed, multi, weighted=True)
    res = Router(g, metric="w").route(dem, mode=mode, edge_delay_s=lambda load, cap: 1e-6 + 0 * load)
    for (s, t), lat in zip(dem, res.latency_s):
        share = reference_loads(g, {(s, t): 1.0}, "w", mode)
        want = sum(f * (propagation_delay_s(g.edges[k]["length_m"]) + 1e-6)
                   for k, f in share.items())
        assert lat == pytest.approx(want, rel=1e-9, abs=1e-15)


def test_tail_drop_delivery_on_a_chain_and_a_diamond():
    """Overloaded links pass capacity/offered; downstream links see what is left."""
    import networkx as nx
    from twin3d.physics.transport import Router

    g = nx.Graph()
    g.add_edge("A", "B", capacity_bps=3.0)
    g.add_edge("B", "C", capacity_bps=2.0)
    r = Router(g)
    res = r.route({("A", "C"): 4.0}, capacity_bps=r.capacity_bps)
    # A-B passes 3 of 4, B-C is offered 3 and passes 2
    assert res.delivered_bps[0] == pytest.approx(2.0)
    carried = dict(zip(r.edge_keys, res.carried_bps))
    assert carried[("A", "B")] == pytest.approx(3.0) and carried[("B", "C")] == pytest.approx(2.0)

    d = nx.Graph()
    d.add_edge("S", "X", capacity_bps=10.0)
    d.add_edge("X", "T", capacity_bps=10.0)
    d.add_edge("S", "Y", capacity_bps=1.0)
    d.add_edge("Y", "T", capacity_bps=10.0)
    r = Router(d)
    res = r.route({("S", "T"): 6.0, ("Y", "T"): 2.0}, capacity_bps=r.capacity_bps)
    # ECMP: 3 via X (no loss), 3 offered to S-Y which passes 1; Y's own 2 pass untouched
    assert res.delivered_bps[0] == pytest.approx(4.0)
    assert res.delivered_bps[1] == pytest.approx(2.0)
    # without capacities nothing is computed
    assert r.route({("S", "T"): 6.0}).delivered_bps is None
