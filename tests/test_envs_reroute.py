"""Per-pair policy routes (``pair_route``) and FaultRecovery's ``reroute``.

The 4-node ring of envs_scenes, worked by hand: 12 ordered pairs of 2 Gbit/s,
hops metric, so every direction of every link carries 4 Gbit/s (a neighbour
pair direct, two opposite pairs half each). A->B pinned the long way round
(A-D-C-B) leaves A->B with 2 Gbit/s and adds 2 Gbit/s to A->D, D->C, C->B.
"""

from __future__ import annotations

import json
import subprocess
import sys

import gymnasium as gym
import networkx as nx
import numpy as np
import pytest
from pxr import Sdf

import twin3d
import twin3d.envs  # noqa: F401  (registers the environments)
from twin3d.envs.detour import detours
from twin3d.errors import InputError
from twin3d.physics.transport import Router
from twin3d.physics.queueing import MEAN_PACKET_BITS
from twin3d.scene import EventSpec, ScenarioSpec
from twin3d.sim.engine import MAX_QUEUE_DELAY_S, Simulator, simulate
from twin3d.sim.forwarding_step import overrides_of, pair_paths_of, route_step_forwarding

from conftest import ROOT, SCENES
from envs_scenes import RING_PAIR_BPS, write_ring_scene

D = RING_PAIR_BPS
LONG_WAY = '{ t = 1, kind = "pair_route", src = "A", dst = "B", path = ["A", "D", "C", "B"] }'


def _ring(tmp_path, events: str, steps: int = 3):
    p = write_ring_scene(tmp_path)
    p.write_text(p.read_text() + f'\n[[scenario]]\nname = "x"\nsteps = {steps}\nprofile = "flat"\n'
                 f'events = [{events}]\n')
    return p


def _loads(res, step):
    return dict(zip(res.link_ids, res.steps[step].link_load_bps.tolist()))


def _pair(step, sim, s, d):
    """(delivered bit/s, latency s) of the demand row s -> d."""
    src, dst, _ = step.demand
    i = np.flatnonzero((src == sim.router.node_index[s]) & (dst == sim.router.node_index[d]))
    assert len(i) == 1
    return float(step.demand_delivered_bps[i[0]]), float(step.demand_latency_s[i[0]])


def _edge(sim, a, b):
    r = sim.router
    e = np.flatnonzero((r.u == r.node_index[a]) & (r.v == r.node_index[b]))
    assert len(e) == 1
    return int(e[0])


def _hop_delay_s(sim, a, b, load_bps, cap_bps):
    """Propagation plus M/M/1 (capped at the buffer) on the edge a -> b, by hand."""
    q = MEAN_PACKET_BITS / (cap_bps - load_bps) if load_bps < cap_bps else np.inf
    return float(sim.router.prop_delay_s[_edge(sim, a, b)]) + min(q, MAX_QUEUE_DELAY_S)


# -- the simulator -------------------------------------------------------------------------

def test_pair_routed_the_long_way_round_on_the_ring(tmp_path):
    scene = twin3d.load_scene(_ring(tmp_path, LONG_WAY))
    sim = Simulator(scene)
    res = sim.run(scene.spec.scenarios[0])
    assert _loads(res, 0) == {"AB": 2 * D, "BC": 2 * D, "CD": 2 * D, "DA": 2 * D}
    # busier direction: AB keeps B->A's 4 G (A->B is down to 2 G); the others carry 4 + 2 G
    assert _loads(res, 1) == {"AB": 2 * D, "BC": 3 * D, "CD": 3 * D, "DA": 3 * D}
    s1 = res.steps[1]
    assert s1.events == ["pair_route A->B via A-D-C-B"]
    assert s1.kpis["dropped_bps"] == 0.0 and not s1.waves
    delivered, latency = _pair(s1, sim, "A", "B")
    assert delivered == D
    want = sum(_hop_delay_s(sim, a, b, 3 * D, cap) for a, b, cap in
               (("A", "D", 10e9), ("D", "C", 7e9), ("C", "B", 10e9)))
    assert latency == pytest.approx(want, rel=1e-12)
    # another pair keeps its IGP latency: B->A direct, 4 G on 10 G
    assert _pair(s1, sim, "B", "A")[1] == pytest.approx(_hop_delay_s(sim, "B", "A", 2 * D, 10e9),
                                                        rel=1e-12)


def test_a_pinned_path_over_capacity_tail_drops_and_trips(tmp_path):
    # step 1: CD at 5 G carries 6 G from D to C (1.2 is not past the trip threshold):
    # D->C passes 5/6 of each of its flows, so 1 G is lost and A->B delivers 2 x 5/6 G.
    # step 2: CD at 4 G: 1.5 > 1.2 trips it; A->B falls back to its IGP route, the link AB.
    scene = twin3d.load_scene(_ring(tmp_path, LONG_WAY.replace("t = 1", "t = 0") + ","
                                    '{ t = 1, kind = "set_capacity", link = "CD", capacity_bps = 5e9 },'
                                    '{ t = 2, kind = "set_capacity", link = "CD", capacity_bps = 4e9 }'))
    sim = Simulator(scene)
    res = sim.run(scene.spec.scenarios[0])
    s1, s2 = res.steps[1], res.steps[2]
    assert _loads(res, 1) == {"AB": 2 * D, "BC": 3 * D, "CD": 3 * D, "DA": 3 * D}
    assert s1.kpis["dropped_bps"] == pytest.approx(1e9, rel=1e-9)
    delivered, latency = _pair(s1, sim, "A", "B")
    assert delivered == pytest.approx(D * 5 / 6, rel=1e-12)
    want = (_hop_delay_s(sim, "A", "D", 3 * D, 10e9) + _hop_delay_s(sim, "D", "C", 3 * D, 5e9)
            + _hop_delay_s(sim, "C", "B", 3 * D, 10e9))
    assert latency == pytest.approx(want, rel=1e-12)
    assert [w["tripped"] for w in s2.waves] == [["CD"]]
    assert s2.link_state[res.link_ids.index("CD")] == "tripped"
    # the ring without CD is the path D-A-B-C: each pair on its one path
    assert _loads(res, 2) == {"AB": 4 * D, "BC": 3 * D, "CD": 0.0, "DA": 3 * D}
    assert _pair(s2, sim, "A", "B") == (D, pytest.approx(_hop_delay_s(sim, "A", "B", 4 * D, 10e9)))


@pytest.mark.parametrize("fault", ['{ t = 2, kind = "fiber_cut", target = "CD" }',
                                   '{ t = 2, kind = "site_outage", target = "D" }'])
def test_a_pair_falls_back_to_igp_when_its_path_breaks(tmp_path, fault):
    pinned = simulate(twin3d.load_scene(_ring(tmp_path, LONG_WAY + "," + fault)))["x"]
    plain = simulate(twin3d.load_scene(_ring(tmp_path, fault)))["x"]
    assert _loads(pinned, 1) != _loads(plain, 1)
    assert _loads(pinned, 2) == _loads(plain, 2)
    assert pinned.steps[2].kpis["dropped_bps"] == plain.steps[2].kpis["dropped_bps"]
    np.testing.assert_array_equal(pinned.steps[2].demand_delivered_bps,
                                  plain.steps[2].demand_delivered_bps)


def test_an_empty_path_ends_the_pair_route(tmp_path):
    res = simulate(twin3d.load_scene(_ring(
        tmp_path, LONG_WAY + ', { t = 2, kind = "pair_route", src = "A", dst = "B", path = [] }')))["x"]
    assert _loads(res, 2) == _loads(res, 0)
    assert res.steps[2].events == ["pair_route A->B ended"]


def test_an_acl_on_the_path_drops_the_pair_there(tmp_path):
    # deny A->B at C: A->D and D->C carry it, C->B does not; the 2 G are lost
    res = simulate(twin3d.load_scene(_ring(
        tmp_path, LONG_WAY + ', { t = 1, kind = "acl", at = "C", src = "A", dst = "B", action = "deny" }')))["x"]
    assert _loads(res, 1) == {"AB": 2 * D, "BC": 2 * D, "CD": 3 * D, "DA": 3 * D}
    assert res.steps[1].kpis["dropped_bps"] == pytest.approx(D)


def _ecmp_edge_loads(g: nx.Graph, demands) -> dict[tuple, float]:
    """Per-hop even ECMP by hops, the plain way: per destination, push down the BFS DAG."""
    load: dict[tuple, float] = {}
    by_dst: dict = {}
    for s, d, b in demands:
        by_dst.setdefault(d, {}).setdefault(s, 0.0)
        by_dst[d][s] += b
    for d, srcs in by_dst.items():
        dist = nx.single_source_shortest_path_length(g, d)
        flow = {n: srcs.get(n, 0.0) for n in dist}
        for n in sorted(dist, key=lambda x: -dist[x]):
            nxt = sorted(m for m in g[n] if dist.get(m, np.inf) == dist[n] - 1)
            for m in nxt:
                load[(n, m)] = load.get((n, m), 0.0) + flow[n] / len(nxt)
                flow[m] += flow[n] / len(nxt)
    return load


def test_abilene_pinned_loads_equal_igp_minus_the_pair_plus_its_path():
    scene = twin3d.load_scene(SCENES / "topologyzoo/Abilene.toml")
    sim = Simulator(scene)
    g = nx.Graph(scene.twin.graph)
    assert g.number_of_edges() == scene.twin.graph.number_of_edges()      # no parallel links
    s, d = max(sim.base_demands, key=lambda p: (sim.base_demands[p], p))
    path = list(nx.shortest_simple_paths(g, s, d))[3]           # a longer path than the IGP's
    ev = EventSpec(0, "pair_route", src=s, dst=d, path=tuple(path))
    sc = ScenarioSpec("p", steps=1, profile="flat", events=(ev,))
    step = sim.step(sim.timeline(sc), 0, demand_factor=0.1)   # light load: no trips, no drops
    assert not step.waves and step.kpis["dropped_bps"] == pytest.approx(0.0, abs=1e-3)
    nodes = sim.router.nodes
    src, dst, bps = step.demand
    rows = [(nodes[a], nodes[b], float(x)) for a, b, x in zip(src, dst, bps)]
    pair_bps = sum(x for a, b, x in rows if (a, b) == (s, d))
    want = _ecmp_edge_loads(g, [r for r in rows if (r[0], r[1]) != (s, d)])
    for a, b in zip(path, path[1:]):
        want[(a, b)] = want.get((a, b), 0.0) + pair_bps
    igp = _ecmp_edge_loads(g, rows)
    assert any(abs(want.get(e, 0.0) - igp.get(e, 0.0)) > 1e6 for e in set(want) | set(igp))
    link_ends = {l: (scene.twin.links[l].a, scene.twin.links[l].b) for l in sim.link_ids}
    for l, got in zip(sim.link_ids, step.link_load_bps):
        a, b = link_ends[l]
        assert got == pytest.approx(max(want.get((a, b), 0.0), want.get((b, a), 0.0)), rel=1e-9), l
    assert pair_bps > 0 and _pair(step, sim, s, d)[0] == pytest.approx(pair_bps, rel=1e-12)


def test_steps_without_pair_routes_keep_the_compiled_path(tmp_path):
    scene = twin3d.load_scene(_ring(tmp_path, LONG_WAY + ', { t = 2, kind = "pair_route", src = "A", '
                                    'dst = "B", path = [] }'))
    sim = Simulator(scene)
    sim.run(scene.spec.scenarios[0])
    assert sim._batch is not None          # steps 0 and 2 took the compiled step


@pytest.mark.parametrize("mode, ab_up, want", [
    ("ecmp", True, {"AB1": 1e9, "AB2": 1e9}), ("spf", True, {"AB1": 2e9, "AB2": 0.0}),
    ("ecmp", False, {"AB1": 0.0, "AB2": 2e9})])
def test_a_pinned_hop_over_parallel_links(mode, ab_up, want):
    """Two parallel links A-B, then B-C; A->C pinned A-B-C (the IGP would take A-C)."""
    g = nx.MultiGraph([("A", "B", "AB1"), ("A", "B", "AB2"), ("B", "C", "BC"), ("A", "C", "AC")])
    r = Router(g)
    demands = r.demand_arrays({("A", "C"): 2e9})
    pinned = pair_paths_of(r, {("A", "C"): ("A", "B", "C")}, demands)
    link_up = np.array([l != "AB1" or ab_up for l in r.links])
    step = route_step_forwarding(r, demands, link_up, np.ones(3, bool), np.full(4, 10e9), 1.2,
                                 overrides_of(r, []), mode, pinned=pinned)
    got = dict(zip(r.links, step.link_load_bps(len(r.links)).tolist()))
    assert got == {**want, "BC": 2e9, "AC": 0.0}
    assert step.routing.delivered_bps.tolist() == [2e9]


# -- scene files ----------------------------------------------------------------------------

def test_a_scene_with_a_pair_route_builds_and_its_layer_replays_it(tmp_path):
    p = _ring(tmp_path, LONG_WAY)
    out = subprocess.run([sys.executable, "-m", "twin3d", "build", str(p), "--output",
                          str(tmp_path / "out"), "--no-validate"], cwd=ROOT, capture_output=True,
                         text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    kpis = json.loads((tmp_path / "out" / "kpis.json").read_text())
    assert "pair_route A->B via A-D-C-B" in json.dumps(kpis)
    layer = Sdf.Layer.FindOrOpen(str(tmp_path / "out" / "layers" / "scenarios" / "x.usdc"))
    meta = layer.customLayerData["twin3d"]
    assert ["pair_route A->B via A-D-C-B"] in meta["events"].values()
    attr = layer.GetAttributeAtPath("/World/Network/Links/CD.twin:load_bps")
    assert [layer.QueryTimeSample(attr.path, t) for t in range(3)] == [2 * D, 3 * D, 3 * D]


@pytest.mark.parametrize("event, field, words", [
    ('{ t = 1, kind = "pair_route", src = "A", dst = "B", path = ["A", "C"] }', "path", "must run from src"),
    ('{ t = 1, kind = "pair_route", src = "A", dst = "B", path = ["A", "C", "B"] }', "path", "no link joins"),
    ('{ t = 1, kind = "pair_route", src = "A", dst = "B", path = ["A", "Z", "B"] }', "path", "unknown site 'Z'"),
    ('{ t = 1, kind = "pair_route", src = "A", dst = "B", path = ["A", "D", "A", "B"] }', "path", "twice"),
    ('{ t = 1, kind = "pair_route", src = "A", dst = "B", path = "A-B" }', "path", "must be list"),
    ('{ t = 1, kind = "pair_route", src = "A", dst = "A", path = [] }', "dst", "must differ"),
    ('{ t = 1, kind = "pair_route", src = "A", dst = "B" }', "path", "is missing"),
])
def test_bad_pair_routes_name_the_field(tmp_path, event, field, words):
    p = _ring(tmp_path, event)
    with pytest.raises(InputError, match=words) as e:
        twin3d.load_scene(p)
    assert e.value.field == field and "event 1" in str(e.value) and str(p.name) in str(e.value)


def test_a_bad_pair_route_exits_2_with_one_line(tmp_path, cli_in_process):
    p = _ring(tmp_path, '{ t = 1, kind = "pair_route", src = "A", dst = "B", path = ["A", "C", "B"] }')
    out = cli_in_process("simulate", p)
    assert out.returncode == 2, out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "path" in lines[0] and "event 1" in lines[0], out.stderr


# -- FaultRecovery --------------------------------------------------------------------------

def _fr(tmp_path, **kw):
    env = gym.make("twin3d/FaultRecovery-v0", scene=write_ring_scene(tmp_path), steps=4,
                   profile="flat", **kw).unwrapped
    obs, info = env.reset(seed=0)
    return env, obs, info


def test_fr_reroute_pins_the_pair_round_its_hottest_link(tmp_path):
    env, obs, info = _fr(tmp_path, opponent=None)
    k = env.pairs.index(("A", "B"))
    a, undo = env.menu.index(("reroute", "A->B")), env.menu.index(("unreroute", "A->B"))
    assert info["action_mask"][a] == 1 and info["action_mask"][undo] == 0
    # A->B goes direct over AB, its only (hence hottest) link: the detour avoids it
    assert env.detours()[k] == ["A", "D", "C", "B"]
    obs, reward, *_, info = env.step(a)
    assert info["events"] == ["pair_route A->B via A-D-C-B"]
    load = dict(zip(env.link_ids, env._last.link_load_bps.tolist()))
    assert load == {"AB": 2 * D, "BC": 3 * D, "CD": 3 * D, "DA": 3 * D}
    assert obs["pair_rerouted"][k] == 1.0 and obs["pair_rerouted"].sum() == 1.0
    assert info["reward_terms"] == pytest.approx({"served": 1.0, "action": -0.02})
    assert info["action_mask"][a] == 0 and info["action_mask"][undo] == 1
    obs, reward, *_, info = env.step(undo)
    assert info["events"] == ["pair_route A->B ended"]
    assert dict(zip(env.link_ids, env._last.link_load_bps.tolist())) == \
        {"AB": 2 * D, "BC": 2 * D, "CD": 2 * D, "DA": 2 * D}
    assert obs["pair_rerouted"].sum() == 0.0


def test_fr_rerouted_pair_falls_back_when_the_opponent_cuts_its_path(tmp_path):
    def cut_cd_at_2(t, view, rng):
        return [EventSpec(t, "fiber_cut", "CD")] if t == 2 else []

    env, *_ = _fr(tmp_path, opponent=cut_cd_at_2)
    env.step(env.menu.index(("reroute", "A->B")))
    obs, *_, info = env.step(0)
    load = dict(zip(env.link_ids, env._last.link_load_bps.tolist()))
    assert load == {"AB": 4 * D, "BC": 3 * D, "CD": 0.0, "DA": 3 * D}     # the path D-A-B-C
    assert obs["pair_rerouted"][env.pairs.index(("A", "B"))] == 1.0      # still configured


def test_fr_simulate_of_a_reroute_changes_nothing(tmp_path):
    env, obs, info = _fr(tmp_path, opponent=None)
    a = env.menu.index(("reroute", "C->A"))
    n_log, t = len(env._timeline.log), env.t
    sim_obs, *_ = env.simulate(a)
    assert sim_obs["pair_rerouted"].sum() == 1.0
    assert not env._rerouted.any() and len(env._timeline.log) == n_log and env.t == t
    assert env.action_mask()[a] == 1
    obs2, *_ = env.step(a)
    for key in obs2:
        np.testing.assert_array_equal(obs2[key], sim_obs[key])


def test_detours_against_networkx_on_abilene():
    """Random weights and distinct utilizations: every pair's detour is a shortest path
    of the graph without the hottest hop of the pair's IGP DAG (found by networkx)."""
    scene = twin3d.load_scene(SCENES / "topologyzoo/Abilene.toml")
    r = Router(scene.twin.graph)
    rng = np.random.default_rng(3)
    lw = rng.integers(1, 5, len(r.links)).astype(float)
    util = rng.permutation(len(r.links)) / len(r.links)
    down = rng.integers(len(r.links))
    ok = r.link != down
    g = nx.DiGraph()
    for e in np.flatnonzero(ok):
        g.add_edge(int(r.u[e]), int(r.v[e]), w=lw[r.link[e]], link=int(r.link[e]))
    pairs = [(s, d) for s in range(r.n_nodes) for d in range(r.n_nodes) if s != d]
    got = detours(r.u, r.v, r.link, ok, lw[r.link], util, r.n_nodes, pairs)
    n_some = 0
    for (s, d), path in zip(pairs, got):
        ds = nx.single_source_dijkstra_path_length(g, s, weight="w")
        dt = nx.single_source_dijkstra_path_length(g.reverse(), d, weight="w")
        on = [(a, b) for a, b, x in g.edges(data=True)
              if abs(ds.get(a, np.inf) + x["w"] + dt.get(b, np.inf) - ds[d]) <= 1e-9 * ds[d]]
        a, b = max(on, key=lambda e: util[g.edges[e]["link"]])
        h = g.copy()
        h.remove_edges_from([(a, b), (b, a)])
        if not nx.has_path(h, s, d):
            assert path is None
            continue
        n_some += 1
        assert path[0] == s and path[-1] == d and len(set(path)) == len(path)
        assert all(h.has_edge(x, y) for x, y in zip(path, path[1:]))
        assert nx.path_weight(h, path, "w") == nx.shortest_path_length(h, s, d, weight="w")
    assert n_some > len(pairs) // 2


@pytest.mark.parametrize("module", ["twin3d.envs.detour", "twin3d.physics.pinned",
                                    "twin3d.sim.forwarding_step", "twin3d.sim.events"])
def test_docstring_examples(module):
    import doctest
    import importlib
    res = doctest.testmod(importlib.import_module(module))
    assert res.failed == 0 and res.attempted > 0
