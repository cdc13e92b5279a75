"""twin3d.geo.osm: the OSM reader, on a hand-written extract and on Helsinki.

References are independent of the reader: hand-computed values for the
fixture, and plain osmium.FileProcessor tag counts (no area assembly) for the
real extract.
"""

from __future__ import annotations

import bz2
import gzip
import shutil
import time
from pathlib import Path

import numpy as np
import osmium
import pytest
from pyproj import Geod
from shapely.geometry import MultiPolygon, Point, Polygon

from twin3d.errors import InputError
from twin3d.geo.heights import DEFAULT_HEIGHT_M
from twin3d.geo.osm import DEFAULT_MAST_HEIGHT_M, read_osm
from twin3d.geo.osm_buildings import MIN_CLIPPED_AREA_M2, _repair, clipped_footprint

REPO = Path(__file__).resolve().parents[1]
TINY = REPO / "tests" / "data" / "osm" / "tiny.osm"
#: The bundled extract (assets/LICENSES.md: ODbL 1.0), always in the repository.
HELSINKI = REPO / "assets" / "helsinki" / "helsinki_center.osm.pbf"
GEOD = Geod(ellps="WGS84")


def _geod_area_m2(lonlat) -> float:
    """Geodesic area of a ring given as (lon, lat) pairs, m² (pyproj, not shapely)."""
    lon, lat = np.asarray(lonlat, dtype=float).T
    return abs(GEOD.polygon_area_perimeter(lon, lat)[0])


def _footprint_area_m2(geom) -> float:
    return abs(GEOD.geometry_area_perimeter(geom)[0])


def _by_id(records):
    return {r.id: r for r in records}


def _skipped(data, action="skipped"):
    return {s.feature: s for s in data.skipped if s.action == action}


# --- hand-written fixture -------------------------------------------------

@pytest.fixture(scope="module")
def tiny():
    return read_osm(TINY)


def test_fixture_buildings_and_heights(tiny):
    b = _by_id(tiny.buildings)
    # w7 is building=no, w8 a building:part: neither is a building
    # w9 and r103 are clipped at the extract's edge but kept (see below)
    assert set(b) == {"w1", "w2", "w3", "w9", "w14", "r100", "r103"}
    assert (b["w1"].height_m, b["w1"].height_source) == (12.0, "height")
    assert b["w1"].attrs["min_height"] == "3" and b["w1"].attrs["name"] == "Torni"
    assert (b["w2"].height_m, b["w2"].height_source) == (12.0, "levels")
    assert (b["w3"].height_m, b["w3"].height_source) == (DEFAULT_HEIGHT_M["church"], "default")
    assert b["w3"].kind == "church"
    # a 0.0002 x 0.0002 degree square
    assert b["w1"].footprint.area == pytest.approx(0.0002 ** 2, rel=1e-6)
    assert b["w1"].where == (str(TINY), "way 1")
    assert b["r100"].where == (str(TINY), "relation 100")


def test_fixture_courtyard_is_a_hole(tiny):
    court = _by_id(tiny.buildings)["r100"]
    assert isinstance(court.footprint, Polygon)
    assert len(court.footprint.interiors) == 1
    # outer 0.001 x 0.001 deg minus inner 0.0004 x 0.0004 deg
    assert court.footprint.area == pytest.approx(0.001 ** 2 - 0.0004 ** 2, rel=1e-6)
    assert not court.footprint.covers(Point(24.9435, 60.1705))  # the courtyard's centre
    assert court.footprint.covers(Point(24.9431, 60.1701))
    assert court.attrs["name"] == "Kortteli" and court.kind == "apartments"
    assert court.height_m == DEFAULT_HEIGHT_M["apartments"]


def test_fixture_unassembled_buildings_are_reported(tiny):
    sk = _skipped(tiny)
    assert "not closed" in sk["way 4"].reason
    # w5 is closed but only 2 of its 3 ring nodes are in the extract
    assert "1 of 3 nodes missing" in sk["way 5"].reason
    assert "only 2 distinct node(s) remain; a footprint needs 3" in sk["way 5"].reason
    assert "could not be assembled" in sk["way 6"].reason  # crosses itself
    assert "missing 1 of 2 member ways" in sk["relation 101"].reason
    assert "1 node(s) missing" in sk["relation 102"].reason
    for s in sk.values():
        assert s.file == str(TINY)
    # nothing about building=no or the building:part
    assert "way 7" not in sk and "way 8" not in sk
    assert not {"way 9", "way 14", "relation 103"} & set(sk)


def test_fixture_clipped_way_keeps_its_present_nodes(tiny):
    w9 = _by_id(tiny.buildings)["w9"]
    # nodes 50, 51, (994 absent), 52, 53 in ring order
    present = [(24.9450, 60.1700), (24.9453, 60.1700), (24.9451, 60.1702), (24.9450, 60.1702)]
    ref_m2 = _geod_area_m2(present)
    assert _footprint_area_m2(w9.footprint) == pytest.approx(ref_m2, rel=1e-9)
    # a trapezoid of 4 (0.0001 deg)² at 60.17° N, about 4 x 11.13 m x 5.54 m = 247 m²;
    # the full ring (with the absent corner) would be 6 of those
    assert ref_m2 == pytest.approx(4 * 1e-8 * 111_320 ** 2 * np.cos(np.radians(60.1701)), rel=5e-3)
    assert isinstance(w9.footprint, Polygon)
    assert set(w9.footprint.exterior.coords) == set(present)
    assert (w9.height_m, w9.height_source, w9.kind) == (9.0, "levels", "retail")
    note = _skipped(tiny, "repaired")["way 9"]
    assert note.reason.startswith("clipped at the extract's edge: footprint from 4 of 5 nodes")
    assert note.file == str(TINY)


def test_fixture_relation_missing_an_inner_keeps_its_outer(tiny):
    r103 = _by_id(tiny.buildings)["r103"]
    # outer 0.0004 deg square minus the present inner w16 (0.0001 deg square);
    # the absent inner w97 cannot be a hole
    assert isinstance(r103.footprint, Polygon) and len(r103.footprint.interiors) == 1
    assert r103.footprint.area == pytest.approx(0.0004 ** 2 - 0.0001 ** 2, rel=1e-6)
    assert not r103.footprint.covers(Point(24.94615, 60.17015))  # inside w16
    assert (r103.height_m, r103.height_source, r103.kind) == (30.0, "height", "office")
    assert r103.where == (str(TINY), "relation 103")
    assert "1 inner member way(s) missing" in _skipped(tiny, "repaired")["relation 103"].reason


def test_relation_with_a_clipped_inner_keeps_its_outer(tmp_path):
    nodes = [(80, 60.1700, 24.9460), (81, 60.1700, 24.9464), (82, 60.1704, 24.9464),
             (83, 60.1704, 24.9460), (84, 60.1701, 24.9461), (85, 60.1701, 24.9462),
             (86, 60.1702, 24.9462)]  # the inner's fourth node, 993, is not in the file
    path = tmp_path / "inner.osm"
    path.write_text('<osm version="0.6">' + "".join(
        f'<node id="{i}" lat="{lat}" lon="{lon}"/>' for i, lat, lon in nodes)
        + '<way id="15"><nd ref="80"/><nd ref="81"/><nd ref="82"/><nd ref="83"/><nd ref="80"/></way>'
        '<way id="16"><nd ref="84"/><nd ref="85"/><nd ref="86"/><nd ref="993"/><nd ref="84"/></way>'
        '<relation id="7"><member type="way" ref="15" role="outer"/>'
        '<member type="way" ref="16" role="inner"/><tag k="type" v="multipolygon"/>'
        '<tag k="building" v="yes"/></relation></osm>')
    data = read_osm(path)
    assert [b.id for b in data.buildings] == ["r7"]
    assert data.buildings[0].footprint.area == pytest.approx(0.0004 ** 2, rel=1e-6)  # no hole
    assert [(s.feature, s.action) for s in data.skipped] == [("relation 7", "repaired")]


def test_fixture_unreadable_height_tag(tiny):
    w14 = _by_id(tiny.buildings)["w14"]
    assert (w14.height_m, w14.height_source) == (6.0, "levels")  # building:levels=2
    assert w14.attrs["height"] == "tall"
    note = _skipped(tiny, "repaired")["way 14"]
    assert note.reason == "unreadable height tag 'tall'; used 6 m from building:levels=2"
    # a readable height gets no note
    assert "way 1" not in _skipped(tiny, "repaired")


def test_fixture_streets(tiny):
    st = _by_id(tiny.streets)
    assert set(st) == {"w20", "w21"}
    assert st["w20"].highway == "residential" and st["w20"].name == "Testikatu"
    np.testing.assert_allclose(st["w20"].coords_lonlat,
                               [[24.94, 60.1695], [24.942, 60.1695], [24.944, 60.1695]])
    assert st["w20"].where == (str(TINY), "way 20")
    # w21 lost its last node to the extract's edge: the two inside are kept
    np.testing.assert_allclose(st["w21"].coords_lonlat, [[24.94, 60.169], [24.941, 60.169]])
    assert "kept its longest run" in _skipped(tiny, "repaired")["way 21"].reason
    # w22 has one node inside: no line
    assert "1 of 2 nodes in the extract" in _skipped(tiny)["way 22"].reason


def test_fixture_masts(tiny):
    m = _by_id(tiny.sites)
    # node 72 says communication:mobile_phone=no
    assert set(m) == {"osm-n70", "osm-n71", "osm-n77", "osm-w30"}
    assert all(s.kind == "mast" and s.sectors == [] for s in m.values())
    assert (m["osm-n70"].lon, m["osm-n70"].lat, m["osm-n70"].height_m) == (24.946, 60.165, 35.0)
    assert m["osm-n70"].attrs["osm_id"] == "n70" and m["osm-n70"].attrs["synthetic"] is False
    assert m["osm-n70"].where == (str(TINY), "node 70")
    assert m["osm-n71"].height_m == DEFAULT_MAST_HEIGHT_M == 20.0
    assert m["osm-n77"].height_m == DEFAULT_MAST_HEIGHT_M
    assert "'tall' is not a height" in _skipped(tiny, "repaired")["node 77"].reason
    # closed way: centroid of the 0.0002 deg square 73-76
    assert (m["osm-w30"].lon, m["osm-w30"].lat) == pytest.approx((24.9471, 60.1661), abs=1e-9)


def test_fixture_bbox(tiny):
    assert tiny.meta["osm_bbox_lonlat"] == pytest.approx([24.94, 60.165, 24.9471, 60.171])


def test_layers_subset(tiny):
    data = read_osm(TINY, layers=["streets"])
    assert [s.id for s in data.streets] == [s.id for s in tiny.streets]
    assert data.buildings == [] and data.sites == []
    assert {s.feature for s in data.skipped} == {"way 21", "way 22"}


@pytest.mark.parametrize("suffix, opener", [(".osm.gz", gzip.open), (".osm.bz2", bz2.open)])
def test_compressed_xml(tmp_path, tiny, suffix, opener):
    path = tmp_path / f"tiny{suffix}"
    with open(TINY, "rb") as src, opener(path, "wb") as dst:
        shutil.copyfileobj(src, dst)
    data = read_osm(path)
    assert [b.id for b in data.buildings] == [b.id for b in tiny.buildings]
    assert [s.id for s in data.streets] == [s.id for s in tiny.streets]
    assert len(data.skipped) == len(tiny.skipped)


def test_clipped_footprint_too_small():
    # three present nodes on one straight wall enclose (numerically) nothing
    ll = np.array([[24.95, 60.17], [24.9501, 60.17], [24.9, 60.2], [24.9502, 60.17]])
    fp, why = clipped_footprint([1, 2, 3, 4], ll, np.array([True, True, False, True]))
    assert fp is None and "less than 1 m²" in why
    fp, why = clipped_footprint([1, 2, 3, 2], ll, np.array([True, True, False, True]))
    assert fp is None and "only 2 distinct" in why


def test_repair_bowtie():
    fixed = _repair(Polygon([(0, 0), (1, 1), (1, 0), (0, 1)]))
    assert fixed.is_valid and isinstance(fixed, MultiPolygon)
    assert fixed.area == pytest.approx(0.5)


# --- bad input ------------------------------------------------------------

def test_missing_file(tmp_path):
    with pytest.raises(InputError, match=r"nope\.osm\.pbf: file not found"):
        read_osm(tmp_path / "nope.osm.pbf")


@pytest.mark.parametrize("name, content, problem", [
    ("garbage.osm", b"this is not xml", "XML parsing error"),
    ("empty.osm", b"", "XML parsing error"),
    ("garbage.osm.pbf", b"\x00\x01garbage" * 10, "PBF error"),
])
def test_unparsable_file(tmp_path, name, content, problem):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(InputError) as err:
        read_osm(path)
    msg = str(err.value)
    assert msg.startswith(str(path)) and "cannot read OSM data" in msg and problem in msg


def test_unsupported_suffix(tmp_path):
    path = tmp_path / "city.txt"
    path.write_text("x")
    with pytest.raises(InputError, match=r"city\.txt: unsupported file type; expected one of "
                                         r"\.osm\.pbf"):
        read_osm(path)


def test_directory(tmp_path):
    path = tmp_path / "dir.osm"
    path.mkdir()
    with pytest.raises(InputError, match=r"dir\.osm: is not a file"):
        read_osm(path)


def test_unknown_layer():
    with pytest.raises(InputError) as err:
        read_osm(TINY, layers=["buildings", "roads"])
    assert err.value.field == "layers" and err.value.file == str(TINY)
    assert "unknown layer 'roads'" in str(err.value) and "buildings, streets, masts" in str(err.value)


def test_no_layers():
    with pytest.raises(InputError, match="field 'layers': must name at least one"):
        read_osm(TINY, layers=[])


def test_out_of_range_coordinate(tmp_path):
    path = tmp_path / "bad.osm"
    path.write_text('<osm version="0.6"><node id="1" lat="60" lon="24"/>'
                    '<node id="2" lat="95" lon="24"/>'
                    '<way id="8"><nd ref="1"/><nd ref="2"/><tag k="highway" v="path"/></way></osm>')
    with pytest.raises(InputError) as err:
        read_osm(path)
    assert err.value.feature == "way 8" and err.value.field == "geometry"
    assert "latitude must be in [-90, 90], got 95" in str(err.value)


# --- the real extract ----------------------------------------------------

@pytest.fixture(scope="module")
def helsinki():
    t0 = time.perf_counter()
    data = read_osm(HELSINKI)
    return data, time.perf_counter() - t0


@pytest.fixture(scope="module")
def helsinki_ref():
    """Tag counts by a plain scan with node locations: no area assembly."""
    ref = {"buildings": set(), "highways": {}, "heights": {}, "levels": {}, "inner_rel": set(),
           "masts": {}, "clipped": {}}
    for o in osmium.FileProcessor(str(HELSINKI)).with_locations():
        tags = o.tags
        if o.is_node() and tags.get("communication:mobile_phone") == "yes":
            ref["masts"][f"osm-n{o.id}"] = (o.location.lon, o.location.lat)
        elif o.is_way():
            if tags.get("building", "no") != "no":
                ref["buildings"].add(f"w{o.id}")
                ring = list(o.nodes)[:-1]
                if o.nodes[0].ref == o.nodes[-1].ref and not all(n.location.valid() for n in ring):
                    # closed and clipped: (ring length, present nodes in ring order)
                    ref["clipped"][f"w{o.id}"] = (len(ring), [
                        (n.location.lon, n.location.lat) for n in ring if n.location.valid()])
            if "highway" in tags:
                ref["highways"][f"w{o.id}"] = (len(o.nodes),
                                               all(n.location.valid() for n in o.nodes))
        elif o.is_relation():
            if tags.get("type") == "multipolygon" and tags.get("building", "no") != "no":
                ref["buildings"].add(f"r{o.id}")
                if any(m.role == "inner" for m in o.members):
                    ref["inner_rel"].add(f"r{o.id}")
        if not o.is_node() and tags.get("building", "no") != "no":
            fid = ("w" if o.is_way() else "r") + str(o.id)
            if "height" in tags:
                ref["heights"][fid] = tags["height"]
            if "building:levels" in tags:
                ref["levels"][fid] = tags["building:levels"]
    return ref


def test_helsinki_every_building_is_read_or_reported(helsinki, helsinki_ref):
    data, _ = helsinki
    read = {b.id for b in data.buildings}
    skipped = {("w" if s.feature.startswith("way") else "r") + s.feature.split()[1]
               for s in data.skipped if s.action == "skipped" and s.reason.startswith("building")}
    assert not read & skipped
    assert read | skipped == helsinki_ref["buildings"]
    assert len(data.buildings) + len(skipped) == len(helsinki_ref["buildings"]) == 500
    assert all(b.footprint.is_valid and not b.footprint.is_empty for b in data.buildings)


def test_helsinki_clipped_buildings_are_kept(helsinki, helsinki_ref):
    data, _ = helsinki
    clipped = helsinki_ref["clipped"]
    assert len(clipped) == 48
    by_id = _by_id(data.buildings)
    repaired = {"w" + s.feature.split()[1] for s in data.skipped
                if s.action == "repaired" and s.reason.startswith("clipped at the extract's edge")}
    dropped = {"w" + s.feature.split()[1] for s in data.skipped
               if s.action == "skipped" and "(clipped at its edge)" in s.reason
               and s.feature.startswith("way")}
    assert repaired <= set(by_id) and not dropped & set(by_id)
    assert repaired | dropped == set(clipped) and not repaired & dropped
    # 446 buildings assemble whole; 34 of the 48 clipped ways keep a footprint
    assert len(repaired) == 34
    assert len(data.buildings) == 446 + len(repaired)
    for fid in repaired:
        n_ring, present = clipped[fid]
        note = next(s for s in data.skipped if s.feature == f"way {fid[1:]}"
                    and s.reason.startswith("clipped"))
        assert f"footprint from {len(present)} of {n_ring} nodes" in note.reason
        ring = Polygon(present)
        area_m2 = _footprint_area_m2(by_id[fid].footprint)
        assert area_m2 >= MIN_CLIPPED_AREA_M2
        if ring.is_valid:  # no make_valid: the footprint is exactly the present nodes' ring
            assert area_m2 == pytest.approx(_geod_area_m2(present), rel=1e-9)
        else:
            assert by_id[fid].footprint.area <= ring.convex_hull.area
    for fid in dropped:  # too little of it is inside the extract
        n_ring, present = clipped[fid]
        assert len({p for p in present}) < 3 or _geod_area_m2(present) < MIN_CLIPPED_AREA_M2


def test_helsinki_courtyards(helsinki, helsinki_ref):
    data, _ = helsinki
    holed = [b for b in data.buildings
             if any(len(p.interiors) for p in getattr(b.footprint, "geoms", [b.footprint]))]
    assert holed
    assert {b.id for b in holed} <= helsinki_ref["inner_rel"]
    for b in holed:
        parts = getattr(b.footprint, "geoms", [b.footprint])
        shell_area = sum(Polygon(p.exterior).area for p in parts)
        assert b.footprint.area < shell_area


def test_helsinki_heights(helsinki, helsinki_ref):
    data, _ = helsinki
    by_id = _by_id(data.buildings)
    tagged = {k: float(v) for k, v in helsinki_ref["heights"].items()
              if k in by_id and v.replace(".", "", 1).isdigit()}
    assert tagged
    for fid, h in tagged.items():
        assert (by_id[fid].height_m, by_id[fid].height_source) == (h, "height")
    leveled = {k: int(v) for k, v in helsinki_ref["levels"].items()
               if k in by_id and k not in helsinki_ref["heights"] and v.isdigit()}
    assert leveled
    for fid, lv in leveled.items():
        assert (by_id[fid].height_m, by_id[fid].height_source) == (3.0 * lv, "levels")


def test_helsinki_streets(helsinki, helsinki_ref):
    data, _ = helsinki
    ref = helsinki_ref["highways"]
    st = _by_id(data.streets)
    dropped = {"w" + s.feature.split()[1] for s in data.skipped
               if s.action == "skipped" and s.reason.startswith("street")}
    assert not set(st) & dropped and set(st) | dropped == set(ref)
    assert len(st) + len(dropped) == len(ref)
    complete = [fid for fid, (_, ok) in ref.items() if ok]
    assert len(complete) > 2000
    for fid in complete:  # a way wholly inside the extract keeps every node
        assert st[fid].coords_lonlat.shape == (ref[fid][0], 2)
    repaired = {"w" + s.feature.split()[1] for s in data.skipped
                if s.action == "repaired" and s.reason.startswith("street")}
    assert repaired == set(st) - set(complete)


def test_helsinki_mast(helsinki, helsinki_ref):
    data, _ = helsinki
    assert helsinki_ref["masts"] == {"osm-n1682211174": pytest.approx((24.9468685, 60.1650731))}
    assert [s.id for s in data.sites] == ["osm-n1682211174"]
    mast = data.sites[0]
    assert (mast.lon, mast.lat) == pytest.approx((24.9468685, 60.1650731), abs=1e-9)
    assert mast.kind == "mast" and mast.height_m == DEFAULT_MAST_HEIGHT_M
    assert mast.where == (str(HELSINKI), "node 1682211174")


def test_helsinki_bbox(helsinki):
    data, _ = helsinki
    reader = osmium.io.Reader(str(HELSINKI), osmium.osm.NOTHING)
    box = reader.header().box()
    reader.close()
    lon0, lat0, lon1, lat1 = data.meta["osm_bbox_lonlat"]
    assert box.bottom_left.lon - 1e-6 <= lon0 < lon1 <= box.top_right.lon + 1e-6
    assert box.bottom_left.lat - 1e-6 <= lat0 < lat1 <= box.top_right.lat + 1e-6
