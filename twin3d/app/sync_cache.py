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

Two more per-actor costs of every update are cut the same way, since the
overlays (site glyphs, link lines, labels, basemap) made 6 actors 9:

- the mapper serializer runs every input through a new
  ``vtkDataSetSurfaceFilter``; for a ``vtkPolyData`` (every twin3d actor)
  that filter only shallow-copies it, so :func:`_mapper_serializer` hands
  the polydata on as it is (same arrays, same description);
- the lookup-table serializer unpacks the table (256 RGBA tuples) into
  Python lists on every call, though the viewer's direct RGB colours never
  change it: :func:`lut_table` keeps the list while the table is unchanged.

Examples
--------
>>> install()          # doctest: +SKIP
True
"""

from __future__ import annotations

from collections import OrderedDict

__all__ = ["install", "legacy_cells", "lut_table", "MAX_CACHED", "COUNTS"]

#: Cell arrays whose legacy copy is kept (a scene has a few actors x 4 cell kinds).
MAX_CACHED = 256

_cache: OrderedDict[str, tuple[int, object]] = OrderedDict()
_tables: OrderedDict[str, tuple[int, list]] = OrderedDict()

#: How often each piece of work was done (tests read these to see the caches hold).
COUNTS = {"legacy_export": 0, "lut_unpack": 0, "surface_filter": 0}


def _remember(cache: OrderedDict, key, value) -> None:
    cache[key] = value
    cache.move_to_end(key)
    while len(cache) > MAX_CACHED:
        cache.popitem(last=False)


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
    COUNTS["legacy_export"] += 1
    _remember(_cache, key, (mtime, arr))
    return arr


def lut_table(table) -> list | None:
    """trame-vtk's ``data_table_to_list`` of a lookup table's table, kept while it is unchanged."""
    from trame_vtk.modules.vtk.serializers.helpers import data_table_to_list

    key = table.GetAddressAsString("vtkDataArray")
    mtime = table.GetMTime()
    hit = _tables.get(key)
    if hit is not None and hit[0] == mtime:
        _tables.move_to_end(key)
        return hit[1]
    rows = data_table_to_list(table)
    COUNTS["lut_unpack"] += 1
    _remember(_tables, key, (mtime, rows))
    return rows


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


def _mapper_serializer(parent, mapper, mapper_id, context, depth):
    """trame-vtk's ``generic_mapper_serializer``, without the surface filter for a polydata."""
    from trame_vtk.modules.vtk.serializers.cache import cache_properties
    from trame_vtk.modules.vtk.serializers.registry import class_name
    from trame_vtk.modules.vtk.serializers.serialize import serialize
    from trame_vtk.modules.vtk.serializers.utils import reference_id, wrap_id

    data_object = data_object_instance = None
    calls, dependencies = [], []
    if hasattr(mapper, "GetInputDataObject"):
        mapper.GetInputAlgorithm().Update()
        data_object = mapper.GetInputDataObject(0, 0)
    if data_object:
        if data_object.IsA("vtkDataSet") and not data_object.IsA("vtkPolyData"):
            from vtkmodules.vtkFiltersGeometry import vtkDataSetSurfaceFilter
            alg = vtkDataSetSurfaceFilter()
            alg.SetInputData(data_object)
            alg.Update()
            data_object = alg.GetOutput()
            COUNTS["surface_filter"] += 1
        data_object_id = f"{mapper_id}-dataset"
        data_object_instance = serialize(mapper, data_object, data_object_id, context, depth + 1)
        if data_object_instance:
            dependencies.append(data_object_instance)
            calls.append(["setInputData", [wrap_id(data_object_id)]])
    lookup_table = mapper.GetLookupTable() if hasattr(mapper, "GetLookupTable") else None
    if lookup_table:
        lookup_table_id = reference_id(lookup_table)
        lookup_table_instance = serialize(mapper, lookup_table, lookup_table_id, context, depth + 1)
        if lookup_table_instance:
            dependencies.append(lookup_table_instance)
            calls.append(["setLookupTable", [wrap_id(lookup_table_id)]])
    if not data_object_instance:
        return None
    color_array_name = mapper.GetArrayName() if mapper.GetArrayAccessMode() == 1 else mapper.GetArrayId()
    return {
        "parent": reference_id(parent),
        "id": mapper_id,
        "type": class_name(mapper),
        "properties": cache_properties(mapper_id, context, {
            "resolveCoincidentTopology": mapper.GetResolveCoincidentTopology(),
            "renderTime": mapper.GetRenderTime(),
            "arrayAccessMode": mapper.GetArrayAccessMode(),
            "scalarRange": mapper.GetScalarRange(),
            "useLookupTableScalarRange": 1 if mapper.GetUseLookupTableScalarRange() else 0,
            "scalarVisibility": mapper.GetScalarVisibility(),
            "colorByArrayName": color_array_name,
            "colorMode": mapper.GetColorMode(),
            "scalarMode": mapper.GetScalarMode(),
            "interpolateScalarsBeforeMapping": 1 if mapper.GetInterpolateScalarsBeforeMapping() else 0,
        }),
        "calls": calls,
        "dependencies": dependencies,
    }


def _lookup_table_serializer(parent, lookup_table, lookup_table_id, context, _depth):
    """trame-vtk's ``lookup_table_serializer`` with :func:`lut_table` for the table."""
    from trame_vtk.modules.vtk.serializers import initialize
    from trame_vtk.modules.vtk.serializers.cache import cache_properties
    from trame_vtk.modules.vtk.serializers.registry import class_name
    from trame_vtk.modules.vtk.serializers.utils import reference_id

    if initialize.vtk_config.convert_lut:       # the other encoding: trame-vtk's own
        from trame_vtk.modules.vtk.serializers.lookup_tables import lookup_table_serializer2
        return lookup_table_serializer2(parent, lookup_table, lookup_table_id, context, _depth)
    hue_range = [0.5, 0]
    if hasattr(lookup_table, "GetHueRange"):
        try:
            lookup_table.GetHueRange(hue_range)
        except Exception:       # noqa: BLE001 - trame-vtk suppresses the same
            pass
    table = lut_table(lookup_table.GetTable())
    properties = {
        "numberOfColors": lookup_table.GetNumberOfColors(),
        "valueRange": lookup_table.GetRange(),
        "hueRange": hue_range,
        "saturationRange": lookup_table.GetSaturationRange(),
        "nanColor": lookup_table.GetNanColor(),
        "belowRangeColor": lookup_table.GetBelowRangeColor(),
        "aboveRangeColor": lookup_table.GetAboveRangeColor(),
        "useAboveRangeColor": bool(lookup_table.GetUseAboveRangeColor()),
        "useBelowRangeColor": bool(lookup_table.GetUseBelowRangeColor()),
        "alpha": lookup_table.GetAlpha(),
        "vectorSize": lookup_table.GetVectorSize(),
        "vectorComponent": lookup_table.GetVectorComponent(),
        "vectorMode": lookup_table.GetVectorMode(),
        "indexedLookup": lookup_table.GetIndexedLookup(),
    }
    if table:
        properties["table"] = table
    return {"parent": reference_id(parent), "id": lookup_table_id, "type": class_name(lookup_table),
            "properties": cache_properties(lookup_table_id, context, properties)}


def install() -> bool:
    """Use the caching serializer for ``vtkPolyData``; False if trame-vtk has moved on.

    trame-vtk re-registers its serializers whenever a local-rendering
    protocol starts (``initialize_serializers``), reading the names
    ``polydata_serializer``, ``generic_mapper_serializer`` and
    ``lookup_table_serializer_selector`` of its ``initialize`` module: those
    names are rebound too, so the caches survive the re-registration.
    """
    try:
        from trame_vtk.modules.vtk.serializers import initialize, registry
    except ImportError:
        return False
    names = ("polydata_serializer", "generic_mapper_serializer", "lookup_table_serializer_selector",
             "initialize_serializers", "vtk_config")
    if not all(hasattr(initialize, n) for n in names) or not hasattr(registry, "SERIALIZERS"):
        return False
    initialize.polydata_serializer = _polydata_serializer
    initialize.generic_mapper_serializer = _mapper_serializer
    initialize.lookup_table_serializer_selector = _lookup_table_serializer
    initialize.initialize_serializers()     # register ours under every class name trame-vtk uses
    return True
