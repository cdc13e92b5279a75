"""A stored reference's layout ray traced again with another wall scattering coefficient (issue 13).

The stored references trace specular reflection, refraction, first-order
diffraction and diffuse scattering off ITU concrete walls and roofs with a
scattering coefficient S = 0.3 (``twin3d.rt.solver.DEFAULT_SCATTERING``;
Sionna's ITU materials have S = 0, smooth). Measurements fit an
effective-roughness S of about 0.2-0.5 for buildings (V. Degli-Esposti et
al., "Measurement and modelling of scattering from buildings", IEEE Trans.
Antennas Propag. 55(1), 2007). This script traces the reference's own
buildings, cells and grid again with Sionna's radio-map solver as the
stored references were made (depth 10, first-order diffraction, the
layout's seed, Lambertian lobe, the ground smooth), with the walls' and
roofs' S set to ``--scattering`` (diffuse reflection off at 0), then prints
the geometric model's scores against the stored reference and against the
new map (``twin3d.rt.compare.agreement``), and the two maps against each
other. ``--scattering 0`` traces the smooth-wall references of before;
``--scattering 0.3`` is the control: the stored recipe at ``--samples``
rays, without the path solver's completion.

Nothing is stored: it says how much a score depends on the walls'
roughness. Needs the ``[rt]`` extra and LLVM >= 19. About 90-110 s per
macro layout at 1e8 rays on 2 cores.

Usage::

    python3 benchmarks/rt_scattering_check.py macro_hel03_3500mhz [--scattering 0] [--samples 1e8]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from twin3d.physics.geometric.model import geometric_path_gain_db  # noqa: E402
from twin3d.rt.compare import agreement  # noqa: E402
from twin3d.rt.references import load_reference  # noqa: E402
from twin3d.rt.solver import RtSettings, path_gain_db  # noqa: E402


def scattered_map(ref, scattering: float, samples: int, depth: int) -> np.ndarray:
    """(n_cells, ny, nx) path gain of ``ref``'s layout with the walls' and roofs' scattering
    coefficient set to ``scattering`` (diffuse reflection on where it is > 0), dB: the
    stored references' recipe (``twin3d.rt.solver``) otherwise."""
    settings = RtSettings(samples, depth, int(ref.meta["seed"]), True, True, scattering)
    return path_gain_db(ref.buildings, ref.grid, ref.specs, ue_height_m=ref.ue_height_m,
                        settings=settings)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("name", help="a stored reference, tests/data/rt/NAME.npz")
    ap.add_argument("--scattering", type=float, default=0.0,
                    help="the walls' and roofs' scattering coefficient S, 0-1")
    ap.add_argument("--samples", type=float, default=1e8, help="rays per sector")
    ap.add_argument("--depth", type=int, default=10, help="interactions per path")
    args = ap.parse_args(argv)
    if not 0.0 <= args.scattering <= 1.0 or args.samples < 1 or args.depth < 1:
        ap.error("--scattering must be within 0-1, --samples and --depth at least 1")
    stored_refs = ROOT / "tests" / "data" / "rt"
    names = sorted(p.stem for p in stored_refs.glob("*.npz"))
    if args.name not in names:          # a name from the folder, never a path
        ap.error(f"no stored reference {args.name!r}; one of: {', '.join(names)}")
    ref = load_reference(stored_refs / f"{args.name}.npz")
    kind = ref.meta["kind"]
    t0 = time.perf_counter()
    traced = scattered_map(ref, args.scattering, int(args.samples), args.depth)
    seconds = time.perf_counter() - t0
    model = geometric_path_gain_db(ref.buildings, ref.grid, ref.specs, ref.ue_height_m)
    pre, unit = ("", "per 5 m cell") if kind == "macro" else ("bin_", "in 15 m bins")
    print(f"{args.name}: traced with S = {args.scattering} ({args.samples:.0e} rays per sector, "
          f"depth {args.depth}) in {seconds:.0f} s")
    for label, reference in (("stored reference", ref.path_gain_db),
                             (f"map with S = {args.scattering}", traced)):
        a = agreement(model, reference, ref.buildings, ref.grid, kind)
        print(f"  geometric model against the {label}: Spearman {a[pre + 'spearman']:.3f}, "
              f"RMSE {a[pre + 'rmse_db']:.2f} dB {unit}; reached {a['reached_fraction']:.1%}, "
              f"RMSE there {a['reached_rmse_db']:.2f} dB; model minus reference {a['offset_db']:+.2f} dB")
    a = agreement(traced, ref.path_gain_db, ref.buildings, ref.grid, kind)
    print(f"  map with S = {args.scattering} against the stored reference: Spearman "
          f"{a[pre + 'spearman']:.3f}, RMSE {a[pre + 'rmse_db']:.2f} dB {unit}, "
          f"{a['offset_db']:+.2f} dB stronger")
    return 0


if __name__ == "__main__":
    sys.exit(main())
