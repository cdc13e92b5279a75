"""Plain records that every reader returns, in WGS84.

Readers turn files into these records and nothing else; the model turns them
into the local ENU frame. Coordinates are ``(lon, lat)`` in degrees, heights
in metres. ``where`` on a record is ``(file, feature)``, so that a later
check (a duplicate id, a link to an unknown site) can name both.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from shapely.geometry.base import BaseGeometry

__all__ = [
    "SectorRecord", "SiteRecord", "LinkRecord", "BuildingRecord",
    "StreetRecord", "DemandRecord", "Skipped", "SourceData",
]


@dataclass
class SectorRecord:
    """One sector (cell) of a radio site.

    Angles in degrees as in files: azimuth clockwise from north, tilt
    positive downwards. ``f_hz`` and ``bandwidth_hz`` None: the sector's
    file (and its site) gave none, so the scene's ``[radio]`` values hold
    (:func:`twin3d.model.build_twin`).
    """

    azimuth_deg: float
    tilt_deg: float = 6.0
    p_tx_dbm: float = 46.0
    f_hz: float | None = None
    bandwidth_hz: float | None = None
    beamwidth_deg: float = 65.0
    gain_dbi: float = 8.0


@dataclass
class SiteRecord:
    """A network node: radio site, mast, central office, router or PoP.

    ``height_m`` is the antenna (or equipment) height above the ground at the
    site; ``ground_m`` the ground height above the ellipsoid, or ``None`` for
    the scene origin's height.
    """

    id: str
    lon: float
    lat: float
    kind: str = "macro"
    height_m: float = 25.0
    ground_m: float | None = None
    state: str = "up"
    sectors: list[SectorRecord] = field(default_factory=list)
    attrs: dict[str, Any] = field(default_factory=dict)
    where: tuple[str, str] = ("", "")


@dataclass
class LinkRecord:
    """A transport link between two sites, with its route.

    ``route_lonlat`` is an (N, 2) array of the route, or ``None`` for a
    straight line between the endpoint sites.
    """

    id: str
    a: str
    b: str
    capacity_bps: float
    kind: str = "fiber"
    route_lonlat: np.ndarray | None = None
    attenuation_db_per_km: float | None = None
    attrs: dict[str, Any] = field(default_factory=dict)
    where: tuple[str, str] = ("", "")
    spare_capacity_bps: float = 0.0


@dataclass
class BuildingRecord:
    """A building footprint (Polygon or MultiPolygon, holes kept) with height."""

    id: str
    footprint: BaseGeometry
    height_m: float
    kind: str = "yes"
    height_source: str = "default"
    attrs: dict[str, Any] = field(default_factory=dict)
    where: tuple[str, str] = ("", "")


@dataclass
class StreetRecord:
    """A street centreline, (N, 2) lon/lat."""

    id: str
    coords_lonlat: np.ndarray
    highway: str = "unclassified"
    name: str = ""
    where: tuple[str, str] = ("", "")


@dataclass
class DemandRecord:
    """Offered traffic from one site to another, bit/s."""

    src: str
    dst: str
    demand_bps: float


@dataclass
class Skipped:
    """A feature a reader left out or repaired, and why.

    ``action`` is ``"skipped"`` (the feature is not in the twin) or
    ``"repaired"`` (it is, after a fix such as ``make_valid``).
    """

    file: str
    feature: str
    reason: str
    action: str = "skipped"

    def __str__(self) -> str:
        return f"{self.file}: {self.feature}: {self.action}: {self.reason}"


@dataclass
class SourceData:
    """Everything read from one or more sources."""

    sites: list[SiteRecord] = field(default_factory=list)
    links: list[LinkRecord] = field(default_factory=list)
    buildings: list[BuildingRecord] = field(default_factory=list)
    streets: list[StreetRecord] = field(default_factory=list)
    demands: list[DemandRecord] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)

    def extend(self, other: "SourceData") -> "SourceData":
        """Append another source's records to this one, in place."""
        self.sites += other.sites
        self.links += other.links
        self.buildings += other.buildings
        self.streets += other.streets
        self.demands += other.demands
        self.skipped += other.skipped
        self.meta.update(other.meta)
        return self
