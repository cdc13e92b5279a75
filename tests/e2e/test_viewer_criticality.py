"""End to end: the criticality colour mode in headless Chromium.

Builds the Abilene backbone, sweeps every single failure and attaches the
criticality layer (``twin3d criticality --stage BUILD``), serves the build
folder with ``twin3d view`` and checks that the page offers the mode and
that choosing "traffic lost" repaints the links and sites on the canvas
(the browser's own pixels), with the legend in Gbit/s. Screenshots go to
``test-artifacts/criticality_*.png``.
"""

from __future__ import annotations

import io
import time
from pathlib import Path

import numpy as np
import pytest
from viewer_server import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, serve

playwright_api = pytest.importorskip("playwright.sync_api", reason="playwright (Python) is not installed")
if not Path(CHROMIUM).exists():
    pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium)", allow_module_level=True)

from PIL import Image  # noqa: E402  (pyvista's dependency)

pytestmark = pytest.mark.slow

ZOO = Path(__file__).resolve().parents[2] / "assets" / "topologyzoo"
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


def _run(*argv) -> None:
    from twin3d.cli import main
    with pytest.raises(SystemExit) as exc:
        main([str(a) for a in argv])
    assert exc.value.code == 0


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    d = tmp_path_factory.mktemp("critview-e2e")
    scene = d / "abilene.toml"
    scene.write_text(SCENE.format(path=(ZOO / "Abilene.graphml").as_posix()))
    _run("build", scene, "-o", d / "build", "--no-validate")
    _run("sweep", scene, "--faults", "single", "--workers", 0, "-o", d / "single.parquet")
    _run("criticality", d / "single.parquet", scene, "-o", d / "crit.json", "--stage", d / "build")
    yield from serve(str(d / "build"))


def canvas_rgb(page) -> np.ndarray:
    png = page.locator("canvas").first.screenshot()
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), int)


def changed_pixels(a: np.ndarray, b: np.ndarray) -> int:
    """Pixels whose colour moved by more than 30 levels in some channel."""
    return int((np.abs(a - b).max(axis=2) > 30).sum())


def test_choosing_traffic_lost_repaints_the_network(server):
    ARTIFACTS.mkdir(exist_ok=True)
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.goto(server)
            page.wait_for_selector("#color-mode-toggle", timeout=30_000)
            deadline = time.monotonic() + 30
            before = canvas_rgb(page)
            while before.std() < 10 and time.monotonic() < deadline:
                time.sleep(0.5)
                before = canvas_rgb(page)
            time.sleep(1.0)             # let the first frames settle
            before = canvas_rgb(page)
            still = canvas_rgb(page)
            assert changed_pixels(before, still) < 20       # the canvas is steady before the click
            page.screenshot(path=str(ARTIFACTS / "criticality_01_state.png"))
            old = int(page.inner_text("#frame") or 0)
            page.locator("#color-mode-lost").click()
            page.wait_for_function(
                f"() => Number(document.querySelector('#frame').textContent) > {old}", timeout=20_000)
            after = canvas_rgb(page)
            deadline = time.monotonic() + 20
            while changed_pixels(before, after) < 200 and time.monotonic() < deadline:
                time.sleep(0.4)
                after = canvas_rgb(page)
            page.screenshot(path=str(ARTIFACTS / "criticality_02_lost.png"))
            assert changed_pixels(before, after) >= 200
            assert "Criticality: traffic lost (Gbit/s)" in page.inner_text("body")
        finally:
            browser.close()
