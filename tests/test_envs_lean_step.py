"""The single TrafficEngineering step's shortcuts equal what they replace.

* the built-in opponent is handed a view made on its first read
  (:class:`~twin3d.envs.opponent.LazyView`): the same attacks and episode as
  the same opponent handed the whole view at every step;
* an action's rungs (and a weight vector's link positions) are checked in
  one reduction: a negative one and one past the end are both refused;
* the compiled step's site load is summed when first read: a
  :class:`~twin3d.physics.deferred.Deferred` on the result, equal to the
  ``bincount`` it stands for, and it pickles;
* the set_weight texts kept per link by weight equal the plain description,
  also after the store is cleared at its cap.
"""

from __future__ import annotations

import pickle

import gymnasium as gym
import numpy as np
import pytest

import twin3d.envs  # noqa: F401
from twin3d.envs.opponent import LazyView, Opponent
from twin3d.physics.deferred import Deferred, raw_attribute
from twin3d.sim.results import _describe_weight

from conftest import SCENES

GEANT = str(SCENES / "topologyzoo/Geant2012.toml")
ATTACKER = dict(kinds=("fiber_cut",), attack_prob=0.6, budget=40.0, duration_steps=(1, 3),
                cooldown_steps=0)


def _episode(opponent, steps: int = 30):
    env = gym.make("twin3d/TrafficEngineering-v0", scene=GEANT, steps=steps + 1,
                   opponent=opponent).unwrapped
    env.reset(seed=5)
    rng = np.random.default_rng(3)
    attacks, info = [], {}
    for _ in range(steps):
        _, _, te, tr, info = env.step(rng.integers(0, len(env.ladder), size=len(env.link_ids)))
        attacks.append(info["opponent_events"])
        if te:
            break
    return attacks, info.get("episode_hash"), env


def test_lazy_view_gives_the_attacks_of_the_whole_view():
    lazy, lazy_hash, env = _episode(Opponent(**ATTACKER))
    eager_opp = Opponent(**ATTACKER)
    seen = []

    def eager(t, view, rng):            # not an Opponent: handed the whole view
        assert not isinstance(view, LazyView)
        seen.append(view)
        return eager_opp(t, view, rng)

    plain, plain_hash, _ = _episode(eager)
    assert sum(len(a) for a in plain) >= 5      # the attacker attacked, so the views were read
    assert lazy == plain
    assert lazy_hash is not None and lazy_hash == plain_hash
    # a lazy view reads what the whole view holds
    got, want = LazyView(env._view), env._view()
    assert got.link_ids == want.link_ids and got.site_ids == want.site_ids
    for f in ("link_up", "link_util", "site_up"):
        np.testing.assert_array_equal(getattr(got, f), getattr(want, f))
    assert got.busy_hour_bps == want.busy_hour_bps and got.surge_sites == want.surge_sites


@pytest.mark.parametrize("bad", [-1, 8, 2**40])
def test_action_rungs_out_of_the_ladder_are_refused(bad):
    env = gym.make("twin3d/TrafficEngineering-v0", scene=GEANT).unwrapped
    env.reset(seed=0)
    a = np.zeros(len(env.link_ids), dtype=np.int64)
    a[3] = bad
    with pytest.raises(ValueError, match="rungs in"):
        env.step(a)
    a[3] = len(env.ladder) - 1                  # the last rung is in
    env.step(a)


def test_compiled_site_load_is_summed_on_first_read():
    env = gym.make("twin3d/TrafficEngineering-v0", scene=GEANT, opponent=None).unwrapped
    env.reset(seed=0)
    env.step(np.full(len(env.link_ids), 2))
    r = env._last
    assert isinstance(raw_attribute(r, "site_load_bps"), Deferred)
    sim = env.sim
    src, dst, bps = r.demand
    core = sim.node_of_site.get(sim.core, -1)
    at = sim.site_of_node[np.where(src == core, dst, src)]
    ok = np.isfinite(r.demand_latency_s)        # routable: a latency (NaN when not)
    want = np.bincount(at, np.where(ok, bps, 0.0), minlength=len(sim.site_ids))
    again = pickle.loads(pickle.dumps(r))
    np.testing.assert_array_equal(r.site_load_bps, want)
    np.testing.assert_array_equal(again.site_load_bps, want)
    assert not isinstance(raw_attribute(r, "site_load_bps"), Deferred)     # kept once read


def test_weight_texts_per_link_equal_the_description():
    env = gym.make("twin3d/TrafficEngineering-v0", scene=GEANT, opponent=None).unwrapped
    sim = env.sim
    rng = np.random.default_rng(0)
    for round_ in range(3):
        if round_ == 2:                             # at the cap the store starts again
            sim._n_weight_texts = 100_001
        idx = rng.choice(len(sim.link_ids), size=20, replace=False)
        w = rng.integers(1, 5, size=20) * 1.5

        class Change:
            link_index, weight = idx, w

        got = sim._describe_weights([Change, Change])
        want = [_describe_weight(sim.link_ids[i], float(x)) for i, x in zip(idx, w)]
        assert got == want + want
    assert sim._n_weight_texts <= 40


@pytest.mark.parametrize("bad", [-1, 3, 2**40])
def test_weight_vectors_out_of_the_links_are_refused(bad):
    from twin3d.scene import ScenarioSpec
    from twin3d.sim.live import LiveTimeline
    tl = LiveTimeline(ScenarioSpec("ep", steps=3), ["F1", "F2", "F3"], ["S1"])
    with pytest.raises(ValueError, match="link positions"):
        tl.set_weights(0, np.array([0, bad]), np.array([2.0, 3.0]))
    tl.set_weights(0, np.array([0, 2]), np.array([2.0, 3.0]))
    assert tl.state(0).link_weight.tolist()[::2] == [2.0, 3.0]
