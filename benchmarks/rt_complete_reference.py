"""A stored reference's unreached points, traced again path by path (issue 13).

Sionna RT's radio-map solver leaves some outdoor points of every stored
reference at its -160 dB floor: no sampled ray reached them. This script
asks Sionna's ``PathSolver``, which traces towards each receiver, for
those points only (the reference's buildings and cells, ``--depth``
interactions, first-order diffraction, ``--samples`` rays per sector),
completes the reference with the paths it finds (the larger of the two
per cell) and prints the geometric model's scores against the stored
reference and against the completed one (``twin3d.rt.compare.scores``:
per 5 m cell, in 15 m bins, and over the points the reference reaches).

Where both solvers reach a point they agree to about 1 dB (a hand check
on 100 points of macro_hel02_3500mhz: median -0.3 dB), so the completed
reference is the same ray tracer, asked more carefully. The points that
stay at the floor need paths that Sionna does not trace (two or more
diffractions).

Needs the ``[rt]`` extra and LLVM >= 19 (see ``twin3d.rt``). About 40 s
per macro reference on 2 cores; the small-cell references have more
unreached points and 6 sectors (small_south2: about 7 min).

Usage::

    python3 benchmarks/rt_complete_reference.py macro_hel02_3500mhz [--depth 6] [--samples 1e6]
                                                [--terms JSON] [--out DIR]

``--out DIR`` also writes the completed reference to ``DIR/NAME.npz`` (its
metadata records the completion: solver, depth, rays, points filled), so
that ``bench_radio_fidelity.py --refs DIR`` scores against the completed
set; a reference with no point at the floor is copied as it is.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from twin3d.physics.geometric import model as geo  # noqa: E402
from twin3d.physics.los import ground_z_m  # noqa: E402
from twin3d.rt.compare import FLOOR_DB, outdoor_mask, scores  # noqa: E402
from twin3d.rt.export import export_scene  # noqa: E402
from twin3d.rt.references import load_reference, save_reference  # noqa: E402
from twin3d.rt.solver import MARGIN_M, add_sector, load_rt_scene, load_sionna, scene_extent  # noqa: E402
from radio_terms import HELP, parse_terms  # noqa: E402


def unreached_points(ref) -> tuple[np.ndarray, np.ndarray]:
    """(flat indices of the outdoor points at the floor for every cell, outdoor mask)."""
    best = ref.path_gain_db.reshape(len(ref.specs), -1).max(axis=0)
    outdoor = outdoor_mask(ref.buildings, ref.grid).ravel()
    return np.flatnonzero(outdoor & (best <= FLOOR_DB)), outdoor


@contextmanager
def scene_with_receivers(ref, points: np.ndarray):
    """Sionna's modules ``(mi, dr, rt)`` and the reference's scene (its buildings and
    ground, no transmitter) with a receiver at each grid point ``points`` (flat indices)."""
    mi, dr, rt = load_sionna()
    xs, ys = ref.grid.centers()
    gx, gy = (v.ravel()[points] for v in np.meshgrid(xs, ys))
    gz = ground_z_m(gx, gy) + ref.ue_height_m
    with tempfile.TemporaryDirectory(prefix="twin3d-rt-") as tmp:
        ex = export_scene(ref.buildings, scene_extent(ref.grid, ref.specs, MARGIN_M), tmp,
                          ground=True)
        scene = load_rt_scene(rt, ex)
        for i in range(len(points)):
            scene.add(rt.Receiver(f"rx{i}", position=mi.Point3f(float(gx[i]), float(gy[i]),
                                                                 float(gz[i]))))
        yield mi, dr, rt, scene


def path_gain_at(ref, points: np.ndarray, depth: int, samples: int) -> np.ndarray:
    """(n_cells, n_points) path gain of each cell at the grid points ``points``
    (flat indices) by Sionna's PathSolver, dB, clipped at the floor."""
    out = np.full((len(ref.specs), len(points)), FLOOR_DB)
    with scene_with_receivers(ref, points) as (mi, dr, rt, scene):
        solver = rt.PathSolver()
        for k, s in enumerate(ref.specs):
            power, _, _ = sector_paths(mi, dr, rt, scene, solver, k, s, depth, samples)
            with np.errstate(divide="ignore"):
                out[k] = np.maximum(10.0 * np.log10(power.sum(axis=1)), FLOOR_DB)
    return out


def sector_paths(mi, dr, rt, scene, solver, k: int, spec, depth: int, samples: int) -> tuple:
    """Sector k's paths to the scene's receivers by Sionna's PathSolver (``depth``
    interactions, first-order diffraction; the sector added for the call only):
    power (n_rx, n_paths), interaction codes (depth, n_rx, n_paths) and vertices
    (depth, n_rx, n_paths, 3)."""
    tx = add_sector(mi, dr, rt, scene, k, spec)
    try:
        paths = solver(scene, max_depth=depth, los=True, specular_reflection=True,
                       refraction=True, diffraction=True, samples_per_src=samples, seed=k)
        a_re, a_im = paths.a                      # [rx, rx antenna, tx, tx antenna, path]
        power = (np.asarray(a_re.numpy()) ** 2 + np.asarray(a_im.numpy()) ** 2)
        power = power.sum(axis=(1, 3))[:, 0, :]
        n_rx = power.shape[0]
        inter = np.asarray(paths.interactions.numpy()).reshape(depth, n_rx, -1)
        vert = np.asarray(paths.vertices.numpy()).reshape(depth, n_rx, -1, 3)
    finally:
        scene.remove(tx)
    return power, inter, vert


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("name", help="a stored reference, tests/data/rt/NAME.npz")
    ap.add_argument("--depth", type=int, default=6, help="interactions per path")
    ap.add_argument("--samples", type=float, default=1e6, help="rays per sector")
    ap.add_argument("--terms", default="{}", help=HELP)
    ap.add_argument("--out", type=Path, default=None,
                    help="a folder to write the completed reference to (NAME.npz)")
    args = ap.parse_args(argv)
    terms = parse_terms(ap, args.terms)
    if args.depth < 1 or args.samples < 1:
        ap.error("--depth and --samples must be at least 1")
    stored_refs = ROOT / "tests" / "data" / "rt"
    names = sorted(p.stem for p in stored_refs.glob("*.npz"))
    if args.name not in names:          # a name from the folder, never a path
        ap.error(f"no stored reference {args.name!r}; one of: {', '.join(names)}")
    ref = load_reference(stored_refs / f"{args.name}.npz")
    n_cells = len(ref.specs)
    shape = (n_cells,) + ref.grid.shape
    stored = ref.path_gain_db.reshape(n_cells, -1).astype(float)
    points, outdoor = unreached_points(ref)
    t0 = time.perf_counter()
    traced = path_gain_at(ref, points, args.depth, int(args.samples)) if len(points) \
        else np.zeros((n_cells, 0))
    seconds = time.perf_counter() - t0
    completed = stored.copy()
    completed[:, points] = np.maximum(stored[:, points], traced)
    model = np.asarray(geo.geometric_path_gain_db(ref.buildings, ref.grid, ref.specs,
                                                  ref.ue_height_m, **terms)).reshape(shape)
    mask = outdoor.reshape(ref.grid.shape)
    n_filled = int(np.sum(traced.max(axis=0, initial=FLOOR_DB) > FLOOR_DB))
    filled = n_filled / len(points) if len(points) else 0.0
    print(f"{args.name}: {len(points)} of {outdoor.sum()} outdoor points at the floor "
          f"({len(points) / outdoor.sum():.1%}); the path solver (depth {args.depth}, "
          f"{args.samples:.0e} rays per sector, {seconds:.0f} s) reaches {filled:.0%} of them")
    if args.out is not None:
        meta = {**ref.meta, "completed": {"solver": "PathSolver", "max_depth": args.depth,
                                          "samples_per_tx": int(args.samples),
                                          "floor_points": int(len(points)), "filled": n_filled}}
        args.out.mkdir(parents=True, exist_ok=True)
        out = save_reference(replace(ref, meta=meta, path_gain_db=completed.reshape(shape)),
                             args.out / f"{args.name}.npz")
        print(f"wrote {out}")
    for label, reference in (("stored reference", stored), ("completed reference", completed)):
        s = scores(model, reference.reshape(shape), mask)
        print(f"  geometric model against the {label}: Spearman {s['spearman']:.3f}, "
              f"RMSE {s['rmse_db']:.1f} dB per cell, {s['bin_rmse_db']:.1f} dB in 15 m bins "
              f"(Spearman {s['bin_spearman']:.3f}); reached {s['reached_fraction']:.0%}, "
              f"RMSE there {s['reached_rmse_db']:.1f} dB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
