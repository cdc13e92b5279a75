"""The batched engine as a stable-baselines3 ``VecEnv`` (the ``[rl]`` extra).

:class:`SB3VecEnv` wraps a :class:`~twin3d.envs.vector.BatchedTrafficEngineering`
(or any ``gymnasium.vector.VectorEnv`` with same-step autoreset): the dict
observation is flattened into one float32 vector (``gymnasium.spaces.flatten``,
keys in sorted order) for SB3's MLP policies, a finished copy's last
observation is in ``infos[i]["terminal_observation"]`` and a time-limit end
sets ``infos[i]["TimeLimit.truncated"]``, as SB3 expects.

Examples
--------
>>> from stable_baselines3 import PPO                                 # doctest: +SKIP
>>> from twin3d.envs import make_vec  # doctest: +SKIP
>>> from twin3d.envs.sb3 import SB3VecEnv  # doctest: +SKIP
>>> venv = SB3VecEnv(make_vec("twin3d/TrafficEngineering-v0", num_envs=16,  # doctest: +SKIP
...                           scene="scenes/topologyzoo/Abilene.toml"))
>>> PPO("MlpPolicy", venv).learn(100_000)  # doctest: +SKIP
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np
from stable_baselines3.common.vec_env.base_vec_env import VecEnv

__all__ = ["SB3VecEnv"]


class SB3VecEnv(VecEnv):
    """A gymnasium vector env (dict observations, same-step autoreset) for stable-baselines3."""

    def __init__(self, venv) -> None:
        self.venv = venv
        self._dict_space = venv.single_observation_space
        flat = gym.spaces.flatten_space(self._dict_space)
        super().__init__(venv.num_envs, flat, venv.single_action_space)
        self._actions = None

    def _flat(self, obs: dict) -> np.ndarray:
        keys = sorted(self._dict_space.spaces)
        n = self.num_envs
        return np.concatenate([np.asarray(obs[k], np.float32).reshape(n, -1) for k in keys], axis=1)

    def reset(self) -> np.ndarray:
        seed = self._seeds[0] if self._seeds and self._seeds[0] is not None else None
        obs, _ = self.venv.reset(seed=seed)
        self._reset_seeds()
        return self._flat(obs)

    def step_async(self, actions: np.ndarray) -> None:
        self._actions = np.asarray(actions)

    def step_wait(self):
        obs, rewards, terminated, truncated, infos = self.venv.step(self._actions)
        dones = terminated | truncated
        out = [{} for _ in range(self.num_envs)]
        for i in np.flatnonzero(dones):
            final = infos["final_obs"][i]
            out[i]["terminal_observation"] = gym.spaces.flatten(self._dict_space, final).astype(np.float32)
            out[i]["TimeLimit.truncated"] = bool(truncated[i] and not terminated[i])
            if "episode_hash" in infos:
                out[i]["episode_hash"] = infos["episode_hash"][i]
        for i in range(self.num_envs):
            out[i]["reward_terms"] = {k: float(v[i]) for k, v in infos.get("reward_terms", {}).items()}
        return self._flat(obs), rewards.astype(np.float32), dones, out

    def close(self) -> None:
        self.venv.close()

    def get_attr(self, attr_name, indices=None):
        return [getattr(self.venv, attr_name) for _ in self._get_indices(indices)]

    def set_attr(self, attr_name, value, indices=None) -> None:
        setattr(self.venv, attr_name, value)

    def env_method(self, method_name, *args, indices=None, **kwargs):
        return [getattr(self.venv, method_name)(*args, **kwargs) for _ in self._get_indices(indices)]

    def env_is_wrapped(self, wrapper_class, indices=None):
        return [False for _ in self._get_indices(indices)]

    def _get_indices(self, indices):
        if indices is None:
            return range(self.num_envs)
        return [indices] if isinstance(indices, int) else indices
