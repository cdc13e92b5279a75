"""A candidate term, tried before it is built: one wall reflection whose legs pass through one building (issue 13).

Where the street-level small cells are most wrong, the ray tracer's
strongest paths go through a building and off a wall (refraction,
reflection, refraction and the like: ``rt_path_types.py small_south_3500mhz
"rooftop, more edges"``), which the model's terms do not combine. This
script adds such a path to the default model, by brute force, and scores
it against the stored references:

* every wall facing the antenna gives the image-method reflection of
  :func:`twin3d.physics.geometric.reflection.single_reflections` (below
  the wall's top), for every NLOS point;
* each leg counts the walls it crosses below their building's roof (the
  reflecting wall left out); a pass through a building is two slabs, a
  roof or a wall each, so an odd count is rounded up per leg, as
  :func:`~twin3d.physics.geometric.transmission.slabs_crossed` does;
* a path through 1 to ``--max-slabs`` slabs costs free space over the
  unfolded length, the wall's reflection loss and the slabs' P.2040 loss;
  the least per point joins the indirect paths (its antenna gain taken
  towards the reflection point). Paths with no slab are the existing
  reflection term.

The wall-by-wall count is O(walls) per leg: fine for the 300 m reference
areas, far too slow for a city map; a real term needs the searches'
tiles, bounds and bucket walks.

Usage::

    python3 benchmarks/try_reflection_through.py [NAME ...] [--max-slabs 2]

Use the tuning layouts (macro_hel05, small_south) to choose changes.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from numba import njit, prange

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from twin3d.physics.geometric import model, reflection  # noqa: E402
from twin3d.physics.geometric.crossing import edge_hit  # noqa: E402
from twin3d.physics.geometric.transmission import slab_loss_db  # noqa: E402
from twin3d.physics.radio import C_M_S  # noqa: E402
from twin3d.rt.compare import agreement  # noqa: E402
from twin3d.rt.references import load_reference  # noqa: E402

REFS = ROOT / "tests" / "data" / "rt"


@njit(parallel=True, cache=True)
def walls_below_roof(p0, p1, skip, edges, edge_b, base, top, out):  # pragma: no cover - compiled
    """Per segment p0[i] -> p1[i], the walls (but ``skip[i]``) it crosses within their
    building's height, into ``out[i]``; every wall is tried (its box first)."""
    for i in prange(p0.shape[0]):
        x0, y0, z0 = p0[i, 0], p0[i, 1], p0[i, 2]
        dx, dy, dz = p1[i, 0] - x0, p1[i, 1] - y0, p1[i, 2] - z0
        lo_x, hi_x = min(x0, p1[i, 0]), max(x0, p1[i, 0])
        lo_y, hi_y = min(y0, p1[i, 1]), max(y0, p1[i, 1])
        n = 0
        for e in range(edges.shape[0]):
            if e == skip[i] or max(edges[e, 0], edges[e, 2]) < lo_x or \
                    min(edges[e, 0], edges[e, 2]) > hi_x or \
                    max(edges[e, 1], edges[e, 3]) < lo_y or min(edges[e, 1], edges[e, 3]) > hi_y:
                continue
            t = edge_hit(x0, y0, dx, dy, edges[e, 0], edges[e, 1], edges[e, 2], edges[e, 3])
            if t >= 0.0:
                z = z0 + t * dz
                if base[edge_b[e]] <= z < top[edge_b[e]]:
                    n += 1
        out[i] = n


def reflection_through(prisms, tx, pts, f_hz: float, max_slabs: int):
    """(loss dB (N,), reflection point (N, 3)) of the least-loss one-wall reflection whose legs
    cross 1 to ``max_slabs`` slabs in all (inf, nan where none)."""
    best = np.full(len(pts), np.inf)
    where = np.full((len(pts), 3), np.nan)
    e, eb = prisms.edges, prisms.edge_building
    wall, pi, r, length, graze = reflection.single_reflections(tx, pts, e, prisms.top_z[eb])
    keep = (r[:, 2] < prisms.top_z[eb[wall]]) & (r[:, 2] > prisms.base_z[eb[wall]])
    wall, pi, r, length, graze = wall[keep], pi[keep], r[keep], length[keep], graze[keep]
    if len(wall) == 0:
        return best, where
    ab = e[wall, 2:] - e[wall, :2]
    off = r.copy()                      # 1 cm off the wall, outwards (as the reflection term)
    off[:, :2] += 0.01 * np.column_stack([ab[:, 1], -ab[:, 0]]) / np.linalg.norm(ab, axis=1)[:, None]
    skip = wall.astype(np.int64)
    n1, n2 = np.empty(len(wall), np.int64), np.empty(len(wall), np.int64)
    walls_below_roof(np.ascontiguousarray(np.broadcast_to(tx, off.shape)), off, skip, e, eb,
                     prisms.base_z, prisms.top_z, n1)
    walls_below_roof(off, np.ascontiguousarray(pts[pi]), skip, e, eb, prisms.base_z,
                     prisms.top_z, n2)
    slabs = (n1 + n1 % 2) + (n2 + n2 % 2)
    lam = C_M_S / f_hz
    loss = (20.0 * np.log10(4.0 * np.pi * np.maximum(length, 1.0) / lam)
            + reflection.wall_reflection_loss_db(graze, f_hz) + slabs * slab_loss_db(f_hz))
    loss[(slabs < 1) | (slabs > max_slabs)] = np.inf
    order = np.lexsort((loss, pi))
    first = np.ones(len(order), bool)
    first[1:] = pi[order][1:] != pi[order][:-1]
    sel = order[first]
    best[pi[sel]], where[pi[sel]] = loss[sel], r[sel]
    return best, where


def with_term(max_slabs: int):
    """Patch the model so that its indirect paths include :func:`reflection_through`."""
    plain = model.site_paths

    def site_paths(prisms, a, p, g, f_hz, **kw):
        out = plain(prisms, a, p, g, f_hz, **kw)
        nl = ~out["los"]
        out["through"] = np.full(len(p), np.inf)
        out["through_xyz"] = np.full((len(p), 3), np.nan)
        if nl.any():
            out["through"][nl], out["through_xyz"][nl] = reflection_through(
                prisms, np.asarray(a, float), np.asarray(p, float)[nl], f_hz, max_slabs)
        return out

    model.site_paths = site_paths
    model.INDIRECT = model.INDIRECT + (("through", "through_xyz"),)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("names", nargs="*", help="stored references (default: all)")
    ap.add_argument("--max-slabs", type=int, default=2)
    args = ap.parse_args(argv)
    names = args.names or sorted(p.stem for p in REFS.glob("*.npz"))
    refs = {n: load_reference(REFS / f"{n}.npz") for n in names}
    rows = {}
    for label in ("default", f"+ reflection through <= {args.max_slabs} slabs"):
        if label != "default":
            with_term(args.max_slabs)
        for n, ref in refs.items():
            t0 = time.perf_counter()
            ours = model.geometric_path_gain_db(ref.buildings, ref.grid, ref.specs, ref.ue_height_m)
            kind = "small" if n.startswith("small") else "macro"
            rows.setdefault(n, []).append((agreement(ours, ref.path_gain_db, ref.buildings,
                                                     ref.grid, kind), time.perf_counter() - t0))
    print("reference               per 5 m cell: Spearman / RMSE dB     15 m bins: Spearman / RMSE dB"
          "     RMSE where the rays reach, dB      (default -> with the term)")
    for n, ((a, _), (b, s)) in rows.items():
        print(f"{n:24s} {a['spearman']:.3f} -> {b['spearman']:.3f} / {a['rmse_db']:5.2f} -> "
              f"{b['rmse_db']:5.2f}    {a['bin_spearman']:.3f} -> {b['bin_spearman']:.3f} / "
              f"{a['bin_rmse_db']:5.2f} -> {b['bin_rmse_db']:5.2f}    {a['reached_rmse_db']:5.2f} -> "
              f"{b['reached_rmse_db']:5.2f}   ({s:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
