"""The base USD stage: layout, metadata, geometry and attributes of a written twin."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from pxr import Sdf, Usd, UsdGeom, UsdShade

from twin3d.errors import InputError
from twin3d.geo.frame import LocalFrame
from twin3d.geo.records import (BuildingRecord, LinkRecord, SectorRecord, SiteRecord,
                                SourceData, StreetRecord)
from twin3d.model import build_twin
from twin3d.usd import prim_name, prim_names, write_stage
from twin3d.usd.base import scene_scale, write_base_layer
from twin3d.usd.extrude import extrude_footprints

FRAME = LocalFrame(24.9440, 60.1700, 12.0)


def lonlat(frame: LocalFrame, xy) -> np.ndarray:
    """ENU metres (on the ellipsoid at the origin height) to lon/lat, exactly invertible."""
    xy = np.asarray(xy, float).reshape(-1, 2)
    lon, lat, _ = frame.to_wgs84(xy[:, 0], xy[:, 1], 0.0)
    return np.column_stack([lon, lat])


def poly(frame, shell, holes=()):
    return shapely.Polygon(lonlat(frame, shell), [lonlat(frame, h) for h in holes])


def site(frame, id_, x, y, **kw):
    lon, lat = lonlat(frame, [x, y])[0]
    return SiteRecord(id_, float(lon), float(lat), **kw)


BOX = [(100, 100), (110, 100), (110, 120), (100, 120)]              # 10 x 20 m
COURT_OUT = [(200, 0), (240, 0), (240, 30), (200, 30)]               # 40 x 30 m
COURT_IN = [(210, 10), (230, 10), (230, 20), (210, 20)]              # 20 x 10 m hole
ELL = [(300, 0), (320, 0), (320, 10), (310, 10), (310, 20), (300, 20)]


def small_data(frame=FRAME) -> SourceData:
    return SourceData(
        sites=[site(frame, "S1", 0, 0, sectors=[SectorRecord(0.0), SectorRecord(120.0, tilt_deg=8),
                                                SectorRecord(250.0)]),
               site(frame, "S2", 400, 50, height_m=30.0, sectors=[SectorRecord(90.0)]),
               site(frame, "CO-1", -300, 200, kind="central_office", height_m=10.0),
               site(frame, "a-b", 50, -200), site(frame, "a_b", 60, -200)],
        links=[LinkRecord("F-07", "S1", "S2", 10e9),
               LinkRecord("F_07", "S1", "CO-1", 100e9,
                          route_lonlat=lonlat(frame, [(0, 0), (-100, 150), (-300, 200)])),
               LinkRecord("7up", "a-b", "a_b", 1e9, kind="microwave")],
        buildings=[BuildingRecord("way/1", poly(frame, BOX), 12.0),
                   BuildingRecord("way/2", poly(frame, COURT_OUT, [COURT_IN]), 20.0),
                   BuildingRecord("way/3", poly(frame, ELL), 9.0)],
        streets=[StreetRecord("w1", lonlat(frame, [(-50, -50), (200, -50), (200, 300)]), "primary"),
                 StreetRecord("w2", lonlat(frame, [(0, 300), (300, 300)]), "residential")])


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    twin = build_twin(small_data(), FRAME, name="small-city")
    root = write_stage(twin, tmp_path_factory.mktemp("small"))
    return twin, root, Usd.Stage.Open(str(root))


def mesh_arrays(prim):
    m = UsdGeom.Mesh(prim)
    pts = np.array(m.GetPointsAttr().Get(), float)
    counts = np.array(m.GetFaceVertexCountsAttr().Get())
    idx = np.array(m.GetFaceVertexIndicesAttr().Get())
    faces = np.split(idx, np.cumsum(counts)[:-1])
    return pts, counts, faces, np.array(m.GetNormalsAttr().Get(), float)


def face_area_normal(pts, face):
    """Vector area of a planar polygon (Newell), m^2 along its right-handed normal."""
    p = pts[face]
    return 0.5 * np.cross(p, np.roll(p, -1, axis=0)).sum(axis=0)


def building_faces(stage, bid):
    """Faces (vertex index arrays) of one building id across the chunk meshes."""
    for prim in stage.GetPrimAtPath("/World/Buildings").GetChildren():
        ids = list(prim.GetAttribute("twin:building_ids").Get())
        if bid in ids:
            pts, counts, faces, normals = mesh_arrays(prim)
            bi = np.array(UsdGeom.PrimvarsAPI(prim).GetPrimvar("twin:building_index").Get())
            sel = np.flatnonzero(bi == ids.index(bid))
            return pts, [faces[i] for i in sel], normals[sel]
    raise AssertionError(f"building {bid} not found")


# --- stage metadata -------------------------------------------------------------------

def test_root_layer_metadata_and_sublayer(small):
    twin, root, stage = small
    assert root.name == "twin.usda" and (root.parent / "layers" / "base.usdc").is_file()
    assert UsdGeom.GetStageUpAxis(stage) == "Z"
    assert UsdGeom.GetStageMetersPerUnit(stage) == 1.0
    assert stage.GetDefaultPrim().GetPath() == Sdf.Path("/World")
    # /World comes in by reference (a stronger variant can then override it)
    layer = stage.GetRootLayer()
    assert list(layer.subLayerPaths) == []
    refs = layer.GetPrimAtPath("/World").referenceList.prependedItems
    assert [(r.assetPath, str(r.primPath)) for r in refs] == [("./layers/base.usdc", "/World")]
    assert stage.GetPrimAtPath("/World").GetTypeName() == "Xform"
    # The root is small and readable: no geometry and no attribute of /World in it.
    text = root.read_text()
    assert text.startswith("#usda") and len(text) < 2000
    assert not layer.GetPrimAtPath("/World").properties
    assert {p.name for p in layer.rootPrims} == {"World", "CesiumGeoreference"}


def test_base_layer_opens_alone_with_same_metadata(small):
    _, root, _ = small
    base = Usd.Stage.Open(str(root.parent / "layers" / "base.usdc"))
    assert UsdGeom.GetStageUpAxis(base) == "Z"
    assert UsdGeom.GetStageMetersPerUnit(base) == 1.0
    assert base.GetDefaultPrim().GetName() == "World"
    assert base.GetRootLayer().customLayerData["twin3d"]["scene"] == "small-city"


def test_custom_layer_data_origin(small):
    _, _, stage = small
    meta = stage.GetRootLayer().customLayerData["twin3d"]
    assert meta["origin_lon_deg"] == pytest.approx(24.9440, abs=1e-12)
    assert meta["origin_lat_deg"] == pytest.approx(60.1700, abs=1e-12)
    assert meta["origin_h_m"] == pytest.approx(12.0)
    assert meta["scene"] == "small-city"
    assert meta["crs"] == "ENU topocentric on WGS84"


# --- hierarchy and names ----------------------------------------------------------------

def test_kinds(small):
    _, _, stage = small
    kind = lambda p: Usd.ModelAPI(stage.GetPrimAtPath(p)).GetKind()  # noqa: E731
    assert kind("/World") == "assembly"
    for group in ("Terrain", "Buildings", "Network", "Streets", "Network/Sites", "Network/Links"):
        assert kind(f"/World/{group}") == "group", group
    assert stage.GetPrimAtPath("/World/Looks").GetTypeName() == "Scope"
    assert kind("/World/Looks") == ""
    for name in ("S1", "S2", "CO_1"):
        assert kind(f"/World/Network/Sites/{name}") == "component"


def test_site_and_link_paths_keep_ids(small):
    twin, _, stage = small
    s1 = stage.GetPrimAtPath("/World/Network/Sites/S1")
    assert s1.IsValid() and s1.GetAttribute("twin:id").Get() == "S1"
    co = stage.GetPrimAtPath("/World/Network/Sites/CO_1")
    assert co.GetAttribute("twin:id").Get() == "CO-1"
    assert co.GetChild("Building").GetTypeName() == "Cube"        # an office, no mast
    link_ids = {p.GetAttribute("twin:id").Get(): p.GetPath().pathString
                for p in stage.GetPrimAtPath("/World/Network/Links").GetChildren()}
    assert link_ids["F_07"] == "/World/Network/Links/F_07"       # already valid: kept
    assert link_ids["F-07"] != link_ids["F_07"]                  # the collision is resolved
    assert link_ids["7up"] == "/World/Network/Links/_7up"
    assert len(link_ids) == len(twin.links)


def test_site_attributes(small):
    twin, _, stage = small
    prim = stage.GetPrimAtPath("/World/Network/Sites/S2")
    s = twin.sites["S2"]
    assert prim.GetAttribute("twin:height_m").Get() == 30.0
    assert prim.GetAttribute("twin:kind").Get() == "macro"
    assert prim.GetAttribute("twin:state").Get() == "up"
    assert prim.GetAttribute("twin:lon_deg").Get() == s.lon
    assert np.allclose(UsdGeom.Xformable(prim).ComputeLocalToWorldTransform(0).ExtractTranslation(),
                       s.xyz_m, atol=1e-6)
    # an instance of the unit tower, scaled to the site's height
    tower = prim.GetChild("Tower")
    assert tower.IsInstance()
    assert tower.GetAttribute("xformOp:scale").Get()[2] == pytest.approx(30.0)
    geom = UsdGeom.Cylinder(tower.GetChild("Geom"))
    assert geom.GetHeightAttr().Get() == 1.0 and geom.GetAxisAttr().Get() == "Z"
    # the unit tower stands on z = 0 and reaches z = 1 before the instance's scale
    box = UsdGeom.BBoxCache(Usd.TimeCode.Default(), ["default"]).ComputeUntransformedBound(tower)
    rng = box.ComputeAlignedRange()
    assert rng.GetMin()[2] == pytest.approx(0.0) and rng.GetMax()[2] == pytest.approx(1.0)


def test_prim_name_rules():
    assert prim_name("F-07") == "F_07"
    assert prim_name("3abc") == "_3abc"
    assert prim_name("") == "_"
    assert prim_name("way/123") == "way_123"
    assert Sdf.Path.IsValidIdentifier(prim_name("Töölö 2/ä"))
    assert prim_name("F-07") == prim_name("F-07")


def test_prim_names_collision_free_and_order_independent():
    ids = ["a-b", "a_b", "a b", "x"]
    names = prim_names(ids)
    assert len(set(names.values())) == 4
    assert names["a_b"] == "a_b" and names["x"] == "x"
    assert prim_names(reversed(ids)) == names
    assert all(Sdf.Path.IsValidIdentifier(n) for n in names.values())
    # Without an exact owner the smallest id keeps the plain name.
    assert prim_names(["q-1", "q 1"])["q 1"] == "q_1"


# --- links and streets -------------------------------------------------------------------

def test_link_points_widths_extent(small):
    twin, _, stage = small
    scale = scene_scale(twin)
    for link in twin.links.values():
        prim = next(p for p in stage.GetPrimAtPath("/World/Network/Links").GetChildren()
                    if p.GetAttribute("twin:id").Get() == link.id)
        curves = UsdGeom.BasisCurves(prim)
        pts = np.array(curves.GetPointsAttr().Get(), float)
        lift = prim.GetAttribute("twin:lift_m").Get()
        assert lift == pytest.approx(scale.link_lift_m) and lift > 0
        assert np.allclose(pts, link.route_xyz_m + [0, 0, lift], atol=1e-3)
        assert list(curves.GetCurveVertexCountsAttr().Get()) == [len(link.route_xyz_m)]
        assert curves.GetTypeAttr().Get() == "linear"
        widths = curves.GetWidthsAttr().Get()
        assert len(widths) == 1 and curves.GetWidthsInterpolation() == "constant"
        ext = np.array(curves.GetExtentAttr().Get())
        half = widths[0] / 2
        assert np.allclose(ext[0], pts.min(axis=0) - half, atol=1e-3)
        assert np.allclose(ext[1], pts.max(axis=0) + half, atol=1e-3)


def test_link_attributes(small):
    _, _, stage = small
    prim = stage.GetPrimAtPath("/World/Network/Links/F_07")
    assert prim.GetAttribute("twin:capacity_bps").Get() == 100e9
    assert prim.GetAttribute("twin:capacity_bps").GetTypeName() == Sdf.ValueTypeNames.Double
    assert (prim.GetAttribute("twin:a").Get(), prim.GetAttribute("twin:b").Get()) == ("S1", "CO-1")
    assert prim.GetAttribute("twin:attenuation_db_per_km").Get() == 0.25
    assert prim.GetAttribute("twin:state").Get() == "up"
    mw = stage.GetPrimAtPath("/World/Network/Links/_7up")
    assert mw.GetAttribute("twin:capacity_bps").Get() == 1e9
    assert mw.GetAttribute("twin:kind").Get() == "microwave"
    # Route 0,0 -> -100,150 -> -300,200: 180.28 m + 206.16 m on the ground.
    assert prim.GetAttribute("twin:length_m").Get() == pytest.approx(386.44, abs=0.05)


def test_streets_merged(small):
    twin, _, stage = small
    curves = UsdGeom.BasisCurves(stage.GetPrimAtPath("/World/Streets/Streets"))
    assert list(curves.GetCurveVertexCountsAttr().Get()) == [3, 2]
    assert list(curves.GetWidthsAttr().Get()) == [10.0, 5.0]
    assert curves.GetWidthsInterpolation() == "uniform"
    assert len(stage.GetPrimAtPath("/World/Streets").GetChildren()) == 1
    # up-pointing normals: oriented curves, i.e. flat ribbons of those widths
    normals = np.array(curves.GetNormalsAttr().Get(), float)
    assert curves.GetNormalsInterpolation() == "vertex"
    assert normals.shape == (5, 3) and np.all(normals == [0.0, 0.0, 1.0])


# --- buildings -----------------------------------------------------------------------------

def test_box_building_faces_and_areas(small):
    _, _, stage = small
    pts, faces, normals = building_faces(stage, "way/1")
    counts = sorted(len(f) for f in faces)
    assert counts == [3, 3, 3, 3, 4, 4, 4, 4]          # 4 walls, 2 roof + 2 floor triangles
    areas = np.array([face_area_normal(pts, f) for f in faces])
    roof = areas[:, 2] > 1e-6
    floor = areas[:, 2] < -1e-6
    walls = ~roof & ~floor
    assert areas[roof, 2].sum() == pytest.approx(200.0, abs=0.01)
    assert -areas[floor, 2].sum() == pytest.approx(200.0, abs=0.01)
    assert np.linalg.norm(areas[walls], axis=1).sum() == pytest.approx(60 * 12.0, abs=0.05)
    z = pts[np.concatenate(faces)][:, 2]
    assert z.max() - z.min() == pytest.approx(12.0, abs=1e-4)


def test_courtyard_stays_open(small):
    _, _, stage = small
    pts, faces, _ = building_faces(stage, "way/2")
    areas = np.array([face_area_normal(pts, f) for f in faces])
    roof = [f for f, a in zip(faces, areas) if a[2] > 1e-6]
    assert areas[areas[:, 2] > 1e-6, 2].sum() == pytest.approx(40 * 30 - 20 * 10, abs=0.05)
    # The courtyard's centre (220, 15) is under no roof triangle.
    tris = shapely.polygons(np.array([pts[f][:, :2] for f in roof]))
    assert not shapely.contains_xy(tris, 220.0, 15.0).any()
    assert shapely.contains_xy(tris, 205.0, 15.0).any()
    # 4 outer + 4 courtyard walls; courtyard wall area 60 m x 20 m.
    walls = areas[np.abs(areas[:, 2]) < 1e-6]
    assert len(walls) == 8
    assert np.linalg.norm(walls, axis=1).sum() == pytest.approx((140 + 60) * 20.0, abs=0.1)


@pytest.mark.parametrize("bid,shape", [("way/1", BOX), ("way/2", COURT_OUT), ("way/3", ELL)])
def test_building_is_closed_with_outward_normals(small, bid, shape):
    _, _, stage = small
    pts, faces, normals = building_faces(stage, bid)
    # Closed and consistently wound: every directed edge appears once, its reverse once.
    edges = [(int(a), int(b)) for f in faces for a, b in zip(f, np.roll(f, -1))]
    assert len(set(edges)) == len(edges)
    assert set(edges) == {(b, a) for a, b in edges}
    footprint = {"way/2": shapely.Polygon(COURT_OUT, [COURT_IN])}.get(bid, shapely.Polygon(shape))
    for f, n in zip(faces, normals):
        a = face_area_normal(pts, f)
        assert np.allclose(a / np.linalg.norm(a), n, atol=1e-4)     # normal matches winding
        c = pts[f].mean(axis=0)
        if abs(n[2]) < 1e-6:   # a wall: a step along its normal leaves the footprint
            assert not footprint.contains(shapely.Point(c[:2] + 0.05 * n[:2]))
            assert footprint.buffer(1e-6).contains(shapely.Point(c[:2] - 0.05 * n[:2]))


def test_building_mesh_attributes(small):
    twin, _, stage = small
    chunks = stage.GetPrimAtPath("/World/Buildings").GetChildren()
    assert [p.GetTypeName() for p in chunks] == ["Mesh"]
    mesh = UsdGeom.Mesh(chunks[0])
    assert mesh.GetSubdivisionSchemeAttr().Get() == "none"
    assert mesh.GetNormalsInterpolation() == "uniform"
    assert mesh.GetDoubleSidedAttr().Get() is False
    assert mesh.GetOrientationAttr().Get() == "rightHanded"
    assert list(chunks[0].GetAttribute("twin:building_ids").Get()) == ["way/1", "way/2", "way/3"]
    assert list(chunks[0].GetAttribute("twin:heights_m").Get()) == [12.0, 20.0, 9.0]
    color = UsdGeom.PrimvarsAPI(chunks[0]).GetPrimvar("displayColor")
    assert color.GetInterpolation() == "uniform"
    assert len(color.ComputeFlattened()) == len(mesh.GetFaceVertexCountsAttr().Get())
    ext = np.array(mesh.GetExtentAttr().Get())
    want = UsdGeom.PointBased.ComputeExtent(mesh.GetPointsAttr().Get())
    assert np.array_equal(ext, np.array(want))


def test_buildings_split_into_chunks():
    twin = build_twin(small_data(), FRAME)
    layer = write_base_layer(twin, Sdf.Layer.CreateAnonymous(".usdc"), max_faces=20)
    stage = Usd.Stage.Open(layer)
    chunks = stage.GetPrimAtPath("/World/Buildings").GetChildren()
    assert len(chunks) > 1
    ids = [i for c in chunks for i in c.GetAttribute("twin:building_ids").Get()]
    assert ids == ["way/1", "way/2", "way/3"]
    total = sum(len(UsdGeom.Mesh(c).GetFaceVertexCountsAttr().Get()) for c in chunks)
    b = twin.buildings
    assert total == len(extrude_footprints(b.footprints, b.base_z_m, b.heights_m).face_building)


def test_hole_touching_its_shell_gives_a_closed_mesh():
    touching = shapely.Polygon([(0, 0), (10, 0), (10, 10), (0, 10)], [[(0, 0), (4, 2), (2, 4)]])
    assert touching.is_valid
    m = extrude_footprints([touching], [0.0], [5.0])
    fvi = m.face_vertex_indices
    edges = [(int(a), int(b)) for f in fvi for a, b in zip(f[f >= 0], np.roll(f[f >= 0], -1))]
    assert set(edges) == {(b, a) for a, b in edges}
    assert len(m.points) == 2 * (4 + 3 - 1)         # the shared corner is one vertex
    roof = m.face_part == 1
    p = m.points
    tri = fvi[roof][:, :3]
    area = 0.5 * np.cross(p[tri[:, 1]] - p[tri[:, 0]], p[tri[:, 2]] - p[tri[:, 0]])[:, 2]
    assert area.sum() == pytest.approx(100.0 - 6.0)


def test_faceless_building_keeps_its_index(tmp_path):
    data = small_data()
    data.buildings.append(BuildingRecord("way/flat", poly(FRAME, [(0, 0), (5, 0), (5, 5)]), 0.0))
    stage = Usd.Stage.Open(str(write_stage(build_twin(data, FRAME), tmp_path)))
    chunk = stage.GetPrimAtPath("/World/Buildings/Chunk_0000")
    assert list(chunk.GetAttribute("twin:building_ids").Get())[-1] == "way/flat"
    index = UsdGeom.PrimvarsAPI(chunk).GetPrimvar("twin:building_index").Get()
    assert 3 not in set(index)                       # but it has no faces


def test_extrusion_skips_zero_height_and_keeps_multipolygon_parts():
    mp = shapely.MultiPolygon([shapely.box(0, 0, 1, 1), shapely.box(5, 5, 7, 6)])
    m = extrude_footprints([shapely.box(0, 0, 1, 1), mp], [0.0, 0.0], [0.0, 3.0])
    assert set(m.face_building.tolist()) == {1}
    assert int((m.face_part == 0).sum()) == 8            # 4 walls per part


# --- sectors and terrain -----------------------------------------------------------------------

def test_sector_panels_face_their_azimuth(small):
    twin, _, stage = small
    site_prim = stage.GetPrimAtPath("/World/Network/Sites/S1")
    for n, cell in enumerate(twin.sites["S1"].cells, start=1):
        prim = site_prim.GetChild(f"Sector_{n}")
        assert prim.IsInstance() and prim.GetChild("Geom").GetTypeName() == "Cube"
        assert prim.GetAttribute("twin:azimuth_deg").Get() == cell.azimuth_deg
        m = UsdGeom.Xformable(prim).ComputeLocalToWorldTransform(Usd.TimeCode.Default())
        out = np.array(m.TransformDir((1.0, 0.0, 0.0)))
        out /= np.linalg.norm(out)
        az, tilt = np.radians(cell.azimuth_deg), np.radians(cell.tilt_deg)
        assert np.allclose(out[:2] / np.linalg.norm(out[:2]), [np.sin(az), np.cos(az)], atol=1e-6)
        assert out[2] == pytest.approx(-np.sin(tilt), abs=1e-6)       # downtilt
        centre = np.array(m.ExtractTranslation())
        assert centre[2] == pytest.approx(twin.sites["S1"].antenna_xyz_m[2], abs=1e-6)
        assert np.dot(centre[:2], [np.sin(az), np.cos(az)]) > 0      # in front of the mast


def test_terrain_covers_bounds(small):
    twin, _, stage = small
    ground = stage.GetPrimAtPath("/World/Terrain/Ground")
    pts, counts, _, normals = mesh_arrays(ground)
    xmin, ymin, xmax, ymax = twin.bounds_xy_m()
    assert pts[:, 0].min() < xmin and pts[:, 0].max() > xmax
    assert pts[:, 1].min() < ymin and pts[:, 1].max() > ymax
    assert len(counts) == 32 * 32 and (normals[:, 2] > 0.99).all()


def test_continental_terrain_follows_the_ellipsoid(tmp_path):
    frame = LocalFrame(10.0, 50.0, 0.0)
    data = SourceData(sites=[SiteRecord("HEL", 24.94, 60.17, kind="pop"),
                             SiteRecord("MAD", -3.70, 40.42, kind="pop")],
                      links=[LinkRecord("L", "HEL", "MAD", 400e9)])
    twin = build_twin(data, frame, name="backbone")
    stage = Usd.Stage.Open(str(write_stage(twin, tmp_path)))
    pts, *_ = mesh_arrays(stage.GetPrimAtPath("/World/Terrain/Ground"))
    # Drop below the tangent plane ~ d^2 / 2R (R ~ 6371 km) at the grid corners, far away.
    d = np.hypot(pts[:, 0], pts[:, 1])
    far = d > 1.0e6
    assert far.any()
    assert np.allclose(-pts[far, 2], d[far] ** 2 / (2 * 6.371e6), rtol=0.03)
    # Drawn sizes grow with the scene: a 2 m fibre would vanish at 2,500 km.
    widths = UsdGeom.BasisCurves(stage.GetPrimAtPath("/World/Network/Links/L")).GetWidthsAttr().Get()
    assert widths[0] > 500.0


# --- materials and rewrite ------------------------------------------------------------------------

def test_materials_bound_and_read_display_color(small):
    _, _, stage = small
    want = {"/World/Buildings/Chunk_0000": "Buildings", "/World/Terrain/Ground": "Terrain",
            "/World/Network/Sites/S1/Tower": "Tower", "/World/Network/Sites/S1/Sector_1": "Sector",
            "/World/Network/Links/F_07": "Fiber", "/World/Streets/Streets": "Street"}
    for path, name in want.items():
        mat, _ = UsdShade.MaterialBindingAPI(stage.GetPrimAtPath(path)).ComputeBoundMaterial()
        assert mat.GetPath() == Sdf.Path(f"/World/Looks/{name}"), path
        surface = mat.ComputeSurfaceSource()[0]
        assert surface.GetIdAttr().Get() == "UsdPreviewSurface"
        src = surface.GetInput("diffuseColor").GetConnectedSources()[0][0].source
        reader = UsdShade.Shader(src.GetPrim())
        assert reader.GetIdAttr().Get() == "UsdPrimvarReader_float3"
        assert reader.GetInput("varname").Get() == "displayColor"


def test_rewrite_same_folder_replaces_content(tmp_path):
    data = small_data()
    write_stage(build_twin(data, FRAME), tmp_path)
    data.links = data.links[:1]
    stage = Usd.Stage.Open(str(write_stage(build_twin(data, FRAME), tmp_path)))
    assert len(stage.GetPrimAtPath("/World/Network/Links").GetChildren()) == 1


def test_empty_twin_writes(tmp_path):
    twin = build_twin(SourceData(), FRAME, name="empty")
    stage = Usd.Stage.Open(str(write_stage(twin, tmp_path)))
    assert stage.GetPrimAtPath("/World/Terrain/Ground").IsValid()
    assert stage.GetPrimAtPath("/World/Buildings").GetChildren() == []


def test_out_dir_that_is_a_file_is_an_input_error(tmp_path):
    f = tmp_path / "out"
    f.write_text("x")
    with pytest.raises(InputError, match="output folder is a file") as e:
        write_stage(build_twin(SourceData(), FRAME), f)
    assert e.value.file == str(f)
