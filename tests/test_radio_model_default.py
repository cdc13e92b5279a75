"""The geometric model is the default radio model (issue 13); TR 38.901 stays selectable.

The hand references: free space and the TR 38.901 sector antenna written out
here, ITU-R P.526 J(v) and Deygout's method over the two walls of a block
written out here, and ``pathloss_38901`` (checked against the table in
test_physics_radio.py) for the 38.901 map.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys

import networkx as nx
import numpy as np
import pytest
import shapely

import twin3d
from twin3d.geo.frame import LocalFrame
from twin3d.model import Buildings, Cell, Site, Twin
from twin3d.physics.cellmaps import RADIO_MODELS, CellSpec
from twin3d.physics.coverage import RadioMapper, radio_map
from twin3d.physics.geometric.model import DEFAULT_TERMS, GeometricEngine, geometric_path_gain_db
from twin3d.physics.radio import pathloss_38901
from twin3d.radio_cache import ENV_VAR, DiskCachedEngine
from twin3d.scene import GEOMETRIC_TERMS, RADIO_MODELS as SCENE_MODELS, RadioSpec
from twin3d.sim.engine import Simulator

from conftest import ROOT, feature_collection

C = 299_792_458.0
F_HZ = 3.5e9
R_EARTH = 6_371_000.0
P_TX = 46.0


def j_db(v: float) -> float:
    """ITU-R P.526 eq. 31."""
    return 6.9 + 20 * math.log10(math.sqrt((v - 0.1) ** 2 + 1) + v - 0.1) if v > -0.78 else 0.0


def gain_db(phi: float, theta: float, tilt: float = 0.0, g_max: float = 17.0) -> float:
    """TR 38.901 Table 7.3-1, 65 degree beams."""
    a_h = -min(12 * (phi / 65.0) ** 2, 30.0)
    a_v = -min(12 * ((theta - 90.0 - tilt) / 65.0) ** 2, 30.0)
    return g_max - min(-(a_h + a_v), 30.0)


# one 40 m mast at the origin, cell 1 facing east; a 20 m block from 100 to 110 m east, 600 m wide
MAST_M, BLOCK = 40.0, (100.0, -300.0, 110.0, 300.0, 20.0)
BOUNDS = (40.0, -10.0, 300.0, 10.0)           # 20 m grid: centres x = 50, 70, ..., 290 on y = 0


def block_twin() -> Twin:
    cells = [Cell(f"S/{k + 1}", "S", az, 0.0, P_TX, F_HZ, 100e6, 65.0, 17.0)
             for k, az in enumerate((90.0, 270.0))]
    site = Site("S", "macro", 0.0, 0.0, 0.0, MAST_M, np.zeros(3), cells=cells)
    b = Buildings(["blk"], np.array([shapely.box(*BLOCK[:4])]), np.array([BLOCK[4]]), np.zeros(1),
                  ["yes"], ["tag"])
    return Twin("block", LocalFrame(24.94, 60.17), {"S": site}, {}, nx.MultiGraph(), b, [], {})


def hand_gain_db(x: float, shadowed: bool) -> float:
    """Cell 1's path gain at (x, 0), UE 1.5 m above the (curved) ENU ground, dB."""
    z_ue = 1.5 - x * x / (2 * R_EARTH)
    lam = C / F_HZ
    g = gain_db(0.0, 90.0 + math.degrees(math.atan2(MAST_M - z_ue, x)))
    fs = 20 * math.log10(4 * math.pi * math.hypot(x, MAST_M - z_ue) / lam)
    if not shadowed:
        return g - fs

    def v_of(d, a, b):                   # edge (d, roof) between a and b, both (d, z)
        # Fresnel-Kirchhoff v from the excess path length over the edge, 2 sqrt(Delta / lambda)
        # (the default v_path_difference; P.526 eq. 26's height form is its small-angle limit)
        e = (d, BLOCK[4])
        delta = math.dist(a, e) + math.dist(e, b) - math.dist(a, b)
        line = a[1] + (b[1] - a[1]) * (d - a[0]) / (b[0] - a[0])
        return math.copysign(2 * math.sqrt(delta / lam), BLOCK[4] - line)

    tx, rx = (0.0, MAST_M), (x, z_ue)
    walls = (BLOCK[0], BLOCK[2])         # the ray crosses both walls at the roof height
    v = [v_of(d, tx, rx) for d in walls]
    k = int(np.argmax(v))                # Deygout: the principal edge, then each side's own
    top = (walls[k], BLOCK[4])
    other = walls[1 - k]
    side = v_of(other, tx, top) if other < walls[k] else v_of(other, top, rx)
    loss = j_db(v[k]) + j_db(side)
    # the direct ray through the block: two 0.2 m concrete slabs (ITU-R P.2040-3 Table 3 concrete,
    # normal incidence, internal reflections summed), power-summed with the rooftop path; the
    # block's walls reflect nothing behind it and its corners are 300 m away; then the default
    # terms' NLOS offset
    eps_c = 5.24 - 1j * 0.0462 * (F_HZ / 1e9) ** 0.7822 / (2 * math.pi * F_HZ * 8.8541878128e-12)
    eta = np.sqrt(eps_c)
    r = (1 - eta) / (1 + eta)
    q = 2 * math.pi * 0.2 * eta / lam
    slab_db = -20 * math.log10(abs((1 - r * r) * np.exp(-1j * q) / (1 - r * r * np.exp(-2j * q))))
    paths_mw = 10 ** (-loss / 10) + 10 ** (-2 * slab_db / 10)
    return g - fs + 10 * math.log10(paths_mw) - DEFAULT_TERMS["nlos_offset_db"]


def test_model_lists_agree_and_geometric_is_first():
    assert set(SCENE_MODELS) == set(RADIO_MODELS) and SCENE_MODELS[0] == RADIO_MODELS[0] == "geometric"
    assert RadioSpec().model == "geometric"


def test_radio_map_defaults_to_the_geometric_model():
    twin = block_twin()
    rm = radio_map(twin, grid_m=20.0, bounds=BOUNDS)
    assert rm.model == "geometric" and rm.rx_dbm.shape == (2, 1, 13)
    xs, _ = rm.grid.centers()
    assert xs[0] == 50.0 and xs[-1] == 290.0
    # the map is the geometric model's: each cell's rx, and the best server's RSRP
    specs = [CellSpec.of(c, twin.sites["S"]) for c in twin.cells]
    want = P_TX + geometric_path_gain_db(twin.buildings, rm.grid, specs, 1.5)
    np.testing.assert_allclose(rm.rx_dbm, want, atol=1e-4)
    rs = 10 * math.log10(12 * 273)                          # 100 MHz at 30 kHz: 273 PRB
    np.testing.assert_allclose(rm.rsrp_dbm, want.max(axis=0) - rs, atol=1e-4)
    assert (rm.best_server == 0).all()                      # the east cell serves the east
    # in sight in front of the block, shadowed behind it, in sight again beyond the shadow
    got = {x: float(rm.rx_dbm[0, 0, i]) - P_TX for i, x in enumerate(xs)}
    for x, shadowed in ((70.0, False), (170.0, True), (190.0, True), (250.0, False)):
        assert got[x] == pytest.approx(hand_gain_db(x, shadowed), abs=0.01), x
    # behind the block is weaker than in sight beyond it, by diffraction less the NLOS offset
    # (the slabs' 2 x 19.0 dB at 3.5 GHz add little to it)
    drop = got[250.0] - got[170.0]
    assert drop == pytest.approx(hand_gain_db(250.0, False) - hand_gain_db(170.0, True), abs=0.02)
    assert drop > 15.0


def test_uma_is_still_tr_38901():
    twin = block_twin()
    rm = radio_map(twin, model="UMa", grid_m=20.0, bounds=BOUNDS)
    assert rm.model == "UMa"
    xs, _ = rm.grid.centers()
    for x, los in ((70.0, True), (170.0, False), (250.0, True)):
        i = int(np.flatnonzero(xs == x)[0])
        z_ue = 1.5 - x * x / (2 * R_EARTH)
        g = gain_db(0.0, 90.0 + math.degrees(math.atan2(MAST_M - z_ue, x)))
        pl = float(pathloss_38901("UMa", x, F_HZ, MAST_M, 1.5, los))
        assert rm.rx_dbm[0, 0, i] == pytest.approx(P_TX + g - pl, abs=1e-3), x
        assert bool(rm.los[0, i]) == los


def test_unknown_model_in_python():
    with pytest.raises(ValueError, match="geometric, FSPL, UMa, UMi, RMa"):
        radio_map(block_twin(), model="Hata", grid_m=20.0, bounds=BOUNDS)


# --- scene files ------------------------------------------------------------------------

ORIGIN = (24.9400, 60.1710)
SCENE = """
[scene]
name = "block"
origin = {{ lon = {lon}, lat = {lat} }}
[[source]]
path = "sites.geojson"
role = "sites"
[[source]]
path = "links.geojson"
role = "links"
[[source]]
path = "buildings.geojson"
role = "buildings"
[radio]
grid_m = 20
{radio}
[traffic]
busy_hour_bps = 0
core = "CO"
[[scenario]]
name = "x"
steps = 5
profile = "flat"
events = [{events}]
"""
SECTOR_EVENTS = ('{ t = 1, kind = "cell_sleep", cell = "S1/2", duration = 1 },'
                 '{ t = 2, kind = "sector", site = "S1", sector = 1, tilt_deg = 12 },'
                 '{ t = 3, kind = "sector", site = "S1", sector = 1, p_tx_dbm = 40 },'
                 '{ t = 4, kind = "cell_sleep", cell = "S1/3", duration = 1 }')


def write_block_scene(folder, radio: str = "", events: str = ""):
    frame = LocalFrame(*ORIGIN)
    ring = [(100, -60), (110, -60), (110, 60), (100, 60), (100, -60)]
    lon, lat, _ = frame.to_wgs84(np.array([p[0] for p in ring], float),
                                 np.array([p[1] for p in ring], float), np.zeros(len(ring)))
    (folder / "buildings.geojson").write_text(feature_collection([
        {"type": "Feature", "properties": {"id": "blk", "height_m": 20.0},
         "geometry": {"type": "Polygon", "coordinates": [list(map(list, zip(lon, lat)))]}}]))
    (folder / "sites.geojson").write_text(feature_collection([
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [24.9420, 60.1700]},
         "properties": {"id": "CO", "kind": "central_office"}},
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": list(ORIGIN)},
         "properties": {"id": "S1", "kind": "macro", "height_m": 40.0,
                        "sectors": [{"azimuth_deg": a} for a in (90, 210, 330)]}}]))
    (folder / "links.geojson").write_text(feature_collection([
        {"type": "Feature", "geometry": None,
         "properties": {"id": "F-1", "a": "CO", "b": "S1", "capacity_bps": 10e9}}]))
    path = folder / "scene.toml"
    path.write_text(SCENE.format(lon=ORIGIN[0], lat=ORIGIN[1], radio=radio, events=events))
    return path


def test_a_scene_without_model_simulates_with_the_geometric_model(tmp_path, monkeypatch):
    monkeypatch.delenv(ENV_VAR, raising=False)
    scene = twin3d.load_scene(write_block_scene(tmp_path))
    assert scene.spec.radio.model == "geometric" and len(scene.twin.buildings) == 1
    sim = Simulator(scene)
    rm = sim.baseline_map
    assert rm.model == "geometric" and isinstance(sim.mapper.ctx.engine, GeometricEngine)
    twin = scene.twin
    specs = [CellSpec.of(c, twin.sites[c.site_id]) for c in twin.cells]
    want = np.array([c.p_tx_dbm for c in twin.cells])[:, None, None] \
        + geometric_path_gain_db(twin.buildings, rm.grid, specs, scene.spec.radio.ue_height_m)
    np.testing.assert_array_equal(rm.rx_dbm, want.astype(np.float32))


def test_a_scene_with_uma_simulates_with_tr_38901(tmp_path, monkeypatch):
    monkeypatch.delenv(ENV_VAR, raising=False)
    scene = twin3d.load_scene(write_block_scene(tmp_path, 'model = "UMa"'))
    sim = Simulator(scene)
    assert sim.baseline_map.model == "UMa" and sim.mapper.ctx.engine is None
    want = radio_map(scene.twin, model="UMa", grid_m=20.0, bounds=sim.radio_bounds)
    np.testing.assert_array_equal(sim.baseline_map.rx_dbm, want.rx_dbm)


def test_an_unknown_model_is_one_line_exit_2(tmp_path, cli_in_process):
    path = write_block_scene(tmp_path, 'model = "Hata"')
    out = tmp_path / "out"
    res = cli_in_process("build", path, "-o", out)
    lines = res.stderr.strip().splitlines()
    assert res.returncode == 2 and len(lines) == 1, res.stderr
    for word in ("scene.toml", "[radio]", "model", "Hata", "geometric", "UMa", "UMi", "RMa", "FSPL"):
        assert word in lines[0], lines[0]
    assert not out.exists()


class CountingEngine(GeometricEngine):
    """The geometric model, counting the cell maps it computes."""

    computed: list = []

    def path_gain_db(self, buildings, grid, specs, ue_height_m):
        CountingEngine.computed.append(len(specs))
        return super().path_gain_db(buildings, grid, specs, ue_height_m)


def test_active_sets_recombine_and_a_sector_event_recomputes_one_cell(tmp_path, monkeypatch):
    monkeypatch.delenv(ENV_VAR, raising=False)
    monkeypatch.setattr("twin3d.sim.engine.GeometricEngine", CountingEngine)
    monkeypatch.setattr(CountingEngine, "computed", [])
    scene = twin3d.load_scene(write_block_scene(tmp_path, events=SECTOR_EVENTS))
    sim = Simulator(scene)
    sim.baseline_map
    assert CountingEngine.computed == [3]                        # every cell once, in one call
    res = sim.run(scene.spec.scenarios[0])
    # t=1 and t=4 sleep a cell (a new active set), t=2 tilts S1/1, t=3 changes its power:
    # only the tilt needs a new map, of that cell alone
    assert CountingEngine.computed == [3, 1]
    keys = [s.radio_key for s in res.steps]
    assert len(set(keys)) == 5
    m0, m1, m2, m3, _ = (res.radio_maps[k] for k in keys)
    np.testing.assert_array_equal(m1.rx_dbm[[0, 2]], m0.rx_dbm[[0, 2]])
    np.testing.assert_array_equal(m2.rx_dbm[1:], m0.rx_dbm[1:])
    assert not np.array_equal(m2.rx_dbm[0], m0.rx_dbm[0])
    # the power change shifts the cell's map by the change, to float32 rounding
    c1 = scene.twin.cells[0]
    np.testing.assert_allclose(m3.rx_dbm[0], m2.rx_dbm[0] + (40.0 - c1.p_tx_dbm), atol=1e-4)


def test_the_disk_cache_serves_a_second_simulator_bit_for_bit(tmp_path, monkeypatch):
    monkeypatch.setenv(ENV_VAR, str(tmp_path / "radio"))
    monkeypatch.setattr("twin3d.sim.engine.GeometricEngine", CountingEngine)
    monkeypatch.setattr(CountingEngine, "computed", [])
    path = write_block_scene(tmp_path)
    first = Simulator(twin3d.load_scene(path))
    assert isinstance(first.mapper.ctx.engine, DiskCachedEngine)
    a = first.baseline_map
    assert CountingEngine.computed == [3] and len(list((tmp_path / "radio").glob("*.npy"))) == 3
    second = Simulator(twin3d.load_scene(path))
    b = second.baseline_map
    assert CountingEngine.computed == [3] and second.mapper.ctx.engine.hits == 3
    np.testing.assert_array_equal(a.rx_dbm, b.rx_dbm)
    np.testing.assert_array_equal(a.sinr_db, b.sinr_db)
    # other terms are another model: the cache does not serve them
    other = DiskCachedEngine(GeometricEngine(corner_weight=0.25), tmp_path / "radio")
    spec = CellSpec.of(first.twin.cells[0], first.twin.sites["S1"])
    assert other.file_of(first.twin.buildings, a.grid, spec, 1.5) != \
        second.mapper.ctx.engine.file_of(first.twin.buildings, a.grid, spec, 1.5)


def test_build_records_the_radio_model(tmp_path):
    path = write_block_scene(tmp_path)
    res = subprocess.run([sys.executable, "-m", "twin3d", "build", str(path), "-o",
                          str(tmp_path / "out")], cwd=ROOT, capture_output=True, text=True,
                         timeout=300)
    assert res.returncode == 0, res.stderr
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["radio"] == {"model": "geometric", "engine": "twin3d"}
    from pxr import Usd
    stage = Usd.Stage.Open(str(tmp_path / "out" / "layers" / "signal.usdc"))
    assert stage.GetPrimAtPath("/World/Signal").GetAttribute("twin:radio_model").Get() == "geometric"


# --- [radio.geometric] ------------------------------------------------------------------

def test_scene_overrides_of_the_geometric_terms(tmp_path, monkeypatch):
    monkeypatch.delenv(ENV_VAR, raising=False)
    assert set(GEOMETRIC_TERMS) == set(DEFAULT_TERMS)
    path = write_block_scene(tmp_path, '[radio.geometric]\ncorner_weight = 0.25\ncombine = "min"\n'
                                       'k_edges = 16\ncorners = false\ncorner_rounds = 0')
    spec = twin3d.load_scene(path).spec.radio
    assert dict(spec.geometric_terms) == {"corner_weight": 0.25, "combine": "min", "k_edges": 16,
                                          "corners": False, "corner_rounds": 0}
    engine = Simulator(twin3d.load_scene(path)).mapper.ctx.engine
    assert engine.terms == {**DEFAULT_TERMS, "corner_weight": 0.25, "combine": "min",
                            "k_edges": 16, "corners": False, "corner_rounds": 0}


@pytest.mark.parametrize("radio, field, words", [
    ('[radio.geometric]\ncorner_wieght = 0.3', "corner_wieght", ["unknown key", "corner_weight"]),
    ('[radio.geometric]\ncombine = "max"', "combine", ["must be one of min, sum"]),
    ('[radio.geometric]\nk_edges = 0', "k_edges", ["[1, 256]"]),
    ('[radio.geometric]\ncorners = 1', "corners", ["must be bool"]),
    ('[radio.geometric]\ncorner_rounds = -1', "corner_rounds", ["[0, 4096]"]),
    ('[radio.geometric]\nreflection_slabs = 9', "reflection_slabs", ["[0, 8]"]),
    ('[radio.geometric]\nreflection_inside = 1', "reflection_inside", ["must be bool"]),
    ('[radio.geometric]\ncorner_slabs = -1', "corner_slabs", ["[0, 8]"]),
    ('model = "UMa"\n[radio.geometric]\ncorner_weight = 0.3', "corner_weight",
     ['only with model = "geometric"']),
])
def test_bad_geometric_terms_name_the_file_table_and_field(tmp_path, radio, field, words):
    from twin3d.errors import InputError
    with pytest.raises(InputError) as e:
        twin3d.load_scene(write_block_scene(tmp_path, radio))
    msg = str(e.value)
    assert "\n" not in msg and "scene.toml" in msg and "[radio.geometric]" in msg, msg
    assert f"'{field}'" in msg and all(w in msg for w in words), msg


def test_the_viewer_legend_names_the_model(tmp_path):
    from pxr import Usd

    from twin3d.usd.signal import write_signal_layer
    from twin3d.viz.legend import mesh_legend
    twin = block_twin()
    rm = radio_map(twin, model="UMa", grid_m=20.0, bounds=BOUNDS)
    stage = Usd.Stage.Open(str(write_signal_layer(twin, rm, tmp_path / "s.usdc")))
    assert stage.GetPrimAtPath("/World/Signal").GetAttribute("twin:radio_model").Get() == "UMa"
    assert mesh_legend(stage.GetPrimAtPath("/World/Signal/RSRP")).title == "RSRP (UMa)"
    assert mesh_legend(stage.GetPrimAtPath("/World/Signal/BestServer")).title == "BestServer (UMa)"
