"""Episodes: the live timeline equals a replay of its log, a saved episode is a stage
that twin3d.viz opens, and its time samples equal the episode."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from pxr import Usd

import twin3d.envs  # noqa: F401
from twin3d.scene import EventSpec, ScenarioSpec
from twin3d.sim.engine import Simulator
from twin3d.sim.events import Timeline
from twin3d.sim.live import LiveTimeline
from twin3d.usd.validate import validate_stage
from twin3d.viz.scenarios import find_scenarios, steps_of

from conftest import SCENES

ABILENE = str(SCENES / "topologyzoo/Abilene.toml")


def _random_events(rng, t, links, sites, cells):
    kinds = ["set_weight", "set_capacity", "fiber_cut", "restore", "surge", "cell_sleep", "shed",
             "site_outage", "power_down", "activate_spare", "degrade_capacity", "ddos", "pair_route"]
    out = []
    for _ in range(rng.integers(0, 4)):
        k = kinds[rng.integers(len(kinds))]
        l, s = links[rng.integers(len(links))], sites[rng.integers(len(sites))]
        dur = None if rng.random() < 0.3 else int(rng.integers(1, 4))
        out.append({"set_weight": EventSpec(t, k, link=l, weight=float(rng.integers(1, 9))),
                    "set_capacity": EventSpec(t, k, link=l, capacity_bps=float(rng.integers(1, 9)) * 1e9),
                    "degrade_capacity": EventSpec(t, k, link=l, factor=0.5),
                    "activate_spare": EventSpec(t, k, link=l),
                    "fiber_cut": EventSpec(t, k, l), "site_outage": EventSpec(t, k, s),
                    "restore": EventSpec(t, k, l if rng.random() < 0.5 else s),
                    "power_down": EventSpec(t, k, s, duration=dur),
                    "surge": EventSpec(t, k, s, factor=2.0, duration=dur),
                    "ddos": EventSpec(t, k, s, bps=1e9, duration=dur),
                    "cell_sleep": EventSpec(t, k, cell=cells[rng.integers(len(cells))], duration=dur),
                    "shed": EventSpec(t, k, src=s, dst=sites[0], factor=float(rng.random()),
                                      duration=dur),
                    "pair_route": EventSpec(t, k, src=s, dst=sites[0],
                                            path=(s, l, sites[0]) if rng.random() < 0.7 else ())}[k])
        if rng.random() < 0.2:                  # something scheduled for later, as restores are
            out.append(EventSpec(t + int(rng.integers(1, 4)), "restore", l))
    return out


@pytest.mark.parametrize("seed", range(5))
def test_live_timeline_equals_a_timeline_over_its_log(seed):
    rng = np.random.default_rng(seed)
    links, sites, cells = ["L1", "L2", "L3"], ["S1", "S2", "S3"], ["S1/1", "S2/1"]
    cap = {l: 10e9 for l in links}
    spare = {l: 5e9 for l in links}
    steps = 30
    live = LiveTimeline(ScenarioSpec("x", steps=steps + 4), links, sites, None, cap, spare)
    states = []
    for t in range(steps):
        live.add(_random_events(rng, t, links, sites, cells))
        if rng.random() < 0.3:
            live.trip([links[rng.integers(3)]], t)
        states.append(live.state(t))
    full = Timeline(live.scenario_spec, links, sites, None, cap, spare)
    full._trips = live._trips
    for t, s in enumerate(states):
        ref = full.state(t)
        for name in ("link_state", "site_state", "capacity_bps", "weight", "cell_sleep", "shed",
                     "pair_route"):
            assert getattr(s, name) == getattr(ref, name), (t, name)
        assert [e for e in s.surges] == [e for e in ref.surges]
        assert [e for e in s.ddos] == [e for e in ref.ddos]
        assert s.events == ref.events


def _play(env_id, scene, steps, seed, **kw):
    env = gym.make(env_id, scene=scene, steps=steps, **kw).unwrapped
    obs, info = env.reset(seed=seed)
    env.action_space.seed(seed)
    done = False
    while not done:
        obs, r, te, tr, info = env.step(env.action_space.sample())
        done = te or tr
    return env


@pytest.mark.parametrize("env_id, scene", [("twin3d/FaultRecovery-v0", ABILENE),
                                           ("twin3d/TrafficEngineering-v0", ABILENE),
                                           ("twin3d/EnergySaving-v0", str(SCENES / "helsinki.toml"))])
def test_an_episode_replays_as_a_scenario_with_the_same_physics(env_id, scene):
    env = _play(env_id, scene, 12, seed=3, opponent={"kinds": ["fiber_cut", "surge"] if "Energy" not in env_id
                                                     else ["surge"], "attack_prob": 0.4, "budget": 10.0,
                                                     "duration_steps": (1, 3)})
    ep = env.episode_result()
    assert len(ep.steps) == 12 and ep.spec.events
    replay = Simulator(env.scene).run(ep.spec)
    for a, b in zip(ep.steps, replay.steps):
        for k, v in a.kpis.items():
            assert v == b.kpis[k] or (v != v and b.kpis[k] != b.kpis[k]), (a.t, k)
        np.testing.assert_array_equal(a.link_util, b.link_util)
        assert a.link_state == b.link_state and a.events == b.events


def test_saved_episode_opens_in_viz_and_its_samples_equal_the_episode(tmp_path):
    env = _play("twin3d/FaultRecovery-v0", ABILENE, 10, seed=1,
                opponent={"kinds": ["fiber_cut"], "attack_prob": 0.5, "budget": 10.0,
                          "duration_steps": (2, 3)})
    root = env.save_episode(tmp_path / "ep")
    assert root == (tmp_path / "ep" / "twin.usda").resolve()
    found = find_scenarios(root)
    assert list(found) == ["episode"]
    stage = found["episode"].activate()
    assert steps_of(stage) == list(range(10))
    ep = Usd.Stage.Open(str(tmp_path / "ep" / "scenarios" / "episode.usda"))
    prim = ep.GetPrimAtPath("/World/Episode")
    assert prim.GetAttribute("twin:reward").GetTimeSamples() == [float(t) for t in range(10)]
    assert [prim.GetAttribute("twin:reward").Get(t) for t in range(10)] == env._rewards
    assert [list(prim.GetAttribute("twin:action").Get(t)) for t in range(1, 10)] == \
        [[int(a)] for a in env._actions[1:]]
    attacks = [list(prim.GetAttribute("twin:opponent_events").Get(t)) for t in range(10)]
    assert attacks == env._attacks and any(attacks)
    assert prim.GetCustomDataByKey("episode_hash") == env._hash.hexdigest()
    links = ep.GetPrimAtPath("/World/Network/Links")
    for k, lid in enumerate(env.link_ids):
        util = next(p for p in links.GetChildren()
                    if p.GetAttribute("twin:id").Get() == lid).GetAttribute("twin:utilization")
        assert [util.Get(t) for t in range(10)] == pytest.approx(
            [float(s.link_util[k]) for s in env._steps], rel=1e-6)
    assert validate_stage(root).errors == []


def test_save_before_reset_is_an_error(tmp_path):
    env = gym.make("twin3d/TrafficEngineering-v0", scene=ABILENE).unwrapped
    with pytest.raises(RuntimeError, match="reset"):
        env.save_episode(tmp_path / "x")
    assert not (tmp_path / "x").exists()
