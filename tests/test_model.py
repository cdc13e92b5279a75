"""Twin model: ENU placement, link geometry, parallel links, cross-file checks."""

from __future__ import annotations

import numpy as np
import pytest
from pyproj import Geod
from shapely.geometry import Polygon

from twin3d.errors import InputError
from twin3d.geo.frame import LocalFrame
from twin3d.geo.records import (BuildingRecord, DemandRecord, LinkRecord, SectorRecord,
                                SiteRecord, SourceData)
from twin3d.model import ROUTE_STEP_M, build_twin

FRAME = LocalFrame(24.944, 60.17, 0.0)


def sites():
    return [SiteRecord("A", 24.944, 60.17, height_m=30, sectors=[SectorRecord(0), SectorRecord(120)],
                       where=("s.geojson", "feature 1 (id 'A')")),
            SiteRecord("B", 24.954, 60.17, where=("s.geojson", "feature 2 (id 'B')")),
            SiteRecord("C", 24.954, 60.18, kind="central_office", height_m=0)]


def test_sites_cells_and_antenna_height():
    twin = build_twin(SourceData(sites=sites()), FRAME)
    a = twin.sites["A"]
    np.testing.assert_allclose(a.xyz_m, [0, 0, 0], atol=1e-6)
    np.testing.assert_allclose(a.antenna_xyz_m, [0, 0, 30], atol=1e-6)
    assert [c.id for c in twin.cells] == ["A/1", "A/2"]
    assert twin.cells[1].azimuth_deg == 120
    assert twin.sites["B"].xyz_m[0] == pytest.approx(555.13, abs=0.05)


def test_parallel_links_kept_and_length_is_geodesic():
    route = np.array([[24.944, 60.17], [24.949, 60.175], [24.954, 60.17]])
    data = SourceData(sites=sites(), links=[
        LinkRecord("L1", "A", "B", 10e9), LinkRecord("L2", "A", "B", 40e9, route_lonlat=route)])
    twin = build_twin(data, FRAME)
    assert twin.graph.number_of_edges("A", "B") == 2
    assert set(twin.graph["A"]["B"]) == {"L1", "L2"}
    geod = Geod(ellps="WGS84")
    assert twin.links["L1"].length_m == pytest.approx(geod.line_length([24.944, 24.954], [60.17, 60.17]), rel=1e-9)
    assert twin.links["L2"].length_m == pytest.approx(geod.line_length(route[:, 0], route[:, 1]), rel=1e-9)
    # the route starts and ends at the sites it joins
    np.testing.assert_allclose(twin.links["L2"].route_xyz_m[0], twin.sites["A"].xyz_m, atol=1e-6)
    np.testing.assert_allclose(twin.links["L2"].route_xyz_m[-1], twin.sites["B"].xyz_m, atol=1e-6)


def test_route_joined_to_sites_and_long_links_densified():
    data = SourceData(sites=[SiteRecord("HEL", 24.94, 60.17), SiteRecord("OUL", 25.47, 65.01)],
                      links=[LinkRecord("L", "HEL", "OUL", 10e9)])
    twin = build_twin(data, FRAME)
    link = twin.links["L"]
    assert 535_000 < link.length_m < 542_000
    assert len(link.route_xyz_m) >= link.length_m // ROUTE_STEP_M
    seg = np.linalg.norm(np.diff(link.route_xyz_m, axis=0), axis=1)
    assert seg.max() <= ROUTE_STEP_M * 1.01
    # the densified route follows the ellipsoid: it bulges above the straight chord
    # by the sagitta L^2 / (8 R), about 5.7 km for 540 km
    r = link.route_xyz_m
    mid = len(r) // 2
    t = np.dot(r[mid] - r[0], r[-1] - r[0]) / np.dot(r[-1] - r[0], r[-1] - r[0])
    off = np.linalg.norm(r[mid] - (r[0] + t * (r[-1] - r[0])))
    assert off == pytest.approx(link.length_m ** 2 / (8 * 6.371e6), rel=0.05)


def test_buildings_in_enu_with_index():
    sq = Polygon([(24.9440, 60.1700), (24.9442, 60.1700), (24.9442, 60.1701), (24.9440, 60.1701)])
    twin = build_twin(SourceData(buildings=[BuildingRecord("b1", sq, 12.0)]), FRAME)
    assert len(twin.buildings) == 1
    area = twin.buildings.footprints[0].area
    geod = Geod(ellps="WGS84")
    assert area == pytest.approx(abs(geod.geometry_area_perimeter(sq)[0]), rel=1e-3)
    cx, cy = twin.buildings.footprints[0].centroid.coords[0]
    assert twin.buildings.at(cx, cy) == 0
    assert twin.buildings.at(cx + 500, cy) is None


def test_duplicate_site_id_names_both_features():
    data = SourceData(sites=sites() + [SiteRecord("A", 24.95, 60.17, where=("more.csv", "row 4 (id 'A')"))])
    with pytest.raises(InputError) as exc:
        build_twin(data, FRAME)
    assert exc.value.file == "more.csv" and exc.value.field == "id"
    assert "duplicate site id 'A'" in exc.value.problem and "s.geojson" in exc.value.problem


def test_link_to_unknown_site():
    data = SourceData(sites=sites(), links=[LinkRecord("F-9", "A", "Z", 1e9, where=("f.geojson", "feature 9 (id 'F-9')"))])
    with pytest.raises(InputError) as exc:
        build_twin(data, FRAME)
    assert (exc.value.file, exc.value.feature, exc.value.field) == ("f.geojson", "feature 9 (id 'F-9')", "b")
    assert "unknown site 'Z'" in exc.value.problem


def test_demands_summed_and_checked():
    data = SourceData(sites=sites(), demands=[DemandRecord("A", "B", 1e6), DemandRecord("A", "B", 2e6)])
    assert build_twin(data, FRAME).demands == {("A", "B"): 3e6}
    with pytest.raises(InputError, match="unknown site 'Q'"):
        build_twin(SourceData(sites=sites(), demands=[DemandRecord("A", "Q", 1.0)]), FRAME)
