"""OSM building footprints: area assembly, repair, and why a building has none.

Used by :func:`twin3d.geo.osm.read_osm`; this module holds the building half
of the OSM reader (and the coordinate helper both halves share).

A building gets its footprint from libosmium's area assembler when it can.
When it cannot, because the extract was cut through the building, the
footprint is rebuilt from what the extract holds, so every building of the
extract is in the twin wherever a sensible footprint exists:

* a closed building way with nodes missing keeps the polygon of its present
  nodes in ring order (each missing stretch replaced by a straight chord:
  about the part of the building inside the extract), if at least 3
  distinct nodes are present and the polygon (after ``make_valid``) has an
  area of at least :data:`MIN_CLIPPED_AREA_M2`;
* a ``type=multipolygon`` relation whose outer members are all present,
  complete, closed ways and whose only trouble is inner members (absent or
  clipped) keeps its outer rings with the inner rings it has (the missing
  courtyards are filled in).

Each such footprint is reported as ``Skipped(action="repaired")``; anything
else without a footprint is reported as skipped, with the reason.
"""

from __future__ import annotations

import numpy as np
import osmium
import shapely
from shapely.geometry import MultiPolygon, Polygon

from .fields import check_lonlat
from .heights import building_height_m
from .records import BuildingRecord, Skipped

__all__ = ["BuildingCollector", "clipped_footprint", "lonlat_of", "feature_name",
           "MIN_CLIPPED_AREA_M2"]

#: Building tags copied into ``BuildingRecord.attrs``.
_BUILDING_TAGS = ("name", "building", "building:levels", "height", "min_height")
#: libosmium stores coordinates as integers of 1e-7 degree; a node the
#: extract does not hold has both set to this value.
_COORD_SCALE = 1e7
_UNDEFINED = 2**31 - 1
#: Smallest footprint, square metres, a clipped building keeps. Present nodes
#: that all lie on one straight wall enclose a float-noise "area" (1e-3 m² and
#: less); no real building part is this small.
MIN_CLIPPED_AREA_M2 = 1.0
#: Metres per degree of latitude (and of longitude at the equator), for the
#: approximate area check above.
_M_PER_DEG = 111_320.0


def feature_name(fid: str) -> str:
    """``"w12"`` -> ``"way 12"``, ``"r3"`` -> ``"relation 3"``, ``"n5"`` -> ``"node 5"``."""
    return {"w": "way", "r": "relation", "n": "node"}[fid[0]] + " " + fid[1:]


def lonlat_of(nodes, file: str, feature: str) -> tuple[np.ndarray, np.ndarray]:
    """(N, 2) lon/lat in degrees of a way's or ring's nodes, and which are located.

    A node missing from the extract is not located (its row is meaningless);
    a located node outside WGS84's range is bad input (InputError).
    """
    xy = np.array([(n.x, n.y) for n in nodes], dtype=np.int64).reshape(-1, 2)
    located = (xy != _UNDEFINED).all(axis=1)
    lonlat = xy / _COORD_SCALE
    bad = located & ((np.abs(lonlat[:, 0]) > 180.0) | (np.abs(lonlat[:, 1]) > 90.0))
    if bad.any():
        lon, lat = lonlat[np.flatnonzero(bad)[0]]
        check_lonlat(float(lon), float(lat), file, feature)
    return lonlat, located


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


def clipped_footprint(node_ids, lonlat: np.ndarray,
                      located: np.ndarray) -> tuple[Polygon | MultiPolygon | None, str]:
    """Footprint of a closed ring from its present nodes, in ring order.

    Parameters
    ----------
    node_ids : sequence of int
        The ring's node ids, closing node not repeated.
    lonlat : (N, 2) ndarray
        Their lon/lat in degrees (rows of missing nodes are ignored).
    located : (N,) bool ndarray
        Which nodes the extract holds.

    Returns
    -------
    (footprint, why)
        The valid polygonal footprint (``make_valid``, polygonal parts only)
        and ``""``, or ``None`` and why there is none: fewer than 3 distinct
        nodes, or less than :data:`MIN_CLIPPED_AREA_M2` of area.

    Examples
    --------
    >>> ll = 24.0 + 1e-4 * np.array([[0, 0], [2, 0], [9, 9], [2, 2], [0, 2]])
    >>> fp, _ = clipped_footprint([1, 2, 3, 4, 5], ll, np.array([1, 1, 0, 1, 1], bool))
    >>> round(fp.area / 1e-8, 6)  # the 2 x 2 square of the present nodes, in (1e-4 deg)^2
    4.0
    """
    ids = np.asarray(node_ids)[located]
    distinct = len(set(ids.tolist()))
    if distinct < 3:
        return None, f"only {distinct} distinct node(s) remain; a footprint needs 3"
    poly = Polygon(lonlat[located])
    geom = poly if poly.is_valid else _repair(poly)
    # equirectangular m² is within a fraction of a percent at building scale
    lat_rad = np.radians(lonlat[located, 1].mean())
    area_m2 = 0.0 if geom is None else geom.area * _M_PER_DEG ** 2 * np.cos(lat_rad)
    if area_m2 < MIN_CLIPPED_AREA_M2:
        return None, (f"the nodes that remain enclose {area_m2:.2g} m², less than "
                      f"{MIN_CLIPPED_AREA_M2:g} m²")
    return geom, ""


def _height_note(tags, height_m: float, source: str) -> str | None:
    """Why a ``height`` tag was not used, or None when there is nothing to say."""
    raw = tags.get("height")
    if raw is None or source == "height":
        return None
    if source == "levels":
        used = f"building:levels={tags.get('building:levels')}"
    else:
        used = f"the default for building={tags.get('building')}"
    return f"unreadable height tag {raw!r}; used {height_m:g} m from {used}"


class BuildingCollector:
    """Building footprints and reports, fed by a pyosmium handler's callbacks.

    The handler calls :meth:`way` for every ``building=*`` way,
    :meth:`relation` for every relation, :meth:`area` for every assembled
    area, and :meth:`finish` once after the pass.

    Examples
    --------
    >>> col = BuildingCollector("city.osm.pbf")  # doctest: +SKIP
    >>> handler.apply_file(...); col.finish("city.osm.pbf")  # doctest: +SKIP
    >>> col.buildings, col.skipped  # doctest: +SKIP
    """

    def __init__(self, file: str) -> None:
        self.file = file
        self.buildings: list[BuildingRecord] = []
        self.skipped: list[Skipped] = []
        # way id -> why it has no footprint if the assembler makes no area of it
        self.ways: dict[int, str] = {}
        # way id -> (footprint, present nodes, ring nodes, tags) of a clipped way
        self.clipped: dict[int, tuple] = {}
        # relation id -> ([(member way id, role)], building tags)
        self.rels: dict[int, tuple[list[tuple[int, str]], dict[str, str]]] = {}
        self.assembled: set[str] = set()  # "w12"/"r3" the assembler made an area of

    # -- callbacks --------------------------------------------------------
    def way(self, w) -> None:
        """Note why a building way might get no area; rebuild a clipped one."""
        if not w.is_closed():
            self.ways[w.id] = ("building way is not closed (first and last node differ), "
                               "so it has no footprint")
            return
        ring = list(w.nodes)[:-1]  # the closing node once
        missing = sum(1 for n in ring if n.x == _UNDEFINED)
        if missing:
            feature = f"way {w.id}"
            lonlat, located = lonlat_of(ring, self.file, feature)
            footprint, why = clipped_footprint([n.ref for n in ring], lonlat, located)
            head = (f"building way has {missing} of {len(ring)} nodes missing from the extract "
                    "(clipped at its edge)")
            self.ways[w.id] = f"{head}; {why}"
            if footprint is not None:
                self.clipped[w.id] = (footprint, len(ring) - missing, len(ring), _tags(w.tags))
        elif w.tags.get("area") == "no":
            self.ways[w.id] = "building way is tagged area=no"
        else:
            self.ways[w.id] = ("building way does not make a polygon (too few distinct nodes "
                               "or it crosses itself)")

    def relation(self, r) -> None:
        """Remember building multipolygons, to explain those without an area."""
        tags = r.tags
        if tags.get("type") == "multipolygon" and tags.get("building", "no") != "no":
            self.rels[r.id] = ([(m.ref, m.role) for m in r.members if m.type == "w"],
                               _tags(tags))

    def area(self, a) -> None:
        """A footprint from libosmium's area assembler (holes kept)."""
        tags = a.tags
        if tags.get("building", "no") == "no":
            return
        fid = ("w" if a.from_way() else "r") + str(a.orig_id())
        feature = feature_name(fid)
        self.assembled.add(fid)
        polys = []
        for outer in a.outer_rings():
            shell, _ = lonlat_of(outer, self.file, feature)
            holes = [lonlat_of(inner, self.file, feature)[0] for inner in a.inner_rings(outer)]
            polys.append(Polygon(shell, holes))
        if not polys:  # libosmium makes an empty area when assembly fails
            self.skipped.append(Skipped(self.file, feature, "building rings could not be "
                                        "assembled (they do not close or they cross)"))
            return
        self._add(fid, polys[0] if len(polys) == 1 else MultiPolygon(polys), tags)

    # -- after the pass ---------------------------------------------------
    def finish(self, path: str) -> None:
        """Repair invalid footprints; rebuild or report every building that has none."""
        self._repair_invalid()
        for wid, reason in self.ways.items():
            if f"w{wid}" in self.assembled:
                continue
            if wid in self.clipped:
                footprint, present, total, tags = self.clipped[wid]
                self._add(f"w{wid}", footprint, tags)
                self.skipped.append(Skipped(
                    self.file, f"way {wid}", f"clipped at the extract's edge: footprint from "
                    f"{present} of {total} nodes (the missing stretch closed by a straight chord)",
                    "repaired"))
            else:
                self.skipped.append(Skipped(self.file, f"way {wid}", reason))
        failed = {rid: rel for rid, rel in self.rels.items() if f"r{rid}" not in self.assembled}
        if not failed:
            return
        probe = _WayProbe(self.file)
        ids = sorted({wid for members, _ in failed.values() for wid, _ in members})
        if ids:
            filters = [osmium.filter.IdFilter(ids).enable_for(osmium.osm.WAY)]
            probe.apply_file(path, locations=True, filters=filters)
        for rid, (members, tags) in failed.items():
            feature = f"relation {rid}"
            kept = _without_inners(members, probe)
            if kept is None:
                self.skipped.append(Skipped(self.file, feature,
                                            _why_relation_failed(members, probe.missing)))
                continue
            footprint, lost = kept
            self._add(f"r{rid}", footprint, tags)
            self.skipped.append(Skipped(
                self.file, feature, f"{lost} inner member way(s) missing from the extract or "
                "clipped at its edge; kept the outer ring(s), those courtyard(s) filled in",
                "repaired"))

    def _add(self, fid: str, footprint, tags) -> None:
        """Append a building with its height (and a note if ``height`` was unusable)."""
        kind = tags.get("building")
        feature = feature_name(fid)
        height_m, source = building_height_m(tags.get("height"), tags.get("building:levels"), kind)
        note = _height_note(tags, height_m, source)
        if note:
            self.skipped.append(Skipped(self.file, feature, note, "repaired"))
        attrs = {"osm_id": fid, **{k: tags.get(k) for k in _BUILDING_TAGS if k in tags}}
        self.buildings.append(BuildingRecord(
            id=fid, footprint=footprint, height_m=height_m, kind=kind, height_source=source,
            attrs=attrs, where=(self.file, feature)))

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


def _tags(tags) -> dict[str, str]:
    """The building tags worth keeping after the callback (osmium objects do not live on)."""
    return {k: tags.get(k) for k in _BUILDING_TAGS if k in tags}


class _WayProbe(osmium.SimpleHandler):
    """The member ways of relations that got no area: missing nodes and geometry."""

    def __init__(self, file: str) -> None:
        super().__init__()
        self.file = file
        self.missing: dict[int, int] = {}  # way id -> nodes missing from the extract
        self.rings: dict[int, Polygon | None] = {}  # complete closed way -> its polygon

    def way(self, w) -> None:
        lonlat, located = lonlat_of(w.nodes, self.file, f"way {w.id}")
        self.missing[w.id] = int((~located).sum())
        closed = len(w.nodes) >= 4 and w.is_closed()
        self.rings[w.id] = Polygon(lonlat) if closed and located.all() else None


def _without_inners(members: list[tuple[int, str]], probe: _WayProbe):
    """(footprint, inner rings lost) when only inner members are absent or clipped.

    Kept simple on purpose: every member must be role ``outer`` or
    ``inner``, every outer member present, complete and closed on its own.
    Otherwise None (the relation stays skipped).
    """
    outers = [w for w, role in members if role == "outer"]
    inners = [w for w, role in members if role == "inner"]
    if not outers or len(outers) + len(inners) != len(members):
        return None
    if any(probe.rings.get(w) is None for w in outers):
        return None
    holes = [probe.rings[w] for w in inners if probe.rings.get(w) is not None]
    lost = sum(1 for w in inners if w not in probe.missing or probe.missing[w])
    if not lost:  # every ring is there: the failure is something else
        return None
    shell = shapely.union_all([probe.rings[w] for w in outers])
    footprint = _polygonal(shapely.make_valid(shapely.difference(shell, shapely.union_all(holes))
                                              if holes else shell))
    if footprint is None or footprint.area <= 0:
        return None
    return footprint, lost


def _why_relation_failed(members: list[tuple[int, str]], missing_nodes: dict[int, int]) -> str:
    ways = [w for w, _ in members]
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
