"""The batched engine as a stable-baselines3 VecEnv (needs the [rl] extra; skipped without it)."""

from __future__ import annotations

import numpy as np
import pytest

sb3 = pytest.importorskip("stable_baselines3")    # the optional [rl] extra, not a core dependency

from twin3d.envs import make_vec  # noqa: E402
from twin3d.envs.sb3 import SB3VecEnv  # noqa: E402

from conftest import SCENES  # noqa: E402

ABILENE = str(SCENES / "topologyzoo/Abilene.toml")


def test_sb3_vecenv_flattens_and_hands_over_terminal_observations():
    venv = SB3VecEnv(make_vec("twin3d/TrafficEngineering-v0", num_envs=4, scene=ABILENE, steps=3))
    venv.seed(5)
    obs = venv.reset()
    assert obs.shape == (4, venv.observation_space.shape[0]) and obs.dtype == np.float32
    rung = np.zeros((4, 14), dtype=np.int64)
    for t in range(2):
        venv.step_async(rung)
        obs, rew, dones, infos = venv.step_wait()
    assert dones.all()                                   # steps=3: the episode ends at t = 2
    assert all(i["TimeLimit.truncated"] and len(i["episode_hash"]) == 64 for i in infos)
    assert infos[0]["terminal_observation"].shape == obs[0].shape
    assert not np.array_equal(infos[0]["terminal_observation"], obs[0])   # obs is the new day's


def test_ppo_learns_on_the_batched_engine():
    from stable_baselines3 import PPO
    venv = SB3VecEnv(make_vec("twin3d/TrafficEngineering-v0", num_envs=4, scene=ABILENE, steps=8))
    model = PPO("MlpPolicy", venv, n_steps=16, batch_size=32, n_epochs=1, seed=0, verbose=0)
    model.learn(128)
    assert model.num_timesteps >= 128
