"""Gymnasium and PettingZoo environments on the twin (``import twin3d.envs`` registers them).

* ``twin3d/TrafficEngineering-v0``: :class:`TrafficEngineeringEnv`
* ``twin3d/EnergySaving-v0``: :class:`EnergySavingEnv`
* ``twin3d/FaultRecovery-v0``: :class:`FaultRecoveryEnv`

Every one takes ``scene=`` (a scene TOML path or a loaded Scene) and has
``env.unwrapped.simulate(action)`` (a lookahead that changes nothing) and
``env.unwrapped.save_episode(path)``. Observations are dicts of float32
arrays; ``gymnasium.wrappers.FlattenObservation`` (re-exported as
:func:`flatten`) makes them one Box for agents that want one.
:class:`GuardSafetyWrapper` (opt-in) masks the actions of FaultRecovery's
menu that the change guard's forwarding check flags and replaces them by
the no-op.
"""

from __future__ import annotations

import gymnasium as gym
from gymnasium.wrappers import FlattenObservation

from .base import TwinEnv
from .opponent import ATTACK_KINDS, Opponent, OpponentView
from .energy import EnergySavingEnv
from .multi import EnergySavingParallelEnv, energy_saving_parallel_env
from .recovery import FaultRecoveryEnv
from .safety import GuardSafetyWrapper
from .traffic import TrafficEngineeringEnv
from .vector import BatchedTrafficEngineering, make_vec

__all__ = ["TwinEnv", "TrafficEngineeringEnv", "EnergySavingEnv", "FaultRecoveryEnv", "EnergySavingParallelEnv",
           "energy_saving_parallel_env", "BatchedTrafficEngineering", "make_vec", "Opponent", "OpponentView", "ATTACK_KINDS",
           "flatten", "ENV_IDS", "GuardSafetyWrapper"]

ENV_IDS = {"twin3d/TrafficEngineering-v0": "twin3d.envs.traffic:TrafficEngineeringEnv",
           "twin3d/EnergySaving-v0": "twin3d.envs.energy:EnergySavingEnv",
           "twin3d/FaultRecovery-v0": "twin3d.envs.recovery:FaultRecoveryEnv"}


def flatten(env: gym.Env) -> gym.Env:
    """The environment with its dict observation flattened into one float32 Box
    (keys in sorted order, each array row-major: ``gymnasium.spaces.flatten``)."""
    return FlattenObservation(env)


for _id, _entry in ENV_IDS.items():
    if _id not in gym.registry:
        gym.register(_id, entry_point=_entry, disable_env_checker=True)
