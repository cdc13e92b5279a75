"""USD geometry prims -> flat arrays (points in Z-up metres, polygons, curves).

Three families, each returning plain numpy arrays that :mod:`.parts`
merges into a few PyVista meshes:

* ``Mesh``: points, face counts and indices (faces listed in
  ``holeIndices`` are left out; left-handed meshes are re-wound), and the
  USD face index of every face kept;
* implicit shapes (``Cube``, ``Sphere``, ``Cylinder``, ``Cone``,
  ``Capsule``): tessellated at their authored size and axis;
* ``BasisCurves``: polylines through the curve vertices (cubic curves are
  drawn through their control points) with a radius per vertex from
  ``widths``.

Every function applies the prim's local-to-world matrix (row-vector, as
USD) that already includes the stage's up axis and ``metersPerUnit``.

Examples
--------
>>> pts, counts, idx = shape_polys("Cube", {"size": 2.0}, np.eye(4))
>>> len(counts), float(pts[:, 0].min()), float(pts[:, 0].max())
(6, -1.0, 1.0)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyvista as pv
from pxr import Usd, UsdGeom

__all__ = ["MeshArrays", "CurveArrays", "SHAPES", "transform", "mesh_arrays", "shape_polys",
           "shape_arrays", "curve_arrays", "matrix_scale"]

#: Implicit shapes drawn (USD schema names).
SHAPES = ("Cube", "Sphere", "Cylinder", "Cone", "Capsule")
#: Sides of tessellated round shapes.
ROUND_SIDES = 16


@dataclass
class MeshArrays:
    """Polygons in world metres; ``face_id[k]`` is the USD face of polygon ``k``."""

    points: np.ndarray          # (n, 3) float64
    counts: np.ndarray          # (f,) int
    indices: np.ndarray         # (sum(counts),) int
    face_id: np.ndarray         # (f,) int
    n_items: int                # USD faces (displayColor uniform length)
    item_vertices: tuple[np.ndarray, np.ndarray] | None   # per-vertex colour averaging


@dataclass
class CurveArrays:
    """Polylines in world metres with a radius (metres) per point."""

    points: np.ndarray          # (n, 3)
    counts: np.ndarray          # (c,) points per polyline, every one >= 2
    radius_m: np.ndarray        # (n,)
    curve_id: np.ndarray        # (c,) USD curve index of each polyline
    n_items: int
    item_vertices: tuple[np.ndarray, np.ndarray] | None


def transform(points: np.ndarray, m: np.ndarray) -> np.ndarray:
    """Points (n, 3) times a 4x4 row-vector matrix."""
    p = np.asarray(points, float).reshape(-1, 3)
    return p @ m[:3, :3] + m[3, :3]


def matrix_scale(m: np.ndarray) -> float:
    """Mean linear scale of a matrix (cube root of its 3x3 determinant's size)."""
    return float(abs(np.linalg.det(m[:3, :3])) ** (1.0 / 3.0)) or 1.0


def _get(prim: Usd.Prim, name: str, time):
    attr = prim.GetAttribute(name)
    return attr.Get(time) if attr else None


def mesh_arrays(prim: Usd.Prim, m: np.ndarray, time=Usd.TimeCode.Default()) -> MeshArrays | None:
    """A ``Mesh`` prim's polygons, or None when it has no usable faces."""
    pts = _get(prim, "points", time)
    counts = _get(prim, "faceVertexCounts", time)
    idx = _get(prim, "faceVertexIndices", time)
    if pts is None or counts is None or idx is None or len(pts) == 0 or len(counts) == 0:
        return None
    points = transform(np.asarray(pts, float), m)
    counts = np.asarray(counts, np.int64)
    idx = np.asarray(idx, np.int64)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    if counts.sum() != len(idx) or (len(idx) and (idx.min() < 0 or idx.max() >= len(points))):
        return None      # malformed topology: not drawn rather than drawn wrong
    keep = counts >= 3
    holes = _get(prim, "holeIndices", time)
    if holes is not None and len(holes):
        h = np.asarray(holes, np.int64)
        keep[h[(h >= 0) & (h < len(keep))]] = False
    n_faces = len(counts)
    item_vertices = (idx, starts)
    if UsdGeom.Mesh(prim).GetOrientationAttr().Get() == UsdGeom.Tokens.leftHanded:
        # reverse each face's vertex order so VTK sees the same outward side
        pos = np.arange(len(idx)) - np.repeat(starts, counts)
        idx = idx[np.repeat(starts + counts - 1, counts) - pos]
    if not keep.all():
        mask = np.repeat(keep, counts)
        idx, counts = idx[mask], counts[keep]
    return MeshArrays(points, counts, idx, np.flatnonzero(keep), n_faces, item_vertices)


def _polys_of(mesh: pv.PolyData) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(points, counts, indices) of a PyVista surface."""
    faces = mesh.faces
    counts, idx, k = [], [], 0
    while k < len(faces):           # small shapes only: a few dozen faces
        n = int(faces[k])
        counts.append(n)
        idx.extend(faces[k + 1:k + 1 + n])
        k += n + 1
    return np.asarray(mesh.points, float), np.asarray(counts), np.asarray(idx)


_AXIS = {"X": (1.0, 0.0, 0.0), "Y": (0.0, 1.0, 0.0), "Z": (0.0, 0.0, 1.0)}


def shape_polys(type_name: str, attrs: dict, m: np.ndarray):
    """Tessellate an implicit shape in its own frame and move it by ``m``.

    ``attrs`` holds the schema attributes (size, radius, height, axis) with
    USD's fallbacks where absent.
    """
    axis = _AXIS.get(str(attrs.get("axis", "Z")), _AXIS["Z"])
    if type_name == "Cube":
        s = float(attrs.get("size", 2.0))
        shape = pv.Cube(x_length=s, y_length=s, z_length=s)
    elif type_name == "Sphere":
        shape = pv.Sphere(radius=float(attrs.get("radius", 1.0)), theta_resolution=ROUND_SIDES,
                          phi_resolution=ROUND_SIDES // 2 + 2)
    elif type_name == "Cylinder":
        shape = pv.Cylinder(radius=float(attrs.get("radius", 1.0)), height=float(attrs.get("height", 2.0)),
                            direction=axis, resolution=ROUND_SIDES, capping=True)
    elif type_name == "Cone":
        shape = pv.Cone(radius=float(attrs.get("radius", 1.0)), height=float(attrs.get("height", 2.0)),
                        direction=axis, resolution=ROUND_SIDES, capping=True)
    elif type_name == "Capsule":
        r, h = float(attrs.get("radius", 0.5)), float(attrs.get("height", 1.0))
        shape = pv.Cylinder(radius=r, height=h + 2 * r, direction=axis, resolution=ROUND_SIDES)
    else:
        raise ValueError(f"not an implicit shape: {type_name}")
    shape = shape.triangulate() if type_name != "Cube" else shape
    pts, counts, idx = _polys_of(shape)
    return transform(pts, m), counts, idx


def shape_arrays(prim: Usd.Prim, m: np.ndarray, time=Usd.TimeCode.Default()) -> MeshArrays:
    """An implicit shape prim as polygons; its displayColor counts as one item."""
    attrs = {}
    for name in ("size", "radius", "height", "axis"):
        v = _get(prim, name, time)
        if v is not None:
            attrs[name] = v
    pts, counts, idx = shape_polys(prim.GetTypeName(), attrs, m)
    return MeshArrays(pts, counts, idx, np.zeros(len(counts), np.int64), 1, None)


def curve_arrays(prim: Usd.Prim, m: np.ndarray, time=Usd.TimeCode.Default(),
                 default_width: float = 1.0) -> CurveArrays | None:
    """A ``BasisCurves`` prim's curves as polylines with radii in metres.

    Consecutive duplicate points are dropped (a tube cannot turn on a
    zero-length segment); curves left with fewer than two points are not
    drawn. Widths are in stage units, like points, and scale with ``m``.
    """
    pts = _get(prim, "points", time)
    counts = _get(prim, "curveVertexCounts", time)
    if pts is None or counts is None or len(pts) == 0:
        return None
    points = np.asarray(pts, float)
    counts = np.asarray(counts, np.int64)
    if counts.sum() != len(points):
        return None
    n_curves = len(counts)
    widths = _get(prim, "widths", time)
    w = np.asarray(widths, float) if widths is not None and len(widths) else np.array([default_width])
    if len(w) == len(points):
        radius = w / 2.0
    elif len(w) == n_curves:
        radius = np.repeat(w, counts) / 2.0
    else:
        radius = np.full(len(points), w[0] / 2.0)
    radius = radius * matrix_scale(m)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    item_vertices = (np.arange(len(points)), starts)
    points = transform(points, m)
    curve = np.repeat(np.arange(n_curves), counts)
    first = np.zeros(len(points), bool)
    first[starts[counts > 0]] = True
    step = np.r_[np.inf, np.linalg.norm(np.diff(points, axis=0), axis=1)]
    keep = first | (step > 1e-9)
    points, radius, curve = points[keep], radius[keep], curve[keep]
    new_counts = np.bincount(curve, minlength=n_curves)
    ok = new_counts >= 2
    if not ok.any():
        return None
    mask = ok[curve]
    return CurveArrays(points[mask], new_counts[ok], np.maximum(radius[mask], 1e-6),
                       np.flatnonzero(ok), n_curves, item_vertices)
