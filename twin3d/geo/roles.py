"""What a feature's properties mean for each role, shared by the file readers.

A reader (GeoJSON, GeoPackage, Shapefile, CSV) turns its rows into
:class:`Feature` objects (properties plus a WGS84 shapely geometry) and hands
them to :func:`records_from_features`, which validates them for the role and
returns the records. So a ``height_m`` means the same thing, and fails the
same way, whatever file format it came from.

Roles and their properties:

- ``sites`` (Point): ``id``, ``kind``, ``height_m``, ``ground_m``, ``state``,
  ``sectors`` (list of objects, or its JSON text) or ``azimuths_deg``
  (``"0;120;240"``); site-level ``tilt_deg``, ``p_tx_dbm``, ``f_hz``,
  ``bandwidth_hz`` are the defaults for its sectors.
- ``links`` (LineString, MultiLineString that joins into one, or none):
  ``id``, ``a``, ``b``, ``capacity_bps``, ``kind``, ``attenuation_db_per_km``,
  ``spare_capacity_bps`` (>= 0, default 0: capacity an ``activate_spare`` event adds).
- ``buildings`` (Polygon, MultiPolygon): ``id``, ``height_m``, ``height``,
  ``building:levels``/``levels``, ``building``/``kind``.
- ``streets`` (LineString, MultiLineString): ``id``, ``highway``, ``name``.
- ``demands`` (no geometry): ``src``, ``dst``, ``demand_bps``.

Any other property is kept in the record's ``attrs``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, fields as dc_fields
from typing import Any, Callable, Iterable

import numpy as np
import shapely
from shapely.geometry import MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry
from shapely.validation import explain_validity

from ..errors import InputError
from .fields import check_lonlat, feature_label, number, text
from .heights import building_height_m, parse_height_m
from .records import (BuildingRecord, DemandRecord, LinkRecord, SectorRecord,
                      SiteRecord, Skipped, SourceData, StreetRecord)

__all__ = ["Feature", "ROLES", "SITE_KINDS", "SITE_HEIGHT_M", "ROLE_FIELDS",
           "records_from_features"]

#: Roles every reader knows; ``demands`` comes from tables only.
ROLES = ("sites", "links", "buildings", "streets", "demands")
SITE_KINDS = ("macro", "small", "mast", "central_office", "router", "pop")
#: Default antenna/equipment height above ground by site kind, metres
#: (a macro mast top, a small cell on a lamp post, indoor equipment at 0).
SITE_HEIGHT_M = {"macro": 25.0, "mast": 25.0, "small": 10.0}
LINK_KINDS = ("fiber", "microwave")

#: Bounds of each sector field, as keyword arguments of :func:`fields.number`.
_SECTOR_LIMITS: dict[str, dict[str, Any]] = {
    "azimuth_deg": dict(min_value=0.0, max_value=360.0),
    "tilt_deg": dict(min_value=-90.0, max_value=90.0),
    "p_tx_dbm": dict(min_value=-30.0, max_value=80.0),
    "f_hz": dict(min_value=0.0, strict_min=True),
    "bandwidth_hz": dict(min_value=0.0, strict_min=True),
    "beamwidth_deg": dict(min_value=0.0, max_value=360.0, strict_min=True),
    "gain_dbi": dict(min_value=-10.0, max_value=40.0),
}
#: Site properties that are defaults for the site's sectors.
_SITE_SECTOR_DEFAULTS = ("tilt_deg", "p_tx_dbm", "f_hz", "bandwidth_hz")

#: Property names each role reads (the rest go to ``attrs``); used by
#: readers to restore names a format shortened (dBase keeps 10 characters).
ROLE_FIELDS: dict[str, tuple[str, ...]] = {
    "sites": ("id", "kind", "height_m", "ground_m", "state", "sectors", "azimuths_deg",
              *_SITE_SECTOR_DEFAULTS),
    "links": ("id", "a", "b", "capacity_bps", "kind", "attenuation_db_per_km",
              "spare_capacity_bps"),
    "buildings": ("id", "height_m", "height", "building:levels", "levels", "building", "kind"),
    "streets": ("id", "highway", "name"),
    "demands": ("src", "dst", "demand_bps"),
}


@dataclass
class Feature:
    """One row of a source: properties and a WGS84 geometry (or None).

    ``index`` is the 0-based position used in messages (``feature_label``);
    properties whose value is absent (None, NaN, "") are left out.
    """

    index: int
    props: dict[str, Any] = field(default_factory=dict)
    geom: BaseGeometry | None = None


@dataclass
class _Ctx:
    file: str
    stem: str
    out: SourceData


def records_from_features(features: Iterable[Feature], role: str, file: str, stem: str,
                          noun: str = "feature") -> SourceData:
    """Validate features for a role and return their records.

    Parameters
    ----------
    features : iterable of Feature
        Rows of one file, geometries in WGS84 lon/lat degrees.
    role : str
        One of :data:`ROLES`.
    file : str
        The file name used in messages and in each record's ``where``.
    stem : str
        Prefix of default building/street ids (``f"{stem}-{index + 1}"``).
    noun : str
        How messages name a row: ``"feature"`` or ``"row"``.

    Raises
    ------
    InputError
        A bad value, a wrong geometry, or an id used twice in the file.

    Examples
    --------
    >>> from shapely.geometry import Point
    >>> data = records_from_features([Feature(0, {"id": "S1"}, Point(24.9, 60.2))],
    ...                              "sites", "s.geojson", "s")
    >>> data.sites[0].height_m, data.sites[0].where
    (25.0, ('s.geojson', "feature 1 (id 'S1')"))
    """
    if role not in _CONVERTERS:
        raise InputError(file, f"unknown role {role!r}; expected one of {', '.join(ROLES)}",
                         field="role")
    ctx = _Ctx(file, stem, SourceData())
    convert = _CONVERTERS[role]
    seen: dict[str, str] = {}
    for f in features:
        label = feature_label(f.index, f.props.get("id"), noun)
        key = convert(f, label, ctx)
        if key in seen:
            raise InputError(file, f"duplicate {key} (first seen in {seen[key]})",
                             label, "dst" if role == "demands" else "id")
        seen[key] = label
    return ctx.out


# -- geometry ---------------------------------------------------------------

def _geometry(geom: BaseGeometry | None, types: tuple[str, ...], ctx: _Ctx, label: str,
              required: bool) -> BaseGeometry | None:
    """The 2-D geometry if of an allowed type with valid lon/lat, else raise."""
    if geom is None or geom.is_empty:
        if required:
            raise InputError(ctx.file, f"is missing or empty; expected {' or '.join(types)}",
                             label, "geometry")
        return None
    if geom.geom_type not in types:
        raise InputError(ctx.file, f"must be {' or '.join(types)}, got {geom.geom_type}",
                         label, "geometry")
    geom = shapely.force_2d(geom)
    # One vectorised test for the whole feature; check_lonlat words the error.
    xy = shapely.get_coordinates(geom)
    ok = np.isfinite(xy).all(axis=1) & (np.abs(xy[:, 0]) <= 180.0) & (np.abs(xy[:, 1]) <= 90.0)
    if not ok.all():
        k = int(np.argmin(ok))
        check_lonlat(float(xy[k, 0]), float(xy[k, 1]), ctx.file, label)
    return geom


def _polygonal(geom: BaseGeometry) -> BaseGeometry | None:
    """The polygonal parts of a geometry (make_valid may add lines/points)."""
    if geom.geom_type in ("Polygon", "MultiPolygon"):
        return geom if not geom.is_empty else None
    polys: list[Polygon] = []
    for part in getattr(geom, "geoms", []):
        if part.geom_type == "Polygon" and not part.is_empty:
            polys.append(part)
        elif part.geom_type == "MultiPolygon":
            polys.extend(part.geoms)
    if not polys:
        return None
    return polys[0] if len(polys) == 1 else MultiPolygon(polys)


# -- sites ------------------------------------------------------------------

def _site(f: Feature, label: str, ctx: _Ctx) -> str:
    p, file = dict(f.props), ctx.file
    fid = text(p.pop("id", None), file, label, "id", required=True)
    pt = _geometry(f.geom, ("Point",), ctx, label, required=True)
    kind = text(p.pop("kind", None), file, label, "kind", default="macro", choices=SITE_KINDS)
    height_m = number(p.pop("height_m", None), file, label, "height_m",
                      default=SITE_HEIGHT_M.get(kind, 0.0), min_value=0.0)
    ground_m = number(p.pop("ground_m", None), file, label, "ground_m")
    state = text(p.pop("state", None), file, label, "state", default="up", choices=("up", "down"))
    defaults = {k: number(p.pop(k, None), file, label, k, **_SECTOR_LIMITS[k])
                for k in _SITE_SECTOR_DEFAULTS}
    defaults = {k: v for k, v in defaults.items() if v is not None}
    sectors = _sectors(p.pop("sectors", None), p.pop("azimuths_deg", None), defaults, file, label)
    ctx.out.sites.append(SiteRecord(id=fid, lon=pt.x, lat=pt.y, kind=kind, height_m=height_m,
                                    ground_m=ground_m, state=state, sectors=sectors, attrs=p,
                                    where=(file, label)))
    return f"id '{fid}'"


_SECTOR_KEYS = tuple(f.name for f in dc_fields(SectorRecord))


def _sectors(sectors: Any, azimuths: Any, defaults: dict[str, float], file: str,
             label: str) -> list[SectorRecord]:
    """Sectors from a list of objects (or its JSON text), or from azimuths."""
    if sectors is not None and azimuths is not None:
        raise InputError(file, "give either 'sectors' or 'azimuths_deg', not both", label, "sectors")
    if azimuths is not None:
        if isinstance(azimuths, str):
            items: list[Any] = [s for s in re.split(r"[;,\s]+", azimuths.strip()) if s]
        elif isinstance(azimuths, (list, tuple)):
            items = list(azimuths)
        else:
            items = [azimuths]     # a single number, as a numeric column holds it
        return [SectorRecord(**{**defaults, "azimuth_deg": number(
                    a, file, label, f"azimuths_deg[{k}]", required=True,
                    **_SECTOR_LIMITS["azimuth_deg"])}) for k, a in enumerate(items)]
    if sectors is None:
        return []
    if isinstance(sectors, str):
        # Flat formats (CSV, GeoPackage, Shapefile) carry the list as JSON text.
        try:
            sectors = json.loads(sectors)
        except json.JSONDecodeError as e:
            raise InputError(file, f"is not valid JSON ({e.msg} at column {e.colno})",
                             label, "sectors") from None
    if not isinstance(sectors, list):
        raise InputError(file, f"must be a list of sector objects, got {type(sectors).__name__}",
                         label, "sectors")
    out = []
    for k, s in enumerate(sectors):
        where = f"sectors[{k}]"
        if not isinstance(s, dict):
            raise InputError(file, f"must be an object, got {s!r}", label, where)
        unknown = sorted(set(s) - set(_SECTOR_KEYS))
        if unknown:
            # A typo ("azimuth") would otherwise silently become a default.
            raise InputError(file, f"unknown key(s) {', '.join(unknown)}; expected "
                             f"{', '.join(_SECTOR_KEYS)}", label, where)
        values = dict(defaults)
        for key in _SECTOR_KEYS:
            v = number(s.get(key), file, label, f"{where}.{key}",
                       required=key == "azimuth_deg", **_SECTOR_LIMITS[key])
            if v is not None:
                values[key] = v
        out.append(SectorRecord(**values))
    return out


# -- links ------------------------------------------------------------------

def _link(f: Feature, label: str, ctx: _Ctx) -> str:
    p, file = dict(f.props), ctx.file
    fid = text(p.pop("id", None), file, label, "id", required=True)
    a = text(p.pop("a", None), file, label, "a", required=True)
    b = text(p.pop("b", None), file, label, "b", required=True)
    if a == b:
        raise InputError(file, f"must differ from 'a' (both '{a}')", label, "b")
    capacity_bps = number(p.pop("capacity_bps", None), file, label, "capacity_bps",
                          required=True, min_value=0.0, strict_min=True)
    kind = text(p.pop("kind", None), file, label, "kind", default="fiber", choices=LINK_KINDS)
    att = number(p.pop("attenuation_db_per_km", None), file, label, "attenuation_db_per_km",
                 min_value=0.0)
    spare = number(p.pop("spare_capacity_bps", None), file, label, "spare_capacity_bps",
                   default=0.0, min_value=0.0)
    geom = _geometry(f.geom, ("LineString", "MultiLineString"), ctx, label, required=False)
    route = None
    if geom is not None:
        if geom.geom_type == "MultiLineString":
            # A route drawn in pieces is one line only if each piece starts
            # where the previous one ends.
            merged = shapely.line_merge(geom, directed=True)
            if merged.geom_type != "LineString":
                raise InputError(file, f"the {len(geom.geoms)} parts of the MultiLineString do "
                                 "not join end to start into one line", label, "geometry")
            geom = merged
        route = shapely.get_coordinates(geom)
    ctx.out.links.append(LinkRecord(id=fid, a=a, b=b, capacity_bps=capacity_bps, kind=kind,
                                    route_lonlat=route, attenuation_db_per_km=att, attrs=p,
                                    where=(file, label), spare_capacity_bps=spare))
    return f"id '{fid}'"


# -- buildings --------------------------------------------------------------

def _building(f: Feature, label: str, ctx: _Ctx) -> str:
    p, file = dict(f.props), ctx.file
    fid = text(p.pop("id", None), file, label, "id", default=f"{ctx.stem}-{f.index + 1}")
    geom = _geometry(f.geom, ("Polygon", "MultiPolygon"), ctx, label, required=True)
    building = text(p.pop("building", None), file, label, "building")
    kind = text(p.pop("kind", None), file, label, "kind")
    kind = building if building not in (None, "yes") else (kind or building or "yes")
    height_m, source = _building_height(p, file, label, kind)
    if not geom.is_valid:
        reason = explain_validity(geom)
        fixed = _polygonal(shapely.make_valid(geom))
        if fixed is None:
            ctx.out.skipped.append(Skipped(file, label, f"invalid polygon ({reason}) has no "
                                           "area left after shapely.make_valid", "skipped"))
            return f"id '{fid}'"
        ctx.out.skipped.append(Skipped(file, label, f"invalid polygon ({reason}); repaired "
                                       "with shapely.make_valid", "repaired"))
        geom = fixed
    ctx.out.buildings.append(BuildingRecord(id=fid, footprint=geom, height_m=height_m, kind=kind,
                                            height_source=source, attrs=p, where=(file, label)))
    return f"id '{fid}'"


def _building_height(p: dict[str, Any], file: str, label: str, kind: str) -> tuple[float, str]:
    """``height_m``, else an OSM-style ``height``, else levels, else by type."""
    height_m = number(p.pop("height_m", None), file, label, "height_m",
                      min_value=0.0, strict_min=True)
    height = p.pop("height", None)
    level_key = "building:levels" if "building:levels" in p else "levels"
    levels = number(p.pop(level_key, None), file, label, level_key, min_value=0.0)
    p.pop("levels", None)
    if height_m is not None:
        return height_m, "height"
    if height is not None:
        if parse_height_m(height) is None:
            raise InputError(file, f"must be a positive height such as '12 m', got {height!r}",
                             label, "height")
        return building_height_m(height=height)
    return building_height_m(levels=levels or None, kind=kind)


# -- streets and demands ----------------------------------------------------

def _street(f: Feature, label: str, ctx: _Ctx) -> str:
    p, file = f.props, ctx.file
    fid = text(p.get("id"), file, label, "id", default=f"{ctx.stem}-{f.index + 1}")
    highway = text(p.get("highway"), file, label, "highway", default="unclassified")
    name = text(p.get("name"), file, label, "name", default="")
    geom = _geometry(f.geom, ("LineString", "MultiLineString"), ctx, label, required=False)
    if geom is None:
        ctx.out.skipped.append(Skipped(file, label, "street has no geometry"))
        return f"id '{fid}'"
    parts = list(geom.geoms) if geom.geom_type == "MultiLineString" else [geom]
    for k, part in enumerate(parts):
        ctx.out.streets.append(StreetRecord(
            id=fid if len(parts) == 1 else f"{fid}-{k + 1}",
            coords_lonlat=shapely.get_coordinates(part), highway=highway, name=name,
            where=(file, label)))
    return f"id '{fid}'"


def _demand(f: Feature, label: str, ctx: _Ctx) -> str:
    p, file = f.props, ctx.file
    src = text(p.get("src"), file, label, "src", required=True)
    dst = text(p.get("dst"), file, label, "dst", required=True)
    if src == dst:
        raise InputError(file, f"must differ from 'src' (both '{src}')", label, "dst")
    demand_bps = number(p.get("demand_bps"), file, label, "demand_bps",
                        required=True, min_value=0.0)
    ctx.out.demands.append(DemandRecord(src=src, dst=dst, demand_bps=demand_bps))
    return f"demand '{src}' -> '{dst}'"


_CONVERTERS: dict[str, Callable[[Feature, str, _Ctx], str]] = {
    "sites": _site, "links": _link, "buildings": _building,
    "streets": _street, "demands": _demand,
}
