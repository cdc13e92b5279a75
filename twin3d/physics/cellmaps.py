"""Per-cell received-power maps, cached, and their recombination per active set.

A cell's received-power map ``rx_dbm`` does not depend on which other cells
radiate (SANDBOX.md section 9). So a radio map is built in two stages:

1. :func:`cell_rx_dbm`: each cell's rx over the grid (path loss with the
   site's building LOS, sector antenna, O2I), float32, computed once per set
   of cell parameters and kept in a :class:`CellMapCache` (LRU bounded by
   bytes, with hit/miss counters). The LOS viewshed belongs to the site
   (antenna position) and is shared by its cells: :func:`site_los`, cached
   by antenna position too.
2. :func:`combine` (:func:`combine_rows` on stacked maps): for one active
   set, RSRP, best server, SINR (the other active cells on the same carrier
   frequency interfere) and spectral efficiency from the cached maps, in
   compiled passes over blocks of points (numba; :mod:`twin3d.physics.recombine`,
   the points cut into spans on threads when the machine spares them), the
   logarithms and powers in numpy. A ranking of the cells by RSRP per point (:func:`rank_cells`)
   makes the best server of any active set a look-up.

A cell is recomputed only when a parameter of its key changes (it moves,
turns, tilts, changes power, frequency, bandwidth, gain or beamwidth; or the
grid, UE height, buildings, path-loss model or ``[radio] calibration`` change). With a
path-gain engine (the default "geometric" model, or ray tracing) the engine's map is
cached without the transmit power: a power change costs an addition.
Switching cells on and off costs only :func:`combine`: the same float64 operations, in the same
order, as a cell-by-cell numpy loop, so the numbers are those of that loop
bit for bit (``tests/test_radio_fast.py`` keeps the loop as its reference).

No I/O.

Examples
--------
>>> import numpy as np
>>> rx = np.array([[-40.0, -60.0], [-50.0, -45.0]], np.float32)      # 2 cells x 2 points
>>> c = combine(rx, [True, True], f_hz=[3.5e9, 3.5e9], bandwidth_hz=[100e6, 100e6])
>>> c.best_server.tolist(), [round(float(v), 1) for v in c.sinr_db]
([0, 1], [10.0, 15.0])
>>> combine(rx, [False, True], [3.5e9, 3.5e9], [100e6, 100e6]).best_server.tolist()
[1, 1]
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass, replace
from typing import Hashable, Sequence

import numpy as np
import shapely
from numba import njit

from .geometric.model import MAX_RANGE_M as GEOMETRIC_MAX_RANGE_M, GeometricEngine
from .grid import Grid
from .los import ground_z_m, indoor_distance_m, rasterize_buildings, viewshed_los
from .radio import (PATHLOSS_MODELS, antenna_gain_db, max_range_m, n_prb, o2i_low_loss_db, pathloss_db,
                    thermal_noise_dbm)
from .recombine import best_server, best_server_ranked, cochannel, run_spans, sinr_and_se
from .threads import spare_threads

__all__ = ["RADIO_MODELS", "RX_DTYPE", "DEFAULT_CACHE_BYTES", "CellSpec", "GridContext",
           "CellMapCache", "Recombined", "buildings_digest", "site_los", "cell_rx_dbm",
           "engine_path_gain_db", "cached_cell_maps", "cached_cell_mw", "combine", "combine_rows",
           "rank_cells", "to_mw", "calibration_features"]

#: Every radio model name: the geometry-aware "geometric" model (the default,
#: :mod:`twin3d.physics.geometric`), then free space and the TR 38.901 scenarios.
RADIO_MODELS = ("geometric",) + PATHLOSS_MODELS
#: dtype of the cached received-power maps.
RX_DTYPE = np.float32
#: Default memory bound of a :class:`CellMapCache`, bytes (a Helsinki cell of
#: 117,162 points takes 1.4 MB: 0.5 MB of float32 dBm and 0.9 MB of float64 mW;
#: with a path-gain engine another 0.9 MB of float64 path gain).
DEFAULT_CACHE_BYTES = 1 << 30


@dataclass(frozen=True)
class CellSpec:
    """Everything one cell's received-power map depends on (besides the grid).

    ``antenna_xyz_m`` is the antenna position (ENU; the site's ground point
    plus its height) and ``height_m`` the antenna height above ground the
    path-loss model takes. ``p_tx_dbm`` includes any power offset.
    """

    antenna_xyz_m: tuple[float, float, float]
    height_m: float
    azimuth_deg: float
    tilt_deg: float
    p_tx_dbm: float
    f_hz: float
    bandwidth_hz: float
    gain_dbi: float
    beamwidth_deg: float

    @classmethod
    def of(cls, cell, site, power_offset_db: float = 0.0) -> "CellSpec":
        """The spec of a :class:`twin3d.model.Cell` on its :class:`~twin3d.model.Site`."""
        a = site.antenna_xyz_m
        return cls((float(a[0]), float(a[1]), float(a[2])), float(site.height_m),
                   float(cell.azimuth_deg), float(cell.tilt_deg),
                   float(cell.p_tx_dbm + power_offset_db), float(cell.f_hz),
                   float(cell.bandwidth_hz), float(cell.gain_dbi), float(cell.beamwidth_deg))


def buildings_digest(buildings) -> str:
    """sha1 of the footprints (WKB), heights and base heights: the buildings in cache keys."""
    h = hashlib.sha1()
    h.update(str(len(buildings)).encode())
    if len(buildings):
        h.update(b"".join(shapely.to_wkb(buildings.footprints)))
        h.update(np.ascontiguousarray(buildings.heights_m, float).tobytes())
        h.update(np.ascontiguousarray(buildings.base_z_m, float).tobytes())
    return h.hexdigest()


class GridContext:
    """What every cell map on one grid shares: points, UE heights, buildings.

    The buildings are rasterized once on the grid's lattice, grown to hold
    every site in ``site_xy_m`` that can reach some grid point (within the
    model's maximum range), so each site's LOS is the same whichever other
    sites radiate.

    Parameters
    ----------
    buildings : twin3d.model.Buildings
    grid : Grid
    model : str
        Radio model, one of :data:`RADIO_MODELS`: "geometric" (a
        :class:`~twin3d.physics.geometric.model.GeometricEngine` with its
        default terms, unless ``engine`` is given) or a path-loss model of
        :data:`twin3d.physics.radio.PATHLOSS_MODELS`. It also sets the range:
        a cell gives -inf dBm beyond it (5 km for "geometric" and the
        38.901 scenarios).
    ue_height_m : float
    site_xy_m : (n, 2) array_like
        Sites whose cells may be mapped on this grid.
    engine : object, optional
        A source of per-cell path gain in place of the path-loss model (the
        geometric model, or the Sionna RT backend
        :class:`twin3d.rt.solver.SionnaEngine`): its
        ``path_gain_db(buildings, grid, specs, ue_height_m)`` gives
        (n_cells, ny, nx) dB, antenna gain and wall penetration included,
        and ``key()`` what the maps depend on besides the context.
    calibration : twin3d.physics.calibration.Calibration, optional
        A per-environment correction added to every cell map
        (``[radio] calibration``; see :func:`cell_rx_dbm`).

    Attributes
    ----------
    token : tuple
        Identifies the context in cache keys: grid, model, UE height, raster
        lattice, a digest of the buildings, the engine's key and the
        calibration's key.
    """

    def __init__(self, buildings, grid: Grid, model: str, ue_height_m: float,
                 site_xy_m=(), engine=None, calibration=None) -> None:
        if model not in RADIO_MODELS:
            raise ValueError(f"unknown model {model!r}; expected one of {', '.join(RADIO_MODELS)}")
        if not (np.isfinite(ue_height_m) and ue_height_m > 0):
            raise ValueError(f"ue_height_m must be positive (got {ue_height_m})")
        if model == "geometric" and engine is None:
            engine = GeometricEngine()
        self.grid, self.model, self.ue_height_m = grid, model, float(ue_height_m)
        xs, ys = grid.centers()
        self.gx, self.gy = (a.ravel() for a in np.meshgrid(xs, ys))
        self.ue_z = ground_z_m(self.gx, self.gy) + ue_height_m
        self.n_pts = self.gx.size
        self.d_lo, self.d_hi = (1.0, GEOMETRIC_MAX_RANGE_M) if model == "geometric" \
            else max_range_m(model)
        sxy = np.asarray(site_xy_m, float).reshape(-1, 2)
        sxy = sxy[[self.can_reach(x, y) for x, y in sxy]] if len(sxy) else sxy
        self.raster = rasterize_buildings(buildings, grid.expanded_to(sxy[:, 0], sxy[:, 1]))
        _, b_index = self.raster.sample(self.gx, self.gy)
        self.indoor = b_index >= 0
        heights = np.append(np.asarray(buildings.heights_m, float), 0.0)
        self.building_height_m = heights[b_index]            # index -1 -> the appended 0 m
        self.d_in = indoor_distance_m(buildings, self.gx, self.gy, b_index)
        rg = self.raster.grid
        self.buildings, self.engine = buildings, engine
        self.calibration = calibration
        self.token = (grid, model, self.ue_height_m, (rg.x0_m, rg.y0_m, rg.nx, rg.ny),
                      buildings_digest(buildings), None if engine is None else engine.key(),
                      None if calibration is None else calibration.key())

    def can_reach(self, x_m: float, y_m: float) -> bool:
        """Whether a site at (x, y) is within the model's range of some grid point."""
        x0, y0, x1, y1 = self.grid.bounds_m
        dx = max(x0 - x_m, 0.0, x_m - x1)
        dy = max(y0 - y_m, 0.0, y_m - y1)
        return bool(np.hypot(dx, dy) <= self.d_hi)


class CellMapCache:
    """LRU store of per-cell rx maps and per-site LOS maps, bounded by bytes.

    Parameters
    ----------
    max_bytes : int
        Bound on the bytes of the arrays held; the least recently used go
        first. An array larger than the bound is returned but not kept.

    Attributes
    ----------
    hits, misses : int
        Cell rx maps found / computed.
    los_hits, los_misses : int
        Site LOS maps found / computed.
    evictions : int
        Arrays dropped to stay within the bound.

    Examples
    --------
    >>> c = CellMapCache(max_bytes=100)
    >>> c.put(("rx", 1), np.zeros(10, np.float32)); c.put(("rx", 2), np.zeros(10, np.float32))
    >>> c.put(("rx", 3), np.zeros(10, np.float32))          # 120 bytes > 100: the oldest goes
    >>> c.get(("rx", 1)) is None, c.nbytes, c.evictions
    (True, 80, 1)
    """

    def __init__(self, max_bytes: int = DEFAULT_CACHE_BYTES) -> None:
        if max_bytes < 0:
            raise ValueError(f"CellMapCache: max_bytes must be >= 0 (got {max_bytes})")
        self.max_bytes = int(max_bytes)
        self._lock = threading.Lock()        # the viewer's what-ifs simulate in worker threads
        self._store: OrderedDict[Hashable, np.ndarray] = OrderedDict()
        self.nbytes = 0
        self.hits = self.misses = self.los_hits = self.los_misses = self.evictions = 0

    def __len__(self) -> int:
        return len(self._store)

    def __contains__(self, key) -> bool:
        return key in self._store

    def get(self, key):
        """The array under ``key`` (now the most recently used), or None."""
        with self._lock:
            arr = self._store.get(key)
            if arr is not None:
                self._store.move_to_end(key)
            return arr

    def put(self, key, arr: np.ndarray) -> None:
        """Keep ``arr`` under ``key``, evicting the least recently used beyond the bound."""
        with self._lock:
            old = self._store.pop(key, None)
            if old is not None:
                self.nbytes -= old.nbytes
            if arr.nbytes > self.max_bytes:
                return
            self._store[key] = arr
            self.nbytes += arr.nbytes
            while self.nbytes > self.max_bytes:
                _, dropped = self._store.popitem(last=False)
                self.nbytes -= dropped.nbytes
                self.evictions += 1

    def clear(self) -> None:
        """Drop every array (the counters stay)."""
        with self._lock:
            self._store.clear()
            self.nbytes = 0

    def stats(self) -> dict[str, int]:
        """Counters, entries and bytes, for logs and benchmarks."""
        return {"hits": self.hits, "misses": self.misses, "los_hits": self.los_hits,
                "los_misses": self.los_misses, "evictions": self.evictions,
                "entries": len(self._store), "nbytes": self.nbytes, "max_bytes": self.max_bytes}


def site_los(ctx: GridContext, antenna_xyz_m, cache: CellMapCache | None = None) -> np.ndarray:
    """(n_pts,) bool: line of sight from an antenna to every grid point (cached per position).

    From the context's engine when it has its own LOS test (``line_of_sight``: the
    geometric model's exact 3D LOS, the one its map uses), else the building raster's
    viewshed (:func:`~twin3d.physics.los.viewshed_los`; indoor points judged at
    their building's wall).
    """
    a = tuple(float(v) for v in antenna_xyz_m)
    key = ("los", ctx.token, a)
    if cache is not None:
        got = cache.get(key)
        if got is not None:
            cache.los_hits += 1
            return got
        cache.los_misses += 1
    exact = getattr(ctx.engine, "line_of_sight", None)
    if exact is not None:
        los = np.asarray(exact(ctx.buildings, a, np.column_stack([ctx.gx, ctx.gy, ctx.ue_z])),
                         bool)
    else:
        los = viewshed_los(ctx.raster, a, ctx.gx, ctx.gy, ctx.ue_z, ctx.indoor)
    if cache is not None:
        cache.put(key, los)
    return los


def cell_rx_dbm(ctx: GridContext, specs: Sequence[CellSpec], cache: CellMapCache | None = None,
                names: Sequence[str] | None = None) -> np.ndarray:
    """Received power of each cell over the grid, dBm: (n_cells, n_pts) float32.

    The model's map (:func:`model_rx_dbm`) plus, with a calibration in the
    context, its correction at each point (:func:`calibration_features`),
    added in float64 to the float32 map and rounded again.
    """
    rx = model_rx_dbm(ctx, specs, cache, names)
    if ctx.calibration is None or not len(specs):
        return rx
    # [radio] calibration: the per-environment correction, cached with the map (ctx.token)
    out = rx.astype(np.float64)
    by_antenna: dict[tuple, np.ndarray] = {}
    for i, s in enumerate(specs):
        if s.antenna_xyz_m not in by_antenna:
            env, log_d = calibration_features(ctx, s.antenna_xyz_m, cache)
            by_antenna[s.antenna_xyz_m] = ctx.calibration.correction_db(env, log_d)
        out[i] += by_antenna[s.antenna_xyz_m]
    return out.astype(RX_DTYPE)


def calibration_features(ctx: GridContext, antenna_xyz_m, cache: CellMapCache | None = None,
                         points=None) -> tuple[np.ndarray, np.ndarray]:
    """Each grid point's environment index and log distance for an antenna (calibration's inputs).

    Environment (:func:`twin3d.physics.calibration.environment_index`):
    indoors (inside a footprint), else the site's LOS (:func:`site_los`: the
    geometric model's exact test, else the raster viewshed); log distance of the
    3D distance antenna -> UE (:func:`~twin3d.physics.calibration.log_distance`).
    ``points``: flat grid indices to return (default every point).
    """
    from .calibration import environment_index, log_distance
    a = tuple(float(v) for v in antenna_xyz_m)
    p = slice(None) if points is None else np.asarray(points, np.intp)
    los = site_los(ctx, a, cache)[p]
    d = np.sqrt((ctx.gx[p] - a[0]) ** 2 + (ctx.gy[p] - a[1]) ** 2 + (ctx.ue_z[p] - a[2]) ** 2)
    return environment_index(ctx.indoor[p], los), log_distance(d)


def model_rx_dbm(ctx: GridContext, specs: Sequence[CellSpec], cache: CellMapCache | None = None,
                 names: Sequence[str] | None = None) -> np.ndarray:
    """The model's received power of each cell over the grid, dBm: (n_cells, n_pts) float32.

    rx = p_tx + antenna gain(phi, theta) - path loss(d2D, LOS) - O2I, in
    float64, rounded once to float32. The cells of one antenna share its
    distances, LOS and path loss per frequency. -inf beyond the model's range.
    With an engine in the context (the geometric model, ray tracing), rx =
    p_tx + the engine's path gain, which holds the antenna gain and any wall
    penetration; the path gains are cached (in ``cache``) per cell without
    its transmit power, and the cells missing there computed in one call.

    Parameters
    ----------
    ctx : GridContext
    specs : sequence of CellSpec
    cache : CellMapCache, optional
        Holds the site LOS maps (the rx maps are cached by
        :func:`cached_cell_maps`).
    names : sequence of str, optional
        The site of each cell, named in path-loss errors.
    """
    if ctx.engine is not None and len(specs):
        gain = engine_path_gain_db(ctx, specs, cache)
        p_tx = np.array([s.p_tx_dbm for s in specs], float)[:, None]
        return (p_tx + gain).astype(RX_DTYPE)
    out = np.empty((len(specs), ctx.n_pts), RX_DTYPE)
    by_site: dict[tuple, list[int]] = {}
    for i, s in enumerate(specs):
        by_site.setdefault((s.antenna_xyz_m, s.height_m), []).append(i)
    for (a, h_bs), members in by_site.items():
        dx, dy = ctx.gx - a[0], ctx.gy - a[1]
        d2d = np.hypot(dx, dy)
        reach = d2d <= ctx.d_hi
        los = site_los(ctx, a, cache) if reach.any() else np.zeros(ctx.n_pts, bool)
        d_pl = np.clip(d2d[reach], ctx.d_lo, None)
        az_deg = np.degrees(np.arctan2(dx, dy))            # compass bearing site -> point
        theta_deg = 90.0 + np.degrees(np.arctan2(a[2] - ctx.ue_z, d2d))
        pl_by_f = {}
        for i in members:
            c = specs[i]
            if c.f_hz not in pl_by_f:
                try:
                    pl = pathloss_db(ctx.model, d_pl, c.f_hz, h_bs, ctx.ue_height_m, los[reach])
                except ValueError as exc:
                    where = f"site '{names[i]}'" if names is not None else f"antenna at {a}"
                    raise ValueError(f"{where}: {exc}") from None
                loss = np.full(ctx.n_pts, np.inf)
                loss[reach] = pl
                pl_by_f[c.f_hz] = loss + np.where(ctx.indoor, o2i_low_loss_db(c.f_hz, ctx.d_in), 0.0)
            gain = antenna_gain_db(az_deg - c.azimuth_deg, theta_deg, c.tilt_deg,
                                   c.beamwidth_deg, c.gain_dbi)
            out[i] = c.p_tx_dbm + gain - pl_by_f[c.f_hz]
    return out


def _unpowered(spec: CellSpec) -> CellSpec:
    return replace(spec, p_tx_dbm=0.0)


def engine_path_gain_db(ctx: GridContext, specs: Sequence[CellSpec],
                        cache: CellMapCache | None = None) -> np.ndarray:
    """The context engine's path gain of each cell, dB: (n_cells, n_pts) float64.

    -inf beyond the model's range (``ctx.d_hi``). Kept (float64) in ``cache`` per cell
    without its transmit power (a power change needs no new map); the cells
    missing there go to the engine in one call (the geometric model shares
    a site's paths among its cells).
    """
    keys = [("pg", ctx.token, _unpowered(s)) for s in specs]
    got = [None if cache is None else cache.get(k) for k in keys]
    missing = [i for i, g in enumerate(got) if g is None]
    if missing:
        todo = list(dict.fromkeys(keys[i][2] for i in missing))   # a spec twice: computed once
        pg = np.asarray(ctx.engine.path_gain_db(ctx.buildings, ctx.grid, todo, ctx.ue_height_m),
                        float).reshape(len(todo), ctx.n_pts)
        for row, s in enumerate(todo):
            a = s.antenna_xyz_m
            # float64: rx is rounded once, to float32, after the transmit power is added
            m = np.where(np.hypot(ctx.gx - a[0], ctx.gy - a[1]) <= ctx.d_hi, pg[row], -np.inf)
            m.flags.writeable = False
            if cache is not None:
                cache.put(("pg", ctx.token, s), m)
            for i in missing:
                if keys[i][2] == s:
                    got[i] = m
    return np.stack([np.asarray(g, float) for g in got])


def cached_cell_maps(ctx: GridContext, specs: Sequence[CellSpec], cache: CellMapCache,
                     names: Sequence[str] | None = None) -> list[np.ndarray]:
    """Each cell's (n_pts,) float32 rx map: from the cache, the missing ones computed in one batch.

    The returned arrays are shared with the cache: do not write to them.
    """
    keys = [("rx", ctx.token, s) for s in specs]
    out: list = [cache.get(k) for k in keys]
    missing = [i for i, m in enumerate(out) if m is None]
    cache.hits += len(specs) - len(missing)
    cache.misses += len(missing)
    if missing:
        rx = cell_rx_dbm(ctx, [specs[i] for i in missing], cache,
                         None if names is None else [names[i] for i in missing])
        for row, i in enumerate(missing):
            m = rx[row].copy()
            m.flags.writeable = False
            out[i] = m
            cache.put(keys[i], m)
    return out


def to_mw(rx_dbm) -> np.ndarray:
    """Received power in mW, float64: 10^(rx / 10) (-inf dBm -> 0 mW)."""
    return 10.0 ** (np.asarray(rx_dbm, np.float64) / 10.0)


def cached_cell_mw(ctx: GridContext, specs: Sequence[CellSpec], cache: CellMapCache,
                   rx_maps: Sequence[np.ndarray]) -> list[np.ndarray]:
    """Each cell's (n_pts,) float64 power in mW (:func:`to_mw` of its rx map), cached beside it.

    Not counted in the hit/miss counters (it follows its rx map). Read-only arrays.
    """
    out = []
    for s, rx in zip(specs, rx_maps):
        key = ("mw", ctx.token, s)
        mw = cache.get(key)
        if mw is None:
            mw = to_mw(rx)
            mw.flags.writeable = False
            cache.put(key, mw)
        out.append(mw)
    return out


@dataclass
class Recombined:
    """One active set's radio map, flat over the grid points (n_pts,).

    rsrp_dbm and sinr_db are -inf and best_server -1 where no active cell
    reaches; spectral efficiency and throughput are 0 there.
    """

    rsrp_dbm: np.ndarray
    sinr_db: np.ndarray
    best_server: np.ndarray
    spectral_efficiency_bps_hz: np.ndarray
    throughput_bps: np.ndarray


def combine(rx_dbm, active, f_hz, bandwidth_hz, noise_figure_db: float = 7.0, *,
            rx_mw=None, n_pts: int | None = None) -> Recombined:
    """RSRP, best server, SINR and spectral efficiency of an active set, from per-cell maps.

    Parameters
    ----------
    rx_dbm : (n_cells, n_pts) array, or a sequence of (n_pts,) arrays
        Each cell's received power over its bandwidth, dBm (any float
        dtype; computed on in float64). Rows of inactive cells are never
        read (they may be None in a sequence).
    active : (n_cells,) bool
    f_hz, bandwidth_hz : (n_cells,) float
        Carrier frequency and bandwidth per cell. Cells on the same
        frequency interfere at full load.
    noise_figure_db : float
        UE noise figure, dB.
    rx_mw : (n_cells, n_pts) array or sequence of (n_pts,) float64 arrays, optional
        ``to_mw(rx_dbm[i])`` per cell if already at hand (cached): saves
        the exponentials, same result.
    n_pts : int, optional
        Number of points; needed only when no row is given.

    Returns
    -------
    Recombined
        Best server = highest RSRP = rx - 10 log10(12 n_prb) (the first
        cell on ties); SINR = its rx over the other active co-channel cells'
        rx plus thermal noise over its bandwidth; attenuated-Shannon
        spectral efficiency; throughput = SE x the server's bandwidth.

    Notes
    -----
    Two compiled passes over the active cells' rows, a block of points at
    a time (:func:`combine_rows`): the best server (a running maximum of
    RSRP, strictly greater: the first cell on ties), then the total power
    on the server's carrier, summed over the active cells in cell order
    (the same float64 additions as a cell-by-cell loop); interference =
    that total minus the serving power. The logarithms and powers run in
    numpy, point by point, as before the kernels existed.
    """
    active = np.asarray(active, bool)
    n_cells = active.size
    idx = np.flatnonzero(active)
    if idx.size:
        first = rx_dbm[idx[0]]
        n_pts = np.asarray(first).size
    elif n_pts is None:
        first = next((r for r in rx_dbm if r is not None), None) if n_cells else None
        if first is None:
            raise ValueError("combine: give n_pts when no cell map is given")
        n_pts = np.asarray(first).size
    if isinstance(rx_dbm, np.ndarray) and rx_dbm.ndim >= 2:
        rx, rx_rows = rx_dbm.reshape(n_cells, -1), idx
    else:
        rx = (np.stack([np.asarray(rx_dbm[i]).ravel() for i in idx]) if idx.size
              else np.zeros((0, n_pts), np.float64))
        rx_rows = np.arange(idx.size)
    if rx.dtype not in (np.float32, np.float64):
        rx = rx.astype(np.float64)
    if rx_mw is None:
        mw, mw_rows = to_mw(rx[rx_rows]).reshape(idx.size, n_pts), np.arange(idx.size)
    elif isinstance(rx_mw, np.ndarray) and rx_mw.ndim >= 2:
        mw, mw_rows = rx_mw.reshape(n_cells, -1), idx
    else:
        mw = (np.stack([np.asarray(rx_mw[i], np.float64).ravel() for i in idx]) if idx.size
              else np.zeros((0, n_pts)))
        mw_rows = np.arange(idx.size)
    return combine_rows(rx, rx_rows, mw, mw_rows, active, f_hz, bandwidth_hz, noise_figure_db,
                        n_pts)


def combine_rows(rx, rx_rows, mw, mw_rows, active, f_hz, bandwidth_hz,
                 noise_figure_db: float = 7.0, n_pts: int | None = None,
                 ranking: tuple | None = None) -> Recombined:
    """:func:`combine` on stacked maps: the k-th active cell's rows are
    ``rx[rx_rows[k]]`` (float32 or float64 dBm) and ``mw[mw_rows[k]]``
    (float64 mW, :func:`to_mw` of the former). Other rows are never read,
    so a stack can hold every cell of a twin and serve any active set.

    ``ranking``: :func:`rank_cells` of ``rx`` (rows = cells, ``rx_rows``
    must then be the active cells' indices), valid for every active cell's
    row: the best server is then the first active cell of each point's
    ranking (the same cell and RSRP as the running maximum).
    """
    active = np.asarray(active, bool)
    n_cells = active.size
    f = np.asarray(f_hz, float).reshape(n_cells)
    bw = np.asarray(bandwidth_hz, float).reshape(n_cells)
    idx = np.flatnonzero(active)
    if n_pts is None:
        n_pts = rx.shape[1]
    rs_offset, n_mw = _per_cell_constants(bw, float(noise_figure_db))
    if idx.size == 0:
        return Recombined(np.full(n_pts, -np.inf), np.full(n_pts, -np.inf),
                          np.full(n_pts, -1, dtype=np.int64), np.zeros(n_pts), np.zeros(n_pts))
    rx_rows = np.ascontiguousarray(rx_rows, np.int64)
    mw_rows = np.ascontiguousarray(mw_rows, np.int64)
    if mw.dtype != np.float64:
        mw = mw.astype(np.float64)
    _, group = np.unique(f[idx], return_inverse=True)
    group = np.ascontiguousarray(group.ravel(), np.int64)
    rsrp = np.empty(n_pts)
    k = np.empty(n_pts, dtype=np.int64)                  # position in idx of the best server
    best = np.empty(n_pts, dtype=np.int64)
    sinr = np.empty(n_pts)
    bw_act = np.ascontiguousarray(bw[idx])
    one_bw = bool(np.all(bw_act == bw_act[0]))
    bw_pt = np.empty(0 if one_bw else n_pts)          # each point's server bandwidth, if they differ
    rs_act = np.ascontiguousarray(rs_offset[idx], np.float64)
    pos = None
    if ranking is not None:
        pos = np.full(n_cells, -1, dtype=np.int64)
        pos[idx] = np.arange(idx.size)
    se = np.empty(n_pts)
    cochannel_args = (mw, mw_rows, group, bool(group.max() == 0), k, rsrp, idx.astype(np.int64),
                      np.ascontiguousarray(n_mw[idx]), bw_act, best, sinr, bw_pt)

    def span(lo: int, hi: int) -> None:         # every pass on the points lo .. hi - 1
        if pos is not None:
            best_server_ranked(rx, ranking[0], ranking[1], pos, rx_rows, rs_act, rsrp, k, lo, hi)
        else:
            best_server(rx, rx_rows, rs_act, rsrp, k, lo, hi)
        # signal / (interference + noise), linear; 0 where no cell reaches (-inf dB)
        cochannel(*cochannel_args, lo, hi)
        sinr_and_se(sinr[lo:hi], se[lo:hi])

    run_spans(span, n_pts, spare_threads(SPLIT_LOAD_MARGIN) if n_pts >= SPLIT_MIN_POINTS else 1)
    # 0 b/s/Hz where unserved; one bandwidth: the same products as per point
    tput = se * bw_act[0] if one_bw else np.multiply(se, bw_pt, out=bw_pt)
    return Recombined(rsrp, sinr, best, se, tput)


#: Points from which the per-point passes are cut into spans on threads (when
#: spare: :func:`.threads.spare_threads`): 4 ms serial on Helsinki's 117,162 points.
SPLIT_MIN_POINTS = 50_000
#: Load margin of the spans' threads (:func:`.threads.spare_threads`): the worker needs
#: a core nobody else uses. On 2 shared cores at load averages of 2.5 to 3.4, Helsinki's
#: recombination took 8.0 to 10.5 ms (wall) on 2 threads against 6.0 ms on one.
SPLIT_LOAD_MARGIN = -0.5

_CONSTANTS: OrderedDict = OrderedDict()


def _per_cell_constants(bw: np.ndarray, noise_figure_db: float) -> tuple[np.ndarray, np.ndarray]:
    """Per cell: the RSRP offset 10 log10(12 n_prb) and the thermal noise in mW (memoized)."""
    key = (bw.tobytes(), noise_figure_db)
    got = _CONSTANTS.get(key)
    if got is None:
        rs = 10.0 * np.log10(12.0 * n_prb(bw)) if bw.size else np.zeros(0)
        n_mw = 10.0 ** (thermal_noise_dbm(bw, noise_figure_db) / 10.0) if bw.size else np.zeros(0)
        got = _CONSTANTS[key] = (rs, n_mw)
        while len(_CONSTANTS) > 64:
            _CONSTANTS.popitem(last=False)
    return got


def rank_cells(rx, rows, bandwidth_hz, depth: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """(depth, n_pts) int32 and float64: per point, the cells ``rows`` by RSRP, best first, and their RSRP.

    RSRP = rx - 10 log10(12 n_prb) in float64, ties in cell order (the first
    cell first); cells that do not reach a point (-inf) are left out, and -1
    fills the ranks beyond them. A best server of any active set is the first
    active cell here, when one is within the depth (see :func:`combine_rows`).
    """
    bw = np.asarray(bandwidth_hz, float)
    rs, _ = _per_cell_constants(bw, 0.0)
    out = np.empty((depth, rx.shape[1]), dtype=np.int32)
    val = np.empty((depth, rx.shape[1]))
    _rank(rx, np.ascontiguousarray(rows, np.int64), np.ascontiguousarray(rs), out, val)
    return out, val


@njit(cache=True, nogil=True)
def _rank(rx, rows, rs_off, out, val):  # pragma: no cover - compiled
    depth = out.shape[0]
    n = rx.shape[1]
    lv = np.empty(depth)
    lc = np.empty(depth, np.int32)
    for p in range(n):
        for d in range(depth):
            lv[d] = -np.inf
            lc[d] = -1
        for j in range(rows.size):
            c = rows[j]
            r = np.float64(rx[c, p]) - rs_off[c]
            if r > lv[depth - 1]:                   # strictly: an equal RSRP ranks after
                d = depth - 1
                while d > 0 and r > lv[d - 1]:
                    lv[d] = lv[d - 1]
                    lc[d] = lc[d - 1]
                    d -= 1
                lv[d] = r
                lc[d] = c
        for d in range(depth):
            val[d, p] = lv[d]
            out[d, p] = lc[d]
