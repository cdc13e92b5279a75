"""Scores of a radio map against a ray-traced reference (issue 13's measure).

Both maps are per-cell path gains at 0 dBm transmit power (antenna gain
minus path loss, dB), clipped at -160 dB. The score compares the
best-server path gain (the maximum over cells) over outdoor grid points:

* Spearman rank correlation;
* RMSE after removing the mean offset (the standard deviation of the
  difference model - reference), dB;
* the same two in square bins of ``bin_cells`` x ``bin_cells`` grid cells
  (15 m at 5 m), each bin the mean linear power of its outdoor points:
  where the reference carries Monte Carlo noise per 5 m cell, or at
  street level where a cell's value hinges on a few rays, bins compare
  the field and not its speckle;
* ``reached_``: the per-point scores over the points the reference
  reaches (above the floor), and ``reached_fraction``: a point no ray
  reaches counts at -160 dB in the main scores, which then weigh deep
  shadow (and, with too few rays, Monte Carlo misses) heavily.

Pure numpy/scipy/shapely; no I/O.

Examples
--------
>>> import numpy as np
>>> a = np.array([[[-60.0, -70.0], [-80.0, -90.0]]])
>>> s = scores(a, a + 3.0, np.ones((2, 2), bool), bin_cells=1)
>>> round(s["spearman"], 3), round(s["rmse_db"], 3), round(s["offset_db"], 3)
(1.0, 0.0, -3.0)
"""

from __future__ import annotations

import numpy as np
import shapely
from scipy.stats import spearmanr

from ..physics.cellmaps import GridContext, cell_rx_dbm
from ..physics.grid import Grid

__all__ = ["FLOOR_DB", "best_server_db", "outdoor_mask", "binned_db", "scores", "agreement",
           "model_path_gain_db"]

#: Both maps are clipped here, dB.
FLOOR_DB = -160.0


def best_server_db(path_gain_db) -> np.ndarray:
    """(ny, nx) maximum over cells of (n_cells, ny, nx) path gains, clipped at -160 dB."""
    return np.maximum(np.max(np.asarray(path_gain_db, float), axis=0), FLOOR_DB)


def outdoor_mask(buildings, grid: Grid) -> np.ndarray:
    """(ny, nx) True where the grid point lies outside every footprint.

    Examples
    --------
    >>> from twin3d.model import Buildings
    >>> b = Buildings(["B"], np.array([shapely.box(0, 0, 10, 10)]), np.array([9.0]),
    ...               np.array([0.0]), ["yes"], ["height"])
    >>> outdoor_mask(b, Grid.covering((0, 0, 20, 10), 10.0)).tolist()
    [[False, True]]
    """
    xs, ys = grid.centers()
    gx, gy = np.meshgrid(xs, ys)
    if len(buildings) == 0:
        return np.ones(grid.shape, bool)
    blocks = shapely.union_all(buildings.footprints)
    return ~shapely.contains_xy(blocks, gx, gy)


def binned_db(best_db, mask, bin_cells: int) -> tuple[np.ndarray, np.ndarray]:
    """Mean linear power over the masked points of each bin_cells^2 block, dB.

    Returns ``(values_db, has_points)`` over the blocks (edge blocks may be partial).

    Examples
    --------
    >>> v, has = binned_db(np.array([[-60.0, -70.0]]), np.array([[True, True]]), 2)
    >>> round(float(v[0, 0]), 2), has.tolist()
    (-62.6, [[True]])
    """
    ny, nx = best_db.shape
    by, bx = -(-ny // bin_cells), -(-nx // bin_cells)
    lin = np.where(mask, 10.0 ** (np.asarray(best_db, float) / 10.0), 0.0)
    pad = ((0, by * bin_cells - ny), (0, bx * bin_cells - nx))
    lin = np.pad(lin, pad).reshape(by, bin_cells, bx, bin_cells).sum(axis=(1, 3))
    n = np.pad(mask.astype(float), pad).reshape(by, bin_cells, bx, bin_cells).sum(axis=(1, 3))
    has = n > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        val = np.where(has, 10.0 * np.log10(lin / np.maximum(n, 1)), FLOOR_DB)
    return np.maximum(val, FLOOR_DB), has


def _pair(a, b) -> dict:
    d = a - b
    rho = spearmanr(a, b).statistic if a.size > 2 else float("nan")
    return {"spearman": float(rho), "rmse_db": float(np.sqrt(np.mean((d - d.mean()) ** 2))),
            "offset_db": float(d.mean()), "n": int(a.size)}


def scores(model_db, reference_db, mask, bin_cells: int = 3) -> dict:
    """Best-server agreement of a model with a reference over masked points.

    Parameters
    ----------
    model_db, reference_db : (n_cells, ny, nx) array
        Per-cell path gains, dB (clipped at -160 dB here too).
    mask : (ny, nx) bool
        The points compared (outdoor points).
    bin_cells : int
        Bin side in grid cells for the binned scores.

    Returns
    -------
    dict
        ``spearman``, ``rmse_db`` (after offset), ``offset_db`` (mean
        model - reference) and ``n`` per point; the same prefixed
        ``bin_`` over bins and ``reached_`` over the points the reference
        reaches; ``reached_fraction`` of the masked points.
    """
    a, b = best_server_db(model_db), best_server_db(reference_db)
    m = np.asarray(mask, bool)
    out = _pair(a[m], b[m])
    ab, has = binned_db(a, m, bin_cells)
    bb, _ = binned_db(b, m, bin_cells)
    out.update({f"bin_{k}": v for k, v in _pair(ab[has], bb[has]).items()})
    reached = m & (b > FLOOR_DB)
    out.update({f"reached_{k}": v for k, v in _pair(a[reached], b[reached]).items()})
    out["reached_fraction"] = float(reached.sum() / max(1, m.sum()))
    return out


def agreement(model_db, reference_db, buildings, grid: Grid, kind: str = "macro",
              bin_m: float = 15.0) -> dict:
    """:func:`scores` over the outdoor points, with bins of about ``bin_m`` metres."""
    cells = max(1, round(bin_m / grid.step_m))
    out = scores(model_db, reference_db, outdoor_mask(buildings, grid), bin_cells=cells)
    out["bin_m"] = cells * grid.step_m
    out["kind"] = kind
    return out


def model_path_gain_db(buildings, grid: Grid, specs, ue_height_m: float = 1.5,
                       model: str = "UMa") -> np.ndarray:
    """twin3d's own per-cell path gain (p_tx 0 dBm) on a grid, clipped at -160 dB.

    The cells' ``p_tx_dbm`` is taken out, so this is antenna gain minus
    path loss (minus O2I indoors), as :func:`twin3d.physics.cellmaps.cell_rx_dbm`
    computes it.
    """
    site_xy = [s.antenna_xyz_m[:2] for s in specs]
    ctx = GridContext(buildings, grid, model, ue_height_m, site_xy)
    rx = cell_rx_dbm(ctx, specs).astype(float)
    rx -= np.array([s.p_tx_dbm for s in specs])[:, None]
    return np.maximum(rx, FLOOR_DB).reshape((len(specs),) + grid.shape)
