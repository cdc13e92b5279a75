"""The combined geometric path gain per cell (issue 13, first version).

For each cell and grid point (UE at ``ue_height_m`` above ground):

* line of sight (exact 3D, :mod:`.los3d`): free space over the 3D distance,
  or the two-ray ground model (:mod:`.ground`) with ``los_ground=True``;
* otherwise the least loss of
  - rooftop diffraction: free space + Deygout over the walls the direct ray
    crosses, each a knife edge at its building's roof (:mod:`.diffraction`),
  - one wall reflection by the image method (:mod:`.reflection`),
  plus ``nlos_offset_db`` (a calibration knob, 0 by default);
* plus the sector antenna gain toward the point, exactly as
  :func:`twin3d.physics.cellmaps.cell_rx_dbm` computes it (TR 38.901 Table
  7.3-1, horizontal angle from the compass bearing site -> point, zenith
  angle from the antenna height over the UE height);
* indoor points: the same, plus the TR 38.901 low-loss O2I penetration.

Returns path gain (0 dBm transmit power) per cell, clipped at -160 dB, the
convention of :func:`twin3d.rt.compare.model_path_gain_db`. No I/O.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from ..grid import Grid
from ..los import ground_z_m, indoor_distance_m
from ..radio import C_M_S, antenna_gain_db, o2i_low_loss_db
from .diffraction import deygout_loss_db
from .ground import two_ray_ground_db
from .los3d import building_prisms, wall_crossings
from .corner import best_corner_path
from .reflection import best_single_reflection

__all__ = ["FLOOR_DB", "geometric_path_gain_db", "site_loss_db"]

FLOOR_DB = -160.0


def _fspl(d_m, f_hz):
    return 20.0 * np.log10(4.0 * np.pi * np.maximum(d_m, 1.0) * f_hz / C_M_S)


def site_loss_db(prisms, antenna_xyz_m, pts_xyz_m, ground_z, f_hz: float, *, k_edges: int = 32,
                 max_edges: int = 3, reflections: bool = True, corners: bool = True,
                 los_ground: bool = False, nlos_offset_db: float = 0.0,
                 combine: str = "min") -> dict:
    """Path loss terms from one antenna to many points at one frequency, dB.

    Returns a dict of (N,) arrays: ``loss`` (the model), ``los`` (bool),
    ``diffraction`` (free space + Deygout), ``reflection`` (inf where none).
    """
    a = np.asarray(antenna_xyz_m, float)
    p = np.asarray(pts_xyz_m, float)
    lam = C_M_S / f_hz
    los, n, t, top = wall_crossings(prisms, a, p, lam, k_edges)
    d2d = np.hypot(p[:, 0] - a[0], p[:, 1] - a[1])
    d3d = np.hypot(d2d, p[:, 2] - a[2])
    fs = _fspl(d3d, f_hz)
    if los_ground:
        h_tx = np.maximum(a[2] - ground_z, 0.5)
        h_rx = np.maximum(p[:, 2] - ground_z, 0.5)
        direct = two_ray_ground_db(np.maximum(d2d, 1.0), h_tx, h_rx, f_hz)
    else:
        direct = fs
    kk = max(1, int(n.max()) if n.size else 1)
    diff = fs + deygout_loss_db(t[:, :kk] * d2d[:, None], top[:, :kk], np.full(len(p), a[2]),
                                p[:, 2], d2d, lam, max_edges=max_edges)
    refl = np.full(len(p), np.inf)
    corner = np.full(len(p), np.inf)
    if reflections and (~los).any():
        refl[~los] = best_single_reflection(prisms, a, p[~los], f_hz)
    if corners and (~los).any():
        corner[~los] = best_corner_path(prisms, a, p[~los], f_hz)
    paths = np.stack([diff, refl, corner])
    if combine == "min":
        nlos = paths.min(axis=0)
    else:                       # "sum": incoherent power sum of the paths
        nlos = -10.0 * np.log10(np.sum(10.0 ** (-paths / 10.0), axis=0))
    nlos = nlos + nlos_offset_db
    return {"loss": np.where(los, direct, nlos), "los": los, "diffraction": diff,
            "reflection": refl, "corner": corner}


def geometric_path_gain_db(buildings, grid: Grid, specs: Sequence, ue_height_m: float = 1.5, *,
                           prisms=None, **terms) -> np.ndarray:
    """Per-cell path gain (antenna gain - path loss, 0 dBm), (n_cells, ny, nx), dB.

    Parameters
    ----------
    buildings : twin3d.model.Buildings
    grid : Grid
    specs : sequence of twin3d.physics.cellmaps.CellSpec
    ue_height_m : float
    prisms : BuildingPrisms, optional
        Precomputed :func:`~.los3d.building_prisms` of ``buildings``.
    **terms
        Passed to :func:`site_loss_db` (``reflections``, ``los_ground``,
        ``max_edges``, ``nlos_offset_db``, ``k_edges``).
    """
    prisms = building_prisms(buildings) if prisms is None else prisms
    xs, ys = grid.centers()
    gx, gy = (v.ravel() for v in np.meshgrid(xs, ys))
    g_z = ground_z_m(gx, gy)
    ue_z = g_z + ue_height_m
    pts = np.column_stack([gx, gy, ue_z])
    b_index = np.full(gx.size, -1)
    if len(buildings):
        import shapely
        i_pt, i_b = buildings.tree.query(shapely.points(gx, gy), predicate="within")
        b_index[i_pt] = i_b
    indoor = b_index >= 0
    d_in = indoor_distance_m(buildings, gx, gy, b_index) if indoor.any() else np.zeros(gx.size)
    out = np.empty((len(specs), gx.size))
    cache: dict = {}
    for i, s in enumerate(specs):
        a = s.antenna_xyz_m
        key = (tuple(a), s.f_hz)
        if key not in cache:
            loss = site_loss_db(prisms, a, pts, g_z, s.f_hz, **terms)["loss"]
            cache[key] = loss + np.where(indoor, o2i_low_loss_db(s.f_hz, d_in), 0.0)
        dx, dy = gx - a[0], gy - a[1]
        d2d = np.hypot(dx, dy)
        az_deg = np.degrees(np.arctan2(dx, dy))
        theta_deg = 90.0 + np.degrees(np.arctan2(a[2] - ue_z, d2d))
        gain = antenna_gain_db(az_deg - s.azimuth_deg, theta_deg, s.tilt_deg, s.beamwidth_deg,
                               s.gain_dbi)
        out[i] = gain - cache[key]
    return np.maximum(out, FLOOR_DB).reshape((len(specs),) + grid.shape)
