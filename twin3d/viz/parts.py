"""A composed USD stage -> a few merged PyVista meshes ("parts") with colour arrays.

Prims are grouped by the top-level child of the default prim they live
under (``Terrain``, ``Buildings``, ``Network``, ``Signal``...) and by family
(polygon meshes, implicit shapes, curves); each group becomes one
:class:`Part`: one mesh, one actor. Every cell remembers which prim
("slot") and which USD face or curve ("item") it comes from, so a time step
or a scenario switch recolours by indexing, never rebuilding geometry, and a
picked cell maps back to its prim.

Curves become round tubes of their width, or flat ribbons when they
author ``normals`` (USD's oriented curves: the twin's streets), so the
browser draws what Storm and RTX draw. Instances are drawn through their
instance proxies (the prototype's geometry at each instance, coloured by
the displayColor the instance passes down); class prims such as
``/World/Prototypes`` are abstract and never drawn themselves.

Meshes of a group that share their points and faces exactly (the twin's
RSRP, SINR and BestServer grids) are stored once, with one colour array per
mesh: *variants* of the part, one shown at a time. Other invisible prims
are not drawn.

Examples
--------
>>> from pxr import Usd
>>> stage = Usd.Stage.CreateInMemory()
>>> _ = stage.DefinePrim("/World/Box", "Cube")
>>> [p.name for p in stage_parts(stage)]
['World:shapes']
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyvista as pv
from pxr import Usd, UsdGeom
from vtkmodules.util.numpy_support import numpy_to_vtkIdTypeArray
from vtkmodules.vtkCommonDataModel import vtkCellArray

from ..usd.colors import linear_to_srgb
from .geometry import SHAPES, curve_arrays, mesh_arrays, ribbon_polys, shape_arrays
from .read import display_color, element_of, face_colors, is_drawn, world_matrices

__all__ = ["Slot", "Part", "stage_parts", "drawable_prims", "group_of", "recolor", "refresh_animated",
           "slot_cell_colors", "to_rgb8", "RGB", "TUBE_SIDES", "MEMO_ITEMS"]

#: Name of the active colour array (uint8 RGB per cell) of every part.
RGB = "rgb"
#: Sides of the tubes drawn for curves.
TUBE_SIDES = 8
#: Slots with this many items (faces, curves) or more keep their last colour conversion.
MEMO_ITEMS = 4096


@dataclass
class Slot:
    """One prim inside a part: its cells and how to colour them."""

    path: str                    # the prim
    element: str                 # what a pick on it selects (see read.element_of)
    cells: np.ndarray            # cell ids of this prim in the part's mesh
    n_items: int                 # USD faces / curves (length of a uniform displayColor)
    item_vertices: tuple | None  # per-vertex colours are averaged per item
    animated: bool = False       # displayColor has time samples on the stage read
    linear: np.ndarray | None = None     # last linear colours read (large slots), and
    shown_rgb: np.ndarray | None = None  # the uint8 sRGB cell colours made of them


@dataclass
class Part:
    """One merged mesh (one actor) and the bookkeeping to recolour and pick it."""

    name: str                    # "<group>:<family>", e.g. "Network:curves", "Streets:ribbons"
    group: str
    family: str                  # meshes | shapes | curves (tubes) | ribbons
    mesh: pv.PolyData            # cell array RGB (n_cells, 3) uint8 is the active scalars
    slots: list[Slot]
    cell_slot: np.ndarray        # (n_cells,) slot of each cell
    cell_item: np.ndarray        # (n_cells,) USD face / curve index within its slot's prim
    variants: list[str] = field(default_factory=list)   # slot names when coincident
    active: int = 0              # shown variant (index into slots) for variant parts
    colors: dict[int, np.ndarray] = field(default_factory=dict)   # variant -> rgb uint8
    shown: int = -1              # variant whose colours are in the mesh now
    centerline: pv.PolyData | None = None   # curves: the polylines the tubes were swept along
    fixed: bool = False          # colours set once (labels, basemap), never read from the stage
    source: "Part | None" = None             # overlays: the part whose cell colours they copy
    source_cells: np.ndarray | None = None   # (n_cells,) cell of ``source`` each cell copies
    version: int = 0             # bumped whenever the colours in the mesh are rewritten
    source_version: int = -1     # ``source.version`` last copied

    @property
    def n_cells(self) -> int:
        return int(self.mesh.n_cells)


def group_of(prim: Usd.Prim) -> str:
    """Group of a prim: the child of its top-level prim it lives under.

    ``/World/Buildings/Chunk_0`` -> ``Buildings``; a prim directly under a
    top-level prim (or top-level itself) -> that top-level prim's name.

    Examples
    --------
    >>> from pxr import Usd
    >>> s = Usd.Stage.CreateInMemory()
    >>> group_of(s.DefinePrim("/World/Network/Sites/S1")), group_of(s.DefinePrim("/World/Box"))
    ('Network', 'World')
    """
    names = prim.GetPath().pathString.strip("/").split("/")
    return names[1] if len(names) > 2 else names[0]


def _family(prim: Usd.Prim) -> str | None:
    t = prim.GetTypeName()
    if prim.IsA(UsdGeom.Mesh):
        return "meshes"
    if prim.IsA(UsdGeom.BasisCurves):
        return "curves"
    if t in SHAPES:
        return "shapes"
    return None


def _polydata(points: np.ndarray, counts: np.ndarray, indices: np.ndarray) -> pv.PolyData:
    """PolyData from polygon counts and flat indices (no per-face Python loop)."""
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    cells = vtkCellArray()
    cells.SetData(numpy_to_vtkIdTypeArray(offsets, deep=True),
                  numpy_to_vtkIdTypeArray(np.ascontiguousarray(indices, np.int64), deep=True))
    mesh = pv.PolyData()
    mesh.points = np.ascontiguousarray(points, np.float32)
    mesh.SetPolys(cells)
    return mesh


def to_rgb8(rgb: np.ndarray) -> np.ndarray:
    """Colours 0..1 -> uint8 0..255."""
    return np.clip(np.rint(np.asarray(rgb, float) * 255.0), 0, 255).astype(np.uint8)


def _coincident(arrays: list) -> list[list[int]]:
    """Indices of meshes grouped by identical points and faces."""
    groups: list[list[int]] = []
    for i, a in enumerate(arrays):
        for g in groups:
            b = arrays[g[0]]
            if (len(a.points) == len(b.points) and len(a.indices) == len(b.indices)
                    and np.array_equal(a.counts, b.counts) and np.array_equal(a.indices, b.indices)
                    and np.array_equal(a.points, b.points)):
                g.append(i)
                break
        else:
            groups.append([i])
    return groups


def _animated(prim: Usd.Prim) -> bool:
    pv_ = display_color(prim)
    return bool(pv_) and pv_.ValueMightBeTimeVarying()


def _merge_polys(name, group, family, prims, arrays, time) -> Part:
    pts, counts, idx, slots, cell_slot, cell_item = [], [], [], [], [], []
    n_pts = n_cells = 0
    for k, (prim, a) in enumerate(zip(prims, arrays)):
        pts.append(a.points)
        counts.append(a.counts)
        idx.append(a.indices + n_pts)
        slots.append(Slot(str(prim.GetPath()), str(element_of(prim).GetPath()),
                          np.arange(n_cells, n_cells + len(a.counts)), a.n_items, a.item_vertices,
                          _animated(prim)))
        cell_slot.append(np.full(len(a.counts), k, np.int32))
        cell_item.append(a.face_id.astype(np.int32))
        n_pts += len(a.points)
        n_cells += len(a.counts)
    mesh = _polydata(np.vstack(pts), np.concatenate(counts), np.concatenate(idx))
    part = Part(name, group, family, mesh, slots, np.concatenate(cell_slot), np.concatenate(cell_item))
    return part


def _variant_part(name, group, prims, arrays, time) -> Part:
    """Coincident meshes: one geometry, one colour array per prim."""
    a = arrays[0]
    mesh = _polydata(a.points, a.counts, a.indices)
    n = len(a.counts)
    slots = [Slot(str(p.GetPath()), str(element_of(p).GetPath()), np.arange(n), arr.n_items,
                  arr.item_vertices, _animated(p)) for p, arr in zip(prims, arrays)]
    drawn = [is_drawn(p) for p in prims]
    part = Part(name, group, "meshes", mesh, slots, np.zeros(n, np.int32), a.face_id.astype(np.int32),
                variants=[p.GetName() for p in prims], active=drawn.index(True) if any(drawn) else 0)
    return part


def _tube_part(name, group, prims, arrays) -> Part:
    pts, counts, radius, curve_slot, curve_item, slots = [], [], [], [], [], []
    n_cells = 0
    for k, (prim, a) in enumerate(zip(prims, arrays)):
        pts.append(a.points)
        counts.append(a.counts)
        radius.append(a.radius_m)
        curve_slot.append(np.full(len(a.counts), k, np.int32))
        curve_item.append(a.curve_id.astype(np.int32))
        slots.append(Slot(str(prim.GetPath()), str(element_of(prim).GetPath()), np.zeros(0, int), a.n_items,
                          a.item_vertices, _animated(prim)))
    points = np.vstack(pts)
    counts_ = np.concatenate(counts)
    lines = pv.PolyData()
    lines.points = points.astype(np.float32)
    offsets = np.concatenate([[0], np.cumsum(counts_)]).astype(np.int64)
    cells = vtkCellArray()
    cells.SetData(numpy_to_vtkIdTypeArray(offsets, deep=True),
                  numpy_to_vtkIdTypeArray(np.arange(len(points), dtype=np.int64), deep=True))
    lines.SetLines(cells)
    lines.point_data["radius_m"] = np.concatenate(radius)
    lines.cell_data["line"] = np.arange(len(counts_), dtype=np.int32)
    tubes = lines.tube(scalars="radius_m", absolute=True, n_sides=TUBE_SIDES, capping=True)
    line = np.asarray(tubes.cell_data["line"])
    cslot, citem = np.concatenate(curve_slot)[line], np.concatenate(curve_item)[line]
    for k, s in enumerate(slots):
        s.cells = np.flatnonzero(cslot == k)
    mesh = pv.PolyData()
    mesh.points = tubes.points
    # VTK numbers cells verts, lines, polys (the caps), strips (the sides):
    # the copied cell arrays keep that order, so cslot still matches
    mesh.SetPolys(tubes.GetPolys())
    mesh.SetStrips(tubes.GetStrips())
    lines.cell_data["slot"] = np.concatenate(curve_slot)
    lines.cell_data["item"] = np.concatenate(curve_item)
    return Part(name, group, "curves", mesh, slots, cslot, citem, centerline=lines)


def _ribbon_part(name, group, prims, arrays) -> Part:
    """Oriented curves: one flat quad per segment (see :func:`.geometry.ribbon_polys`)."""
    pts, quads, cell_slot, cell_item, slots = [], [], [], [], []
    n_pts = n_cells = 0
    for k, (prim, a) in enumerate(zip(prims, arrays)):
        rp, rq, line = ribbon_polys(a.points, a.counts, a.radius_m, a.normals)
        pts.append(rp)
        quads.append(rq + n_pts)
        cell_slot.append(np.full(len(rq), k, np.int32))
        cell_item.append(a.curve_id[line].astype(np.int32))
        slots.append(Slot(str(prim.GetPath()), str(element_of(prim).GetPath()),
                          np.arange(n_cells, n_cells + len(rq)), a.n_items, a.item_vertices,
                          _animated(prim)))
        n_pts += len(rp)
        n_cells += len(rq)
    q = np.vstack(quads)
    mesh = _polydata(np.vstack(pts), np.full(len(q), 4), q.ravel())
    return Part(name, group, "ribbons", mesh, slots, np.concatenate(cell_slot), np.concatenate(cell_item))


def drawable_prims(stage: Usd.Stage):
    """Every prim of the composed stage a viewer may draw, in stage order.

    Walks instance proxies (the geometry of native instances lives under
    them) and skips inactive, undefined and abstract prims: a ``class``
    such as ``/World/Prototypes`` holds geometry that renders only through
    its instances.
    """
    return Usd.PrimRange(stage.GetPseudoRoot(), Usd.TraverseInstanceProxies(Usd.PrimDefaultPredicate))


def stage_parts(stage: Usd.Stage, time=Usd.TimeCode.Default()) -> list[Part]:
    """Merge every drawn geometry prim of ``stage`` into parts, coloured at ``time``.

    Parameters
    ----------
    stage : Usd.Stage
        Any composed stage (Z or Y up, any metersPerUnit).
    time : Usd.TimeCode
        Time of the colours read now (geometry is read at the default time).

    Returns
    -------
    list of Part
        In stage order of their first prim; each mesh has the cell array
        :data:`RGB` (uint8) and ``n_cells`` cells.
    """
    groups: dict[tuple[str, str], list[Usd.Prim]] = {}
    for prim in drawable_prims(stage):
        if not prim.IsActive() or prim.IsAbstract():
            continue
        fam = _family(prim)
        if fam is None:
            continue
        drawn = is_drawn(prim)
        if not drawn and not (fam == "meshes"):
            continue
        groups.setdefault((group_of(prim), fam), []).append(prim)
    parts: list[Part] = []
    for (group, fam), prims in groups.items():
        mats = world_matrices(stage, prims)
        name = f"{group}:{fam}"
        if fam == "curves":
            arrays = [curve_arrays(p, m) for p, m in zip(prims, mats)]
            tubes = [(p, a) for p, a in zip(prims, arrays) if a is not None and not a.oriented]
            ribbons = [(p, a) for p, a in zip(prims, arrays) if a is not None and a.oriented]
            if tubes:
                parts.append(_tube_part(name, group, *map(list, zip(*tubes))))
            if ribbons:
                parts.append(_ribbon_part(f"{group}:ribbons", group, *map(list, zip(*ribbons))))
            continue
        reader = mesh_arrays if fam == "meshes" else shape_arrays
        arrays = [reader(p, m) for p, m in zip(prims, mats)]
        keep = [(p, a) for p, a in zip(prims, arrays) if a is not None]
        if not keep:
            continue
        prims_k, arrays_k = map(list, zip(*keep))
        if fam == "meshes":
            clusters = _coincident(arrays_k)
            singles = [c[0] for c in clusters if len(c) == 1 and is_drawn(prims_k[c[0]])]
            for c in clusters:
                if len(c) > 1:
                    parts.append(_variant_part(f"{name}:{prims_k[c[0]].GetName()}", group,
                                               [prims_k[i] for i in c], [arrays_k[i] for i in c], time))
            if singles:
                parts.append(_merge_polys(name, group, fam, [prims_k[i] for i in singles],
                                          [arrays_k[i] for i in singles], time))
        else:
            parts.append(_merge_polys(name, group, fam, prims_k, arrays_k, time))
    for part in parts:
        recolor(part, stage, time, only_animated=False)
    return parts


def _slot_linear(part: Part, k: int, stage: Usd.Stage, time) -> np.ndarray:
    """Linear colours (n_items, 3) of slot ``k``'s prim at ``time`` (grey when it is gone)."""
    s = part.slots[k]
    prim = stage.GetPrimAtPath(s.path)
    if not prim:
        return np.full((s.n_items, 3), 0.44799, np.float32)     # linear: sRGB 0.7 grey
    return face_colors(prim, s.n_items, time, s.item_vertices)


def slot_cell_colors(part: Part, k: int, stage: Usd.Stage, time) -> np.ndarray:
    """Cell colours (uint8 sRGB, to show) of slot ``k`` read from ``stage`` at ``time``.

    ``displayColor`` is linear RGB (USD's convention): it is converted to
    sRGB here, so the browser shows what Omniverse shows.

    A slot of at least :data:`MEMO_ITEMS` items (a signal map: 117,000
    faces) keeps its last linear colours and their conversion: a scenario
    switch that reads the same colours again (the signal layer is shared by
    every scenario) reuses the conversion instead of redoing it (12 ms).
    """
    s = part.slots[k]
    rgb = _slot_linear(part, k, stage, time)
    memo = s.n_items >= MEMO_ITEMS
    if memo and s.linear is not None and s.linear.shape == rgb.shape and np.array_equal(s.linear, rgb):
        return s.shown_rgb.copy()
    out = to_rgb8(linear_to_srgb(rgb)[part.cell_item[s.cells]])
    if memo:
        s.linear, s.shown_rgb = np.array(rgb, copy=True), out.copy()
    return out


def refresh_animated(part: Part, stage: Usd.Stage) -> None:
    """Re-read which slots' colours are time sampled (another scenario animates others)."""
    for s in part.slots:
        prim = stage.GetPrimAtPath(s.path)
        s.animated = bool(prim) and _animated(prim)


def recolor(part: Part, stage: Usd.Stage, time, only_animated: bool = True) -> bool:
    """Read the part's colours from ``stage`` at ``time`` into its arrays.

    Only slots whose displayColor is time sampled are re-read unless
    ``only_animated`` is False (a scenario switch re-reads everything, and
    which slots are animated: the new stage may animate other prims). For a variant part only the shown
    variant is read; the others are read when shown.

    A part with a :attr:`Part.source` (the site glyphs, the link lines)
    copies its source's cell colours instead of reading the stage a second
    time: recolour the source first (:func:`stage_parts` order, then the
    overlays, does).

    Returns
    -------
    bool
        Whether any colour was (re)written.
    """
    if part.fixed:
        return False
    if part.source is not None:
        return _copy_source_colors(part)
    changed = _recolor(part, stage, time, only_animated)
    if changed:
        part.version += 1
    return changed


def _copy_source_colors(part: Part) -> bool:
    src = part.source
    if part.source_version == src.version and RGB in part.mesh.cell_data:
        return False
    part.mesh.cell_data[RGB] = np.asarray(src.mesh.cell_data[RGB])[part.source_cells]
    part.source_version = src.version
    animated = {q.path: q.animated for q in src.slots}
    for s in part.slots:        # a derived slot is as animated as its prim's source slot
        s.animated = animated.get(s.path, s.animated)
    part.version += 1
    return True


def _recolor(part: Part, stage: Usd.Stage, time, only_animated: bool) -> bool:
    if not only_animated:
        refresh_animated(part, stage)
    if part.variants:
        k = part.active
        if only_animated and not part.slots[k].animated and k in part.colors:
            if part.shown == k:
                return False
            # cached, but another variant may be the one in the mesh now
            part.mesh.cell_data[RGB] = part.colors[k]
            part.shown = k
            return True
        part.colors[k] = slot_cell_colors(part, k, stage, time)
        part.mesh.cell_data[RGB] = part.colors[k]
        part.shown = k
        return True
    if RGB not in part.mesh.cell_data or not only_animated:
        rgb = np.empty((part.n_cells, 3), np.uint8)
        todo = range(len(part.slots))
    else:
        rgb = np.asarray(part.mesh.cell_data[RGB])
        todo = [k for k, s in enumerate(part.slots) if s.animated]
        if not todo:
            return False
    # small slots (a site's mast, a link) are converted together: one sRGB conversion per part,
    # not one per prim (numpy's per-call overhead is most of the cost of a few colours)
    small, linear = [], []
    for k in todo:
        s = part.slots[k]
        if s.n_items >= MEMO_ITEMS:
            rgb[s.cells] = slot_cell_colors(part, k, stage, time)
        elif len(s.cells):
            small.append(s.cells)
            linear.append(_slot_linear(part, k, stage, time)[part.cell_item[s.cells]])
    if small:
        rgb[np.concatenate(small)] = to_rgb8(linear_to_srgb(np.concatenate(linear)))
    part.mesh.cell_data[RGB] = rgb
    return True
