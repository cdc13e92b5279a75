"""The batched TrafficEngineering env's shortcuts against the plain ways they replace."""

from __future__ import annotations

import numpy as np
import pytest

from twin3d.envs import make_vec, vector, vector_score
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


def _numpy_score(offered, demand_sum, delivered_sum, util, load, link_up, up_after, rung, lat,
                 hours, w, util_max, p95_sla, min_served):
    """The batched env's scoring as numpy rows (the code score_rows replaced)."""
    served = np.maximum(0.0, offered - (demand_sum - delivered_sum))
    dropped = offered - served
    state_up = link_up & up_after
    some = offered > 0
    safe = np.where(some, offered, 1.0)
    served_f = np.where(some, served / safe, 1.0)
    drop_f = np.where(some, dropped / safe, 0.0)
    n_up = np.count_nonzero(state_up, axis=1)
    over = np.where(n_up > 0, np.count_nonzero((util > util_max) & state_up, axis=1)
                    / np.maximum(n_up, 1), 0.0)
    p95 = lat[:, 1]
    late = np.where(np.isnan(p95), 0.0, np.maximum(0.0, p95 / p95_sla - 1.0))
    terms = (w[0] * served_f, -w[1] * drop_f, -w[2] * over, -w[3] * late)
    rewards = 0.0 + terms[0] + terms[1] + terms[2] + terms[3]
    f32 = np.float32
    with np.errstate(over="ignore"):        # nan_to_num's inf to float64's largest, then f32's inf
        obs = (util.astype(f32), load.astype(f32), state_up.astype(f32), rung.astype(f32),
               np.nan_to_num(lat, nan=0.0).astype(f32), (hours % 24.0).astype(f32).reshape(-1, 1))
    return rewards, terms, served, dropped, served_f < min_served, obs


def test_score_rows_equals_the_numpy_rows_on_edge_cases():
    """No offered traffic, nothing routable (NaN p95), every link down, NaN and inf
    utilization, more lost than offered, hours past a day: the same bits."""
    rng = np.random.default_rng(5)
    m, nl = 12, 7
    offered = rng.random(m) * 1e9
    offered[[0, 1]] = 0.0
    demand_sum = offered * rng.uniform(0.9, 1.1, m)
    delivered_sum = demand_sum * rng.uniform(0.0, 1.0, m)
    delivered_sum[2] = -5e9                                  # lost past the offered bit/s
    util = rng.random((m, nl)) * 1.5
    util[3, 0], util[3, 1] = np.nan, np.inf
    load = rng.random((m, nl)) * 1e10
    link_up, up_after = rng.random((m, nl)) < 0.8, rng.random((m, nl)) < 0.9
    link_up[4] = False
    rung = rng.integers(0, 8, (m, nl))
    lat = rng.random((m, 2)) * 30.0
    lat[5] = np.nan
    lat[6, 1] = np.inf
    hours = rng.random(m) * 60.0
    args = (offered, demand_sum, delivered_sum, util, load, link_up, up_after, rung, lat, hours,
            (1.0, 1.0, 0.5, 0.5), 0.9, 20.0, 0.5)
    got, want = vector_score.score_rows(*args), _numpy_score(*args)
    for g, x in zip(got, want):
        for a, b in zip(*((g, x) if isinstance(g, tuple) else ((g,), (x,)))):
            assert a.dtype == b.dtype and a.shape == b.shape
            np.testing.assert_array_equal(a, b)
            assert np.array_equal(np.signbit(a), np.signbit(b))
