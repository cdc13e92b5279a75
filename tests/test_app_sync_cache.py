"""twin3d.app.sync_cache: the browser gets the same scene description, with topology hashed once."""

from __future__ import annotations

import numpy as np

import pyvista as pv  # noqa: E402  (pyvista and trame-vtk are core dependencies: never skipped)
import trame_vtk.modules.vtk.serializers as serializers  # noqa: E402

from trame_vtk.modules.vtk.serializers import data as stock_data  # noqa: E402
from trame_vtk.modules.vtk.serializers import helpers, registry  # noqa: E402

from twin3d.app import sync_cache  # noqa: E402


def _mesh() -> pv.PolyData:
    mesh = pv.Plane(i_resolution=30, j_resolution=20)          # 600 quads
    mesh.cell_data["rgb"] = np.zeros((mesh.n_cells, 3), np.uint8)
    return mesh


def test_legacy_cells_exported_once_while_unchanged():
    mesh = _mesh()
    a = sync_cache.legacy_cells(mesh.GetPolys())
    b = sync_cache.legacy_cells(mesh.GetPolys())
    assert a is b                                   # same object: trame-vtk's hash cache hits
    legacy = np.asarray(pv.convert_array(a))
    assert len(legacy) == 600 * 5 and np.all(legacy[::5] == 4)     # [4, i0, i1, i2, i3] per quad
    np.testing.assert_array_equal(legacy.reshape(-1, 5)[:, 1:], mesh.faces.reshape(-1, 5)[:, 1:])
    # new topology (a new mtime): exported again
    mesh.GetPolys().Modified()
    assert sync_cache.legacy_cells(mesh.GetPolys()) is not a


def test_same_description_as_trame_vtk_and_no_rehash(monkeypatch):
    mesh = _mesh()
    ctx = serializers.SynchronizationContext()
    stock = stock_data.polydata_serializer(None, mesh, "m1", ctx, 0)
    ours = sync_cache._polydata_serializer(None, mesh, "m1", ctx, 0)
    assert ours == stock                            # same hashes, sizes, ranges, fields
    hashed = []
    real = helpers.hash_data_array
    monkeypatch.setattr(helpers, "hash_data_array", lambda arr: hashed.append(arr) or real(arr))
    for _ in range(3):                              # three updates of an unchanged topology
        again = sync_cache._polydata_serializer(None, mesh, "m1", ctx, 0)
        assert again["properties"]["polys"]["hash"] == stock["properties"]["polys"]["hash"]
    assert hashed == []                             # the 600 quads were not hashed again
    for _ in range(2):                              # while the stock serializer hashes them every time
        stock_data.polydata_serializer(None, mesh, "m1", ctx, 0)
    assert len(hashed) == 2


def test_install_registers_and_survives_reinitialisation():
    from trame_vtk.modules.vtk.serializers import initialize
    assert sync_cache.install()
    assert registry.SERIALIZERS["vtkPolyData"] is sync_cache._polydata_serializer
    initialize.initialize_serializers()             # what each local-rendering protocol does
    assert registry.SERIALIZERS["vtkPolyData"] is sync_cache._polydata_serializer


def _actor(mesh):
    """An actor drawing ``mesh`` by its uint8 rgb cells, as twin3d.viz.plot does (no render window)."""
    import vtkmodules.vtkRenderingOpenGL2  # noqa: F401  (the mapper factory's overrides)
    from vtkmodules.vtkRenderingCore import vtkActor, vtkPolyDataMapper
    mapper = vtkPolyDataMapper()
    mapper.SetInputData(mesh)
    mapper.SetScalarModeToUseCellFieldData()
    mapper.SelectColorArray("rgb")
    mapper.SetColorModeToDirectScalars()
    mapper.GetLookupTable()                     # the default table every mapper carries
    actor = vtkActor()
    actor.SetMapper(mapper)
    return actor


def test_mapper_and_lookup_table_same_description_without_rework():
    from trame_vtk.modules.vtk.serializers import lookup_tables, mappers
    assert sync_cache.install()
    actor = _actor(_mesh())
    mapper = actor.GetMapper()
    ctx = serializers.SynchronizationContext()
    ctx.set_ignore_last_dependencies(True)      # full descriptions, not deltas, to compare
    before = dict(sync_cache.COUNTS)
    assert sync_cache._mapper_serializer(actor, mapper, "m1", ctx, 0) == \
        mappers.generic_mapper_serializer(actor, mapper, "m1", ctx, 0)
    lut = mapper.GetLookupTable()
    stock = lookup_tables.lookup_table_serializer(mapper, lut, "l1", ctx, 0)
    for _ in range(3):                          # three updates of an unchanged table
        assert sync_cache._lookup_table_serializer(mapper, lut, "l1", ctx, 0) == stock
    # a polydata is handed on as it is: no surface filter; the table was unpacked once (above, in
    # the mapper's own serialization of it), then reused
    assert sync_cache.COUNTS["surface_filter"] == before["surface_filter"]
    assert sync_cache.COUNTS["lut_unpack"] - before["lut_unpack"] == 1
    lut.GetTable().Modified()                   # a changed table is unpacked again
    sync_cache._lookup_table_serializer(mapper, lut, "l1", ctx, 0)
    assert sync_cache.COUNTS["lut_unpack"] - before["lut_unpack"] == 2


def test_installed_for_every_mapper_class_and_lookup_table():
    from trame_vtk.modules.vtk.serializers import initialize
    assert sync_cache.install()
    for name in ("vtkMapper", "vtkDataSetMapper", "vtkPolyDataMapper", "vtkOpenGLPolyDataMapper"):
        assert registry.SERIALIZERS[name] is sync_cache._mapper_serializer
    assert registry.SERIALIZERS["vtkLookupTable"] is sync_cache._lookup_table_serializer
    initialize.initialize_serializers()         # what each local-rendering protocol does
    assert registry.SERIALIZERS["vtkPolyDataMapper"] is sync_cache._mapper_serializer
    assert registry.SERIALIZERS["vtkLookupTable"] is sync_cache._lookup_table_serializer


def test_a_scene_update_rehashes_only_what_a_step_changed(monkeypatch):
    """Serialize a whole render window twice (delta and full, as view.update() does) after a
    colour change: only the changed colour array is hashed, no topology, no table unpacked."""
    from trame_vtk.modules.vtk.serializers import serialize
    from vtkmodules.vtkRenderingCore import vtkRenderer, vtkRenderWindow
    assert sync_cache.install()
    meshes = [_mesh(), _mesh()]
    ren = vtkRenderer()
    for m in meshes:
        ren.AddActor(_actor(m))
    win = vtkRenderWindow()
    win.SetOffScreenRendering(True)
    win.AddRenderer(ren)
    ctx = serializers.SynchronizationContext()

    def update():
        for new in (False, True):
            ctx.set_ignore_last_dependencies(new)
            serialize(None, win, "w1", ctx, 1)
        ctx.set_ignore_last_dependencies(False)

    update()
    hashed = []
    real = helpers.hash_data_array
    monkeypatch.setattr(helpers, "hash_data_array", lambda arr: hashed.append(arr.GetName()) or real(arr))
    before = dict(sync_cache.COUNTS)
    meshes[0].cell_data["rgb"] = np.full((meshes[0].n_cells, 3), 200, np.uint8)     # a time step
    update()
    assert hashed == ["rgb"]
    assert sync_cache.COUNTS == before
