"""The viewer's capex panel: ``twin3d capex --stage BUILD`` writes ``BUILD/analysis/capex.json``,
and the panel draws its ranking as an SVG bar chart (one bar per candidate and metric, in ranking
order, values and 95 % whiskers from the JSON, user names escaped) or nothing without the file."""

from __future__ import annotations

import json
import math
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from twin3d.app.capex_chart import CAPEX_METRICS, build_folder, capex_panel, capex_svg
from twin3d.cli import main
from twin3d.sweep.capex import CAPEX_FILE

SVG = "{http://www.w3.org/2000/svg}"
REPO = Path(__file__).resolve().parents[1]
EVIL = "<b>x</b> & 'co'"


def _row(rank, name, sla, sla_ci, drop, drop_ci):
    return {"rank": rank, "name": name, "cost": 1e6,
            "sla_minutes_saved_per_cost": sla, "sla_minutes_saved_per_cost_ci95": sla_ci,
            "dropped_bps_reduced_per_cost": drop, "dropped_bps_reduced_per_cost_ci95": drop_ci}


DOC = {"currency": "EUR", "candidates_file": "c.toml", "settings": {"faults": "random"},
       "baseline": {"sla_minutes": 12.5, "dropped_bps": 3.25e9, "draws": 40},
       "ranking": [_row(1, "second fibre to the leaf", 4e-6, [3e-6, 5e-6], 900.0, [700.0, 1100.0]),
                   _row(2, EVIL, 1e-6, [-0.5e-6, 2.5e-6], 1500.0, [1200.0, 1800.0]),
                   _row(3, "upgrade B-C", -0.5e-6, [None, None], 0.0, [0.0, 0.0])]}


def _bars(svg: str) -> list[ET.Element]:
    return ET.fromstring(svg).findall(f".//{SVG}rect[@class='bar']")


def test_one_bar_per_candidate_and_metric_in_ranking_order_with_the_json_values():
    svg = capex_svg(DOC)
    bars = _bars(svg)                       # parses: the SVG is well-formed XML
    n = len(DOC["ranking"])
    assert len(bars) == n * len(CAPEX_METRICS)
    for m, (key, _title, scale, _unit) in enumerate(CAPEX_METRICS):
        panel = bars[m * n:(m + 1) * n]
        assert [b.get("data-name") for b in panel] == [r["name"] for r in DOC["ranking"]]
        want = [r[key] * scale for r in DOC["ranking"]]
        assert [float(b.get("data-value")) for b in panel] == pytest.approx(want, rel=1e-12)
        # best on top: y grows with the rank
        ys = [float(b.get("y")) for b in panel]
        assert ys == sorted(ys) and len(set(ys)) == n
        # bar lengths are proportional to the values (one scale per panel), and a
        # negative value extends left of the zero line
        widths = [float(b.get("width")) for b in panel]
        big = max(range(n), key=lambda i: abs(want[i]))
        for i in range(n):
            assert widths[i] == pytest.approx(widths[big] * abs(want[i]) / abs(want[big]), abs=0.02)
    sla_bars = bars[:n]
    assert float(sla_bars[2].get("x")) + float(sla_bars[2].get("width")) == pytest.approx(
        float(sla_bars[0].get("x")), abs=0.02)        # bar 3 (< 0) ends where bar 1 (> 0) starts


def test_whiskers_span_the_95_percent_intervals_and_are_left_out_when_unknown():
    root = ET.fromstring(capex_svg(DOC))
    cis = root.findall(f".//{SVG}g[@class='ci']")
    # SLA panel: candidates 1 and 2 (candidate 3 has no interval); traffic panel: all three.
    # Shown per million EUR: SLA min x 1e6, traffic bit/s per EUR = Mbit/s per MEUR
    assert len(cis) == 5
    got = [float(g.get(k)) for g in cis for k in ("data-lo", "data-hi")]
    assert got == pytest.approx([3.0, 5.0, -0.5, 2.5, 700.0, 1100.0, 1200.0, 1800.0, 0.0, 0.0])
    # the whisker is drawn around the bar's end: lo <= value <= hi on screen too
    bars = _bars(capex_svg(DOC))
    first = cis[0].findall(f"{SVG}line")[0]
    end = float(bars[0].get("x")) + float(bars[0].get("width"))
    assert float(first.get("x1")) < end < float(first.get("x2"))


def test_candidate_names_are_escaped_and_the_axis_names_the_currency():
    svg = capex_svg(DOC)
    assert "<b>" not in svg and "&lt;b&gt;x&lt;/b&gt;" in svg
    root = ET.fromstring(svg)
    labels = [t.text for t in root.iter(f"{SVG}text") if t.get("class") == "axis-label"]
    assert labels == ["SLA min saved per draw (min per MEUR)",
                      "Traffic at risk reduced (Mbit/s per MEUR)"]
    names = [t.text for t in root.iter(f"{SVG}text") if t.get("class") == "name"]
    assert names[1] == "2. <b>x</b> & 'co'"         # unescaped by the parser: it was escaped text
    base = [t.text for t in root.iter(f"{SVG}text") if t.get("class") == "baseline"]
    assert base == ["baseline per draw: 12.5 SLA min, 3.25 Gbit/s dropped"]
    assert len(root.findall(f".//{SVG}line[@class='zero']")) == len(CAPEX_METRICS)


def test_the_panel_is_empty_without_the_file_and_for_a_scene(tmp_path):
    build = tmp_path / "build"
    (build / "scenarios").mkdir(parents=True)
    (build / "twin.usda").write_text("#usda 1.0\n")
    assert capex_panel(build) == {"svg": "", "title": ""}
    assert capex_panel(REPO / "scenes" / "nordic_backbone.toml") == {"svg": "", "title": ""}
    (build / CAPEX_FILE).parent.mkdir()
    (build / CAPEX_FILE).write_text("{not json")
    assert capex_panel(build) == {"svg": "", "title": ""}
    (build / CAPEX_FILE).write_text(json.dumps(DOC))
    # the build folder, its root stage and a scenario stage all find the file
    for source in (build, build / "twin.usda", build / "scenarios" / "x.usda"):
        assert build_folder(source) == build
        panel = capex_panel(source)
        assert panel["svg"] == capex_svg(DOC) and len(_bars(panel["svg"])) == 6
        assert panel["title"].startswith("3 candidates from c.toml, 40 draws (random faults)")


CANDIDATES = """currency = "EUR"
[[candidate]]
name = "<b>x</b>"
kind = "new_link"
a = "Oulu"
b = "Vaasa"
capacity_bps = 100e9
cost = 2e6
[[candidate]]
name = "upgrade Oulu-Kokkola"
kind = "capacity_upgrade"
link = "Oulu--Kokkola"
capacity_bps = 40e9
cost = 1e6
"""


def test_capex_stage_writes_the_ranking_into_the_build_and_the_viewer_reads_it(tmp_path, capsys):
    # --stage needs a folder holding twin.usda; building the whole Nordic stage takes ~45 s, and
    # the capex run does not read the stage, so a root-layer stand-in does
    build = tmp_path / "build"
    build.mkdir()
    (build / "twin.usda").write_text("#usda 1.0\n")
    cands = tmp_path / "c.toml"
    cands.write_text(CANDIDATES)
    scene = REPO / "scenes" / "nordic_backbone.toml"
    args = ["capex", str(scene), "--candidates", str(cands), "--faults", "random",
            "--samples", "20", "--workers", "0"]
    with pytest.raises(SystemExit) as exc:
        main([*args, "--json", str(tmp_path / "r.json"), "--stage", str(build)])
    assert exc.value.code == 0
    attached = build / CAPEX_FILE
    assert f"wrote{attached}" in "".join(capsys.readouterr().out.split())     # rich wraps lines
    doc = json.loads(attached.read_text())
    assert doc == json.loads((tmp_path / "r.json").read_text())
    assert sorted(r["name"] for r in doc["ranking"]) == ["<b>x</b>", "upgrade Oulu-Kokkola"]
    assert [r["rank"] for r in doc["ranking"]] == [1, 2]
    assert doc["baseline"]["draws"] == doc["ranking"][0]["draws"] > 0
    assert not list((build / "analysis").glob(".*"))        # no temporary file left behind
    svg = capex_panel(build)["svg"]
    bars = _bars(svg)
    assert [b.get("data-name") for b in bars[:2]] == [r["name"] for r in doc["ranking"]]
    assert [float(b.get("data-value")) for b in bars[:2]] == pytest.approx(
        [r["sla_minutes_saved_per_cost"] * 1e6 for r in doc["ranking"]])
    assert "&lt;b&gt;x&lt;/b&gt;" in svg and "<b>x" not in svg
    # a --stage that is no build exits 2 before any draw runs
    with pytest.raises(SystemExit) as exc:
        main([*args, "--stage", str(tmp_path / "nowhere")])
    assert exc.value.code == 2
    assert "notatwin3dbuildfolder" in "".join(capsys.readouterr().err.split())
    assert not math.isnan(doc["baseline"]["sla_minutes"])


def test_the_viewer_of_a_build_shows_the_panel_only_with_the_file(tmp_path):
    from conftest import write_cascade_scene

    from twin3d.app.main import create_app

    scene = write_cascade_scene(tmp_path)
    build = tmp_path / "build"
    with pytest.raises(SystemExit) as exc:
        main(["build", str(scene), "-o", str(build), "--no-validate"])
    assert exc.value.code == 0
    server, engine = create_app(build, server_name="test-app-capex-none")
    try:
        assert server.state.capex_svg == "" and server.state.capex_title == ""
    finally:
        engine.close()
    (build / CAPEX_FILE).parent.mkdir()
    (build / CAPEX_FILE).write_text(json.dumps(DOC))
    server, engine = create_app(build, server_name="test-app-capex")
    try:
        assert server.state.capex_svg == capex_svg(DOC)
        assert server.state.capex_title.startswith("3 candidates")
        page = server.state.trame__template_main     # the page's Vue template
        assert 'id="capex-panel"' in page and 'v-if="capex_svg"' in page
    finally:
        engine.close()
