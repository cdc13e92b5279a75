"""The twin: sites, cells, the link graph, buildings and demands in ENU metres.

:func:`build_twin` turns reader records (WGS84) into a :class:`Twin` in the
scene's local frame and checks what no single reader can: duplicate ids
across files and links that name unknown sites.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import networkx as nx
import numpy as np
import shapely
from pyproj import Geod
from shapely.geometry.base import BaseGeometry

from .errors import InputError
from .geo.frame import LocalFrame
from .geo.records import (BuildingRecord, LinkRecord, SiteRecord, Skipped,
                          SourceData, StreetRecord)

__all__ = ["Cell", "Site", "Link", "Buildings", "Street", "Twin", "build_twin",
           "FIBER_ATTENUATION_DB_PER_KM", "ROUTE_STEP_M"]

_GEOD = Geod(ellps="WGS84")

#: Default fibre attenuation (G.652 at 1550 nm, cabled), dB/km.
FIBER_ATTENUATION_DB_PER_KM = 0.25
#: Straight links are densified along the geodesic at this step, metres, so
#: that a continental link follows the earth's curve in ENU.
ROUTE_STEP_M = 10_000.0


@dataclass
class Cell:
    """One sector of a site. Angles in degrees, power in dBm."""

    id: str
    site_id: str
    azimuth_deg: float
    tilt_deg: float
    p_tx_dbm: float
    f_hz: float
    bandwidth_hz: float
    beamwidth_deg: float
    gain_dbi: float


@dataclass
class Site:
    """A network node in ENU. ``xyz_m`` is the ground point under it."""

    id: str
    kind: str
    lon: float
    lat: float
    ground_m: float
    height_m: float
    xyz_m: np.ndarray
    state: str = "up"
    cells: list[Cell] = field(default_factory=list)
    attrs: dict[str, Any] = field(default_factory=dict)

    @property
    def antenna_xyz_m(self) -> np.ndarray:
        """Antenna position, ENU metres (ground point plus height)."""
        return self.xyz_m + np.array([0.0, 0.0, self.height_m])


@dataclass
class Link:
    """A transport link with its route polyline in ENU metres."""

    id: str
    a: str
    b: str
    route_xyz_m: np.ndarray
    length_m: float
    capacity_bps: float
    kind: str = "fiber"
    attenuation_db_per_km: float = FIBER_ATTENUATION_DB_PER_KM
    state: str = "up"
    attrs: dict[str, Any] = field(default_factory=dict)
    #: Installed but unlit capacity that an ``activate_spare`` event adds, bit/s.
    spare_capacity_bps: float = 0.0


@dataclass
class Street:
    """A street centreline in ENU metres."""

    id: str
    xyz_m: np.ndarray
    highway: str
    name: str = ""


@dataclass
class Buildings:
    """All building footprints in ENU with their heights.

    ``footprints`` holds shapely Polygons/MultiPolygons in ENU x/y metres
    (holes kept); ``base_z_m`` the ground height in ENU under each one;
    ``tree`` a shapely STRtree over the footprints.
    """

    ids: list[str]
    footprints: np.ndarray
    heights_m: np.ndarray
    base_z_m: np.ndarray
    kinds: list[str]
    height_sources: list[str]
    tree: shapely.STRtree = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.tree = shapely.STRtree(self.footprints)

    def __len__(self) -> int:
        return len(self.ids)

    def at(self, x_m: float, y_m: float) -> int | None:
        """Index of the building whose footprint holds the point, or None."""
        hits = self.tree.query(shapely.Point(x_m, y_m), predicate="within")
        hits = self.tree.query(shapely.Point(x_m, y_m), predicate="intersects") if len(hits) == 0 else hits
        return int(hits[0]) if len(hits) else None


@dataclass
class Twin:
    """The digital twin of one scene, in the scene's local ENU frame.

    ``graph`` is a :class:`networkx.MultiGraph` over site ids; each edge's
    key is the link id and its ``link`` attribute the :class:`Link`, so
    parallel links are kept.
    """

    name: str
    frame: LocalFrame
    sites: dict[str, Site]
    links: dict[str, Link]
    graph: nx.MultiGraph
    buildings: Buildings
    streets: list[Street]
    demands: dict[tuple[str, str], float]
    skipped: list[Skipped] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def cells(self) -> list[Cell]:
        """Every cell of every site, in site order."""
        return [c for s in self.sites.values() for c in s.cells]

    def bounds_xy_m(self) -> tuple[float, float, float, float]:
        """(xmin, ymin, xmax, ymax) of everything in the twin, ENU metres."""
        pts = [s.xyz_m[None, :2] for s in self.sites.values()]
        pts += [l.route_xyz_m[:, :2] for l in self.links.values()]
        pts += [s.xyz_m[:, :2] for s in self.streets]
        if len(self.buildings):
            b = shapely.bounds(self.buildings.footprints)
            pts += [b[:, :2], b[:, 2:]]
        if not pts:
            return (-1.0, -1.0, 1.0, 1.0)
        allp = np.vstack(pts)
        lo, hi = allp.min(axis=0), allp.max(axis=0)
        return float(lo[0]), float(lo[1]), float(hi[0]), float(hi[1])


def _check_unique(records, what: str) -> None:
    seen: dict[str, tuple[str, str]] = {}
    for r in records:
        if r.id in seen:
            f, feat = seen[r.id]
            raise InputError(r.where[0] or "<scene>", f"duplicate {what} id '{r.id}' "
                             f"(first seen in {f}: {feat})", r.where[1] or None, "id")
        seen[r.id] = r.where


def _site(rec: SiteRecord, frame: LocalFrame, f_hz: float, bandwidth_hz: float) -> Site:
    ground = frame.h0_m if rec.ground_m is None else rec.ground_m
    x, y, z = frame.to_enu([rec.lon], [rec.lat], [ground])
    cells = [Cell(id=f"{rec.id}/{i + 1}", site_id=rec.id, azimuth_deg=s.azimuth_deg,
                  tilt_deg=s.tilt_deg, p_tx_dbm=s.p_tx_dbm,
                  f_hz=f_hz if s.f_hz is None else s.f_hz,
                  bandwidth_hz=bandwidth_hz if s.bandwidth_hz is None else s.bandwidth_hz,
                  beamwidth_deg=s.beamwidth_deg, gain_dbi=s.gain_dbi)
             for i, s in enumerate(rec.sectors)]
    return Site(id=rec.id, kind=rec.kind, lon=rec.lon, lat=rec.lat, ground_m=ground,
                height_m=rec.height_m, xyz_m=np.array([x[0], y[0], z[0]]), state=rec.state,
                cells=cells, attrs=dict(rec.attrs))


def _route_lonlat(rec: LinkRecord, a: SiteRecord, b: SiteRecord) -> np.ndarray:
    """The link's route from site a to site b, densified along geodesics."""
    ends = np.array([[a.lon, a.lat], [b.lon, b.lat]])
    route = ends if rec.route_lonlat is None else np.asarray(rec.route_lonlat, float)
    # The drawn route may start or end short of the sites: join it to them.
    if _GEOD.line_length([route[0, 0], a.lon], [route[0, 1], a.lat]) > 1.0:
        route = np.vstack([ends[:1], route])
    if _GEOD.line_length([route[-1, 0], b.lon], [route[-1, 1], b.lat]) > 1.0:
        route = np.vstack([route, ends[1:]])
    out = [route[:1]]
    for (lon1, lat1), (lon2, lat2) in zip(route[:-1], route[1:]):
        d = _GEOD.line_length([lon1, lon2], [lat1, lat2])
        n = int(d // ROUTE_STEP_M)
        if n > 0:
            out.append(np.asarray(_GEOD.npts(lon1, lat1, lon2, lat2, n)).reshape(-1, 2))
        out.append(np.array([[lon2, lat2]]))
    return np.vstack(out)


def _link(rec: LinkRecord, sites: dict[str, SiteRecord], frame: LocalFrame) -> Link:
    for end in ("a", "b"):
        sid = getattr(rec, end)
        if sid not in sites:
            raise InputError(rec.where[0] or "<scene>", f"names unknown site '{sid}'",
                             rec.where[1] or f"link '{rec.id}'", end)
    a, b = sites[rec.a], sites[rec.b]
    route = _route_lonlat(rec, a, b)
    ground = np.interp(np.linspace(0, 1, len(route)), [0, 1],
                       [frame.h0_m if a.ground_m is None else a.ground_m,
                        frame.h0_m if b.ground_m is None else b.ground_m])
    xyz = frame.lonlat_to_xyz(route, ground)
    length = float(_GEOD.line_length(route[:, 0], route[:, 1]))
    att = FIBER_ATTENUATION_DB_PER_KM if rec.attenuation_db_per_km is None else rec.attenuation_db_per_km
    return Link(id=rec.id, a=rec.a, b=rec.b, route_xyz_m=xyz, length_m=length,
                capacity_bps=float(rec.capacity_bps), kind=rec.kind,
                attenuation_db_per_km=float(att), attrs=dict(rec.attrs),
                spare_capacity_bps=float(rec.spare_capacity_bps))


def _buildings(recs: list[BuildingRecord], frame: LocalFrame) -> Buildings:
    if not recs:
        return Buildings([], np.array([], dtype=object), np.zeros(0), np.zeros(0), [], [])
    geoms = np.array([r.footprint for r in recs], dtype=object)

    def to_xy(coords: np.ndarray) -> np.ndarray:
        x, y, _ = frame.to_enu(coords[:, 0], coords[:, 1])
        return np.column_stack([x, y])

    enu = shapely.transform(geoms, to_xy)
    c = shapely.get_coordinates(shapely.centroid(geoms))
    _, _, z = frame.to_enu(c[:, 0], c[:, 1])
    return Buildings(ids=[r.id for r in recs], footprints=enu,
                     heights_m=np.array([r.height_m for r in recs], float), base_z_m=z,
                     kinds=[r.kind for r in recs], height_sources=[r.height_source for r in recs])


def _street(rec: StreetRecord, frame: LocalFrame) -> Street:
    return Street(id=rec.id, xyz_m=frame.lonlat_to_xyz(rec.coords_lonlat), highway=rec.highway,
                  name=rec.name)


def build_twin(data: SourceData, frame: LocalFrame, name: str = "twin", *,
               f_hz: float = 3.5e9, bandwidth_hz: float = 100e6) -> Twin:
    """Build a :class:`Twin` from reader records.

    Parameters
    ----------
    data : SourceData
        Records from every source of the scene, in WGS84.
    frame : LocalFrame
        The scene's local frame.
    name : str
        Scene name.
    f_hz, bandwidth_hz : float
        Carrier frequency and bandwidth, Hz, of the sectors whose records
        give none (the scene's ``[radio] f_hz`` and ``bandwidth_hz``).

    Returns
    -------
    Twin

    Raises
    ------
    InputError
        Duplicate site, link or building ids; links or demands naming
        unknown sites.

    Examples
    --------
    >>> from twin3d.geo.records import SourceData, SiteRecord, LinkRecord
    >>> data = SourceData(sites=[SiteRecord("A", 24.94, 60.17), SiteRecord("B", 24.95, 60.17)],
    ...                   links=[LinkRecord("L1", "A", "B", 10e9)])
    >>> twin = build_twin(data, LocalFrame(24.945, 60.17))
    >>> round(twin.links["L1"].length_m)
    555
    """
    _check_unique(data.sites, "site")
    _check_unique(data.links, "link")
    _check_unique(data.buildings, "building")
    site_recs = {s.id: s for s in data.sites}
    sites = {s.id: _site(s, frame, f_hz, bandwidth_hz) for s in data.sites}
    links = {l.id: _link(l, site_recs, frame) for l in data.links}
    graph = nx.MultiGraph()
    for s in sites.values():
        graph.add_node(s.id, kind=s.kind)
    for l in links.values():
        graph.add_edge(l.a, l.b, key=l.id, link=l)
    demands: dict[tuple[str, str], float] = {}
    for d in data.demands:
        for sid in (d.src, d.dst):
            if sid not in sites:
                raise InputError("<demands>", f"names unknown site '{sid}'", f"demand {d.src}->{d.dst}")
        demands[(d.src, d.dst)] = demands.get((d.src, d.dst), 0.0) + d.demand_bps
    return Twin(name=name, frame=frame, sites=sites, links=links, graph=graph,
                buildings=_buildings(data.buildings, frame),
                streets=[_street(s, frame) for s in data.streets], demands=demands,
                skipped=list(data.skipped), meta=dict(data.meta))
