"""A stored reference's unreached points, traced again path by path (issue 13).

Sionna RT's radio-map solver leaves some outdoor points of a reference at
its -160 dB floor: no sampled ray reached them. This script asks Sionna's
``PathSolver``, which traces towards each receiver, for those points only
(:func:`twin3d.rt.complete.complete_reference`: the reference's buildings
and cells, ``--depth`` interactions, first-order diffraction, ``--samples``
rays per sector), and prints the geometric model's scores against the
radio-map reference and against the completed one
(``twin3d.rt.compare.scores``: per 5 m cell, in 15 m bins, and over the
points the reference reaches).

The stored references (``tests/data/rt``) are completed already, at depth
10 with 1e7 rays: for them the script starts from the radio-map solver's
reference (:func:`twin3d.rt.complete.radio_map_only`) and traces again.

Needs the ``[rt]`` extra and LLVM >= 19 (see ``twin3d.rt``). About 30-150 s
per macro reference on 2 cores; the small-cell references have more
unreached points and 6 sectors (small_south2: about 17 min).

Usage::

    python3 benchmarks/rt_complete_reference.py macro_hel02_3500mhz [--depth 10] [--samples 1e7]
                                                [--terms JSON] [--out DIR]

``--out DIR`` also writes the completed reference to ``DIR/NAME.npz`` (its
metadata records the completion: solver, depth, rays, the flat grid indices
of the points filled), so that ``bench_radio_fidelity.py --refs DIR`` scores
against that set. ``NAME`` may be ``noise/NAME`` (the second-seed runs).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from twin3d.physics.geometric import model as geo  # noqa: E402
from twin3d.rt.compare import outdoor_mask, scores  # noqa: E402
from twin3d.rt.complete import COMPLETION_KEY, complete_reference, radio_map_only  # noqa: E402
from twin3d.rt.references import load_reference, save_reference  # noqa: E402
from radio_terms import HELP, parse_terms  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("name", help="a stored reference, tests/data/rt/NAME.npz (noise/NAME for "
                                 "the second-seed runs)")
    ap.add_argument("--depth", type=int, default=10, help="interactions per path")
    ap.add_argument("--samples", type=float, default=1e7, help="rays per sector")
    ap.add_argument("--terms", default="{}", help=HELP)
    ap.add_argument("--out", type=Path, default=None,
                    help="a folder to write the completed reference to (NAME.npz)")
    args = ap.parse_args(argv)
    terms = parse_terms(ap, args.terms)
    if args.depth < 1 or args.samples < 1:
        ap.error("--depth and --samples must be at least 1")
    stored_refs = ROOT / "tests" / "data" / "rt"
    names = sorted(str(p.relative_to(stored_refs).with_suffix(""))
                   for p in [*stored_refs.glob("*.npz"), *stored_refs.glob("noise/*.npz")])
    if args.name not in names:          # a name from the folder, never a path
        ap.error(f"no stored reference {args.name!r}; one of: {', '.join(names)}")
    ref = radio_map_only(load_reference(stored_refs / f"{args.name}.npz"))
    t0 = time.perf_counter()
    done = complete_reference(ref, depth=args.depth, samples=int(args.samples))
    seconds = time.perf_counter() - t0
    how = done.meta[COMPLETION_KEY]
    outdoor = outdoor_mask(ref.buildings, ref.grid)
    n_floor = how["floor_points"]
    print(f"{args.name}: {n_floor} of {outdoor.sum()} outdoor points at the floor "
          f"({n_floor / outdoor.sum():.1%}); the path solver (depth {args.depth}, "
          f"{args.samples:.0e} rays per sector, {seconds:.0f} s) reaches "
          f"{how['filled'] / max(1, n_floor):.0%} of them")
    if args.out is not None:
        out = args.out / f"{args.name}.npz"
        out.parent.mkdir(parents=True, exist_ok=True)
        save_reference(done, out)
        print(f"wrote {out}")
    model = np.asarray(geo.geometric_path_gain_db(ref.buildings, ref.grid, ref.specs,
                                                  ref.ue_height_m, **terms))
    for label, reference in (("radio-map reference", ref), ("completed reference", done)):
        s = scores(model, reference.path_gain_db, outdoor)
        print(f"  geometric model against the {label}: Spearman {s['spearman']:.3f}, "
              f"RMSE {s['rmse_db']:.1f} dB per cell, {s['bin_rmse_db']:.1f} dB in 15 m bins "
              f"(Spearman {s['bin_spearman']:.3f}); reached {s['reached_fraction']:.0%}, "
              f"RMSE there {s['reached_rmse_db']:.1f} dB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
