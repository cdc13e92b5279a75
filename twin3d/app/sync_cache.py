"""Send a part's topology to the browser once, not on every time step.

trame-vtk's ``vtkPolyData`` serializer runs on every ``view.update()``
(twice: the delta and the full scene state) for every actor. For each cell
array it calls ``vtkCellArray.ExportLegacyFormat`` into a *new*
``vtkIdTypeArray`` and md5-hashes it; the hash cache is keyed by the array
object, so a fresh copy is hashed again every time. With the Helsinki scene
(a 117,000-quad signal map, 19,000 building faces, 8,000 street quads) that
is ~10 MB of copying and hashing per time step, though a step only changes
colour arrays: 25-40 ms of every step's server time, and the source of its
spikes.

:func:`install` registers the same serializer with one change: the legacy
copy of a cell array is kept while the cell array is unchanged (same
object, same ``GetMTime``), so its hash is computed once and a step
serializes only what changed. Everything else is trame-vtk's own code
(``get_array_description``, ``extract_required_fields``). If trame-vtk's
internals move, :func:`install` returns False and the stock serializer
stays in place: slower, never wrong.

Examples
--------
>>> install()          # doctest: +SKIP
True
"""

from __future__ import annotations

from collections import OrderedDict

__all__ = ["install", "legacy_cells", "MAX_CACHED"]

#: Cell arrays whose legacy copy is kept (a scene has a few actors x 4 cell kinds).
MAX_CACHED = 256

_cache: OrderedDict[str, tuple[int, object]] = OrderedDict()


def legacy_cells(cells):
    """The legacy-format (``[n, i0, i1, ..., n, ...]``) copy of a ``vtkCellArray``.

    The same ``vtkIdTypeArray`` object is returned while ``cells`` is the
    same C++ object with the same modification time, so trame-vtk's hash of
    it (cached per array object and mtime) is computed once.
    """
    from vtkmodules.vtkCommonCore import vtkIdTypeArray

    key = cells.GetAddressAsString("vtkCellArray")
    mtime = cells.GetMTime()
    hit = _cache.get(key)
    if hit is not None and hit[0] == mtime:
        _cache.move_to_end(key)
        return hit[1]
    arr = vtkIdTypeArray()
    cells.ExportLegacyFormat(arr)
    _cache[key] = (mtime, arr)
    _cache.move_to_end(key)
    while len(_cache) > MAX_CACHED:
        _cache.popitem(last=False)
    return arr


def _polydata_serializer(parent, dataset, dataset_id, context, _depth, requested_fields=None):
    """trame-vtk's ``polydata_serializer`` with :func:`legacy_cells` for the cells."""
    from trame_vtk.modules.vtk.serializers.helpers import (extract_required_fields,
                                                           get_array_description)
    from trame_vtk.modules.vtk.serializers.registry import class_name
    from trame_vtk.modules.vtk.serializers.utils import get_js_array_type, reference_id

    if not (dataset and dataset.GetPoints()):
        return None
    if requested_fields is None:
        requested_fields = ["Normals", "TCoords"]
    properties = {}
    data = dataset.GetPoints().GetData()
    convert = {}
    js_type = get_js_array_type(data)
    if js_type not in ("Float32Array", "Float64Array"):
        convert["dataType"] = "Float32Array" if "32" in js_type else "Float64Array"
    points = get_array_description(data, context, **convert)
    points["vtkClass"] = "vtkPoints"
    properties["points"] = points
    for key, cells in (("verts", dataset.GetVerts()), ("lines", dataset.GetLines()),
                       ("polys", dataset.GetPolys()), ("strips", dataset.GetStrips())):
        if not cells or cells.GetNumberOfCells() == 0:
            continue
        arr = legacy_cells(cells) if hasattr(cells, "ExportLegacyFormat") else cells.GetData()
        properties[key] = get_array_description(arr, context)
        properties[key]["vtkClass"] = "vtkCellArray"
    properties["fields"] = []
    extract_required_fields(properties["fields"], parent, dataset, context, requested_fields)
    return {"parent": reference_id(parent), "id": dataset_id, "type": class_name(dataset),
            "properties": properties}


def install() -> bool:
    """Use the caching serializer for ``vtkPolyData``; False if trame-vtk has moved on.

    trame-vtk re-registers its serializers whenever a local-rendering
    protocol starts (``initialize_serializers``), reading the name
    ``polydata_serializer`` of its ``initialize`` module: that name is
    rebound too, so the cache survives the re-registration.
    """
    try:
        from trame_vtk.modules.vtk.serializers import initialize, registry
    except ImportError:
        return False
    if not hasattr(initialize, "polydata_serializer") or not hasattr(registry, "SERIALIZERS"):
        return False
    initialize.polydata_serializer = _polydata_serializer
    registry.register_instance_serializer("vtkPolyData", _polydata_serializer)
    return True
