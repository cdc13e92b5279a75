"""Offscreen rendering, then torch: the process survives (needs the [rl] extra's torch
with triton; skipped without them)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from conftest import ROOT, SCENES

pytest.importorskip("torch")            # the optional [rl] extra's
pytest.importorskip("triton")           # torch's GPU compiler: the library that clashed

SCRIPT = textwrap.dedent("""
    import sys

    import gymnasium as gym
    import numpy as np
    import twin3d.envs
    env = gym.make("twin3d/TrafficEngineering-v0", scene=sys.argv[1], render_mode="rgb_array")
    env.reset(seed=0)
    frame = env.render()
    import torch
    torch.optim.Adam([torch.nn.Parameter(torch.zeros(3))])    # imports triton
    print(*frame.shape, len(np.unique(frame.reshape(-1, 3), axis=0)))
""")


def test_an_environment_renders_then_torch_builds_an_optimizer():
    """Before ``twin3d.offscreen``, this process died at the optimizer (exit -11)."""
    got = subprocess.run([sys.executable, "-c", SCRIPT, str(SCENES / "topologyzoo/Abilene.toml")],
                         cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert got.returncode == 0, got.stderr[-2000:]
    height, width, channels, colours = map(int, got.stdout.split())
    assert (height, width, channels) == (360, 480, 3) and colours > 3   # drawn, not blank
