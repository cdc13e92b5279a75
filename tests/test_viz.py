"""twin3d.viz: USD stages -> merged PyVista meshes, colours by time and scenario.

The main fixture is written by hand (tests/data/usd/hand_y_up_cm.usda: Y
up, centimetres, a Mesh with uniform displayColor, a BasisCurves, a
Cylinder and a Cube under a component), so the reader is checked against
geometry whose metres we know, not against what twin3d writes. Ribbons
and instances are checked on small in-memory stages of the same kind.
Stages twin3d builds and exports are in test_viz_stages.py.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import pyvista as pv  # noqa: E402  (a core dependency: never skipped)
from pxr import Sdf, Usd, UsdGeom  # noqa: E402

from twin3d.errors import InputError  # noqa: E402
from twin3d.viz.legend import mesh_legend, utilization_legend  # noqa: E402
from twin3d.viz.parts import RGB, recolor, stage_parts  # noqa: E402
from twin3d.viz.read import open_stage, to_metres_z_up  # noqa: E402
from twin3d.viz.scenarios import find_scenarios, steps_of  # noqa: E402

HAND = Path(__file__).parent / "data" / "usd" / "hand_y_up_cm.usda"


@pytest.fixture
def hand():
    stage = open_stage(HAND)
    return stage, {p.name: p for p in stage_parts(stage, 0)}


def test_hand_stage_groups_into_parts(hand):
    _, parts = hand
    # one part per (group, family); the invisible mesh is not drawn
    assert set(parts) == {"Ground:meshes", "Net:curves", "Net:shapes"}
    assert parts["Ground:meshes"].n_cells == 2
    assert [s.path for s in parts["Ground:meshes"].slots] == ["/Root/Ground/Quads"]


def test_y_up_centimetres_become_z_up_metres(hand):
    _, parts = hand
    ground = parts["Ground:meshes"].mesh
    # XZ plane, z from 0 to -100 cm -> y from 0 to 1 m, z = 0
    np.testing.assert_allclose(ground.bounds, (0.0, 2.0, 0.0, 1.0, 0.0, 0.0), atol=1e-6)
    m = to_metres_z_up(open_stage(HAND))
    np.testing.assert_allclose(np.array([0.0, 0.0, -100.0, 1.0]) @ m, [0.0, 1.0, 0.0, 1.0])


def test_uniform_display_color_per_face(hand):
    _, parts = hand
    rgb = np.asarray(parts["Ground:meshes"].mesh.cell_data[RGB])
    assert rgb.dtype == np.uint8
    assert rgb.tolist() == [[255, 0, 0], [0, 0, 255]]


def test_curves_become_tubes_of_their_width(hand):
    _, parts = hand
    tube = parts["Net:curves"]
    b = tube.mesh.bounds
    # 2 m long at 0.5 m up, 20 cm wide -> radius 0.1 m
    assert b[0] == pytest.approx(0.0, abs=1e-6) and b[1] == pytest.approx(2.0, abs=1e-6)
    assert b[5] - b[4] == pytest.approx(0.2, rel=0.05)
    assert (b[4] + b[5]) / 2 == pytest.approx(0.5, abs=1e-3)
    assert tube.mesh.n_cells >= 8                # real geometry, not a line
    assert np.all(np.asarray(tube.mesh.cell_data[RGB]) == [0, 255, 0])


def test_shapes_sized_and_placed(hand):
    _, parts = hand
    shapes = parts["Net:shapes"]
    by = {s.path.rsplit("/", 1)[1]: s for s in shapes.slots}
    pole = shapes.mesh.extract_cells(by["Pole"].cells)
    box = shapes.mesh.extract_cells(by["Box"].cells)
    # pole: radius 10 cm, 4 m tall along the up axis, standing at (1, 0.5) m
    np.testing.assert_allclose(pole.bounds, (0.9, 1.1, 0.4, 0.6, 0.0, 4.0), atol=1e-3)
    # cube of 20 cm centred 4.1 m up
    np.testing.assert_allclose(box.bounds, (0.9, 1.1, 0.4, 0.6, 4.0, 4.2), atol=1e-6)
    # a pick on either part selects the mast (kind component)
    assert {by["Pole"].element, by["Box"].element} == {"/Root/Net/Mast"}
    # no displayColor and no material: grey
    assert np.all(np.abs(np.asarray(shapes.mesh.cell_data[RGB])[by["Box"].cells].astype(int) - 178) <= 1)


def test_time_samples_recolour_only_by_arrays(hand):
    stage, parts = hand
    shapes = parts["Net:shapes"]
    pole = next(s for s in shapes.slots if s.path.endswith("Pole"))
    assert pole.animated
    points_before = np.asarray(shapes.mesh.points).copy()
    assert np.all(np.asarray(shapes.mesh.cell_data[RGB])[pole.cells] == [255, 255, 0])
    assert recolor(shapes, stage, 1)
    assert np.all(np.asarray(shapes.mesh.cell_data[RGB])[pole.cells] == [255, 0, 255])
    np.testing.assert_array_equal(shapes.mesh.points, points_before)
    assert not recolor(parts["Ground:meshes"], stage, 1)     # nothing animated there
    assert steps_of(stage) == [0, 1]


def _variant_stage(path: Path) -> Path:
    """A combined stage: variant set 'scenario' on /World selecting a quad's colour."""
    stage = Usd.Stage.CreateNew(str(path))
    UsdGeom.SetStageUpAxis(stage, UsdGeom.Tokens.z)
    world = UsdGeom.Xform.Define(stage, "/World").GetPrim()
    stage.SetDefaultPrim(world)
    mesh = UsdGeom.Mesh.Define(stage, "/World/Map/Grid")
    mesh.CreatePointsAttr([(0, 0, 0), (1, 0, 0), (1, 1, 0), (0, 1, 0)])
    mesh.CreateFaceVertexCountsAttr([4])
    mesh.CreateFaceVertexIndicesAttr([0, 1, 2, 3])
    vset = world.GetVariantSets().AddVariantSet("scenario")
    for name, rgb in (("calm", (0, 0, 1)), ("storm", (1, 0, 0))):
        vset.AddVariant(name)
        vset.SetVariantSelection(name)
        with vset.GetVariantEditContext():
            mesh.CreateDisplayColorAttr([rgb])
    vset.SetVariantSelection("calm")
    stage.GetRootLayer().Save()
    return path


def test_variant_set_scenarios(tmp_path):
    path = _variant_stage(tmp_path / "combined.usda")
    scen = find_scenarios(path)
    assert list(scen) == ["calm", "storm"]
    stage = scen["calm"].activate()
    part = stage_parts(stage)[0]
    assert np.asarray(part.mesh.cell_data[RGB]).tolist() == [[0, 0, 255]]
    stage = scen["storm"].activate()
    recolor(part, stage, 0, only_animated=False)
    assert np.asarray(part.mesh.cell_data[RGB]).tolist() == [[255, 0, 0]]
    # the selection lives in the session layer: the file is untouched
    assert Sdf.Layer.FindOrOpen(str(path)).GetPrimAtPath("/World").variantSelections["scenario"] == "calm"


def test_coincident_meshes_are_one_part_with_variants(tmp_path):
    stage = Usd.Stage.CreateInMemory()
    for k, (name, rgb) in enumerate((("A", (1, 0, 0)), ("B", (0, 1, 0)))):
        m = UsdGeom.Mesh.Define(stage, f"/W/Maps/{name}")
        m.CreatePointsAttr([(0, 0, 0), (1, 0, 0), (0, 1, 0)])
        m.CreateFaceVertexCountsAttr([3])
        m.CreateFaceVertexIndicesAttr([0, 1, 2])
        m.CreateDisplayColorAttr([rgb])
        if k:
            m.MakeInvisible()
    parts = stage_parts(stage)
    assert len(parts) == 1 and parts[0].variants == ["A", "B"] and parts[0].active == 0
    part = parts[0]
    assert np.asarray(part.mesh.cell_data[RGB]).tolist() == [[255, 0, 0]]
    part.active = 1
    recolor(part, stage, 0)
    assert np.asarray(part.mesh.cell_data[RGB]).tolist() == [[0, 255, 0]]
    # back to a cached variant: the mesh shows it again (issue 8: the map
    # stayed SINR while the legend said RSRP)
    part.active = 0
    assert recolor(part, stage, 0)
    assert np.asarray(part.mesh.cell_data[RGB]).tolist() == [[255, 0, 0]]
    assert not recolor(part, stage, 0)              # nothing new: nothing to push


def test_open_stage_errors(tmp_path):
    with pytest.raises(InputError, match="stage file not found"):
        open_stage(tmp_path / "missing.usda")
    bad = tmp_path / "bad.usda"
    bad.write_text("#usda 1.0\ndef Xform \"W\" {\n", encoding="utf-8")
    with pytest.raises(InputError, match="bad.usda.*cannot open the USD stage"):
        open_stage(bad)


def test_legends():
    lg = utilization_legend().as_dict()
    assert lg["labels"] == ["0", "50", "100"] and lg["swatches"][0]["name"] == "cut / tripped"
    stage = Usd.Stage.CreateInMemory()
    prim = stage.DefinePrim("/W/RSRP", "Mesh")
    prim.CreateAttribute("twin:colormap", Sdf.ValueTypeNames.Token).Set("viridis")
    prim.CreateAttribute("twin:colormap_min", Sdf.ValueTypeNames.Double).Set(-120.0)
    prim.CreateAttribute("twin:colormap_max", Sdf.ValueTypeNames.Double).Set(-60.0)
    prim.CreateAttribute("twin:units", Sdf.ValueTypeNames.String).Set("dBm")
    d = mesh_legend(prim).as_dict()
    assert d["units"] == "dBm" and d["labels"] == ["-120", "-90", "-60"]
    assert d["gradient"].startswith("linear-gradient(to right, rgb(68,1,84) 0.0%")


# --- oriented curves: flat ribbons -------------------------------------------------------

def _road_stage(normals=None, up="Z", mpu=1.0, scale=1.0):
    """An L-shaped road, 10 m east then 10 m north, 4 m wide, 1 m up (in stage units)."""
    stage = Usd.Stage.CreateInMemory()
    UsdGeom.SetStageUpAxis(stage, up)
    UsdGeom.SetStageMetersPerUnit(stage, mpu)
    u = scale        # metres -> stage units
    pts = [(0, 0, 1), (10, 0, 1), (10, 10, 1)]
    if up == "Y":    # (x, y, z) Z-up -> (x, z, -y) Y-up
        pts = [(x, z, -y) for x, y, z in pts]
    road = UsdGeom.BasisCurves.Define(stage, "/W/Roads/Road")
    road.CreateTypeAttr("linear")
    road.CreateCurveVertexCountsAttr([3])
    road.CreatePointsAttr([tuple(c * u for c in p) for p in pts])
    road.CreateWidthsAttr([4.0 * u])
    road.SetWidthsInterpolation(UsdGeom.Tokens.constant)
    if normals is not None:
        road.CreateNormalsAttr([normals] * 3)
        road.SetNormalsInterpolation(UsdGeom.Tokens.vertex)
    road.CreateDisplayColorAttr([(0.3, 0.3, 0.3)])
    return stage


@pytest.mark.parametrize("up, mpu, scale, normal", [("Z", 1.0, 1.0, (0, 0, 1)),
                                                    ("Y", 0.01, 100.0, (0, 1, 0))])
def test_curves_with_normals_become_flat_ribbons(up, mpu, scale, normal):
    (part,) = stage_parts(_road_stage(normal, up, mpu, scale))
    assert part.name == "Roads:ribbons" and part.family == "ribbons"
    mesh = part.mesh
    assert mesh.n_cells == 2                       # one quad per segment
    pts = np.asarray(mesh.points, float)
    np.testing.assert_allclose(pts[:, 2], 1.0, atol=1e-4)        # flat, 1 m up
    # 2 m either side of the centre line; the corner is mitred out to (12, -2) and (8, 2)
    np.testing.assert_allclose(mesh.bounds, (0.0, 12.0, -2.0, 10.0, 1.0, 1.0), atol=1e-4)
    # a mitred ribbon covers exactly length x width: 20 m x 4 m
    assert mesh.area == pytest.approx(80.0, rel=1e-5)
    normals = np.asarray(mesh.compute_normals(cell_normals=True, point_normals=False,
                                              consistent_normals=False, auto_orient_normals=False,
                                              split_vertices=False).cell_data["Normals"])
    np.testing.assert_allclose(normals, [[0, 0, 1], [0, 0, 1]], atol=1e-6)   # facing up
    # displayColor 0.3 is linear: shown as sRGB 0.584 -> 149
    assert np.all(np.asarray(mesh.cell_data[RGB]) == [149, 149, 149])


def test_curves_without_normals_stay_tubes():
    (part,) = stage_parts(_road_stage(None))
    assert part.name == "Roads:curves"
    b = part.mesh.bounds
    assert b[5] - b[4] == pytest.approx(4.0, rel=0.05)          # a 4 m thick tube


# --- native instances ----------------------------------------------------------------------

def test_instances_drawn_through_proxies_with_inherited_colour():
    stage = Usd.Stage.CreateInMemory()
    UsdGeom.SetStageUpAxis(stage, UsdGeom.Tokens.z)
    UsdGeom.SetStageMetersPerUnit(stage, 1.0)
    stage.CreateClassPrim("/Protos")
    UsdGeom.Xform.Define(stage, "/Protos/Box")
    UsdGeom.Cube.Define(stage, "/Protos/Box/Geom").CreateSizeAttr(2.0)
    for name, rgb, x in (("A", (1, 0, 0), 0.0), ("B", (0, 0, 1), 10.0)):
        inst = UsdGeom.Xform.Define(stage, f"/W/Things/{name}")
        inst.GetPrim().GetReferences().AddInternalReference("/Protos/Box")
        inst.GetPrim().SetInstanceable(True)
        inst.AddTranslateOp().Set((x, 0.0, 0.0))
        color = UsdGeom.PrimvarsAPI(inst).CreatePrimvar("displayColor", Sdf.ValueTypeNames.Color3fArray,
                                                        UsdGeom.Tokens.constant)
        color.Set([rgb])
    b_color = UsdGeom.PrimvarsAPI(stage.GetPrimAtPath("/W/Things/B")).GetPrimvar("displayColor")
    b_color.Set([(0, 0, 1)], 0.0)
    b_color.Set([(0, 1, 0)], 1.0)                  # B turns green at time 1
    assert stage.GetPrimAtPath("/W/Things/A").IsInstance()
    (part,) = stage_parts(stage, 0)
    # the class itself is never drawn, only its two instances
    assert part.name == "Things:shapes"
    assert [sl.path for sl in part.slots] == ["/W/Things/A/Geom", "/W/Things/B/Geom"]
    a, b = part.slots
    rgb = np.asarray(part.mesh.cell_data[RGB])
    assert np.all(rgb[a.cells] == [255, 0, 0]) and np.all(rgb[b.cells] == [0, 0, 255])
    np.testing.assert_allclose(part.mesh.extract_cells(b.cells).bounds, (9, 11, -1, 1, -1, 1), atol=1e-6)
    assert b.animated and not a.animated
    assert recolor(part, stage, 1)
    assert np.all(np.asarray(part.mesh.cell_data[RGB])[b.cells] == [0, 255, 0])


def test_view_command_rejects_a_missing_source(tmp_path):
    import subprocess
    import sys
    missing = tmp_path / "nope.toml"
    r = subprocess.run([sys.executable, "-m", "twin3d", "view", str(missing), "--port", "0"],
                       capture_output=True, text=True, cwd=Path(__file__).parents[1], timeout=60)
    assert r.returncode == 2
    assert r.stderr.strip() == f"error: {missing}: scene or stage not found"
