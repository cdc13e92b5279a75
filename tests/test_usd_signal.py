"""The signal layer: a radio map as three coloured grid meshes, and its colour maps."""

from __future__ import annotations

import numpy as np
import pytest
from pxr import Sdf, Usd, UsdGeom, UsdShade

from twin3d.geo.frame import LocalFrame
from twin3d.geo.records import SectorRecord, SiteRecord, SourceData
from twin3d.model import build_twin
from twin3d.physics.coverage import RadioMap, radio_map
from twin3d.physics.grid import Grid
from twin3d.physics.los import ground_z_m
from twin3d.usd import validate_stage, write_stage
from twin3d.usd.colors import (LINK_DOWN, NO_DATA, RSRP_MAP, SINR_MAP, UTILIZATION_MAP, srgb_to_linear,
                               best_server_colors, category_colors)
from twin3d.usd.signal import MESHES, grid_mesh, write_signal_layer
from twin3d.usd.layers import BASE_LAYER, SIGNAL_LAYER
from twin3d.usd.stage import write_root_layer

FRAME = LocalFrame(24.9440, 60.1700, 12.0)


def _site(id_, x, y, **kw):
    lon, lat, _ = FRAME.to_wgs84(x, y, 0.0)
    return SiteRecord(id_, float(lon), float(lat), **kw)


def small_twin():
    return build_twin(SourceData(sites=[
        _site("S1", 0.0, 0.0, height_m=25.0, sectors=[SectorRecord(0.0), SectorRecord(120.0),
                                                       SectorRecord(240.0)]),
        _site("S2", 300.0, 100.0, height_m=30.0, sectors=[SectorRecord(270.0)]),
        _site("CO-1", -200.0, 150.0, kind="central_office", height_m=10.0)]),
        FRAME, name="signal-small")


def hand_map(rsrp, sinr, best, cell_ids=("A", "B")) -> RadioMap:
    """A RadioMap with chosen values on a grid of 10 m cells from (100, 200)."""
    rsrp = np.asarray(rsrp, float)
    ny, nx = rsrp.shape
    z = np.zeros((ny, nx))
    return RadioMap(grid=Grid(100.0, 200.0, 10.0, nx, ny), cell_ids=list(cell_ids),
                    cell_active=np.ones(len(cell_ids), bool),
                    rx_dbm=np.zeros((len(cell_ids), ny, nx), np.float32), rsrp_dbm=rsrp,
                    sinr_db=np.asarray(sinr, float), best_server=np.asarray(best),
                    los=z.astype(bool), indoor=z.astype(bool), spectral_efficiency_bps_hz=z,
                    throughput_bps=z, building_height_m=z)


def colors_of(prim) -> np.ndarray:
    """Per-face colours, indices resolved."""
    return np.array(UsdGeom.PrimvarsAPI(prim).GetPrimvar("displayColor").ComputeFlattened(), float)


def primvar(prim, name) -> np.ndarray:
    return np.array(UsdGeom.PrimvarsAPI(prim).GetPrimvar(name).Get())


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    twin = small_twin()
    rm = radio_map(twin, grid_m=20.0)
    out = tmp_path_factory.mktemp("signal")
    write_stage(twin, out)
    path = write_signal_layer(twin, rm, out / SIGNAL_LAYER)
    root = write_root_layer(out / "twin.usda", [SIGNAL_LAYER, BASE_LAYER], twin)
    return twin, rm, path, root, Usd.Stage.Open(str(path))


@pytest.fixture(scope="module")
def hand(tmp_path_factory):
    rsrp = [[-120.0, -60.0, -np.inf], [-90.0, -130.0, -40.0]]
    sinr = [[-5.0, 25.0, -np.inf], [10.0, -20.0, 3.0]]
    best = [[0, 1, -1], [1, 0, 1]]
    rm = hand_map(rsrp, sinr, best)
    path = write_signal_layer(small_twin(), rm, tmp_path_factory.mktemp("hand") / "signal.usdc")
    return rm, Usd.Stage.Open(str(path))


# --- layout -----------------------------------------------------------------------------

def test_layout_kinds_and_stage_metadata(small):
    twin, _, path, _, stage = small
    assert path.name == "signal.usdc" and path.is_file()
    assert Sdf.FileFormat.FindByExtension("usdc") == Sdf.Layer.FindOrOpen(str(path)).GetFileFormat()
    assert stage.GetDefaultPrim().GetPath() == Sdf.Path("/World")
    assert UsdGeom.GetStageUpAxis(stage) == "Z" and UsdGeom.GetStageMetersPerUnit(stage) == 1.0
    assert stage.GetRootLayer().customLayerData["twin3d"]["scene"] == "signal-small"
    assert Usd.ModelAPI(stage.GetPrimAtPath("/World")).GetKind() == "assembly"
    group = stage.GetPrimAtPath("/World/Signal")
    assert group.GetTypeName() == "Xform" and Usd.ModelAPI(group).GetKind() == "group"
    assert [c.GetName() for c in group.GetChildren()] == list(MESHES)
    assert all(c.GetTypeName() == "Mesh" for c in group.GetChildren())


def test_material_reads_display_color(small):
    *_, stage = small
    mesh = stage.GetPrimAtPath("/World/Signal/RSRP")
    mat, _ = UsdShade.MaterialBindingAPI(mesh).ComputeBoundMaterial()
    assert mat.GetPath() == Sdf.Path("/World/Looks/Signal")
    reader = stage.GetPrimAtPath("/World/Looks/Signal/DisplayColor")
    assert reader.GetAttribute("inputs:varname").Get() == "displayColor"


def test_one_quad_per_grid_cell(small):
    _, rm, *_, stage = small
    nx, ny = rm.grid.nx, rm.grid.ny
    for name in MESHES:
        m = UsdGeom.Mesh(stage.GetPrimAtPath(f"/World/Signal/{name}"))
        counts = np.array(m.GetFaceVertexCountsAttr().Get())
        assert len(counts) == nx * ny and set(counts) == {4}
        assert len(m.GetPointsAttr().Get()) == (nx + 1) * (ny + 1)      # shared corners
        normals = np.array(m.GetNormalsAttr().Get())
        assert m.GetNormalsInterpolation() == "uniform" and len(normals) == nx * ny
        assert normals[:, 2].min() > 0.9999                                # up
        assert m.GetSubdivisionSchemeAttr().Get() == "none"
        pts = np.array(m.GetPointsAttr().Get())
        np.testing.assert_array_equal(np.array(m.GetExtentAttr().Get()),
                                      [pts.min(axis=0), pts.max(axis=0)])


def test_face_f_is_cell_j_i_and_floats_over_the_ellipsoid(small):
    twin, rm, *_, stage = small
    m = UsdGeom.Mesh(stage.GetPrimAtPath("/World/Signal/RSRP"))
    pts = np.array(m.GetPointsAttr().Get(), float)
    quads = np.array(m.GetFaceVertexIndicesAttr().Get()).reshape(-1, 4)
    xs, ys = rm.grid.centers()
    for j, i in [(0, 0), (3, 7), (rm.grid.ny - 1, rm.grid.nx - 1)]:
        centre = pts[quads[j * rm.grid.nx + i]].mean(axis=0)
        assert centre[:2] == pytest.approx([xs[i], ys[j]], abs=1e-3)
    # corners 0.5 m above the ground: the ellipsoid at the origin height, independently
    # from the frame (WGS84 and back at h0)
    lon, lat, _ = twin.frame.to_wgs84(pts[:, 0], pts[:, 1], 0.0)
    ground = np.column_stack(twin.frame.to_enu(lon, lat))[:, 2]
    np.testing.assert_allclose(pts[:, 2] - 0.5, ground, atol=0.01)
    np.testing.assert_allclose(pts[:, 2], ground_z_m(pts[:, 0], pts[:, 1]) + 0.5, atol=1e-4)


def test_raw_values_are_the_radio_map(small):
    _, rm, *_, stage = small
    rsrp = primvar(stage.GetPrimAtPath("/World/Signal/RSRP"), "twin:rsrp_dbm")
    sinr = primvar(stage.GetPrimAtPath("/World/Signal/SINR"), "twin:sinr_db")
    best_prim = stage.GetPrimAtPath("/World/Signal/BestServer")
    best = primvar(best_prim, "twin:best_server")
    np.testing.assert_array_equal(rsrp, rm.rsrp_dbm.astype(np.float32).ravel())
    np.testing.assert_array_equal(sinr, rm.sinr_db.astype(np.float32).ravel())
    np.testing.assert_array_equal(best, rm.best_server.ravel())
    assert list(best_prim.GetAttribute("twin:cell_ids").Get()) == rm.cell_ids
    # the strongest cell of the map, at face j * nx + i
    j, i = np.unravel_index(np.argmax(rm.rsrp_dbm), rm.grid.shape)
    f = j * rm.grid.nx + i
    assert rsrp[f] == pytest.approx(rm.rsrp_dbm.max(), abs=1e-4)
    assert best[f] == rm.best_server[j, i] and sinr[f] == pytest.approx(rm.sinr_db[j, i], abs=1e-4)
    for name in ("RSRP", "SINR"):
        pv = UsdGeom.PrimvarsAPI(stage.GetPrimAtPath(f"/World/Signal/{name}"))
        assert pv.GetPrimvar("displayColor").GetInterpolation() == "uniform"
        assert len(colors_of(pv.GetPrim())) == rm.grid.nx * rm.grid.ny


def test_colours_at_known_values(hand):
    rm, stage = hand
    # displayColor is linear: the maps' sRGB stops, converted
    R, S = srgb_to_linear(RSRP_MAP.colors), srgb_to_linear(SINR_MAP.colors)
    nd = srgb_to_linear(NO_DATA)
    rsrp = colors_of(stage.GetPrimAtPath("/World/Signal/RSRP"))
    # faces: (-120, -60, -inf, -90, -130, -40) dBm
    np.testing.assert_allclose(rsrp[0], R[0], atol=1e-6)        # the map's low end
    np.testing.assert_allclose(rsrp[1], R[-1], atol=1e-6)       # its high end
    np.testing.assert_allclose(rsrp[2], nd, atol=1e-6)          # no server
    np.testing.assert_allclose(rsrp[3], R[4], atol=1e-6)        # the middle stop
    np.testing.assert_allclose(rsrp[4], R[0], atol=1e-6)        # clamped below
    np.testing.assert_allclose(rsrp[5], R[-1], atol=1e-6)       # clamped above
    sinr = colors_of(stage.GetPrimAtPath("/World/Signal/SINR"))
    np.testing.assert_allclose(sinr[[0, 1, 4]], S[[0, -1, 0]], atol=1e-6)
    np.testing.assert_allclose(sinr[2], nd, atol=1e-6)
    np.testing.assert_allclose(sinr[3], S[4], atol=1e-6)        # 10 dB: the middle
    # 3 dB: 8/30 of the way, between stops 2 and 3 (stops every 3.75 dB), in sRGB
    c = SINR_MAP.colors
    np.testing.assert_allclose(sinr[5], srgb_to_linear(c[2] + (3.0 - 2.5) / 3.75 * (c[3] - c[2])),
                               atol=1e-6)
    best = colors_of(stage.GetPrimAtPath("/World/Signal/BestServer"))
    pal = srgb_to_linear(category_colors(2))
    np.testing.assert_allclose(best, [pal[0], pal[1], nd, pal[1], pal[0], pal[1]], atol=1e-6)
    np.testing.assert_array_equal(primvar(stage.GetPrimAtPath("/World/Signal/RSRP"),
                                          "twin:rsrp_dbm"),
                                  np.array([-120, -60, -np.inf, -90, -130, -40], np.float32))


def test_only_rsrp_visible_and_colormaps_recorded(hand):
    _, stage = hand
    vis = {n: UsdGeom.Imageable(stage.GetPrimAtPath(f"/World/Signal/{n}")).ComputeVisibility()
           for n in MESHES}
    assert vis == {"RSRP": "inherited", "SINR": "invisible", "BestServer": "invisible"}
    for name, cmap, units in (("RSRP", RSRP_MAP, "dBm"), ("SINR", SINR_MAP, "dB")):
        prim = stage.GetPrimAtPath(f"/World/Signal/{name}")
        assert prim.GetAttribute("twin:colormap_min").Get() == cmap.vmin
        assert prim.GetAttribute("twin:colormap_max").Get() == cmap.vmax
        assert prim.GetAttribute("twin:units").Get() == units
    assert (RSRP_MAP.vmin, RSRP_MAP.vmax, SINR_MAP.vmin, SINR_MAP.vmax) == (-120, -60, -5, 25)
    best = stage.GetPrimAtPath("/World/Signal/BestServer")
    assert best.GetAttribute("twin:colormap").Get() == "categorical"


def test_grid_description_on_the_group(hand):
    rm, stage = hand
    g = stage.GetPrimAtPath("/World/Signal")
    assert [g.GetAttribute(f"twin:{a}").Get() for a in
            ("grid_x0_m", "grid_y0_m", "grid_step_m", "grid_nx", "grid_ny", "lift_m")] \
        == [100.0, 200.0, 10.0, 3, 2, 0.5]


def test_grid_mesh_winding():
    pts, quads = grid_mesh(Grid(0.0, 0.0, 5.0, 2, 1), lift_m=0.0)
    assert quads.tolist() == [[0, 1, 4, 3], [1, 2, 5, 4]]
    p = pts[quads[0]]
    area = 0.5 * np.cross(p, np.roll(p, -1, axis=0)).sum(axis=0)   # Newell: up, 25 m^2
    assert area[2] == pytest.approx(25.0, rel=1e-6)


# --- validation --------------------------------------------------------------------------

def test_twin_root_with_signal_validates(small):
    *_, root, _ = small
    report = validate_stage(root)
    assert report.errors == [], "\n".join(map(str, report.errors))
    stage = Usd.Stage.Open(str(root))
    assert stage.GetPrimAtPath("/World/Signal/RSRP").IsValid()
    assert stage.GetPrimAtPath("/World/Network/Sites/S1").IsValid()


def test_signal_layer_validates_alone(small):
    _, _, path, *_ = small
    report = validate_stage(path, nvidia=False)
    assert report.errors == [], "\n".join(map(str, report.errors))


# --- colour maps -------------------------------------------------------------------------

def test_colormaps():
    # utilization in percent of capacity, as the CLI and the legend show it
    np.testing.assert_allclose(UTILIZATION_MAP.display([0.0, 70.0, 100.0, 300.0]),
                               [[0.10, 0.70, 0.20], [0.95, 0.85, 0.10], [0.85, 0.10, 0.10],
                                [0.85, 0.10, 0.10]], atol=1e-6)
    np.testing.assert_allclose(UTILIZATION_MAP.display([35.0]), [[0.525, 0.775, 0.15]], atol=1e-6)
    np.testing.assert_allclose(UTILIZATION_MAP([35.0]), srgb_to_linear([[0.525, 0.775, 0.15]]),
                               atol=1e-6)                               # displayColor is linear
    np.testing.assert_allclose(UTILIZATION_MAP.display([np.nan]), [NO_DATA])
    np.testing.assert_allclose(RSRP_MAP.display([-np.inf, np.inf, np.nan]), [NO_DATA] * 3)
    np.testing.assert_allclose(RSRP_MAP.display([-112.5]), [RSRP_MAP.colors[1]], atol=1e-6)
    pal = category_colors(30)
    assert len({tuple(np.round(c, 3)) for c in pal}) == 30
    assert np.all(np.abs(pal[1:] - pal[:-1]).max(axis=1) > 0.2)        # neighbours differ
    np.testing.assert_allclose(best_server_colors([-1, 2], 3), srgb_to_linear([NO_DATA, pal[2]]),
                               atol=1e-6)
    assert LINK_DOWN != NO_DATA
