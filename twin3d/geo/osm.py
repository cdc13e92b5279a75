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
    else ``building:levels`` x 3 m, else a default per building type); an
    unreadable ``height`` is reported as ``"repaired"``.
    ``min_height`` is not subtracted; it is kept in ``attrs``.
    ``building:part`` without ``building`` is not a building. A building
    clipped at the extract's edge keeps the footprint of its nodes inside
    (``"repaired"``, see :mod:`twin3d.geo.osm_buildings`); one the extract
    cannot give a footprint at all (a way that is not closed, too few nodes
    inside, member ways missing) is reported in ``skipped``, never dropped
    silently. An invalid footprint is repaired with ``shapely.make_valid``
    and reported as ``"repaired"``.
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
from shapely.geometry import Polygon

from ..errors import InputError
from .heights import parse_height_m
from .osm_buildings import BuildingCollector, feature_name, lonlat_of
from .records import SiteRecord, Skipped, SourceData, StreetRecord

__all__ = ["read_osm", "LAYERS", "OSM_SUFFIXES", "DEFAULT_MAST_HEIGHT_M"]

#: Layers :func:`read_osm` can read.
LAYERS = ("buildings", "streets", "masts")
#: File name endings pyosmium is asked to read.
OSM_SUFFIXES = (".osm.pbf", ".pbf", ".osm", ".osm.bz2", ".osm.gz")
#: Antenna height of a mast without a ``height`` tag, metres: a typical
#: urban rooftop or lattice macro site.
DEFAULT_MAST_HEIGHT_M = 20.0

_MOBILE = "communication:mobile_phone"


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


class _Handler(osmium.SimpleHandler):
    """Collects streets and masts; :class:`_BuildingHandler` adds buildings."""

    def __init__(self, file: str, layers: set[str]) -> None:
        super().__init__()
        self.file = file
        self.layers = layers
        self.streets: list[StreetRecord] = []
        self.sites: list[SiteRecord] = []
        self.skipped: list[Skipped] = []
        self.footprints = BuildingCollector(file) if "buildings" in layers else None

    # -- masts ----------------------------------------------------------
    def node(self, n) -> None:
        if "masts" not in self.layers or not _is_mast(n.tags):
            return
        lonlat, located = lonlat_of([n.location], self.file, f"node {n.id}")
        if located[0]:
            self._mast(f"n{n.id}", *lonlat[0], n.tags)

    def _mast(self, oid: str, lon: float, lat: float, tags) -> None:
        feature = feature_name(oid)
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
        lonlat, located = lonlat_of(w.nodes, self.file, feature)
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
        if self.footprints is not None and tags.get("building", "no") != "no":
            self.footprints.way(w)

    def _street(self, w, feature: str) -> None:
        lonlat, located = lonlat_of(w.nodes, self.file, feature)
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
        """Work done after the pass (only buildings have any)."""
        if self.footprints is not None:
            self.footprints.finish(path)


class _BuildingHandler(_Handler):
    """A handler with ``relation`` and ``area`` callbacks, so pyosmium assembles areas."""

    def relation(self, r) -> None:
        self.footprints.relation(r)

    def area(self, a) -> None:
        self.footprints.area(a)


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
    footprints = handler.footprints
    data = SourceData(sites=handler.sites, streets=handler.streets,
                      buildings=footprints.buildings if footprints else [],
                      skipped=handler.skipped + (footprints.skipped if footprints else []))
    bbox = _bbox(data)
    if bbox is not None:
        data.meta["osm_bbox_lonlat"] = bbox
    return data
