"""The change guard (issue 11, part 2): hand-built changes with known verdicts.

Scenes: the 4-node ring of envs_scenes (A-B-C-D-A, C-D thin) and a
three-path diamond (A-B direct, and A-X-B for X in C, D, E).
"""

from __future__ import annotations

import json

import pytest

from conftest import write_link_scene
from envs_scenes import RING_TOML, write_ring_scene

from guard_walk import expected_pairs, random_changes
from twin3d.cli import main
from twin3d.errors import InputError
from twin3d.guard import check, changes_from_text
from twin3d.loader import load_scene


def _cli(capsys, *args):
    try:
        main([str(a) for a in args])
        code = 0
    except SystemExit as exc:
        code = exc.code
    got = capsys.readouterr()
    return code, got.out, got.err


def _change(tmp_path, text, name="change.toml"):
    p = tmp_path / name
    p.write_text(text)
    return p


def _ring(tmp_path, extra=""):
    path = write_ring_scene(tmp_path)
    if extra:
        path.write_text(path.read_text() + extra)
    return load_scene(path)


def _run(scene, text, **kw):
    return check(scene, changes_from_text(text, scene), **kw)


LOOP = """
[[change]]
kind = "static_route"
at = "A"
dst = "C"
next_hop = "B"
[[change]]
kind = "static_route"
at = "B"
dst = "C"
next_hop = "A"
"""


def test_two_static_routes_at_each_other_loop(tmp_path):
    r = _run(_ring(tmp_path), LOOP, n1=False)
    assert r["verdict"] == "fail"
    loops = r["checks"]["loop"]["violations"]
    assert {(v["src"], v["dst"]) for v in loops} == {("A", "C"), ("B", "C")}
    assert all(v["cycle"] == ["A", "B"] and v["new"] for v in loops)
    assert not r["checks"]["loop"]["ok"]
    lost = {(v["src"], v["dst"]) for v in r["checks"]["reachability"]["violations"]}
    assert lost == {("A", "C"), ("B", "C")}


def test_static_route_to_a_non_neighbour_is_bad_input(tmp_path, capsys):
    scene = write_ring_scene(tmp_path)
    ch = _change(tmp_path, '[[change]]\nkind = "static_route"\nat = "A"\ndst = "C"\nnext_hop = "C"\n')
    code, out, err = _cli(capsys, "check", scene, "--change", ch)
    assert code == 2
    assert err.count("\n") == 1
    assert "[[change]] 1 (static_route)" in err and "next_hop" in err and "neighbour" in err


def test_static_route_over_a_down_link_black_holes_at_that_node(tmp_path):
    text = LOOP.split("[[change]]")[1]
    r = _run(_ring(tmp_path), '[[change]]\nkind = "link_state"\nlink = "AB"\nstate = "down"\n'
             "[[change]]" + text, n1=False)
    bh = [v for v in r["checks"]["black_hole"]["violations"] if v["new"]]
    assert [(v["src"], v["dst"], v["at"]) for v in bh] == [("A", "C", "A")]
    assert r["verdict"] == "fail"


def test_weight_change_onto_a_thin_link_fails_the_sla(tmp_path):
    # trip at 80 %: with D-A priced out, C-D (7 Gbit/s) carries 6 Gbit/s each way
    path = write_ring_scene(tmp_path)
    path.write_text(path.read_text().replace("trip_utilization = 1.2", "trip_utilization = 0.8"))
    r = _run(load_scene(path), '[[change]]\nkind = "link_weight"\nlink = "DA"\nweight = 10\n',
             n1=False)
    sla = r["checks"]["sla"]
    assert not sla["ok"] and r["verdict"] == "fail"
    v = next(v for v in sla["violations"] if v["kind"] == "utilization")
    assert (v["link"], v["step"], v["hour"]) == ("CD", 0, 21.0)
    assert v["util"] == pytest.approx(6 / 7, abs=1e-3) and v["util_before"] < 0.8
    assert r["checks"]["loop"]["ok"] and r["checks"]["black_hole"]["ok"]


DIAMOND_SITES = {"A": (24.90, 60.20), "B": (25.00, 60.20), "C": (24.95, 60.25),
                 "D": (24.95, 60.15), "E": (24.95, 60.10)}
DIAMOND_LINKS = [("AB", "A", "B", 10e9)] + [(f"{a}{b}", a, b, 6e9) for x in "CDE"
                                            for a, b in (("A", x), (x, "B"))]


def _diamond(tmp_path, routing):
    toml = RING_TOML.replace('routing = "ecmp"', f'routing = "{routing}"')
    return load_scene(write_link_scene(tmp_path, DIAMOND_SITES, DIAMOND_LINKS,
                                       "src,dst,demand_bps\nA,B,8e9\n", toml, f"d_{routing}.toml"))


@pytest.mark.parametrize("routing, verdict", [("ecmp", "pass"), ("spf", "fail")])
def test_a_change_only_safe_because_of_ecmp(tmp_path, routing, verdict):
    # A-B priced at 3 hops: 8 Gbit/s moves to the three 2-hop paths of 6 Gbit/s;
    # ECMP splits it (44 %, 67 % after any one failure), SPF puts it on one (133 %)
    r = _run(_diamond(tmp_path, routing), '[[change]]\nkind = "link_weight"\nlink = "AB"\nweight = 3\n')
    assert r["verdict"] == verdict, r["checks"]
    if verdict == "fail":
        assert [v["kind"] for v in r["checks"]["sla"]["violations"]][:1] == ["utilization"]


def test_a_harmless_change_passes_with_exit_0_and_json(tmp_path, capsys):
    scene = write_ring_scene(tmp_path)
    ch = _change(tmp_path, '[[change]]\nkind = "capacity"\nlink = "CD"\ncapacity_bps = 20e9\n')
    out_json = tmp_path / "out" / "report.json"
    code, out, err = _cli(capsys, "check", scene, "--change", ch, "--json", out_json)
    assert code == 0, out + err
    assert "verdict: PASS" in out
    r = json.loads(out_json.read_text())
    assert r["verdict"] == "pass"
    assert list(r["checks"]) == ["loop", "black_hole", "reachability", "n1", "sla", "coverage"]
    for c in r["checks"].values():
        assert isinstance(c["ok"], bool) and isinstance(c["violations"], list)
    assert r["checks"]["n1"]["survived_before"] > 0
    assert set(r["provenance"]) >= {"twin3d_version", "scene_sha256", "seed", "command"}
    assert list(out_json.parent.iterdir()) == [out_json]        # no temporary file left


def test_failing_change_exits_1_and_still_writes_json(tmp_path, capsys):
    scene = write_ring_scene(tmp_path)
    ch = _change(tmp_path, LOOP)
    out_json = tmp_path / "r.json"
    code, out, _ = _cli(capsys, "check", scene, "--change", ch, "--json", out_json)
    assert code == 1 and "verdict: FAIL" in out and "loop A -> B -> A" in out
    v = json.loads(out_json.read_text())["checks"]["loop"]["violations"][0]
    assert set(v) == {"src", "dst", "cycle", "new"}


@pytest.mark.parametrize("body, field", [
    ('kind = "link_weight"\nlink = "AB"\nweight = 2\ncolour = "red"\n', "colour"),
    ('kind = "link_weight"\nlink = "ZZ"\nweight = 2\n', "link"),
    ('kind = "link_weight"\nlink = "AB"\nweight = 0\n', "weight"),
    ('kind = "link_weight"\nlink = "AB"\nweight = -1.5\n', "weight"),
    ('kind = "link_state"\nlink = "AB"\nstate = "flapping"\n', "state"),
    ('kind = "site_state"\nsite = "A"\nstate = "sleep"\n', "state"),
    ('kind = "acl"\nat = "A"\nsrc = "*"\ndst = "B"\naction = "permit"\n', "action"),
])
def test_bad_change_files_exit_2_with_one_line(tmp_path, capsys, body, field):
    scene = write_ring_scene(tmp_path)
    ch = _change(tmp_path, "[[change]]\n" + body)
    code, out, err = _cli(capsys, "check", scene, "--change", ch)
    assert code == 2, out + err
    assert err.count("\n") == 1 and err.startswith("error: ")
    assert "change.toml: [[change]] 1 (" in err and f"field '{field}'" in err


def test_unknown_kind_and_empty_file_are_bad_input(tmp_path, capsys):
    scene = write_ring_scene(tmp_path)
    for text in ('[[change]]\nkind = "reboot"\n', "", 'change = 3\n', "[[change]\n"):
        code, _, err = _cli(capsys, "check", scene, "--change", _change(tmp_path, text))
        assert code == 2 and err.count("\n") == 1, (text, err)


def test_pre_existing_loops_are_reported_and_do_not_fail(tmp_path):
    extra = """
[[scenario]]
name = "misrouted"
steps = 2
profile = "flat"
events = [{ t = 0, kind = "static_route", at = "A", dst = "C", next_hop = "B" },
          { t = 0, kind = "static_route", at = "B", dst = "C", next_hop = "A" }]
"""
    scene = _ring(tmp_path, extra)
    r = _run(scene, '[[change]]\nkind = "capacity"\nlink = "AB"\ncapacity_bps = 20e9\n',
             scenario="misrouted")
    loops = r["checks"]["loop"]["violations"]
    assert {(v["src"], v["dst"], v["new"]) for v in loops} == {("A", "C", False), ("B", "C", False)}
    assert r["checks"]["loop"]["ok"] and r["verdict"] == "pass", r["checks"]
    assert r["checks"]["sla"]["steps"] == 2 and r["scenario"] == "misrouted"


def test_unknown_scenario_is_bad_input(tmp_path, capsys):
    scene = write_ring_scene(tmp_path)
    ch = _change(tmp_path, '[[change]]\nkind = "capacity"\nlink = "AB"\ncapacity_bps = 20e9\n')
    code, _, err = _cli(capsys, "check", scene, "--change", ch, "--scenario", "nope")
    assert code == 2 and "no scenario named 'nope'" in err


def test_n1_flags_a_failure_the_change_no_longer_survives(tmp_path):
    # A sends C's traffic via B. Without the change the ring survives a cut of B-C;
    # with it, B's IGP route to C goes back through A, whose static route returns
    # it to B: a loop, and A and B lose C.
    r = _run(_ring(tmp_path), '[[change]]\nkind = "static_route"\nat = "A"\ndst = "C"\nnext_hop = "B"\n')
    n1 = r["checks"]["n1"]
    assert not n1["ok"] and r["verdict"] == "fail"
    assert [(v["element"], v["reason"], v["lost_pairs"]) for v in n1["violations"]] == [
        ("link:BC", "unreachable", 2)]
    assert n1["violations"][0]["pairs"] == [["A", "C"], ["B", "C"]]
    assert r["checks"]["loop"]["ok"] and r["checks"]["black_hole"]["ok"]


# --- property: the guard's loop and black-hole pairs equal an independent walk ---

#   A - B - C        a 6-node mesh with a pendant F; random changes of every
#   |   | /          kind that moves forwarding: static routes, drops, ACLs,
#   D - E - F        weights, cut links, down sites
MESH_SITES = {"A": (24.90, 60.20), "B": (24.95, 60.20), "C": (25.00, 60.20),
              "D": (24.90, 60.15), "E": (24.95, 60.15), "F": (25.00, 60.10)}
MESH_LINKS = [("AB", "A", "B", 10e9), ("BC", "B", "C", 10e9), ("AD", "A", "D", 10e9),
              ("BE", "B", "E", 10e9), ("CE", "C", "E", 10e9), ("DE", "D", "E", 10e9),
              ("EF", "E", "F", 10e9)]


def test_loops_and_black_holes_equal_an_independent_walk(tmp_path):
    import numpy as np
    from twin3d.sim.engine import Simulator
    scene = load_scene(write_link_scene(tmp_path, MESH_SITES, MESH_LINKS,
                                        "src,dst,demand_bps\nA,F,1e9\n", RING_TOML, "mesh.toml"))
    sim = Simulator(scene)
    nodes, links = list(MESH_SITES), [(i, a, b) for i, a, b, _ in MESH_LINKS]
    rng = np.random.default_rng(11)
    seen = {"loops": 0, "holes": 0}
    for case in range(60):
        changes = changes_from_text(random_changes(rng, nodes, links), scene)
        r = check(sim, changes, n1=False)
        loops, holes = expected_pairs(changes, nodes, links)
        got_loops = {(v["src"], v["dst"]) for v in r["checks"]["loop"]["violations"]}
        got_holes = {(v["src"], v["dst"]) for v in r["checks"]["black_hole"]["violations"]}
        assert (got_loops, got_holes) == (loops, holes), (case, [c.fields for c in changes])
        seen["loops"] += bool(loops)
        seen["holes"] += bool(holes)
    assert min(seen.values()) >= 5, seen        # the cases exercise both


# --- coverage: sector and site changes on a radio scene ---

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
busy_hour_bps = 1e8
core = "CO"
[sla]
coverage_pct_min = 1.0
throughput_p5_bps_min = 0
"""


def _radio_scene(folder):
    from conftest import feature_collection
    (folder / "sites.geojson").write_text(feature_collection([
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [24.9440, 60.1700]},
         "properties": {"id": "CO", "kind": "central_office"}},
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [24.9400, 60.1710]},
         "properties": {"id": "S1", "kind": "macro", "height_m": 25.0, "tilt_deg": 4.0,
                        "p_tx_dbm": 20.0, "sectors": [{"azimuth_deg": a} for a in (0, 120, 240)]}}]))
    (folder / "links.geojson").write_text(feature_collection([
        {"type": "Feature", "geometry": None,
         "properties": {"id": "F-1", "a": "CO", "b": "S1", "capacity_bps": 10e9}}]))
    (folder / "radio.toml").write_text(RADIO_TOML)
    return load_scene(folder / "radio.toml")


def test_coverage_loss_of_sector_and_site_changes(tmp_path):
    from twin3d.sim.engine import Simulator
    sim = Simulator(_radio_scene(tmp_path))
    scene = sim.scene
    tilt = check(sim, changes_from_text('[[change]]\nkind = "sector"\nsite = "S1"\nsector = 1\n'
                                        'p_tx_dbm = 0\n', scene), n1=False)
    cov = tilt["checks"]["coverage"]
    assert cov["loss"]["coverage_pct"] > 0 and cov["ok"]          # still above 1 %
    sleep = check(sim, changes_from_text('[[change]]\nkind = "site_state"\nsite = "S1"\n'
                                         'state = "sleep"\n', scene), n1=False)
    cov = sleep["checks"]["coverage"]
    assert not cov["ok"] and sleep["verdict"] == "fail"
    assert [(v["kpi"], v["after"]) for v in cov["violations"]] == [("coverage_pct", 0.0)]
    # a sleeping site keeps routing: no pair is lost
    assert sleep["checks"]["reachability"]["ok"] and sleep["checks"]["black_hole"]["ok"]
    weight = check(sim, changes_from_text('[[change]]\nkind = "link_weight"\nlink = "F-1"\n'
                                          'weight = 2\n', scene), n1=False)
    assert weight["checks"]["coverage"]["skipped"] == "no sector or site change"


def test_sector_of_a_site_without_that_many_cells_is_bad_input(tmp_path):
    scene = _radio_scene(tmp_path)
    with pytest.raises(InputError) as e:
        changes_from_text('[[change]]\nkind = "sector"\nsite = "S1"\nsector = 4\ntilt_deg = 5\n', scene)
    assert "[[change]] 1 (sector)" in str(e.value) and "sector" in str(e.value)


def test_taking_a_site_down_loses_only_its_own_pairs_but_its_redundancy(tmp_path):
    r = _run(_ring(tmp_path), '[[change]]\nkind = "site_state"\nsite = "D"\nstate = "down"\n')
    reach = r["checks"]["reachability"]
    assert reach["ok"] and reach["expected_lost"] == 6          # D's 3 + 3 pairs, by design
    assert r["checks"]["sla"]["ok"], r["checks"]["sla"]
    # without D, the ring is the path A-B-C: a cut of B-C, survived before, strands C
    hit = {v["element"]: v for v in r["checks"]["n1"]["violations"]}
    assert hit["link:BC"]["reason"] == "unreachable" and r["verdict"] == "fail"


def test_action_mask_blocks_a_loop_and_keeps_a_harmless_action(tmp_path):
    from twin3d.guard import action_mask
    from twin3d.scene import EventSpec
    from twin3d.sim.engine import Simulator
    sim = Simulator(_ring(tmp_path))
    loop = [EventSpec(0, "static_route", at="A", dst="C", next_hop="B"),
            EventSpec(0, "static_route", at="B", dst="C", next_hop="A")]
    cap = [EventSpec(0, "set_capacity", link="CD", capacity_bps=20e9)]
    assert action_mask(sim, [cap, loop, loop[:1]]).tolist() == [True, False, True]
    # in a context where A already sends C's traffic via B, B's route back closes the loop
    assert action_mask(sim, [loop[1:]], context=loop[:1]).tolist() == [False]
    assert action_mask(sim, [[EventSpec(0, "site_outage", target="D")]]).tolist() == [True]
