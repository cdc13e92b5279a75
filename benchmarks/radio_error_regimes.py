"""Where the geometric model's error against a ray-traced reference sits, by regime (issue 13).

For one stored reference (``tests/data/rt/NAME.npz``) this splits the
outdoor points' best-server error (model - reference, mean offset removed,
per 5 m cell as the macro score counts it) by regime and prints, per
regime, the points, their share of the squared error, the mean error and
the RMS:

* reached / unreached: the reference above its -160 dB floor or not (the
  ray tracer traces at most ``max_depth`` interactions and first-order
  diffraction only, so a point whose paths all need two diffractions stays
  at the floor);
* the model's LOS, and for NLOS points the term that carries the most power
  at the best server (rooftop diffraction, one reflection, one corner,
  transmission, two reflections, corner chain);
* rooftop points with one knife edge or several (Deygout's secondary edges
  add loss), those by the secondary edges' loss (0-10, 10-20, over 20 dB),
  horizontal distance bands from the (first) antenna, and the enclosed
  courtyards (holes of the union of the footprints).

It ends with the model set to -160 dB where the reference is unreached
(a ceiling, not a model) and the error budget of those points: the RMS
error they may keep for a per-cell RMSE of ``--target-db`` (8) with the
reached points' errors as they are.

Usage::

    python3 benchmarks/radio_error_regimes.py macro_hel05_3500mhz [--terms JSON]

Use the tuning layouts (macro_hel05, small_south) to choose changes; the
others are held out.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from twin3d.physics.geometric import model as geo  # noqa: E402
from twin3d.physics.geometric.courtyard import enclosed_outdoor  # noqa: E402
from twin3d.physics.geometric.diffraction import deygout_loss_db  # noqa: E402
from twin3d.physics.geometric.los3d import building_prisms, wall_crossings  # noqa: E402
from twin3d.physics.los import ground_z_m  # noqa: E402
from twin3d.physics.radio import C_M_S  # noqa: E402
from twin3d.rt.compare import FLOOR_DB, outdoor_mask  # noqa: E402
from twin3d.rt.references import geometric_terms_of, load_reference  # noqa: E402

REFS = ROOT / "tests" / "data" / "rt"
TERM_NAMES = ("rooftop",) + tuple(name for name, _ in geo.INDIRECT) + ("diffuse",)


def _term_gains(spec, paths, pts):
    """(n_terms, N) path gain of each term for one cell (-inf where absent)."""
    a = np.asarray(spec.antenna_xyz_m, float)
    g_d = geo._gain(spec, geo._angles(a, pts))
    out = [g_d - paths["rooftop"]]
    for name, xyz in geo.INDIRECT:
        g = np.full(len(pts), -np.inf)
        if name in paths:
            ok = np.isfinite(paths[name])
            if ok.any():
                g[ok] = (g_d[ok] if xyz is None else geo._gain(spec, geo._angles(a, paths[xyz][ok]))) \
                    - paths[name][ok]
        out.append(g)
    g = np.full(len(pts), -np.inf)
    if "diffuse" in paths:                      # the walls' diffuse scattering, off sight only
        memo = {"nlos": np.flatnonzero(~paths["los"])}
        with np.errstate(divide="ignore"):
            g[memo["nlos"]] = 10.0 * np.log10(geo._diffuse_power(spec, a, paths, pts, memo))
    out.append(g)
    return np.stack(out)


def _secondary_edges_db(prisms, a, pts, f_hz, kw):
    """Deygout's loss of the secondary edges (all edges minus the principal one), dB."""
    lam = C_M_S / f_hz
    _, n, t, top = wall_crossings(prisms, a, pts, lam, kw["k_edges"])
    d2 = np.hypot(pts[:, 0] - a[0], pts[:, 1] - a[1])
    kk = max(1, int(n.max()) if n.size else 1)
    prof = (t[:, :kk] * d2[:, None], top[:, :kk], np.full(len(pts), a[2]), pts[:, 2], d2, lam)
    opts = dict(path_difference=kw.get("v_path_difference", False))
    return deygout_loss_db(*prof, max_edges=kw["max_edges"], **opts) \
        - deygout_loss_db(*prof, max_edges=1, **opts)


def regimes(ref, **terms) -> tuple:
    """The model's error per outdoor point, the regime masks and the two best-server maps:
    ``(err, m, [(label, mask)], (ours, reference))``."""
    terms = geometric_terms_of(ref, **terms)       # the reference's walls on both sides
    kw = {**geo.DEFAULT_TERMS, **terms}
    prisms = building_prisms(ref.buildings)
    xs, ys = ref.grid.centers()
    gx, gy = (v.ravel() for v in np.meshgrid(xs, ys))
    g_z = ground_z_m(gx, gy)
    pts = np.column_stack([gx, gy, g_z + ref.ue_height_m])
    ours = geo.geometric_path_gain_db(ref.buildings, ref.grid, ref.specs, ref.ue_height_m,
                                      prisms=prisms, **terms).reshape(len(ref.specs), -1)
    best, i_best = ours.max(axis=0), ours.argmax(axis=0)
    r = np.maximum(ref.path_gain_db.reshape(len(ref.specs), -1).max(axis=0), FLOOR_DB)
    m = outdoor_mask(ref.buildings, ref.grid).ravel()
    los = np.zeros(len(pts), bool)
    dom = np.zeros(len(pts), int)
    secondary = np.zeros(len(pts))
    d2d = np.full(len(pts), np.inf)
    by_site: dict = {}
    for i, s in enumerate(ref.specs):
        key = (tuple(s.antenna_xyz_m), s.f_hz)
        if key not in by_site:
            a = np.asarray(s.antenna_xyz_m, float)
            by_site[key] = (geo.site_paths(prisms, a, pts, g_z, s.f_hz, **kw),
                            _secondary_edges_db(prisms, a, pts, s.f_hz, kw),
                            np.hypot(pts[:, 0] - a[0], pts[:, 1] - a[1]))
        paths, sec, dist = by_site[key]
        mine = i_best == i
        los[mine] = paths["los"][mine]
        dom[mine] = _term_gains(s, paths, pts).argmax(axis=0)[mine]
        secondary[mine] = sec[mine]
        d2d[mine] = dist[mine]
    err = best - r
    err = err - err[m].mean()
    reached = r > FLOOR_DB
    rows = [("all", m), ("reached", reached), ("unreached", ~reached), ("model LOS", los),
            ("model NLOS", ~los)]
    for k, name in enumerate(TERM_NAMES):
        rows += [(f"NLOS, {name} strongest", ~los & (dom == k)),
                 (f"  ... reached", ~los & (dom == k) & reached)]
    rows += [("rooftop, one edge", ~los & (dom == 0) & (secondary <= 0.0)),
             ("rooftop, more edges", ~los & (dom == 0) & (secondary > 0.0)),
             ("  ... reached", ~los & (dom == 0) & (secondary > 0.0) & reached)]
    for lo, hi in ((0.0, 10.0), (10.0, 20.0), (20.0, np.inf)):   # Deygout's secondary edges' loss
        sel = ~los & (dom == 0) & (secondary > lo) & (secondary <= hi)
        rows += [(f"rooftop, secondary {lo:.0f}-{hi:.0f} dB", sel),
                 ("  ... reached", sel & reached)]
    for lo, hi in ((0, 50), (50, 100), (100, 200), (200, np.inf)):
        rows.append((f"NLOS {lo}-{hi} m", ~los & (d2d >= lo) & (d2d < hi)))
    court = enclosed_outdoor(ref.buildings, gx, gy)
    rows += [("enclosed courtyard", court), ("  ... reached", court & reached)]
    return err, m, [(label, sel & m) for label, sel in rows], (best, r)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("name", help="reference stem, e.g. macro_hel05_3500mhz")
    p.add_argument("--terms", default="{}", help="JSON overrides of the geometric model's terms")
    p.add_argument("--target-db", type=float, default=8.0,
                   help="per-cell RMSE target for the error budget line (issue 13's macro: 8 dB)")
    args = p.parse_args(argv)
    ref = load_reference(REFS / f"{args.name}.npz")
    err, m, rows, (best, r) = regimes(ref, **json.loads(args.terms))
    total = float((err[m] ** 2).sum())
    print(f"{ref.name}: {m.sum()} outdoor points, RMSE after offset "
          f"{np.sqrt(total / m.sum()):.2f} dB")
    print(f"{'regime':<32} {'points':>7} {'share':>6} {'sq err':>7} {'mean dB':>8} {'RMS dB':>7}")
    for label, sel in rows:
        if sel.any():
            e = err[sel]
            print(f"{label:<32} {sel.sum():>7d} {sel.sum() / m.sum():>6.1%} "
                  f"{(e ** 2).sum() / total:>7.1%} {e.mean():>8.2f} {np.sqrt((e ** 2).mean()):>7.2f}")
    unreached = r <= FLOOR_DB
    # the ceiling: the model at the floor exactly where the reference has no ray
    e = np.where(unreached, FLOOR_DB, best)[m] - r[m]
    print(f"the model set to {FLOOR_DB:g} dB where the reference is unreached: RMSE after offset "
          f"{np.sqrt(((e - e.mean()) ** 2).mean()):.2f} dB")
    # the budget: the RMS error the unreached points may keep for the target, the reached
    # points' errors (and the offset) held as they are
    reach, miss = m & ~unreached, m & unreached
    if miss.any():
        room = (args.target_db ** 2 * m.sum() - (err[reach] ** 2).sum()) / miss.sum()
        print(f"for {args.target_db:g} dB per cell, the unreached points' RMS error must be at most "
              f"{np.sqrt(room) if room > 0 else 0.0:.1f} dB (it is {np.sqrt((err[miss] ** 2).mean()):.1f}); "
              f"the model there: median {np.median(best[miss]):.1f} dB, "
              f"10-90 % {np.percentile(best[miss], 10):.1f} to {np.percentile(best[miss], 90):.1f} dB")
    for again in sorted((REFS / "noise").glob(f"{args.name}_seed*.npz")):
        r2 = load_reference(again).path_gain_db.reshape(len(ref.specs), -1).max(axis=0)
        both = unreached & (r2 <= FLOOR_DB) & m
        print(f"unreached in {again.stem} too: {both.sum()} of {(unreached & m).sum()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
