"""twin3d.viz on stages twin3d builds: an exported USDZ, and the Helsinki build.

A small scene from tests/data (4 sites, 5 cells, 3 links, 3 buildings, 2
streets) is built, one scenario exported with ``export_scenario`` as USDZ,
opened and drawn off screen; the Helsinki build (slow) is checked for its
scenarios, for one tower per mast site and one panel per cell (native
instances), against counts read from the scene's own GeoJSON.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import pyvista as pv  # noqa: E402  (a core dependency: never skipped)

from twin3d.viz.parts import RGB, recolor, stage_parts  # noqa: E402
from twin3d.viz.plot import add_parts, home_camera  # noqa: E402
from twin3d.viz.read import element_of, open_stage  # noqa: E402
from twin3d.viz.scenarios import find_scenarios, scenario_record, steps_of  # noqa: E402

DATA = Path(__file__).parent / "data"
ROOT = Path(__file__).resolve().parents[1]


# --- an exported USDZ --------------------------------------------------------------------

SMALL_SCENE = """
[scene]
name = "viz-small"
seed = 1
[[source]]
path = "{data}/vector/sites.geojson"
role = "sites"
[[source]]
path = "{data}/vector/links.geojson"
role = "links"
[[source]]
path = "{data}/vector/buildings.geojson"
role = "buildings"
[[source]]
path = "{data}/osm/tiny.osm"
layers = ["streets"]
[radio]
grid_m = 20
[traffic]
busy_hour_bps = 1e9
core = "CO1"
[[scenario]]
name = "cut"
steps = 4
events = [{{ t = 2, kind = "fiber_cut", target = "F1" }}]
"""


@pytest.fixture(scope="module")
def small_usdz(tmp_path_factory):
    """A small scene from tests/data (4 sites, 5 cells, 3 links, 3 buildings, 2 streets)
    built and its scenario exported with export_scenario as USDZ."""
    from twin3d import load_scene
    from twin3d.output import build
    from twin3d.usd.export import export_scenario
    from twin3d.usd.layers import scenario_paths
    base = tmp_path_factory.mktemp("viz_small")
    scene_file = base / "scene.toml"
    scene_file.write_text(SMALL_SCENE.format(data=DATA.as_posix()), encoding="utf-8")
    out = build(load_scene(scene_file), base / "out").out_dir
    return export_scenario(scenario_paths(out, "cut")[0], base / "cut.usdz")


def test_viewer_draws_an_exported_usdz(small_usdz):
    assert small_usdz.suffix == ".usdz" and small_usdz.is_file()
    stage = open_stage(small_usdz)
    assert steps_of(stage) == [0, 1, 2, 3]
    parts = {p.name: p for p in stage_parts(stage, 0)}
    assert {"Terrain:meshes", "Buildings:meshes", "Network:shapes", "Network:curves",
            "Streets:ribbons"} <= set(parts)
    # buildings: one merged chunk holding the three footprints of buildings.geojson
    (chunk,) = parts["Buildings:meshes"].slots
    assert len(stage.GetPrimAtPath(chunk.path).GetAttribute("twin:building_ids").Get()) == 3
    # links: F1, F3 (no geometry: straight), MW2
    links = parts["Network:curves"]
    assert sorted(sl.path.rsplit("/", 1)[1] for sl in links.slots) == ["F1", "F3", "MW2"]
    # sites: the central office is a block; S1, S2 and M1 have a tower; 3 + 2 panels
    shapes = [sl.path for sl in parts["Network:shapes"].slots]
    assert sorted(p.split("/")[4] for p in shapes if p.endswith("/Tower/Geom")) == ["M1", "S1", "S2"]
    assert len([p for p in shapes if "/Sector_" in p]) == 5
    assert [p for p in shapes if p.endswith("/Building")] == ["/World/Network/Sites/CO1/Building"]
    assert not any("Prototype" in p for part in parts.values() for p in (sl.path for sl in part.slots))
    # two streets, flat: one ribbon quad per segment, all at one height
    streets = parts["Streets:ribbons"].mesh
    assert streets.n_cells >= 2 and streets.bounds[5] - streets.bounds[4] < 0.05
    # F1 is cut at step 2: its colour changes between time codes 0 and 2
    f1 = next(sl for sl in links.slots if sl.path.endswith("/F1"))
    before = np.asarray(links.mesh.cell_data[RGB])[f1.cells].copy()
    assert f1.animated and recolor(links, stage, 2)
    after = np.asarray(links.mesh.cell_data[RGB])[f1.cells]
    assert not np.array_equal(before, after) and np.all(after == [64, 64, 64])


def test_exported_usdz_renders_off_screen(small_usdz):
    pv.OFF_SCREEN = True
    stage = open_stage(small_usdz)
    parts = stage_parts(stage, 0)
    plotter = pv.Plotter(off_screen=True, window_size=[320, 240])
    try:
        plotter.background_color = (0.0, 0.0, 0.0)
        add_parts(plotter, parts)
        plotter.camera_position = list(home_camera(plotter.bounds))
        img = np.asarray(plotter.screenshot(return_img=True), float)
    finally:
        plotter.close()
    assert img.shape[:2] == (240, 320)
    # not blank: many distinct pixels, spread over the frame
    assert img.std() > 20.0
    assert (img.sum(axis=2) > 30).mean() > 0.2


# --- a stage twin3d built --------------------------------------------------------------------

@pytest.fixture(scope="module")
def helsinki_out(tmp_path_factory):
    import twin3d
    scene = twin3d.load_scene(ROOT / "scenes" / "helsinki.toml")
    out = tmp_path_factory.mktemp("viz_helsinki") / "out"
    twin3d.build(scene, out)
    return scene, out


@pytest.mark.slow
def test_twin3d_stage_parts_and_scenarios(helsinki_out):
    """A stage twin3d built: few actors, signal maps as variants, scenarios with KPIs."""
    scene, out = helsinki_out
    scen = find_scenarios(out)
    assert set(scen) == {s.name for s in scene.spec.scenarios}
    stage = scen["fiber_cut_evening_peak"].activate()
    parts = stage_parts(stage, 0)
    assert len(parts) < 20
    sig = next(p for p in parts if p.variants)
    assert sig.variants == ["RSRP", "SINR", "BestServer"] and sig.group == "Signal"
    links = next(p for p in parts if p.name == "Network:curves")
    f01 = next(s for s in links.slots if s.path.endswith("/F_01"))
    before = np.asarray(links.mesh.cell_data[RGB])[f01.cells].copy()
    recolor(links, stage, 18)                        # cut at step 18: dark grey
    after = np.asarray(links.mesh.cell_data[RGB])[f01.cells]
    assert not np.array_equal(before, after) and np.all(after == [64, 64, 64])
    rec = scenario_record(stage, "fiber_cut_evening_peak")
    assert len(rec["kpis"]["t"]) == 24 and element_of(stage.GetPrimAtPath(f01.path)).GetName() == "F_01"
    # streets are flat ribbons under the fibre tubes
    streets = next(p for p in parts if p.name == "Streets:ribbons").mesh
    assert streets.bounds[5] - streets.bounds[4] < 5.0 and links.mesh.n_cells > 0


@pytest.mark.slow
def test_helsinki_one_tower_per_site_one_panel_per_cell(helsinki_out):
    _, out = helsinki_out
    sites = [f["properties"] for f in
             json.loads((ROOT / "assets" / "helsinki" / "sites.geojson").read_text())["features"]]
    masts = {s["id"]: s for s in sites if s["kind"] != "central_office"}
    n_cells = sum(len(s.get("sectors") or []) for s in masts.values())
    assert (len(masts), n_cells) == (10, 30)
    stage = find_scenarios(out)["baseline_day"].activate()
    shapes = next(p for p in stage_parts(stage, 0) if p.name == "Network:shapes")
    by_site: dict[str, dict[str, int]] = {}
    for sl in shapes.slots:
        site_prim = stage.GetPrimAtPath(sl.element)
        assert site_prim.GetAttribute("twin:id").Get()          # a pick selects the site
        what = "tower" if sl.path.endswith("/Tower/Geom") else "panel" if "/Sector_" in sl.path else "other"
        counts = by_site.setdefault(site_prim.GetAttribute("twin:id").Get(), {})
        counts[what] = counts.get(what, 0) + 1
    assert {sid for sid, c in by_site.items() if c.get("tower")} == set(masts)
    assert all(c.get("tower", 0) <= 1 for c in by_site.values())
    assert sum(c.get("panel", 0) for c in by_site.values()) == n_cells
    for sid, s in masts.items():
        assert by_site[sid]["panel"] == len(s["sectors"])
    # HEL-01's mast is drawn 74 m tall (height_m), in its site's colour (state "up": green)
    tower = next(sl for sl in shapes.slots if sl.path.endswith("/HEL_01/Tower/Geom"))
    b = shapes.mesh.extract_cells(tower.cells).bounds
    assert b[5] - b[4] == pytest.approx(masts["HEL-01"]["height_m"], abs=0.01)
    rgb = np.asarray(shapes.mesh.cell_data[RGB])[tower.cells]
    assert np.all(rgb == rgb[0]) and rgb[0][1] > rgb[0][0] and rgb[0][1] > rgb[0][2]
    assert not any(sl.path.startswith("/World/Prototypes") for sl in shapes.slots)


def test_overlays_on_a_small_exported_scene(small_usdz):
    """Site glyphs, link lines and site + cell labels; no basemap for a scene this small."""
    from twin3d.viz.basemap import scene_overlays
    stage = open_stage(small_usdz)
    parts = stage_parts(stage, 0)
    over = {p.name: p for p in scene_overlays(parts, stage, 0)}
    assert set(over) == {"Network:lines", "Network:glyphs", "Labels:text"}
    glyphs = over["Network:glyphs"]
    assert glyphs.mesh.n_points == 4                              # one per site
    labels = over["Labels:text"]
    assert len(labels.slots) == 4 + 5                             # 4 sites, 5 cells
    # every label picks its site
    assert {s.element for s in labels.slots} == {s.element for s in glyphs.slots}
    assert len(over["Network:lines"].slots) == 3                  # one per link
