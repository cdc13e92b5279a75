"""Vector and CSV readers: values per role, reprojection, and every bad input."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
from shapely.geometry import LineString, Point, Polygon

from twin3d.errors import InputError
from twin3d.geo.csvfile import read_csv
from twin3d.geo.records import SectorRecord
from twin3d.geo.vector import read_vector

DATA = Path(__file__).parent / "data" / "vector"


def write_fc(path: Path, features: list[dict], **extra) -> Path:
    """A GeoJSON FeatureCollection file from (geometry, properties) dicts."""
    doc = {"type": "FeatureCollection", **extra, "features": [
        {"type": "Feature", "geometry": f.get("geometry"), "properties": f.get("properties")}
        for f in features]}
    path.write_text(json.dumps(doc))
    return path


def point(lon, lat):
    return {"type": "Point", "coordinates": [lon, lat]}


def line(*coords):
    return {"type": "LineString", "coordinates": [list(c) for c in coords]}


def square(lon, lat, d=0.001):
    return {"type": "Polygon", "coordinates": [[[lon, lat], [lon + d, lat], [lon + d, lat + d],
                                                [lon, lat + d], [lon, lat]]]}


def error(fn, *args) -> InputError:
    with pytest.raises(InputError) as exc:
        fn(*args)
    return exc.value


# -- GeoJSON: good files -----------------------------------------------------

def test_geojson_sites_sectors_and_defaults():
    data = read_vector(DATA / "sites.geojson", "sites")
    by_id = {s.id: s for s in data.sites}
    assert list(by_id) == ["S1", "S2", "CO1", "M1"]
    s1 = by_id["S1"]
    assert (s1.lon, s1.lat, s1.height_m, s1.ground_m) == (24.941, 60.169, 30.0, 17.5)
    assert [c.azimuth_deg for c in s1.sectors] == [0.0, 120.0, 240.0]
    # site-level p_tx_dbm 40 and f_hz 2.6e9 are the sectors' defaults
    assert [c.p_tx_dbm for c in s1.sectors] == [40.0, 43.0, 40.0]
    assert all(c.f_hz == 2.6e9 for c in s1.sectors)
    assert [c.tilt_deg for c in s1.sectors] == [SectorRecord.tilt_deg, 4.0, SectorRecord.tilt_deg]
    assert (s1.sectors[2].beamwidth_deg, s1.sectors[2].gain_dbi) == (90.0, 15.0)
    # none given: the scene's [radio] bandwidth_hz holds (twin3d.model.build_twin)
    assert s1.sectors[0].bandwidth_hz is None and SectorRecord.bandwidth_hz is None
    assert s1.where == (str(DATA / "sites.geojson"), "feature 1 (id 'S1')")

    s2 = by_id["S2"]   # small cell: 10 m default, one sector per azimuth
    assert (s2.kind, s2.height_m, s2.state) == ("small", 10.0, "down")
    assert [c.azimuth_deg for c in s2.sectors] == [90.0, 270.0]
    assert s2.sectors[0].p_tx_dbm == SectorRecord.p_tx_dbm
    assert s2.attrs == {"synthetic": True, "owner": "city"}

    co = by_id["CO1"]  # top-level feature id; equipment at ground level
    assert (co.kind, co.height_m, co.sectors, co.ground_m) == ("central_office", 0.0, [], None)
    m1 = by_id["M1"]   # null properties, 3-D point: macro default height, z dropped
    assert (m1.kind, m1.height_m, m1.lon, m1.lat) == ("macro", 25.0, 24.93, 60.175)
    assert data.links == data.buildings == data.skipped == []


def test_geojson_links_line_multiline_and_straight():
    data = read_vector(DATA / "links.geojson", "links")
    f1, mw2, f3 = data.links
    assert (f1.id, f1.a, f1.b, f1.capacity_bps, f1.kind) == ("F1", "S1", "CO1", 1e11, "fiber")
    assert f1.attenuation_db_per_km == 0.3 and f1.attrs == {"cable": "ribbon-96"}
    np.testing.assert_array_equal(f1.route_lonlat, [[24.941, 60.169], [24.946, 60.167],
                                                    [24.952, 60.165]])
    # two parts joined end to start: one route, the shared vertex once
    assert (mw2.kind, mw2.capacity_bps) == ("microwave", 1e9)
    np.testing.assert_array_equal(mw2.route_lonlat, [[24.948, 60.171], [24.950, 60.169],
                                                     [24.951, 60.167], [24.952, 60.165]])
    assert f3.route_lonlat is None and f3.capacity_bps == 1e10
    assert f3.attenuation_db_per_km is None
    assert f3.where[1] == "feature 3 (id 'F3')"


def test_geojson_buildings_hole_repair_and_heights():
    data = read_vector(DATA / "buildings.geojson", "buildings")
    b1, b2, b3 = data.buildings
    # 0.002 x 0.001 deg with a 0.0005 x 0.0005 deg courtyard
    assert len(b1.footprint.interiors) == 1
    assert b1.footprint.area == pytest.approx(0.002 * 0.001 - 0.0005 * 0.0005, rel=1e-9)
    assert (b1.height_m, b1.height_source, b1.kind) == (21.5, "height", "apartments")
    assert b1.attrs == {"name": "Courtyard block"}

    # the bow-tie becomes its two triangles, reported as repaired
    t1 = Polygon([(24.950, 60.170), (24.950, 60.171), (24.951, 60.1705)])
    t2 = Polygon([(24.952, 60.170), (24.952, 60.171), (24.951, 60.1705)])
    assert b2.footprint.is_valid and b2.footprint.geom_type == "MultiPolygon"
    assert b2.footprint.area == pytest.approx(t1.area + t2.area, rel=1e-9)
    assert b2.footprint.symmetric_difference(t1.union(t2)).area < 1e-15
    assert b2.id == "buildings-2"
    assert (b2.height_m, b2.height_source, b2.kind) == (20.0, "default", "church")
    [rep] = data.skipped
    assert rep.action == "repaired" and rep.feature == "feature 2"
    assert "Self-intersection" in rep.reason and rep.file == str(DATA / "buildings.geojson")

    assert b3.footprint.geom_type == "MultiPolygon" and len(b3.footprint.geoms) == 2
    assert (b3.height_m, b3.height_source) == (12.0, "levels")


def test_building_collapsed_to_line_is_skipped(tmp_path):
    flat = {"type": "Polygon", "coordinates": [[[24.9, 60.1], [24.91, 60.11], [24.92, 60.12],
                                                [24.9, 60.1]]]}
    p = write_fc(tmp_path / "b.geojson", [{"geometry": flat, "properties": {"id": "X"}},
                                          {"geometry": square(24.9, 60.1), "properties": {}}])
    data = read_vector(p, "buildings")
    assert [b.id for b in data.buildings] == ["b-2"]
    [skip] = data.skipped
    assert (skip.action, skip.feature) == ("skipped", "feature 1 (id 'X')")
    assert "make_valid" in skip.reason


def test_geojson_streets_one_record_per_part(tmp_path):
    multi = {"type": "MultiLineString", "coordinates": [[[24.9, 60.1], [24.91, 60.1]],
                                                        [[24.95, 60.1], [24.96, 60.1]]]}
    p = write_fc(tmp_path / "streets.geojson", [
        {"geometry": multi, "properties": {"id": "W1", "highway": "primary", "name": "Mannerheimintie"}},
        {"geometry": line((24.9, 60.2), (24.91, 60.21)), "properties": {}}])
    streets = read_vector(p, "streets").streets
    assert [s.id for s in streets] == ["W1-1", "W1-2", "streets-2"]
    assert [s.highway for s in streets] == ["primary", "primary", "unclassified"]
    assert streets[0].name == "Mannerheimintie"
    assert streets[1].where == (str(p), "feature 1 (id 'W1')")
    np.testing.assert_array_equal(streets[1].coords_lonlat, [[24.95, 60.1], [24.96, 60.1]])


# -- GeoPackage and Shapefile --------------------------------------------------

def test_gpkg_in_tm35fin_read_back_to_lonlat(tmp_path):
    lonlat = [(24.9410, 60.1690), (25.4651, 65.0121), (22.2666, 60.4518)]
    gdf = gpd.GeoDataFrame(
        {"id": ["S1", "OULU", "TKU"], "height_m": [30.0, np.nan, 12.0], "rank": [1, 2, 3],
         "kind": ["macro", "mast", "small"],
         "sectors": ['[{"azimuth_deg": 10}, {"azimuth_deg": 130, "p_tx_dbm": 43}]', None, None]},
        geometry=[Point(p) for p in lonlat], crs="EPSG:4326").to_crs("EPSG:3067")
    assert gdf.geometry.x.min() > 1e5   # really metres, not degrees
    gdf.to_file(tmp_path / "sites.gpkg", driver="GPKG")
    sites = read_vector(tmp_path / "sites.gpkg", "sites").sites
    got = np.array([(s.lon, s.lat) for s in sites])
    np.testing.assert_allclose(got, lonlat, atol=1e-7, rtol=0)
    assert [s.height_m for s in sites] == [30.0, 25.0, 12.0]   # NaN -> kind default
    assert [c.azimuth_deg for c in sites[0].sectors] == [10.0, 130.0]
    assert [c.p_tx_dbm for c in sites[0].sectors] == [46.0, 43.0]
    assert sites[1].sectors == []
    assert sites[2].attrs == {"rank": 3} and type(sites[2].attrs["rank"]) is int
    assert sites[1].where == (str(tmp_path / "sites.gpkg"), "feature 2 (id 'OULU')")


def test_gpkg_with_several_layers_picks_the_role(tmp_path):
    p = tmp_path / "net.gpkg"
    gpd.GeoDataFrame({"id": ["S1"]}, geometry=[Point(24.9, 60.1)], crs=4326).to_file(
        p, layer="sites")
    gpd.GeoDataFrame({"id": ["F1"], "a": ["S1"], "b": ["S2"], "capacity_bps": [1e9]},
                     geometry=[LineString([(24.9, 60.1), (24.95, 60.12)])], crs=4326).to_file(
        p, layer="links")
    assert [s.id for s in read_vector(p, "sites").sites] == ["S1"]
    assert [lk.id for lk in read_vector(p, "links").links] == ["F1"]
    e = error(read_vector, p, "buildings")
    assert "2 layers" in str(e) and "sites" in str(e) and e.field == "layer"


def test_shapefile_links_in_tm35fin_with_shortened_names(tmp_path):
    route = [(24.9410, 60.1690), (24.9460, 60.1670), (24.9520, 60.1650)]
    gdf = gpd.GeoDataFrame(
        {"id": ["F1", "F2"], "a": ["S1", "S2"], "b": ["CO1", "CO1"],
         "capacity_bps": [1e11, 4e10], "attenuation_db_per_km": [0.3, 0.22]},
        geometry=[LineString(route), LineString(route[::-1])], crs=4326).to_crs(3067)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")   # dBase truncates the column names
        gdf.to_file(tmp_path / "fiber.shp")
    links = read_vector(tmp_path / "fiber.shp", "links").links
    assert [lk.capacity_bps for lk in links] == [1e11, 4e10]
    assert [lk.attenuation_db_per_km for lk in links] == [0.3, 0.22]
    assert links[0].attrs == {}
    np.testing.assert_allclose(links[0].route_lonlat, route, atol=1e-7, rtol=0)
    np.testing.assert_allclose(links[1].route_lonlat, route[::-1], atol=1e-7, rtol=0)


@pytest.mark.parametrize("name, driver", [("nocrs.gpkg", "GPKG"), ("nocrs.shp", "ESRI Shapefile")])
def test_layer_without_crs(tmp_path, name, driver):
    gdf = gpd.GeoDataFrame({"id": ["S1"]}, geometry=[Point(385000.0, 6672000.0)])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")   # geopandas warns that there is no CRS: the point
        gdf.to_file(tmp_path / name, driver=driver)
    e = error(read_vector, tmp_path / name, "sites")
    assert e.file == str(tmp_path / name) and "has no CRS" in str(e)


def test_unreadable_gpkg(tmp_path):
    p = tmp_path / "broken.gpkg"
    p.write_bytes(b"this is not sqlite")
    e = error(read_vector, p, "sites")
    assert str(e).startswith(str(p)) and "cannot be read as a GeoPackage" in str(e)


# -- CSV -------------------------------------------------------------------------

def test_csv_sites():
    sites = read_csv(DATA / "sites.csv", "sites").sites
    s1, s2, r1 = sites
    assert (s1.lon, s1.lat, s1.height_m) == (24.941, 60.169, 32.0)
    assert [c.azimuth_deg for c in s1.sectors] == [0.0, 120.0, 240.0]
    assert {c.p_tx_dbm for c in s1.sectors} == {44.0}
    assert s1.attrs == {"vendor": "acme"}
    assert s1.where == (str(DATA / "sites.csv"), "row 2 (id 'S1')")
    [c] = s2.sectors     # sectors as JSON text
    assert (c.azimuth_deg, c.p_tx_dbm, c.f_hz, s2.height_m) == (45.0, 30.0, 28e9, 10.0)
    assert (r1.kind, r1.height_m, r1.sectors, r1.where[1]) == ("router", 0.0, [], "row 4 (id 'R1')")


def test_csv_links_and_demands():
    f1, mw1 = read_csv(DATA / "links.csv", "links").links
    assert (f1.capacity_bps, f1.attenuation_db_per_km, mw1.capacity_bps) == (1e11, 0.25, 2.5e9)
    np.testing.assert_array_equal(f1.route_lonlat, [[24.941, 60.169], [24.946, 60.167],
                                                    [24.952, 60.165]])
    assert mw1.kind == "microwave" and mw1.route_lonlat is None
    demands = read_csv(DATA / "demands.csv", "demands").demands
    assert [(d.src, d.dst, d.demand_bps) for d in demands] == [
        ("S1", "R1", 4e9), ("S2", "R1", 0.0), ("R1", "S1", 1.5e9)]


def test_csv_buildings_and_streets_from_wkt(tmp_path):
    p = csv_file(tmp_path, 'id,building:levels,building,wkt\n'
                 'B1,5,office,"POLYGON ((24.9 60.1, 24.901 60.1, 24.901 60.101, 24.9 60.1))"\n'
                 ',,garage,"POLYGON ((24.95 60.1, 24.951 60.1, 24.951 60.101, 24.95 60.1))"\n')
    b1, b2 = read_csv(p, "buildings").buildings
    assert (b1.height_m, b1.height_source, b1.kind) == (15.0, "levels", "office")
    assert (b2.id, b2.height_m, b2.height_source) == ("t-3", 3.0, "default")
    assert b1.footprint.area == pytest.approx(0.5e-6, rel=1e-9)
    p = csv_file(tmp_path, 'id,highway,wkt\nW1,residential,"LINESTRING (24.9 60.1, 24.91 60.1)"\n')
    [w] = read_csv(p, "streets").streets
    assert (w.id, w.highway) == ("W1", "residential")
    np.testing.assert_array_equal(w.coords_lonlat, [[24.9, 60.1], [24.91, 60.1]])


def test_read_csv_is_also_importable_from_vector():
    from twin3d.geo import vector
    assert vector.read_csv is read_csv   # the scene loader imports it from there


def test_csv_semicolon_separated(tmp_path):
    p = tmp_path / "s.csv"
    p.write_text("id;lon;lat;height_m\nA;24.9;60.1;12\n")
    [s] = read_csv(p, "sites").sites
    assert (s.id, s.lon, s.lat, s.height_m) == ("A", 24.9, 60.1, 12.0)


# -- bad input: GeoJSON ------------------------------------------------------------

def test_missing_file(tmp_path):
    for fn, name in [(read_vector, "nope.geojson"), (read_vector, "nope.gpkg"),
                     (read_csv, "nope.csv")]:
        e = error(fn, tmp_path / name, "sites")
        assert e.file == str(tmp_path / name) and "not found" in str(e)


def test_unknown_suffix_and_role(tmp_path):
    assert "unknown file type '.kml'" in str(error(read_vector, tmp_path / "a.kml", "sites"))
    e = error(read_vector, DATA / "sites.geojson", "demands")
    assert e.field == "role" and "demands" in str(e)


def test_invalid_json_names_line(tmp_path):
    p = tmp_path / "bad.geojson"
    p.write_text('{"type": "FeatureCollection",\n "features": [\n  {"type": "Feature",,}\n]}')
    e = error(read_vector, p, "sites")
    assert str(e).startswith(str(p)) and "invalid JSON at line 3" in str(e)


def test_not_a_feature_collection(tmp_path):
    p = tmp_path / "one.geojson"
    p.write_text(json.dumps({"type": "Feature", "geometry": point(24.9, 60.1),
                             "properties": {"id": "S1"}}))
    e = error(read_vector, p, "sites")
    assert e.file == str(p) and "must be a GeoJSON FeatureCollection, got 'Feature'" in str(e)


def test_projected_crs_member_refused(tmp_path):
    p = write_fc(tmp_path / "old.geojson", [{"geometry": point(385000, 6672000),
                                             "properties": {"id": "S1"}}],
                 crs={"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::3067"}})
    e = error(read_vector, p, "sites")
    assert e.field == "crs" and "3067" in str(e)


def test_missing_id(tmp_path):
    p = write_fc(tmp_path / "s.geojson", [{"geometry": point(24.9, 60.1), "properties": {"id": "S1"}},
                                          {"geometry": point(24.9, 60.2), "properties": {"kind": "small"}}])
    e = error(read_vector, p, "sites")
    assert (e.file, e.feature, e.field) == (str(p), "feature 2", "id")
    assert str(e) == f"{p}: feature 2: field 'id': is missing"


def test_nan_coordinate(tmp_path):
    p = tmp_path / "nan.geojson"
    p.write_text('{"type": "FeatureCollection", "features": [{"type": "Feature", '
                 '"geometry": {"type": "Point", "coordinates": [NaN, 60.1]}, '
                 '"properties": {"id": "S1"}}]}')
    e = error(read_vector, p, "sites")
    assert (e.feature, e.field) == ("feature 1 (id 'S1')", "geometry") and "finite" in str(e)


def test_latitude_out_of_range(tmp_path):
    p = write_fc(tmp_path / "s.geojson", [
        {"geometry": line((24.9, 60.1), (24.9, 95.0)),
         "properties": {"id": "F1", "a": "A", "b": "B", "capacity_bps": 1e9}}])
    e = error(read_vector, p, "links")
    assert (e.feature, e.field) == ("feature 1 (id 'F1')", "geometry")
    assert "latitude must be in [-90, 90], got 95" in str(e)


def test_negative_capacity(tmp_path):
    p = write_fc(tmp_path / "l.geojson", [
        {"geometry": None, "properties": {"id": "F9", "a": "A", "b": "B", "capacity_bps": -1e9}}])
    e = error(read_vector, p, "links")
    assert (e.file, e.feature, e.field) == (str(p), "feature 1 (id 'F9')", "capacity_bps")
    assert "must be > 0" in str(e)


def test_negative_height(tmp_path):
    p = write_fc(tmp_path / "b.geojson", [{"geometry": square(24.9, 60.1),
                                           "properties": {"id": "B7", "height_m": -3}}])
    e = error(read_vector, p, "buildings")
    assert (e.feature, e.field) == ("feature 1 (id 'B7')", "height_m") and "-3" in str(e)
    p = write_fc(tmp_path / "s.geojson", [{"geometry": point(24.9, 60.1),
                                           "properties": {"id": "S1", "height_m": -1}}])
    e = error(read_vector, p, "sites")
    assert (e.feature, e.field) == ("feature 1 (id 'S1')", "height_m")


@pytest.mark.parametrize("role, geometry, props, expected", [
    ("sites", line((24.9, 60.1), (24.91, 60.1)), {"id": "S1"}, "must be Point, got LineString"),
    ("links", point(24.9, 60.1), {"id": "F1", "a": "A", "b": "B", "capacity_bps": 1},
     "must be LineString or MultiLineString, got Point"),
    ("buildings", point(24.9, 60.1), {"id": "B1"}, "must be Polygon or MultiPolygon, got Point"),
    ("sites", None, {"id": "S1"}, "is missing or empty"),
    ("buildings", None, {"id": "B1"}, "is missing or empty"),
])
def test_wrong_or_missing_geometry(tmp_path, role, geometry, props, expected):
    p = write_fc(tmp_path / "x.geojson", [{"geometry": geometry, "properties": props}])
    e = error(read_vector, p, role)
    assert e.field == "geometry" and e.feature == f"feature 1 (id '{props['id']}')"
    assert expected in str(e)


def test_malformed_geometry_object(tmp_path):
    p = write_fc(tmp_path / "x.geojson", [{"geometry": {"type": "Point"}, "properties": {"id": "S1"}}])
    e = error(read_vector, p, "sites")
    assert e.field == "geometry" and "not a valid GeoJSON geometry" in str(e)


def test_duplicate_id_names_both(tmp_path):
    p = write_fc(tmp_path / "s.geojson", [
        {"geometry": point(24.9, 60.1), "properties": {"id": "S1"}},
        {"geometry": point(24.9, 60.2), "properties": {"id": "S2"}},
        {"geometry": point(24.9, 60.3), "properties": {"id": "S1"}}])
    e = error(read_vector, p, "sites")
    assert (e.feature, e.field) == ("feature 3 (id 'S1')", "id")
    assert "feature 1 (id 'S1')" in str(e) and "duplicate" in str(e)


def test_link_checks(tmp_path):
    apart = {"type": "MultiLineString", "coordinates": [[[24.9, 60.1], [24.91, 60.1]],
                                                        [[24.95, 60.1], [24.96, 60.1]]]}
    base = {"id": "F1", "a": "A", "b": "B", "capacity_bps": 1e9}
    cases = [(apart, base, "geometry", "do not join end to start"),
             (None, {**base, "b": "A"}, "b", "must differ"),
             (None, {**base, "kind": "copper"}, "kind", "must be one of fiber, microwave"),
             (None, {**base, "attenuation_db_per_km": -0.1}, "attenuation_db_per_km", ">= 0"),
             (None, {k: v for k, v in base.items() if k != "capacity_bps"}, "capacity_bps",
              "is missing")]
    for k, (geom, props, field, expected) in enumerate(cases):
        p = write_fc(tmp_path / f"l{k}.geojson", [{"geometry": geom, "properties": props}])
        e = error(read_vector, p, "links")
        assert (e.feature, e.field) == ("feature 1 (id 'F1')", field) and expected in str(e)


def test_sector_checks(tmp_path):
    cases = [({"sectors": [{"azimuth_deg": 400}]}, "sectors[0].azimuth_deg", "<= 360"),
             ({"sectors": [{"azimuth_deg": 0}, {"p_tx_dbm": 40}]}, "sectors[1].azimuth_deg",
              "is missing"),
             ({"sectors": [{"azimuth_deg": 0, "power": 40}]}, "sectors[0]", "unknown key(s) power"),
             ({"sectors": [{"azimuth_deg": 0, "f_hz": 0}]}, "sectors[0].f_hz", "> 0"),
             ({"sectors": "[{"}, "sectors", "not valid JSON"),
             ({"azimuths_deg": "0;x"}, "azimuths_deg[1]", "must be a number"),
             ({"sectors": [], "azimuths_deg": "0"}, "sectors", "not both"),
             ({"p_tx_dbm": 99}, "p_tx_dbm", "<= 80"),
             ({"kind": "tower"}, "kind", "must be one of macro")]
    for k, (extra, field, expected) in enumerate(cases):
        p = write_fc(tmp_path / f"s{k}.geojson", [{"geometry": point(24.9, 60.1),
                                                   "properties": {"id": "S1", **extra}}])
        e = error(read_vector, p, "sites")
        assert (e.feature, e.field) == ("feature 1 (id 'S1')", field), extra
        assert expected in str(e), (extra, str(e))


def test_bad_building_levels_and_height(tmp_path):
    for k, (props, field) in enumerate([({"building:levels": -2}, "building:levels"),
                                        ({"height": "tall"}, "height")]):
        p = write_fc(tmp_path / f"b{k}.geojson", [{"geometry": square(24.9, 60.1),
                                                   "properties": {"id": "B1", **props}}])
        e = error(read_vector, p, "buildings")
        assert (e.feature, e.field) == ("feature 1 (id 'B1')", field)


# -- bad input: CSV ------------------------------------------------------------------

def csv_file(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "t.csv"
    p.write_text(text)
    return p


@pytest.mark.parametrize("role, text, feature, field, expected", [
    ("sites", "id,lon,lat\nS1,nan,60.1\n", "row 2 (id 'S1')", "geometry", "finite"),
    ("sites", "id,lon,lat\nS1,24.9,95\n", "row 2 (id 'S1')", "geometry", "latitude must be in"),
    ("sites", "id,lon,lat\nS1,24.9,\n", "row 2 (id 'S1')", "lat", "is missing"),
    ("sites", "id,lon,lat\nS1,east,60\n", "row 2 (id 'S1')", "lon", "must be a number"),
    ("sites", "id,x,y\nS1,385000,6672000\n", "row 1 (header)", "lon", "x/y are not accepted"),
    ("sites", "id,lon,lat\nS1,24.9,60.1\nS1,24.8,60.1\n", "row 3 (id 'S1')", "id",
     "first seen in row 2 (id 'S1')"),
    ("sites", "id,lon,lat,sectors\nS1,24.9,60.1,[oops\n", "row 2 (id 'S1')", "sectors",
     "not valid JSON"),
    ("links", "id,a,b,capacity_bps\nF1,A,B,-5\n", "row 2 (id 'F1')", "capacity_bps", "> 0"),
    ("links", "id,a,b\nF1,A,B\n", "row 1 (header)", "capacity_bps", "missing column"),
    ("links", "id,a,b,capacity_bps,wkt\nF1,A,B,1e9,\"LINESTRING (1 2, 3)\"\n", "row 2 (id 'F1')",
     "wkt", "not valid WKT"),
    ("links", "id,a,b,capacity_bps,wkt\nF1,A,B,1e9,POINT (24 60)\n", "row 2 (id 'F1')",
     "geometry", "got Point"),
    ("demands", "src,dst,demand_bps\nA,B,-1\n", "row 2", "demand_bps", ">= 0"),
    ("demands", "src,dst,demand_bps\nA,B,1\nA,B,2\n", "row 3", "dst", "duplicate demand"),
    ("demands", "src,dst,demand_bps\nA,B,1,7\n", "row 2", None, "has 4 cells"),
    ("buildings", "id,height_m,wkt\nB1,-4,\"POLYGON ((24.9 60.1, 24.91 60.1, 24.91 60.11, 24.9 60.1))\"\n",
     "row 2 (id 'B1')", "height_m", "must be > 0"),
])
def test_csv_bad_input(tmp_path, role, text, feature, field, expected):
    p = csv_file(tmp_path, text)
    e = error(read_csv, p, role)
    assert (e.file, e.feature, e.field) == (str(p), feature, field)
    assert expected in str(e), str(e)


def test_empty_csv(tmp_path):
    e = error(read_csv, csv_file(tmp_path, ""), "demands")
    assert "is empty" in str(e)
