"""The batched TrafficEngineering env's shortcuts against the plain ways they replace."""

from __future__ import annotations

import numpy as np
import pytest

from twin3d.envs import make_vec, vector
from twin3d.envs.opponent import Opponent

from conftest import SCENES

KW = dict(steps=30, start_hour=17.0, demand_factor=2.0, auto_restore_steps=2,
          opponent={"kinds": ["fiber_cut", "site_outage"], "attack_prob": 0.4, "budget": 6.0,
                    "duration_steps": (1, 4), "cooldown_steps": 3})


def _pair(name, nb, **kw):
    scene = str(SCENES / f"topologyzoo/{name}.toml")
    return [make_vec("twin3d/TrafficEngineering-v0", num_envs=nb, scene=scene, parallel=False,
                     **{**KW, **kw}) for _ in range(2)]


def _same_step(a, b):
    for x, y in zip(a[:4], b[:4]):
        if isinstance(x, dict):
            for k in x:
                np.testing.assert_array_equal(x[k], y[k], err_msg=k)
        else:
            np.testing.assert_array_equal(x, y)
    ia, ib = a[4], b[4]
    assert ia.keys() == ib.keys()
    for k in ("t", "served_bps", "dropped_bps"):
        np.testing.assert_array_equal(ia[k], ib[k])
    for k in ia["reward_terms"]:
        np.testing.assert_array_equal(ia["reward_terms"][k], ib["reward_terms"][k])
    if "episode_hash" in ia:
        assert ia["episode_hash"].tolist() == ib["episode_hash"].tolist()


def _same_reset(a, b):
    (oa, ia), (ob, ib) = a, b
    _same_step((oa, 0, 0, 0, ia), (ob, 0, 0, 0, ib))


def test_busy_opponents_skipped_equal_calling_them_every_step():
    nb = 5
    fast, slow = _pair("Abilene", nb)
    slow._plain = [False] * nb            # every step calls the opponent, with a full view
    for o in slow._opponents:
        assert type(o) is Opponent
    _same_reset(fast.reset(seed=3), slow.reset(seed=3))
    rng = np.random.default_rng(1)
    skipped = 0
    for t in range(40):                   # past an episode's end: autoreset too
        a = rng.integers(0, 8, size=fast.action_space.shape)
        skipped += sum(int(tb) + 1 <= o._busy_until for tb, o in zip(fast._t, fast._opponents))
        _same_step(fast.step(a), slow.step(a))
        for of, os_, cf, cs in zip(fast._opponents, slow._opponents, fast.copies, slow.copies):
            assert (of._budget, of._busy_until) == (os_._budget, os_._busy_until)
            assert cf._opp_rng.bit_generator.state == cs._opp_rng.bit_generator.state
        assert [[(e.t, e.kind, e.target) for e in p] for p in fast._pending] == \
            [[(e.t, e.kind, e.target) for e in p] for p in slow._pending]
    assert skipped > 10                   # the shortcut ran


def test_auto_threads_decided_each_step_give_the_same_results(monkeypatch):
    """``parallel="auto"``: each step runs serially or on threads as ThreadChoice
    picks (both modes here: the warm-up tries each, then a look back every 3
    steps), with the serial env's results every step."""
    from twin3d.physics import threads
    nb = vector.THREADS_MIN_COPIES
    monkeypatch.setattr(vector, "PARALLEL_MIN_THREADS", 1)     # any machine: the step decides
    monkeypatch.setattr(threads, "usable_threads", lambda: 2)
    scene = str(SCENES / "topologyzoo/Abilene.toml")
    auto = make_vec("twin3d/TrafficEngineering-v0", num_envs=nb, scene=scene, **KW)
    serial = make_vec("twin3d/TrafficEngineering-v0", num_envs=nb, scene=scene, parallel=False, **KW)
    assert auto._choice is not None and serial._choice is None
    auto._choice.explore_every = 3
    used, step = [], auto.engine.step

    def recorded(*a, **kw):
        used.append(auto.engine.parallel)
        return step(*a, **kw)

    monkeypatch.setattr(auto.engine, "step", recorded)
    _same_reset(auto.reset(seed=0), serial.reset(seed=0))
    rng = np.random.default_rng(2)
    for t in range(34):
        a = rng.integers(0, 8, size=auto.action_space.shape)
        _same_step(auto.step(a), serial.step(a))
    assert used.count(True) >= 10 and used.count(False) >= 10 and serial.engine.parallel is False
    assert None not in auto._choice.cost_s                     # both measured
    small = make_vec("twin3d/TrafficEngineering-v0", num_envs=2, scene=scene, **KW)
    assert small._choice is None


def test_node_totals_observation_equals_single_environments(monkeypatch):
    """Past MAX_MATRIX_NODES nodes the observation carries per-node totals (kept per
    demand factor in the batch): Abilene made to take that path."""
    import gymnasium as gym

    from twin3d.envs import traffic
    monkeypatch.setattr(traffic, "MAX_MATRIX_NODES", 4)
    scene = str(SCENES / "topologyzoo/Abilene.toml")
    kw = dict(KW, steps=8)
    nb = 3
    vec = make_vec("twin3d/TrafficEngineering-v0", num_envs=nb, scene=scene, parallel=False, **kw)
    singles = [gym.make("twin3d/TrafficEngineering-v0", scene=scene, **kw).unwrapped
               for _ in range(nb)]
    obs, _ = vec.reset(seed=4)
    assert "node_out_bps" in obs and "demand_bps" not in obs
    first = [s.reset(seed=4 + b)[0] for b, s in enumerate(singles)]
    rng = np.random.default_rng(3)
    for t in range(12):                               # through an autoreset
        for b in range(nb):
            for k in first[b]:
                np.testing.assert_array_equal(obs[k][b], first[b][k], err_msg=f"{k} {t} {b}")
        a = rng.integers(0, 8, size=vec.action_space.shape)
        obs, rew, term, trunc, infos = vec.step(a)
        for b, s in enumerate(singles):
            o, r, te, tr, info = s.step(a[b])
            assert (r, te, tr) == (rew[b], term[b], trunc[b])
            if te or tr:
                assert infos["episode_hash"][b] == info["episode_hash"]
                o, _ = s.reset()
            first[b] = o


def test_the_engine_checks_each_step_unless_the_env_checked_its_inputs(monkeypatch):
    """Capacities and rung weights are checked once when the env is made, and each
    step's demand row when it is made; the engine is told to skip its own check
    only then. A demand the env did not check (a NaN pushed into the base row
    behind its back, the row remade on the next hour) still fails in the engine."""
    venv = _pair("Abilene", 4)[0]
    seen = []
    step = venv.engine.step

    def spy(*a, **kw):
        seen.append(kw["check"])
        return step(*a, **kw)

    monkeypatch.setattr(venv.engine, "step", spy)
    venv.reset(seed=0)
    venv.step(np.zeros((4, len(venv.sim.link_ids)), dtype=np.int64))
    # the reset's row was checked too; a copy's autoreset (a row of its own) is not vouched for
    assert venv._fixed_valid and seen[:2] == [False, False] and all(seen[2:])
    venv.base_bps[3] = np.nan               # the next hour's row is remade from it
    del seen[:]
    with pytest.raises(ValueError, match="bps must be finite"):
        venv.step(np.zeros((4, len(venv.sim.link_ids)), dtype=np.int64))
    assert seen == [True]
