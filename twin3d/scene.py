"""Scene files (TOML) -> a validated :class:`SceneSpec`, then a :class:`Scene`.

A scene file is data, never code: it is parsed with :mod:`tomllib` and every
key is checked against the schema below. Unknown keys, wrong types, bad
values and missing files raise :class:`~twin3d.errors.InputError` naming the
file, the table and the key. See DESIGN.md section 4 for the format.
"""

from __future__ import annotations

import sys
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

from .errors import InputError
from .tables import Table
from .names import check_scenario_names, scenario_stem

__all__ = ["Origin", "SourceSpec", "RadioSpec", "TrafficSpec", "SlaSpec", "AreaSpec", "EventSpec",
           "ScenarioSpec", "SceneSpec", "parse_scene", "scenario_stem", "SOURCE_KINDS", "SOURCE_ROLES",
           "RADIO_MODELS", "RADIO_ENGINES", "GEOMETRIC_TERMS", "EVENT_KINDS", "NEW_EVENT_KEYS"]

SOURCE_KINDS = ("osm", "geojson", "gpkg", "shp", "csv", "graphml", "sndlib")
SOURCE_ROLES = ("sites", "links", "buildings", "streets", "demands")
OSM_LAYERS = ("buildings", "streets", "masts")
#: ``[radio] model``: the geometry-aware model (the default; twin3d.physics.geometric), the
#: TR 38.901 scenarios and free space (twin3d.physics.cellmaps.RADIO_MODELS, in another order).
RADIO_MODELS = ("geometric", "UMa", "UMi", "RMa", "FSPL")
#: ``[radio.geometric]``: overrides of the geometric model's terms
#: (twin3d.physics.geometric.model.DEFAULT_TERMS, the same names): type and bounds.
GEOMETRIC_TERMS: dict[str, tuple] = {
    "k_edges": (int, 1, 256), "max_edges": (int, 1, 3), "reflections": (bool,),
    "corners": (bool,), "los_ground": (bool,), "rooftop_weight": (float, 0.0, 10.0),
    "corner_weight": (float, 0.0, 10.0), "combine": (str, ("min", "sum")),
    "nlos_offset_db": (float, -60.0, 60.0), "edge2_weight": (float, 0.0, 10.0),
    "transmission": (bool,), "max_slabs": (int, 0, 8), "reflections2": (bool,),
    "dominant_path": (bool,), "dpm_weight": (float, 0.0, 10.0), "courtyard_db": (float, 0.0, 60.0),
    "v_path_difference": (bool,), "corner_rounds": (int, 0, 4096), "reflection_slabs": (int, 0, 8),
    "reflection_inside": (bool,), "corner_slabs": (int, 0, 8),
    "corner_leg_m": (float, 1.0, 5000.0), "scattering": (float, 0.0, 1.0),
    "diffuse_rays": (int, 4, 1024), "diffuse_range_m": (float, 1.0, 5000.0)}
#: ``[radio] engine``: twin3d's own models, or Sionna RT ray tracing (the ``[rt]`` extra).
RADIO_ENGINES = ("twin3d", "sionna")
EVENT_KINDS = ("fiber_cut", "site_outage", "power_outage", "surge", "ddos", "power_down",
               "add_site", "add_capacity", "restore", "set_weight", "set_capacity",
               "degrade_capacity", "activate_spare", "cell_sleep", "sector", "static_route", "acl", "shed",
               "pair_route")
#: The event kinds of SANDBOX.md section 2 (and activate_spare, section 8): the keys each
#: takes besides ``t`` and ``kind`` (required ones first; the rest optional).
NEW_EVENT_KEYS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "set_weight": (("link", "weight"), ()),
    "set_capacity": (("link", "capacity_bps"), ()),
    "degrade_capacity": (("link", "factor"), ()),
    "activate_spare": (("link",), ()),
    "cell_sleep": (("cell",), ("duration",)),
    "sector": (("site", "sector"), ("tilt_deg", "p_tx_dbm", "azimuth_deg")),
    "static_route": (("at", "dst", "next_hop"), ()),
    "acl": (("at", "src", "dst", "action"), ()),
    "shed": (("src", "dst", "factor"), ("duration",)),
    "pair_route": (("src", "dst", "path"), ()),
}
_OLD_EVENT_KEYS = ("target", "area", "factor", "bps", "duration")
_SUFFIX_KIND = {".pbf": "osm", ".osm": "osm", ".bz2": "osm", ".gz": "osm", ".geojson": "geojson",
                ".json": "geojson", ".gpkg": "gpkg", ".shp": "shp", ".csv": "csv",
                ".graphml": "graphml", ".txt": "sndlib", ".sndlib": "sndlib"}


@dataclass(frozen=True)
class Origin:
    """Scene origin: WGS84 degrees and ellipsoidal height in metres."""

    lon: float
    lat: float
    h_m: float = 0.0


@dataclass(frozen=True)
class SourceSpec:
    """One ``[[source]]``: a file, its kind, and what it holds."""

    path: Path
    kind: str
    role: str | None = None
    layers: tuple[str, ...] = ()
    default_capacity_bps: float | None = None
    index: int = 0


@dataclass(frozen=True)
class RadioSpec:
    """``[radio]``: the propagation model and the coverage grid.

    ``model`` "geometric" (the default) is the geometry-aware model of
    :mod:`twin3d.physics.geometric`; "UMa", "UMi", "RMa" are TR 38.901
    median path loss with a building viewshed, "FSPL" free space.
    ``engine`` "sionna" ray traces each cell's map with Sionna RT
    (:mod:`twin3d.rt`; ``model`` then sets only the range) with
    ``rt_samples_per_tx`` rays per cell and up to ``rt_max_depth``
    interactions per path, walls and roofs with diffuse scattering
    coefficient ``rt_scattering`` (0: smooth); the scene's seed seeds the rays.
    ``geometric_terms``: the ``[radio.geometric]`` table, (name, value)
    pairs overriding the geometric model's default terms. ``f_hz`` and
    ``bandwidth_hz`` are the carrier of every sector whose sites file gives
    none (a sector's own, or its site's, wins).
    """

    model: str = "geometric"
    f_hz: float = 3.5e9
    bandwidth_hz: float = 100e6
    grid_m: float = 5.0
    ue_height_m: float = 1.5
    noise_figure_db: float = 7.0
    engine: str = "twin3d"
    rt_samples_per_tx: int = 10_000_000
    rt_max_depth: int = 10          # as twin3d.rt.solver.DEFAULT_MAX_DEPTH
    rt_scattering: float = 0.3      # as twin3d.rt.solver.DEFAULT_SCATTERING
    #: ``calibration = "FILE"`` (relative to the scene file): the per-environment correction
    #: of ``twin3d calibrate``, read and checked at load time
    #: (:class:`twin3d.physics.calibration.Calibration`; None: the model as it is).
    calibration: Any = None
    geometric_terms: tuple[tuple[str, Any], ...] = ()


@dataclass(frozen=True)
class TrafficSpec:
    """``[traffic]``: demand model and routing.

    ``busy_hour_bps`` is the users' demand at the busy hour (radio scenes:
    spread over the coverage grid; transport scenes: the gravity matrix).
    ``fixed_busy_hour_bps`` (radio scenes only) is fixed and enterprise
    traffic that radio sites aggregate and backhaul to the core besides
    what their cells serve.
    """

    demand: str = "gravity"
    busy_hour_bps: float = 40e9
    routing: str = "ecmp"
    metric: str = "hops"
    core: str | None = None
    trip_utilization: float = 1.2
    fixed_busy_hour_bps: float = 0.0


@dataclass(frozen=True)
class SlaSpec:
    """``[sla]``: the service level each step is held to (SANDBOX.md section 3).

    A step violates the SLA when any bound is breached: demand-weighted
    end-to-end latency p95 above ``latency_p95_ms``, the busiest link in
    service above ``util_max``, ``dropped_bps / offered_bps`` above
    ``dropped_fraction_max``, and in radio scenes only, coverage below
    ``coverage_pct_min`` or the demand-weighted 5th percentile user
    throughput below ``throughput_p5_bps_min``.
    """

    latency_p95_ms: float = 50.0
    util_max: float = 0.9
    coverage_pct_min: float = 95.0
    throughput_p5_bps_min: float = 5e6
    dropped_fraction_max: float = 0.001


@dataclass(frozen=True)
class AreaSpec:
    """``[[area]]``: a named circle on the ground (a stadium, a square)."""

    name: str
    lon: float
    lat: float
    radius_m: float


@dataclass(frozen=True)
class EventSpec:
    """One scenario event at step ``t``."""

    t: int
    kind: str
    target: str | None = None
    area: str | None = None
    factor: float | None = None
    bps: float | None = None
    duration: int | None = None
    link: str | None = None
    weight: float | None = None
    capacity_bps: float | None = None
    cell: str | None = None
    site: str | None = None
    sector: int | None = None
    tilt_deg: float | None = None
    p_tx_dbm: float | None = None
    azimuth_deg: float | None = None
    at: str | None = None
    src: str | None = None
    dst: str | None = None
    next_hop: str | None = None
    action: str | None = None
    #: pair_route: the site ids the pair's traffic follows, src first, dst last (() ends it).
    path: tuple[str, ...] | None = None

    @property
    def element(self) -> str | None:
        """What the event acts on: target, link, cell, site/sector or the router ``at``."""
        if self.site is not None and self.sector is not None:
            return f"{self.site}/{self.sector}"
        return self.target or self.link or self.cell or self.at or self.area

    def active(self, step: int) -> bool:
        """Whether a lasting event (surge, ddos, power_down, cell_sleep) is in force at ``step``."""
        return step >= self.t and (self.duration is None or step < self.t + self.duration)


@dataclass(frozen=True)
class ScenarioSpec:
    """One ``[[scenario]]``: a timeline of events."""

    name: str
    steps: int = 24
    step_s: float = 3600.0
    profile: str = "diurnal"
    events: tuple[EventSpec, ...] = ()
    description: str = ""
    start_hour: float = 0.0


@dataclass(frozen=True)
class SceneSpec:
    """A parsed, validated scene file (no data read yet)."""

    path: Path
    name: str
    seed: int
    origin: Origin | None
    sources: tuple[SourceSpec, ...]
    radio: RadioSpec = field(default_factory=RadioSpec)
    traffic: TrafficSpec = field(default_factory=TrafficSpec)
    scenarios: tuple[ScenarioSpec, ...] = ()
    description: str = ""
    areas: tuple[AreaSpec, ...] = ()
    sla: SlaSpec = field(default_factory=SlaSpec)


#: The typed TOML table reader (twin3d.tables), under its old name for the modules that use it.
_Table = Table


def _origin(file: Path, data: Any) -> Origin:
    t = _Table(file, "[scene] origin", data, ("lon", "lat", "h_m"))
    return Origin(lon=t.num("lon", None, -180, 180, required=True),
                  lat=t.num("lat", None, -90, 90, required=True),
                  h_m=t.num("h_m", 0.0, -500, 9000))


def _kind_from_suffix(path: Path) -> str | None:
    name = path.name.lower()
    if name.endswith((".osm.pbf", ".osm.bz2", ".osm.gz", ".osm")):
        return "osm"
    return _SUFFIX_KIND.get(path.suffix.lower())


def _source(file: Path, i: int, data: Any) -> SourceSpec:
    where = f"[[source]] {i + 1}"
    t = _Table(file, where, data, ("path", "kind", "role", "layers", "default_capacity_bps"))
    rel = t.get("path", str, required=True)
    path = (file.parent / rel).resolve()
    kind = t.choice("kind", SOURCE_KINDS, None) or _kind_from_suffix(path)
    if kind is None:
        raise t.err("kind", f"cannot infer the kind of '{rel}' from its suffix; "
                    f"set kind to one of {', '.join(SOURCE_KINDS)}")
    role = t.choice("role", SOURCE_ROLES, None)
    if kind in ("geojson", "gpkg", "shp", "csv") and role is None:
        raise t.err("role", f"is missing: a {kind} source needs role = one of {', '.join(SOURCE_ROLES)}")
    if role == "demands" and kind not in ("csv",):
        raise t.err("role", f"demands come from csv or sndlib sources, not {kind}")
    layers = t.get("layers", list, list(OSM_LAYERS) if kind == "osm" else [])
    for layer in layers:
        if layer not in OSM_LAYERS or kind != "osm":
            raise t.err("layers", f"unknown layer {layer!r} for a {kind} source"
                        + (f" (allowed: {', '.join(OSM_LAYERS)})" if kind == "osm" else ""))
    if not path.is_file():
        raise t.err("path", f"file not found: {rel} (looked for {path})")
    return SourceSpec(path=path, kind=kind, role=role, layers=tuple(layers),
                      default_capacity_bps=t.num("default_capacity_bps", None, 0, strict=True),
                      index=i)


def _geometric_terms(file: Path, data: Any) -> tuple[tuple[str, Any], ...]:
    t = _Table(file, "[radio.geometric]", data, tuple(GEOMETRIC_TERMS))
    out = []
    for key, (kind, *rule) in GEOMETRIC_TERMS.items():
        if key not in data:
            continue
        if kind is str:
            v = t.choice(key, rule[0], None)
        elif kind is float:
            v = t.num(key, None, rule[0], rule[1])
        else:
            v = t.get(key, kind)
            if kind is int and not rule[0] <= v <= rule[1]:
                raise t.err(key, f"must be within [{rule[0]}, {rule[1]}], got {v}")
        out.append((key, v))
    return tuple(out)


def _radio(file: Path, data: Any) -> RadioSpec:
    t = _Table(file, "[radio]", data, ("model", "f_hz", "bandwidth_hz", "grid_m", "ue_height_m",
                                       "noise_figure_db", "engine", "rt_samples_per_tx",
                                       "rt_max_depth", "rt_scattering", "geometric",
                                       "calibration"))
    d = RadioSpec()
    model = t.choice("model", RADIO_MODELS, d.model)
    terms = _geometric_terms(file, t.get("geometric", dict, {}))
    if terms and model != "geometric":
        raise InputError(file, 'applies only with model = "geometric"', "[radio.geometric]",
                         terms[0][0])
    engine = t.choice("engine", RADIO_ENGINES, d.engine)
    rt = {}
    for key, lo, hi in (("rt_samples_per_tx", 1, 10**10), ("rt_max_depth", 0, 20)):
        v = t.get(key, int, None)
        if v is None:
            continue
        if engine != "sionna":
            raise t.err(key, 'applies only with engine = "sionna"')
        if not lo <= v <= hi:
            raise t.err(key, f"must be within [{lo}, {hi}], got {v}")
        rt[key] = v
    if "rt_scattering" in t.data:
        if engine != "sionna":
            raise t.err("rt_scattering", 'applies only with engine = "sionna"')
        rt["rt_scattering"] = t.num("rt_scattering", d.rt_scattering, 0, 1)
    if engine == "sionna":
        from .rt.env import problem        # finds the extra and LLVM without importing them
        why = problem()
        if why is not None:
            raise t.err("engine", f'"sionna" cannot run here: {why}')
    return RadioSpec(model=model, geometric_terms=terms,
                     f_hz=t.num("f_hz", d.f_hz, 0, 100e9, strict=True),
                     bandwidth_hz=t.num("bandwidth_hz", d.bandwidth_hz, 0, 2e9, strict=True),
                     grid_m=t.num("grid_m", d.grid_m, 0.5, 10_000),
                     ue_height_m=t.num("ue_height_m", d.ue_height_m, 0, 300),
                     noise_figure_db=t.num("noise_figure_db", d.noise_figure_db, 0, 30),
                     engine=engine, calibration=_calibration(t, engine, terms), **rt)


#: False while ``twin3d calibrate`` loads the scene it refits: the old file (stale, fitted
#: for another model, or broken) is replaced, so it is neither read nor applied.
_READ_CALIBRATION: ContextVar[bool] = ContextVar("twin3d_read_calibration", default=True)


@contextmanager
def calibration_ignored() -> Iterator[None]:
    """Within it, :func:`parse_scene` leaves ``[radio] calibration`` unread (RadioSpec.calibration None)."""
    token = _READ_CALIBRATION.set(False)
    try:
        yield
    finally:
        _READ_CALIBRATION.reset(token)


def _calibration(t: _Table, engine: str, geometric_terms: tuple):
    """``[radio] calibration``: the file (relative to the scene), read and checked now
    against the scene's model, engine and (geometric model) terms."""
    rel = t.get("calibration", str, None)
    if rel is None or not _READ_CALIBRATION.get():
        return None
    from .calibrate_io import read_calibration
    model = t.choice("model", RADIO_MODELS, RadioSpec().model)
    return read_calibration((t.file.parent / rel).resolve(), model=model, engine=engine,
                            geometric_terms=geometric_terms,
                            referenced_by=(t.file, t.where, "calibration"))


def _traffic(file: Path, data: Any) -> TrafficSpec:
    t = _Table(file, "[traffic]", data, ("demand", "busy_hour_bps", "routing", "metric", "core",
                                         "trip_utilization", "fixed_busy_hour_bps"))
    d = TrafficSpec()
    return TrafficSpec(demand=t.choice("demand", ("gravity", "sndlib", "file"), d.demand),
                       busy_hour_bps=t.num("busy_hour_bps", d.busy_hour_bps, 0),
                       routing=t.choice("routing", ("ecmp", "spf"), d.routing),
                       metric=t.get("metric", str, d.metric),
                       core=t.get("core", str, None),
                       trip_utilization=t.num("trip_utilization", d.trip_utilization, 0, strict=True),
                       fixed_busy_hour_bps=t.num("fixed_busy_hour_bps", d.fixed_busy_hour_bps, 0))


def _sla(file: Path, data: Any) -> SlaSpec:
    t = _Table(file, "[sla]", data, ("latency_p95_ms", "util_max", "coverage_pct_min",
                                     "throughput_p5_bps_min", "dropped_fraction_max"))
    d = SlaSpec()
    return SlaSpec(latency_p95_ms=t.num("latency_p95_ms", d.latency_p95_ms, 0, strict=True),
                   util_max=t.num("util_max", d.util_max, 0, strict=True),
                   coverage_pct_min=t.num("coverage_pct_min", d.coverage_pct_min, 0, 100),
                   throughput_p5_bps_min=t.num("throughput_p5_bps_min", d.throughput_p5_bps_min, 0),
                   dropped_fraction_max=t.num("dropped_fraction_max", d.dropped_fraction_max, 0, 1))


def _area(file: Path, i: int, data: Any) -> AreaSpec:
    t = _Table(file, f"[[area]] {i + 1}", data, ("name", "center", "radius_m"))
    name = t.get("name", str, required=True)
    c = _Table(file, f"[[area]] {i + 1} ('{name}') center", t.get("center", dict, required=True),
               ("lon", "lat"))
    return AreaSpec(name=name, lon=c.num("lon", None, -180, 180, required=True),
                    lat=c.num("lat", None, -90, 90, required=True),
                    radius_m=t.num("radius_m", None, 0, 1e6, strict=True, required=True))


#: What each event kind needs besides ``t`` and ``kind``.
_EVENT_NEEDS = {"surge": (), "ddos": ("target", "bps"), "add_capacity": ("target", "factor"),
                "fiber_cut": ("target",), "site_outage": ("target",), "power_outage": ("target",),
                "power_down": ("target",), "add_site": ("target",), "restore": ("target",)}


def _new_event(t: _Table, step: int, kind: str) -> EventSpec:
    """An event of a kind in :data:`NEW_EVENT_KEYS`: only its keys, each checked."""
    need, optional = NEW_EVENT_KEYS[kind]
    for key in t.data:
        if key not in ("t", "kind", *need, *optional):
            raise t.err(key, f"is not a key of a {kind} event (it takes "
                        f"{', '.join((*need, *optional))})")
    for key in need:
        if key not in t.data:
            raise t.err(key, f"is missing: a {kind} event needs {' and '.join(need)}")
    kw: dict[str, Any] = {}
    for key in ("link", "cell", "site", "at", "src", "dst", "next_hop", "action"):
        if key in t.data:
            kw[key] = t.get(key, str)
            if not kw[key]:
                raise t.err(key, "must not be empty")
    if kind == "set_weight":
        kw["weight"] = t.num("weight", None, 0, strict=True)
    elif kind == "set_capacity":
        kw["capacity_bps"] = t.num("capacity_bps", None, 0, strict=True)
    elif kind == "degrade_capacity":
        kw["factor"] = t.num("factor", None, 0, strict=True)
        if kw["factor"] >= 1:
            raise t.err("factor", f"must be < 1 (a degradation keeps a share in (0, 1)), "
                        f"got {kw['factor']:g}")
    elif kind == "shed":
        kw["factor"] = t.num("factor", None, 0, 1)      # 0 ends an earlier shed
        d = t.get("duration", int, None)
        if d is not None and d < 1:
            raise t.err("duration", f"must be >= 1 step, got {d}")
        kw["duration"] = d
    elif kind == "pair_route":
        kw["path"] = _pair_path(t, kw["src"], kw["dst"])
    elif kind == "cell_sleep":
        from .ids import parse_cell
        try:
            parse_cell(kw["cell"])
        except InputError:
            raise t.err("cell", f"must be '<site id>/<k>' with k 1-based, got {kw['cell']!r}") from None
        d = t.get("duration", int, None)
        if d is not None and d < 1:
            raise t.err("duration", f"must be >= 1 step, got {d}")
        kw["duration"] = d
    elif kind == "sector":
        k = t.get("sector", int, required=True)
        if k < 1:
            raise t.err("sector", f"must be a sector number >= 1 (1-based), got {k}")
        kw["sector"] = k
        kw["tilt_deg"] = t.num("tilt_deg", None, -90, 90)
        kw["p_tx_dbm"] = t.num("p_tx_dbm", None, -30, 80)
        kw["azimuth_deg"] = t.num("azimuth_deg", None, -360, 360)
        if all(kw[k] is None for k in ("tilt_deg", "p_tx_dbm", "azimuth_deg")):
            raise t.err("tilt_deg", "is missing: a sector event changes any of tilt_deg, "
                        "p_tx_dbm, azimuth_deg")
    elif kind == "acl" and kw["action"] != "deny":
        raise t.err("action", f"must be \"deny\", got {kw['action']!r}")
    return EventSpec(t=step, kind=kind, **kw)


def _pair_path(t: _Table, src: str, dst: str) -> tuple[str, ...]:
    """A pair_route's ``path``: site ids from src to dst, no site twice; [] ends the route."""
    if src == dst:
        raise t.err("dst", f"routes the demand of '{src}' to itself (src and dst must differ)")
    path = t.get("path", list)
    for x in path:
        if not isinstance(x, str) or not x:
            raise t.err("path", f"must be a list of site ids, got {x!r} in it")
    if not path:
        return ()
    if len(path) < 2 or path[0] != src or path[-1] != dst:
        raise t.err("path", f"must run from src '{src}' to dst '{dst}' (first and last site), "
                    f"got {path!r}")
    twice = sorted({x for x in path if path.count(x) > 1})
    if twice:
        raise t.err("path", f"visits site '{twice[0]}' twice (a path is simple)")
    return tuple(path)


def _event(file: Path, where: str, data: Any, steps: int) -> EventSpec:
    keys = ("t", "kind", *_OLD_EVENT_KEYS,
            *dict.fromkeys(k for need, opt in NEW_EVENT_KEYS.values() for k in (*need, *opt)))
    t = _Table(file, where, data, keys)
    step = t.get("t", int, required=True)
    if not 0 <= step < steps:
        raise t.err("t", f"must be a step in [0, {steps - 1}], got {step}")
    kind = t.get("kind", str, required=True)
    if kind not in EVENT_KINDS:
        raise t.err("kind", f"must be one of {', '.join(EVENT_KINDS)}, got {kind!r}")
    if kind in NEW_EVENT_KEYS:
        return _new_event(t, step, kind)
    for key in t.data:
        if key not in ("t", "kind", *_OLD_EVENT_KEYS):
            raise t.err(key, f"is not a key of a {kind} event (it takes "
                        f"{', '.join(_OLD_EVENT_KEYS)})")
    duration = t.get("duration", int, None)
    if duration is not None and duration < 1:
        raise t.err("duration", f"must be >= 1 step, got {duration}")
    ev = EventSpec(t=step, kind=kind, target=t.get("target", str), area=t.get("area", str),
                   factor=t.num("factor", None, 0, strict=True), bps=t.num("bps", None, 0),
                   duration=duration)
    for key in _EVENT_NEEDS[kind]:
        if getattr(ev, key) is None:
            raise t.err(key, f"is missing: a {kind} event needs {' and '.join(_EVENT_NEEDS[kind])}")
    if kind == "surge" and (ev.area is None) == (ev.target is None):
        raise t.err("area", "a surge event needs either area (an [[area]] name) or target (a site id)")
    if kind == "surge" and (ev.factor is None) == (ev.bps is None):
        raise t.err("factor", "a surge event needs either factor (x demand) or bps (added demand)")
    return ev


def _scenario(file: Path, i: int, data: Any) -> ScenarioSpec:
    where = f"[[scenario]] {i + 1}"
    t = _Table(file, where, data, ("name", "steps", "step_s", "profile", "events", "description",
                                   "start_hour"))
    name = t.get("name", str, required=True)
    where = f"[[scenario]] {i + 1} ('{name}')"
    t.where = where
    steps = t.get("steps", int, 24)
    if not 1 <= steps <= 100_000:
        raise t.err("steps", f"must be in [1, 100000], got {steps}")
    events = t.get("events", list, [])
    return ScenarioSpec(name=name, steps=steps, step_s=t.num("step_s", 3600.0, 0, strict=True),
                        profile=t.choice("profile", ("diurnal", "flat"), "diurnal"),
                        events=tuple(_event(file, f"{where} event {j + 1}", e, steps)
                                     for j, e in enumerate(events)),
                        description=t.get("description", str, ""),
                        start_hour=t.num("start_hour", 0.0, 0, 24))


def parse_scene(path: str | Path) -> SceneSpec:
    """Read and validate a scene file; no source data is read yet.

    Parameters
    ----------
    path : str or Path
        The scene's TOML file. Source paths in it are relative to it.

    Returns
    -------
    SceneSpec

    Raises
    ------
    InputError
        A missing or malformed file, an unknown key, a wrong type or value,
        a source file that does not exist.

    Examples
    --------
    >>> spec = parse_scene("scenes/helsinki.toml")   # doctest: +SKIP
    >>> spec.radio.f_hz                              # doctest: +SKIP
    3500000000.0
    """
    file = Path(path)
    if not file.is_file():
        raise InputError(file, "scene file not found")
    try:
        doc = tomllib.loads(file.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise InputError(file, f"not valid TOML: {exc}") from None
    except UnicodeDecodeError as exc:
        raise InputError(file, f"not UTF-8 text: {exc}") from None
    top = _Table(file, "top level", doc, ("scene", "source", "radio", "traffic", "scenario", "area",
                                             "sla"))
    s = _Table(file, "[scene]", top.get("scene", dict, required=True),
               ("name", "origin", "seed", "description"))
    sources = top.get("source", list, [])
    if not sources:
        raise top.err("source", "at least one [[source]] is needed")
    scenarios = tuple(_scenario(file, i, d) for i, d in enumerate(top.get("scenario", list, [])))
    check_scenario_names(file, [sc.name for sc in scenarios])
    areas = tuple(_area(file, i, d) for i, d in enumerate(top.get("area", list, [])))
    for sc in scenarios:
        for j, ev in enumerate(sc.events):
            if ev.area is not None and ev.area not in {a.name for a in areas}:
                raise InputError(file, f"names unknown area '{ev.area}' (define it in [[area]])",
                                 f"[[scenario]] ('{sc.name}') event {j + 1}", "area")
    seed = s.get("seed", int, 0)
    origin = s.get("origin", dict, None)
    return SceneSpec(path=file.resolve(), name=s.get("name", str, required=True), seed=seed,
                     origin=None if origin is None else _origin(file, origin),
                     sources=tuple(_source(file, i, d) for i, d in enumerate(sources)),
                     radio=_radio(file, top.get("radio", dict, {})),
                     traffic=_traffic(file, top.get("traffic", dict, {})),
                     scenarios=scenarios, description=s.get("description", str, ""),
                     areas=areas, sla=_sla(file, top.get("sla", dict, {})))
