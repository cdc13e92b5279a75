"""Run scenarios: each step applies its events, serves the radio demand,
routes the backhaul with cascades, and measures KPIs.

Radio scenes (sites with cells): demand is spread over the coverage grid
(:mod:`twin3d.sim.demand`), each cell serves what its air interface can
(resource share ``sum(demand / (SE x B))``, processor sharing), and what the
cells serve, plus the fixed lines each site aggregates (site property
``fixed_busy_hour_bps``), is backhaul from the core to each site. Backbone
scenes route a gravity (or source) demand matrix, plus any sites' fixed
traffic from the core. Surges apply in both (:mod:`twin3d.sim.surge` for
backbones); an event that cannot apply is an :class:`InputError`. Site power
follows EARTH per site kind (:mod:`twin3d.sim.power`). Deterministic:
nothing here is random.
"""

from __future__ import annotations

import copy
import operator
import threading
from collections import OrderedDict
from dataclasses import replace

import numpy as np
from numba import njit

from ..errors import InputError
from ..loader import Scene, area_sites, check_event
from ..physics.batch_step import BatchRouter
from ..physics.coverage import RadioMap, RadioMapper
from ..physics.geometric.model import GeometricEngine
from ..physics.deferred import Deferred, raw_attribute
from ..physics.incremental import RoutingCache
from ..physics.kernel_args import readonly_c
from ..physics.transport import Router
from ..radio_cache import disk_cached
from ..scene import ScenarioSpec
from .demand import area_mask, grid_demand_weights, gravity_demands, profile_factor
from .events import StepState, Timeline
from .extent import radio_extent_error
from .kpi import transport_kpis
from .power import CellPower, total_energy_w
from .radio_serving import (LATER_RADIO_KPIS, RADIO_KPI_KEYS, RSRP_MIN_DBM, SINR_MIN_DB,
                            _cell_loads, _load_scaled, _p5_from_loads, _radio_kpis, _serve,
                            _served_points)
from .results import ScenarioResult, StepResult, _describe, _describe_weight, sla_violated
from .surge import surge_arrays
from .forwarding_step import overrides_of, pair_paths_of, route_step_forwarding
from .transport_step import MAX_QUEUE_DELAY_S, route_step, route_step_compiled

__all__ = ["StepResult", "ScenarioResult", "Simulator", "simulate", "MAX_QUEUE_DELAY_S",
           "FIXED_ATTR", "sla_violated"]

#: Site property: fixed and enterprise traffic the site aggregates at the busy hour, bit/s.
FIXED_ATTR = "fixed_busy_hour_bps"
#: The coverage grid spans the radio sites and buildings plus this margin, metres.
RADIO_MARGIN_M = 200.0
#: Largest coverage grid simulated, points (about 1 GB of float32 per 30 cells).
MAX_GRID_POINTS = 8_000_000
#: Radio maps a :class:`Simulator` keeps, by active set (least recently used
#: dropped; about 5 MB each on Helsinki at 5 m). A scenario result keeps the
#: maps of its own steps whatever this bound.
MAX_RADIO_MAPS = 32


@njit(cache=True)
def _routable_sums(at, ok, bps, n):  # pragma: no cover - compiled
    """``np.bincount(at, np.where(ok, bps, 0.0), minlength=n)`` in one pass (the same
    sums in the same order)."""
    out = np.zeros(n)
    for i in range(len(at)):
        if ok[i]:
            out[at[i]] += bps[i]
    return out


def _site_sums(at, ok, bps, n: int) -> np.ndarray:
    """:func:`_routable_sums` of read-only views (the caches' arrays are read-only):
    one kernel signature whatever the arrays, and no copy."""
    return _routable_sums(readonly_c(at, np.int64), readonly_c(ok, bool), readonly_c(bps, float),
                          n)


class Simulator:
    """Precomputes what every step shares (router, demand weights, areas).

    Parameters
    ----------
    scene : Scene
        A loaded scene.
    incremental : bool
        Route steps on the base demand matrix incrementally
        (:class:`twin3d.physics.incremental.RoutingCache`): faster on large
        networks where each step changes a few links; equal to the full
        routing to 1e-12 relative, not always bit for bit.
    """

    def __init__(self, scene: Scene, incremental: bool = False) -> None:
        self.scene = scene
        #: Route the base demand matrix with a RoutingCache (steps without surges,
        #: attacks or radio): destinations a step's changes do not reach are not
        #: searched again. Results equal the full routing to the last bits.
        self.incremental = incremental
        self._cache: RoutingCache | None = None
        twin, spec = scene.twin, scene.spec
        self.twin = twin
        self.site_ids = list(twin.sites)
        self.site_index = {s: i for i, s in enumerate(self.site_ids)}
        self.cells = twin.cells
        self.router = Router(twin.graph, metric=spec.traffic.metric, source=str(spec.path))
        self.link_ids = [str(l) for l in self.router.links]
        self.link_capacity_bps = np.array([twin.links[l].capacity_bps for l in self.link_ids])
        self.link_index = {l: i for i, l in enumerate(self.link_ids)}
        #: Routing weight of each link under the scene's metric (set_weight replaces it).
        self.link_weight = np.zeros(len(self.link_ids))
        self.link_weight[self.router.link] = self.router.weight
        self.node_of_site = {n: i for i, n in enumerate(self.router.nodes)}
        self.site_of_node = np.array([self.site_index[n] for n in self.router.nodes], dtype=int)
        #: Radio maps by :meth:`radio_key`, least recently used first (at most MAX_RADIO_MAPS).
        self._maps: OrderedDict[bytes, RadioMap] = OrderedDict()
        self._maps_lock = threading.Lock()
        #: Per awake radio key: what serving the all-awake map needs at any demand
        #: (served points' server, rate, weight and index), for :meth:`awake_energy_w`.
        self._awake_serve: OrderedDict[bytes, tuple] = OrderedDict()
        #: Per-cell radio maps on the simulator's grid, recombined per active set (built lazily).
        self.mapper: RadioMapper | None = None
        #: (timeline, step, state) of the last step simulated (:meth:`step_state`).
        self._state_last: tuple | None = None
        self.core = spec.traffic.core
        #: Gravity weight of each routing node (its degree).
        self.node_mass = np.array([twin.graph.degree(n) for n in self.router.nodes], dtype=float)
        if self.cells:
            self.radio_bounds = self._radio_bounds()
            if self.core is None:
                cos = [s.id for s in twin.sites.values() if s.kind == "central_office"]
                if len(cos) != 1:
                    raise InputError(spec.path, "a scene with radio cells needs the core site that "
                                     "backhaul runs to", "[traffic]", "core")
                self.core = cos[0]
            up = np.array([twin.sites[c.site_id].state == "up" for c in self.cells], dtype=bool)
            base = self.radio(up)
            #: The radio map with every site in its scene state: the signal layer.
            self.baseline_map, self.baseline_key = base, np.packbits(up).tobytes()
            self.weights = grid_demand_weights(base.indoor, base.building_height_m)
            self.xs, self.ys = base.grid.centers()
            self.cell_bw_hz = np.array([c.bandwidth_hz for c in self.cells])
            self.cell_site = np.array([self.site_index[c.site_id] for c in self.cells])
            self.power = CellPower([twin.sites[s].kind for s in self.site_ids], self.cell_site)
        self.fixed_site_bps = self._fixed_demand()
        if not self.cells:
            self.baseline_map, self.baseline_key = None, None
            self.base_demands = self._backbone_demands()
            for s, b in zip(self.site_ids, self.fixed_site_bps):
                if b > 0:
                    self.base_demands[(self.core, s)] = self.base_demands.get((self.core, s), 0.0) + b
            self.area_members = {a.name: area_sites(spec, twin, a.name) for a in spec.areas}
        #: ``base_demands`` as (src, dst, bps) arrays, made at the first step without
        #: surges or attacks (so edit ``base_demands`` before the first step, if at all).
        self._base_arrays: tuple | None = None
        self._batch: BatchRouter | None = None        # the compiled step over the base pairs
        #: Sum of the base arrays' bit/s at each profile factor met (a step's offer).
        self._offered_sum: dict[float, float] = {}
        self._factors: dict[tuple, float] = {}           # profile factor per (hour, profile)
        #: set_weight descriptions met: per link, weight -> text (and how many in all)
        self._weight_text: list[dict[float, str]] = [{} for _ in self.link_ids]
        self._n_weight_texts = 0
        self._nan_sites = np.full(len(self.site_ids), np.nan)   # power per site without cells
        self._link_getter = None
        self._site_getter = None
        self._link_up_last: tuple | None = None          # (link states, link_up)
        self._node_up_last: tuple | None = None          # (site states, node_up)
        self._capacity_last: tuple | None = None         # (capacities, as an array)
        self._scaled: tuple | None = None                # (factor, base bit/s, scaled bit/s)
        self._plain_density: tuple | None = None         # (factor, density, its sum) without surges
        self._site_at: tuple | None = None               # (src, dst, core, site per demand)
        self._site_load_last: tuple | None = None        # (routable, bit/s, site at, load)
        for sc in spec.scenarios:
            self.check(sc)

    def _radio_bounds(self) -> tuple[float, float, float, float]:
        """Radio sites and buildings, plus a margin: not a backbone's whole extent."""
        pts = [self.twin.sites[c.site_id].xyz_m[:2] for c in self.cells]
        if len(self.twin.buildings):
            import shapely
            b = shapely.bounds(self.twin.buildings.footprints)
            pts += list(b[:, :2]) + list(b[:, 2:])
        p = np.array(pts)
        lo, hi = p.min(axis=0) - RADIO_MARGIN_M, p.max(axis=0) + RADIO_MARGIN_M
        step = self.scene.spec.radio.grid_m
        n = int(np.ceil((hi[0] - lo[0]) / step)) * int(np.ceil((hi[1] - lo[1]) / step))
        if n > MAX_GRID_POINTS:
            raise radio_extent_error(self.scene.spec.path, self.twin, [c.site_id for c in self.cells],
                                     n, MAX_GRID_POINTS, hi - lo)
        return float(lo[0]), float(lo[1]), float(hi[0]), float(hi[1])

    @staticmethod
    def radio_key(active: np.ndarray, sector: dict | None = None) -> bytes:
        """Cache key of a radio map: the active set, plus any changed cell parameters."""
        key = np.packbits(active).tobytes()
        if sector:
            key += b"|" + repr(sorted((c, sorted(p.items())) for c, p in sector.items())).encode()
        return key

    def _twin_with(self, sector: dict):
        """A shallow copy of the twin whose cells carry the ``sector`` changes."""
        twin = copy.copy(self.twin)
        twin.sites = dict(self.twin.sites)
        for sid in {c.rpartition("/")[0] for c in sector}:
            site = self.twin.sites[sid]
            cells = [replace(c, **sector.get(f"{sid}/{k + 1}", {})) for k, c in enumerate(site.cells)]
            twin.sites[sid] = replace(site, cells=cells)
        return twin

    def radio(self, active: np.ndarray, sector: dict | None = None) -> RadioMap:
        """The radio map for a set of active cells and cell changes (cached by both).

        The last :data:`MAX_RADIO_MAPS` maps used are kept; an older one is
        recombined again (the per-cell maps stay in the mapper's cache).
        """
        key = self.radio_key(active, sector)
        with self._maps_lock:
            rm = self._maps.get(key)
            if rm is not None:
                self._maps.move_to_end(key)
                return rm
        if self.mapper is None:
            r = self.scene.spec.radio
            self.mapper = RadioMapper(self.twin, model=r.model, grid_m=r.grid_m,
                                      ue_height_m=r.ue_height_m,
                                      noise_figure_db=r.noise_figure_db, bounds=self.radio_bounds,
                                      engine=self._radio_engine(r),
                                      calibration=r.calibration)     # [radio] calibration
        # a new set recombines the per-cell maps the mapper caches; a
        # changed cell is the only one computed again
        twin = self._twin_with(sector) if sector else None
        rm = self.mapper.radio_map(cell_active=active, twin=twin)
        with self._maps_lock:
            rm = self._maps.setdefault(key, rm)
            self._maps.move_to_end(key)
            while len(self._maps) > MAX_RADIO_MAPS:
                self._maps.popitem(last=False)
        return rm

    def _radio_engine(self, r):
        """The per-cell path-gain engine of ``[radio]``; None for a 38.901 or free-space model.

        ``engine = "sionna"``: Sionna RT; ``model = "geometric"``: the
        geometric model with the ``[radio.geometric]`` terms. Either is wrapped in the on-disk map cache when
        :data:`twin3d.radio_cache.ENV_VAR` names a folder.
        """
        if r.engine == "sionna":
            from ..rt.solver import RtSettings, SionnaEngine     # the optional [rt] extra
            engine = SionnaEngine(RtSettings(r.rt_samples_per_tx, r.rt_max_depth,
                                             seed=self.scene.spec.seed,
                                             scattering=r.rt_scattering))
        elif r.model == "geometric":
            engine = GeometricEngine(**dict(r.geometric_terms))
        else:
            return None
        return disk_cached(engine)

    def step_state(self, timeline: Timeline, t: int):
        """``timeline.state(t)``: the state the last :meth:`step` read when it simulated
        step ``t`` of this timeline (the same state: a timeline's state at a step it
        reached does not change), else computed."""
        got = self._state_last
        if got is not None and got[0] is timeline and got[1] == t:
            return got[2]
        return timeline.state(t)

    def step_radio_map(self, r: StepResult) -> RadioMap | None:
        """The radio map step ``r`` used (recombined again if no longer kept); None without cells."""
        if r.radio_key is None:
            return None
        with self._maps_lock:
            rm = self._maps.get(r.radio_key)
        if rm is not None:
            return rm
        state = dict(zip(self.site_ids, r.site_state))
        active = np.array([state[c.site_id] == "up" and c.id not in r.cell_sleep for c in self.cells])
        sector = r.cell_params or None
        if self.radio_key(active, sector) != r.radio_key:
            raise ValueError(f"step {r.t}: its radio key does not follow from its site states, "
                             "cell sleep and cell parameters")
        return self.radio(active, sector)

    def _backbone_demands(self) -> dict[tuple[str, str], float]:
        t = self.scene.spec.traffic
        if t.demand in ("sndlib", "file") and self.twin.demands:
            return dict(self.twin.demands)
        return gravity_demands(list(self.router.nodes), self.node_mass, t.busy_hour_bps)

    def _fixed_demand(self) -> np.ndarray:
        """(n_sites,) fixed and enterprise traffic from the core to each site at the busy hour, bit/s.

        The site property :data:`FIXED_ATTR` (default 0): traffic of fixed
        access and enterprise lines that the site aggregates, carried from the
        core over the same fibre as the radio backhaul and following the same
        diurnal profile.
        """
        spec = self.scene.spec
        out = np.zeros(len(self.site_ids))
        for i, sid in enumerate(self.site_ids):
            v = self.twin.sites[sid].attrs.get(FIXED_ATTR)
            if v is None:
                continue
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not np.isfinite(v) or v < 0:
                raise InputError(spec.path, f"must be a number of bit/s >= 0, got {v!r}",
                                 f"site '{sid}'", FIXED_ATTR)
            out[i] = v
        if out.any():
            if self.core is None:
                raise InputError(spec.path, f"sites carry {FIXED_ATTR}, which runs from the core: "
                                 "name the core site", "[traffic]", "core")
            out[self.site_index[self.core]] = 0.0
        return out

    def check(self, scenario: ScenarioSpec) -> None:
        """Raise :class:`InputError` for an event of ``scenario`` that cannot apply.

        The checks of :func:`twin3d.loader.check_event`, plus, in a scene with
        cells, a surge area that holds no grid point and a surge on a site
        whose cells serve no grid point in the baseline map. Runs for the
        scene's scenarios when the simulator is built, and for every run.
        """
        spec = self.scene.spec
        for j, ev in enumerate(scenario.events):
            where = f"[[scenario]] ('{scenario.name}') event {j + 1}"
            check_event(spec, self.twin, ev, where)
            if ev.kind in ("cell_sleep", "sector") and not self.cells:
                raise InputError(spec.path, f"a {ev.kind} event needs a scene with radio cells",
                                 where, "cell" if ev.kind == "cell_sleep" else "site")
            if ev.kind == "surge" and not self.cells and ev.factor is not None:
                members = {ev.target} if ev.target is not None else set(self.area_members[ev.area])
                if not any(a in members or b in members for a, b in self.base_demands):
                    what = f"site '{ev.target}'" if ev.target is not None else f"area '{ev.area}'"
                    raise InputError(spec.path, f"surge on {what}, which has no demand to scale "
                                     "(give bps to add traffic)", where,
                                     "target" if ev.target is not None else "area")
            if ev.kind != "surge" or not self.cells:
                continue
            if ev.area is not None and not self._area_mask(ev.area).any():
                raise InputError(spec.path, f"surge area '{ev.area}' holds no point of the "
                                 "coverage grid", where, "area")
            if (ev.target is not None and self.twin.sites[ev.target].state == "up"
                    and not self._site_mask(ev.target, self.baseline_map).any()):
                raise InputError(spec.path, f"surge on site '{ev.target}', whose cells serve no "
                                 "point of the coverage grid", where, "target")

    def _site_mask(self, site_id: str, rm: RadioMap) -> np.ndarray:
        """(ny, nx) bool: points a site's cells serve best in the map ``rm``."""
        mine = np.flatnonzero(self.cell_site == self.site_index[site_id])
        return np.isin(rm.best_server, mine)

    def _area_mask(self, name: str) -> np.ndarray:
        a = next(a for a in self.scene.spec.areas if a.name == name)
        x, y, _ = self.twin.frame.to_enu([a.lon], [a.lat])
        return area_mask(self.xs, self.ys, (x[0], y[0]), a.radius_m)

    def _density(self, state: StepState, factor: float, radio_map) -> np.ndarray:
        """(ny, nx) offered demand of a radio step, bit/s per point, surges applied.

        ``radio_map()`` gives the step's map (asked only for a surge on a site
        that is not up in the scene).
        """
        if not state.surges:            # kept per factor (read-only): a flat day reuses it
            got = self._plain_density
            if got is None or got[0] != factor:
                d = self.scene.spec.traffic.busy_hour_bps * factor * self.weights
                d.flags.writeable = False
                got = self._plain_density = (factor, d, float(d.sum()))
            return got[1]
        density = self.scene.spec.traffic.busy_hour_bps * factor * self.weights
        for ev in state.surges:
            if ev.area is not None:
                mask = self._area_mask(ev.area)
            else:       # where the site serves in the baseline: users stay where they are
                up = self.twin.sites[ev.target].state == "up"
                mask = self._site_mask(ev.target, self.baseline_map if up else radio_map())
            if ev.factor is not None:
                density = np.where(mask, density * ev.factor, density)
            if ev.bps is not None and mask.any():   # a crowd: extra demand spread over the area
                density = density + mask * (ev.bps * factor / mask.sum())
        return density

    def _map_and_density(self, state: StepState, factor: float):
        """(active cells, radio map, offered demand per point) of a radio step."""
        active = np.array([state.site_state[c.site_id] == "up" and c.id not in state.cell_sleep
                           for c in self.cells])
        rm = self.radio(active, state.sector)
        return active, rm, self._density(state, factor, lambda: rm)

    def _served(self, state: StepState, factor: float, per_point: bool = True):
        """The air interface of a radio step: (active cells, radio map, density, cell
        loads, offered per cell, user throughput, (SINR at the covered points,
        throughput stats, demand at the lowest throughput)); see :func:`_serve`."""
        active, rm, density = self._map_and_density(state, factor)
        # a point is covered when its RSRP and SINR clear the thresholds; it is
        # served when, besides, a cell serves it at a positive rate. Each cell
        # shares its resources among the demand it serves (processor sharing):
        # load = sum(demand / (SE x B)) over its points, in point order.
        # the demand read-only (a flat day's is kept read-only): one kernel signature, no copy
        rho, offered_cell, user_thr, sinr_cov, stats, w_lo = _serve(
            rm.rsrp_dbm.ravel(), rm.sinr_db.ravel(), rm.best_server.ravel(),
            rm.spectral_efficiency_bps_hz.ravel(), self.cell_bw_hz,
            readonly_c(density.ravel(), float), len(self.cells), RSRP_MIN_DBM, SINR_MIN_DB,
            per_point)
        return active, rm, density, rho, offered_cell, user_thr, (sinr_cov, stats, w_lo)

    def _radio_step(self, state: StepState, factor: float, radio_kpis: bool | str = True):
        kpis = None
        if radio_kpis == "later":       # what the SLA reads now; the rest by complete_kpis()
            active, rm, density = self._map_and_density(state, factor)
            loads = _cell_loads(rm.rsrp_dbm.ravel(), rm.sinr_db.ravel(), rm.best_server.ravel(),
                                rm.spectral_efficiency_bps_hz.ravel(), self.cell_bw_hz,
                                readonly_c(density.ravel(), float), len(self.cells),
                                RSRP_MIN_DBM, SINR_MIN_DB)
            t5 = _p5_from_loads(loads)
            if t5 is not None:          # the p5 without the per-point pass
                rho, offered_cell, n_cov = loads[:3]
                n_pts = rm.rsrp_dbm.size
                kpis = {k: float("nan") for k in RADIO_KPI_KEYS}
                kpis["coverage_pct"] = 100.0 * (n_cov / n_pts) if n_pts else float("nan")
                kpis["throughput_p5_bps"] = t5
        if kpis is None:
            active, rm, density, rho, offered_cell, user_thr, sample = self._served(
                state, factor, bool(radio_kpis))
            if radio_kpis:
                kpis = _radio_kpis(sample, rm.rsrp_dbm.size, user_thr, density,
                                   later=radio_kpis == "later")
            else:
                kpis = dict.fromkeys(RADIO_KPI_KEYS, float("nan"))
        served_cell = offered_cell * np.minimum(1.0, 1.0 / np.maximum(rho, 1e-12))
        site_bps = np.bincount(self.cell_site, served_cell, minlength=len(self.site_ids))
        fixed = self.fixed_site_bps * factor          # fixed and enterprise backhaul
        demands = {(self.core, s): float(b) for s, b in zip(self.site_ids, site_bps + fixed)
                   if b > 0 and s != self.core}
        asleep = np.array([c.id in state.cell_sleep for c in self.cells])
        power = self.power.site_power_w(rho, [state.site_state[s] for s in self.site_ids], asleep)
        got = self._plain_density
        total = got[2] if got is not None and got[1] is density else float(density.sum())
        offered = float(total + fixed.sum())
        self._cells_last = (rho, served_cell)
        return demands, offered, float(served_cell.sum() + fixed.sum()), kpis, power, active

    def _offer(self, state: StepState, factor: float, radio_kpis: bool | str = True):
        """Demands of one step: (demands, offered, carried, kpis, power, radio key).

        ``offered`` is what users ask for; ``carried`` what enters the
        backhaul (after the air interface, plus any attack traffic).
        """
        if self.cells:
            demands, offered, carried, kpis, power, active = self._radio_step(state, factor, radio_kpis)
            key = self.radio_key(active, state.sector)
        else:
            src, dst, bps = self.base_demand_arrays()
            if not state.surges and not state.ddos:   # the base matrix scaled: arrays, no dict
                demands = (src, dst, self._scaled_base(factor))
                offered = carried = self.offered_at(factor, demands[2])
            else:           # surges on the arrays (twin3d.sim.surge), attacks appended below
                bps = bps * factor
                idx = self.router.node_index
                for ev in state.surges:
                    members = [ev.target] if ev.target is not None else self.area_members[ev.area]
                    src, dst, bps = surge_arrays(src, dst, bps, self.node_mass,
                                                 np.array([idx[m] for m in members if m in idx]),
                                                 ev.factor, None if ev.bps is None else ev.bps * factor)
                demands = (src, dst, bps)
                offered = carried = float(bps.sum())
            # no radio: the radio KPIs are undefined (NaN here, null in kpis.json)
            kpis = dict.fromkeys(RADIO_KPI_KEYS, float("nan"))
            key, power = None, self._nan_sites.copy()
        demands, shed_bps = self._shed(demands, state.shed)
        carried -= shed_bps
        for ev in state.ddos:      # attack traffic from every other live site
            srcs = [s for s in self.site_ids if s != ev.target and state.site_state[s] in ("up", "sleep")]
            if isinstance(demands, dict):
                for s in srcs:
                    demands[(s, ev.target)] = demands.get((s, ev.target), 0.0) + ev.bps / len(srcs)
            elif srcs:
                idx = self.router.node_index
                a = np.array([idx[s] for s in srcs], dtype=np.int64)
                demands = (np.concatenate([demands[0], a]),
                           np.concatenate([demands[1], np.full(a.size, idx[ev.target], np.int64)]),
                           np.concatenate([demands[2], np.full(a.size, ev.bps / len(srcs))]))
            offered += ev.bps
            carried += ev.bps
        return demands, offered, carried, kpis, power, key

    def base_demand_arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``base_demands`` as (src index, dst index, bit/s) arrays (made once)."""
        if self._base_arrays is None:
            self._base_arrays = self.router.demand_arrays(self.base_demands)
        return self._base_arrays

    def offered_at(self, factor: float, bps: np.ndarray) -> float:
        """Sum of the base demand at a profile factor (``bps``: the arrays' bit/s times it),
        added term by term as the dict path adds, and kept per factor."""
        got = self._offered_sum.get(factor)
        if got is None:
            got = self._offered_sum[factor] = sum(bps.tolist())
        return got

    def scale_base_demand(self, factor: float) -> None:
        """Multiply the backbone demand matrix by ``factor`` (before or between runs).

        Raises
        ------
        InputError
            The scene has radio cells (its demand is ``[traffic] busy_hour_bps``).
        """
        if self.cells:
            raise InputError(self.scene.spec.path, "a demand factor applies to transport-only "
                             "scenes (a radio scene's demand is [traffic] busy_hour_bps)",
                             "[traffic]", "busy_hour_bps")
        self.base_demands = {k: v * factor for k, v in self.base_demands.items()}
        self._base_arrays = None
        self._offered_sum.clear()
        # the compiled step and the incremental cache hold the pairs, which stay; their
        # bit/s come with every call

    def awake_energy_w(self, state: StepState, hour: float, profile: str = "diurnal") -> float:
        """Energy of a radio step with every cell that ``cell_sleep`` silenced awake, W.

        The reference that cell sleep saves against: the same step (site
        states, surges, sector changes) with no cell asleep on its own; the
        radio map is recombined from the cached per-cell maps.
        """
        if not self.cells:
            raise ValueError("awake_energy_w needs a scene with radio cells")
        factor = float(profile_factor(hour, profile))
        awake = replace(state, cell_sleep=set())
        # The cell loads of the all-awake map at this step's demand: the same
        # divisions and the same sums in point order as _radio_step, over the
        # served points kept per awake map (no KPIs, no new map per step).
        active = np.array([state.site_state[c.site_id] == "up" for c in self.cells], dtype=bool)
        key = self.radio_key(active, state.sector)
        with self._maps_lock:
            got = self._awake_serve.get(key)
            if got is not None:
                self._awake_serve.move_to_end(key)
        if got is None:
            rm = self.radio(active, state.sector)
            got = _served_points(rm.rsrp_dbm.ravel(), rm.sinr_db.ravel(), rm.best_server.ravel(),
                                 rm.spectral_efficiency_bps_hz.ravel(), self.cell_bw_hz,
                                 self.weights.ravel(), RSRP_MIN_DBM, SINR_MIN_DB)
            with self._maps_lock:
                self._awake_serve[key] = got
                while len(self._awake_serve) > MAX_RADIO_MAPS:
                    self._awake_serve.popitem(last=False)
        server, rate, weight, points = got
        if not awake.surges:
            demand = self.scene.spec.traffic.busy_hour_bps * factor
            rho = _load_scaled(server, weight, rate, demand, len(self.cells))
        else:
            density = self._density(awake, factor, lambda: self.radio(active, state.sector))
            rho = np.bincount(server, density.ravel()[points] / rate, minlength=len(self.cells))
        power = self.power.site_power_w(rho, [state.site_state[s] for s in self.site_ids],
                                        np.zeros(len(self.cells), dtype=bool))
        return total_energy_w(power)

    def _shed(self, demands, shed: dict[tuple[str, str], float]):
        """Demands after ``shed`` events, and the bit/s they shed (counted as dropped)."""
        if not shed:
            return demands, 0.0
        lost = 0.0
        if isinstance(demands, dict):
            demands = dict(demands)
            for pair, f in shed.items():
                b = demands.get(pair, 0.0)
                if b > 0:
                    demands[pair], lost = b * (1.0 - f), lost + b * f
            return demands, lost
        src, dst, bps = demands
        bps, idx = bps.copy(), self.router.node_index
        for (s, d), f in shed.items():
            hit = (src == idx[s]) & (dst == idx[d])
            lost += float(bps[hit].sum()) * f
            bps[hit] *= 1.0 - f
        return (src, dst, bps), lost

    def step(self, timeline: Timeline, t: int, demand_factor: float = 1.0,
             radio_kpis: bool | str = True) -> StepResult:
        """Simulate step ``t`` of the timeline's scenario (records trips on it).

        ``demand_factor`` multiplies the step's whole demand (the diurnal
        profile's share of the busy hour), radio or backbone alike. With
        ``radio_kpis`` False the coverage, SINR and throughput percentiles of
        the whole grid are not computed (NaN; cell loads and all else are),
        for callers that read per-cell results only. With ``radio_kpis="later"``
        the coverage and the throughput p5 (the SLA's) are, and the
        :data:`LATER_RADIO_KPIS` are NaN until :meth:`StepResult.complete_kpis`
        (for callers that rarely read them: an environment's step).
        """
        scenario, traffic = timeline.scenario, self.scene.spec.traffic
        hour = scenario.start_hour + t * scenario.step_s / 3600.0
        state = timeline.state(t)
        self._state_last = (timeline, t, state)
        self._cells_last = (None, None)
        factor = self._profile_factor(hour, scenario.profile)
        if demand_factor != 1.0:
            factor *= float(demand_factor)
        demands, offered, carried, kpis, power, key = self._offer(state, factor, radio_kpis)
        if isinstance(demands, dict):       # once: the cascade routes the same demands again
            demands = self.router.demand_arrays(demands)
        link_states = self._of_links(state.link_state)
        link_up, node_up = self._in_service(link_states, state.site_state)
        cap = self._capacity_of(self._of_links(state.capacity_bps)) if state.capacity_bps \
            else self.link_capacity_bps * np.array(self._of_links(state.capacity_factor), dtype=float)
        weight = None
        if state.link_weight is not None:     # weights told as a vector (LiveTimeline.set_weights)
            told = state.link_weight == state.link_weight
            if np.count_nonzero(told):
                weight = np.where(told, state.link_weight, self.link_weight)
        elif state.weight:
            weight = self.link_weight.copy()
            for l, w in state.weight.items():
                weight[self.link_index[l]] = w
        # a vector's set_weight events come first among the step's (LiveTimeline.set_weights)
        events = self._describe_weights(state.weight_changes) if state.weight_changes else []
        events += [_describe(e) for e in state.events]
        casc, cache, compiled = None, None, False
        base = self._base_arrays is not None and demands[0] is self._base_arrays[0]
        pinned = pair_paths_of(self.router, state.pair_route, demands)
        if state.forwarding or pinned:   # static routes / ACLs / pair routes: every pass walks
            casc = route_step_forwarding(self.router, demands, link_up, node_up, cap,
                                         traffic.trip_utilization,
                                         overrides_of(self.router, state.forwarding),
                                         traffic.routing, events, weight=weight, pinned=pinned)
        elif base and self.incremental:       # large networks: reroute only what a change touches
            if self._cache is None:
                self._cache = RoutingCache(self.router, demands[0], demands[1], traffic.routing)
            cache = self._cache
        elif base:            # the base pairs: one compiled call, the same result
            if self._batch is None:
                self._batch = BatchRouter(self.router, demands[0], demands[1], traffic.routing)
            casc = route_step_compiled(self._batch, demands[2], link_up, node_up, cap,
                                       traffic.trip_utilization, weight, events)
            compiled = True
        if casc is None:
            casc = route_step(self.router, demands, link_up, node_up, cap, traffic.trip_utilization,
                              traffic.routing, events, weight=weight, cache=cache)
        if casc.waves:
            timeline.trip([w for wave in casc.waves for w in wave.tripped], t)
        routing = casc.routing
        # what the backhaul loses: unroutable demands and tail drops on overloaded links
        lost = casc.lost_bps
        served = max(0.0, carried - lost)
        link_state = list(link_states)
        for i in (link_up & ~casc.link_up).nonzero()[0].tolist():
            link_state[i] = "tripped"
        site_state = self._of_sites(state.site_state)
        lat_s, lat_w, lat_stats = routing.latency_sample or (routing.latency_s,
                                                             routing.demand_bps, None)
        kpis.update(transport_kpis(casc.link_util, casc.link_up, lat_s, lat_w, lat_stats))
        kpis.update({"offered_bps": offered, "served_bps": served, "dropped_bps": offered - served,
                     # a link is "up" exactly when it is in service after the cascade
                     "failed_elements": float(len(link_state) - int(np.count_nonzero(casc.link_up))
                                              + site_state.count("down") + site_state.count("off")),
                     # without cells every site's power is NaN (_offer): so is the total
                     "energy_w": total_energy_w(power) if self.cells else float("nan"),
                     "converged": bool(routing.converged)})
        kpis["sla_violated"] = sla_violated(self.scene.spec.sla, kpis, bool(self.cells))
        link_load = casc.link_load_bps(len(self.link_ids))
        # routable demand: backhaul counts at the site, other traffic at its source
        core = self.node_of_site.get(self.core, -1)
        if compiled:     # summed when first read: an environment's step does not read it
            # (the compiled step's routable and bit/s arrays are its own, or read-only)
            site_load = Deferred(_site_sums, self._load_site(routing.src, routing.dst, core),
                                 routing.routable, routing.demand_bps, len(self.site_ids))
        else:
            site_load = self._routable_site_load(routing, core)
        return StepResult(t, hour, kpis, link_load, casc.link_util, link_state, site_state, site_load,
                          power, key, cap, [w.as_dict() for w in casc.waves], events,
                          self.link_weight if weight is None else weight, set(state.cell_sleep),
                          {c: dict(p) for c, p in state.sector.items()},
                          # the base pairs: the arrays given (equal to the routing's), which a
                          # flat profile routes every step (observers keep what they derive)
                          demands if base and not state.forwarding
                          else (routing.src, routing.dst, routing.demand_bps),
                          *self._cells_last,
                          raw_attribute(routing, "latency_s"), routing.delivered_bps,
                          np.asarray(casc.link_up, dtype=bool),
                          Deferred(_later_radio_kpis, self, state, factor)
                          if radio_kpis == "later" and self.cells else None)

    def _scaled_base(self, factor: float) -> np.ndarray:
        """The base arrays' bit/s times ``factor`` (the last factor's kept: a flat
        profile routes one array every step). Read-only: steps share it."""
        got = self._scaled
        if got is None or got[0] != factor or got[1] is not self._base_arrays[2]:
            bps = self._base_arrays[2] * factor
            bps.flags.writeable = False
            got = self._scaled = (factor, self._base_arrays[2], bps)
        return got[2]

    def _routable_site_load(self, routing, core: int) -> np.ndarray:
        """(n_sites,) routable demand bit/s at each site (:meth:`_load_site`); kept
        while the step routes the same read-only routable and bit/s arrays (an
        incremental cache's, on a flat profile: no pass over every demand)."""
        at = self._load_site(routing.src, routing.dst, core)
        ok, bps = routing.routable, routing.demand_bps
        got = self._site_load_last
        if (got is not None and got[0] is ok and got[1] is bps and got[2] is at
                and not ok.flags.writeable and not bps.flags.writeable):
            return got[3].copy()
        load = _site_sums(at, ok, bps, len(self.site_ids))
        if not ok.flags.writeable and not bps.flags.writeable:
            self._site_load_last = (ok, bps, at, load.copy())
        return load

    def _load_site(self, src: np.ndarray, dst: np.ndarray, core: int) -> np.ndarray:
        """(n_demands,) site each demand loads: its site, or for backhaul from the
        core its far end's (kept for the base pairs)."""
        got = self._site_at
        if got is not None and got[0] is src and got[1] is dst and got[2] == core:
            return got[3]
        at = self.site_of_node[np.where(src == core, dst, src)]
        if self._base_arrays is not None and src is self._base_arrays[0]:
            self._site_at = (src, dst, core, at)
        return at

    def _of_links(self, by_link: dict) -> tuple:
        """The values of a dict keyed by link id, in ``link_ids`` order."""
        if self._link_getter is None:
            from operator import itemgetter
            ids = self.link_ids
            self._link_getter = itemgetter(*ids) if len(ids) > 1 else (lambda d: tuple(d[l] for l in ids))
        return self._link_getter(by_link)

    def _profile_factor(self, hour: float, profile: str) -> float:
        """``float(profile_factor(hour, profile))``, kept per (hour, profile) met."""
        key = (hour, profile)
        got = self._factors.get(key)
        if got is None:
            got = self._factors[key] = float(profile_factor(hour, profile))
        return got

    def _describe_weights(self, changes) -> list[str]:
        """The set_weight descriptions of a step's vector weight changes, in order
        (:meth:`_describe_weight` of each link, without a call per link when met)."""
        texts, out = self._weight_text, []
        for c in changes:
            idx, w = c.link_index.tolist(), c.weight.tolist()
            # each link's texts by weight: float keys, no (link, weight) tuple to make and hash
            got = list(map(dict.get, map(texts.__getitem__, idx), w))
            if None in got:
                got = [self._describe_weight(i, x) if g is None else g for g, i, x in zip(got, idx, w)]
            out += got
        return out

    def _in_service(self, link_states: tuple, site_state: dict) -> tuple[np.ndarray, np.ndarray]:
        """(link_up, node_up) bool arrays of a step's states: links "up", routing
        nodes "up" or "sleep" (copies of the last ones while the states repeat)."""
        # kept apart: a cascade changes the link states of most steps, not the site states
        got = self._link_up_last
        if got is None or got[0] != link_states:
            got = self._link_up_last = (link_states, np.array([s == "up" for s in link_states],
                                                              dtype=bool))   # bool with no link too
        nodes = self._node_up_last
        if nodes is None or nodes[0] != site_state:
            nodes = self._node_up_last = (dict(site_state), np.array(
                [site_state.get(n, "up") in ("up", "sleep") for n in self.router.nodes], dtype=bool))
        return got[1].copy(), nodes[1].copy()

    def _capacity_of(self, caps: tuple) -> np.ndarray:
        """``np.array(caps, dtype=float)``: a copy of the last one while every value is
        the same float object (a timeline's states share them until an event changes one)."""
        got = self._capacity_last
        if got is None or len(got[0]) != len(caps) or not all(map(operator.is_, got[0], caps)):
            got = self._capacity_last = (caps, np.array(caps, dtype=float))
        return got[1].copy()

    def _of_sites(self, by_site: dict) -> list:
        """The values of a dict keyed by site id, in ``site_ids`` order."""
        if self._site_getter is None:
            from operator import itemgetter
            ids = self.site_ids
            self._site_getter = itemgetter(*ids) if len(ids) > 1 else (lambda d: tuple(d[s] for s in ids))
        return list(self._site_getter(by_site))

    def _describe_weight(self, i: int, weight: float) -> str:
        """:func:`_describe_weight` of link ``i``, kept per (link, weight) met."""
        texts = self._weight_text[i]
        got = texts.get(weight)
        if got is None:
            if self._n_weight_texts > 100_000:
                for t in self._weight_text:
                    t.clear()
                self._n_weight_texts = 0
            got = texts[weight] = _describe_weight(self.link_ids[i], weight)
            self._n_weight_texts += 1
        return got

    def timeline(self, scenario: ScenarioSpec) -> Timeline:
        """A :class:`Timeline` of ``scenario`` over this twin (site states, capacities, spares)."""
        links = self.twin.links
        return Timeline(scenario, self.link_ids, self.site_ids,
                        {s.id: s.state for s in self.twin.sites.values()},
                        link_capacity_bps={l: float(links[l].capacity_bps) for l in self.link_ids},
                        spare_capacity_bps={l: float(links[l].spare_capacity_bps)
                                            for l in self.link_ids})

    def run(self, scenario: ScenarioSpec, demand_factor: float = 1.0) -> ScenarioResult:
        """Simulate every step of one scenario (its events checked first).

        ``demand_factor`` multiplies every step's demand (see :meth:`step`).
        """
        self.check(scenario)
        timeline = self.timeline(scenario)
        steps, maps = [], {}
        for t in range(scenario.steps):
            steps.append(self.step(timeline, t, demand_factor))
            key = steps[-1].radio_key
            if key is not None and key not in maps:   # kept as the steps go: the LRU may drop it
                maps[key] = self.step_radio_map(steps[-1])
        return ScenarioResult(scenario.name, scenario, self.link_ids, self.site_ids, steps, maps)


def simulate(scene: Scene, scenario: str | None = None) -> dict[str, ScenarioResult]:
    """Run one scenario by name, or all of the scene's scenarios.

    Examples
    --------
    >>> results = simulate(load_scene("scenes/helsinki.toml"))           # doctest: +SKIP
    >>> results["baseline_day"].steps[21].kpis["coverage_pct"]          # doctest: +SKIP
    98.3
    """
    names = [s.name for s in scene.spec.scenarios]
    if scenario is not None and scenario not in names:
        raise InputError(scene.spec.path, f"no scenario named '{scenario}' (the scene has: "
                         f"{', '.join(names) or 'none'})", "[[scenario]]", "name")
    sim = Simulator(scene)
    return {s.name: sim.run(s) for s in scene.spec.scenarios if scenario in (None, s.name)}


def _later_radio_kpis(sim: Simulator, state: StepState, factor: float) -> dict[str, float]:
    """The :data:`LATER_RADIO_KPIS` of a step (``Simulator.step(radio_kpis="later")``):
    its air interface again (the same map, demand and passes), then the percentiles."""
    _, rm, density, _, _, user_thr, sample = sim._served(state, factor)
    kpis = _radio_kpis(sample, rm.rsrp_dbm.size, user_thr, density)
    return {k: kpis[k] for k in LATER_RADIO_KPIS}
