"""End to end: the bundled scenes build into valid stages that hold every
feature of their sources, counted independently of twin3d's readers."""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET

import osmium
import pytest
from pxr import Usd, UsdGeom

import twin3d
from twin3d.usd.validate import validate_stage

from conftest import ASSETS, HELSINKI_PBF, ROOT, SCENES, ZOO

GRAPHML_NS = "{http://graphml.graphdrawing.org/xmlns}"


def run_cli(*args, cwd=ROOT):
    return subprocess.run([sys.executable, "-m", "twin3d", *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, timeout=300)


def prims_under(stage, path):
    return [p for p in stage.GetPrimAtPath(path).GetChildren()]


@pytest.fixture(scope="module")
def helsinki(tmp_path_factory):
    out = tmp_path_factory.mktemp("hel") / "out"
    res = run_cli("build", SCENES / "helsinki.toml", "-o", out)     # validates twin.usda
    assert res.returncode == 0, res.stderr
    stage = Usd.Stage.Open(str(out / "twin.usda"))
    summary = json.loads((out / "summary.json").read_text())
    return out, stage, summary, res.stdout


def osm_buildings_independent(path):
    """Every building-tagged closed way and multipolygon relation, by plain tag scan."""
    ids = set()
    for o in osmium.FileProcessor(str(path)):
        tags = o.tags
        if "building" not in tags or tags["building"] == "no":
            continue
        if o.is_way() and len(o.nodes) >= 4 and o.nodes[0].ref == o.nodes[-1].ref:
            ids.add(f"w{o.id}")
        elif o.is_relation() and tags.get("type") == "multipolygon":
            ids.add(f"r{o.id}")
    return ids


def osm_highway_ways(path):
    return {f"w{o.id}" for o in osmium.FileProcessor(str(path))
            if o.is_way() and "highway" in o.tags}


def test_helsinki_every_building_present_or_listed(helsinki):
    _, stage, summary, _ = helsinki
    in_stage = []
    for chunk in prims_under(stage, "/World/Buildings"):
        in_stage += list(chunk.GetAttribute("twin:building_ids").Get())
    listed = {s["feature"].split()[0][0] + s["feature"].split()[1]
              for s in summary["skipped"] if s["feature"].startswith(("way", "relation"))
              and "building" in s["reason"]}
    truth = osm_buildings_independent(HELSINKI_PBF)
    assert len(truth) == 500
    assert len(in_stage) == len(set(in_stage)) == summary["buildings"]
    assert set(in_stage) | listed == truth
    assert not set(in_stage) & listed
    assert len(in_stage) >= 480          # 446 whole + 34 clipped at the extract's edge


def test_helsinki_every_street_present_or_listed(helsinki):
    _, stage, summary, _ = helsinki
    curves = UsdGeom.BasisCurves(stage.GetPrimAtPath("/World/Streets/Streets"))
    n_curves = len(curves.GetCurveVertexCountsAttr().Get())
    listed = [s for s in summary["skipped"] if "street" in s["reason"]]
    assert n_curves == summary["streets"]
    assert n_curves + len(listed) == len(osm_highway_ways(HELSINKI_PBF)) == 2650


def test_helsinki_every_site_and_fiber_route_present(helsinki):
    _, stage, _, _ = helsinki
    sites = json.loads((ASSETS / "helsinki" / "sites.geojson").read_text())["features"]
    fiber = json.loads((ASSETS / "helsinki" / "fiber.geojson").read_text())["features"]
    got_sites = {p.GetAttribute("twin:id").Get(): p for p in prims_under(stage, "/World/Network/Sites")}
    got_links = {p.GetAttribute("twin:id").Get(): p for p in prims_under(stage, "/World/Network/Links")}
    assert set(got_sites) == {f["properties"]["id"] for f in sites}
    assert set(got_links) == {f["properties"]["id"] for f in fiber}
    for f in fiber:
        p = f["properties"]
        prim = got_links[p["id"]]
        assert prim.GetAttribute("twin:capacity_bps").Get() == p["capacity_bps"]
        assert (prim.GetAttribute("twin:a").Get(), prim.GetAttribute("twin:b").Get()) == (p["a"], p["b"])
        # routed along the streets: the route is at least as long as the street path
        assert prim.GetAttribute("twin:length_m").Get() >= 0.98 * p["street_length_m"]
    # the real OSM mast is one of the sites, at its OSM position
    mast = got_sites["MAST-n1682211174"]
    assert mast.GetAttribute("twin:lon_deg").Get() == pytest.approx(24.9468685, abs=1e-7)
    assert mast.GetAttribute("twin:lat_deg").Get() == pytest.approx(60.1650731, abs=1e-7)
    # three sector panels on every radio site
    for sid, prim in got_sites.items():
        n_panels = sum(1 for c in prim.GetChildren() if c.GetName().startswith("Sector"))
        assert n_panels == (0 if sid == "CO-1" else 3), sid


def test_helsinki_stage_validates(helsinki):
    out, stage, _, build_stdout = helsinki
    assert UsdGeom.GetStageUpAxis(stage) == "Z" and UsdGeom.GetStageMetersPerUnit(stage) == 1.0
    assert stage.GetDefaultPrim().GetPath() == "/World"
    # `twin3d build` ran both suites on twin.usda (every scenario variant): no errors
    line = next(l for l in build_stdout.splitlines() if l.startswith(f"validated {out / 'twin.usda'}:"))
    assert " 0 errors" in line


def zoo_counts(path):
    root = ET.parse(path).getroot()
    keys = {k.get("id"): k.get("attr.name") for k in root.iter(f"{GRAPHML_NS}key")}
    lat_key = next(k for k, v in keys.items() if v == "Latitude")
    nodes = list(root.iter(f"{GRAPHML_NS}node"))
    placed = [n for n in nodes if any(d.get("key") == lat_key for d in n.iter(f"{GRAPHML_NS}data"))]
    return len(nodes), len(placed), len(list(root.iter(f"{GRAPHML_NS}edge")))


@pytest.mark.parametrize("name", sorted(p.stem for p in ZOO.glob("*.graphml")))
def test_every_topology_zoo_network_builds_as_its_own_scene(name, tmp_path):
    scene = twin3d.load_scene(SCENES / "topologyzoo" / f"{name}.toml")
    result = twin3d.build(scene, tmp_path / "out")
    n_nodes, n_placed, n_edges = zoo_counts(ZOO / f"{name}.graphml")
    stage = Usd.Stage.Open(str(result.root_layer))
    sites = prims_under(stage, "/World/Network/Sites")
    links = prims_under(stage, "/World/Network/Links")
    assert len(sites) == n_placed
    left_out_nodes = [s for s in result.summary["skipped"] if s["feature"].startswith("node ")]
    left_out_edges = [s for s in result.summary["skipped"] if s["feature"].startswith("edge ")]
    assert len(left_out_nodes) == n_nodes - n_placed
    assert len(links) + len(left_out_edges) == n_edges
    assert validate_stage(result.root_layer).errors == []


def test_left_out_nodes_are_reported_by_info():
    res = run_cli("info", SCENES / "topologyzoo" / "Nordu2010.toml", "--all")
    assert res.returncode == 0, res.stderr
    for label in ("Poznan", "GEANT", "New York", "St Petersburg"):
        assert f"(label '{label}')" in res.stdout
    assert res.stdout.count("no Latitude/Longitude; left out") == 11


def test_nordic_backbone_scene():
    scene = twin3d.load_scene(SCENES / "nordic_backbone.toml")
    twin = scene.twin
    assert len(twin.sites) == 24 and len(twin.links) == 28
    assert twin.graph.number_of_edges("Helsinki", "Espoo") == 2     # parallel links kept


def test_scene_mixing_csv_gpkg_sndlib_and_osm_xml(tmp_path):
    """Every reader is reachable from a scene file, and the data reach the stage."""
    import geopandas as gpd
    from shapely.geometry import Polygon

    data = ROOT / "tests" / "data"
    gpd.GeoDataFrame({"id": ["G1"], "height_m": [18.0]},
                     geometry=[Polygon([(24.9500, 60.1660), (24.9503, 60.1660), (24.9503, 60.1662),
                                        (24.9500, 60.1662)])],
                     crs="EPSG:4326").to_crs("EPSG:3067").to_file(tmp_path / "b.gpkg")
    scene = tmp_path / "mixed.toml"
    scene.write_text(f"""
[scene]
name = "mixed"
[[source]]
path = "{(data / 'vector' / 'sites.csv').as_posix()}"
role = "sites"
[[source]]
path = "{(data / 'vector' / 'demands.csv').as_posix()}"
role = "demands"
[[source]]
path = "b.gpkg"
role = "buildings"
[[source]]
path = "{(data / 'osm' / 'tiny.osm').as_posix()}"
layers = ["buildings"]
[[source]]
path = "{(data / 'sndlib' / 'abilene_small.txt').as_posix()}"
kind = "sndlib"
[traffic]
core = "R1"
""")
    sc = twin3d.load_scene(scene)
    twin = sc.twin
    assert {"S1", "S2", "R1", "ATLAM5", "CHINng"} <= set(twin.sites)
    assert twin.demands[("S1", "R1")] == 4e9
    assert "G1" in twin.buildings.ids
    g1 = twin.buildings.ids.index("G1")
    assert twin.buildings.heights_m[g1] == 18.0
    result = twin3d.build(sc, tmp_path / "out")
    stage = Usd.Stage.Open(str(result.root_layer))
    ids = [i for c in prims_under(stage, "/World/Buildings") for i in c.GetAttribute("twin:building_ids").Get()]
    assert "G1" in ids and len(ids) == len(twin.buildings)
    assert validate_stage(result.root_layer).errors == []


def test_helsinki_build_writes_scenarios_signal_and_kpis(helsinki):
    out, stage, _, _ = helsinki
    kpis = json.loads((out / "kpis.json").read_text())
    names = ["baseline_day", "fiber_cut_evening_peak", "site_outage", "stadium_surge", "ddos_core",
             "night_energy_saving"]
    assert list(kpis["scenarios"]) == names
    steps = kpis["scenarios"]["fiber_cut_evening_peak"]["steps"]
    assert [s["t"] for s in steps] == list(range(24))
    assert steps[18]["events"] == ["fiber_cut F-01"]
    for key in ("coverage_pct", "sinr_p50_db", "throughput_p50_bps", "offered_bps", "served_bps",
                "dropped_bps", "util_max", "util_mean", "latency_p50_ms", "latency_p95_ms",
                "failed_elements", "energy_w"):
        assert isinstance(steps[0][key], (int, float)), key
    # the twin root shows the signal over the base
    assert stage.GetPrimAtPath("/World/Signal/RSRP").IsValid()
    for name in names:
        root = out / "scenarios" / f"{name}.usda"
        scen = Usd.Stage.Open(str(root))
        assert (scen.GetStartTimeCode(), scen.GetEndTimeCode()) == (0, 23)
        link = scen.GetPrimAtPath("/World/Network/Links/F_01")
        state = link.GetAttribute("twin:state")
        assert len(state.GetTimeSamples()) == 24
        if name == "fiber_cut_evening_peak":
            assert [state.Get(t) for t in (17, 18, 21, 22)] == ["up", "cut", "cut", "up"]
            util = link.GetAttribute("twin:utilization")
            assert util.Get(19) == 0.0 and util.Get(17) > 0.0
        assert validate_stage(root).errors == []


def test_backbone_build_has_no_signal_but_a_cascade(tmp_path):
    result = twin3d.build(twin3d.load_scene(SCENES / "nordic_backbone.toml"), tmp_path / "out")
    assert not (tmp_path / "out" / "layers" / "signal.usdc").exists()
    kpis = json.loads((tmp_path / "out" / "kpis.json").read_text())
    step = kpis["scenarios"]["link_failure_cascade"]["steps"][21]
    assert step["coverage_pct"] is None          # no radio in a backbone: null, not NaN
    assert [w["wave"] for w in step["waves"]] == [1, 2]
    scen = Usd.Stage.Open(str(tmp_path / "out" / "scenarios" / "link_failure_cascade.usda"))
    tripped = scen.GetPrimAtPath("/World/Network/Links/Kouvola__Lahti")
    assert tripped.GetAttribute("twin:id").Get() == "Kouvola--Lahti"
    assert tripped.GetAttribute("twin:state").Get(20) == "up"
    assert tripped.GetAttribute("twin:state").Get(21) == "tripped"
    assert validate_stage(tmp_path / "out" / "scenarios" / "link_failure_cascade.usda").errors == []
