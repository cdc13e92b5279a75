"""Screen-space overlays of the network: site glyphs, link lines, labels.

A mast is a few metres wide and a fibre tube a metre: seen from a few
kilometres up they are thinner than a pixel, cannot be clicked and cannot
be read. These parts draw the same elements at a constant size on screen,
whatever the zoom, from parts :func:`.parts.stage_parts` already made (no
second read of the stage's geometry):

- ``Network:glyphs``: one point per site (``style="points"``, a
  :data:`GLYPH_PX` pixel square) on top of its tallest prim, coloured like
  that prim (its state colour) and picked as the site;
- ``Network:lines``: the links' centre lines, :data:`LINE_PX` pixels wide,
  coloured like the tubes (utilization) and picked as the link;
- ``Labels:text``: every site's id as flat text lying on the map east of
  its glyph, and every cell's id (half as tall) beyond its sector panel,
  a fixed fraction of the scene wide (vtk.js draws polygons; a text actor
  would render only on the server), picked as the site.

Glyphs and lines copy their colours from the parts they mark
(:attr:`.parts.Part.source`): a time step reads each animated prim once.

Glyphs and lines are lifted by :func:`lift_m` so that at a country's scale
they do not sink into the terrain's depth.

Examples
--------
>>> lift_m((0, 1000, 0, 500, 0, 0))
1.0
"""

from __future__ import annotations

import numpy as np
import pyvista as pv
from pxr import Usd

from .parts import RGB, Part, Slot

__all__ = ["network_overlays", "label_part", "lift_m", "GLYPH_PX", "LINE_PX", "LABEL_RGB"]

#: Side of a site glyph on screen, pixels.
GLYPH_PX = 14.0
#: Width of a link line on screen, pixels.
LINE_PX = 3.0
#: Colour of labels (light grey on the dark background and on the maps).
LABEL_RGB = (235, 235, 235)


def lift_m(bounds) -> float:
    """Height (m) overlays float above what they mark: 0.1 % of the scene's width."""
    return 1e-3 * max(float(bounds[1]) - float(bounds[0]), float(bounds[3]) - float(bounds[2]))


def _site_glyphs(shapes: Part, stage: Usd.Stage, lift: float) -> Part | None:
    """One vertex per site (element) with shapes, from the ``Network:shapes`` part."""
    centers = np.asarray(shapes.mesh.cell_centers().points)
    z_top = _cell_zmax(shapes.mesh)
    by_element: dict[str, list[int]] = {}
    for j, s in enumerate(shapes.slots):
        by_element.setdefault(s.element, []).append(j)
    names = [e for e in by_element if stage.GetPrimAtPath(e).HasAttribute("twin:id")]
    if not names:
        return None
    pts, slots, source_cells = [], [], []
    for k, name in enumerate(names):
        mine = by_element[name]
        main = max(mine, key=lambda j: len(shapes.slots[j].cells))   # the mast or node block
        cells = np.concatenate([shapes.slots[j].cells for j in mine])
        c = centers[shapes.slots[main].cells].mean(axis=0)
        pts.append([c[0], c[1], z_top[cells].max() + lift])
        src = shapes.slots[main]
        slots.append(Slot(src.path, name, np.array([k]), src.n_items, src.item_vertices, src.animated))
        # coloured like item 0 of that prim: copy the colour of one of its cells showing item 0
        first = src.cells[shapes.cell_item[src.cells] == 0]
        source_cells.append(first[0] if len(first) else src.cells[0])
    mesh = pv.PolyData(np.asarray(pts, np.float32))      # one vertex cell per point
    n = len(pts)
    item = np.zeros(n, np.int32)
    return Part("Network:glyphs", "Network", "glyphs", mesh, slots, np.arange(n, dtype=np.int32), item,
                source=shapes, source_cells=np.asarray(source_cells, np.int64))


def _cell_zmax(mesh: pv.PolyData) -> np.ndarray:
    """Highest z of every polygon's points (a polygons-only mesh; no per-cell loop)."""
    z = np.asarray(mesh.points)[:, 2]
    polys = mesh.GetPolys()
    offsets = np.asarray(pv.convert_array(polys.GetOffsetsArray()))
    conn = np.asarray(pv.convert_array(polys.GetConnectivityArray()))
    return np.maximum.reduceat(z[conn], offsets[:-1])


def _cell_labels(shapes: Part, stage: Usd.Stage, glyphs: Part, height_m: float):
    """(ids, anchors (n, 3), site elements) of the cells: prims with a ``twin:id`` between a
    shape and its site (the sector panels), placed beyond each panel, away from the mast."""
    site_xyz = {s.element: p for s, p in zip(glyphs.slots, np.asarray(glyphs.mesh.points, float))}
    centers = np.asarray(shapes.mesh.cell_centers().points, float)
    ids, anchors, elements = [], [], []
    for s in shapes.slots:
        prim = stage.GetPrimAtPath(s.path)
        while prim and str(prim.GetPath()) != s.element and not prim.HasAttribute("twin:id"):
            prim = prim.GetParent()
        if not prim or str(prim.GetPath()) == s.element or s.element not in site_xyz:
            continue
        site = site_xyz[s.element]
        c = centers[s.cells].mean(axis=0)
        out = c[:2] - site[:2]
        out = out / max(np.hypot(*out), 1e-9)
        ids.append(str(prim.GetAttribute("twin:id").Get()))
        anchors.append([*(site[:2] + out * 3.0 * height_m), site[2]])
        elements.append(s.element)
    return ids, np.asarray(anchors, float).reshape(-1, 3), elements


def _link_lines(curves: Part, lift: float) -> Part | None:
    """The tubes' centre lines as one line part, slot for slot."""
    lines = curves.centerline
    if lines is None or not lines.n_cells:
        return None
    mesh = lines.copy()
    mesh.points = np.asarray(mesh.points) + np.float32([0.0, 0.0, lift])
    cslot = np.asarray(mesh.cell_data["slot"], np.int32)
    citem = np.asarray(mesh.cell_data["item"], np.int32)
    slots = [Slot(s.path, s.element, np.flatnonzero(cslot == k), s.n_items, s.item_vertices, s.animated)
             for k, s in enumerate(curves.slots)]
    part = Part("Network:lines", "Network", "lines", mesh, slots, cslot, citem)
    # each line copies the colour of a tube cell of the same curve (same slot and item)
    width = int(max(curves.cell_item.max(initial=0), citem.max(initial=0))) + 1
    tube_key = curves.cell_slot.astype(np.int64) * width + curves.cell_item
    line_key = cslot.astype(np.int64) * width + citem
    keys, first = np.unique(tube_key, return_index=True)
    at = np.searchsorted(keys, line_key)
    if len(keys) and np.all(at < len(keys)) and np.array_equal(keys[np.minimum(at, len(keys) - 1)], line_key):
        part.source, part.source_cells = curves, first[at]
    return part


def label_part(texts: list[str], anchors: np.ndarray, elements: list[str], height_m,
               name: str = "Labels:text", group: str = "Labels", centred=False) -> Part | None:
    """Flat text meshes (one merged mesh) lying on z = anchor z, starting just east of each
    anchor (or centred on it).

    Parameters
    ----------
    texts : list of str
        What to write.
    anchors : (n, 3) array
        Where each text starts (its left end, mid-height), metres.
    elements : list of str
        Prim path a pick on each text selects.
    height_m : float or (n,) array
        Letter height, metres.
    centred : bool or (n,) array of bool
        Centre the text on its anchor instead of starting east of it.
    """
    pts, faces, cell_slot, slots = [], [], [], []
    n_pts = n_cells = 0
    unit = 1.0 / max(np.ptp(np.asarray(pv.Text3D("H", depth=0.0).points)[:, 1]), 1e-9)
    heights = np.broadcast_to(np.asarray(height_m, float), (len(texts),))
    centre = np.broadcast_to(np.asarray(centred, bool), (len(texts),))
    for text, (x, y, z), elem, h, mid in zip(texts, np.asarray(anchors, float), elements, heights,
                                             centre):
        t = pv.Text3D(str(text), depth=0.0).triangulate()
        p = np.asarray(t.points, float)
        if not len(p):
            continue
        x0 = (p[:, 0].min() + p[:, 0].max()) / 2.0 if mid else p[:, 0].min()
        p = (p - [x0, 0.0, 0.0]) * (h * unit) + [x + (0.0 if mid else 0.6 * h), y, z]
        f = t.faces.reshape(-1, 4)[:, 1:] + n_pts
        pts.append(p)
        faces.append(f)
        cell_slot.append(np.full(len(f), len(slots), np.int32))
        slots.append(Slot(elem, elem, np.arange(n_cells, n_cells + len(f)), 1, None))
        n_pts += len(p)
        n_cells += len(f)
    if not slots:
        return None
    f = np.vstack(faces)
    mesh = pv.PolyData(np.vstack(pts).astype(np.float32),
                       np.column_stack([np.full(len(f), 3), f]).ravel())
    mesh.cell_data[RGB] = np.tile(np.uint8(LABEL_RGB), (mesh.n_cells, 1))
    return Part(name, group, "labels", mesh, slots, np.concatenate(cell_slot),
                np.zeros(n_cells, np.int32), fixed=True)


def network_overlays(parts: list[Part], stage: Usd.Stage, bounds, time=Usd.TimeCode.Default(),
                     label_height_m: float | None = None) -> list[Part]:
    """Glyph, line and label parts for the network parts among ``parts``.

    Parameters
    ----------
    parts : list of Part
        From :func:`.parts.stage_parts`.
    stage : Usd.Stage
        The stage they were read from (site ids: ``twin:id``).
    bounds : (xmin, xmax, ymin, ymax, zmin, zmax)
        The network's extent, metres (sets the lift and the label size).
    label_height_m : float, optional
        Letter height; default 1.2 % of the scene's width, at least 4 m.
    """
    from .parts import recolor
    lift = lift_m(bounds)
    out: list[Part] = []
    by_name = {p.name: p for p in parts}
    glyphs = None
    if "Network:shapes" in by_name:
        glyphs = _site_glyphs(by_name["Network:shapes"], stage, lift)
    if "Network:curves" in by_name:
        lines = _link_lines(by_name["Network:curves"], lift)
        if lines is not None:
            out.append(lines)
    if glyphs is not None:
        out.append(glyphs)
        height = label_height_m or max(4.0, 12.0 * lift)
        ids = [str(stage.GetPrimAtPath(s.element).GetAttribute("twin:id").Get()) for s in glyphs.slots]
        anchors = np.asarray(glyphs.mesh.points, float)
        elements = [s.element for s in glyphs.slots]
        c_ids, c_anchors, c_elements = _cell_labels(by_name["Network:shapes"], stage, glyphs, height)
        n = len(ids)
        labels = label_part(ids + c_ids, np.vstack([anchors, c_anchors]) if c_ids else anchors,
                            elements + c_elements, np.r_[np.full(n, height), np.full(len(c_ids), height / 2)],
                            centred=np.r_[np.zeros(n, bool), np.ones(len(c_ids), bool)])
        if labels is not None:
            out.append(labels)
    for p in out:
        recolor(p, stage, time, only_animated=False)
    return out
