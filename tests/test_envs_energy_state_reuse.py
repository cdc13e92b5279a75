"""EnergySaving's reward reads the step's state from the simulator (``Simulator.step_state``)
instead of asking the timeline again: the same state, and the same rewards."""

from pathlib import Path

import gymnasium as gym
import numpy as np

import twin3d.envs  # noqa: F401

SCENES = Path(__file__).resolve().parents[1] / "scenes"


def test_step_state_is_the_timelines_state_of_the_step():
    env = gym.make("twin3d/EnergySaving-v0", scene=str(SCENES / "helsinki.toml"), steps=6,
                   step_s=4 * 3600, start_hour=1.0).unwrapped       # the default opponent: surges
    env.reset(seed=3)
    rng = np.random.default_rng(3)
    for _ in range(5):
        a = (rng.random(len(env.cell_ids)) < 0.3).astype(np.int8)
        _, reward, _, _, info = env.step(a)
        kept = env.sim.step_state(env._timeline, env.t)
        again = env._timeline.state(env.t)            # a live timeline's state at its step, again
        assert kept is env.sim._state_last[2] and kept is not again
        for name in ("step", "link_state", "site_state", "capacity_factor", "cell_sleep", "sector",
                     "shed"):
            assert getattr(kept, name) == getattr(again, name), name
        assert [(e.kind, e.element, e.factor, e.bps) for e in kept.surges] == \
            [(e.kind, e.element, e.factor, e.bps) for e in again.surges]
        # the energy term against the all-awake step of that state, computed afresh
        want = env.sim.awake_energy_w(again, info["hour"], env.profile)
        assert env.awake_energy_w(env._last) == want
    # another timeline (a lookahead's fork) is not served the kept state
    other = env._timeline.fork()
    assert env.sim.step_state(other, env.t) is not env.sim._state_last[2]
