"""The environments' lean step path equals the general one.

* ``Timeline.state`` (dicts built by copy, capacity factors only for links an
  event changed, lasting events in one pass) against the replay it replaced,
  written out here, on random event sequences;
* weights told as vectors (``LiveTimeline.set_weights``) against the plain
  ``Timeline`` over the ``set_weight`` events its log lists;
* TrafficEngineering episodes with random actions on Geant2012 and Abilene,
  replayed through ``Simulator.run`` (the general path): every KPI, array,
  state and event text equal;
* the per-node demand totals a large graph observes, kept while the demand
  arrays stay the same, against a fresh ``bincount`` at every step.
"""

from __future__ import annotations

import sys
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

import twin3d
import twin3d.envs  # noqa: F401
from twin3d.scene import EventSpec, ScenarioSpec
from twin3d.sim.engine import Simulator
from twin3d.sim.events import StepState, Timeline
from twin3d.sim.live import LiveTimeline

from conftest import SCENES
from test_envs_episode import _random_events

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))


def _reference_state(tl: Timeline, step: int):
    """``Timeline.state`` as it was: every dict rebuilt, every link's factor divided."""
    links = {l: "up" for l in tl.link_ids}
    sites = dict(tl._initial_sites)
    base = tl._base_cap or {}
    cap = {l: float(base.get(l, 1.0)) for l in tl.link_ids}
    extra = StepState(step, {}, {}, {})
    spared: set[str] = set()
    applied = []
    for ev in tl._events:
        if ev.t > step:
            break
        if ev.t == step:
            applied.append(ev)
        tl._apply(ev, step, links, sites, cap, extra, spared)
    for l in tl._trips:
        if links[l] == "up" and tl.tripped(l, step):
            links[l] = "tripped"
    surges = [e for e in tl._events if e.kind == "surge" and e.active(step)]
    ddos = [e for e in tl._events if e.kind == "ddos" and e.active(step)]
    sleeping = {e.cell for e in tl._events if e.kind == "cell_sleep" and e.active(step)}
    shed = {(e.src, e.dst): e.factor for e in tl._events if e.kind == "shed" and e.active(step)}
    if tl._base_cap is None:
        factor, cap_bps = cap, None
    else:
        factor = {l: (cap[l] / base[l] if 0 < base.get(l, 0) < float("inf") else 1.0)
                  for l in tl.link_ids}
        cap_bps = cap
    return (links, sites, factor, surges, ddos, applied, extra.weight, cap_bps, sleeping,
            extra.sector, extra.forwarding, shed)


@pytest.mark.parametrize("seed", range(6))
def test_timeline_state_equals_the_plain_replay(seed):
    rng = np.random.default_rng(seed)
    links, sites, cells = ["L1", "L2", "L3", "L4"], ["S1", "S2", "S3"], ["S1/1", "S2/1"]
    cap = {"L1": 10e9, "L2": 0.0, "L3": 4e9, "L4": float("inf")}      # 0 and inf: factor 1
    events = []
    for t in range(25):
        events += _random_events(rng, t, links, sites, cells)
    sc = ScenarioSpec("x", steps=30, events=tuple(events))
    tl = Timeline(sc, links, sites, None, cap, {l: 5e9 for l in links})
    tl_ref = Timeline(sc, links, sites, None, cap, {l: 5e9 for l in links})
    for t in range(30):
        if rng.random() < 0.3:
            trip = [links[rng.integers(len(links))]]
            tl.trip(trip, t)
            tl_ref.trip(trip, t)
        s = tl.state(t)
        got = (s.link_state, s.site_state, s.capacity_factor, s.surges, s.ddos, s.events,
               s.weight, s.capacity_bps, s.cell_sleep, s.sector, s.forwarding, s.shed)
        assert got == _reference_state(tl_ref, t), t


@pytest.mark.parametrize("seed", range(4))
def test_weight_vectors_equal_set_weight_events(seed):
    rng = np.random.default_rng(seed)
    links, sites = [f"L{i}" for i in range(6)], ["S1", "S2"]
    live = LiveTimeline(ScenarioSpec("x", steps=24), links, sites)
    for t in range(20):
        k = int(rng.integers(0, 4))
        idx = rng.choice(len(links), size=k, replace=False)
        live.set_weights(t, idx, rng.integers(1, 9, size=k).astype(float))
        if rng.random() < 0.4:
            live.add([EventSpec(t, "fiber_cut", links[rng.integers(len(links))]),
                      EventSpec(t + 2, "restore", links[rng.integers(len(links))])])
        s = live.state(t)
        plain = Timeline(live.scenario_spec, links, sites).state(t)
        told = {links[i]: w for i, w in enumerate(s.link_weight.tolist()) if w == w}
        assert told == plain.weight and s.link_state == plain.link_state
        # the step's weight changes are its set_weight events, first among its events
        mine = [(links[i], w) for c in s.weight_changes
                for i, w in zip(c.link_index.tolist(), c.weight.tolist())]
        assert mine == [(e.link, e.weight) for e in plain.events if e.kind == "set_weight"]
        assert [e.kind for e in plain.events][:len(mine)] == ["set_weight"] * len(mine)
    with pytest.raises(ValueError, match="vectors"):
        live.add([EventSpec(21, "set_weight", link="L1", weight=2.0)])


@pytest.mark.parametrize("name, sparse", [("Geant2012", False), ("Abilene", False),
                                          ("Abilene", True)])
def test_te_episode_replays_through_the_general_path(name, sparse):
    env = gym.make("twin3d/TrafficEngineering-v0", scene=str(SCENES / f"topologyzoo/{name}.toml"),
                   steps=14, opponent={"kinds": ["fiber_cut"], "attack_prob": 0.5,
                                       "budget": 10.0, "duration_steps": (1, 3)}).unwrapped
    rng = np.random.default_rng(4)
    env.reset(seed=2)
    rung = np.zeros(len(env.link_ids), dtype=np.int64)
    for _ in range(13):
        if sparse:
            i = rng.integers(len(rung), size=2)
            rung[i] = np.clip(rung[i] + rng.choice([-1, 1], size=2), 0, len(env.ladder) - 1)
            a = rung.copy()
        else:
            a = rng.integers(0, len(env.ladder), size=len(env.link_ids))
        _, _, te, tr, info = env.step(a)
        assert info["action_events"] >= 1 or sparse
    ep = env.episode_result()
    assert sum(e.kind == "set_weight" for e in ep.spec.events) > 13
    replay = Simulator(env.scene).run(ep.spec)
    for a, b in zip(ep.steps, replay.steps):
        assert a.kpis.keys() == b.kpis.keys()
        for k, v in a.kpis.items():
            assert v == b.kpis[k] or (v != v and b.kpis[k] != b.kpis[k]), (a.t, k)
        for f in ("link_util", "link_load_bps", "link_weight", "site_load_bps",
                  "demand_latency_s", "demand_delivered_bps"):
            np.testing.assert_array_equal(getattr(a, f), getattr(b, f), err_msg=f"{f} step {a.t}")
        assert a.link_state == b.link_state and a.site_state == b.site_state
        assert a.events == b.events and a.waves == b.waves
        np.testing.assert_array_equal(a.link_up, np.array([s == "up" for s in a.link_state]))


@pytest.mark.parametrize("profile", ["flat", "diurnal"])
def test_node_totals_follow_the_demand(tmp_path, profile):
    from bench_ecmp import geometric_graph, write_scene
    scene = twin3d.load_scene(write_scene(geometric_graph(80, 3), tmp_path, 1e12, 2, 3))
    env = gym.make("twin3d/TrafficEngineering-v0", scene=scene, profile=profile, steps=8,
                   step_s=3600.0, demand_factor=0.5).unwrapped
    obs, _ = env.reset(seed=1)
    rng = np.random.default_rng(0)
    for _ in range(7):
        src, dst, bps = env._last.demand
        n = env.sim.router.n_nodes
        np.testing.assert_array_equal(obs["node_out_bps"],
                                      np.bincount(src, bps, minlength=n).astype(np.float32))
        np.testing.assert_array_equal(obs["node_in_bps"],
                                      np.bincount(dst, bps, minlength=n).astype(np.float32))
        obs, *_ = env.step(rng.integers(0, 2, size=len(env.link_ids)))
    assert not env._last.demand[2].flags.writeable        # the kept, shared base demand


def test_in_service_kept_apart_follows_link_and_site_states():
    """``Simulator._in_service`` keeps link_up and node_up apart (a cascade changes the
    link states, not the site states): each follows its own states, also a site dict
    changed in place, and hands out copies."""
    sim = Simulator(twin3d.load_scene(SCENES / "topologyzoo" / "Abilene.toml"))
    nodes, links = list(sim.router.nodes), list(sim.link_ids)

    def plain(link_states, site_state):
        return (np.array([s == "up" for s in link_states]),
                np.array([site_state.get(n, "up") in ("up", "sleep") for n in nodes]))

    up = ("up",) * len(links)
    cut = ("cut",) + up[1:]
    tripped = up[:-1] + ("tripped",)
    sites = dict.fromkeys(sim.site_ids, "up")
    seq = [(up, dict(sites)), (cut, dict(sites)), (tripped, dict(sites)),
           (tripped, {**sites, nodes[0]: "down"}), (tripped, {**sites, nodes[0]: "sleep"}),
           (up, {**sites, nodes[1]: "off"}), (up, dict(sites))]
    for link_states, site_state in seq:
        want = plain(link_states, site_state)
        got = sim._in_service(link_states, site_state)
        assert [g.tolist() for g in got] == [w.tolist() for w in want]
        got[0][:] = False               # copies: the next call must not see this
        got[1][:] = False
    shared = dict(sites)
    assert sim._in_service(up, shared)[1].all()
    shared[nodes[2]] = "down"           # the same dict, changed in place
    assert sim._in_service(up, shared)[1].tolist() == plain(up, shared)[1].tolist()
    assert not sim._in_service(up, shared)[1][nodes.index(nodes[2])]
