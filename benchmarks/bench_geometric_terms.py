"""Cost of each term of the geometric radio model (issue 13), per layout and on the city map.

For every stored reference layout (300 x 300 m at 5 m, 3 or 6 sectors) and
for the bundled Helsinki scene's whole map (every sector, 5 m grid over the
buildings' extent), times :func:`geometric_path_gain_db` with the first
version's terms (``--base``: no transmission, two-wall reflections or
corner chains) and then with each new term switched on alone and all
together, in the same run (timings on a shared machine are noisy: compare
the ratios). Each figure is the least of ``--repeat`` runs after a warm-up
(numba compiles once): wall seconds, and with ``--cpu`` the process's CPU
seconds over every thread (less sensitive to other jobs on the machine).

Usage::

    python3 benchmarks/bench_geometric_terms.py [--repeat 2] [--no-city]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from twin3d.physics.geometric.los3d import building_prisms  # noqa: E402
from twin3d.physics.geometric.model import geometric_path_gain_db  # noqa: E402
from twin3d.rt.references import load_reference  # noqa: E402

BASE = dict(transmission=False, reflections2=False, dominant_path=False)
VARIANTS = {"base": {}, "+transmission": {"transmission": True},
            "+reflections2": {"reflections2": True}, "+dominant_path": {"dominant_path": True},
            "all (default)": {"transmission": True, "reflections2": True, "dominant_path": True}}


CLOCK = time.perf_counter


def _time(buildings, grid, specs, ue_h, prisms, terms, repeat):
    best = float("inf")
    for _ in range(repeat):
        t0 = CLOCK()
        geometric_path_gain_db(buildings, grid, specs, ue_h, prisms=prisms, **terms)
        best = min(best, CLOCK() - t0)
    return best


def _row(name, buildings, grid, specs, ue_h, repeat):
    prisms = building_prisms(buildings)
    geometric_path_gain_db(buildings, grid, specs, ue_h, prisms=prisms)      # warm-up, compiles
    t = {k: _time(buildings, grid, specs, ue_h, prisms, {**BASE, **v}, repeat)
         for k, v in VARIANTS.items()}
    print(f"{name:<22} {len(specs):>3} {grid.nx * grid.ny:>7} "
          + " ".join(f"{t[k]:>14.3f}" for k in VARIANTS)
          + f" {t['all (default)'] / t['base']:>7.2f}x",
          flush=True)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeat", type=int, default=2)
    p.add_argument("--no-city", action="store_true", help="skip the whole Helsinki map")
    p.add_argument("--cpu", action="store_true", help="CPU seconds (all threads), not wall")
    a = p.parse_args(argv)
    global CLOCK
    CLOCK = time.process_time if a.cpu else time.perf_counter
    print(f"load average {os.getloadavg()[0]:.2f}; {'CPU' if a.cpu else 'wall'} seconds "
          f"(least of {a.repeat})")
    print(f"{'layout':<22} {'sec':>3} {'points':>7} " + " ".join(f"{k:>14}" for k in VARIANTS)
          + f" {'ratio':>8}")
    for path in sorted((ROOT / "tests" / "data" / "rt").glob("*.npz")):
        ref = load_reference(path)
        _row(ref.name, ref.buildings, ref.grid, ref.specs, ref.ue_height_m, a.repeat)
    if not a.no_city:
        import shapely

        import twin3d
        from twin3d.physics.cellmaps import CellSpec
        from twin3d.physics.grid import Grid
        twin = twin3d.load_scene(ROOT / "scenes" / "helsinki.toml").twin
        specs = [CellSpec.of(c, s) for s in twin.sites.values() for c in s.cells]
        grid = Grid.covering(tuple(shapely.total_bounds(twin.buildings.footprints)), 5.0)
        _row("helsinki (city map)", twin.buildings, grid, specs, 1.5, 1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
