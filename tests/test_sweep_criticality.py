"""``twin3d criticality``: rankings against hand computations, the JSON/CSV files, the stage layer."""

from __future__ import annotations

import csv
import json
import math
import statistics

import numpy as np
import pytest

from conftest import ZOO

from twin3d.cli import main
from twin3d.loader import load_scene
from twin3d.sweep import read_sweep, sweep
from twin3d.sweep.criticality import Z95, criticality, ranking_rows
from twin3d.sweep.table import write_sweep

SCENE = """[scene]
name = "abilene"
seed = 3
[[source]]
kind = "graphml"
path = "{path}"
default_capacity_bps = 10e9
[traffic]
busy_hour_bps = 40e9
"""

# a hand-made sweep: baseline drops 1 bit/s and breaks the SLA for 0 min
FAULTS = [[], ["link:a"], ["link:a", "link:b"], ["link:b"], ["site:s"], ["link:a", "site:s"],
          ["link:b"]]
DROPPED = [1.0, 5.0, 9.0, 3.0, 21.0, 30.0, 4.0]
SLA = [0.0, 0.0, 60.0, 0.0, 60.0, 60.0, 0.0]
KINDS = ["baseline"] + ["random"] * 6
ELEMENTS = ["link:a", "link:b", "link:c", "site:s"]


def test_mean_method_matches_a_hand_computation():
    r = criticality(FAULTS, DROPPED, SLA, KINDS, ELEMENTS, "mean")
    # link:a in cases 1, 2, 5: losses 4, 8, 29 over the baseline
    a = [4.0, 8.0, 29.0]
    assert r["cases"].tolist() == [3, 3, 0, 2]
    assert r["lost_bps"][0] == pytest.approx(statistics.mean(a))
    assert r["lost_bps_half"][0] == pytest.approx(Z95 * statistics.stdev(a) / math.sqrt(3))
    # link:b in cases 2, 3, 6: 8, 2, 3; SLA minutes 60, 0, 0
    assert r["lost_bps"][1] == pytest.approx(13.0 / 3)
    assert r["sla_minutes"][1] == pytest.approx(20.0)
    assert r["sla_minutes_half"][1] == pytest.approx(Z95 * statistics.stdev([60, 0, 0]) / math.sqrt(3))
    # site:s in cases 4, 5: 20, 29
    assert r["lost_bps"][3] == pytest.approx(24.5)
    assert math.isnan(r["lost_bps"][2]) and r["cases"][2] == 0
    rows = ranking_rows(r)
    assert [x["element"] for x in rows] == ["site:s", "link:a", "link:b", "link:c"]
    assert [x["rank"] for x in rows] == [1, 2, 3, None]
    assert rows[0]["lost_bps_ci95"][0] == pytest.approx(24.5 - Z95 * statistics.stdev([20, 29]) / math.sqrt(2))
    assert rows[3]["lost_bps"] is None and rows[3]["lost_bps_ci95"] == [None, None]


def test_regression_method_matches_least_squares_by_hand():
    r = criticality(FAULTS, DROPPED, SLA, KINDS, ELEMENTS, "regression")
    seen = ["link:a", "link:b", "site:s"]
    x = np.array([[f in fs for f in seen] for fs in FAULTS[1:]], float)
    y = np.array(DROPPED[1:]) - DROPPED[0]
    beta, res, rank, _ = np.linalg.lstsq(x, y, rcond=None)
    sigma2 = float(res[0]) / (len(y) - rank)
    half = Z95 * np.sqrt(sigma2 * np.diag(np.linalg.inv(x.T @ x)))
    assert r["lost_bps"][[0, 1, 3]] == pytest.approx(beta)
    assert r["lost_bps_half"][[0, 1, 3]] == pytest.approx(half)
    assert math.isnan(r["lost_bps"][2])


def test_single_fault_cases_are_exact_and_a_lone_mixed_case_has_no_interval():
    r = criticality([[], ["link:a"], ["link:b", "link:c"]], [2.0, 7.0, 12.0], [0, 60, 0],
                    ["baseline", "single", "double"], ["link:a", "link:b", "link:c"])
    assert r["lost_bps"].tolist() == [5.0, 10.0, 10.0]
    assert r["lost_bps_half"][0] == 0.0
    assert math.isnan(r["lost_bps_half"][1]) and math.isnan(r["lost_bps_half"][2])


def test_a_sweep_without_one_baseline_is_an_input_error():
    from twin3d.errors import InputError
    with pytest.raises(InputError, match="baseline"):
        criticality([["link:a"]], [1.0], [0.0], ["single"], ["link:a"])
    with pytest.raises(InputError, match="link:z"):
        criticality([[], ["link:z"]], [1.0, 2.0], [0.0, 0.0], ["baseline", "single"], ["link:a"])


@pytest.fixture(scope="module")
def single_sweep(tmp_path_factory):
    d = tmp_path_factory.mktemp("crit")
    path = d / "abilene.toml"
    path.write_text(SCENE.format(path=(ZOO / "Abilene.graphml").as_posix()))
    out = d / "single.parquet"
    sweep(load_scene(path), out, "single", workers=0)
    return path, out


def test_cli_ranks_a_single_sweep_by_the_rows_minus_the_baseline(single_sweep, tmp_path):
    scene, sweep_file = single_sweep
    rows = read_sweep(sweep_file).to_pylist()
    base = next(r for r in rows if r["kind"] == "baseline")
    want = {r["faults"][0]: (r["dropped_bps"] - base["dropped_bps"], r["sla_minutes"] - base["sla_minutes"])
            for r in rows if r["faults"]}
    out = tmp_path / "rank.json"
    with pytest.raises(SystemExit) as exc:
        main(["criticality", str(sweep_file), str(scene), "-o", str(out)])
    assert exc.value.code == 0
    doc = json.loads(out.read_text())
    assert doc["provenance"]["scene_sha256"] and doc["scene_matches_sweep"] is True
    got = {r["element"]: r for r in doc["ranking"]}
    assert set(got) == set(want)
    for e, (lost, sla) in want.items():
        assert got[e]["lost_bps"] == pytest.approx(lost, rel=1e-12, abs=1e-6)
        assert got[e]["sla_minutes"] == pytest.approx(sla)
        assert got[e]["lost_bps_ci95"][0] == got[e]["lost_bps_ci95"][1] == got[e]["lost_bps"]
    losses = [r["lost_bps"] for r in doc["ranking"]]
    assert losses == sorted(losses, reverse=True)
    assert [r["rank"] for r in doc["ranking"]] == list(range(1, len(want) + 1))
    # CSV: the same ranking
    out_csv = tmp_path / "rank.csv"
    with pytest.raises(SystemExit):
        main(["criticality", str(sweep_file), str(scene), "-o", str(out_csv)])
    with open(out_csv, newline="") as f:
        table = list(csv.DictReader(f))
    assert [t["element"] for t in table] == [r["element"] for r in doc["ranking"]]
    assert float(table[0]["lost_bps"]) == pytest.approx(doc["ranking"][0]["lost_bps"])
    assert (tmp_path / "rank.csv.provenance.json").is_file()


@pytest.mark.slow
def test_criticality_layer_over_a_built_stage(single_sweep, tmp_path):
    from pxr import Gf, Usd

    from twin3d.output import build
    from twin3d.usd.colors import NO_DATA, srgb_to_linear
    from twin3d.usd.criticality import CRITICALITY_MAP
    from twin3d.usd.sdfutil import prim_names
    scene, sweep_file = single_sweep
    sc = load_scene(scene)
    built = build(sc, tmp_path / "stage")
    out = tmp_path / "crit" / "criticality.usda"
    with pytest.raises(SystemExit) as exc:
        main(["criticality", str(sweep_file), str(scene), "-o", str(out), "--stage",
              str(built.root_layer)])
    assert exc.value.code == 0
    rows = read_sweep(sweep_file).to_pylist()
    base = rows[0]["dropped_bps"]
    lost = {r["faults"][0]: r["dropped_bps"] - base for r in rows if r["faults"]}
    top = max(lost.values())
    stage = Usd.Stage.Open(str(out))
    links, sites = prim_names(sc.twin.links), prim_names(sc.twin.sites)
    for e, v in lost.items():
        kind, _, name = e.partition(":")
        path = (f"/World/Network/Links/{links[name]}" if kind == "link"
                else f"/World/Network/Sites/{sites[name]}")
        prim = stage.GetPrimAtPath(path)
        assert prim.IsValid() and prim.IsDefined(), path      # defined by the built stage below
        assert prim.GetAttribute("twin:criticality_lost_bps").Get() == pytest.approx(v, abs=1e-6)
        assert prim.GetAttribute("twin:criticality_cases").Get() == 1
        target = prim if kind == "link" else prim.GetChild("Tower") or prim.GetChild("Building")
        color = target.GetAttribute("primvars:displayColor").Get()[0]
        want = CRITICALITY_MAP([100.0 * max(v, 0.0) / top])[0] if top > 0 else \
            srgb_to_linear(np.array([NO_DATA]))[0]
        assert Gf.Vec3f(color) == pytest.approx(Gf.Vec3f(*map(float, want)), abs=1e-6)
    ranks = sorted(stage.GetPrimAtPath(f"/World/Network/Links/{links[n.partition(':')[2]]}")
                   .GetAttribute("twin:criticality_rank").Get() for n in lost if n.startswith("link:"))
    assert len(set(ranks)) == len(ranks) and min(ranks) >= 1


@pytest.mark.parametrize("extra, field", [
    (["-o", "{d}/r.txt"], "output"),
    (["-o", "{d}/r.usda"], "stage"),
    (["-o", "{d}/r.json", "--method", "median"], "method"),
    (["-o", "{d}/r.usda", "--stage", "{d}/missing.usda"], "stage"),
])
def test_bad_criticality_arguments_exit_2_with_one_line(single_sweep, tmp_path, capsys, extra, field):
    scene, sweep_file = single_sweep
    with pytest.raises(SystemExit) as exc:
        main(["criticality", str(sweep_file), str(scene), *[a.format(d=tmp_path) for a in extra]])
    assert exc.value.code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and field in lines[0]


def test_a_file_that_is_not_a_sweep_exits_2(single_sweep, tmp_path, capsys):
    scene, _ = single_sweep
    bad = tmp_path / "bad.parquet"
    write_sweep(bad, [], {})
    import pyarrow as pa
    import pyarrow.parquet as pq
    pq.write_table(pa.table({"x": [1]}), bad)
    with pytest.raises(SystemExit) as exc:
        main(["criticality", str(bad), str(scene), "-o", str(tmp_path / "r.json")])
    assert exc.value.code == 2
    line = capsys.readouterr().err.strip()
    assert "bad.parquet" in line and "case_id" in line and "\n" not in line
