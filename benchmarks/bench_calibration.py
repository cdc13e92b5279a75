"""Calibration against the stored Sionna RT references: held-out points and held-out layouts.

For each reference under ``tests/data/rt/`` and each model (TR 38.901 UMa for
macros / UMi for small cells, and the geometric model), this:

1. fits the per-environment correction (:mod:`twin3d.physics.calibration`),
   offsets and slopes, then offsets only, on 80 % of the reference's
   outdoor grid (50 m blocks, seed 7) and prints the per-(cell, point)
   path-gain RMSE on the other 20 % before and after;
2. applies that fit to the *other* layout of the same kind and frequency
   (macro_hel05 <-> macro_hel02, small_south <-> small_west) through the
   correction of the ``[radio] calibration`` hook (checked once against
   :class:`~twin3d.physics.cellmaps.GridContext` with ``calibration=``) and prints that layout's per-sample RMSE and its
   best-server score (:func:`twin3d.rt.compare.agreement`: Spearman and RMSE
   after offset, per 5 m cell for macros, 15 m bins for small cells) before
   and after: a layout the fit never saw.

The RMSE here includes the mean offset (a calibration removes it); the
best-server "RMSE after offset" does not, so a pure offset cannot improve it.

Usage::

    python3 benchmarks/bench_calibration.py
"""

from __future__ import annotations

import sys
import time
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from twin3d.physics.calibration import rmse_db  # noqa: E402
from twin3d.physics.cellmaps import GridContext, calibration_features, cell_rx_dbm  # noqa: E402
from twin3d.physics.geometric.model import GeometricEngine  # noqa: E402
from twin3d.rt.compare import agreement  # noqa: E402
from twin3d.rt.references import geometric_terms_of, load_reference  # noqa: E402
from twin3d.sim.calibration import calibrate, reference_samples  # noqa: E402

REFS = ROOT / "tests" / "data" / "rt"
PAIRS = {"macro_hel05": "macro_hel02", "macro_hel02": "macro_hel05",
         "small_south": "small_west", "small_west": "small_south",
         # the second area (3.5 GHz only): applied to the first area's layout of its kind
         "macro_hel03": "macro_hel05", "small_south2": "small_south"}


def _mapper(model: str, engine):
    return SimpleNamespace(ctx=SimpleNamespace(model=model, engine=engine))


def _context(ref, model, engine, calibration=None):
    specs = [replace(s, p_tx_dbm=0.0) for s in ref.specs]
    ctx = GridContext(ref.buildings, ref.grid, model, ref.ue_height_m,
                      [s.antenna_xyz_m[:2] for s in specs], engine=engine, calibration=calibration)
    return ctx, specs


def _map(ref, model, engine, calibration=None) -> np.ndarray:
    """The model's per-cell path gain on a reference, through the [radio] calibration hook."""
    ctx, specs = _context(ref, model, engine, calibration)
    pg = cell_rx_dbm(ctx, specs).astype(float)
    return np.maximum(pg, -160.0).reshape((len(specs),) + ref.grid.shape)


def _corrected(ref, model, engine, plain_map, calibration) -> np.ndarray:
    """``plain_map`` plus the correction per cell (what the hook adds, without recomputing the model)."""
    ctx, specs = _context(ref, model, engine)
    out = plain_map.reshape(len(specs), -1).copy()
    for i, s in enumerate(specs):
        env, log_d = calibration_features(ctx, s.antenna_xyz_m)
        out[i] += calibration.correction_db(env, log_d)
    return np.maximum(out, -160.0).reshape(plain_map.shape)


def main() -> int:
    paths = sorted(REFS.glob("*.npz"))
    refs = {p.stem: load_reference(p) for p in paths}
    print("per-sample path-gain RMSE (dB, mean offset included) on the held-out 50 m blocks (20 %) "
          "of the layout fitted, then on the paired layout never fitted; best-server Spearman / "
          "RMSE after offset on the paired layout (5 m cells for macros, 15 m bins for small cells)")
    print(f"{'fitted on':<20} {'model':<9} {'fit':<7} {'held pts':>8} {'before':>6} {'after':>6} | "
          f"{'applied to':<20} {'before':>6} {'after':>6} {'rho/RMSE before':>16} {'after':>12}")
    hook_checked = False
    for name, ref in refs.items():
        layout, freq = name.rsplit("_", 1)
        other = refs.get(f"{PAIRS[layout]}_{freq}")
        kind = ref.meta["kind"]
        pre = "" if kind == "macro" else "bin_"
        for label, model, engine in ((("UMa" if kind == "macro" else "UMi"),
                                      "UMa" if kind == "macro" else "UMi", None),
                                     ("geometric", "UMa",
                                      GeometricEngine(**geometric_terms_of(ref)))):
            t0 = time.perf_counter()
            s = reference_samples(None, ref, _mapper(model, engine))
            so = reference_samples(None, other, _mapper(model, engine))
            plain = _map(other, model, engine)
            a0 = agreement(plain, other.path_gain_db, other.buildings, other.grid, kind)
            for variant, slopes in (("slopes", True), ("offsets", False)):
                rep = calibrate(s, np.random.default_rng(7), slopes=slopes, model=label)
                cal = rep.fit.calibration
                after = so.residual_db - cal.correction_db(so.env, so.log_d)
                fixed = _corrected(other, model, engine, plain, cal)
                if not hook_checked:          # the hook adds the same correction
                    hooked = _map(other, model, engine, cal)
                    ok = np.isfinite(hooked) & (hooked > -160) & (fixed > -160)
                    assert np.abs(hooked - fixed)[ok].max() < 1e-3
                    hook_checked = True
                a1 = agreement(fixed, other.path_gain_db, other.buildings, other.grid, kind)
                print(f"{name:<20} {label:<9} {variant:<7} {rep.held_out_points:>8} "
                      f"{rep.rmse_before_db:>6.2f} {rep.rmse_after_db:>6.2f} | {other.name:<20} "
                      f"{rmse_db(so.residual_db):>6.2f} {rmse_db(after):>6.2f} "
                      f"{a0[pre + 'spearman']:>9.3f}/{a0[pre + 'rmse_db']:<6.2f} "
                      f"{a1[pre + 'spearman']:>5.3f}/{a1[pre + 'rmse_db']:<6.2f}", flush=True)
                print(f"{'':<30} offsets dB {np.round(cal.offset_db, 2).tolist()}, slopes dB/decade "
                      f"{np.round(cal.slope_db_per_decade, 2).tolist()}", flush=True)
            print(f"{'':<30} ({time.perf_counter() - t0:.1f} s)", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
