"""The command line: exit codes, one-line errors, nothing half-written."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from conftest import ROOT, SCENES


def run_cli(*args, cwd=ROOT):
    return subprocess.run([sys.executable, "-m", "twin3d", *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, timeout=300)


SITES = {"type": "FeatureCollection", "features": [
    {"type": "Feature", "geometry": {"type": "Point", "coordinates": [24.94, 60.17]},
     "properties": {"id": "S1", "height_m": 25}},
    {"type": "Feature", "geometry": {"type": "Point", "coordinates": [24.95, 60.17]},
     "properties": {"id": "S2", "height_m": 30}}]}
LINKS = {"type": "FeatureCollection", "features": [
    {"type": "Feature", "geometry": {"type": "LineString", "coordinates": [[24.94, 60.17], [24.95, 60.17]]},
     "properties": {"id": "F-1", "a": "S1", "b": "S2", "capacity_bps": 10e9}}]}
SCENE = """
[scene]
name = "cli"
[[source]]
path = "sites.geojson"
role = "sites"
[[source]]
path = "links.geojson"
role = "links"
"""


def make(tmp_path, sites=SITES, links=LINKS, scene=SCENE, extra=None):
    (tmp_path / "sites.geojson").write_text(json.dumps(sites) if not isinstance(sites, str) else sites)
    (tmp_path / "links.geojson").write_text(json.dumps(links) if not isinstance(links, str) else links)
    for name, text in (extra or {}).items():
        (tmp_path / name).write_text(text)
    (tmp_path / "scene.toml").write_text(scene)
    return tmp_path / "scene.toml"


def test_build_small_scene(tmp_path):
    res = run_cli("build", make(tmp_path), "-o", tmp_path / "out")
    assert res.returncode == 0, res.stderr
    assert (tmp_path / "out" / "twin.usda").is_file()
    assert (tmp_path / "out" / "layers" / "base.usdc").is_file()
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert (summary["sites"], summary["links"]) == (2, 1)
    assert summary["links_length_m"] == pytest.approx(555.3, abs=0.2)


def bad(sites=None, links=None, scene=None, extra=None):
    return {"sites": sites, "links": links, "scene": scene, "extra": extra}


def _site(coords, **props):
    return {"type": "Feature", "geometry": {"type": "Point", "coordinates": coords},
            "properties": {"id": "S1", **props}}


CASES = {
    "negative height": (dict(sites={"type": "FeatureCollection", "features": [
        _site([24.94, 60.17], height_m=-4), SITES["features"][1]]}),
        ["sites.geojson", "feature 1 (id 'S1')", "height_m"]),
    "NaN coordinate": (dict(sites='{"type": "FeatureCollection", "features": [{"type": "Feature", '
                            '"geometry": {"type": "Point", "coordinates": [NaN, 60.17]}, '
                            '"properties": {"id": "S1"}}]}'),
                       ["sites.geojson", "feature 1", "geometry"]),
    "latitude out of range": (dict(sites={"type": "FeatureCollection", "features": [
        _site([24.94, 91.0]), SITES["features"][1]]}), ["sites.geojson", "feature 1", "latitude"]),
    "malformed GeoJSON": (dict(sites='{"type": "FeatureCollection", "features": [}'),
                          ["sites.geojson", "line 1"]),
    "unknown site in link": (dict(links={"type": "FeatureCollection", "features": [
        dict(LINKS["features"][0], properties={"id": "F-1", "a": "S1", "b": "S9", "capacity_bps": 1e9})]}),
        ["links.geojson", "feature 1 (id 'F-1')", "'b'", "unknown site 'S9'"]),
    "negative capacity": (dict(links={"type": "FeatureCollection", "features": [
        dict(LINKS["features"][0], properties={"id": "F-1", "a": "S1", "b": "S2", "capacity_bps": -1})]}),
        ["links.geojson", "feature 1 (id 'F-1')", "capacity_bps"]),
    "duplicate id": (dict(sites={"type": "FeatureCollection", "features": [
        SITES["features"][0], SITES["features"][0]]}), ["sites.geojson", "S1", "duplicate"]),
    "unknown key": (dict(scene=SCENE + "[radio]\nfreq = 3\n"), ["scene.toml", "[radio]", "'freq'"]),
    "wrong type": (dict(scene=SCENE + '[radio]\nf_hz = "3.5 GHz"\n'), ["scene.toml", "[radio]", "'f_hz'"]),
    "malformed TOML": (dict(scene="[scene\nname = 1\n"), ["scene.toml", "not valid TOML"]),
    "missing source file": (dict(scene=SCENE.replace("links.geojson", "nope.geojson")),
                            ["scene.toml", "[[source]] 2", "'path'", "file not found"]),
    "malformed GraphML": (dict(scene=SCENE + '[[source]]\npath = "net.graphml"\n',
                               extra={"net.graphml": "<graphml><node id='a'></graphml>"}),
                          ["net.graphml"]),
    "event on unknown link": (dict(scene=SCENE + '[[scenario]]\nname = "cut"\nsteps = 4\n'
                                   'events = [{ t = 1, kind = "fiber_cut", target = "F-9" }]\n'),
                              ["scene.toml", "event 1", "'target'", "unknown link 'F-9'"]),
    "scenario file names collide": (dict(scene=SCENE + '[[scenario]]\nname = "cut a"\n'
                                         '[[scenario]]\nname = "cut_a"\n'),
                                    ["scene.toml", "[[scenario]]", "'cut a'", "'cut_a'"]),
    # S3 written [lat, lon]: 3,700 km from the others, not a grid_m problem
    "lon and lat swapped": (dict(sites={"type": "FeatureCollection", "features": [
        _site([24.94, 60.17], azimuths_deg="0;120;240"),
        dict(_site([24.95, 60.17]), properties={"id": "S2", "azimuths_deg": "0;120;240"}),
        dict(_site([60.17, 24.95]), properties={"id": "S3", "azimuths_deg": "0"})]}),
        ["scene.toml", "'S3'", "lon 60.1700, lat 24.9500", "lon, lat"]),
}


def _build_bad_input(run, tmp_path, case):
    """``twin3d build`` of CASES[case] by ``run``: exit 2, one clear line, nothing written."""
    kwargs, words = CASES[case]
    scene = make(tmp_path, **{k: v for k, v in kwargs.items() if v is not None})
    out = tmp_path / "out"
    res = run("build", scene, "-o", out)
    assert res.returncode == 2, (res.stdout, res.stderr)
    assert "Traceback" not in res.stderr + res.stdout
    lines = [l for l in res.stderr.splitlines() if l.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), res.stderr
    for w in words:
        assert w in lines[0], (w, lines[0])
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input_exits_2_with_one_clear_line_and_writes_nothing(tmp_path, cli_in_process, case):
    _build_bad_input(cli_in_process, tmp_path, case)


def test_bad_input_from_python_m_twin3d(tmp_path):
    """One case through ``python -m twin3d``, in a process of its own."""
    _build_bad_input(run_cli, tmp_path, "unknown site in link")


def test_failed_build_keeps_previous_output(tmp_path, cli_in_process):
    scene = make(tmp_path)
    out = tmp_path / "out"
    assert run_cli("build", scene, "-o", out).returncode == 0
    before = (out / "layers" / "base.usdc").read_bytes()
    (tmp_path / "links.geojson").write_text('{"type": "FeatureCollection", "features": [')
    res = cli_in_process("build", scene, "-o", out)
    assert res.returncode == 2
    assert (out / "layers" / "base.usdc").read_bytes() == before


def test_self_intersecting_footprint_is_repaired_and_reported(tmp_path):
    bowtie = {"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {"id": "B1", "height_m": 10},
              "geometry": {"type": "Polygon", "coordinates": [[[24.940, 60.170], [24.941, 60.171], [24.941, 60.170],
                                                               [24.940, 60.171], [24.940, 60.170]]]}}]}
    scene = SCENE + '[[source]]\npath = "b.geojson"\nrole = "buildings"\n'
    res = run_cli("build", make(tmp_path, scene=scene, extra={"b.geojson": json.dumps(bowtie)}),
                  "-o", tmp_path / "out")
    assert res.returncode == 0, res.stderr
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["buildings"] == 1
    assert [r["feature"] for r in summary["repaired"]] == ["feature 1 (id 'B1')"]
    assert "Self-intersection" in summary["repaired"][0]["reason"]


def test_validate_exit_codes(tmp_path, cli_in_process):
    res = cli_in_process("validate", tmp_path / "none.usda")
    assert res.returncode == 2 and "stage file not found" in res.stderr
    broken = tmp_path / "broken.usda"
    broken.write_text('#usda 1.0\n(\n    defaultPrim = "World"\n)\n\ndef Xform "World"\n{\n'
                      '    def Mesh "M"\n    {\n        point3f[] points = [(0, 0, 0), (1, 0, 0), (0, 1, 0)]\n'
                      '        int[] faceVertexCounts = [3]\n        int[] faceVertexIndices = [0, 1, 2]\n'
                      '    }\n}\n')
    res = run_cli("validate", broken)
    assert res.returncode == 1
    assert "ExtentsChecker" in res.stdout and "errors" in res.stdout


def test_build_validates_its_root_stage_unless_told_not_to(tmp_path):
    res = run_cli("build", make(tmp_path), "-o", tmp_path / "out")
    assert res.returncode == 0, res.stderr
    assert "validated" in res.stdout and "twin.usda" in res.stdout and " 0 errors" in res.stdout
    res = run_cli("build", make(tmp_path), "-o", tmp_path / "out", "--no-validate")
    assert res.returncode == 0 and "validated" not in res.stdout


def test_export_validates_every_file_it_writes(tmp_path):
    # a stage the validators fail (no extent, no subdivision scheme): the export is
    # written and kept, the failing rules printed, and the command exits 1
    broken = tmp_path / "broken.usda"
    broken.write_text('#usda 1.0\n(\n    defaultPrim = "World"\n    metersPerUnit = 1\n'
                      '    upAxis = "Z"\n)\n\ndef Xform "World" (\n    kind = "assembly"\n)\n{\n'
                      '    def Mesh "M"\n    {\n        point3f[] points = [(0, 0, 0), (1, 0, 0), (0, 1, 0)]\n'
                      '        int[] faceVertexCounts = [3]\n        int[] faceVertexIndices = [0, 1, 2]\n'
                      '    }\n}\n')
    target = tmp_path / "broken.usdc"
    res = run_cli("export", broken, "-o", target)
    assert res.returncode == 1, (res.stdout, res.stderr)
    assert target.is_file()
    assert "ExtentsChecker" in res.stdout and "Traceback" not in res.stderr
    lines = [l for l in res.stderr.splitlines() if l.startswith("error: ")]
    assert len(lines) == 1 and str(target) in lines[0] and "failed validation" in lines[0]
    assert "nvidia:ExtentsChecker" in lines[0]
    res = run_cli("export", broken, "-o", target, "--no-validate")
    assert res.returncode == 0, res.stderr


def test_usage_errors_exit_2():
    res = run_cli("build", "--no-such-option")
    assert res.returncode == 2 and "Traceback" not in res.stderr


def test_info_lists_counts(tmp_path):
    res = run_cli("info", make(tmp_path))
    assert res.returncode == 0
    assert "sites" in res.stdout and "2" in res.stdout


def test_demo_builds_default_scene(tmp_path):
    res = run_cli("demo", "--no-serve", "-o", tmp_path / "demo")
    assert res.returncode == 0, res.stderr
    assert "0 errors" in res.stdout
    summary = json.loads((tmp_path / "demo" / "summary.json").read_text())
    assert summary["scene"] == "helsinki-center" and summary["buildings"] >= 480


def test_simulate_prints_the_kpi_table():
    res = subprocess.run([sys.executable, "-m", "twin3d", "simulate", str(SCENES / "nordic_backbone.toml")],
                         cwd=ROOT, capture_output=True, text=True, timeout=300,
                         env={**__import__("os").environ, "COLUMNS": "250"})
    assert res.returncode == 0, res.stderr
    assert "link_failure_cascade" in res.stdout
    assert "wave 1: trips Kouvola--Lahti, Lahti--Helsinki" in res.stdout
    assert "wave 2: trips Mikkeli--Jyvaskyla" in res.stdout


def test_simulate_unknown_scenario_exits_2(cli_in_process):
    res = cli_in_process("simulate", SCENES / "helsinki.toml", "--scenario", "nope")
    assert res.returncode == 2 and "no scenario named 'nope'" in res.stderr
