"""``twin3d capex``: common random numbers, the bridge's second fibre ranks first, strict
candidate files exit 2, fibre along the streets equals a networkx shortest path, Dask equals
serial."""

from __future__ import annotations

import json
import math

import networkx as nx
import numpy as np
import pytest

from conftest import write_link_scene

from twin3d.cli import main
from twin3d.loader import load_scene
from twin3d.model import Street
from twin3d.physics.transport import Router
from twin3d.sweep.candidates import parse_candidates
from twin3d.sweep.capex import apply_candidate, evaluate
from twin3d.sweep.faults import parse_growth, plan_cases
from twin3d.sweep.fibre import fibre_route, street_graph

#   A ---- B          a ring of 10 Gbit/s links, light demand between its sites,
#   |      |          and a leaf E behind the bridge D--E with heavy demand to A
#   D ---- C
#   |
#   E
SITES = {"A": (24.90, 60.20), "B": (25.00, 60.20), "C": (25.00, 60.15), "D": (24.90, 60.15),
         "E": (24.90, 60.10)}
LINKS = [("AB", "A", "B", 10e9), ("BC", "B", "C", 10e9), ("CD", "C", "D", 10e9),
         ("DA", "D", "A", 10e9), ("DE", "D", "E", 10e9)]
LEAF_BPS, RING_BPS = 3e9, 0.2e9
TOML = """
[scene]
name = "leaf"
seed = 5
[[source]]
path = "sites.geojson"
role = "sites"
[[source]]
path = "links.geojson"
role = "links"
[[source]]
path = "demands.csv"
role = "demands"
[traffic]
demand = "file"
routing = "ecmp"
metric = "hops"
"""
CANDIDATES = """
currency = "EUR"
[[candidate]]
name = "decoy: second fibre A-B"
kind = "new_link"
a = "A"
b = "B"
capacity_bps = 10e9
cost = 1e6
[[candidate]]
name = "decoy: upgrade B-C"
kind = "capacity_upgrade"
link = "BC"
capacity_bps = 40e9
cost = 1e6
[[candidate]]
name = "second fibre to the leaf"
kind = "new_link"
a = "D"
b = "E"
capacity_bps = 10e9
cost = 1e6
[[candidate]]
name = "decoy: transit site"
kind = "new_site"
lon = 24.95
lat = 60.22
connect_to = ["A", "B"]
cost = 1e6
"""


def _demands() -> dict[tuple[str, str], float]:
    ring = [s for s in SITES if s != "E"]
    d = {(s, t): RING_BPS for s in ring for t in ring if s != t}
    d[("E", "A")] = d[("A", "E")] = LEAF_BPS
    return d


@pytest.fixture
def leaf_scene(tmp_path):
    rows = "".join(f"{s},{t},{b:g}\n" for (s, t), b in _demands().items())
    path = write_link_scene(tmp_path, SITES, LINKS, "src,dst,demand_bps\n" + rows, TOML, "leaf.toml")
    (tmp_path / "cands.toml").write_text(CANDIDATES)
    return path


def test_every_candidate_sees_exactly_the_same_draws(leaf_scene):
    sc = load_scene(leaf_scene)
    _, cands = parse_candidates(leaf_scene.parent / "cands.toml", sc.twin)
    growth = parse_growth("lognormal:0,0.3")
    avail = {"link": 0.8, "site": 0.9}        # many faults per draw
    res = evaluate(sc, cands, "random", seed=3, samples=40, growth=growth, availability=avail)
    # the draws, planned independently from the same seed
    link_ids = [str(l) for l in Router(sc.twin.graph, metric="hops").links]
    want = plan_cases(sc.twin, link_ids, "random", 3, 40, 0, parse_growth("lognormal:0,0.3"), avail)
    drawn = [(c.case_id, list(c.faults), c.demand_factor) for c in want]
    assert len({tuple(f) for _, f, _ in drawn}) > 10 and len({g for *_, g in drawn}) == 41
    assert set(res["rows"]) == {0, 1, 2, 3, 4}
    for k, rows in res["rows"].items():
        assert [(r["case_id"], r["faults"], r["demand_factor"]) for r in rows] == drawn, k
    assert all(r["draws"] == 41 for r in res["ranking"])


def test_a_second_fibre_on_the_most_critical_bridge_ranks_first(leaf_scene):
    sc = load_scene(leaf_scene)
    g = nx.Graph([(a, b) for _, a, b, _ in LINKS])
    bridges = {frozenset(e) for e in nx.bridges(g)}
    assert bridges == {frozenset("DE")}        # the hand-made scene has one bridge
    _, cands = parse_candidates(leaf_scene.parent / "cands.toml", sc.twin)
    res = evaluate(sc, cands, "single")
    ranking = res["ranking"]
    assert [r["cost"] for r in ranking] == [1e6] * 4
    assert ranking[0]["name"] == "second fibre to the leaf"
    n = 1 + len(LINKS) + len(SITES)            # baseline + every link + every site
    assert ranking[0]["draws"] == n
    # it saves exactly the demand across the bridge in the one draw that cuts it
    across = sum(b for (s, t), b in _demands().items() if "E" in (s, t))
    assert ranking[0]["dropped_bps_reduced"] == pytest.approx(across / n, rel=1e-9)
    assert ranking[0]["sla_minutes_saved"] == pytest.approx(60.0 / n)
    for r in ranking[1:]:
        assert r["sla_minutes_saved"] == 0.0 and abs(r["dropped_bps_reduced"]) < 1e-3


def test_cli_writes_json_with_provenance_and_a_png(leaf_scene, tmp_path, capsys):
    out_json, out_png = tmp_path / "r" / "capex.json", tmp_path / "r" / "capex.png"
    with pytest.raises(SystemExit) as exc:
        main(["capex", str(leaf_scene), "--candidates", str(leaf_scene.parent / "cands.toml"),
              "--faults", "single", "--json", str(out_json), "--plot", str(out_png)])
    assert exc.value.code == 0
    doc = json.loads(out_json.read_text())
    assert doc["provenance"]["scene_file"] == "leaf.toml" and doc["provenance"]["seed"] == 5
    assert doc["ranking"][0]["name"] == "second fibre to the leaf" and doc["currency"] == "EUR"
    assert len(doc["draws"]) == 1 + len(LINKS) + len(SITES)
    assert out_png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "second fibre to the leaf" in capsys.readouterr().out


BAD = [
    ('currency = "EUR"\nbudget = 3\n[[candidate]]\nkind = "capacity_upgrade"\nlink = "BC"\n'
     'capacity_bps = 40e9\ncost = 1.0\n', "field 'budget'"),
    ('[[candidate]]\nname = "x"\nkind = "new_cable"\n', "[[candidate]] 1 (x): field 'kind'"),
    ('[[candidate]]\nname = "x"\nkind = "new_link"\na = "A"\nb = "Z"\ncapacity_bps = 1e9\n'
     'cost = 1.0\n', "[[candidate]] 1 (x): field 'b'"),
    ('[[candidate]]\nname = "x"\nkind = "new_link"\na = "A"\nb = "B"\ncapacity_bps = 1e9\n'
     'cost = 1.0\ncolour = "red"\n', "[[candidate]] 1 (x): field 'colour'"),
    ('[[candidate]]\nname = "ok"\nkind = "capacity_upgrade"\nlink = "BC"\ncapacity_bps = 40e9\n'
     'cost = 1.0\n[[candidate]]\nname = "up"\nkind = "capacity_upgrade"\nlink = "BC"\n'
     'capacity_bps = 5e9\ncost = 1.0\n', "[[candidate]] 2 (up): field 'capacity_bps'"),
    ('[[candidate]]\nname = "x"\nkind = "capacity_upgrade"\nlink = "BC"\ncapacity_bps = 40e9\n',
     "[[candidate]] 1 (x): field 'cost'"),
    ('[[candidate]]\nname = "x"\nkind = "new_link"\na = "A"\nb = "B"\ncapacity_bps = 1e9\n'
     'cost_per_km = -5.0\n', "[[candidate]] 1 (x): field 'cost_per_km'"),
    ('[[candidate]]\nname = "x"\nkind = "new_site"\nlon = 24.9\nlat = 60.2\nconnect_to = []\n'
     'cost = 1.0\n', "[[candidate]] 1 (x): field 'connect_to'"),
    ('[[candidate]]\nname = "x"\nkind = "new_site"\nlon = 240.0\nlat = 60.2\n'
     'connect_to = "A"\ncost = 1.0\n', "[[candidate]] 1 (x): field 'lon'"),
    ('[[candidate]]\nname = "x"\nkind = "new_link"\na = "A"\nb = "B"\ncapacity_bps = "fast"\n'
     'cost = 1.0\n', "[[candidate]] 1 (x): field 'capacity_bps'"),
    ('[[candidate]\nkind = 1\n', "not valid TOML"),
    ('currency = "EUR"\n', "field 'candidate'"),
]


@pytest.mark.parametrize("text,where", BAD)
def test_bad_candidate_files_exit_2_with_one_line(leaf_scene, capsys, text, where):
    bad = leaf_scene.parent / "bad.toml"
    bad.write_text(text)
    with pytest.raises(SystemExit) as exc:
        main(["capex", str(leaf_scene), "--candidates", str(bad), "--faults", "single"])
    assert exc.value.code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"error: {bad}") and where in lines[0], lines[0]


def test_bad_capex_arguments_exit_2(leaf_scene, capsys):
    cands = str(leaf_scene.parent / "cands.toml")
    for extra in (["--faults", "random"], ["--faults", "triple", "--samples", "3"],
                  ["--faults", "single", "--plot", "x.jpg"]):
        with pytest.raises(SystemExit) as exc:
            main(["capex", str(leaf_scene), "--candidates", cands, *extra])
        assert exc.value.code == 2
        assert len(capsys.readouterr().err.strip().splitlines()) == 1


def _grid_streets(n: int, step_m: float, missing: set) -> list[Street]:
    """An n x n street grid (one street per segment), without the ``missing`` segments."""
    out = []
    for i in range(n):
        for j in range(n):
            for di, dj in ((1, 0), (0, 1)):
                if i + di < n and j + dj < n and ((i, j), (i + di, j + dj)) not in missing:
                    xyz = np.array([[i * step_m, j * step_m, 0.0],
                                    [(i + di) * step_m, (j + dj) * step_m, 0.0]])
                    out.append(Street(f"s{i}{j}{di}", xyz, "residential"))
    return out


def test_fibre_follows_the_streets_as_a_networkx_shortest_path():
    step = 100.0
    missing = {((1, 0), (1, 1)), ((1, 1), (1, 2)), ((1, 2), (1, 3)), ((2, 1), (3, 1)),
               ((0, 2), (1, 2))}
    streets = _grid_streets(5, step, missing)
    g = nx.Graph()
    for s in streets:
        (x0, y0, _), (x1, y1, _) = s.xyz_m
        g.add_edge((x0, y0), (x1, y1), weight=math.hypot(x1 - x0, y1 - y0))
    a, b = np.array([-30.0, 12.0, 0.0]), np.array([230.0, 395.0, 0.0])
    route = fibre_route(a, b, street_graph(streets))
    va, vb = (0.0, 0.0), (200.0, 400.0)       # the street vertices nearest a and b
    want = (math.hypot(a[0] - va[0], a[1] - va[1]) + nx.shortest_path_length(g, va, vb, "weight")
            + math.hypot(b[0] - vb[0], b[1] - vb[1]))
    assert route.how == "streets"
    assert route.length_m == pytest.approx(want, rel=1e-12)
    assert route.length_m > math.hypot(*(b - a)[:2])
    # the polyline is the path: its segments sum to the length
    assert float(np.hypot(*np.diff(route.xyz_m[:, :2], axis=0).T).sum()) == pytest.approx(want)


def test_a_new_link_in_a_scene_without_streets_is_a_great_circle(leaf_scene):
    sc = load_scene(leaf_scene)
    _, cands = parse_candidates(leaf_scene.parent / "cands.toml", sc.twin)
    from pyproj import Geod
    got = apply_candidate(sc, cands[0])
    want = Geod(ellps="WGS84").line_length([24.90, 25.00], [60.20, 60.20])
    assert got.routes == ["great_circle"] and got.new_fibre_m == pytest.approx(want, rel=1e-9)
    new = [l for l in got.scene.twin.links if l not in sc.twin.links]
    assert len(new) == 1 and got.scene.twin.links[new[0]].length_m == pytest.approx(want, rel=1e-9)
    assert len(sc.twin.links) == len(LINKS)    # the scene itself is untouched


def _nan_free(rows: dict) -> dict:
    return {k: [{f: (None if isinstance(v, float) and math.isnan(v) else v) for f, v in r.items()}
                for r in rs] for k, rs in rows.items()}


@pytest.mark.slow
def test_capex_on_a_two_worker_local_cluster_equals_the_serial_run(leaf_scene):
    sc = load_scene(leaf_scene)
    _, cands = parse_candidates(leaf_scene.parent / "cands.toml", sc.twin)
    kw = dict(seed=2, samples=30, growth=parse_growth("uniform:0.8,1.5"),
              availability={"link": 0.9, "site": 0.95})
    dask = evaluate(sc, cands, "random", workers=2, **kw)
    serial = evaluate(sc, cands, "random", workers=0, **kw)
    assert dask["complete"] and serial["complete"]
    assert _nan_free(dask["rows"]) == _nan_free(serial["rows"])
    assert dask["ranking"] == serial["ranking"]


def test_doctests_of_the_capex_and_energy_modules():
    import doctest
    import importlib
    for name in ("twin3d.sweep.fibre", "twin3d.sweep.capex", "twin3d.sweep.energy",
                 "twin3d.sweep.candidates", "twin3d.cli_energy"):
        res = doctest.testmod(importlib.import_module(name))
        assert res.failed == 0 and res.attempted > 0, name


def test_a_new_radio_site_copies_the_nearest_sectors_with_their_carrier(tmp_path):
    """A ``new_site`` in a radio scene takes the sectors of the nearest site with cells, each
    with its carrier: the scene's ``[radio] f_hz`` where the sites file gives none, the
    sector's own where it does (the candidate site is 50 m from B, 600 m from A)."""
    sites = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [24.94, 60.17]},
         "properties": {"id": "A", "kind": "macro", "azimuths_deg": "0;120;240"}},
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [24.95, 60.17]},
         "properties": {"id": "B", "kind": "small",
                        "sectors": [{"azimuth_deg": 30}, {"azimuth_deg": 210, "f_hz": 0.7e9,
                                                          "bandwidth_hz": 10e6}]}},
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [24.945, 60.168]},
         "properties": {"id": "CO", "kind": "central_office"}}]}
    (tmp_path / "sites.geojson").write_text(json.dumps(sites))
    path = tmp_path / "radio.toml"
    path.write_text('[scene]\nname = "radio"\n[[source]]\npath = "sites.geojson"\nrole = "sites"\n'
                    '[radio]\nmodel = "FSPL"\nf_hz = 28e9\nbandwidth_hz = 400e6\ngrid_m = 50\n'
                    '[traffic]\nbusy_hour_bps = 0\ncore = "CO"\n')
    (tmp_path / "cands.toml").write_text(
        '[[candidate]]\nname = "infill"\nkind = "new_site"\nlon = 24.9509\nlat = 60.1702\n'
        'connect_to = ["CO"]\ncost = 5e5\n')
    sc = load_scene(path)
    _, cands = parse_candidates(tmp_path / "cands.toml", sc.twin)
    got = apply_candidate(sc, cands[0])
    new = got.scene.twin.sites[cands[0].site_id]
    assert new.kind == "small"
    assert [(c.azimuth_deg, c.f_hz, c.bandwidth_hz) for c in new.cells] == [
        (30.0, 28e9, 400e6), (210.0, 0.7e9, 10e6)]
    assert cands[0].site_id not in sc.twin.sites          # the scene's own twin is untouched
