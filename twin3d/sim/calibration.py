"""Calibrate a scene's radio model: samples from measurements or a ray-traced map, then the fit.

A sample is one (cell, grid point) pair with a measured value and the
scene's uncalibrated model at the same place, in the same unit:

* measurements (:func:`measurement_samples`): RSRP, dBm. The point is the
  radio grid's cell holding the measurement's lon/lat (the simulator's grid,
  ``[radio] grid_m``); the model's RSRP is the cell's received power minus
  10 log10(12 n_prb), as the radio map's ``rsrp_dbm``.
* a ray-traced reference (:func:`reference_samples`, the ``.npz`` of
  :mod:`twin3d.rt.references`, made by Sionna RT): path gain at 0 dBm, dB,
  over the reference's outdoor points that it reaches (as
  :func:`twin3d.rt.compare.agreement` scores). The model runs as the scene
  configures it ([radio] model and engine), on the reference's grid, cells,
  UE height and buildings (the buildings the ray tracer saw: the fit then
  corrects the model, not the building extract).

:func:`calibrate` holds out a seeded share of square blocks of the grid
(:data:`DEFAULT_BLOCK_M` a side: every sample in a held-out block, so a
held-out point's close neighbours are not in the fit; the split by the
scene's seed), fits the
per-environment correction (:func:`twin3d.physics.calibration.fit_calibration`)
on the rest, and scores the held-out samples before and after.

No file I/O (readers are in :mod:`twin3d.calibrate_io`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from ..errors import InputError
from ..loader import Scene
from ..physics.calibration import (CalibrationFit, fit_calibration, held_out_split, rmse_db)
from ..physics.cellmaps import CellSpec, GridContext, cached_cell_maps, calibration_features, cell_rx_dbm
from ..physics.radio import n_prb

__all__ = ["Samples", "CalibrationReport", "uncalibrated_mapper", "measurement_samples",
           "reference_samples", "calibrate", "DEFAULT_HELD_OUT"]

#: Share of the grid's blocks held out of the fit to score it.
DEFAULT_HELD_OUT = 0.2
#: Side of the blocks held out together, metres (about that of a street block).
DEFAULT_BLOCK_M = 50.0
#: Path gains at or below this are "not reached" (the references' and the models' floor), dB.
FLOOR_DB = -160.0


@dataclass(frozen=True)
class Samples:
    """(n,) arrays, one entry per (cell, grid point) sample.

    ``measured_db`` and ``model_db`` in the same unit (RSRP dBm from
    measurements, path gain dB from a reference); ``env`` and ``log_d`` the
    calibration's inputs at the point for the cell; ``point`` the flat grid
    index on a grid ``grid_nx`` points wide with ``grid_step_m`` spacing
    (the split's blocks are made of them); ``cell`` an index into ``cell_ids``;
    ``left_out`` samples dropped because the model does not reach them
    (beyond its range) or, for a reference, the ray tracer did not.
    """

    kind: str
    measured_db: np.ndarray
    model_db: np.ndarray
    env: np.ndarray
    log_d: np.ndarray
    point: np.ndarray
    cell: np.ndarray
    cell_ids: tuple[str, ...]
    grid_nx: int
    grid_step_m: float
    left_out: int = 0

    @property
    def residual_db(self) -> np.ndarray:
        """Measured minus model, dB."""
        return self.measured_db - self.model_db

    def __len__(self) -> int:
        return self.measured_db.size


@dataclass(frozen=True)
class CalibrationReport:
    """A fit and its held-out scores (dB: RMSE and median absolute error of measured - model)."""

    fit: CalibrationFit
    held_out: np.ndarray                 # (n,) bool over the samples
    residual_before_db: np.ndarray       # (n,) measured - model
    residual_after_db: np.ndarray        # (n,) measured - calibrated model
    held_out_points: int
    points: int
    held_out_blocks: int
    blocks: int
    block_m: float

    @property
    def held_out_fraction(self) -> float:
        """Share of the blocks held out."""
        return self.held_out_blocks / max(self.blocks, 1)

    @property
    def rmse_before_db(self) -> float:
        return rmse_db(self.residual_before_db[self.held_out])

    @property
    def rmse_after_db(self) -> float:
        return rmse_db(self.residual_after_db[self.held_out])

    @property
    def median_abs_before_db(self) -> float:
        return _median_abs(self.residual_before_db[self.held_out])

    @property
    def median_abs_after_db(self) -> float:
        return _median_abs(self.residual_after_db[self.held_out])


def _median_abs(x) -> float:
    return float(np.median(np.abs(x))) if np.size(x) else float("nan")


def uncalibrated_mapper(scene: Scene):
    """The scene's :class:`~twin3d.physics.coverage.RadioMapper` as the simulator builds it,
    without any calibration.

    Raises
    ------
    InputError
        The scene has no radio cells.
    """
    from .engine import Simulator
    spec = replace(scene.spec, radio=replace(scene.spec.radio, calibration=None))
    if not scene.twin.cells:
        raise InputError(spec.path, "calibration needs a scene with radio cells (sites with sectors)")
    sim = Simulator(Scene(spec, scene.twin))
    return sim.mapper


def measurement_samples(scene: Scene, meas, mapper=None) -> Samples:
    """Samples of drive-test measurements (:class:`twin3d.calibrate_io.Measurements`).

    Raises
    ------
    InputError
        A row names a cell the scene does not have, or lies outside the
        scene's radio grid (naming the file, line and field).
    """
    mapper = uncalibrated_mapper(scene) if mapper is None else mapper
    ctx, twin = mapper.ctx, scene.twin
    g = ctx.grid
    x, y, _ = twin.frame.to_enu(meas.lon, meas.lat)
    ix = np.floor((x - g.x0_m) / g.step_m).astype(np.int64)
    iy = np.floor((y - g.y0_m) / g.step_m).astype(np.int64)
    outside = (ix < 0) | (ix >= g.nx) | (iy < 0) | (iy >= g.ny)
    if outside.any():
        k = int(np.flatnonzero(outside)[0])
        lo, la = twin.frame.to_wgs84(np.array([g.bounds_m[0], g.bounds_m[2]]),
                                     np.array([g.bounds_m[1], g.bounds_m[3]]), np.zeros(2))[:2]
        raise InputError(meas.path, f"point ({meas.lon[k]:.6f}, {meas.lat[k]:.6f}) lies outside the "
                                    f"scene's radio grid (lon {lo[0]:.6f}..{lo[1]:.6f}, "
                                    f"lat {la[0]:.6f}..{la[1]:.6f})", f"line {meas.line[k]}", "lon")
    cells = twin.cells
    index = {c.id: i for i, c in enumerate(cells)}
    for k, c in enumerate(meas.cell):
        if c not in index:
            known = ", ".join(sorted(index)[:6]) + (", ..." if len(index) > 6 else "")
            raise InputError(meas.path, f"unknown cell {c!r} (the scene's cells: {known})",
                             f"line {meas.line[k]}", "cell")
    cell = np.array([index[c] for c in meas.cell], dtype=np.int64)
    point = iy * g.nx + ix
    used = np.unique(cell)
    specs = [CellSpec.of(cells[i], twin.sites[cells[i].site_id]) for i in used]
    maps = cached_cell_maps(ctx, specs, mapper.cache, [cells[i].site_id for i in used])
    model = np.empty(len(cell))
    env = np.empty(len(cell), np.int8)
    log_d = np.empty(len(cell))
    for i, spec, rx in zip(used, specs, maps):
        on = np.flatnonzero(cell == i)
        rs = 10.0 * np.log10(12.0 * float(n_prb(spec.bandwidth_hz)))
        model[on] = rx[point[on]].astype(np.float64) - rs
        env[on], log_d[on] = calibration_features(ctx, spec.antenna_xyz_m, mapper.cache, point[on])
    keep = np.isfinite(model)
    return Samples("measurements", meas.rsrp_dbm[keep].astype(float), model[keep], env[keep],
                   log_d[keep], point[keep], cell[keep], tuple(c.id for c in cells), g.nx,
                   g.step_m, int((~keep).sum()))


def reference_samples(scene: Scene, ref, mapper=None) -> Samples:
    """Samples of a ray-traced reference (:class:`twin3d.rt.references.Reference`).

    The scene's model (its mapper's model and engine) on the reference's
    grid, cells (0 dBm), UE height and buildings; the reference's outdoor
    points above the floor, where the model is above it too.
    """
    from ..rt.compare import outdoor_mask
    mapper = uncalibrated_mapper(scene) if mapper is None else mapper
    ctx0 = mapper.ctx
    specs = [replace(s, p_tx_dbm=0.0) for s in ref.specs]
    ctx = GridContext(ref.buildings, ref.grid, ctx0.model, ref.ue_height_m,
                      [s.antenna_xyz_m[:2] for s in specs], engine=ctx0.engine)
    model = np.maximum(cell_rx_dbm(ctx, specs).astype(np.float64), FLOOR_DB)
    measured = np.maximum(np.asarray(ref.path_gain_db, np.float64).reshape(len(specs), -1), FLOOR_DB)
    outdoor = outdoor_mask(ref.buildings, ref.grid).ravel()
    parts: list[tuple] = []
    left_out = 0
    for i, spec in enumerate(specs):
        ok = outdoor & (measured[i] > FLOOR_DB) & (model[i] > FLOOR_DB)
        left_out += int((outdoor & ~ok).sum())
        pts = np.flatnonzero(ok)
        env, log_d = calibration_features(ctx, spec.antenna_xyz_m, None, pts)
        parts.append((measured[i, pts], model[i, pts], env, log_d, pts, np.full(pts.size, i)))
    cols = [np.concatenate([p[k] for p in parts]) for k in range(6)]
    return Samples("reference", *cols[:4], cols[4].astype(np.int64), cols[5].astype(np.int64),
                   tuple(ref.cell_ids), ref.grid.nx, ref.grid.step_m, left_out)


def calibrate(samples: Samples, rng: np.random.Generator, *,
              held_out_fraction: float = DEFAULT_HELD_OUT, block_m: float = DEFAULT_BLOCK_M,
              loss: str = "soft_l1", slopes: bool = True, model: str = "",
              engine: str = "") -> CalibrationReport:
    """Hold out a share of the blocks, fit the correction on the rest, score the held-out samples.

    Parameters
    ----------
    samples : Samples
    rng : numpy.random.Generator
        Draws the held-out blocks (the scene's: ``scene.rng(seed)``).
    held_out_fraction : float
        Share of the blocks (holding samples) held out, in (0, 1).
    block_m : float
        Side of the square blocks of grid points held out together,
        metres (rounded to whole grid steps, at least one: 0 holds out
        single points).
    loss : str
        :data:`twin3d.physics.calibration.LOSSES`.
    slopes : bool
        Fit slopes too (else offsets only).
    model, engine : str
        The scene's ``[radio]`` model and engine, recorded in the calibration.
    """
    if len(samples) == 0:
        raise ValueError("calibrate: no samples (nothing the model reaches)")
    block = _blocks(samples, block_m)
    held = held_out_split(block, held_out_fraction, rng)
    r = samples.residual_db
    fit = fit_calibration(r[~held], samples.env[~held], samples.log_d[~held], loss=loss,
                          slopes=slopes, model=model, engine=engine)
    after = r - fit.calibration.correction_db(samples.env, samples.log_d)
    n_pts = int(np.unique(samples.point).size)
    n_held = int(np.unique(samples.point[held]).size)
    return CalibrationReport(fit, held, r, after, n_held, n_pts, int(np.unique(block[held]).size),
                             int(np.unique(block).size),
                             _block_cells(samples, block_m) * samples.grid_step_m)


def _block_cells(samples: Samples, block_m: float) -> int:
    return max(1, int(round(block_m / samples.grid_step_m)))


def _blocks(samples: Samples, block_m: float) -> np.ndarray:
    """Each sample's block label: square blocks of ``block_m`` (whole grid steps) on its grid."""
    b = _block_cells(samples, block_m)
    ix, iy = samples.point % samples.grid_nx, samples.point // samples.grid_nx
    return (iy // b) * (-(-samples.grid_nx // b)) + ix // b
