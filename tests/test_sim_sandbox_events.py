"""The SANDBOX event kinds (SANDBOX.md section 2), [sla] (section 3) and spare
capacity (section 8), each on a small scene worked by hand."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from pxr import Sdf

import twin3d
from twin3d.errors import InputError
from twin3d.physics.energy import EARTH
from twin3d.sim.engine import Simulator, simulate
from twin3d.usd.scenario import write_scenario_layer

from conftest import ROOT, feature_collection, write_cascade_scene


def _with_scenario(path, events: str, steps: int = 4, extra: str = "", demand: str | None = None,
                   trip: float | None = None):
    """The cascade scene with its scenario replaced (events as TOML inline tables)."""
    text = path.read_text()
    text = text[:text.index("[[scenario]]")]
    if trip is not None:
        text = text.replace("trip_utilization = 1.2", f"trip_utilization = {trip}")
    text += extra + f'\n[[scenario]]\nname = "x"\nsteps = {steps}\nprofile = "flat"\nevents = [{events}]\n'
    path.write_text(text)
    if demand is not None:
        (path.parent / "demands.csv").write_text(f"src,dst,demand_bps\nA,B,{demand}\n")
    return path


@pytest.fixture
def cascade(tmp_path):
    return write_cascade_scene(tmp_path)


def loads(step, res):
    return dict(zip(res.link_ids, step.link_load_bps))


def utils(step, res):
    return dict(zip(res.link_ids, step.link_util))


# -- set_weight ---------------------------------------------------------------

def test_set_weight_moves_the_ecmp_split(cascade):
    # hops: A-B direct is 1, both two-hop branches 2. Weight 2 on AB ties all three
    # paths: A splits 9 G in three. Then weight 3 on AD leaves AB and A-C-B: 4.5 each.
    _with_scenario(cascade, '{ t = 1, kind = "set_weight", link = "AB", weight = 2 },'
                            '{ t = 2, kind = "set_weight", link = "AD", weight = 3 },'
                            '{ t = 3, kind = "restore", target = "AB" }')
    res = simulate(twin3d.load_scene(cascade))["x"]
    s0, s1, s2, s3 = res.steps
    assert loads(s0, res)["AB"] == pytest.approx(9e9) and loads(s0, res)["AC"] == 0
    l1 = loads(s1, res)
    assert [l1[k] for k in ("AB", "AC", "CB", "AD", "DB")] == pytest.approx([3e9] * 5)
    assert utils(s1, res)["AD"] == pytest.approx(1.0) and s1.waves == []
    l2 = loads(s2, res)
    assert [l2[k] for k in ("AB", "AC", "CB", "AD", "DB")] == pytest.approx([4.5e9, 4.5e9, 4.5e9, 0, 0])
    # restore undoes failures only: the weights stay
    assert loads(s3, res) == pytest.approx(l2)
    w = dict(zip(res.link_ids, s2.link_weight))
    assert w == {"AB": 2.0, "AC": 1.0, "CB": 1.0, "AD": 3.0, "DB": 1.0}
    assert "set_weight AB weight 2" in s1.events


def test_set_weight_in_the_metric_unit(cascade):
    # metric = "weight": every link's weight attribute; a set_weight replaces it
    links = cascade.parent / "links.geojson"
    fc = json.loads(links.read_text())
    for f in fc["features"]:
        f["properties"]["weight"] = 10.0 if f["properties"]["id"] == "AB" else 4.0
    links.write_text(json.dumps(fc))
    text = cascade.read_text().replace('metric = "hops"', 'metric = "weight"')
    cascade.write_text(text)
    _with_scenario(cascade, '{ t = 1, kind = "set_weight", link = "AB", weight = 8 }', steps=2,
                   demand="6e9")
    res = simulate(twin3d.load_scene(cascade))["x"]
    s0, s1 = res.steps        # 10 > 8 = 4 + 4: both branches; then 8 = 8: three-way tie
    assert loads(s0, res)["AB"] == 0 and loads(s0, res)["AC"] == pytest.approx(3e9)
    assert loads(s1, res)["AB"] == pytest.approx(2e9) and loads(s1, res)["AD"] == pytest.approx(2e9)


def test_router_weight_override_is_per_call():
    import networkx as nx
    from twin3d.physics.transport import Router
    g = nx.MultiGraph()
    for k, a, b in (("AB", "A", "B"), ("AC", "A", "C"), ("CB", "C", "B")):
        g.add_edge(a, b, key=k)
    r = Router(g)
    lw = {l: 1.0 for l in r.links}
    lw["AB"] = 3.0
    res = r.route({("A", "B"): 6.0}, weight=np.array([lw[l] for l in r.links]), latency=False)
    per = dict(zip(r.edge_keys, res.load_bps))
    assert per[("A", "C", "AC")] == 6.0 and per[("A", "B", "AB")] == 0.0
    again = dict(zip(r.edge_keys, r.route({("A", "B"): 6.0}, latency=False).load_bps))
    assert again[("A", "B", "AB")] == 6.0
    with pytest.raises(ValueError):
        r.route({("A", "B"): 6.0}, weight=np.array([1.0, 0.0, 1.0]))


# -- capacity -------------------------------------------------------------------

def test_capacity_events_compose_in_order(cascade):
    links = cascade.parent / "links.geojson"
    fc = json.loads(links.read_text())
    fc["features"][0]["properties"]["spare_capacity_bps"] = 2e9      # AB
    links.write_text(json.dumps(fc))
    _with_scenario(cascade, '{ t = 1, kind = "degrade_capacity", link = "AB", factor = 0.5 },'
                            '{ t = 2, kind = "set_capacity", link = "AB", capacity_bps = 8e9 },'
                            '{ t = 3, kind = "activate_spare", link = "AB" },'
                            '{ t = 4, kind = "activate_spare", link = "AB" },'
                            '{ t = 4, kind = "restore", target = "AB" }', steps=5, demand="4e9")
    scene = twin3d.load_scene(cascade)
    assert scene.twin.links["AB"].spare_capacity_bps == 2e9
    assert "spare_capacity_bps" not in scene.twin.links["AB"].attrs
    res = simulate(scene)["x"]
    cap = [dict(zip(res.link_ids, s.link_capacity_bps))["AB"] for s in res.steps]
    assert cap == [10e9, 5e9, 8e9, 10e9, 10e9]     # a spare is added once; restore keeps it
    u = [utils(s, res)["AB"] for s in res.steps]
    assert u == pytest.approx([0.4, 0.8, 0.5, 0.4, 0.4])
    assert u[1] == pytest.approx(2 * u[0])         # half the capacity, twice the utilization
    assert all(s.waves == [] for s in res.steps)


def test_activate_spare_needs_a_spare(cascade):
    _with_scenario(cascade, '{ t = 1, kind = "activate_spare", link = "AB" }')
    with pytest.raises(InputError, match="no spare_capacity_bps"):
        twin3d.load_scene(cascade)


def test_negative_spare_is_rejected(cascade):
    links = cascade.parent / "links.geojson"
    fc = json.loads(links.read_text())
    fc["features"][0]["properties"]["spare_capacity_bps"] = -1
    links.write_text(json.dumps(fc))
    with pytest.raises(InputError, match="spare_capacity_bps"):
        twin3d.load_scene(cascade)


# -- bad input: one line, exit 2 ----------------------------------------------

BAD_EVENTS = [
    ('{ t = 1, kind = "set_weight", link = "XX", weight = 2 }', "unknown link 'XX'"),
    ('{ t = 1, kind = "set_weight", link = "AB", weight = 0 }', "must be > 0"),
    ('{ t = 1, kind = "set_weight", link = "AB" }', "is missing"),
    ('{ t = 1, kind = "set_weight", target = "AB", weight = 2 }', "not a key of a set_weight"),
    ('{ t = 1, kind = "degrade_capacity", link = "AB", factor = 1.0 }', "must be < 1"),
    ('{ t = 1, kind = "set_capacity", link = "AB", capacity_bps = -5 }', "must be > 0"),
    ('{ t = 1, kind = "cell_sleep", cell = "A" }', "'<site id>/<k>'"),
    ('{ t = 1, kind = "cell_sleep", cell = "A/1" }', "has 0 cell"),
    ('{ t = 1, kind = "sector", site = "A", sector = 1 }', "any of tilt_deg"),
    ('{ t = 1, kind = "static_route", at = "A", dst = "B", next_hop = "Z" }', "unknown site 'Z'"),
    ('{ t = 1, kind = "static_route", at = "C", dst = "B", next_hop = "D" }', "not a neighbour"),
    ('{ t = 1, kind = "acl", at = "A", src = "*", dst = "B", action = "allow" }', 'must be "deny"'),
    ('{ t = 1, kind = "shed", src = "A", dst = "B", factor = 1.5 }', "must be <= 1"),
    ('{ t = 1, kind = "shed", src = "A", dst = "A", factor = 0.5 }', "src and dst must differ"),
    ('{ t = 1, kind = "shed", src = "A", dst = "Q", factor = 0.5 }', "unknown site 'Q'"),
    ('{ t = 1, kind = "shed", src = "A", dst = "B", factor = 0.5, duration = 0 }', "must be >= 1 step"),
]


def _assert_one_line_exit_2(res, words):
    assert res.returncode == 2, res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and words in lines[0] and "event 1" in lines[0], res.stderr
    assert "Traceback" not in res.stderr


@pytest.mark.parametrize("event, words", BAD_EVENTS)
def test_bad_events_exit_2_with_one_line(cascade, cli_in_process, event, words):
    _with_scenario(cascade, event)
    _assert_one_line_exit_2(cli_in_process("simulate", cascade), words)


def test_a_bad_event_exits_2_with_one_line_from_python_m_twin3d(cascade):
    """The same through ``python -m twin3d``, in a process of its own."""
    event, words = BAD_EVENTS[0]
    _with_scenario(cascade, event)
    _assert_one_line_exit_2(subprocess.run([sys.executable, "-m", "twin3d", "simulate", str(cascade)],
                                           cwd=ROOT, capture_output=True, text=True, timeout=300), words)


def test_bad_sla_keys(cascade):
    for extra, words in (("[sla]\nutil_maxx = 1\n", "unknown key"),
                         ("[sla]\nutil_max = 0\n", "must be > 0"),
                         ("[sla]\ndropped_fraction_max = 2\n", "must be <= 1")):
        _with_scenario(write_cascade_scene(cascade.parent), "", extra=extra)
        with pytest.raises(InputError, match=words):
            twin3d.load_scene(cascade)


# -- [sla] ----------------------------------------------------------------------

def test_sla_violations_counted(cascade):
    # 9 G on AB (10 G): util 0.9 is not > 0.9. The cut at 1 puts 4.5 G on each branch:
    # D's spans 1.5 (> 1.2 trips), then C's 1.5 trips too: all dropped -> breach.
    # util_max = 0.95 is given, so step 3 (restored, 0.9) passes; step 2 breaches (all down).
    _with_scenario(write_cascade_scene(cascade.parent),
                   '{ t = 1, kind = "fiber_cut", target = "AB" }, { t = 3, kind = "restore", target = "AB" }',
                   extra="[sla]\nutil_max = 0.95\n")
    scene = twin3d.load_scene(cascade)
    assert scene.spec.sla.util_max == 0.95 and scene.spec.sla.latency_p95_ms == 50.0
    res = simulate(scene)["x"]
    assert [s.kpis["sla_violated"] for s in res.steps] == [False, True, True, False]
    j = res.kpi_json()
    assert j["sla_violation_steps"] == 2 and j["sla_minutes"] == pytest.approx(2 * 3600 / 60)
    assert [s["sla_violated"] for s in j["steps"]] == [False, True, True, False]


def test_sla_defaults_and_utilization_bound(cascade):
    # default util_max 0.9: 0.9 is not a breach; degrade AB to 0.95 x -> 0.947 is
    _with_scenario(cascade, '{ t = 1, kind = "degrade_capacity", link = "AB", factor = 0.95 }', steps=2)
    res = simulate(twin3d.load_scene(cascade))["x"]
    assert [s.kpis["sla_violated"] for s in res.steps] == [False, True]
    assert res.sla_minutes == pytest.approx(60.0)


def test_sla_latency_bound(cascade):
    # A-B is about 5.6 km of fibre: ~27 us; a 0.01 ms bound is breached at every step
    _with_scenario(cascade, "", steps=2, extra="[sla]\nlatency_p95_ms = 0.01\n")
    res = simulate(twin3d.load_scene(cascade))["x"]
    assert res.sla_violation_steps == 2


# -- cells: cell_sleep, sector ----------------------------------------------------

RADIO_TOML = """
[scene]
name = "one-macro"
[[source]]
path = "sites.geojson"
role = "sites"
[[source]]
path = "links.geojson"
role = "links"
[radio]
grid_m = 20
[traffic]
busy_hour_bps = 0
core = "CO"
[[scenario]]
name = "x"
steps = 4
profile = "flat"
events = [EVENTS]
"""


def _radio_scene(folder, events: str, p_tx_dbm: float = 46.0):
    (folder / "sites.geojson").write_text(feature_collection([
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [24.9440, 60.1700]},
         "properties": {"id": "CO", "kind": "central_office"}},
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [24.9400, 60.1710]},
         "properties": {"id": "S1", "kind": "macro", "height_m": 25.0, "tilt_deg": 4.0,
                        "p_tx_dbm": p_tx_dbm,
                        "sectors": [{"azimuth_deg": a} for a in (0, 120, 240)]}}]))
    (folder / "links.geojson").write_text(feature_collection([
        {"type": "Feature", "geometry": None,
         "properties": {"id": "F-1", "a": "CO", "b": "S1", "capacity_bps": 10e9}}]))
    (folder / "radio.toml").write_text(RADIO_TOML.replace("EVENTS", events))
    return folder / "radio.toml"


def test_cell_sleep_lowers_coverage_and_power(tmp_path):
    scene = twin3d.load_scene(_radio_scene(
        tmp_path, '{ t = 1, kind = "cell_sleep", cell = "S1/2", duration = 2 }', p_tx_dbm=20.0))
    # at 20 dBm the other cells' back lobes do not reach -110 dBm RSRP behind them
    sim = Simulator(scene)
    res = sim.run(scene.spec.scenarios[0])
    s0, s1, s2, s3 = res.steps
    # no demand: every cell idles. One macro cell = 2 TRX: P0 130 W awake, P_sleep 75 W asleep
    m = EARTH["macro"]
    p = [s.site_power_w[res.site_ids.index("S1")] for s in res.steps]
    assert p[0] == pytest.approx(6 * m["p0_w"])
    assert p[0] - p[1] == pytest.approx(2 * (m["p0_w"] - m["p_sleep_w"]))      # 110 W
    assert p == pytest.approx([p[0], p[1], p[1], p[0]])        # sleeps 2 steps
    assert s1.kpis["coverage_pct"] < s0.kpis["coverage_pct"]
    assert s3.kpis["coverage_pct"] == s0.kpis["coverage_pct"]
    # the site keeps routing and stays up; only the cell is silent
    assert s1.site_state == s0.site_state and s1.cell_sleep == {"S1/2"}
    rm = res.radio_maps[s1.radio_key]
    assert rm.cell_active.tolist() == [True, False, True]
    assert s1.radio_key == s2.radio_key != s0.radio_key == s3.radio_key
    assert not np.isin(rm.best_server, [1]).any()
    # USD: the cell state is sampled on the site
    path = write_scenario_layer(scene.twin, res, tmp_path / "x.usdc")
    layer = Sdf.Layer.FindOrOpen(str(path))
    attr = layer.GetAttributeAtPath("/World/Network/Sites/S1.twin:cell_state")
    assert [list(layer.QueryTimeSample(attr.path, t)) for t in range(4)] == [
        ["up", "up", "up"], ["up", "sleep", "up"], ["up", "sleep", "up"], ["up", "up", "up"]]
    assert layer.GetAttributeAtPath("/World/Network/Sites/CO.twin:cell_state") is None


def _gain(phi, theta, tilt):
    a_h = -min(12 * (phi / 65.0) ** 2, 30.0)
    a_v = -min(12 * ((theta - 90.0 - tilt) / 65.0) ** 2, 30.0)
    return -min(-(a_h + a_v), 30.0) + 8.0


def test_sector_tilt_and_power_change_rsrp_by_the_pattern(tmp_path):
    scene = twin3d.load_scene(_radio_scene(
        tmp_path, '{ t = 1, kind = "sector", site = "S1", sector = 1, tilt_deg = 20 },'
                  '{ t = 2, kind = "sector", site = "S1", sector = 1, p_tx_dbm = 40 }'))
    twin = scene.twin
    c1 = twin.sites["S1"].cells[0]
    assert c1.tilt_deg == 4.0 and c1.azimuth_deg == 0.0
    res = Simulator(scene).run(scene.spec.scenarios[0])
    m0, m1, m2 = (res.radio_maps[s.radio_key] for s in res.steps[:3])
    assert len({s.radio_key for s in res.steps}) == 3
    # a point 200 m north of the site: cell 1 (azimuth 0) serves it in every map
    xs, ys = m0.grid.centers()
    ant = twin.sites["S1"].antenna_xyz_m
    ix = int(np.argmin(np.abs(xs - ant[0])))
    iy = int(np.argmin(np.abs(ys - (ant[1] + 200.0))))
    assert m0.best_server[iy, ix] == m1.best_server[iy, ix] == 0
    dx, dy = xs[ix] - ant[0], ys[iy] - ant[1]
    phi = np.degrees(np.arctan2(dx, dy))
    ue_z = twin.sites["S1"].xyz_m[2] + scene.spec.radio.ue_height_m
    theta = 90.0 + np.degrees(np.arctan2(ant[2] - ue_z, np.hypot(dx, dy)))
    want = _gain(phi, theta, 20.0) - _gain(phi, theta, 4.0)
    assert abs(want) > 0.1
    assert m1.rsrp_dbm[iy, ix] - m0.rsrp_dbm[iy, ix] == pytest.approx(want, abs=1e-3)
    # then +p dB of power on top: the tilt stays
    assert m2.rsrp_dbm[iy, ix] - m1.rsrp_dbm[iy, ix] == pytest.approx(40.0 - c1.p_tx_dbm, abs=1e-3)
    # cells other than S1/1 are unchanged
    assert np.array_equal(m0.rx_dbm[1], m1.rx_dbm[1])
    assert res.steps[2].cell_params == {"S1/1": {"tilt_deg": 20.0, "p_tx_dbm": 40.0}}
    path = write_scenario_layer(twin, res, tmp_path / "x.usdc")
    layer = Sdf.Layer.FindOrOpen(str(path))
    attr = layer.GetAttributeAtPath("/World/Network/Sites/S1.twin:cell_tilt_deg")
    assert [list(layer.QueryTimeSample(attr.path, t)) for t in range(3)] == [
        [4.0, 4.0, 4.0], [20.0, 4.0, 4.0], [20.0, 4.0, 4.0]]


def test_cell_events_need_cells(cascade):
    _with_scenario(cascade, '{ t = 1, kind = "sector", site = "A", sector = 1, tilt_deg = 3 }')
    with pytest.raises(InputError, match="has 0 cell"):
        twin3d.load_scene(cascade)


def test_weight_sampled_in_usd(cascade, tmp_path):
    _with_scenario(cascade, '{ t = 1, kind = "set_weight", link = "AB", weight = 2 }', steps=3)
    scene = twin3d.load_scene(cascade)
    res = simulate(scene)["x"]
    path = write_scenario_layer(scene.twin, res, tmp_path / "w.usdc")
    layer = Sdf.Layer.FindOrOpen(str(path))
    attr = layer.GetAttributeAtPath("/World/Network/Links/AB.twin:weight")
    assert [layer.QueryTimeSample(attr.path, t) for t in range(3)] == [1.0, 2.0, 2.0]
    assert layer.GetAttributeAtPath("/World/Network/Links/AC.twin:weight") is None


def test_timeline_capacity_needs_a_base():
    from twin3d.scene import EventSpec, ScenarioSpec
    from twin3d.sim.events import Timeline
    sc = ScenarioSpec("c", steps=2, events=(EventSpec(1, "set_capacity", link="F1", capacity_bps=1e9),))
    with pytest.raises(ValueError, match="link_capacity_bps"):
        Timeline(sc, ["F1"], [])
    tl = Timeline(sc, ["F1"], [], link_capacity_bps={"F1": 4e9})
    assert [tl.state(t).capacity_bps["F1"] for t in range(2)] == [4e9, 1e9]
    assert tl.state(1).capacity_factor["F1"] == 0.25
