"""The guard as an RL safety layer (issue 11, part 4): GuardSafetyWrapper on FaultRecovery.

The 4-node ring A-B-C-D-A of envs_scenes, no opponent, and a playbook of
operator actions: maintenance cuts of A-B and C-D, and a pair of static
routes that bounce C's traffic between A and B. With A-B cut, cutting C-D
as well splits the ring (checked with networkx); the loop is flagged
whatever the state; cutting A-B alone leaves the ring connected.
"""

from __future__ import annotations

import gymnasium as gym
import networkx as nx
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import twin3d.envs  # noqa: F401  (registers the environments)
from envs_scenes import write_ring_scene
from twin3d.envs import GuardSafetyWrapper
from twin3d.loader import load_scene
from twin3d.scene import EventSpec

PLAYBOOK = {
    "maint AB": [EventSpec(0, "fiber_cut", target="AB")],
    "maint CD": [EventSpec(0, "fiber_cut", target="CD")],
    "bounce C": [EventSpec(0, "static_route", at="A", dst="C", next_hop="B"),
                 EventSpec(0, "static_route", at="B", dst="C", next_hop="A")],
}


def _env(tmp_path, **kw):
    scene = load_scene(write_ring_scene(tmp_path))
    return scene, gym.make("twin3d/FaultRecovery-v0", scene=scene, opponent=None, steps=8,
                           playbook=PLAYBOOK, **kw)


def _split(scene, cut):
    g = nx.Graph()
    for lid, l in scene.twin.links.items():
        if lid not in cut:
            g.add_edge(l.a, l.b)
    g.add_nodes_from(scene.twin.sites)
    return not nx.is_connected(g)


def test_unsafe_actions_are_masked_and_replaced_safe_ones_pass(tmp_path):
    scene, raw = _env(tmp_path)
    env = GuardSafetyWrapper(raw)
    menu = env.unwrapped.menu
    ab, cd, bounce = (menu.index(("play", n)) for n in ("maint AB", "maint CD", "bounce C"))
    link = env.unwrapped.link_ids
    obs, info = env.reset(seed=1)
    mask = info["guard_mask"]
    assert mask.dtype == np.int8 and mask.shape == (len(menu),)
    assert mask[ab] == 1 and mask[cd] == 1 and mask[bounce] == 0
    # every weight, restore and shed action is safe in a network with no static route
    assert all(mask[i] == 1 for i, (verb, _) in enumerate(menu) if verb != "play")

    obs, _, _, _, info = env.step(ab)                 # safe: passes and cuts A-B
    assert info["guard_replaced"] is None
    assert obs["link_cut"][link.index("AB")] == 1.0
    assert _split(scene, {"AB", "CD"}) and not _split(scene, {"AB"})
    assert info["guard_mask"][cd] == 0               # now C-D would split the ring

    obs, _, _, _, info = env.step(cd)                 # unsafe: replaced by the no-op
    assert info["guard_replaced"] == {"action": cd, "menu": ["play", "maint CD"], "by": 0}
    assert obs["link_cut"][link.index("CD")] == 0.0 and obs["link_up"][link.index("CD")] == 1.0
    assert info["action_events"] == 0
    _, _, _, _, info = env.step(bounce)
    assert info["guard_replaced"]["action"] == bounce
    env.close()


def test_unwrapped_env_plays_the_unsafe_action(tmp_path):
    """Without the layer the same action goes through: the mask is the wrapper's doing."""
    _, env = _env(tmp_path)
    menu = env.unwrapped.menu
    env.reset(seed=1)
    env.step(menu.index(("play", "maint AB")))
    obs, _, _, _, info = env.step(menu.index(("play", "maint CD")))
    assert "guard_mask" not in info
    assert obs["link_cut"][env.unwrapped.link_ids.index("CD")] == 1.0


def test_gymnasium_env_checker_passes_on_the_wrapped_env(tmp_path):
    _, raw = _env(tmp_path)
    check_env(GuardSafetyWrapper(raw).unwrapped)      # the env itself, with the playbook
    env = GuardSafetyWrapper(raw)
    check_env(env, skip_render_check=True)


def test_env_without_a_menu_is_refused(tmp_path):
    scene = load_scene(write_ring_scene(tmp_path))
    with pytest.raises(TypeError, match="menu of scene events"):
        GuardSafetyWrapper(gym.make("twin3d/TrafficEngineering-v0", scene=scene))
