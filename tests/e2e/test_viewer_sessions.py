"""End to end: two browser tabs on one viewer server, in headless Chromium.

The session is shared and the page says so: both tabs show "shared
session: 2 viewers" (and 1 once a tab closes), each knows its viewer
number, and a what-if made in tab A (run off the server's loop, with a
progress bar) is listed in tab B labelled with the action, the element, the
step and the viewer who made it; B's charts draw it over its baseline.
Also: the inspector's values are rounded with units, charts show the value
under the pointer, the timeline lists events, the browser console has no
405 (the trame client's ``POST /paraview/`` launcher probe is answered),
and the server's start prints no ``bad X server`` warning.

Screenshots go to ``test-artifacts/sessions_*.png``.
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import pytest
from viewer_server import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, serve

VIEWPORT = {"width": 1400, "height": 900}

playwright_api = pytest.importorskip("playwright.sync_api", reason="playwright (Python) is not installed")
if not Path(CHROMIUM).exists():
    pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium)", allow_module_level=True)


pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """``twin3d view scenes/helsinki.toml`` without a display; yields (url, path of its stderr)."""
    err_path = tmp_path_factory.mktemp("server") / "stderr.txt"
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "VTK_DEFAULT_OPENGL_WINDOW")}
    for url in serve("scenes/helsinki.toml", stderr_path=err_path, env=env):
        yield url, err_path


class Tab:
    """One browser tab (its own context, as another person's browser) and what its console said."""

    def __init__(self, browser, url: str, name: str) -> None:
        self.name = name
        self.context = browser.new_context(viewport=VIEWPORT)
        self.page = self.context.new_page()
        self.console: list[tuple[str, str]] = []
        self.failed: list[tuple[int, str, str]] = []
        self.page.on("console", lambda m: self.console.append((m.type, m.text)))
        self.page.on("response", lambda r: r.status >= 400 and self.failed.append(
            (r.status, r.request.method, r.url)))
        self.page.goto(url)
        self.page.wait_for_selector("canvas", timeout=30_000)

    def shot(self, name: str) -> None:
        self.page.screenshot(path=str(ARTIFACTS / f"sessions_{name}_{self.name}.png"))

    def text(self, selector: str) -> str:
        return self.page.inner_text(selector)

    def wait_text(self, selector: str, needle: str, timeout_s: float = 20.0) -> str:
        self.page.wait_for_function(
            "([s, t]) => { const e = document.querySelector(s); return e && e.textContent.includes(t); }",
            arg=[selector, needle], timeout=timeout_s * 1000)
        return self.text(selector)


@pytest.fixture(scope="module")
def tabs(server):
    ARTIFACTS.mkdir(exist_ok=True)
    url, _ = server
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        a = Tab(browser, url, "A")
        a.wait_text("#session", "you are viewer")
        b = Tab(browser, url, "B")
        yield a, b
        browser.close()


def viewer_number(tab: Tab) -> int:
    text = tab.wait_text("#session", "you are viewer")
    return int(re.search(r"you are viewer (\d+)", text).group(1))


def test_server_start_has_no_x_warning(server):
    _, err_path = server
    err = err_path.read_text()
    assert "bad X server" not in err, err
    assert "vtkXOpenGLRenderWindow" not in err, err


def test_two_tabs_see_the_viewer_count(tabs):
    a, b = tabs
    assert "shared session: 2 viewers" in a.wait_text("#session", "2 viewers")
    assert "shared session: 2 viewers" in b.wait_text("#session", "2 viewers")
    assert viewer_number(a) != viewer_number(b)
    a.shot("01_two_viewers")


def test_inspector_face_values_rounded_with_units(tabs):
    """A click on the ground picks the RSRP map's face (or a building): rounded, with units."""
    a, _ = tabs
    pg = a.page
    box = pg.locator("canvas").first.bounding_box()
    pg.mouse.click(box["x"] + box["width"] * 0.3, box["y"] + box["height"] * 0.2)
    pg.wait_for_selector("#inspector", timeout=15_000)
    text = a.text("#inspector")
    a.shot("02_picked_ground")
    assert not re.search(r"\d\.\d{4,}", text), text      # not -64.66727447509766
    assert "values]" not in text, text                   # not [480 values]
    assert re.search(r"-?\d+(\.\d)? (dBm|dB|m)\b", text), text


def test_inspector_values_rounded_with_units(tabs):
    a, _ = tabs
    pg = a.page
    pg.locator(".v-autocomplete", has=pg.locator("#find-box")).locator(".v-field").click()
    pg.keyboard.type("F-02")
    pg.get_by_role("option", name="F-02", exact=True).click()
    time.sleep(1.5)                          # the camera flies to the link
    box = pg.locator("canvas").first.bounding_box()
    pg.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    text = a.wait_text("#inspector", "F-02", 15)
    a.shot("02_picked_link")
    rows = dict(line.split("\t", 1) for line in text.splitlines() if "\t" in line)
    assert re.fullmatch(r"\d+\.\d %", rows["utilization"]), rows
    assert rows["capacity"] == "10.00 Gbit/s"     # the ring span F-02 (scenes/make_helsinki.py)
    assert not re.search(r"\d\.\d{4,}", text), text      # no raw floats
    assert "values]" not in text


def test_whatif_in_one_tab_is_labelled_in_the_other(tabs):
    a, b = tabs
    who = viewer_number(a)
    a.page.click("#whatif-cut")
    # progress while it runs (in both tabs: the session is shared)
    a.page.wait_for_selector("#whatif-progress", timeout=10_000)
    assert "re-simulating: cut link F-02 at step 0" in a.text("#whatif-progress")
    a.shot("03_whatif_running")
    label = f"cut link F-02 at step 0 (on baseline_day), by viewer {who}"
    log = b.wait_text("#whatif-log", label, 90)
    assert "#1 " + label in log
    b.wait_text("#status", "cut F-02 @0")
    assert f"what-if #1: {label}" in b.wait_text("#kpi-delta", "what-if #1")
    # B's charts draw the what-if over its baseline, with a key
    b.page.wait_for_selector("#kpi-charts polyline.base")
    assert "baseline: baseline_day" in b.text("#chart-key")
    time.sleep(1.0)
    b.shot("04_whatif_seen_in_B")
    a.shot("04_whatif_done")


def test_chart_shows_value_under_pointer(tabs):
    _, b = tabs
    chart = b.page.locator("#kpi-charts svg").first
    band = chart.locator("g.hv").nth(12)
    label = band.locator("text")
    assert label.evaluate("e => getComputedStyle(e).visibility") == "hidden"
    band.hover()
    assert label.evaluate("e => getComputedStyle(e).visibility") == "visible"
    assert re.match(r"step 12: [-\d.e+]+ Gbit/s \(baseline [-\d.e+]+\)", label.text_content())
    b.page.locator("#kpi-charts").screenshot(path=str(ARTIFACTS / "sessions_05_chart_hover_B.png"))


def test_timeline_lists_the_steps_events(tabs):
    a, b = tabs
    pg = a.page
    pg.locator(".v-select", has=pg.locator("#scenario-select")).locator(".v-field").click()
    pg.get_by_role("option", name="fiber_cut_evening_peak", exact=True).click()
    text = b.wait_text("#timeline", "step 18")          # shared: B follows
    assert "F-01" in text and "step 22" in text
    b.page.click("#story-18")                           # a row moves the time slider there
    a.wait_text("#status", "step 18")
    # the events line is its own state update: wait for it as for the status
    assert "F-01" in a.wait_text("#step-events", "F-01")
    a.shot("06_timeline_step_18")


def test_closing_a_tab_updates_the_count(tabs):
    a, b = tabs
    b.context.close()
    assert "shared session: 1 viewer" in a.wait_text("#session", "1 viewer ")


def test_no_405_and_no_console_errors(tabs):
    a, b = tabs
    for tab in (a, b):
        errors = [t for kind, t in tab.console if kind == "error"]
        assert not [t for t in errors if "405" in t], errors
        assert not [f for f in tab.failed if f[0] == 405], tab.failed
        assert not errors, errors
