"""Radio map of a twin: received power per cell, best server, SINR, throughput.

For every grid point and every active cell the received power is

    rx = p_tx + power offset + antenna gain(phi, theta) - path loss(d2D, LOS) - O2I

with the path loss of :mod:`twin3d.physics.radio` (LOS from the building
viewshed of :mod:`twin3d.physics.los`), and for points inside a footprint
the TR 38.901 low-loss O2I penetration plus 0.5 dB/m to the footprint's
boundary. The best server is the cell with the highest RSRP; its SINR counts
every other active cell on the same carrier frequency as interference at
full load, plus thermal noise over the serving bandwidth.

Examples
--------
>>> import twin3d                                              # doctest: +SKIP
>>> rm = radio_map(twin3d.load_scene("scenes/helsinki.toml").twin)  # doctest: +SKIP
>>> rm.coverage_fraction()                                     # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .grid import Grid
from .los import ground_z_m, indoor_distance_m, rasterize_buildings, viewshed_los
from .radio import (PATHLOSS_MODELS, antenna_gain_db, max_range_m, n_prb, o2i_low_loss_db,
                    pathloss_db, spectral_efficiency, thermal_noise_dbm)

__all__ = ["Grid", "RadioMap", "radio_map"]


@dataclass
class RadioMap:
    """A twin's radio map on a grid; arrays are (ny, nx) unless noted.

    Attributes
    ----------
    grid : Grid
    cell_ids : list of str
        Every cell of the twin, in ``twin.cells`` order.
    cell_active : (n_cells,) bool
    rx_dbm : (n_cells, ny, nx) float32
        Received power over the cell's bandwidth, dBm (-inf for inactive
        cells and beyond the path-loss model's range).
    rsrp_dbm : best server's RSRP (rx - 10 log10(12 n_prb)), dBm; -inf where none.
    sinr_db : best server's SINR, dB; -inf where none.
    best_server : int, index into ``cell_ids``; -1 where no active cell reaches.
    los : bool, line of sight to the best server's site.
    indoor : bool, the point lies inside a building footprint.
    building_height_m : height of the building holding the point, metres (0 outdoors).
    spectral_efficiency_bps_hz : attenuated Shannon, b/s/Hz.
    throughput_bps : spectral efficiency x the best server's bandwidth, bit/s
        (one UE alone in its cell).
    """

    grid: Grid
    cell_ids: list[str]
    cell_active: np.ndarray
    rx_dbm: np.ndarray
    rsrp_dbm: np.ndarray
    sinr_db: np.ndarray
    best_server: np.ndarray
    los: np.ndarray
    indoor: np.ndarray
    spectral_efficiency_bps_hz: np.ndarray
    throughput_bps: np.ndarray
    building_height_m: np.ndarray

    def covered(self, rsrp_min_dbm: float = -110.0, sinr_min_db: float = -6.0) -> np.ndarray:
        """(ny, nx) bool: RSRP >= rsrp_min_dbm and SINR >= sinr_min_db."""
        return (self.rsrp_dbm >= rsrp_min_dbm) & (self.sinr_db >= sinr_min_db)

    def coverage_fraction(self, rsrp_min_dbm: float = -110.0, sinr_min_db: float = -6.0) -> float:
        """Share of grid points covered (see :meth:`covered`), 0..1."""
        return float(np.mean(self.covered(rsrp_min_dbm, sinr_min_db)))


def _default_active(twin) -> np.ndarray:
    return np.array([twin.sites[c.site_id].state == "up" for c in twin.cells], dtype=bool)


def _vector(value, n: int, name: str, dtype, default) -> np.ndarray:
    if value is None:
        return np.full(n, default, dtype=dtype)
    arr = np.asarray(value)
    if arr.shape != (n,):
        raise ValueError(f"radio_map: {name} must have one value per cell, shape ({n},) "
                         f"(got shape {arr.shape})")
    arr = arr.astype(dtype)
    if dtype is float and not np.all(np.isfinite(arr)):
        raise ValueError(f"radio_map: {name} must be finite")
    return arr


def radio_map(twin, model: str = "UMa", grid_m: float = 5.0, ue_height_m: float = 1.5,
              noise_figure_db: float = 7.0, cell_active=None, cell_power_offset_db=None,
              bounds=None) -> RadioMap:
    """Compute the radio map of a twin.

    Parameters
    ----------
    twin : twin3d.model.Twin
    model : {"UMa", "UMi", "RMa", "FSPL"}
        Path loss model (TR 38.901 scenario or free space).
    grid_m : float
        Grid step, metres.
    ue_height_m : float
        UE height above ground, metres.
    noise_figure_db : float
        UE noise figure, dB.
    cell_active : (n_cells,) bool array, optional
        Cells radiating; default every cell of a site whose state is "up".
    cell_power_offset_db : (n_cells,) float array, optional
        Added to each cell's p_tx_dbm (e.g. power saving), dB.
    bounds : (xmin, ymin, xmax, ymax), optional
        Area in ENU metres; default ``twin.bounds_xy_m()``.

    Returns
    -------
    RadioMap

    Raises
    ------
    ValueError
        Unknown model, bad grid or vector shapes, or a site/UE height outside
        the model's validity range (the message names the site).

    Notes
    -----
    Horizontal distances below the model's 10 m minimum are clamped to it;
    points beyond its maximum (5 km NLOS for the 38.901 models) receive
    nothing from that cell (rx = -inf), as they would be far below noise.
    """
    if model not in PATHLOSS_MODELS:
        raise ValueError(f"radio_map: unknown model {model!r}; expected one of "
                         f"{', '.join(PATHLOSS_MODELS)}")
    if not (np.isfinite(ue_height_m) and ue_height_m > 0):
        raise ValueError(f"radio_map: ue_height_m must be positive (got {ue_height_m})")
    cells = twin.cells
    n_cells = len(cells)
    active = _vector(cell_active, n_cells, "cell_active", bool, True) if cell_active is not None \
        else _default_active(twin)
    offset = _vector(cell_power_offset_db, n_cells, "cell_power_offset_db", float, 0.0)
    grid = Grid.covering(twin.bounds_xy_m() if bounds is None else bounds, grid_m)
    xs, ys = grid.centers()
    gx, gy = (a.ravel() for a in np.meshgrid(xs, ys))
    ue_z = ground_z_m(gx, gy) + ue_height_m

    # Buildings once, on the map's lattice grown to hold every active site.
    sites = list(dict.fromkeys(c.site_id for c, a in zip(cells, active) if a))
    ant = {s: twin.sites[s].antenna_xyz_m for s in sites}
    sxy = np.array([ant[s][:2] for s in sites]).reshape(-1, 2)
    raster = rasterize_buildings(twin.buildings, grid.expanded_to(sxy[:, 0], sxy[:, 1]))
    r_top, b_index = raster.sample(gx, gy)
    indoor = b_index >= 0
    heights = np.append(np.asarray(twin.buildings.heights_m, float), 0.0)
    b_height = heights[b_index]                              # index -1 -> the appended 0 m
    d_in = indoor_distance_m(twin.buildings, gx, gy, b_index)

    n_pts = gx.size
    rx = np.full((n_cells, n_pts), -np.inf)
    los_site = {}
    d_lo, d_hi = max_range_m(model)
    for s in sites:
        site = twin.sites[s]
        a = ant[s]
        dx, dy = gx - a[0], gy - a[1]
        d2d = np.hypot(dx, dy)
        los = viewshed_los(raster, a, gx, gy, ue_z, indoor)
        los_site[s] = los
        reach = d2d <= d_hi
        d_pl = np.clip(d2d[reach], d_lo, None)
        az_deg = np.degrees(np.arctan2(dx, dy))            # compass bearing site -> point
        theta_deg = 90.0 + np.degrees(np.arctan2(a[2] - ue_z, d2d))
        pl_by_f = {}
        for ci, c in enumerate(cells):
            if c.site_id != s or not active[ci]:
                continue
            if c.f_hz not in pl_by_f:
                try:
                    pl = pathloss_db(model, d_pl, c.f_hz, site.height_m, ue_height_m, los[reach])
                except ValueError as exc:
                    raise ValueError(f"radio_map: site '{s}': {exc}") from None
                loss = np.full(n_pts, np.inf)
                loss[reach] = pl
                pl_by_f[c.f_hz] = loss + np.where(indoor, o2i_low_loss_db(c.f_hz, d_in), 0.0)
            gain = antenna_gain_db(az_deg - c.azimuth_deg, theta_deg, c.tilt_deg,
                                   c.beamwidth_deg, c.gain_dbi)
            rx[ci] = c.p_tx_dbm + offset[ci] + gain - pl_by_f[c.f_hz]

    # Best server by RSRP; interference from the other active co-channel cells.
    bw = np.array([c.bandwidth_hz for c in cells], float)
    f = np.array([c.f_hz for c in cells], float)
    rs_offset = 10.0 * np.log10(12.0 * n_prb(bw)) if n_cells else np.zeros(0)
    if n_cells:
        rsrp_all = rx - rs_offset[:, None]
        best = np.argmax(rsrp_all, axis=0)
        rsrp = rsrp_all[best, np.arange(n_pts)]
    else:
        best = np.zeros(n_pts, dtype=np.int64)
        rsrp = np.full(n_pts, -np.inf)
    served = np.isfinite(rsrp)
    best = np.where(served, best, -1)
    sinr = np.full(n_pts, -np.inf)
    if np.any(served):
        rx_mw = 10.0 ** (rx / 10.0)                          # -inf -> 0 mW
        b = best[served]
        s_mw = rx_mw[b, np.flatnonzero(served)]
        i_mw = np.zeros(s_mw.shape)
        for fv in np.unique(f[active]):
            same = active & (f == fv)
            total = rx_mw[same][:, served].sum(axis=0)
            i_mw = np.where(f[b] == fv, total - s_mw, i_mw)
        n_mw = 10.0 ** (thermal_noise_dbm(bw[b], noise_figure_db) / 10.0)
        sinr[served] = 10.0 * np.log10(s_mw / (np.maximum(i_mw, 0.0) + n_mw))
    se = np.where(served, spectral_efficiency(sinr), 0.0)
    tput = np.where(served, se * bw[np.maximum(best, 0)] if n_cells else 0.0, 0.0)
    site_of = [c.site_id for c in cells]
    los_map = np.zeros(n_pts, dtype=bool)
    for s in sites:
        m = served & np.isin(best, [i for i, sid in enumerate(site_of) if sid == s])
        los_map[m] = los_site[s][m]

    shape = grid.shape
    return RadioMap(grid=grid, cell_ids=[c.id for c in cells], cell_active=active,
                    rx_dbm=rx.astype(np.float32).reshape((n_cells,) + shape),
                    rsrp_dbm=rsrp.reshape(shape), sinr_db=sinr.reshape(shape),
                    best_server=best.reshape(shape), los=los_map.reshape(shape),
                    indoor=indoor.reshape(shape),
                    spectral_efficiency_bps_hz=se.reshape(shape),
                    throughput_bps=tput.reshape(shape),
                    building_height_m=b_height.reshape(shape))
