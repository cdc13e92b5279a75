"""The environments against Gymnasium's and PettingZoo's own checkers, and their promises:
registration, spaces, lookahead, determinism, the opponent, rendering."""

from __future__ import annotations

import os
import subprocess
import sys
import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import twin3d.envs
from twin3d.envs.opponent import Opponent, OpponentView
from twin3d.errors import InputError
from twin3d.scene import EventSpec

from conftest import ROOT, SCENES

HELSINKI = str(SCENES / "helsinki.toml")
ABILENE = str(SCENES / "topologyzoo/Abilene.toml")
GEANT = str(SCENES / "topologyzoo/Geant2012.toml")
CHECKS = [("twin3d/TrafficEngineering-v0", s) for s in (HELSINKI, ABILENE, GEANT)] + \
         [("twin3d/FaultRecovery-v0", s) for s in (HELSINKI, ABILENE, GEANT)] + \
         [("twin3d/EnergySaving-v0", HELSINKI)]


def test_import_twin3d_alone_does_not_import_gymnasium():
    code = "import sys, twin3d, twin3d.sim.engine; print('gymnasium' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert out.stdout.strip() == "False", out.stderr


@pytest.mark.parametrize("env_id, scene", CHECKS, ids=[f"{e.split('/')[1]}-{s.rsplit('/', 1)[1]}"
                                                       for e, s in CHECKS])
def test_gymnasium_env_checker_passes(env_id, scene):
    env = gym.make(env_id, scene=scene, steps=8)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*infinity.*")   # loads and bit/s are unbounded
        check_env(env.unwrapped, skip_render_check=False)
    obs, _ = env.reset(seed=0)
    assert env.observation_space.contains(obs)


def test_energy_saving_on_a_scene_without_cells_names_the_scene():
    with pytest.raises(InputError) as err:
        gym.make("twin3d/EnergySaving-v0", scene=ABILENE)
    msg = str(err.value)
    assert "Abilene.toml" in msg and "radio cells" in msg and "abilene" in msg


def test_pettingzoo_parallel_api_test_passes():
    from pettingzoo.test import parallel_api_test
    env = twin3d.envs.energy_saving_parallel_env(scene=HELSINKI, steps=6)
    parallel_api_test(env, num_cycles=10)
    obs, infos = env.reset(seed=0)
    assert env.agents == [s for s in env.env.sim.site_ids if env.env.sim.twin.sites[s].cells]
    a = env.agents[0]
    assert obs[a]["cell_load"].shape == (len(env.env.sim.twin.sites[a].cells),)
    obs, rew, term, trunc, infos = env.step({a: env.action_space(a).sample() for a in env.agents})
    assert len(set(rew.values())) == 1                    # shared reward
    assert set(infos[a]["local"]) == {"site_power_w", "cell_load_max", "cells_asleep"}


def test_flatten_gives_one_box_of_every_key():
    env = twin3d.envs.flatten(gym.make("twin3d/TrafficEngineering-v0", scene=ABILENE))
    obs, _ = env.reset(seed=0)
    inner = env.unwrapped.observation_space
    assert obs.shape == (sum(int(np.prod(s.shape)) for s in inner.spaces.values()),)
    assert obs.dtype == np.float32


@pytest.mark.parametrize("env_id, scene", [("twin3d/TrafficEngineering-v0", GEANT),
                                           ("twin3d/FaultRecovery-v0", ABILENE),
                                           ("twin3d/EnergySaving-v0", HELSINKI)])
def test_simulate_changes_nothing_and_foresees_the_step(env_id, scene):
    env = gym.make(env_id, scene=scene, steps=8, opponent={"kinds": ["fiber_cut"] if "Energy" not in env_id
                                                           else ["surge"], "attack_prob": 0.5,
                                                           "budget": 20.0, "duration_steps": (1, 2),
                                                           "cooldown_steps": 0}).unwrapped
    twin = gym.make(env_id, scene=scene, steps=8, simulator=env.sim,
                    opponent=dict(kinds=env.opponent.kinds, attack_prob=0.5, budget=20.0,
                                  duration_steps=(1, 2), cooldown_steps=0)).unwrapped
    env.action_space.seed(1)
    env.reset(seed=4)
    twin.reset(seed=4)
    for _ in range(6):           # env looks ahead before every step, twin never does
        look = env.action_space.sample()
        other = env.action_space.sample()
        seen = env.simulate(look)
        a = env.step(other)
        b = twin.step(other)                       # never looked ahead
        for key in a[0]:
            np.testing.assert_array_equal(a[0][key], b[0][key])
        assert a[1:4] == b[1:4] and a[4]["events"] == b[4]["events"]
        assert a[4]["opponent_events"] == b[4]["opponent_events"]
        assert seen[4]["t"] == a[4]["t"]


def test_simulate_equals_the_step_it_foresees():
    env = gym.make("twin3d/FaultRecovery-v0", scene=ABILENE, steps=10).unwrapped
    env.reset(seed=2)
    env.action_space.seed(0)
    for _ in range(8):
        a = env.action_space.sample()
        seen = env.simulate(a)
        got = env.step(a)
        for key in got[0]:
            np.testing.assert_array_equal(seen[0][key], got[0][key])
        assert seen[1:4] == got[1:4]
        assert seen[4]["opponent_events"] == got[4]["opponent_events"]


_EPISODE = """
import sys, numpy as np, gymnasium as gym, twin3d.envs
env = gym.make("twin3d/{name}-v0", scene=sys.argv[1], steps=16)
env.reset(seed=int(sys.argv[2])); env.action_space.seed(int(sys.argv[3])); done = False
while not done:
    obs, r, te, tr, info = env.step(env.action_space.sample()); done = te or tr
print(info["episode_hash"])
"""


@pytest.mark.parametrize("name, scene", [("TrafficEngineering", GEANT), ("FaultRecovery", ABILENE)])
def test_episode_hash_is_the_same_in_two_processes(name, scene, tmp_path):
    script = tmp_path / "ep.py"
    script.write_text(_EPISODE.format(name=name))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    run = lambda seed, actions: subprocess.run(  # noqa: E731
        [sys.executable, str(script), scene, str(seed), str(actions)], cwd=ROOT,
        capture_output=True, text=True, timeout=300, env=env).stdout.strip()
    first, second, other = run(3, 5), run(3, 5), run(3, 6)
    assert len(first) == 64 and first == second
    assert other != first


def test_first_reset_without_seed_takes_the_scene_seed():
    a = gym.make("twin3d/FaultRecovery-v0", scene=ABILENE, steps=6).unwrapped
    b = gym.make("twin3d/FaultRecovery-v0", scene=ABILENE, steps=6).unwrapped
    a.reset()
    b.reset(seed=a.scene.spec.seed)
    assert a._episode_seed == 7 and [a.step(0)[1] for _ in range(5)] == [b.step(0)[1] for _ in range(5)]


def _view(n_links=3):
    return OpponentView([f"L{i}" for i in range(n_links)], ["S1", "S2"], np.ones(n_links, bool),
                        np.linspace(0.1, 0.9, n_links), np.ones(2, bool), 1e9, ["S1", "S2"])


def test_opponent_keeps_its_budget_duration_and_cooldown():
    opp = Opponent(kinds=("fiber_cut", "site_outage"), attack_prob=1.0, budget=0.0, budget_per_step=1.0,
                   duration_steps=(3, 3), cooldown_steps=2)
    rng = np.random.default_rng(0)
    starts = []
    for t in range(40):
        evs = opp(t, _view(), rng)
        starts += [(e.t, e.kind, e.target) for e in evs if e.kind != "restore"]
        assert all(e.t == t + 3 for e in evs if e.kind == "restore")
    times = [t for t, _, _ in starts]
    # each attack costs 3 (its duration) from a budget of 1 per step, and waits 3 + 2 steps
    assert times[0] == 2 and all(b - a >= 5 for a, b in zip(times, times[1:]))
    assert sum(3 for _ in times) <= 40
    assert {k for _, k, _ in starts} == {"fiber_cut", "site_outage"}


def test_opponent_attacks_only_its_targets():
    opp = Opponent(kinds=("fiber_cut",), targets=["link:L2"], attack_prob=1.0, budget=100.0,
                   duration_steps=(1, 1), cooldown_steps=0)
    rng = np.random.default_rng(1)
    hits = {e.target for t in range(20) for e in opp(t, _view(), rng)}
    assert hits == {"L2"}


def test_opponent_off_and_callable():
    env = gym.make("twin3d/FaultRecovery-v0", scene=ABILENE, steps=30, opponent=None).unwrapped
    env.reset(seed=0)
    assert all(not env.step(0)[4]["opponent_events"] for _ in range(29))
    calls = []

    def mine(t, view, rng):
        calls.append(t)
        return [EventSpec(t, "fiber_cut", view.link_ids[0])] if t == 2 else []

    env = gym.make("twin3d/FaultRecovery-v0", scene=ABILENE, steps=5, opponent=mine).unwrapped
    env.reset(seed=0)
    infos = [env.step(0)[4] for _ in range(4)]
    assert calls == [1, 2, 3, 4]
    assert infos[1]["opponent_events"] == [f"fiber_cut {env.link_ids[0]}"]


def test_render_rgb_array_draws_the_network():
    env = gym.make("twin3d/TrafficEngineering-v0", scene=ABILENE, render_mode="rgb_array")
    env.reset(seed=0)
    img = env.render()
    assert img.shape == (360, 480, 3) and img.dtype == np.uint8
    colours = np.unique(img.reshape(-1, 3), axis=0)
    assert len(colours) > 20                               # lines and spheres, not a blank canvas
    assert (img.reshape(-1, 3) != 255).any(axis=1).mean() > 0.01
    env.close()


@pytest.mark.parametrize("module", ["twin3d.envs.opponent", "twin3d.envs.vector",
                                    "twin3d.envs.vector_rows", "twin3d.envs.vector_score",
                                    "twin3d.sim.live", "twin3d.sim.transport_step"])
def test_docstring_examples(module):
    import doctest
    import importlib
    res = doctest.testmod(importlib.import_module(module))
    assert res.failed == 0 and res.attempted > 0
