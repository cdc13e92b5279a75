"""Radio map of a twin: received power per cell, best server, SINR, throughput.

For every grid point and every active cell the received power is

    rx = p_tx + power offset + path gain

where the path gain (antenna gain minus path loss, dB) comes from the
radio model. The default, "geometric" (:mod:`twin3d.physics.geometric`),
traces the buildings: exact 3D line of sight, rooftop and corner
diffraction, wall reflections. The TR 38.901 scenarios ("UMa", "UMi",
"RMa") and free space ("FSPL") stay selectable: antenna gain(phi, theta) -
path loss(d2D, LOS) of :mod:`twin3d.physics.radio`, with LOS from the
building viewshed of :mod:`twin3d.physics.los`. Both add, for points inside
a footprint, the TR 38.901 low-loss O2I penetration plus 0.5 dB/m to the
footprint's boundary. The best server is the cell with the highest RSRP; its SINR counts
every other active cell on the same carrier frequency as interference at
full load, plus thermal noise over the serving bandwidth.

One implementation in two stages (:mod:`twin3d.physics.cellmaps`): each
cell's rx map depends only on its own parameters, so it is computed once and
cached (:class:`~twin3d.physics.cellmaps.CellMapCache`), and a map for an
active set recombines the cached maps
(:func:`~twin3d.physics.cellmaps.combine`). :func:`radio_map` runs both
with a fresh cache; :class:`RadioMapper` keeps the cache across active
sets, power offsets and cell edits.

Examples
--------
>>> import twin3d                                              # doctest: +SKIP
>>> rm = radio_map(twin3d.load_scene("scenes/helsinki.toml").twin)  # doctest: +SKIP
>>> rm.coverage_fraction()                                     # doctest: +SKIP
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
from numba import njit

from .cellmaps import (RADIO_MODELS, RX_DTYPE, CellMapCache, CellSpec, GridContext, cached_cell_maps,
                       cached_cell_mw, combine_rows, rank_cells, site_los)
from .grid import Grid

__all__ = ["Grid", "RADIO_MODELS", "RadioMap", "RadioMapper", "radio_map"]

#: Cells ranked per point for the recombination (``RadioMapper``): a point
#: whose ranked cells all sleep falls back to a scan of the active cells.
RANK_DEPTH = 6
#: Rankings a ``RadioMapper`` keeps (8.4 MB each on Helsinki at 5 m).
RANKINGS_KEPT = 4
#: Cell specs a mapper memoizes (:meth:`RadioMapper._spec_of`; cleared when full).
SPECS_KEPT = 4096


class _RxRows:
    """The per-cell rows of a map's ``rx_dbm``, stacked only when first read."""

    __slots__ = ("n_cells", "shape", "idx", "maps")

    def __init__(self, n_cells: int, shape: tuple, idx, maps) -> None:
        self.n_cells, self.shape, self.idx, self.maps = n_cells, shape, idx, maps

    def array(self) -> np.ndarray:
        rx = np.full((self.n_cells, int(np.prod(self.shape[1:]))), -np.inf, dtype=RX_DTYPE)
        for i, m in zip(self.idx, self.maps):
            rx[i] = m
        return rx.reshape(self.shape)


class _LosRows:
    """A map's ``los``: each point's LOS to its server's site, gathered at the first read."""

    __slots__ = ("bank", "site_row", "best", "shape")

    def __init__(self, bank, site_row, best, shape) -> None:
        self.bank, self.site_row, self.best, self.shape = bank, site_row, best, shape

    def array(self) -> np.ndarray:
        out = np.zeros(self.best.size, dtype=bool)
        if self.bank is not None:
            _gather_rows(self.bank, self.site_row, self.best, out)
        return out.reshape(self.shape)


class _Lazy:
    """Data descriptor of ``RadioMap.rx_dbm`` and ``RadioMap.los``: holds an
    array, or what it is made from at the first read (:class:`_RxRows`,
    :class:`_LosRows`): a map recombined for an active set need not copy
    every cell's map, nor gather LOS nobody reads."""

    def __set_name__(self, owner, name) -> None:
        self.slot = "_" + name

    def __get__(self, obj, objtype=None):
        if obj is None:
            raise AttributeError(self.slot[1:])        # no default value for the dataclass
        v = obj.__dict__[self.slot]
        if isinstance(v, (_RxRows, _LosRows)):
            v = obj.__dict__[self.slot] = v.array()
        return v

    def __set__(self, obj, value) -> None:
        obj.__dict__[self.slot] = value


def _read_only(a: np.ndarray) -> np.ndarray:
    v = a.view()
    v.flags.writeable = False
    return v


@njit(cache=True, nogil=True)
def _gather_rows(bank, row_of, k, out):  # pragma: no cover - compiled
    """out[p] = bank[row_of[k[p]], p] where k[p] >= 0 (False elsewhere)."""
    for p in range(k.size):
        c = k[p]
        out[p] = bank[row_of[c], p] if c >= 0 else False


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
    los : bool, line of sight to the best server's site: the geometric model's
        exact 3D test (no indoor point in sight), else the building raster's
        viewshed (:func:`~twin3d.physics.cellmaps.site_los`).
    indoor : bool, the point lies inside a building footprint.
    building_height_m : height of the building holding the point, metres (0 outdoors).
    spectral_efficiency_bps_hz : attenuated Shannon, b/s/Hz.
    throughput_bps : spectral efficiency x the best server's bandwidth, bit/s
        (one UE alone in its cell).
    model : str
        What computed the per-cell maps: the radio model ("geometric",
        "UMa", ...) or the engine that replaced it ("sionna").
    """

    grid: Grid
    cell_ids: list[str]
    cell_active: np.ndarray
    rx_dbm: np.ndarray = _Lazy()
    rsrp_dbm: np.ndarray
    sinr_db: np.ndarray
    best_server: np.ndarray
    los: np.ndarray = _Lazy()
    indoor: np.ndarray
    spectral_efficiency_bps_hz: np.ndarray
    throughput_bps: np.ndarray
    building_height_m: np.ndarray
    model: str = ""

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


def radio_map(twin, model: str = "geometric", grid_m: float = 5.0, ue_height_m: float = 1.5,
              noise_figure_db: float = 7.0, cell_active=None, cell_power_offset_db=None,
              bounds=None) -> RadioMap:
    """Compute the radio map of a twin.

    Parameters
    ----------
    twin : twin3d.model.Twin
    model : {"geometric", "UMa", "UMi", "RMa", "FSPL"}
        Radio model: the geometry-aware model of
        :mod:`twin3d.physics.geometric` (default), a TR 38.901 scenario or
        free space.
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
    Horizontal distances below the model's minimum (10 m for 38.901, 1 m
    for "geometric") are clamped to it; points beyond its maximum (5 km for
    "geometric" and the 38.901 NLOS) receive nothing from that cell (rx =
    -inf), as they would be far below noise.
    """
    mapper = RadioMapper(twin, model=model, grid_m=grid_m, ue_height_m=ue_height_m,
                         noise_figure_db=noise_figure_db, bounds=bounds)
    return mapper.radio_map(cell_active, cell_power_offset_db)


class RadioMapper:
    """Radio maps of one twin on one grid, recombined from cached per-cell maps.

    Builds the grid context once (points, building raster, indoor flags);
    each :meth:`radio_map` takes every active cell's rx map from ``cache``
    (computing only cells whose parameters are new: moved, turned, tilted,
    power changed), copies it into its row of two (n_cells, n_pts) stacks
    (dBm and mW) if the row does not hold it yet, and recombines the rows
    of the active set with :func:`~twin3d.physics.cellmaps.combine_rows`
    (with a per-point RSRP ranking of the rows once they stop changing).
    A map's ``rx_dbm`` and ``los`` are made at their first read. Cell and site parameters are
    read from the twin at each call, so editing a cell's tilt or power
    recomputes that cell only. :func:`radio_map` is this with a fresh cache.

    Parameters
    ----------
    twin, model, grid_m, ue_height_m, noise_figure_db, bounds
        As for :func:`radio_map`.
    engine : object, optional
        A per-cell path-gain engine in place of ``model`` (see
        :class:`~twin3d.physics.cellmaps.GridContext`), such as
        :class:`twin3d.rt.solver.SionnaEngine` or a
        :class:`~twin3d.physics.geometric.model.GeometricEngine` with other
        terms; ``model`` then sets only the range.
    calibration : twin3d.physics.calibration.Calibration, optional
        ``[radio] calibration``: a per-environment correction added to every
        cell's map before it is cached (:func:`~twin3d.physics.cellmaps.cell_rx_dbm`).
    cache : CellMapCache, optional
        Where the per-cell maps live (default: a new one with the default
        memory bound).

    Examples
    --------
    >>> m = RadioMapper(twin3d.load_scene("scenes/helsinki.toml").twin)   # doctest: +SKIP
    >>> day = m.radio_map(); night = m.radio_map(cell_active=mask)       # doctest: +SKIP
    >>> m.cache.misses, m.cache.hits                                     # doctest: +SKIP
    (30, 27)
    """

    def __init__(self, twin, model: str = "geometric", grid_m: float = 5.0,
                 ue_height_m: float = 1.5, noise_figure_db: float = 7.0, bounds=None,
                 cache: CellMapCache | None = None, engine=None, calibration=None) -> None:
        if model not in RADIO_MODELS:
            raise ValueError(f"radio_map: unknown model {model!r}; expected one of "
                             f"{', '.join(RADIO_MODELS)}")
        if not (np.isfinite(ue_height_m) and ue_height_m > 0):
            raise ValueError(f"radio_map: ue_height_m must be positive (got {ue_height_m})")
        self.twin = twin
        self.noise_figure_db = float(noise_figure_db)
        self.cache = CellMapCache() if cache is None else cache
        grid = Grid.covering(twin.bounds_xy_m() if bounds is None else bounds, grid_m)
        site_xy = [twin.sites[c.site_id].antenna_xyz_m[:2] for c in twin.cells]
        self.ctx = GridContext(twin.buildings, grid, model, ue_height_m, site_xy, engine=engine,
                               calibration=calibration)
        eng = self.ctx.engine
        #: What computes the per-cell maps (``RadioMap.model``).
        self.model = model if eng is None else str(eng.key()[0])
        self._lock = threading.Lock()
        self._rx_stack = self._mw_stack = None
        self._stack_rows: list = []
        self._rank: OrderedDict[tuple, tuple] = OrderedDict()
        self._rank_pending: tuple | None = None
        self._los_rows: dict[tuple, int] = {}
        self._los_bank: np.ndarray | None = None
        self._specs: dict[tuple, CellSpec] = {}

    @property
    def grid(self) -> Grid:
        return self.ctx.grid

    def _spec_of(self, cell, site, offset_db) -> CellSpec:
        """:meth:`CellSpec.of`, memoized by the values it reads (cells and sites are
        mutable: a cell turned in place is a new key). The same spec object for the same
        values, so that a stack row's spec compares by identity."""
        key = (cell.azimuth_deg, cell.tilt_deg, cell.p_tx_dbm, cell.f_hz, cell.bandwidth_hz,
               cell.gain_dbi, cell.beamwidth_deg, site.height_m, site.xyz_m.tobytes(),
               float(offset_db))
        spec = self._specs.get(key)
        if spec is None:
            spec = CellSpec.of(cell, site, offset_db)
            if len(self._specs) >= SPECS_KEPT:
                self._specs.clear()
            self._specs[key] = spec
        return spec

    def radio_map(self, cell_active=None, cell_power_offset_db=None, twin=None) -> RadioMap:
        """The radio map of an active set (and power offsets); see :func:`radio_map`."""
        # ``twin``: the same sites with some cells changed (a ``sector`` event);
        # only the changed cells miss the cache
        twin, ctx = (self.twin if twin is None else twin), self.ctx
        cells = twin.cells
        n_cells = len(cells)
        active = _vector(cell_active, n_cells, "cell_active", bool, True) \
            if cell_active is not None else _default_active(twin)
        offset = _vector(cell_power_offset_db, n_cells, "cell_power_offset_db", float, 0.0)
        idx = np.flatnonzero(active)
        sites = twin.sites
        specs = [self._spec_of(cells[i], sites[cells[i].site_id], offset[i]) for i in idx.tolist()]
        # a cell whose row of the stacks holds its maps for this spec needs no cache look-up
        rows = self._stack_rows
        held = [rows[i] if i < len(rows) and rows[i] is not None
                and (rows[i][0] is s or rows[i][0] == s) else None
                for i, s in zip(idx.tolist(), specs)]
        look = [j for j, h in enumerate(held) if h is None]
        maps: list = [h and h[1] for h in held]
        mws: list = [h and h[2] for h in held]
        self.cache.hits += len(held) - len(look)
        if look:
            try:
                got = cached_cell_maps(ctx, [specs[j] for j in look], self.cache,
                                       [cells[idx[j]].site_id for j in look])
            except ValueError as exc:
                raise ValueError(f"radio_map: {exc}") from None
            got_mw = cached_cell_mw(ctx, [specs[j] for j in look], self.cache, got)
            for j, m, mw in zip(look, got, got_mw):
                maps[j], mws[j] = m, mw
        bw = np.array([c.bandwidth_hz for c in cells], float)
        f = np.array([c.f_hz for c in cells], float)
        with self._lock:        # the stacks are shared by the viewer's worker threads
            rx_stack, mw_stack = self._stacks(n_cells)
            for i, s, m, mw in zip(idx.tolist(), specs, maps, mws):
                row = self._stack_rows[i]
                if row is None or row[1] is not m:        # a cell new to its row (or changed)
                    rx_stack[i] = m
                    mw_stack[i] = mw
                    self._stack_rows[i] = (s, m, mw)
            comb = combine_rows(rx_stack, idx, mw_stack, idx, active, f, bw, self.noise_figure_db,
                                ctx.n_pts, ranking=self._ranking())
            # LOS to the best server's site (each site's viewshed is cached with its maps)
            new = [(i, s.antenna_xyz_m) for i, s in zip(idx.tolist(), specs)
                   if s.antenna_xyz_m not in self._los_rows]
            if new:            # only the sites of cells that serve somewhere
                serves = np.bincount(comb.best_server[comb.best_server >= 0], minlength=n_cells)
                for i, a in new:
                    if serves[i]:
                        self._los_row(a)
            site_row = np.zeros(n_cells, dtype=np.int64)
            for i, s in zip(idx.tolist(), specs):
                site_row[i] = self._los_rows.get(s.antenna_xyz_m, 0)
            # rows of the bank are never rewritten (a grown bank is a new array)
            los_map = _LosRows(self._los_bank, site_row, comb.best_server, ctx.grid.shape)

        shape = ctx.grid.shape
        return RadioMap(grid=ctx.grid, cell_ids=[c.id for c in cells], cell_active=active,
                        rx_dbm=_RxRows(n_cells, (n_cells,) + shape, idx, maps),
                        rsrp_dbm=comb.rsrp_dbm.reshape(shape), sinr_db=comb.sinr_db.reshape(shape),
                        best_server=comb.best_server.reshape(shape), los=los_map,
                        indoor=_read_only(ctx.indoor.reshape(shape)),
                        spectral_efficiency_bps_hz=comb.spectral_efficiency_bps_hz.reshape(shape),
                        throughput_bps=comb.throughput_bps.reshape(shape),
                        building_height_m=_read_only(ctx.building_height_m.reshape(shape)),
                        model=self.model)

    def _stacks(self, n_cells: int) -> tuple[np.ndarray, np.ndarray]:
        """(n_cells, n_pts) float32 dBm and float64 mW rows, one per cell of the twin.

        Row i holds a copy of the cached maps in ``_stack_rows[i]``, a
        (spec, rx, mW) tuple (the maps compared by identity: a cached map is
        never written), so an active set reuses the rows its cells already
        hold, without a cache look-up, and a changed cell refills only its
        own row. The stacks are a working copy beside the cache (42 MB on
        Helsinki at 5 m), not counted in its bound.
        """
        if self._rx_stack is None or self._rx_stack.shape[0] != n_cells:
            self._rx_stack = np.empty((n_cells, self.ctx.n_pts), RX_DTYPE)
            self._mw_stack = np.empty((n_cells, self.ctx.n_pts), np.float64)
            self._stack_rows = [None] * n_cells
            self._rank.clear()
            self._rank_pending = None
        return self._rx_stack, self._mw_stack

    def _ranking(self) -> tuple | None:
        """The cells of the stacks ranked by RSRP per point, if at hand (see
        :func:`~twin3d.physics.cellmaps.rank_cells`); None to scan instead.

        Rankings are kept by what the rows hold (their cells' specs; a few,
        least recently used dropped) and built on the second call in a row
        that finds the rows holding the same cells: a sequence of changing
        cells keeps scanning, and two configurations in turn (a sector
        changed and back) keep their rankings.
        """
        key = tuple(None if r is None else r[0] for r in self._stack_rows)
        got = self._rank.get(key)
        if got is not None:
            self._rank.move_to_end(key)
            return got
        pending, self._rank_pending = self._rank_pending, key
        if pending != key:
            return None
        filled = [i for i, r in enumerate(self._stack_rows) if r is not None]
        # the RSRP offsets of the bandwidths the rows were computed with: a function of the key
        bw = np.array([1e6 if r is None else r[0].bandwidth_hz for r in self._stack_rows])
        got = self._rank[key] = rank_cells(self._rx_stack, filled, bw, RANK_DEPTH)
        while len(self._rank) > RANKINGS_KEPT:
            self._rank.popitem(last=False)
        return got

    def _los_row(self, antenna_xyz_m) -> int:
        """Row of an antenna's LOS map in ``_los_bank`` (added at its first use)."""
        row = self._los_rows.get(antenna_xyz_m)
        if row is None:
            los = site_los(self.ctx, antenna_xyz_m, self.cache)
            row = len(self._los_rows)
            if self._los_bank is None or row >= self._los_bank.shape[0]:
                grown = np.zeros((max(8, 2 * row), self.ctx.n_pts), dtype=bool)
                if self._los_bank is not None:
                    grown[:row] = self._los_bank[:row]
                self._los_bank = grown
            self._los_bank[row] = los
            self._los_rows[antenna_xyz_m] = row
        return row
