"""An episode's record keeps the per-demand arrays only where they are small."""

from __future__ import annotations

import numpy as np
import pytest

from twin3d.envs import base
from twin3d.envs.traffic import TrafficEngineeringEnv

from conftest import SCENES

ABILENE = str(SCENES / "topologyzoo/Abilene.toml")


def _episode(keep, n_steps: int = 6):
    env = TrafficEngineeringEnv(ABILENE, steps=n_steps + 2, keep_demand_arrays=keep,
                                start_hour=17.0, demand_factor=2.0)
    env.reset(seed=3)
    rng = np.random.default_rng(0)
    hashes = []
    for _ in range(n_steps):
        obs, reward, _, _, _ = env.step(rng.integers(0, len(env.ladder), len(env.link_ids)))
        hashes.append((obs["link_util"].tobytes(), reward))
    return env, hashes


def test_large_networks_leave_the_per_demand_arrays_out(monkeypatch):
    kept, seen_kept = _episode("auto")                  # 110 pairs: kept
    steps = kept.episode_result().steps
    n_pairs = len(steps[0].demand[0])
    assert n_pairs == 110                              # 11 sites, every ordered pair
    assert all(s.demand_latency_s is not None and len(s.demand_latency_s) == n_pairs
               for s in steps)
    assert all(s.demand_delivered_bps is not None for s in steps)
    monkeypatch.setattr(base, "KEEP_DEMANDS_MAX", n_pairs)   # as if Abilene were large
    dropped, seen_dropped = _episode("auto")
    lean = dropped.episode_result().steps
    assert all(s.demand_latency_s is None and s.demand_delivered_bps is None for s in lean)
    assert seen_dropped == seen_kept                   # the same observations and rewards
    for a, b in zip(steps, lean):                      # and the same record otherwise
        assert a.kpis.keys() == b.kpis.keys() and np.array_equal(a.link_util, b.link_util)
        np.testing.assert_array_equal(list(a.kpis.values()), list(b.kpis.values()))   # NaN too
    forced, _ = _episode(True)                         # True keeps them whatever the size
    assert all(s.demand_latency_s is not None for s in forced.episode_result().steps)
    off, _ = _episode(False)
    assert all(s.demand_latency_s is None for s in off.episode_result().steps)


def test_a_bad_keep_demand_arrays_is_refused():
    with pytest.raises(ValueError, match="keep_demand_arrays"):
        TrafficEngineeringEnv(ABILENE, keep_demand_arrays="sometimes")
