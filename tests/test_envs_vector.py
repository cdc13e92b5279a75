"""The batched TrafficEngineering engine equals B single environments, step for step."""

from __future__ import annotations

import gymnasium as gym
import networkx as nx
import numpy as np
import pytest

import twin3d.envs
from twin3d.envs import make_vec
from twin3d.envs.vector import row_percentiles
from twin3d.sim.kpi import weighted_percentiles

from conftest import SCENES

CASES = [("Abilene", dict(demand_factor=2.0, steps=20, start_hour=17.0,
                          opponent={"kinds": ["fiber_cut", "site_outage"], "attack_prob": 0.3,
                                    "budget": 10.0, "duration_steps": (1, 4), "cooldown_steps": 1})),
         ("Geant2012", dict(steps=20, auto_restore_steps=2, start_hour=17.0, demand_factor=2.0,
                            opponent={"kinds": ["fiber_cut"], "attack_prob": 0.5, "budget": 8.0,
                                      "duration_steps": (1, 3), "cooldown_steps": 0}))]


@pytest.mark.parametrize("name, kw", CASES, ids=[c[0] for c in CASES])
def test_batched_engine_equals_b_single_environments(name, kw):
    scene = str(SCENES / f"topologyzoo/{name}.toml")
    ends, attacks, trips, _ = _batched_against_singles(scene, 6, kw, parallel=name == "Geant2012")
    assert ends >= 6 and attacks > 0 and trips > 0       # cascades and attacks were exercised


def test_batched_engine_equals_single_environments_on_an_awkward_graphml(tmp_path):
    """A backbone the project never bundled: a GraphML multigraph with parallel
    links, a self-loop, a node without coordinates (left out) and two
    components (pairs across them are never routable)."""
    g = nx.MultiGraph()
    rng = np.random.default_rng(4)
    for i in range(12):
        place = {} if i == 5 else {"Latitude": 50 + rng.random(), "Longitude": 10 + rng.random()}
        g.add_node(str(i), label=f"N{i}", **place)
    for a, b in [(0, 1), (1, 2), (2, 3), (3, 0), (0, 1), (1, 2), (2, 2), (3, 4), (4, 5), (5, 6),
                 (6, 4), (4, 0), (7, 8), (8, 9), (9, 7), (9, 10), (10, 11), (10, 11), (11, 8)]:
        g.add_edge(str(a), str(b))
    nx.write_graphml(g, tmp_path / "awkward.graphml")
    scene = tmp_path / "awkward.toml"
    scene.write_text('[scene]\nname = "awkward"\nseed = 5\n\n[[source]]\nkind = "graphml"\n'
                     'path = "awkward.graphml"\ndefault_capacity_bps = 1e9\n', encoding="utf-8")
    kw = dict(steps=10, auto_restore_steps=2, start_hour=17.0, demand_factor=40.0,
              opponent={"kinds": ["fiber_cut", "site_outage"], "attack_prob": 0.5, "budget": 8.0,
                        "duration_steps": (1, 3), "cooldown_steps": 0})
    ends, attacks, trips, dropped = _batched_against_singles(str(scene), 4, kw, parallel=True)
    assert ends >= 4 and attacks > 0 and trips > 0 and dropped > 0


def _batched_against_singles(scene: str, nb: int, kw: dict, parallel: bool):
    """Step ``make_vec`` and ``nb`` single environments with the same random
    actions for 45 steps (past an episode's end: autoreset) and assert every
    observation, reward, end, final observation and episode hash equal;
    returns (episode ends, opponent attacks, links tripped, steps that dropped traffic)."""
    vec = make_vec("twin3d/TrafficEngineering-v0", num_envs=nb, scene=scene,
                   parallel=parallel, **kw)         # copies on numba threads: the same
    assert isinstance(vec, twin3d.envs.BatchedTrafficEngineering)
    singles = [gym.make("twin3d/TrafficEngineering-v0", scene=scene, **kw).unwrapped for _ in range(nb)]
    obs, _ = vec.reset(seed=10)
    first = [s.reset(seed=10 + b)[0] for b, s in enumerate(singles)]
    for b in range(nb):
        for k in first[b]:
            np.testing.assert_array_equal(obs[k][b], first[b][k])
    rng = np.random.default_rng(0)
    ends = attacks = trips = dropped = 0
    for t in range(45):                              # past the end of an episode: autoreset
        a = rng.integers(0, len(singles[0].ladder), size=(nb, len(singles[0].link_ids)))
        a = np.where(rng.random(a.shape) < 0.6, 0, a)
        obs, rew, term, trunc, infos = vec.step(a)
        for b, s in enumerate(singles):
            o, r, te, tr, info = s.step(a[b])
            attacks += bool(info["opponent_events"])
            trips += sum(x == "tripped" for x in s._last.link_state)
            dropped += info["kpis"]["dropped_bps"] > 0
            assert (r, te, tr) == (rew[b], term[b], trunc[b]), (t, b)
            assert (info["kpis"]["served_bps"], info["kpis"]["dropped_bps"]) == \
                (infos["served_bps"][b], infos["dropped_bps"][b]), (t, b)
            if te or tr:
                ends += 1
                assert infos["episode_hash"][b] == info["episode_hash"]
                for k in o:
                    np.testing.assert_array_equal(infos["final_obs"][b][k], o[k])
                o, _ = s.reset()
            for k in o:
                np.testing.assert_array_equal(obs[k][b], o[k], err_msg=f"{k} step {t} copy {b}")
    return ends, attacks, trips, dropped


def test_row_percentiles_equal_weighted_percentiles_row_by_row():
    rng = np.random.default_rng(3)
    for n in (5, 110, 1332):
        v = rng.integers(0, 20, size=(40, n)).astype(float) / 7.0      # many ties
        w = rng.integers(1, 5, size=v.shape) * 0.1
        v[:10][rng.random((10, n)) < 0.1] = np.nan                      # some rows to leave out from
        w[10:20][rng.random((10, n)) < 0.2] = 0.0
        got = row_percentiles(v, [5, 50, 95], w)
        for i in range(len(v)):
            assert got[i].tolist() == weighted_percentiles(v[i], [5, 50, 95], w[i])


def test_make_vec_falls_back_to_sync_for_other_environments():
    envs = make_vec("twin3d/EnergySaving-v0", num_envs=2, scene=str(SCENES / "helsinki.toml"), steps=3)
    assert isinstance(envs, gym.vector.SyncVectorEnv)
    obs, _ = envs.reset(seed=0)
    assert obs["cell_load"].shape == (2, 30)
    with pytest.raises(ValueError, match="fiber_cut"):
        make_vec("twin3d/TrafficEngineering-v0", num_envs=2, scene=str(SCENES / "topologyzoo/Abilene.toml"),
                 opponent={"kinds": ["ddos"]})
