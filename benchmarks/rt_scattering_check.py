"""A stored reference's layout ray traced again with diffuse scattering on the walls (issue 13).

The stored references trace specular reflection, refraction and first-order
diffraction off smooth ITU concrete: no diffuse scattering (Sionna's
``scattering_coefficient`` is 0 for its ITU materials). Real facades are
rough, and measurements fit an effective-roughness scattering coefficient
S of about 0.2-0.5 for buildings (V. Degli-Esposti et al., "Measurement and
modelling of scattering from buildings", IEEE Trans. Antennas Propag.
55(1), 2007). This script traces the reference's own buildings, cells and
grid again with Sionna's radio-map solver as the stored references were made
(depth 10, first-order diffraction, the layout's seed), with every wall's
and roof's scattering coefficient set to ``--scattering`` (the
``itu_concrete`` material; Lambertian lobe, Sionna's default; the ground
stays smooth) and diffuse reflection on,
then prints the geometric model's scores against the stored reference and
against the new map (``twin3d.rt.compare.agreement``), and the two maps
against each other. ``--scattering 0`` is the control: the stored recipe
at ``--samples`` rays, without the path solver's completion.

Nothing is stored: it says how much of the model's error against a
reference is the reference's smooth walls. Needs the ``[rt]`` extra and
LLVM >= 19. About 90-110 s per macro layout at 1e8 rays on 2 cores.

Usage::

    python3 benchmarks/rt_scattering_check.py macro_hel03_3500mhz [--scattering 0.3] [--samples 1e8]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from twin3d.physics.geometric.model import geometric_path_gain_db  # noqa: E402
from twin3d.rt.compare import agreement  # noqa: E402
from twin3d.rt.export import export_scene  # noqa: E402
from twin3d.rt.references import load_reference  # noqa: E402
from twin3d.rt.solver import MARGIN_M, RtSettings, _solve, load_sionna, scene_extent  # noqa: E402


def scattered_map(ref, scattering: float, samples: int, depth: int) -> np.ndarray:
    """(n_cells, ny, nx) path gain of ``ref``'s layout with the walls' and roofs' scattering
    coefficient set to ``scattering`` (diffuse reflection on where it is > 0), dB: the
    stored references' recipe (``twin3d.rt.solver``) otherwise."""
    mi, dr, rt = load_sionna()
    settings = RtSettings(samples, depth, int(ref.meta["seed"]), True, True)
    with tempfile.TemporaryDirectory(prefix="twin3d-rt-") as tmp:
        ex = export_scene(ref.buildings, scene_extent(ref.grid, ref.specs, MARGIN_M), tmp,
                          ground=True)
        return _solve(mi, dr, rt, ex, ref.grid, ref.specs, ref.ue_height_m, settings,
                      scattering=scattering)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("name", help="a stored reference, tests/data/rt/NAME.npz")
    ap.add_argument("--scattering", type=float, default=0.3,
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
