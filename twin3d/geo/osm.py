"""OpenStreetMap reader: building footprints, street centrelines and masts.

Reads OSM PBF (``.osm.pbf``, ``.pbf``) and OSM XML (``.osm``, ``.osm.bz2``,
``.osm.gz``) with pyosmium (libosmium in C++; tag filters keep untagged
nodes and ways out of Python, so a city extract reads in a fraction of a
second). Buildings need libosmium's area assembler, which reads the file
twice (relations first).

Layers
------
buildings
    Every area (closed way or ``type=multipolygon`` relation) tagged
    ``building=*`` except ``building=no``; inner rings (courtyards) are holes.
    Height from :func:`twin3d.geo.heights.building_height_m` (``height``,
    else ``building:levels`` x 3 m, else a default per building type).
    ``min_height`` is not subtracted; it is kept in ``attrs``.
    ``building:part`` without ``building`` is not a building. A building the
    extract cannot assemble (a way that is not closed, member ways or nodes
    missing from the extract, rings that do not close) is reported in
    ``skipped``, never dropped silently. An invalid footprint is repaired with
    ``shapely.make_valid`` and reported as ``"repaired"``.
streets
    Every way tagged ``highway=*``. A way clipped at the extract's edge keeps
    its longest run of nodes inside the extract (``"repaired"``); one with
    fewer than two nodes inside is skipped.
masts
    Nodes, and closed ways by their centroid, tagged
    ``communication:mobile_phone=yes`` (or ``tower:type=communication`` with
    any ``communication:mobile_phone`` other than ``no``).

Ids: buildings ``"w<way id>"`` / ``"r<relation id>"``, streets
``"w<way id>"``, masts ``"osm-n<node id>"`` / ``"osm-w<way id>"``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import osmium
import shapely
from shapely.geometry import MultiPolygon, Polygon

from ..errors import InputError
from .fields import check_lonlat
from .heights import building_height_m, parse_height_m
from .records import BuildingRecord, SiteRecord, Skipped, SourceData, StreetRecord

__all__ = ["read_osm", "LAYERS", "OSM_SUFFIXES", "DEFAULT_MAST_HEIGHT_M"]

#: Layers :func:`read_osm` can read.
LAYERS = ("buildings", "streets", "masts")
#: File name endings pyosmium is asked to read.
OSM_SUFFIXES = (".osm.pbf", ".pbf", ".osm", ".osm.bz2", ".osm.gz")
#: Antenna height of a mast without a ``height`` tag, metres: a typical
#: urban rooftop or lattice macro site.
DEFAULT_MAST_HEIGHT_M = 20.0

#: Building tags copied into ``BuildingRecord.attrs``.
_BUILDING_TAGS = ("name", "building", "building:levels", "height", "min_height")
_MOBILE = "communication:mobile_phone"
#: libosmium stores coordinates as integers of 1e-7 degree; a node the
#: extract does not hold has both set to this value.
_COORD_SCALE = 1e7
_UNDEFINED = 2**31 - 1


def _feature(fid: str) -> str:
    """``"w12"`` -> ``"way 12"``, ``"r3"`` -> ``"relation 3"``, ``"n5"`` -> ``"node 5"``."""
    return {"w": "way", "r": "relation", "n": "node"}[fid[0]] + " " + fid[1:]


def _lonlat(nodes, file: str, feature: str) -> tuple[np.ndarray, np.ndarray]:
    """(N, 2) lon/lat in degrees of a way's or ring's nodes, and which are located.

    A node missing from the extract is not located (its row is meaningless);
    a located node outside WGS84's range is bad input.
    """
    xy = np.array([(n.x, n.y) for n in nodes], dtype=np.int64).reshape(-1, 2)
    located = (xy != _UNDEFINED).all(axis=1)
    lonlat = xy / _COORD_SCALE
    bad = located & ((np.abs(lonlat[:, 0]) > 180.0) | (np.abs(lonlat[:, 1]) > 90.0))
    if bad.any():
        lon, lat = lonlat[np.flatnonzero(bad)[0]]
        check_lonlat(float(lon), float(lat), file, feature)
    return lonlat, located


def _longest_run(mask: np.ndarray) -> tuple[int, int]:
    """(start, stop) of the longest run of True in ``mask``, (0, 0) if none."""
    edges = np.flatnonzero(np.diff(np.r_[0, mask.astype(np.int8), 0]))
    if edges.size == 0:
        return 0, 0
    starts, stops = edges[::2], edges[1::2]
    i = int(np.argmax(stops - starts))
    return int(starts[i]), int(stops[i])


def _is_mast(tags) -> bool:
    mobile = tags.get(_MOBILE)
    if mobile == "yes":
        return True
    return tags.get("tower:type") == "communication" and mobile not in (None, "no")


def _polygonal(geom) -> Polygon | MultiPolygon | None:
    """The polygonal part of ``make_valid``'s result (lines and points dropped)."""
    polys: list[Polygon] = []
    stack = [geom]
    while stack:
        g = stack.pop()
        if isinstance(g, Polygon):
            if not g.is_empty:
                polys.append(g)
        elif g.geom_type in ("MultiPolygon", "GeometryCollection"):
            stack.extend(reversed(list(shapely.get_parts(g))))
    if not polys:
        return None
    return polys[0] if len(polys) == 1 else MultiPolygon(polys)


def _repair(geom) -> Polygon | MultiPolygon | None:
    """A valid footprint from an invalid one, or None when nothing polygonal is left.

    Examples
    --------
    >>> bowtie = Polygon([(0, 0), (1, 1), (1, 0), (0, 1)])
    >>> round(_repair(bowtie).area, 3)
    0.5
    """
    return _polygonal(shapely.make_valid(geom))


class _Handler(osmium.SimpleHandler):
    """Collects streets and masts; :class:`_BuildingHandler` adds buildings."""

    def __init__(self, file: str, layers: set[str]) -> None:
        super().__init__()
        self.file = file
        self.layers = layers
        self.buildings: list[BuildingRecord] = []
        self.streets: list[StreetRecord] = []
        self.sites: list[SiteRecord] = []
        self.skipped: list[Skipped] = []
        # way id -> why it has no footprint if the assembler makes no area of it
        self.building_ways: dict[int, str] = {}

    # -- masts ----------------------------------------------------------
    def node(self, n) -> None:
        if "masts" not in self.layers or not _is_mast(n.tags):
            return
        lonlat, located = _lonlat([n.location], self.file, f"node {n.id}")
        if located[0]:
            self._mast(f"n{n.id}", *lonlat[0], n.tags)

    def _mast(self, oid: str, lon: float, lat: float, tags) -> None:
        feature = _feature(oid)
        height_m, source = parse_height_m(tags.get("height")), "height"
        if height_m is None:
            if tags.get("height") is not None:
                self.skipped.append(Skipped(
                    self.file, feature, f"mast height {tags.get('height')!r} is not a height; "
                    f"used the default {DEFAULT_MAST_HEIGHT_M:g} m", "repaired"))
            height_m, source = DEFAULT_MAST_HEIGHT_M, "default"
        attrs = {t.k: t.v for t in tags}
        attrs.update(osm_id=oid, synthetic=False, height_source=source)
        self.sites.append(SiteRecord(id=f"osm-{oid}", lon=float(lon), lat=float(lat), kind="mast",
                                     height_m=height_m, sectors=[], attrs=attrs,
                                     where=(self.file, feature)))

    def _mast_way(self, w, feature: str) -> None:
        if not w.is_closed():
            self.skipped.append(Skipped(self.file, feature, "mast way is not closed; only nodes "
                                        "and closed ways are read as masts"))
            return
        lonlat, located = _lonlat(w.nodes, self.file, feature)
        if not located.all():
            self.skipped.append(Skipped(self.file, feature, f"mast outline has {(~located).sum()} "
                                        "node(s) missing from the extract"))
            return
        outline = Polygon(lonlat) if len(lonlat) >= 4 else None
        if outline is not None and outline.is_valid and outline.area > 0:
            lon, lat = outline.centroid.x, outline.centroid.y
        else:  # degenerate outline: the mean of its distinct nodes
            lon, lat = lonlat[:-1].mean(axis=0)
        self._mast(f"w{w.id}", lon, lat, w.tags)

    # -- ways: streets, masts, building bookkeeping ----------------------
    def way(self, w) -> None:
        tags, feature = w.tags, f"way {w.id}"
        if "streets" in self.layers and "highway" in tags:
            self._street(w, feature)
        if "masts" in self.layers and _is_mast(tags):
            self._mast_way(w, feature)
        if "buildings" in self.layers and tags.get("building", "no") != "no":
            self.building_ways[w.id] = self._why_no_area(w)

    def _why_no_area(self, w) -> str:
        """Why a building way would get no area (used only if it gets none)."""
        if not w.is_closed():
            return "building way is not closed (first and last node differ), so it has no footprint"
        missing = sum(1 for n in w.nodes if n.x == _UNDEFINED)
        if missing:
            return (f"building way has {missing} of {len(w.nodes)} nodes missing from the "
                    "extract (clipped at its edge)")
        if w.tags.get("area") == "no":
            return "building way is tagged area=no"
        return "building way does not make a polygon (too few distinct nodes or it crosses itself)"

    def _street(self, w, feature: str) -> None:
        lonlat, located = _lonlat(w.nodes, self.file, feature)
        start, stop = _longest_run(located)
        if stop - start < 2:
            self.skipped.append(Skipped(self.file, feature, f"street has {located.sum()} of "
                                        f"{len(located)} nodes in the extract; needs 2"))
            return
        if stop - start < len(located):
            self.skipped.append(Skipped(
                self.file, feature, f"street has {(~located).sum()} of {len(located)} nodes missing "
                f"from the extract; kept its longest run inside ({stop - start} nodes)", "repaired"))
        self.streets.append(StreetRecord(
            id=f"w{w.id}", coords_lonlat=np.ascontiguousarray(lonlat[start:stop]),
            highway=w.tags.get("highway"), name=w.tags.get("name", ""), where=(self.file, feature)))

    def finish(self, path: str) -> None:
        """Work done after the pass (nothing without buildings)."""


class _BuildingHandler(_Handler):
    """Adds building areas: their callbacks make pyosmium assemble areas."""

    def __init__(self, file: str, layers: set[str]) -> None:
        super().__init__(file, layers)
        self.building_rels: dict[int, list[int]] = {}  # relation id -> member way ids
        self.assembled: set[str] = set()  # "w12"/"r3" the assembler made an area of

    def relation(self, r) -> None:
        tags = r.tags
        if tags.get("type") == "multipolygon" and tags.get("building", "no") != "no":
            self.building_rels[r.id] = [m.ref for m in r.members if m.type == "w"]

    def area(self, a) -> None:
        tags = a.tags
        kind = tags.get("building", "no")
        if kind == "no":
            return
        fid = ("w" if a.from_way() else "r") + str(a.orig_id())
        feature = _feature(fid)
        self.assembled.add(fid)
        polys = []
        for outer in a.outer_rings():
            shell, _ = _lonlat(outer, self.file, feature)
            holes = [_lonlat(inner, self.file, feature)[0] for inner in a.inner_rings(outer)]
            polys.append(Polygon(shell, holes))
        if not polys:  # libosmium makes an empty area when assembly fails
            self.skipped.append(Skipped(self.file, feature, "building rings could not be "
                                        "assembled (they do not close or they cross)"))
            return
        height_m, source = building_height_m(tags.get("height"), tags.get("building:levels"), kind)
        attrs = {"osm_id": fid, **{k: tags.get(k) for k in _BUILDING_TAGS if k in tags}}
        self.buildings.append(BuildingRecord(
            id=fid, footprint=polys[0] if len(polys) == 1 else MultiPolygon(polys),
            height_m=height_m, kind=kind, height_source=source, attrs=attrs,
            where=(self.file, feature)))

    def finish(self, path: str) -> None:
        """Repair invalid footprints; report every building that has none."""
        self._repair_invalid()
        for wid, reason in self.building_ways.items():
            if f"w{wid}" not in self.assembled:
                self.skipped.append(Skipped(self.file, f"way {wid}", reason))
        failed = {rid: ways for rid, ways in self.building_rels.items()
                  if f"r{rid}" not in self.assembled}
        if failed:
            probe = _WayProbe()
            ids = sorted({wid for ways in failed.values() for wid in ways})
            if ids:
                filters = [osmium.filter.IdFilter(ids).enable_for(osmium.osm.WAY)]
                probe.apply_file(path, locations=True, filters=filters)
            for rid, ways in failed.items():
                self.skipped.append(Skipped(self.file, f"relation {rid}",
                                            _why_relation_failed(ways, probe.missing_nodes)))

    def _repair_invalid(self) -> None:
        if not self.buildings:
            return
        geoms = np.array([b.footprint for b in self.buildings], dtype=object)
        bad = np.flatnonzero(~shapely.is_valid(geoms))
        drop = set()
        for i in bad:
            b = self.buildings[i]
            why = shapely.is_valid_reason(b.footprint)
            fixed = _repair(b.footprint)
            if fixed is None:
                drop.add(i)
                self.skipped.append(Skipped(self.file, b.where[1], f"building footprint is invalid "
                                            f"({why}) and nothing polygonal is left after repair"))
            else:
                b.footprint = fixed
                self.skipped.append(Skipped(self.file, b.where[1], f"building footprint was "
                                            f"invalid ({why}); repaired with make_valid", "repaired"))
        if drop:
            self.buildings = [b for i, b in enumerate(self.buildings) if i not in drop]


class _WayProbe(osmium.SimpleHandler):
    """Counts the nodes missing from the extract of the ways it is given."""

    def __init__(self) -> None:
        super().__init__()
        self.missing_nodes: dict[int, int] = {}

    def way(self, w) -> None:
        self.missing_nodes[w.id] = sum(1 for n in w.nodes if n.x == _UNDEFINED)


def _why_relation_failed(ways: list[int], missing_nodes: dict[int, int]) -> str:
    if not ways:
        return "building relation has no member ways"
    absent = sum(1 for w in ways if w not in missing_nodes)
    if absent:
        return f"building relation is missing {absent} of {len(ways)} member ways from the extract"
    clipped = sum(missing_nodes[w] for w in ways)
    if clipped:
        return (f"building relation's member ways have {clipped} node(s) missing from the "
                "extract (clipped at its edge)")
    return "building relation's member ways do not form closed rings"


def _check_layers(layers, file: str) -> set[str]:
    names = [layers] if isinstance(layers, str) else layers
    try:
        names = list(names)
    except TypeError:
        raise InputError(file, f"must be a list of layer names, got {layers!r}",
                         field="layers") from None
    if not names:
        raise InputError(file, f"must name at least one of {', '.join(LAYERS)}", field="layers")
    for name in names:
        if name not in LAYERS:
            raise InputError(file, f"unknown layer {name!r}; expected one of {', '.join(LAYERS)}",
                             field="layers")
    return set(names)


def _filters(layers: set[str]) -> list:
    """Tag filters run in C++, so untagged nodes and ways never reach Python."""
    bits = osmium.osm
    way_keys = [_MOBILE]
    if "buildings" in layers:
        way_keys.append("building")
    if "streets" in layers:
        way_keys.append("highway")
    filters = [osmium.filter.KeyFilter(_MOBILE).enable_for(bits.NODE),
               osmium.filter.KeyFilter(*way_keys).enable_for(bits.WAY)]
    if "buildings" in layers:  # also keeps the area assembler to building relations
        filters.append(osmium.filter.KeyFilter("building").enable_for(bits.RELATION | bits.AREA))
    return filters


def _bbox(data: SourceData) -> list[float] | None:
    boxes = []
    if data.buildings:
        boxes.append(shapely.total_bounds(np.array([b.footprint for b in data.buildings])))
    for pts in [s.coords_lonlat for s in data.streets] + [
            np.array([[s.lon, s.lat] for s in data.sites]).reshape(-1, 2)]:
        if len(pts):
            boxes.append(np.r_[pts.min(axis=0), pts.max(axis=0)])
    if not boxes:
        return None
    b = np.array(boxes)
    return [float(b[:, 0].min()), float(b[:, 1].min()), float(b[:, 2].max()), float(b[:, 3].max())]


def read_osm(path: str | Path, layers: Sequence[str] = LAYERS) -> SourceData:
    """Read buildings, streets and masts from an OSM PBF or XML file.

    Parameters
    ----------
    path : str or Path
        ``.osm.pbf``, ``.pbf``, ``.osm``, ``.osm.bz2`` or ``.osm.gz``.
    layers : sequence of str
        Any of ``"buildings"``, ``"streets"``, ``"masts"``.

    Returns
    -------
    SourceData
        ``buildings`` (WGS84 footprints, heights in metres), ``streets``,
        ``sites`` (masts, ``kind="mast"``), ``skipped`` (buildings the extract
        cannot assemble, clipped streets, repairs) and
        ``meta["osm_bbox_lonlat"]`` = [min lon, min lat, max lon, max lat] of
        what was read, in degrees (absent when nothing was read).

    Raises
    ------
    InputError
        Unknown layer, unsupported suffix, missing file, or a file osmium
        cannot parse.

    Examples
    --------
    >>> data = read_osm("assets/helsinki/helsinki_center.osm.pbf")  # doctest: +SKIP
    >>> data.buildings[0].height_m, data.buildings[0].height_source  # doctest: +SKIP
    (24.0, 'levels')
    """
    file = str(path)
    wanted = _check_layers(layers, file)
    if not file.lower().endswith(OSM_SUFFIXES):
        raise InputError(file, f"unsupported file type; expected one of {', '.join(OSM_SUFFIXES)}")
    p = Path(path)
    if not p.exists():
        raise InputError(file, "file not found")
    if not p.is_file():
        raise InputError(file, "is not a file")
    handler = (_BuildingHandler if "buildings" in wanted else _Handler)(file, wanted)
    try:
        handler.apply_file(file, locations=True, filters=_filters(wanted))
        handler.finish(file)
    except InputError:
        raise
    except (RuntimeError, OSError, ValueError) as exc:  # libosmium reports bad data as these
        raise InputError(file, f"cannot read OSM data ({exc})") from None
    data = SourceData(sites=handler.sites, buildings=handler.buildings, streets=handler.streets,
                      skipped=handler.skipped)
    bbox = _bbox(data)
    if bbox is not None:
        data.meta["osm_bbox_lonlat"] = bbox
    return data
