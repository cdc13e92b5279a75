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
