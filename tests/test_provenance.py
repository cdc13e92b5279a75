"""Every output records its provenance: twin3d version, scene sha256, seed, command line."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from importlib.metadata import version

from pxr import Sdf, Usd

from conftest import ROOT, write_cascade_scene

SEED = 11


def _run(*args):
    res = subprocess.run([sys.executable, "-m", "twin3d", *map(str, args)], cwd=ROOT,
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    return res


def _check(prov, sha, words):
    assert prov["scene_sha256"] == sha
    assert prov["seed"] == SEED
    assert prov["twin3d_version"] == version("twin3d")
    assert prov["scene_file"] == "cascade.toml"
    for w in words:
        assert w in prov["command"], (w, prov["command"])


def test_build_and_export_record_the_same_provenance(tmp_path):
    scene = write_cascade_scene(tmp_path)
    scene.write_text(scene.read_text().replace('name = "cascade"', f'name = "cascade"\nseed = {SEED}'))
    sha = hashlib.sha256(scene.read_bytes()).hexdigest()      # independently of twin3d
    out = tmp_path / "my out"                                  # quoted in the command line
    _run("build", scene, "-o", out, "--no-validate")
    words = ["build", str(scene), f"'{out}'"]
    _check(json.loads((out / "kpis.json").read_text())["provenance"], sha, words)
    _check(json.loads((out / "summary.json").read_text())["provenance"], sha, words)
    for layer in (out / "twin.usda", out / "scenarios" / "cut.usda",
                  out / "layers" / "scenarios" / "cut.usdc", out / "layers" / "base.usdc"):
        _check(Sdf.Layer.OpenAsAnonymous(str(layer)).customLayerData["twin3d"]["provenance"],
               sha, words)

    exported = tmp_path / "cut.usdc"
    _run("export", out, "--scenario", "cut", "-o", exported)
    stage = Usd.Stage.Open(str(exported))
    meta = stage.GetRootLayer().customLayerData["twin3d"]
    _check(meta["provenance"], sha, words)                   # the build it came from
    assert meta["exported_by"]["twin3d_version"] == version("twin3d")
    assert "export" in meta["exported_by"]["command"] and str(exported) in meta["exported_by"]["command"]
    assert meta["scenario"] == "cut" and "kpis" in meta     # the story is still there
