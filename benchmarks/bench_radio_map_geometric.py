"""Time the geometric radio model (issue 13) on the Helsinki city map, term by term.

The issue's speed target: a 15-sector map over 1,000 x 1,660 m at 5 m
(about 66k grid points) in under 2 s on 2 cores. Here: the bundled
Helsinki scene, its twin's bounds (1,012 x 1,666 m, 203 x 334 = 67,802
points at 5 m; the simulator adds a 200 m margin) and the first 15 cells
(5 sites x 3 sectors: HEL-01 to HEL-05); ``--cells 30`` takes every cell,
``--margin 200`` the simulator's grid.

Printed, in one run:

* compile / cache-load time: a fresh Python process times its first call
  of the model on a tiny scene, once with the numba cache of the source
  tree (what a user pays after the first run) and once with an empty cache
  directory (the first run after an install or an edit);
* the full map (``geometric_path_gain_db``, median of ``--repeat`` runs,
  after a warm-up call);
* a per-term breakdown of one run (wall crossings = exact 3D LOS and the
  knife edges, Deygout, wall reflection, corner diffraction, the diffuse
  term's walls seen from the grid (computed once per grid and buildings, so
  in the warm-up call, a look-up after) and walls lit per site, per-cell
  antenna gain and combination with the diffuse sum, the rest), by
  wrapping the functions ``site_paths`` calls;
* TR 38.901 (``radio_map`` with model UMa on the same grid and cells,
  including SINR and throughput) measured in the same run, and the issue's
  ray-tracer figure (550 s for 15 sectors at 1e8 rays per transmitter),
  quoted, not measured here.

Usage::

    python3 benchmarks/bench_radio_map_geometric.py [--cells 15 --repeat 3 --margin 0 --terms JSON]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import twin3d  # noqa: E402
from twin3d.physics.cellmaps import CellSpec  # noqa: E402
from twin3d.physics.coverage import radio_map  # noqa: E402
from twin3d.physics.geometric import model as geometric  # noqa: E402
from twin3d.physics.grid import Grid  # noqa: E402
from radio_terms import HELP, parse_terms  # noqa: E402

TARGET_S = 2.0
#: The issue's Sionna RT run: 15 sectors, 1e8 rays per transmitter, 2 cores (quoted).
RAY_TRACER_S = 550.0
#: The functions site_paths and geometric_path_gain_db call, by term.
TERMS = {"wall_crossings": "LOS + wall crossings", "deygout_loss_db": "Deygout rooftop",
         "best_single_reflection": "wall reflection", "best_corner_path": "corner diffraction",
         "best_double_reflection": "two-wall reflections", "best_dominant_path": "corner chains",
         "best_reflection_through": "reflection through buildings",
         "best_corner_through": "corner through buildings",
         "receiver_view": "diffuse: walls seen", "lit_columns": "diffuse: walls lit",
         "cell_path_gain_db": "antenna gain + combination", "shared_prisms": "building prisms"}

_FIRST_CALL = """
import time, numpy as np, shapely
t0, c0 = time.perf_counter(), time.process_time()
from twin3d.model import Buildings
from twin3d.physics.cellmaps import CellSpec
from twin3d.physics.geometric.model import geometric_path_gain_db
from twin3d.physics.grid import Grid
t1, c1 = time.perf_counter(), time.process_time()
b = Buildings(["a", "b"], np.array([shapely.box(40, -10, 60, 10), shapely.box(-30, 30, -10, 50)]),
              np.array([30.0, 12.0]), np.zeros(2), ["yes", "yes"], ["t", "t"])
spec = CellSpec((0.0, 0.0, 20.0), 20.0, 90.0, 0.0, 0.0, 3.5e9, 20e6, 8.0, 65.0)
grid = Grid(-80, -80, 10.0, 16, 16)
geometric_path_gain_db(b, grid, [spec])
t2, c2 = time.perf_counter(), time.process_time()
geometric_path_gain_db(b, grid, [spec])
t3 = time.perf_counter()
print(t1 - t0, t2 - t1, t3 - t2, c2 - c1)
"""


def first_call_s(cache_dir: str | None) -> tuple[float, float, float, float]:
    """(import s, first call s, second call s, first call CPU s) of a fresh process on a tiny scene."""
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    if cache_dir is not None:
        env["NUMBA_CACHE_DIR"] = cache_dir
    out = subprocess.run([sys.executable, "-c", _FIRST_CALL], env=env, check=True,
                         capture_output=True, text=True).stdout.split()
    return tuple(float(v) for v in out[-4:])


def timed_terms(fn):
    """Run ``fn()`` with the term functions wrapped.

    Returns ({term: (wall s, CPU s of the process)}, total wall s, total CPU s).
    """
    spent: dict[str, tuple[float, float]] = {}
    saved = {name: getattr(geometric, name) for name in TERMS if hasattr(geometric, name)}

    def wrap(name, f):
        def timed(*a, **k):
            t0, c0 = time.perf_counter(), time.process_time()
            try:
                return f(*a, **k)
            finally:
                w, c = spent.get(name, (0.0, 0.0))
                spent[name] = (w + time.perf_counter() - t0, c + time.process_time() - c0)
        return timed

    try:
        for name, f in saved.items():
            setattr(geometric, name, wrap(name, f))
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        total, cpu = time.perf_counter() - t0, time.process_time() - c0
    finally:
        for name, f in saved.items():
            setattr(geometric, name, f)
    return spent, total, cpu


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scene", default=str(ROOT / "scenes" / "helsinki.toml"))
    ap.add_argument("--cells", type=int, default=15, help="the first N cells of the scene (default 15)")
    ap.add_argument("--grid", type=float, default=5.0, help="grid step, metres")
    ap.add_argument("--margin", type=float, default=0.0,
                    help="metres added around the twin's bounds (the simulator uses 200)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--no-compile", action="store_true", help="skip the fresh-process compile timing")
    ap.add_argument("--terms", default="{}", help=HELP)
    args = ap.parse_args(argv)
    terms = parse_terms(ap, args.terms)

    print(f"load average {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}, "
          f"{os.cpu_count()} CPUs, {time.strftime('%H:%M UTC', time.gmtime())}")
    if not args.no_compile:
        imp, first, second, first_cpu = first_call_s(None)
        print(f"fresh process, numba cache of the source tree: import {imp:.2f} s, first call "
              f"{first:.2f} s wall, {first_cpu:.2f} s CPU (cache load + run), second call {second:.3f} s")
        with tempfile.TemporaryDirectory() as empty:
            imp, first, second, first_cpu = first_call_s(empty)
        print(f"fresh process, empty numba cache: first call {first:.2f} s wall, {first_cpu:.2f} s CPU "
              f"(compile + run), second call {second:.3f} s")

    scene = twin3d.load_scene(args.scene)
    twin = scene.twin
    x0, y0, x1, y1 = twin.bounds_xy_m()
    m = args.margin
    grid = Grid.covering((x0 - m, y0 - m, x1 + m, y1 + m), args.grid)
    cells = twin.cells[:args.cells]
    specs = [CellSpec.of(c, twin.sites[c.site_id]) for c in cells]
    n_sites = len({s.antenna_xyz_m for s in specs})
    n_pts = grid.nx * grid.ny
    ue = scene.spec.radio.ue_height_m
    print(f"scene {twin.name}: {len(twin.buildings)} buildings, {len(specs)} cells on {n_sites} sites; "
          f"grid {grid.nx * args.grid:,.0f} x {grid.ny * args.grid:,.0f} m at {args.grid:g} m = "
          f"{grid.nx} x {grid.ny} = {n_pts:,} points")

    def run():
        return geometric.geometric_path_gain_db(twin.buildings, grid, specs, ue, **terms)

    t0 = time.perf_counter()
    run()
    t_warm = time.perf_counter() - t0
    times, cpus = [], []
    for _ in range(args.repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        run()
        times.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
    t_geo = float(np.median(times))
    cpu = float(np.median(cpus))
    # CPU time does not grow with other processes' load: CPU / cores bounds the idle wall time below.
    print(f"geometric_path_gain_db: median {t_geo:.2f} s wall over {args.repeat} runs (min {min(times):.2f} s; "
          f"warm-up call {t_warm:.2f} s), {cpu:.2f} s CPU (all threads); "
          f"{n_pts * len(specs) / t_geo:,.0f} point-cells/s")

    spent, total, total_cpu = timed_terms(run)
    print(f"per term (one run, {total:.2f} s wall, {total_cpu:.2f} s CPU):")
    for name, label in TERMS.items():
        if name in spent:
            w, c = spent[name]
            print(f"  {label:<28} {w:7.3f} s wall {c:7.3f} s CPU  {c / total_cpu:5.1%}")
    w = total - sum(v[0] for v in spent.values())
    c = total_cpu - sum(v[1] for v in spent.values())
    print(f"  {'rest (grid, indoor, O2I)':<28} {w:7.3f} s wall {c:7.3f} s CPU  {c / total_cpu:5.1%}")

    active = np.zeros(len(twin.cells), bool)
    active[:len(specs)] = True
    r = scene.spec.radio
    t_uma = []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        radio_map(twin, model="UMa", grid_m=args.grid, ue_height_m=ue, noise_figure_db=r.noise_figure_db,
                  cell_active=active, bounds=(x0 - m, y0 - m, x1 + m, y1 + m))
        t_uma.append(time.perf_counter() - t0)
    t_uma = float(np.median(t_uma))
    print(f"TR 38.901 radio_map (UMa, raster viewshed, SINR; same grid and cells), same run: "
          f"median {t_uma:.3f} s; geometric costs {t_geo / t_uma:.1f}x that")
    print(f"ray tracer (issue 13, quoted, not measured: Sionna RT, 15 sectors, 1e8 rays/tx, 2 cores): "
          f"{RAY_TRACER_S:.0f} s; geometric is {RAY_TRACER_S / t_geo:,.0f}x faster")
    print(f"target < {TARGET_S:g} s for 15 sectors on 66k points: "
          f"{'MET' if t_geo < TARGET_S else 'MISSED'} ({t_geo:.2f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
