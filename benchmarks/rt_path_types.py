"""Which ray-traced paths carry the power where the geometric model is wrong (issue 13).

For one stored reference and one error regime of
``benchmarks/radio_error_regimes.py`` (e.g. ``"rooftop, more edges"``),
takes up to ``--points`` outdoor points the ray tracer reaches where the
model is more than ``--below`` dB too weak (after the mean offset; with
``--above``, more than that many dB too strong instead), asks
Sionna's ``PathSolver`` for their paths (``--depth`` interactions,
first-order diffraction, reflection and refraction, and diffuse reflection
off the reference's walls when it was traced with rough ones) and prints,
per point and best server, the three strongest interaction sequences
(``D`` diffraction, ``R`` specular reflection, ``S`` diffuse scattering,
``T`` refraction, ``LOS``) with
their power, the single diffraction's vertex when a lone ``D`` is the
strongest (a vertical edge: a building corner; a horizontal one: a roof
edge), and a tally of the strongest sequence over the points.

Use the tuning layouts (macro_hel05, small_south) to choose changes.
Needs the ``[rt]`` extra and LLVM >= 19 (see ``twin3d.rt``); about a minute
for 60 points of a macro reference.

Usage::

    python3 benchmarks/rt_path_types.py macro_hel05_3500mhz "rooftop, more edges" [--below 8]
                                        [--above DB] [--points 60 --depth 3 --terms JSON]
"""

from __future__ import annotations

import argparse
import collections
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from twin3d.rt.compare import FLOOR_DB  # noqa: E402
from twin3d.rt.references import load_reference, scattering_of  # noqa: E402
from radio_error_regimes import REFS, regimes  # noqa: E402
from twin3d.rt.complete import scene_with_receivers, sector_paths  # noqa: E402
from radio_terms import HELP, parse_terms  # noqa: E402

#: Sionna RT's interaction type codes (``Paths.interactions``) as letters.
LETTERS = {1: "R", 2: "S", 4: "T", 8: "D"}


def sequence(codes) -> str:
    """A path's interactions as letters, e.g. ``"RD"`` (reflection then diffraction).

    Examples
    --------
    >>> sequence([1, 8, 0]), sequence([0, 0, 0])
    ('RD', 'LOS')
    """
    return "".join(LETTERS.get(int(c), "?") for c in codes if c) or "LOS"


def traced_paths(ref, flat_points: np.ndarray, depth: int, samples: int) -> list:
    """Per cell: (power (n_points, n_paths), interactions (depth, n_points, n_paths),
    vertices (depth, n_points, n_paths, 3)) of Sionna's PathSolver at the grid points."""
    out = []
    with scene_with_receivers(ref, flat_points) as (mi, dr, rt, scene):
        solver = rt.PathSolver()
        for k, s in enumerate(ref.specs):
            out.append(sector_paths(mi, dr, rt, scene, solver, k, s, depth, samples,
                                    diffuse=scattering_of(ref) > 0))
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("name", help="a stored reference, tests/data/rt/NAME.npz")
    ap.add_argument("regime", help="a regime label of radio_error_regimes.py")
    ap.add_argument("--below", type=float, default=8.0, help="the model this many dB too weak")
    ap.add_argument("--above", type=float, default=None,
                    help="instead: the model this many dB too strong")
    ap.add_argument("--points", type=int, default=60)
    ap.add_argument("--depth", type=int, default=3, help="interactions per path")
    ap.add_argument("--terms", default="{}", help=HELP)
    args = ap.parse_args(argv)
    terms = parse_terms(ap, args.terms)
    names = sorted(p.stem for p in REFS.glob("*.npz"))
    if args.name not in names:          # a name from the folder, never a path
        ap.error(f"no stored reference {args.name!r}; one of: {', '.join(names)}")
    if args.points < 1 or args.depth < 1:
        ap.error("--points and --depth must be at least 1")
    ref = load_reference(REFS / f"{args.name}.npz")
    err, m, rows, (best, r) = regimes(ref, **terms)
    labels = dict(reversed(rows))       # a label's first row ("  ... reached" repeats)
    if args.regime not in labels:
        ap.error(f"no regime {args.regime!r}; one of: "
                 + " | ".join(dict.fromkeys(lab.strip() for lab, _ in rows)))
    off = err < -args.below if args.above is None else err > args.above
    sel = labels[args.regime] & off & (r > FLOOR_DB)
    points = np.flatnonzero(sel)[:args.points]
    how = f"{args.below:g} dB too weak" if args.above is None else f"{args.above:g} dB too strong"
    print(f"{args.name}, {args.regime!r}: {int(sel.sum())} reached points with the model over "
          f"{how}; tracing {len(points)}")
    if not len(points):
        return 0
    cells = traced_paths(ref, points, args.depth, 10**6)
    xs, ys = ref.grid.centers()
    gx, gy = (v.ravel() for v in np.meshgrid(xs, ys))
    tally = collections.Counter()
    for i, g in enumerate(points):
        k = int(np.argmax([c[0][i].sum() for c in cells]))
        power, inter, vert = cells[k]
        by = collections.defaultdict(float)
        strongest = {}
        for j in np.flatnonzero(power[i] > 0):
            seq = sequence(inter[:, i, j])
            by[seq] += power[i, j]
            if power[i, j] > strongest.get(seq, (0.0, None))[0]:
                strongest[seq] = (power[i, j], vert[0, i, j])
        top = sorted(by.items(), key=lambda kv: -kv[1])[:3]
        tally[top[0][0] if top else "none"] += 1
        line = ", ".join(f"{s} {10 * np.log10(p):.1f}" for s, p in top) or "no path"
        print(f"point ({gx[g]:.1f}, {gy[g]:.1f}): model {best[g]:.1f} dB, reference {r[g]:.1f} dB "
              f"(error {err[g]:+.1f} after the offset); paths of cell {k}: {line}")
        if top and top[0][0] == "D":
            x, y, z = strongest["D"][1]
            print(f"    its diffraction at ({x:.1f}, {y:.1f}, {z:.1f}) m")
    print("strongest sequence over the points: "
          + ", ".join(f"{s} {n}" for s, n in tally.most_common()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
