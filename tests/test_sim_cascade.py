"""A cascade worked by hand: one cut overloads and trips links in two waves."""

from __future__ import annotations

import json

import pytest

import twin3d
from twin3d.sim.engine import simulate

from conftest import write_cascade_scene

@pytest.fixture
def scene_path(tmp_path):
    return write_cascade_scene(tmp_path)


def test_cut_trips_two_waves_and_replays(scene_path):
    res = simulate(twin3d.load_scene(scene_path))["cut"]
    ids = res.link_ids
    s0, s1, s2, s3 = res.steps
    # before the cut: all 9 Gbit/s on the direct link, 0.9 utilization
    assert s0.waves == [] and s0.link_load_bps[ids.index("AB")] == pytest.approx(9e9)
    assert s0.kpis["util_max"] == pytest.approx(0.9)
    # the cut: ECMP puts 4.5 on each two-hop branch; D's spans (3 G) reach 1.5 > 1.2
    # and trip; then 9 G on C's spans (6 G) is 1.5 and they trip too
    assert [w["wave"] for w in s1.waves] == [1, 2]
    assert sorted(s1.waves[0]["tripped"]) == ["AD", "DB"]
    assert s1.waves[0]["utilization"] == {"AD": 1.5, "DB": 1.5}
    assert s1.waves[0]["caused_by"] == ["fiber_cut AB"]
    assert sorted(s1.waves[1]["tripped"]) == ["AC", "CB"]
    assert s1.waves[1]["utilization"] == {"AC": 1.5, "CB": 1.5}
    assert sorted(s1.waves[1]["caused_by"]) == ["AD", "DB"]
    states = dict(zip(ids, s1.link_state))
    assert states == {"AB": "cut", "AC": "tripped", "CB": "tripped", "AD": "tripped", "DB": "tripped"}
    assert s1.kpis["dropped_bps"] == pytest.approx(9e9) and s1.kpis["served_bps"] == 0
    assert s1.kpis["failed_elements"] == 5
    # tripped links stay down until restored; the restored direct link carries it all again
    assert s2.waves == [] and dict(zip(ids, s2.link_state))["AC"] == "tripped"
    assert dict(zip(ids, s3.link_state)) == {"AB": "up", "AC": "tripped", "CB": "tripped",
                                             "AD": "tripped", "DB": "tripped"}
    assert s3.kpis["served_bps"] == pytest.approx(9e9)
    # no load on any failed link
    for step in res.steps:
        for i, st in enumerate(step.link_state):
            if st != "up":
                assert step.link_load_bps[i] == 0.0


def test_higher_threshold_stops_the_cascade(scene_path):
    text = scene_path.read_text().replace("trip_utilization = 1.2", "trip_utilization = 1.6")
    scene_path.write_text(text)
    s1 = simulate(twin3d.load_scene(scene_path))["cut"].steps[1]
    assert s1.waves == []
    assert s1.kpis["util_max"] == pytest.approx(1.5)
    # tail drop: A-D is offered 4.5 G and passes 3; D-B then gets exactly its 3 G,
    # so 1.5 G is lost in all (not 1.5 G per span)
    assert s1.kpis["dropped_bps"] == pytest.approx(1.5e9)
    assert s1.kpis["served_bps"] == pytest.approx(7.5e9)


def test_add_capacity_prevents_the_trips(scene_path):
    text = scene_path.read_text().replace(
        'events = [{ t = 1, kind = "fiber_cut", target = "AB" }',
        'events = [{ t = 0, kind = "add_capacity", target = "AD", factor = 2.0 }, '
        '{ t = 0, kind = "add_capacity", target = "DB", factor = 2.0 }, '
        '{ t = 1, kind = "fiber_cut", target = "AB" }')
    scene_path.write_text(text)
    s1 = simulate(twin3d.load_scene(scene_path))["cut"].steps[1]
    # D's spans now hold 6 G: 4.5 on each branch is 0.75 of C's and of D's spans
    assert s1.waves == [] and s1.kpis["util_max"] == pytest.approx(0.75)
    assert s1.kpis["served_bps"] == pytest.approx(9e9)


def test_planned_site_added_and_power_outage(scene_path, tmp_path):
    sites = json.loads((tmp_path / "sites.geojson").read_text())
    for f in sites["features"]:
        if f["properties"]["id"] == "C":
            f["properties"]["state"] = "down"          # planned, not built yet
    (tmp_path / "sites.geojson").write_text(json.dumps(sites))
    text = scene_path.read_text().replace(
        'events = [{ t = 1, kind = "fiber_cut", target = "AB" }, { t = 3, kind = "restore", target = "AB" }]',
        'events = [{ t = 1, kind = "add_site", target = "C" }, { t = 2, kind = "power_outage", target = "C" }]')
    text = text.replace("trip_utilization = 1.2", "trip_utilization = 9.0")
    scene_path.write_text(text)
    res = simulate(twin3d.load_scene(scene_path))["cut"]
    c = res.site_ids.index("C")
    assert [s.site_state[c] for s in res.steps] == ["down", "up", "off", "off"]
    # with the direct link up, all traffic stays on it whatever C does
    assert all(s.kpis["served_bps"] == pytest.approx(9e9) for s in res.steps)
    assert res.steps[0].kpis["failed_elements"] == 1 and res.steps[1].kpis["failed_elements"] == 0


def test_a_restored_link_trips_again(scene_path):
    # cut AB (its detours trip), restore everything, cut AB again: the detours
    # must trip again at t = 3 and stay tripped, without replaying the waves
    text = scene_path.read_text().replace("steps = 4", "steps = 6").replace(
        'events = [{ t = 1, kind = "fiber_cut", target = "AB" }, { t = 3, kind = "restore", target = "AB" }]',
        'events = [{ t = 1, kind = "fiber_cut", target = "AB" }, '
        + ", ".join(f'{{ t = 2, kind = "restore", target = "{l}" }}' for l in ("AB", "AC", "CB", "AD", "DB"))
        + ', { t = 3, kind = "fiber_cut", target = "AB" }]')
    scene_path.write_text(text)
    res = simulate(twin3d.load_scene(scene_path))["cut"]
    detours = {"AC": "tripped", "CB": "tripped", "AD": "tripped", "DB": "tripped"}
    expected = [{"AB": "up", **dict.fromkeys(detours, "up")},
                {"AB": "cut", **detours},
                {"AB": "up", **dict.fromkeys(detours, "up")},
                {"AB": "cut", **detours},
                {"AB": "cut", **detours},
                {"AB": "cut", **detours}]
    for t, step in enumerate(res.steps):
        assert dict(zip(res.link_ids, step.link_state)) == expected[t], t
    assert [len(s.waves) for s in res.steps] == [0, 2, 0, 2, 0, 0]
    served = [s.kpis["served_bps"] for s in res.steps]
    assert served == pytest.approx([9e9, 0.0, 9e9, 0.0, 0.0, 0.0])
