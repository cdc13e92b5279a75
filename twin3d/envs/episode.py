"""Write an environment's episode as a stage that replays like any scenario.

``OUT/twin.usda`` (base, signal and the ``episode`` scenario variant),
``OUT/scenarios/episode.usda`` and ``OUT/layers/scenarios/episode.usdc``
are what ``twin3d build`` writes for a scenario whose events are the
episode's actions and attacks. The scenario layer also carries
``/World/Episode``, a Scope with time-sampled ``twin:reward`` (double),
``twin:action`` (int[]: the action's entries) and
``twin:opponent_events`` (string[]: the attacks started at that step), and
the episode's seed, environment and hash in its ``customData``. Each time
code is one step. ``OUT/episode.json`` holds the same in plain JSON.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from pxr import Sdf, Vt

from ..output import atomic_dir, scene_provenance
from ..usd.layers import scenario_paths
from ..usd.stage import write_stage

__all__ = ["write_episode", "EPISODE_PATH"]

#: The prim that holds the episode's actions, rewards and attacks.
EPISODE_PATH = "/World/Episode"


def _action_list(action) -> list[int]:
    return [] if action is None else [int(x) for x in np.ravel(action)]


def _author_episode(layer_path: Path, env) -> None:
    layer = Sdf.Layer.FindOrOpen(str(layer_path))
    with Sdf.ChangeBlock():
        prim = Sdf.CreatePrimInLayer(layer, EPISODE_PATH)
        prim.specifier, prim.typeName = Sdf.SpecifierDef, "Scope"
        vt = Sdf.ValueTypeNames
        attrs = {"twin:reward": vt.Double, "twin:action": vt.IntArray,
                 "twin:opponent_events": vt.StringArray}
        specs = {n: Sdf.AttributeSpec(prim, n, tn, Sdf.VariabilityVarying, True) for n, tn in attrs.items()}
        for t, (reward, action, attacks) in enumerate(zip(env._rewards, env._actions, env._attacks)):
            specs["twin:reward"].SetTimeSample(float(t), float(reward))
            specs["twin:action"].SetTimeSample(float(t), Vt.IntArray(_action_list(action)))
            specs["twin:opponent_events"].SetTimeSample(float(t), Vt.StringArray(list(attacks)))
        prim.customData = {"environment": type(env).__name__, "seed": int(env._episode_seed),
                           "steps": len(env._rewards), "episode_hash": env._hash.hexdigest()}
    layer.Save()


def write_episode(env, out_dir: Path) -> Path:
    """Write ``env``'s episode so far into ``out_dir`` (replaced as a whole); the root stage.

    Examples
    --------
    >>> env.save_episode("episode-out")            # doctest: +SKIP
    PosixPath('episode-out/twin.usda')
    """
    if env._timeline is None or not env._steps:
        raise RuntimeError("no episode to save: call reset() and step() first")
    result = env.episode_result()
    sim = env.sim
    with atomic_dir(out_dir) as tmp:
        write_stage(sim.twin, tmp, radio_map=sim.baseline_map, radio_key=sim.baseline_key,
                    scenarios=[result])
        _author_episode(scenario_paths(tmp, result.name)[1], env)
        doc = {"environment": type(env).__name__, "scene": env.scene.name, "seed": env._episode_seed,
               "provenance": scene_provenance(env.scene), "episode_hash": env._hash.hexdigest(),
               "step_s": env.step_s, "steps": [
                   {"t": t, "reward": r, "action": _action_list(a), "opponent_events": list(o),
                    "events": list(s.events)}
                   for t, (r, a, o, s) in enumerate(zip(env._rewards, env._actions, env._attacks,
                                                         env._steps))]}
        (tmp / "episode.json").write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
    return Path(out_dir).resolve() / "twin.usda"
