"""The viewer's server side without a browser: what-if checks, labels and bounds, inspector values,
charts, the events-and-waves timeline, the viewer count.

Uses the small hand-worked cascade scene (four sites, five links; no radio),
so the engine loads in about a second.
"""

from __future__ import annotations

import re

import pytest

from conftest import CASCADE_TOML, write_cascade_scene


OUTAGE = CASCADE_TOML + """
[[scenario]]
name = "outage"
steps = 4
profile = "flat"
events = [{ t = 1, kind = "site_outage", target = "C" }]
"""


@pytest.fixture(scope="module")
def scene(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cascade")
    path = write_cascade_scene(folder)
    path.write_text(OUTAGE)
    return path


@pytest.fixture(scope="module")
def app(scene):
    from twin3d.app.main import create_app
    server, engine = create_app(scene, server_name="test-app-whatif")
    server.state.ready()        # state.change handlers run as on a started server
    yield server, engine
    engine.close()


@pytest.fixture
def fresh(app):
    """The app back on the first scenario at step 0, nothing picked, no message."""
    server, engine = app
    with server.state as state:
        state.scenario = "cut"
        state.step = 0
        state.message = ""
    return server, engine


def whatif_count(engine) -> int:
    return len(engine.whatif.results)


@pytest.mark.parametrize("picked, words", [
    ({"type": "link", "id": "NOPE"}, ["refused", "no link 'NOPE'"]),
    ({"type": "link", "id": "C"}, ["refused", "'C' is a site, not a link"]),     # type forged
    ({"type": "link", "id": "../" * 2 + "etc/passwd"}, ["refused", "no link"]),
    ({"type": "link", "id": ["AB"]}, ["refused"]),
    ("AB", ["refused"]),                                                        # not a record at all
])
def test_forged_whatif_target_is_refused_nothing_simulated(fresh, picked, words):
    """The browser can write any state key: the server checks the id against the twin."""
    server, engine = fresh
    names = list(engine.scenarios)
    server.state.picked = picked
    server.controller.whatif("cut")
    msg = server.state.message
    for w in words:
        assert w in msg, msg
    assert engine.whatif._sim is None, "the simulator was built: something was re-simulated"
    assert list(engine.scenarios) == names and server.state.busy is False


def test_unknown_action_is_refused(fresh):
    server, engine = fresh
    server.state.picked = {"type": "link", "id": "AB"}
    server.controller.whatif("delete_everything")
    assert "unknown action" in server.state.message
    assert engine.whatif._sim is None


def test_surge_on_a_down_site_says_why(fresh):
    from twin3d.app.whatif import WhatIfRefused
    server, engine = fresh
    with server.state as state:
        state.scenario = "outage"
        state.step = 2
    assert engine.current == "outage" and engine.step == 2
    with pytest.raises(WhatIfRefused, match=r"site C is down at steps 2-3, so it serves no area") as exc:
        engine.whatif.check("surge", "C", 2)
    assert "adds no traffic" in str(exc.value)
    server.state.picked = {"type": "site", "id": "C"}
    server.controller.whatif("surge")
    assert "serves no area" in server.state.message
    with pytest.raises(WhatIfRefused, match="already down"):
        engine.whatif.check("fail", "C", 2)
    assert engine.whatif._sim is None


def test_whatif_label_and_lru_bound(fresh, monkeypatch):
    from twin3d.app import whatif as wi
    server, engine = fresh
    monkeypatch.setattr(wi, "MAX_WHATIFS", 2)
    job = engine.whatif.check("cut", "AC", 0, viewer=2)
    assert job.label == "cut link AC at step 0 (on cut), by viewer 2"
    names = [engine.whatif.run("cut", link, 0) for link in ("AC", "CB", "AD")]
    assert names[0] == "cut + cut AC @0"
    kept = [n for n in engine.scenarios if "+" in n]
    assert kept == names[1:], kept          # the oldest dropped, at most MAX_WHATIFS kept
    assert list(engine.whatif.results) == names[1:]
    from twin3d.usd.layers import scenario_paths
    assert not any(p.exists() for p in scenario_paths(engine.workdir / "out", names[0]))
    # the KPI delta of a cut ring link: at step 0 the cut is in force
    rows = engine.kpi_rows(names[-1])
    assert rows and rows[0]["t"] == 0


def test_whatif_runs_off_the_loop_with_progress(app):
    """ctrl.whatif returns at once; the run happens in a worker thread, progress is shown."""
    import asyncio
    import threading
    server, engine = app
    seen = {}
    real = engine.whatif.simulate

    def slow(job):
        seen["thread"] = threading.current_thread() is not threading.main_thread()
        import time
        time.sleep(0.6)
        return real(job)

    engine.whatif.simulate = slow
    try:
        async def go():
            with server.state as state:
                state.scenario = "cut"
                state.step = 0
                state.picked = {"type": "link", "id": "DB"}
            server.controller.whatif("cut")
            assert server.state.busy and "re-simulating: cut link DB at step 0" in \
                server.state.whatif_progress
            server.controller.whatif("cut")     # a second one while the first runs: refused
            assert "wait: a what-if is running" in server.state.message
            for _ in range(200):
                await asyncio.sleep(0.05)
                if not server.state.busy:
                    break
        asyncio.run(go())
    finally:
        engine.whatif.simulate = real
    assert seen["thread"] is True
    assert server.state.scenario == "cut + cut DB @0"
    log = server.state.whatif_log
    assert log and log[0]["label"] == "cut link DB at step 0 (on cut)"
    assert server.state.kpi_delta_title.startswith(f"what-if #{log[0]['n']}: cut link DB")
    # the charts draw the what-if over its baseline
    assert 'class="base"' in server.state.kpi_svg and "baseline: cut" in server.state.kpi_svg


def test_inspector_values_are_rounded_with_units():
    from twin3d.app.inspector import fmt_value
    assert fmt_value("primvars:twin:rsrp_dbm", -64.66727447509766) == "-64.7 dBm"
    assert fmt_value("twin:sinr_db", float("-inf")) == "no signal"
    assert fmt_value("height_m", 12.3456) == "12.3 m"
    assert fmt_value("load_bps", 2.5e9) == "2.50 Gbit/s"
    assert fmt_value("utilization", 0.4321) == "43.2 %"
    assert fmt_value("power_w", 812.4) == "812 W"
    assert fmt_value("ratio", 0.123456789) == "0.1235"


def test_inspector_rows_have_no_raw_floats_or_arrays(fresh):
    server, engine = fresh
    from pxr import Usd
    from twin3d.app.inspector import describe
    from twin3d.viz.read import prim_attributes
    stage = engine.stage
    for prim in Usd.PrimRange(stage.GetPseudoRoot()):
        attrs = prim_attributes(prim, 1)
        if not attrs:
            continue
        extra = {"twin:rsrp_dbm": -64.66727447509766, "twin:building_ids": "[480 values]"}
        rec = describe(prim, attrs, extra)
        for label, value in rec["rows"]:
            assert not re.search(r"\d\.\d{5,}", value), (prim.GetPath(), label, value)
            assert "values]" not in value, (prim.GetPath(), label, value)
        if rec["type"] == "link":
            util = dict(rec["rows"])["utilization"]
            assert util.endswith(" %"), util


def test_inspector_signal_face():
    from pxr import Sdf, Usd, UsdGeom
    from twin3d.app.inspector import describe
    stage = Usd.Stage.CreateInMemory()
    mesh = UsdGeom.Mesh.Define(stage, "/World/Signal/RSRP").GetPrim()
    for name, kind, v in (("twin:colormap_max", Sdf.ValueTypeNames.Double, -60.0),
                          ("twin:colormap_min", Sdf.ValueTypeNames.Double, -120.0),
                          ("twin:units", Sdf.ValueTypeNames.String, "dBm")):
        mesh.CreateAttribute(name, kind, custom=True).Set(v)
    attrs = {"twin:colormap_max": -60.0, "twin:colormap_min": -120.0, "twin:units": "dBm",
             "primvars:twin:rsrp_dbm": "[117000 values]"}
    rows = dict(describe(mesh, attrs, {"twin:rsrp_dbm": -64.66727447509766})["rows"])
    assert rows["rsrp"] == "-64.7 dBm" and rows["colormap max"] == "-60 dBm"
    assert not any("values]" in v for v in rows.values())


def test_charts_have_axes_and_hover_values():
    from twin3d.app.charts import charts_html
    rows = [{"t": t, "served_bps": 1e9 * (t + 1), "util_max": 0.1 * t} for t in range(4)]
    svg = charts_html(rows, 2)
    assert "Served (Gbit/s)" in svg and "step 2: 3 Gbit/s" in svg
    assert svg.count('class="hv"') == 8                      # a hover band per step and chart
    assert "<title>step 3: 30 %</title>" in svg
    base = [{"t": t, "served_bps": 1e9, "util_max": 0.0} for t in range(4)]
    over = charts_html(rows, 2, base, "baseline_day")
    assert over.count('class="base"') == 2 and "(baseline 1)" in over


def test_timeline_lists_events_and_cascade_waves(fresh):
    server, engine = fresh
    rows = {r["t"]: r for r in server.state.story}
    assert 1 in rows and any("AB" in e for e in rows[1]["events"])
    # the hand-worked cascade: AB cut at step 1 reroutes 9 Gbit/s, tripping the 3 Gbit/s spans
    assert rows[1]["waves"] and rows[1]["waves"][0].startswith("wave 1: tripped")
    with server.state as state:
        state.step = 1
    assert "wave 1" in server.state.step_events


def test_viewer_count_follows_connections():
    from twin3d.app.session import Viewers
    state = {}
    v = Viewers(state)
    assert v.connect("x") == 1 and v.connect("y") == 2 and state["viewers"] == 2
    v.close("x")
    assert state["viewers"] == 1 and v.number("y") == 2 and v.connect("z") == 3



def test_render_window_without_display_prints_no_x_warning():
    """No X display: the viewer's plotter renders through EGL without 'bad X server connection'."""
    import os
    import subprocess
    import sys
    code = ("from twin3d.app.main import choose_render_window; choose_render_window(); "
            "import pyvista as pv; p = pv.Plotter(off_screen=True); p.add_mesh(pv.Sphere()); "
            "p.screenshot(return_img=True); print(p.ren_win.GetClassName())")
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "VTK_DEFAULT_OPENGL_WINDOW")}
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                         timeout=120)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "vtkEGLRenderWindow"
    assert "bad X server" not in res.stderr, res.stderr
