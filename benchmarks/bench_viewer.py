"""Viewer benchmark: first frame, step and scenario-switch server time, actors.

Run by hand (needs the view extra, Playwright and /usr/bin/chromium)::

    python3 benchmarks/bench_viewer.py [--scene scenes/helsinki.toml]

Prints, for the Helsinki scene:

* seconds from starting ``twin3d view`` to the first drawn frame in headless
  Chromium (canvas no longer blank), for a built stage (``OUT/twin.usda``)
  and for the scene TOML (which builds first);
* server time per time-step update and per scenario switch (array swap and
  ``view.update()``, printed by the server with ``TWIN3D_VIEW_TIMINGS=1``),
  median and max, wall clock and the handler thread's CPU time (on a 2-core
  machine the browser's software WebGL competes for the cores: a wall-clock
  spike with no CPU behind it is waiting, not work);
* the number of actors.
"""

from __future__ import annotations

import argparse
import io
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image
from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[1]
ARGS = ["--no-sandbox", "--use-angle=swiftshader", "--enable-unsafe-swiftshader",
        "--disable-background-networking", "--disable-component-update", "--no-first-run"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def canvas_std(page) -> float:
    try:
        png = page.locator("canvas").first.screenshot(timeout=2000)
    except Exception:
        return 0.0
    return float(np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), float).std())


def start(source: str, lines: list[str]):
    port = free_port()
    env = {**os.environ, "TWIN3D_VIEW_TIMINGS": "1", "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "twin3d", "view", source, "--port", str(port)],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    import threading

    def pump():
        for line in proc.stdout:
            lines.append(line.rstrip())
    threading.Thread(target=pump, daemon=True).start()
    return proc, f"http://127.0.0.1:{port}/"


def first_frame(browser, source: str) -> tuple[float, int, list[str], object, object]:
    lines: list[str] = []
    t0 = time.perf_counter()
    proc, url = start(source, lines)
    while not any(l.startswith("twin3d viewer:") for l in lines):
        if proc.poll() is not None:
            raise SystemExit("\n".join(lines))
        time.sleep(0.02)
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    page.goto(url)
    page.wait_for_selector("canvas", timeout=60_000)
    while canvas_std(page) < 10:
        time.sleep(0.05)
    dt = time.perf_counter() - t0
    ready = next(l for l in lines if l.startswith("twin3d viewer:"))
    actors = int(re.search(r"(\d+) actors", ready).group(1))
    return dt, actors, lines, proc, page


def timings(lines: list[str], kind: str, cpu: bool = False) -> list[float]:
    """Server milliseconds per update of ``kind``: wall clock, or the handler thread's CPU time."""
    pat = rf"twin3d timing {kind} ([\d.]+) ms cpu ([\d.]+) ms"
    return [float(m.group(2 if cpu else 1)) for l in lines if (m := re.match(pat, l))]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--scene", default="scenes/helsinki.toml")
    args = ap.parse_args()
    out = Path(tempfile.mkdtemp(prefix="bench-viewer-")) / "out"
    subprocess.run([sys.executable, "-m", "twin3d", "build", args.scene, "-o", str(out)], cwd=ROOT,
                   check=True, capture_output=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        dt_scene, _, _, proc, page = first_frame(browser, args.scene)
        page.close()
        proc.terminate()
        proc.wait()
        dt_stage, actors, lines, proc, page = first_frame(browser, str(out / "twin.usda"))
        # time steps: the slider, one step per key press
        thumb = page.locator(".v-slider-thumb").first
        thumb.focus()
        for _ in range(20):
            thumb.press("ArrowRight")
            time.sleep(0.15)
        # scenario switches
        names = ["fiber_cut_evening_peak", "site_outage", "stadium_surge", "night_energy_saving",
                 "ddos_core", "baseline_day"]
        for name in names * 2:
            page.locator(".v-select", has=page.locator("#scenario-select")).locator(".v-field").click()
            page.get_by_role("option", name=name, exact=True).click()
            time.sleep(0.4)
        time.sleep(1.0)
        proc.terminate()
        proc.wait()
        browser.close()
    steps, switches = timings(lines, "step"), timings(lines, "scenario")
    steps_cpu, switches_cpu = timings(lines, "step", cpu=True), timings(lines, "scenario", cpu=True)
    print(f"first drawn frame, built stage (twin3d view OUT/twin.usda): {dt_stage:.2f} s  (target < 5 s)")
    print(f"first drawn frame, scene TOML (builds first):              {dt_scene:.2f} s")
    print(f"time-step update, server: median {statistics.median(steps):.1f} ms, max {max(steps):.1f} ms "
          f"over {len(steps)} steps  (target < 100 ms)")
    print(f"scenario switch, server:  median {statistics.median(switches):.1f} ms, max {max(switches):.1f} ms "
          f"over {len(switches)} switches  (target < 300 ms)")
    print(f"  of which CPU (the rest is waiting for a core Chromium holds): step median "
          f"{statistics.median(steps_cpu):.1f} / max {max(steps_cpu):.1f} ms, switch median "
          f"{statistics.median(switches_cpu):.1f} / max {max(switches_cpu):.1f} ms")
    print(f"actors: {actors}  (target < 20)")


if __name__ == "__main__":
    main()
