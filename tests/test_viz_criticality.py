"""Criticality in the viewer and the export: a layer attached to a build of a Topology Zoo
backbone (``twin3d build``, ``twin3d sweep --faults single``, ``twin3d criticality --stage``),
read back per link and site, validated, coloured by the viewer's modes, exported.

The expected values are the criticality JSON the same command wrote, and the rows of the
sweep minus its baseline (an independent reference for the JSON itself).
"""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from pxr import Sdf, Usd

from conftest import ZOO

from twin3d.cli import main
from twin3d.loader import load_scene
from twin3d.sweep import read_sweep
from twin3d.usd.criticality import CRITICALITY_MAP
from twin3d.usd.sdfutil import prim_names

pytestmark = pytest.mark.slow

SCENE = """[scene]
name = "abilene"
seed = 3
[[source]]
kind = "graphml"
path = "{path}"
default_capacity_bps = 10e9
[traffic]
busy_hour_bps = 40e9
[[scenario]]
name = "cut"
steps = 2
profile = "flat"
events = [{{ t = 1, kind = "fiber_cut", target = "Houston--Atlanta" }}]
"""


def run(*argv) -> int:
    with pytest.raises(SystemExit) as exc:
        main([str(a) for a in argv])
    return exc.value.code


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    d = tmp_path_factory.mktemp("critview")
    scene = d / "abilene.toml"
    scene.write_text(SCENE.format(path=(ZOO / "Abilene.graphml").as_posix()))
    assert run("build", scene, "-o", d / "plain", "--no-validate") == 0
    shutil.copytree(d / "plain", d / "build")
    assert run("sweep", scene, "--faults", "single", "--workers", 0, "-o", d / "single.parquet") == 0
    assert run("criticality", d / "single.parquet", scene, "-o", d / "crit.json",
               "--stage", d / "build") == 0
    doc = json.loads((d / "crit.json").read_text())
    twin = load_scene(scene).twin
    links, sites = prim_names(twin.links), prim_names(twin.sites)
    paths = {}
    for r in doc["ranking"]:
        kind, _, name = r["element"].partition(":")
        paths[r["element"]] = (f"/World/Network/Links/{links[name]}" if kind == "link"
                               else f"/World/Network/Sites/{sites[name]}")
    return {"dir": d, "scene": scene, "build": d / "build", "plain": d / "plain", "doc": doc,
            "ranking": {r["element"]: r for r in doc["ranking"]}, "paths": paths,
            "sweep": d / "single.parquet"}


def test_the_json_is_the_sweep_minus_its_baseline(built):
    rows = read_sweep(built["sweep"]).to_pylist()
    base = next(r for r in rows if r["kind"] == "baseline")
    want = {r["faults"][0]: r["dropped_bps"] - base["dropped_bps"] for r in rows if r["faults"]}
    got = {e: r["lost_bps"] for e, r in built["ranking"].items()}
    assert set(got) == set(want)
    assert got == pytest.approx(want, rel=1e-12, abs=1e-6)
    # the test below needs links that lose traffic and links that do not
    link_losses = [v for e, v in want.items() if e.startswith("link:")]
    assert max(link_losses) > 1e8 and min(link_losses) == pytest.approx(0.0, abs=1e-6)


def test_the_layer_is_attached_once_to_every_root_and_read_per_element(built):
    from twin3d.viz.read import open_stage
    b = built["build"]
    root = Sdf.Layer.FindOrOpen(str(b / "twin.usda"))
    assert list(root.subLayerPaths) == ["./layers/criticality.usda"]
    scen = Sdf.Layer.FindOrOpen(str(b / "scenarios" / "cut.usda"))
    assert list(scen.subLayerPaths)[-1] == "../layers/criticality.usda"
    for path in (b, b / "scenarios" / "cut.usda"):
        stage = open_stage(path)
        for e, r in built["ranking"].items():
            prim = stage.GetPrimAtPath(built["paths"][e])
            assert prim.IsDefined(), e
            assert prim.GetAttribute("twin:criticality_lost_bps").Get() == pytest.approx(
                r["lost_bps"], rel=1e-15)
            assert prim.GetAttribute("twin:criticality_sla_minutes").Get() == pytest.approx(
                r["sla_minutes"], rel=1e-15)
            assert prim.GetAttribute("twin:criticality_lost_bps_ci_low").Get() == pytest.approx(
                r["lost_bps_ci95"][0], rel=1e-15)
            assert prim.GetAttribute("twin:criticality_rank").Get() == r["rank"]
    # attaching again replaces the layer: still one entry, a valid stage
    assert run("criticality", built["sweep"], built["scene"], "-o", built["dir"] / "again.json",
               "--stage", b) == 0
    root = Sdf.Layer.FindOrOpen(str(b / "twin.usda"))
    assert list(root.subLayerPaths) == ["./layers/criticality.usda"]
    assert list(root.GetPrimAtPath("/World").variantSetNameList.prependedItems) == \
        ["criticality", "scenario"]


def test_both_validator_suites_report_no_errors(built):
    from twin3d.usd.validate import validate_stage
    # the layer is overs only, not a stage: the roots that compose it are what is checked
    for path in (built["build"] / "twin.usda", built["build"] / "scenarios" / "cut.usda"):
        report = validate_stage(path)
        assert report.errors == [], (path, report.errors)
        assert len(report.rules) > 20


def _link_color(stage, path, t):
    return np.array(stage.GetPrimAtPath(path).GetAttribute("primvars:displayColor").Get(t)[0])


def test_colours_show_only_with_the_criticality_variant(built):
    lost = {e: r["lost_bps"] for e, r in built["ranking"].items()}
    top = max(lost.values())
    plain = Usd.Stage.Open(str(built["plain"] / "twin.usda"))
    stage = Usd.Stage.Open(str(built["build"] / "twin.usda"))
    world = stage.GetPrimAtPath("/World")
    assert world.GetVariantSet("criticality").GetVariantSelection() == "off"
    links = [e for e in lost if e.startswith("link:")]
    for e in links:       # off: the scenario's colours (utilization, the cut link) as before
        for t in (0, 1):
            np.testing.assert_array_equal(_link_color(stage, built["paths"][e], t),
                                          _link_color(plain, built["paths"][e], t))
    # in the session layer: an edit of the root layer would stay in USD's layer registry
    # and leak into every later test that opens this build while the stage lives
    with Usd.EditContext(stage, stage.GetSessionLayer()):
        world.GetVariantSet("criticality").SetVariantSelection("on")
    for e in links:       # on: stronger than the scenario's samples, at every step
        want = CRITICALITY_MAP([100.0 * max(lost[e], 0.0) / top])[0]
        for t in (0, 1):
            np.testing.assert_allclose(_link_color(stage, built["paths"][e], t), want, atol=1e-6)


def test_viz_paints_each_link_and_site_with_its_json_value(built):
    from twin3d.viz import criticality as crit
    from twin3d.viz.basemap import scene_overlays
    from twin3d.viz.parts import RGB, stage_parts
    from twin3d.viz.read import open_stage
    stage = open_stage(built["build"])
    assert crit.has_criticality(stage) and not crit.has_criticality(open_stage(built["plain"]))
    parts = stage_parts(stage, 0)
    parts += scene_overlays(parts, stage, 0)
    by_path = {built["paths"][e]: r for e, r in built["ranking"].items()}
    for mode, key in (("lost", "lost_bps"), ("sla", "sla_minutes")):
        changed, top = crit.paint(parts, crit.element_values(stage, mode))
        assert top == pytest.approx(max(r[key] for r in built["ranking"].values()))
        assert {"Network:curves", "Network:lines", "Network:shapes", "Network:glyphs"} <= set(changed)
        seen = set()
        for part in parts:
            if part.name not in changed:
                continue
            vals = np.asarray(part.mesh.cell_data[crit.SCALARS])
            rgb = np.asarray(part.mesh.cell_data[RGB])
            for s in part.slots:
                cells = s.cells if part.source is None else np.flatnonzero(
                    part.cell_slot == part.slots.index(s))
                if s.element not in by_path or not len(cells):
                    continue
                seen.add(s.element)
                want = by_path[s.element][key]
                np.testing.assert_allclose(vals[cells], want, rtol=1e-15)
                wrgb = np.clip(np.rint(CRITICALITY_MAP.display([100.0 * want / top]) * 255), 0, 255)
                assert (rgb[cells] == wrgb.astype(np.uint8)).all()
        assert seen == set(by_path)        # every ranked link and site is drawn and painted
    legend = crit.criticality_legend("lost", max(r["lost_bps"] for r in built["ranking"].values()))
    assert legend.units == "Gbit/s"
    assert legend.stops[-1][0] == pytest.approx(max(r["lost_bps"] for r in built["ranking"].values())
                                                / 1e9)
    assert crit.criticality_legend("sla", 60.0).units == "min"


@pytest.fixture(scope="module")
def app(built):
    from twin3d.app.main import create_app
    server, engine = create_app(built["build"], server_name="test-viz-criticality")
    server.state.ready()
    yield server, engine
    engine.close()


def _scalars(engine, part_name):
    part = next(p for p in engine.parts if p.name == part_name)
    from twin3d.viz.criticality import SCALARS
    from twin3d.viz.parts import RGB
    d = part.mesh.cell_data
    return (np.asarray(d[SCALARS]).copy() if SCALARS in d else None), np.asarray(d[RGB]).copy(), part


def test_the_app_state_offers_and_toggles_the_colour_mode(app, built):
    server, engine = app
    state = server.state
    assert [m["value"] for m in state.color_modes] == ["state", "lost", "sla"]
    assert state.color_mode == "state" and engine.color_mode == "state"
    none, state_rgb, part = _scalars(engine, "Network:curves")
    assert none is None
    with state:
        state.color_mode = "lost"
    assert engine.color_mode == "lost"
    vals, rgb, part = _scalars(engine, "Network:curves")
    by_path = {built["paths"][e]: r for e, r in built["ranking"].items()}
    for s in part.slots:
        np.testing.assert_allclose(vals[s.cells], by_path[s.element]["lost_bps"], rtol=1e-15)
    assert not np.array_equal(rgb, state_rgb)
    assert [lg["units"] for lg in state.legends if lg["title"].startswith("Criticality")] == ["Gbit/s"]
    # a step keeps the mode's colours (the scenario animates the links' utilization colours)
    with state:
        state.step = 1
    np.testing.assert_array_equal(_scalars(engine, "Network:curves")[1], rgb)
    with state:
        state.color_mode = "sla"
    vals, _, part = _scalars(engine, "Network:curves")
    for s in part.slots:
        np.testing.assert_allclose(vals[s.cells], by_path[s.element]["sla_minutes"], rtol=1e-15)
    assert any(lg["units"] == "min" for lg in state.legends)
    with state:
        state.color_mode = "state"
        state.step = 0
    none, back, _ = _scalars(engine, "Network:curves")
    assert none is None
    np.testing.assert_array_equal(back, state_rgb)
    assert [lg["title"] for lg in state.legends][:2] == ["Link utilization", "Site state"]
    with state:
        state.color_mode = "etc/passwd"       # not a mode: the stage's colours
    assert engine.color_mode == "state" and state.color_mode == "state"


def test_the_inspector_shows_criticality_with_its_interval(app, built):
    _, engine = app
    e = max((e for e in built["ranking"] if e.startswith("link:")),
            key=lambda e: built["ranking"][e]["lost_bps"])
    r = built["ranking"][e]
    from twin3d.app.inspector import fmt_bps
    info = engine.pick(engine.element_point(built["paths"][e]))
    rows = dict(map(tuple, info["rows"]))
    assert info["path"] == built["paths"][e]
    lo, hi = r["lost_bps_ci95"]
    assert rows["traffic lost if it fails"] == f"{fmt_bps(r['lost_bps'])} [{fmt_bps(lo)}, {fmt_bps(hi)}]"
    assert rows["criticality rank"] == str(r["rank"])


def test_a_build_without_the_layer_offers_no_criticality_mode(built):
    from twin3d.app.engine import ViewerEngine
    from twin3d.app.state import color_mode_items
    engine = ViewerEngine(built["plain"])
    try:
        assert engine.criticality_modes == ["state"] and color_mode_items(engine) == []
        engine.set_color_mode("lost")
        assert engine.color_mode == "state"
    finally:
        engine.close()


def test_the_export_carries_the_attributes_and_on_request_the_colours(built, tmp_path):
    from twin3d.usd.export import export_scenario
    lost = {e: r["lost_bps"] for e, r in built["ranking"].items()}
    top = max(lost.values())
    plain = Usd.Stage.Open(str(built["plain"] / "twin.usda"))
    for criticality in (False, True):
        out = export_scenario(built["build"] / "twin.usda", tmp_path / f"cut{criticality}.usdc",
                              variant="cut", criticality=criticality)
        flat = Usd.Stage.Open(str(out))
        assert len(flat.GetRootLayer().subLayerPaths) == 0      # self-contained (flattened)
        for e, r in built["ranking"].items():
            prim = flat.GetPrimAtPath(built["paths"][e])
            assert prim.GetAttribute("twin:criticality_lost_bps").Get() == pytest.approx(
                r["lost_bps"], rel=1e-15)
            if e.startswith("link:"):
                got = _link_color(flat, built["paths"][e], 1)
                want = (CRITICALITY_MAP([100.0 * max(lost[e], 0.0) / top])[0] if criticality
                        else _link_color(plain, built["paths"][e], 1))
                np.testing.assert_allclose(got, want, atol=1e-6)
    # a scenario's own root: its colours would beat the variant, so the combined root is exported
    out = export_scenario(built["build"] / "scenarios" / "cut.usda", tmp_path / "own.usdc",
                          criticality=True)
    flat = Usd.Stage.Open(str(out))
    for e in (e for e in lost if e.startswith("link:")):
        np.testing.assert_allclose(_link_color(flat, built["paths"][e], 1),
                                   CRITICALITY_MAP([100.0 * max(lost[e], 0.0) / top])[0], atol=1e-6)
    assert flat.GetRootLayer().customLayerData["twin3d"]["scenario"] == "cut"
    # the command: every scenario, validated (exit 0), as USDZ for Omniverse
    assert run("export", built["build"], "--all", "--criticality", "-o", tmp_path / "all") == 0
    flat = Usd.Stage.Open(str(tmp_path / "all" / "cut.usdz"))
    e = next(iter(built["ranking"]))
    assert flat.GetPrimAtPath(built["paths"][e]).HasAttribute("twin:criticality_lost_bps")


def test_criticality_colours_need_a_layer_and_the_stage_a_build(built, tmp_path, capsys):
    assert run("export", built["plain"], "--criticality", "-o", tmp_path / "x.usdc") == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "criticality" in err[0]
    empty = tmp_path / "empty"
    empty.mkdir()
    assert run("criticality", built["sweep"], built["scene"], "-o", tmp_path / "r.json",
               "--stage", empty) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "twin.usda" in err[0] and "stage" in err[0]
