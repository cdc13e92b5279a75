"""End to end: the capex panel in headless Chromium.

Builds the small cascade scene, ranks two candidates over every single
failure with ``twin3d capex --stage BUILD`` (one named ``<b>x</b>``), serves
the build folder with ``twin3d view`` and checks that the page shows the
"Capex" panel, that opening it renders the SVG with one bar per candidate
and metric, and that the user's name is shown as text, not markup.
Screenshot: ``test-artifacts/capex_panel.png``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from viewer_server import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, serve

playwright_api = pytest.importorskip("playwright.sync_api", reason="playwright (Python) is not installed")
if not Path(CHROMIUM).exists():
    pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium)", allow_module_level=True)

from conftest import write_cascade_scene  # noqa: E402  (tests/conftest.py)

pytestmark = pytest.mark.slow

CANDIDATES = """currency = "EUR"
[[candidate]]
name = "<b>x</b>"
kind = "capacity_upgrade"
link = "AB"
capacity_bps = 40e9
cost = 1e6
[[candidate]]
name = "second fibre A-B"
kind = "new_link"
a = "A"
b = "B"
capacity_bps = 10e9
cost = 3e6
"""


def _run(*argv) -> None:
    from twin3d.cli import main
    with pytest.raises(SystemExit) as exc:
        main([str(a) for a in argv])
    assert exc.value.code == 0


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    d = tmp_path_factory.mktemp("capexview-e2e")
    scene = write_cascade_scene(d)
    (d / "c.toml").write_text(CANDIDATES)
    _run("build", scene, "-o", d / "build", "--no-validate")
    _run("capex", scene, "--candidates", d / "c.toml", "--faults", "single", "--workers", 0,
         "--stage", d / "build")
    return d / "build"


@pytest.fixture(scope="module")
def server(built):
    yield from serve(str(built))


def test_the_capex_panel_renders_the_ranking_svg(built, server):
    ranking = json.loads((built / "analysis" / "capex.json").read_text())["ranking"]
    ARTIFACTS.mkdir(exist_ok=True)
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1200})
            page.goto(server)
            page.wait_for_selector("#capex-panel", timeout=30_000)
            page.locator("#capex-panel button").first.click()
            page.wait_for_selector("#capex-chart svg.capex-chart", timeout=20_000)
            page.locator("#capex-chart").scroll_into_view_if_needed()
            page.screenshot(path=str(ARTIFACTS / "capex_panel.png"))
            names = page.eval_on_selector_all("#capex-chart rect.bar",
                                              "els => els.map(e => e.getAttribute('data-name'))")
            assert names == [r["name"] for r in ranking] * 2
            # the user's markup is text: no <b> element, its characters shown as they are
            assert page.locator("#capex-chart b").count() == 0
            assert f"{[r['name'] for r in ranking].index('<b>x</b>') + 1}. <b>x</b>" in \
                page.inner_text("#capex-chart")
            assert "per MEUR" in page.inner_text("#capex-chart")
        finally:
            browser.close()
