"""``twin3d sweep``: distributed equals serial, bridges lose the cross-cut demand, storms take
out the elements inside the circle, bad arguments exit 2, baseline row and reproducible draws."""

from __future__ import annotations

import math

import networkx as nx
import numpy as np
import pytest
import shapely

from conftest import ZOO

from twin3d.cli import main
from twin3d.loader import load_scene
from twin3d.sim.demand import profile_factor
from twin3d.sim.engine import Simulator
from twin3d.sweep import plan_cases, read_sweep, sweep, sweep_metadata
from twin3d.sweep.faults import elements_in_circle, parse_growth, sweep_elements

SCENE = """[scene]
name = "{name}"
seed = 11
[[source]]
kind = "graphml"
path = "{path}"
default_capacity_bps = 10e9
[traffic]
busy_hour_bps = {busy:g}
routing = "ecmp"
metric = "hops"
"""


def _scene(tmp_path, name: str, busy: float = 1e9):
    p = tmp_path / f"{name}.toml"
    p.write_text(SCENE.format(name=name.lower(), path=(ZOO / f"{name}.graphml").as_posix(), busy=busy))
    return p


def _rows(path) -> list[dict]:
    """The file's rows, NaN as None (so rows compare with ==)."""
    rows = read_sweep(path).to_pylist()
    return [{k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in r.items()}
            for r in rows]


@pytest.mark.slow
def test_two_worker_local_cluster_equals_the_serial_run(tmp_path):
    path = _scene(tmp_path, "Abilene", busy=40e9)
    sc = load_scene(path)
    kw = dict(faults="single", storms=3, demand_growth="lognormal:0,0.2")
    meta2 = sweep(sc, tmp_path / "dask.parquet", workers=2, **kw)
    meta0 = sweep(sc, tmp_path / "serial.parquet", workers=0, **kw)
    assert meta2["complete"] and meta0["complete"]
    n_el = len(sc.twin.links) + len(sc.twin.sites)
    assert meta2["cases_done"] == meta0["cases_done"] == 1 + n_el + 3
    a, b = _rows(tmp_path / "dask.parquet"), _rows(tmp_path / "serial.parquet")
    assert [r["case_id"] for r in a] == list(range(len(a)))
    assert a == b
    # the cases differ from each other: growth draws and faults reached the workers
    assert len({r["demand_factor"] for r in a}) > 10
    assert any(r["dropped_bps"] != a[0]["dropped_bps"] or r["util_max"] != a[0]["util_max"]
               for r in a[1:])


def _lost_across(pairs: dict, before: nx.Graph, after: nx.Graph, gone=()) -> float:
    """Demand between nodes that were connected before and are not after (or touch ``gone``)."""
    cb = {n: i for i, c in enumerate(nx.connected_components(before)) for n in c}
    ca = {n: i for i, c in enumerate(nx.connected_components(after)) for n in c}
    return sum(b for (s, d), b in pairs.items()
               if s != d and cb[s] == cb[d] and (s in gone or d in gone or ca[s] != ca[d]))


def test_bridges_and_cut_sites_lose_exactly_the_demand_across_the_cut(tmp_path):
    path = _scene(tmp_path, "Cesnet201006", busy=1e9)      # 56 links, 26 of them bridges
    sc = load_scene(path)
    out = tmp_path / "single.parquet"
    sweep(sc, out, "single", workers=0)
    rows = {tuple(r["faults"]): r for r in _rows(out)}
    base = rows[()]
    pairs = Simulator(sc).base_demands          # the scene's demand matrix, bit/s at the busy hour
    peak = profile_factor(21.0, "diurnal")
    g = sc.twin.graph
    simple = nx.Graph(g)
    bridges = [(u, v) for u, v in nx.bridges(simple) if g.number_of_edges(u, v) == 1]
    assert len(bridges) >= 20
    for u, v in bridges:
        (lid,) = g[u][v]
        r = rows[(f"link:{lid}",)]
        # a light load: no trip, no tail drop; the loss is routing alone
        assert r["cascade_waves"] == 0 and r["util_max"] <= 1.0
        cut = simple.copy()
        cut.remove_edge(u, v)
        want = peak * _lost_across(pairs, simple, cut)
        assert want > 0
        assert r["dropped_bps"] - base["dropped_bps"] == pytest.approx(want, rel=1e-9)
        assert r["failed_after_cascade"] == [f"link:{lid}"]
    cut_sites = list(nx.articulation_points(simple))
    assert cut_sites
    for s in cut_sites + [n for n in simple if n not in cut_sites][:3]:
        r = rows[(f"site:{s}",)]
        rest = simple.copy()
        rest.remove_node(s)
        rest.add_node(s)
        want = peak * _lost_across(pairs, simple, rest, gone={s})
        assert r["dropped_bps"] - base["dropped_bps"] == pytest.approx(want, rel=1e-9)
    assert base["faults"] == [] and base["kind"] == "baseline" and base["case_id"] == 0


def test_storms_take_out_exactly_the_elements_inside_the_circle(tmp_path):
    path = _scene(tmp_path, "Garr201201", busy=1e9)
    sc = load_scene(path)
    out = tmp_path / "storms.parquet"
    sweep(sc, out, None, storms=12, workers=0)
    rows = [r for r in _rows(out) if r["kind"] == "storm"]
    assert len(rows) == 12
    twin = sc.twin
    hit_total, sizes = 0, set()
    for r in rows:
        centre = shapely.Point(r["storm_x_m"], r["storm_y_m"])
        rad = r["storm_radius_m"]
        want = {f"site:{s.id}" for s in twin.sites.values()
                if shapely.Point(s.xyz_m[:2]).distance(centre) <= rad}
        want |= {f"link:{l.id}" for l in twin.links.values()
                 if shapely.LineString(np.asarray(l.route_xyz_m)[:, :2]).distance(centre) <= rad}
        assert set(r["faults"]) == want
        assert set(r["faults"]) <= set(r["failed_after_cascade"])
        hit_total += len(want)
        sizes.add(len(want))
    assert hit_total > 0 and len(sizes) > 1       # storms of different sizes, some hitting
    # the radius follows the documented distribution: 2 % to 15 % of the sites' diagonal
    xy = np.array([s.xyz_m[:2] for s in twin.sites.values()])
    diag = float(np.hypot(*(xy.max(axis=0) - xy.min(axis=0))))
    assert all(0.02 * diag <= r["storm_radius_m"] <= 0.15 * diag for r in rows)


def test_elements_in_circle_counts_a_link_passing_through_without_its_ends(tmp_path):
    from twin3d.sweep.faults import Storm
    sc = load_scene(_scene(tmp_path, "Abilene"))
    link = next(iter(sc.twin.links.values()))
    route = np.asarray(link.route_xyz_m)[:, :2]
    mid = (route[0] + route[-1]) / 2
    length = float(np.hypot(*(route[-1] - route[0])))
    els = sweep_elements(sc.twin, list(sc.twin.links))
    hit = elements_in_circle(sc.twin, els, Storm(float(mid[0]), float(mid[1]), 0.1 * length))
    assert f"link:{link.id}" in hit
    assert f"site:{link.a}" not in hit and f"site:{link.b}" not in hit


@pytest.mark.parametrize("args, field", [
    (["--faults", "triple"], "faults"),
    ([], "faults"),
    (["--faults", "single", "--samples", "5"], "samples"),
    (["--faults", "double", "--samples", "0"], "samples"),
    (["--faults", "single", "--workers", "-1"], "workers"),
    (["--faults", "single", "--workers", "2", "--scheduler", "tcp://127.0.0.1:1"], "workers"),
    (["--faults", "single", "--storms", "-2"], "storms"),
    (["--faults", "single", "--demand-growth", "lognormal:0"], "--demand-growth"),
    (["--faults", "single", "--demand-growth", "weibull:1,2"], "--demand-growth"),
    (["--faults", "single", "--demand-growth", "uniform:2,1"], "--demand-growth"),
    (["--faults", "random", "--availability", "link=1.5"], "--availability"),
])
def test_bad_arguments_exit_2_with_one_line(tmp_path, capsys, args, field):
    scene = _scene(tmp_path, "Abilene")
    with pytest.raises(SystemExit) as exc:
        main(["sweep", str(scene), "-o", str(tmp_path / "o.parquet"), *args])
    assert exc.value.code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ")
    assert field in lines[0]
    assert not (tmp_path / "o.parquet").exists()


def test_missing_scene_and_bad_output_name_exit_2(tmp_path, capsys):
    for argv, what in ((["sweep", str(tmp_path / "nope.toml"), "-o", str(tmp_path / "o.parquet"),
                         "--faults", "single"], "nope.toml"),
                       (["sweep", str(_scene(tmp_path, "Abilene")), "-o", str(tmp_path / "o.csv"),
                         "--faults", "single"], "o.csv")):
        with pytest.raises(SystemExit) as exc:
            main(argv)
        assert exc.value.code == 2
        lines = capsys.readouterr().err.strip().splitlines()
        assert len(lines) == 1 and what in lines[0]


def test_baseline_row_and_double_sets_reproducible_from_the_seed(tmp_path):
    sc = load_scene(_scene(tmp_path, "Garr201201"))
    links = list(sc.twin.links)
    els = sweep_elements(sc.twin, links)
    n = len(els)
    a = plan_cases(sc.twin, links, "double", seed=5, samples=40)
    b = plan_cases(sc.twin, links, "double", seed=5, samples=40)
    c = plan_cases(sc.twin, links, "double", seed=6, samples=40)
    assert [x.faults for x in a] == [x.faults for x in b]
    assert [x.faults for x in a] != [x.faults for x in c]
    pairs = [x.faults for x in a[1:]]
    assert len(pairs) == 40 and len(set(pairs)) == 40
    assert all(len(p) == 2 and p[0] != p[1] and set(p) <= set(els) for p in pairs)
    full = plan_cases(sc.twin, links, "double", seed=5)
    assert len(full) == 1 + n * (n - 1) // 2
    assert {frozenset(x.faults) for x in full[1:]} == {frozenset(p) for p in
                                                      __import__("itertools").combinations(els, 2)}
    # the file: the seed's pairs, a baseline row first, the seed in the metadata
    out1, out2 = tmp_path / "d1.parquet", tmp_path / "d2.parquet"
    main_args = ["--faults", "double", "--samples", "15", "--seed", "5", "--workers", "0"]
    for out in (out1, out2):
        with pytest.raises(SystemExit) as exc:
            main(["sweep", str(sc.spec.path), "-o", str(out), *main_args])
        assert exc.value.code == 0
    r1, r2 = _rows(out1), _rows(out2)
    assert r1 == r2
    assert r1[0]["faults"] == [] and r1[0]["kind"] == "baseline"
    assert sum(r["faults"] == [] for r in r1) == 1
    want = [list(x.faults) for x in plan_cases(sc.twin, links, "double", seed=5, samples=15)]
    assert [r["faults"] for r in r1] == want
    meta = sweep_metadata(read_sweep(out1))
    assert meta["provenance"]["seed"] == 5 and meta["sweep"]["complete"] is True
    assert len(meta["provenance"]["scene_sha256"]) == 64


def test_random_faults_follow_the_availability(tmp_path):
    sc = load_scene(_scene(tmp_path, "Garr201201"))
    links = list(sc.twin.links)
    cases = plan_cases(sc.twin, links, "random", seed=3, samples=4000,
                       availability={"link": 0.98, "site": 0.995})
    n_links, n_sites = len(links), len(sc.twin.sites)
    down_links = sum(f.startswith("link:") for c in cases for f in c.faults)
    down_sites = sum(f.startswith("site:") for c in cases for f in c.faults)
    # binomial counts: within 5 standard deviations of the expectation
    for down, n, p in ((down_links, 4000 * n_links, 0.02), (down_sites, 4000 * n_sites, 0.005)):
        assert abs(down - n * p) < 5 * math.sqrt(n * p * (1 - p))


def test_demand_growth_is_parsed_strictly_and_drawn_from_the_seed():
    draw = parse_growth("lognormal:0.1,0.05")
    x = draw(np.random.default_rng(0), 20000)
    assert np.log(x).mean() == pytest.approx(0.1, abs=0.002)
    assert np.log(x).std() == pytest.approx(0.05, rel=0.03)
    assert parse_growth("1.25")(np.random.default_rng(0), 3).tolist() == [1.25] * 3


def test_day_cases_aggregate_the_day_as_the_contract_says(tmp_path):
    from twin3d.scene import EventSpec, ScenarioSpec
    path = _scene(tmp_path, "Abilene", busy=60e9)
    sc = load_scene(path)
    out = tmp_path / "day.parquet"
    sweep(sc, out, "single", day=True, workers=0)
    rows = {tuple(r["faults"]): r for r in _rows(out)}
    sim = Simulator(sc)
    lid = next(iter(sc.twin.links))
    for faults, events in (((), ()), ((f"link:{lid}",), (EventSpec(0, "fiber_cut", target=lid),))):
        res = sim.run(ScenarioSpec("day", steps=24, step_s=3600.0, start_hour=0.0, events=events))
        k = [s.kpis for s in res.steps]
        r = rows[faults]
        assert r["steps"] == 24
        assert r["dropped_bps"] == pytest.approx(np.mean([x["offered_bps"] - x["served_bps"] for x in k]))
        assert r["served_fraction"] == pytest.approx(np.mean([x["served_bps"] / x["offered_bps"] for x in k]))
        assert r["util_max"] == pytest.approx(max(x["util_max"] for x in k))
        assert r["latency_p95_ms"] == pytest.approx(max(x["latency_p95_ms"] for x in k))
        assert r["sla_violation_steps"] == res.sla_violation_steps
        assert r["sla_minutes"] == pytest.approx(res.sla_minutes)
    # the busy hour is one of the day's steps: the day's maximum covers it
    busy = tmp_path / "busy.parquet"
    sweep(sc, busy, "single", workers=0)
    for r in _rows(busy):
        assert r["util_max"] <= rows[tuple(r["faults"])]["util_max"] + 1e-12


class _Stop:
    """A progress callback that presses Ctrl-C once ``after`` rows are done."""

    def __init__(self, after: int):
        self.after = after

    def __call__(self, done: int, total: int) -> None:
        if done >= self.after:
            raise KeyboardInterrupt


@pytest.mark.parametrize("workers", [0, pytest.param(2, marks=pytest.mark.slow)])
def test_ctrl_c_keeps_the_finished_rows(tmp_path, workers):
    path = _scene(tmp_path, "Garr201201", busy=1e9)
    sc = load_scene(path)
    out = tmp_path / "stopped.parquet"
    meta = sweep(sc, out, "double", workers=workers, progress=_Stop(10))
    assert meta["complete"] is False and 10 <= meta["cases_done"] < meta["cases_planned"]
    rows = _rows(out)
    assert len(rows) == meta["cases_done"]
    assert sweep_metadata(read_sweep(out))["sweep"]["complete"] is False
    # the rows kept are whole rows of the planned cases
    planned = {c.case_id: list(c.faults) for c in plan_cases(sc.twin, list(sc.twin.links), "double",
                                                              sc.seed)}
    assert all(planned[r["case_id"]] == r["faults"] for r in rows)
    assert [r["case_id"] for r in rows] == sorted(r["case_id"] for r in rows)


def test_doctests_of_the_sweep_modules():
    import doctest
    import importlib
    for name in ("twin3d.sweep.faults", "twin3d.sweep.criticality", "twin3d.sweep.run",
                 "twin3d.sweep.cases"):
        res = doctest.testmod(importlib.import_module(name))
        assert res.failed == 0 and res.attempted > 0, name
