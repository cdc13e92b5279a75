"""twin3d's radio model against the stored Sionna RT references (issue 13).

For every reference under ``tests/data/rt/`` (made by
``benchmarks/make_rt_references.py``: 300 x 300 m Helsinki layouts at 5 m,
rooftop macros and street-level small cells, 2.1 and 3.5 GHz; a second area,
macro_hel03 and small_south2, at 3.5 GHz), this scores
twin3d's model on the reference's own buildings and sectors: best-server path
gain over outdoor points, Spearman rank correlation and RMSE after removing
the mean offset, per 5 m cell (macros) or in 15 m bins of mean linear power
(small cells), both maps clipped at -160 dB; then the same over the points
the ray tracer reaches, and the scores the model's map gets when it is put at
-160 dB exactly where the reference has no ray (``floored``: not a model,
since it reads the reference; what is left once the ray tracer's unreached
points, most of them its first-order diffraction limit, are set aside).
It also times the model and prints the reference's
own Monte Carlo noise (two seeds) where it is stored. The ray tracer is not
run here: the references are data.

The stored references are completed (:mod:`twin3d.rt.complete`): the
outdoor points Sionna's radio map left at the floor were traced again by
its path solver, and ``filled`` prints how many of them it reached.
``--radio-map-only`` scores against the radio map alone, as the references
were before commit f4bca49 (2026-12-03).

Usage::

    python3 benchmarks/bench_radio_fidelity.py [--model UMa]
    python3 benchmarks/bench_radio_fidelity.py --model geometric   # issue 13's geometric model
    python3 benchmarks/bench_radio_fidelity.py --model geometric --terms '{"v_path_difference": true}'
    python3 benchmarks/bench_radio_fidelity.py --model geometric --refs /tmp/refs   # other references
    python3 benchmarks/bench_radio_fidelity.py --model geometric --radio-map-only

The geometric model's defaults were tuned on macro_hel05 and small_south;
macro_hel02, small_west and the second area (macro_hel03, small_south2) are
held out.
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
from twin3d.rt.compare import FLOOR_DB, agreement, model_path_gain_db  # noqa: E402
from twin3d.rt.complete import COMPLETION_KEY, radio_map_only  # noqa: E402
from twin3d.rt.references import geometric_terms_of, load_reference  # noqa: E402
from radio_terms import HELP, parse_terms  # noqa: E402

REFS = ROOT / "tests" / "data" / "rt"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default=None,
                   help="path loss model for every layout, or 'geometric' "
                        "(default: UMa for macros, UMi for small cells)")
    p.add_argument("--terms", default="{}", help=HELP)
    p.add_argument("--refs", type=Path, default=REFS,
                   help="folder of references (default: tests/data/rt)")
    p.add_argument("--radio-map-only", action="store_true",
                   help="score against the radio-map solver's values alone (the path "
                        "solver's completion undone)")
    args = p.parse_args(argv)
    terms = parse_terms(p, args.terms)
    refs = args.refs
    paths = sorted(refs.glob("*.npz"))
    if not paths:
        print(f"no references under {refs}", file=sys.stderr)
        return 2
    print(f"{'reference':<22} {'model':<5} {'scored':<12} {'Spearman':>8} {'RMSE dB':>8} "
          f"{'reached':>8} {'reached RMSE':>12} {'floored':>15} {'model s':>8} {'rays/tx':>9} "
          f"{'filled':>7}")
    for path in paths:
        ref = load_reference(path)
        done = ref.meta.get(COMPLETION_KEY)
        filled = f"{done['filled']}/{done['floor_points']}" if done else "-"
        if args.radio_map_only:
            ref, filled = radio_map_only(ref), "-"
        kind = ref.meta["kind"]
        model = args.model or ("UMa" if kind == "macro" else "UMi")
        t0 = time.perf_counter()
        if model == "geometric":
            # the reference's walls on both sides: its diffuse scattering coefficient
            ours = geometric_path_gain_db(ref.buildings, ref.grid, ref.specs, ref.ue_height_m,
                                          **geometric_terms_of(ref, **terms))
        else:
            ours = model_path_gain_db(ref.buildings, ref.grid, ref.specs, ref.ue_height_m, model)
        dt = time.perf_counter() - t0
        got = agreement(ours, ref.path_gain_db, ref.buildings, ref.grid, kind)
        pre, scored = ("", "per 5 m cell") if kind == "macro" else ("bin_", f"{got['bin_m']:.0f} m bins")
        unreached = ref.path_gain_db.max(axis=0) <= FLOOR_DB
        fl = agreement(np.where(unreached[None], FLOOR_DB, ours), ref.path_gain_db,
                       ref.buildings, ref.grid, kind)
        floored = f"{fl[pre + 'spearman']:.3f} / {fl[pre + 'rmse_db']:.2f}"
        print(f"{ref.name:<22} {model[:5]:<5} {scored:<12} {got[pre + 'spearman']:>8.3f} "
              f"{got[pre + 'rmse_db']:>8.2f} {got['reached_fraction']:>8.0%} "
              f"{got['reached_rmse_db']:>12.2f} {floored:>15} {dt:>8.3f} "
              f"{ref.meta.get('samples_per_tx', 0):>9.0e} {filled:>7}")
    for noise in sorted((refs / "noise").glob("*.npz")):
        again = load_reference(noise)
        first = load_reference(refs / (noise.stem.rsplit("_seed", 1)[0] + ".npz"))
        if args.radio_map_only:
            again, first = radio_map_only(again), radio_map_only(first)
        got = agreement(again.path_gain_db, first.path_gain_db, first.buildings, first.grid)
        print(f"Monte Carlo noise {first.name}: two seeds agree at Spearman {got['spearman']:.3f}, "
              f"RMSE {got['rmse_db']:.2f} dB per cell, {got['bin_rmse_db']:.2f} dB in "
              f"{got['bin_m']:.0f} m bins")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
