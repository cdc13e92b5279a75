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
  ``widths`` and, when the prim authors ``normals`` (an oriented curve: a
  ribbon in USD), the unit normal at each vertex.

Every function applies the prim's local-to-world matrix (row-vector, as
USD) that already includes the stage's up axis and ``metersPerUnit``.

Examples
--------
>>> pts, counts, idx = shape_polys("Cube", {"size": 2.0}, np.eye(4))
>>> len(counts), float(pts[:, 0].min()), float(pts[:, 0].max())
(6, -1.0, 1.0)
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import pyvista as pv
from pxr import Usd, UsdGeom

__all__ = ["MeshArrays", "CurveArrays", "SHAPES", "transform", "mesh_arrays", "shape_polys",
           "shape_arrays", "curve_arrays", "curve_normals", "ribbon_polys", "matrix_scale"]

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
    """Polylines in world metres with a radius (metres) per point.

    ``normals`` is None for unoriented curves (drawn as tubes); for oriented
    ones (USD ``normals`` authored) it holds the unit ribbon normal of every
    point, in world axes (drawn as flat ribbons, see :func:`ribbon_polys`).
    """

    points: np.ndarray          # (n, 3)
    counts: np.ndarray          # (c,) points per polyline, every one >= 2
    radius_m: np.ndarray        # (n,)
    curve_id: np.ndarray        # (c,) USD curve index of each polyline
    n_items: int
    item_vertices: tuple[np.ndarray, np.ndarray] | None
    normals: np.ndarray | None = None   # (n, 3) unit, or None

    @property
    def oriented(self) -> bool:
        """Whether the curves are ribbons (authored normals) rather than tubes."""
        return self.normals is not None


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


@functools.lru_cache(maxsize=64)
def _local_polys(type_name: str, attrs: tuple) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """An implicit shape tessellated in its own frame, once per distinct
    (type, attributes): the towers and panels of a thousand sites are
    instances of two prototypes, i.e. two tessellations."""
    a = dict(attrs)
    axis = _AXIS.get(str(a.get("axis", "Z")), _AXIS["Z"])
    if type_name == "Cube":
        s = float(a.get("size", 2.0))
        shape = pv.Cube(x_length=s, y_length=s, z_length=s)
    elif type_name == "Sphere":
        shape = pv.Sphere(radius=float(a.get("radius", 1.0)), theta_resolution=ROUND_SIDES,
                          phi_resolution=ROUND_SIDES // 2 + 2)
    elif type_name == "Cylinder":
        shape = pv.Cylinder(radius=float(a.get("radius", 1.0)), height=float(a.get("height", 2.0)),
                            direction=axis, resolution=ROUND_SIDES, capping=True)
    elif type_name == "Cone":
        shape = pv.Cone(radius=float(a.get("radius", 1.0)), height=float(a.get("height", 2.0)),
                        direction=axis, resolution=ROUND_SIDES, capping=True)
    elif type_name == "Capsule":
        r, h = float(a.get("radius", 0.5)), float(a.get("height", 1.0))
        shape = pv.Cylinder(radius=r, height=h + 2 * r, direction=axis, resolution=ROUND_SIDES)
    else:
        raise ValueError(f"not an implicit shape: {type_name}")
    shape = shape.triangulate() if type_name != "Cube" else shape
    pts, counts, idx = _polys_of(shape)
    for arr in (pts, counts, idx):
        arr.setflags(write=False)       # shared by every caller: read-only
    return pts, counts, idx


def shape_polys(type_name: str, attrs: dict, m: np.ndarray):
    """Tessellate an implicit shape in its own frame and move it by ``m``.

    ``attrs`` holds the schema attributes (size, radius, height, axis) with
    USD's fallbacks where absent.
    """
    key = tuple(sorted((k, str(v) if k == "axis" else float(v)) for k, v in attrs.items()))
    pts, counts, idx = _local_polys(type_name, key)
    return transform(pts, m), counts.copy(), idx.copy()


def shape_arrays(prim: Usd.Prim, m: np.ndarray, time=Usd.TimeCode.Default()) -> MeshArrays:
    """An implicit shape prim as polygons; its displayColor counts as one item."""
    attrs = {}
    for name in ("size", "radius", "height", "axis"):
        v = _get(prim, name, time)
        if v is not None:
            attrs[name] = v
    pts, counts, idx = shape_polys(prim.GetTypeName(), attrs, m)
    return MeshArrays(pts, counts, idx, np.zeros(len(counts), np.int64), 1, None)


def _per_point(values: np.ndarray, counts: np.ndarray) -> np.ndarray | None:
    """Values given per point, per curve or once, spread to every point (None: other sizes)."""
    n_points, n_curves = int(counts.sum()), len(counts)
    if len(values) == n_points:
        return values
    if len(values) == n_curves:
        return np.repeat(values, counts, axis=0)
    if len(values) == 1:
        return np.repeat(values, n_points, axis=0)
    return None


def curve_normals(prim: Usd.Prim, m: np.ndarray, counts: np.ndarray,
                  time=Usd.TimeCode.Default()) -> np.ndarray | None:
    """Unit ribbon normals (one per curve vertex, world axes) of an oriented curve prim.

    ``primvars:normals`` wins over ``normals``, as in USD. Normals given per
    vertex (vertex/varying on linear curves), per curve (uniform) or once
    (constant) are spread to every vertex; other sizes (varying on cubic
    curves) take their mean. Normals turn with ``m``'s inverse transpose.
    Returns None when the prim authors no normals: an unoriented curve.
    """
    pv_ = UsdGeom.PrimvarsAPI(prim).GetPrimvar("normals")
    if pv_ and pv_.HasAuthoredValue():
        raw = pv_.ComputeFlattened(time)
    else:
        raw = _get(prim, "normals", time)
    if raw is None or len(raw) == 0:
        return None
    n = np.asarray(raw, float).reshape(-1, 3)
    spread = _per_point(n, counts)
    n = spread if spread is not None else np.repeat(n.mean(axis=0, keepdims=True), int(counts.sum()), axis=0)
    try:
        # row vectors (p' = p M): a normal goes by the inverse transpose, n' = n M^-T
        inv_t = np.linalg.inv(m[:3, :3]).T
    except np.linalg.LinAlgError:       # a collapsed transform: nothing sensible to turn by
        inv_t = np.eye(3)
    n = n @ inv_t
    length = np.linalg.norm(n, axis=1, keepdims=True)
    return np.where(length > 1e-12, n / np.maximum(length, 1e-12), [0.0, 0.0, 1.0])


def curve_arrays(prim: Usd.Prim, m: np.ndarray, time=Usd.TimeCode.Default(),
                 default_width: float = 1.0) -> CurveArrays | None:
    """A ``BasisCurves`` prim's curves as polylines with radii in metres.

    Consecutive duplicate points are dropped (a tube cannot turn on a
    zero-length segment); curves left with fewer than two points are not
    drawn. Widths are in stage units, like points, and scale with ``m``.
    With authored ``normals`` the result is oriented (:attr:`CurveArrays.normals`).
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
    radius = _per_point(w, counts)
    radius = (radius if radius is not None else np.full(len(points), w[0])) / 2.0
    radius = radius * matrix_scale(m)
    normals = curve_normals(prim, m, counts, time)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    item_vertices = (np.arange(len(points)), starts)
    points = transform(points, m)
    curve = np.repeat(np.arange(n_curves), counts)
    first = np.zeros(len(points), bool)
    first[starts[counts > 0]] = True
    step = np.r_[np.inf, np.linalg.norm(np.diff(points, axis=0), axis=1)]
    keep = first | (step > 1e-9)
    points, radius, curve = points[keep], radius[keep], curve[keep]
    normals = normals[keep] if normals is not None else None
    new_counts = np.bincount(curve, minlength=n_curves)
    ok = new_counts >= 2
    if not ok.any():
        return None
    mask = ok[curve]
    return CurveArrays(points[mask], new_counts[ok], np.maximum(radius[mask], 1e-6),
                       np.flatnonzero(ok), n_curves, item_vertices,
                       normals[mask] if normals is not None else None)


#: Longest miter at a ribbon's bend, in half widths: a hairpin turn stays bounded.
MITER_LIMIT = 3.0


def ribbon_polys(points: np.ndarray, counts: np.ndarray, radius_m: np.ndarray,
                 normals: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Flat ribbons along polylines: quads between the two edges at +-radius.

    Each vertex is moved by ``radius_m`` either way along the side direction
    ``normal x tangent`` (perpendicular to the curve and to its normal; the
    tangent at a bend is the mean of the two segments' directions, and the
    offset grows as 1 / cos(half the turn), up to :data:`MITER_LIMIT`, so
    the ribbon keeps its width round corners). Quads wind counter-clockwise
    seen from the normal's side.

    Parameters
    ----------
    points : (n, 3) float
        Polyline vertices, metres; consecutive points distinct.
    counts : (c,) int
        Vertices per polyline, each >= 2.
    radius_m : (n,) float
        Half the ribbon width at each vertex, metres.
    normals : (n, 3) float
        Unit ribbon normals.

    Returns
    -------
    points (2n, 3), quad of each segment (s, 4) as vertex ids, polyline of each quad (s,)

    Examples
    --------
    >>> pts, quads, line = ribbon_polys(np.array([[0., 0, 0], [10, 0, 0]]), np.array([2]),
    ...                                 np.array([2.0, 2.0]), np.array([[0., 0, 1], [0, 0, 1]]))
    >>> pts[quads[0]].tolist()
    [[0.0, -2.0, 0.0], [10.0, -2.0, 0.0], [10.0, 2.0, 0.0], [0.0, 2.0, 0.0]]
    """
    p = np.asarray(points, float)
    n_pts = len(p)
    counts = np.asarray(counts, np.int64)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    ends = starts + counts - 1
    seg = np.diff(p, axis=0)                                  # segment k: point k -> k + 1
    seg /= np.maximum(np.linalg.norm(seg, axis=1, keepdims=True), 1e-12)
    inside = np.ones(max(n_pts - 1, 0), bool)
    inside[ends[:-1]] = False                                 # no segment between two polylines
    # direction into and out of each point (the ends reuse their only segment)
    out_dir = np.vstack([seg, np.zeros((1, 3))])
    in_dir = np.vstack([np.zeros((1, 3)), seg])
    out_dir[ends] = in_dir[ends]
    in_dir[starts] = out_dir[starts]
    tangent = in_dir + out_dir
    t_len = np.linalg.norm(tangent, axis=1, keepdims=True)
    tangent = np.where(t_len > 1e-9, tangent / np.maximum(t_len, 1e-12), out_dir)   # U-turn: either
    side = np.cross(normals, tangent)
    s_len = np.linalg.norm(side, axis=1, keepdims=True)
    # a curve running along its own normal has no side: any perpendicular will do
    fallback = np.cross(tangent, np.where(np.abs(tangent[:, :1]) < 0.9, [[1.0, 0, 0]], [[0, 1.0, 0]]))
    side = np.where(s_len > 1e-9, side, fallback)
    side /= np.maximum(np.linalg.norm(side, axis=1, keepdims=True), 1e-12)
    # miter: the offset along the bisector that keeps the ribbon radius_m from each segment
    cos_half = np.abs(np.einsum("ij,ij->i", tangent, out_dir))
    scale = 1.0 / np.clip(cos_half, 1.0 / MITER_LIMIT, 1.0)
    off = side * (radius_m * scale)[:, None]
    left, right = p + off, p - off
    ribbon = np.empty((2 * n_pts, 3))
    ribbon[0::2], ribbon[1::2] = left, right
    k = np.flatnonzero(inside)                                # segments that draw a quad
    quads = np.column_stack([2 * k + 1, 2 * k + 3, 2 * k + 2, 2 * k])
    line = np.repeat(np.arange(len(counts)), counts - 1)
    return ribbon, quads, line
