"""Ray-traced reference maps for the radio-fidelity tests (needs ``twin3d[rt]``).

Writes one compressed ``.npz`` per layout and frequency of
:data:`twin3d.rt.references.LAYOUTS` under ``tests/data/rt/`` (see
:mod:`twin3d.rt.references` for the contents): Sionna's radio map (walls and
roofs with diffuse scattering coefficient ``--scattering``), its
unreached outdoor points traced again by the path solver
(:mod:`twin3d.rt.complete`, ``--complete-samples`` rays per sector, 0 for
none), then, with ``--noise``,
ray traces the first macro and the first small-cell layout again (3.5 GHz)
with another seed, keeps that run under ``noise/`` and prints how well the
two runs agree (the reference's own Monte Carlo noise).

Usage::

    python benchmarks/make_rt_references.py [--samples 100000000] [--depth 10] [--seed 7]
        [--scattering 0.3] [--noise]
        [--noise-only] [--only macro_hel05] [--out tests/data/rt] [--freq-mhz 3500]
        [--complete-samples 10000000]

The stored set: ``--noise`` with the defaults, then ``--only macro_hel02
--freq-mhz 3500 --samples 500000000`` and the same for ``macro_hel03``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main(argv=None) -> int:
    import twin3d
    from twin3d.rt import problem
    from twin3d.rt.compare import agreement
    from twin3d.rt.solver import DEFAULT_MAX_DEPTH, DEFAULT_SCATTERING
    from twin3d.rt.complete import complete_reference
    from twin3d.rt.references import (FREQUENCIES_HZ, LAYOUTS, make_reference, reference_name,
                                      save_reference)

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--samples", type=int, default=100_000_000, help="rays per transmitter")
    p.add_argument("--depth", type=int, default=DEFAULT_MAX_DEPTH, help="interactions per path")
    p.add_argument("--seed", type=int, default=7, help="the Helsinki scene's seed")
    p.add_argument("--scattering", type=float, default=DEFAULT_SCATTERING,
                   help="the walls' and roofs' diffuse scattering coefficient S, 0-1 (0: smooth)")
    p.add_argument("--noise", action="store_true", help="repeat the first macro and small layouts with seed + 1000")
    p.add_argument("--noise-only", action="store_true", help="only the --noise runs")
    p.add_argument("--only", action="append", help="layout name(s) to make")
    p.add_argument("--out", type=Path, default=ROOT / "tests" / "data" / "rt")
    p.add_argument("--freq-mhz", type=float, action="append",
                   help="carrier(s) to make, MHz (default: the layout's own)")
    p.add_argument("--complete-samples", type=int, default=10_000_000,
                   help="path-solver rays per sector for the unreached points (0: none)")
    a = p.parse_args(argv)
    if not 0.0 <= a.scattering <= 1.0:
        p.error("--scattering must be within 0-1")
    why = problem()
    if why:
        print(f"error: {why}", file=sys.stderr)
        return 2
    twin = twin3d.load_scene(ROOT / "scenes" / "helsinki.toml").twin

    def make(lay, f, seed):
        """One layout's reference: the radio map, completed by the path solver."""
        ref = make_reference(twin, lay, f, samples_per_tx=a.samples, max_depth=a.depth,
                             seed=seed, scattering=a.scattering)
        if a.complete_samples > 0:
            ref = complete_reference(ref, depth=a.depth, samples=a.complete_samples)
        return ref

    layouts = [lay for lay in LAYOUTS if not a.only or lay.name in a.only]
    for lay in [] if a.noise_only else layouts:
        for f in [m * 1e6 for m in a.freq_mhz] if a.freq_mhz else lay.frequencies_hz:
            t0 = time.perf_counter()
            ref = make(lay, f, a.seed)
            path = save_reference(ref, a.out / f"{reference_name(lay, f)}.npz")
            print(json.dumps({"reference": ref.name, "cells": len(ref.specs),
                              "s_per_map": round(ref.meta["seconds_per_map"], 1),
                              "filled": ref.meta.get("completed", {}).get("filled"),
                              "s_total": round(time.perf_counter() - t0, 1),
                              "kb": round(path.stat().st_size / 1024, 1)}), flush=True)
    if a.noise or a.noise_only:   # the first macro and small-cell layouts, again with another seed
        from twin3d.rt.references import load_reference
        f = FREQUENCIES_HZ[-1]
        for kind in ("macro", "small"):
            lay = next((x for x in layouts if x.kind == kind), None)
            if lay is None:
                continue
            first = load_reference(a.out / f"{reference_name(lay, f)}.npz")
            again = make(lay, f, a.seed + 1000)
            save_reference(again, a.out / "noise" / f"{first.name}_seed{a.seed + 1000}.npz")
            print(json.dumps({"noise": first.name, "seeds": [a.seed, a.seed + 1000],
                              **agreement(again.path_gain_db, first.path_gain_db,
                                          first.buildings, first.grid, kind=lay.kind)}),
                  flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
