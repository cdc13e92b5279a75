"""Scenario layers (time-sampled overs) and scenario root stages.

Two small scenes written in a temporary folder: a radio scene (a core and
three macro sites, so a site outage changes the radio map) and the hand-worked
cascade backbone of test_sim_cascade (one cut trips four links in two waves).
"""

from __future__ import annotations

import dataclasses
import json
import math
import time

import numpy as np
import pytest
from pxr import Sdf, Usd, UsdGeom

import twin3d
from twin3d.sim.engine import Simulator
from twin3d.usd import prim_names, validate_stage, write_stage
from twin3d.usd.colors import LINK_DOWN, SITE_STATE_COLORS, UTILIZATION_MAP, srgb_to_linear
from twin3d.usd.scenario import kpi_rows, signal_sample_steps, write_scenario_layer
from twin3d.usd.signal import signal_primvars, write_signal_layer
from twin3d.usd.layers import BASE_LAYER, SIGNAL_LAYER, scenario_paths, scenario_stem
from twin3d.usd.stage import write_root_layer, write_scenario_stage

from conftest import SCENES, feature_collection, write_cascade_scene

RADIO_SITES = {"CO": (24.9440, 60.1700, "central_office", []),
               "S1": (24.9400, 60.1710, "macro", [0, 120, 240]),
               "S2": (24.9480, 60.1712, "macro", [0, 120, 240]),
               "S3": (24.9445, 60.1680, "macro", [90])}
RADIO_LINKS = [("F-1", "CO", "S1", 10e9), ("F-2", "CO", "S2", 10e9), ("F-3", "S1", "S2", 10e9),
               ("F-4", "CO", "S3", 1e9)]
RADIO_TOML = """
[scene]
name = "radio-small"
[[source]]
path = "sites.geojson"
role = "sites"
[[source]]
path = "links.geojson"
role = "links"
[radio]
grid_m = 25
[traffic]
busy_hour_bps = 2e9
core = "CO"
[[scenario]]
name = "outage"
description = "S2 fails at step 3 and is back at 5; F-1 is cut at 4."
steps = 7
step_s = 1800
start_hour = 17
events = [{ t = 3, kind = "site_outage", target = "S2" }, { t = 5, kind = "restore", target = "S2" },
          { t = 4, kind = "fiber_cut", target = "F-1" }]
[[scenario]]
name = "quiet"
steps = 3
[[scenario]]
name = "s3 down all day"
steps = 3
events = [{ t = 0, kind = "site_outage", target = "S3" }]
"""


def _write_radio_scene(folder):
    (folder / "sites.geojson").write_text(feature_collection([
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [lon, lat]},
         "properties": {"id": k, "kind": kind, "height_m": 25.0,
                        "sectors": [{"azimuth_deg": a} for a in az]}}
        for k, (lon, lat, kind, az) in RADIO_SITES.items()]))
    (folder / "links.geojson").write_text(feature_collection([
        {"type": "Feature", "geometry": None, "properties": {"id": i, "a": a, "b": b, "capacity_bps": c}}
        for i, a, b, c in RADIO_LINKS]))
    (folder / "radio.toml").write_text(RADIO_TOML)
    return folder / "radio.toml"


@dataclasses.dataclass
class Written:
    twin: object
    results: dict
    maps: dict
    out: object
    signal_key: bytes | None


def _radio_key(twin):
    return np.packbits([twin.sites[c.site_id].state == "up" for c in twin.cells]).tobytes()


@pytest.fixture(scope="module")
def radio(tmp_path_factory):
    """The radio scene: base, signal (the all-up map), twin root, and every scenario."""
    scene = twin3d.load_scene(_write_radio_scene(tmp_path_factory.mktemp("radio_src")))
    sim = Simulator(scene)
    twin = scene.twin
    key = _radio_key(twin)
    results = {s.name: sim.run(s) for s in scene.spec.scenarios}
    out = tmp_path_factory.mktemp("radio_out")
    write_stage(twin, out)
    write_signal_layer(twin, sim._maps[key], out / SIGNAL_LAYER)
    write_root_layer(out / "twin.usda", [SIGNAL_LAYER, BASE_LAYER], twin)
    for name, res in results.items():
        write_scenario_layer(twin, res, scenario_paths(out, name)[1], signal_key=key)
        write_scenario_stage(out, name, None, twin, len(res.steps))
    return Written(twin, results, dict(sim._maps), out, key)


@pytest.fixture(scope="module")
def cascade(tmp_path_factory):
    """The backbone scene: no radio, no signal layer."""
    scene = twin3d.load_scene(write_cascade_scene(tmp_path_factory.mktemp("cascade_src")))
    res = Simulator(scene).run(scene.spec.scenarios[0])
    out = tmp_path_factory.mktemp("cascade_out")
    write_stage(scene.twin, out)
    write_scenario_layer(scene.twin, res, scenario_paths(out, "cut")[1])
    write_scenario_stage(out, "cut", None, scene.twin, len(res.steps))
    return Written(scene.twin, {"cut": res}, {}, out, None)


def layer_of(w: Written, name: str) -> Sdf.Layer:
    return Sdf.Layer.FindOrOpen(str(scenario_paths(w.out, name)[1]))


def stage_of(w: Written, name: str) -> Usd.Stage:
    return Usd.Stage.Open(str(scenario_paths(w.out, name)[0]))


def sampled_attributes(layer: Sdf.Layer) -> list[Sdf.Path]:
    found = []
    layer.Traverse(Sdf.Path.absoluteRootPath,
                   lambda p: found.append(p) if p.IsPropertyPath()
                   and layer.GetNumTimeSamplesForPath(p) else None)
    return sorted(found)


def expected_values(w: Written, name: str):
    """{attribute path: function t -> the result's value at step t}, from the result alone."""
    res = w.results[name]
    out = {}
    links, sites = prim_names(w.twin.links), prim_names(w.twin.sites)
    for k, lid in enumerate(res.link_ids):
        p = f"/World/Network/Links/{links[lid]}"
        out[f"{p}.twin:utilization"] = lambda t, k=k: np.float32(res.steps[t].link_util[k])
        out[f"{p}.twin:load_bps"] = lambda t, k=k: res.steps[t].link_load_bps[k]
        out[f"{p}.twin:capacity_bps"] = lambda t, k=k: res.steps[t].link_capacity_bps[k]
        out[f"{p}.twin:state"] = lambda t, k=k: res.steps[t].link_state[k]
        out[f"{p}.primvars:displayColor"] = lambda t, k=k: (
            UTILIZATION_MAP([100.0 * res.steps[t].link_util[k]]) if res.steps[t].link_state[k] == "up"
            else srgb_to_linear([LINK_DOWN]))
    for k, sid in enumerate(res.site_ids):
        p = f"/World/Network/Sites/{sites[sid]}"
        part = "Building" if w.twin.sites[sid].kind in ("central_office", "pop") else "Tower"
        out[f"{p}.twin:state"] = lambda t, k=k: res.steps[t].site_state[k]
        out[f"{p}.twin:load_bps"] = lambda t, k=k: res.steps[t].site_load_bps[k]
        out[f"{p}.twin:power_w"] = lambda t, k=k: res.steps[t].site_power_w[k]
        out[f"{p}/{part}.primvars:displayColor"] = lambda t, k=k: srgb_to_linear(
            [SITE_STATE_COLORS[res.steps[t].site_state[k]]])
    for mesh in ("RSRP", "SINR", "BestServer"):
        for n, attr in enumerate(("primvars:displayColor", None)):
            def value(t, mesh=mesh, n=n):
                return signal_primvars(w.maps[res.steps[t].radio_key])[mesh][n][2]
            name_ = attr or {"RSRP": "primvars:twin:rsrp_dbm", "SINR": "primvars:twin:sinr_db",
                             "BestServer": "primvars:twin:best_server"}[mesh]
            out[f"/World/Signal/{mesh}.{name_}"] = value
    return out


def assert_same(got, want, where):
    if isinstance(want, str):
        assert got == want, where
    else:
        np.testing.assert_allclose(np.asarray(got, float), np.asarray(want, float), rtol=1e-6,
                                   atol=1e-6, err_msg=where)


# --- the layer -------------------------------------------------------------------------------

def test_layer_holds_overs_only(radio):
    layer = layer_of(radio, "outage")
    assert layer.GetFileFormat() == Sdf.FileFormat.FindByExtension("usdc")
    specs = []
    layer.Traverse(Sdf.Path.absoluteRootPath,
                   lambda p: specs.append(layer.GetPrimAtPath(p)) if p.IsPrimPath() else None)
    assert len(specs) > 10
    assert all(s.specifier == Sdf.SpecifierOver and s.typeName == "" for s in specs)
    names = {s.path.pathString for s in specs}
    assert {"/World/Network/Links/F_1", "/World/Network/Sites/S2/Tower",
            "/World/Network/Sites/CO/Building", "/World/Signal/RSRP"} <= names


def test_time_codes_one_per_step(radio):
    layer = layer_of(radio, "outage")
    assert (layer.startTimeCode, layer.endTimeCode) == (0.0, 6.0)
    assert layer.timeCodesPerSecond == layer.framesPerSecond == 2.0
    for attr in ("twin:utilization", "twin:load_bps", "twin:state", "primvars:displayColor"):
        assert layer.ListTimeSamplesForPath(f"/World/Network/Links/F_2.{attr}") == list(range(7))
    for attr in ("twin:state", "twin:load_bps", "twin:power_w"):
        assert layer.ListTimeSamplesForPath(f"/World/Network/Sites/S1.{attr}") == list(range(7))
    assert layer.ListTimeSamplesForPath("/World/Network/Sites/S1/Tower.primvars:displayColor") \
        == list(range(7))


def test_types_match_the_base_layer(radio):
    """The scenario overrides the base's own attributes, with their type and interpolation."""
    stage = stage_of(radio, "outage")
    link = stage.GetPrimAtPath("/World/Network/Links/F_1")
    assert link.GetAttribute("twin:state").GetTypeName() == "token"
    assert link.GetAttribute("twin:utilization").GetTypeName() == "float"
    assert link.GetAttribute("twin:load_bps").GetTypeName() == "double"
    color = UsdGeom.PrimvarsAPI(link).GetPrimvar("displayColor")
    assert color.GetInterpolation() == "constant" and len(color.Get(0)) == 1
    base = Sdf.Layer.FindOrOpen(str(radio.out / BASE_LAYER))
    for path in ("/World/Network/Links/F_1.primvars:displayColor", "/World/Network/Links/F_1.twin:state",
                 "/World/Network/Sites/S2.twin:state", "/World/Network/Sites/S2/Tower.primvars:displayColor"):
        spec = base.GetAttributeAtPath(path)
        assert spec is not None and spec.HasDefaultValue(), path   # the base has a default...
        assert base.GetNumTimeSamplesForPath(path) == 0, path      # ...and no samples to fight
    tower = UsdGeom.PrimvarsAPI(stage.GetPrimAtPath("/World/Network/Sites/S2/Tower"))
    assert tower.GetPrimvar("displayColor").GetInterpolation() == "constant"


@pytest.mark.parametrize("name", ["outage", "quiet", "s3 down all day"])
def test_composed_stage_shows_the_result_at_every_step(radio, name):
    """Every time-sampled attribute of the layer, composed over signal and base,
    equals the scenario result's value at every step (LIVRPS: nothing weaker wins)."""
    layer = layer_of(radio, name)
    stage = stage_of(radio, name)
    expected = expected_values(radio, name)
    attrs = sampled_attributes(layer)
    assert attrs
    for path in attrs:
        assert path.pathString in expected, f"no check for sampled attribute {path}"
        attr = stage.GetAttributeAtPath(path)
        for t in range(len(radio.results[name].steps)):
            assert_same(attr.Get(t), expected[path.pathString](t), f"{path} at t={t}")


def test_composed_backbone_stage(cascade):
    layer = layer_of(cascade, "cut")
    stage = stage_of(cascade, "cut")
    expected = expected_values(cascade, "cut")
    for path in sampled_attributes(layer):
        attr = stage.GetAttributeAtPath(path)
        for t in range(4):
            assert_same(attr.Get(t), expected[path.pathString](t), f"{path} at t={t}")


def test_states_and_colours(radio, cascade):
    stage = stage_of(radio, "outage")
    f1 = stage.GetPrimAtPath("/World/Network/Links/F_1")
    assert [f1.GetAttribute("twin:state").Get(t) for t in range(7)] == ["up"] * 4 + ["cut"] * 3
    np.testing.assert_allclose(f1.GetAttribute("primvars:displayColor").Get(4), srgb_to_linear([LINK_DOWN]), atol=1e-6)
    s2 = stage.GetPrimAtPath("/World/Network/Sites/S2")
    assert [s2.GetAttribute("twin:state").Get(t) for t in range(7)] == \
        ["up", "up", "up", "down", "down", "up", "up"]
    assert s2.GetAttribute("twin:power_w").Get(3) == 0.0 < s2.GetAttribute("twin:power_w").Get(2)
    tower = stage.GetPrimAtPath("/World/Network/Sites/S2/Tower").GetAttribute("primvars:displayColor")
    np.testing.assert_allclose(tower.Get(3), srgb_to_linear([(0.85, 0.12, 0.12)]), atol=1e-6)   # down: red
    np.testing.assert_allclose(tower.Get(0), srgb_to_linear([(0.20, 0.75, 0.30)]), atol=1e-6)   # up: green
    # the backbone by hand: AB carries 9 of 10 Gbit/s at step 0 (0.9: two thirds of the way from
    # yellow at 0.7 to red at 1), is cut at 1; C's and D's spans trip at 1
    stage = stage_of(cascade, "cut")
    ab = stage.GetPrimAtPath("/World/Network/Links/AB")
    assert ab.GetAttribute("twin:utilization").Get(0) == pytest.approx(0.9)
    assert ab.GetAttribute("twin:load_bps").Get(0) == pytest.approx(9e9)
    np.testing.assert_allclose(ab.GetAttribute("primvars:displayColor").Get(0),
                               srgb_to_linear([(0.95 - 0.1 * 2 / 3, 0.85 - 0.75 * 2 / 3, 0.10)]), atol=1e-6)
    assert [stage.GetPrimAtPath(f"/World/Network/Links/{l}").GetAttribute("twin:state").Get(1)
            for l in ("AB", "AC", "CB", "AD", "DB")] == ["cut"] + ["tripped"] * 4
    assert ab.GetAttribute("twin:state").Get(3) == "up"
    assert stage.GetPrimAtPath("/World/Network/Links/AC").GetAttribute("twin:state").Get(3) == "tripped"


# --- the signal meshes ----------------------------------------------------------------------

def test_signal_held_at_a_map_change(radio):
    res = radio.results["outage"]
    keys = [s.radio_key for s in res.steps]
    a, b = keys[0], keys[3]
    assert a == radio.signal_key and b != a and keys == [a, a, a, b, b, a, a]
    layer = layer_of(radio, "outage")
    assert layer.ListTimeSamplesForPath("/World/Signal/RSRP.primvars:twin:rsrp_dbm") == [0, 2, 3, 4, 5]
    assert list(layer.customLayerData["twin3d"]["signal_steps"]) == [0, 2, 3, 4, 5]
    stage = stage_of(radio, "outage")
    rsrp = stage.GetAttributeAtPath("/World/Signal/RSRP.primvars:twin:rsrp_dbm")
    best = stage.GetAttributeAtPath("/World/Signal/BestServer.primvars:twin:best_server")
    map_a, map_b = radio.maps[a], radio.maps[b]
    assert not np.array_equal(map_a.rsrp_dbm, map_b.rsrp_dbm)
    # the step before the change is the old map, the change step the new one
    for t, m in ((1, map_a), (2, map_a), (3, map_b), (4, map_b), (5, map_a), (6, map_a)):
        np.testing.assert_array_equal(np.array(rsrp.Get(t)), m.rsrp_dbm.astype(np.float32).ravel())
        np.testing.assert_array_equal(np.array(best.Get(t)), m.best_server.ravel())
    # S2's cells serve nothing while it is down
    s2_cells = [i for i, c in enumerate(map_b.cell_ids) if c.startswith("S2")]
    assert s2_cells and not np.isin(np.array(best.Get(3)), s2_cells).any()
    assert np.isin(np.array(best.Get(2)), s2_cells).any()


def test_signal_sample_steps():
    assert signal_sample_steps(["a"] * 6) == [0]
    assert signal_sample_steps(["a", "b", "a"]) == [0, 1, 2]
    assert signal_sample_steps(["a"] * 3 + ["b"] * 3 + ["c"]) == [0, 2, 3, 5, 6]


def test_signal_only_where_the_map_differs(radio, tmp_path):
    # one map, the signal layer's: nothing to override
    assert not layer_of(radio, "quiet").GetPrimAtPath("/World/Signal")
    # one map other than the signal layer's: sampled once, held all run
    other = layer_of(radio, "s3 down all day")
    assert other.ListTimeSamplesForPath("/World/Signal/SINR.primvars:twin:sinr_db") == [0]
    # ...unless the writer is not told which map the signal layer holds
    res = radio.results["s3 down all day"]
    path = write_scenario_layer(radio.twin, res, tmp_path / "nokey.usdc")
    assert not Sdf.Layer.FindOrOpen(str(path)).GetPrimAtPath("/World/Signal")
    # and {} leaves the signal alone even where the map changes
    path = write_scenario_layer(radio.twin, radio.results["outage"], tmp_path / "nomaps.usdc", {})
    assert not Sdf.Layer.FindOrOpen(str(path)).GetPrimAtPath("/World/Signal")


# --- the story in customLayerData -------------------------------------------------------------

def _without_nan(rows):
    return [{k: v for k, v in r.items() if not (isinstance(v, float) and math.isnan(v))} for r in rows]


def test_custom_layer_data_tells_the_story(radio):
    res = radio.results["outage"]
    meta = layer_of(radio, "outage").customLayerData["twin3d"]
    assert meta["scenario"] == "outage" and meta["scene"] == "radio-small"
    assert meta["description"] == "S2 fails at step 3 and is back at 5; F-1 is cut at 4."
    assert (meta["steps"], meta["step_s"], meta["start_hour"]) == (7, 1800.0, 17.0)
    assert meta["time_codes_per_second"] == 2.0
    assert meta["origin_lon_deg"] == radio.twin.frame.lon0
    assert kpi_rows(meta["kpis"]) == _without_nan(res.kpi_table())
    assert list(meta["kpis"]["hour"]) == [17.0, 17.5, 18.0, 18.5, 19.0, 19.5, 20.0]
    assert meta["kpi_units"]["coverage_pct"] == "%" and meta["kpi_units"]["energy_w"] == "W"
    assert {k: list(v) for k, v in meta["events"].items()} == \
        {"t3": ["site_outage S2"], "t4": ["fiber_cut F-1"], "t5": ["restore S2"]}
    assert meta["cascades"] == {}


def test_cascade_waves_and_nan_kpis(cascade):
    res = cascade.results["cut"]
    meta = layer_of(cascade, "cut").customLayerData["twin3d"]
    rows = kpi_rows(meta["kpis"])
    assert rows == _without_nan(res.kpi_table())
    assert math.isnan(res.kpi_table()[1]["latency_p50_ms"]) and "latency_p50_ms" not in rows[1]
    assert rows[0]["latency_p50_ms"] == pytest.approx(res.kpi_table()[0]["latency_p50_ms"])
    assert "coverage_pct" not in meta["kpis"]                # no radio in this scene
    assert list(meta["kpis"]["cascade_waves"]) == [0, 2, 0, 0]
    waves = meta["cascades"]["t1"]["waves"]
    assert meta["cascades"]["t1"]["t"] == 1 and sorted(waves) == ["wave1", "wave2"]
    assert sorted(waves["wave1"]["tripped"]) == ["AD", "DB"]
    assert dict(waves["wave1"]["utilization"]) == {"AD": 1.5, "DB": 1.5}
    assert list(waves["wave1"]["caused_by"]) == ["fiber_cut AB"]
    assert sorted(waves["wave2"]["tripped"]) == ["AC", "CB"]
    assert sorted(waves["wave2"]["caused_by"]) == ["AD", "DB"]


def test_capacity_is_time_sampled_after_add_capacity(tmp_path):
    path = write_cascade_scene(tmp_path)
    path.write_text(path.read_text().replace(
        '{ t = 3, kind = "restore", target = "AB" }',
        '{ t = 3, kind = "restore", target = "AB" }, { t = 2, kind = "add_capacity", target = "AD", '
        'factor = 2.5 }'))
    scene = twin3d.load_scene(path)
    res = Simulator(scene).run(scene.spec.scenarios[0])
    write_stage(scene.twin, tmp_path / "out")
    write_scenario_layer(scene.twin, res, scenario_paths(tmp_path / "out", "cut")[1])
    root = write_scenario_stage(tmp_path / "out", "cut", None, scene.twin, len(res.steps))
    stage = Usd.Stage.Open(str(root))
    ad = stage.GetAttributeAtPath("/World/Network/Links/AD.twin:capacity_bps")
    ab = stage.GetAttributeAtPath("/World/Network/Links/AB.twin:capacity_bps")
    assert [ad.Get(t) for t in range(4)] == [3e9, 3e9, 7.5e9, 7.5e9]
    assert ad.Get(2) / ad.Get(1) == pytest.approx(2.5)
    assert [ab.Get(t) for t in range(4)] == [10e9] * 4
    # the base layer still holds the data's capacity as the default
    base = Sdf.Layer.FindOrOpen(str(tmp_path / "out" / BASE_LAYER))
    assert base.GetAttributeAtPath("/World/Network/Links/AD.twin:capacity_bps").default == 3e9


# --- root stages -----------------------------------------------------------------------------

def test_scenario_root_stage(radio, cascade):
    root, _ = scenario_paths(radio.out, "outage")
    assert root == radio.out / "scenarios" / "outage.usda"
    layer = Sdf.Layer.FindOrOpen(str(root))
    assert list(layer.subLayerPaths) == ["../layers/scenarios/outage.usdc", "../layers/signal.usdc",
                                         "../layers/base.usdc"]
    text = root.read_text()
    assert text.startswith("#usda") and "def " not in text and len(text) < 2000
    stage = Usd.Stage.Open(str(root))
    assert (stage.GetStartTimeCode(), stage.GetEndTimeCode()) == (0.0, 6.0)
    assert stage.GetTimeCodesPerSecond() == stage.GetFramesPerSecond() == 2.0
    assert UsdGeom.GetStageUpAxis(stage) == "Z" and stage.GetDefaultPrim().GetName() == "World"
    assert layer.customLayerData["twin3d"]["scenario"] == "outage"
    # a name that is not a file name
    assert scenario_stem("s3 down all day") == "s3_down_all_day"
    assert (radio.out / "scenarios" / "s3_down_all_day.usda").is_file()
    # no signal layer: scenario over base
    layer = Sdf.Layer.FindOrOpen(str(scenario_paths(cascade.out, "cut")[0]))
    assert list(layer.subLayerPaths) == ["../layers/scenarios/cut.usdc", "../layers/base.usdc"]


def test_roots_validate(radio, cascade):
    for root in (scenario_paths(radio.out, "outage")[0], scenario_paths(radio.out, "s3 down all day")[0],
                 radio.out / "twin.usda", scenario_paths(cascade.out, "cut")[0]):
        report = validate_stage(root)
        assert report.errors == [], f"{root}\n" + "\n".join(map(str, report.errors))


# --- errors ------------------------------------------------------------------------------------

def test_result_not_of_this_twin(radio, tmp_path):
    res = radio.results["quiet"]
    bad = dataclasses.replace(res, link_ids=res.link_ids[:-1] + ["F-99"])
    with pytest.raises(ValueError, match="scenario 'quiet': link 'F-99' is not in the twin"):
        write_scenario_layer(radio.twin, bad, tmp_path / "bad.usdc")
    bad = dataclasses.replace(res, site_ids=res.site_ids[:-1] + ["S9"])
    with pytest.raises(ValueError, match="site 'S9' is not in the twin"):
        write_scenario_layer(radio.twin, bad, tmp_path / "bad.usdc")
    outage = radio.results["outage"]
    one = {radio.signal_key: radio.maps[radio.signal_key]}
    with pytest.raises(ValueError, match="scenario 'outage': no radio map for key"):
        write_scenario_layer(radio.twin, outage, tmp_path / "bad.usdc", one)


# --- the real scene -----------------------------------------------------------------------------

@pytest.mark.slow
def test_helsinki_night_energy_saving(tmp_path):
    scene = twin3d.load_scene(SCENES / "helsinki.toml")
    sim = Simulator(scene)
    twin = scene.twin
    key = _radio_key(twin)
    res = sim.run(next(s for s in scene.spec.scenarios if s.name == "night_energy_saving"))
    start = time.perf_counter()
    write_stage(twin, tmp_path)
    write_signal_layer(twin, sim._maps[key], tmp_path / SIGNAL_LAYER)
    write_scenario_layer(twin, res, scenario_paths(tmp_path, res.name)[1], signal_key=key)
    root = write_scenario_stage(tmp_path, res.name, None, twin, len(res.steps))
    assert time.perf_counter() - start < 10.0          # about 0.15 s; a loose bound for slow CI
    grid = sim._maps[key].grid
    stage = Usd.Stage.Open(str(root))
    mesh = UsdGeom.Mesh(stage.GetPrimAtPath("/World/Signal/RSRP"))
    assert len(mesh.GetFaceVertexCountsAttr().Get()) == grid.nx * grid.ny > 50_000
    # three sites sleep until 06:00: the map changes at step 6, held at 5
    layer = layer_of(Written(twin, {}, {}, tmp_path, key), res.name)
    assert layer.ListTimeSamplesForPath("/World/Signal/RSRP.primvars:twin:rsrp_dbm") == [0, 5, 6]
    sinr = stage.GetAttributeAtPath("/World/Signal/SINR.primvars:twin:sinr_db")
    night, day = res.radio_maps[res.steps[5].radio_key], res.radio_maps[res.steps[6].radio_key]
    np.testing.assert_array_equal(np.array(sinr.Get(5)), night.sinr_db.astype(np.float32).ravel())
    np.testing.assert_array_equal(np.array(sinr.Get(6)), day.sinr_db.astype(np.float32).ravel())
    sites = prim_names(twin.sites)
    hel05 = stage.GetPrimAtPath(f"/World/Network/Sites/{sites['HEL-05']}")
    assert [hel05.GetAttribute("twin:state").Get(t) for t in (0, 5, 6)] == ["sleep", "sleep", "up"]
    report = validate_stage(root)
    assert report.errors == [], "\n".join(map(str, report.errors))
