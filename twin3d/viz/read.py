"""Reading a composed USD stage: frame, transforms, visibility, colours, attributes.

Everything here works on the *composed* stage (``Usd.Stage.Open`` and prim
traversal), never on how its layers are laid out in files, so sublayered,
referenced and variant-selected stages read the same. Positions come out in
metres in a Z-up frame whatever the stage's ``upAxis`` and
``metersPerUnit``.

Examples
--------
>>> from pxr import Usd, UsdGeom
>>> stage = Usd.Stage.CreateInMemory()
>>> _ = UsdGeom.SetStageUpAxis(stage, UsdGeom.Tokens.y)
>>> _ = UsdGeom.SetStageMetersPerUnit(stage, 0.01)
>>> to_metres_z_up(stage).round(3).tolist()[:3]
[[0.01, 0.0, 0.0, 0.0], [0.0, 0.0, 0.01, 0.0], [0.0, -0.01, 0.0, 0.0]]
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from pxr import Gf, Kind, Usd, UsdGeom, UsdShade

from ..errors import InputError

__all__ = ["open_stage", "to_metres_z_up", "world_matrices", "is_drawn", "element_of",
           "display_color", "face_colors", "DEFAULT_COLOR", "prim_attributes", "plain"]

#: Colour of geometry that has neither displayColor nor a material colour.
DEFAULT_COLOR = (0.44799, 0.44799, 0.44799)     # linear, as displayColor: sRGB 0.7 grey


def open_stage(path: str | Path) -> Usd.Stage:
    """Open a stage file (``.usda``, ``.usdc``, ``.usdz``) or raise InputError.

    A folder is taken as a twin3d output folder: its ``twin.usda``.
    """
    p = Path(path)
    if p.is_dir():
        p = p / "twin.usda"
    if not p.is_file():
        raise InputError(p, "stage file not found")
    try:
        stage = Usd.Stage.Open(str(p.resolve()))
    except Exception as exc:        # pxr raises Tf.ErrorException with the parser's message
        raise InputError(p, f"cannot open the USD stage: {str(exc).strip().splitlines()[-1]}")
    if stage is None:   # pragma: no cover - Open raises on failure in usd-core
        raise InputError(p, "cannot open the USD stage")
    return stage


def to_metres_z_up(stage: Usd.Stage) -> np.ndarray:
    """4x4 matrix (USD row-vector convention) taking stage units to Z-up metres.

    Y-up stages turn +90 degrees about X ((x, y, z) -> (x, -z, y)); every
    coordinate is scaled by ``metersPerUnit``.
    """
    mpu = float(UsdGeom.GetStageMetersPerUnit(stage) or 1.0)
    m = np.eye(4) * mpu
    m[3, 3] = 1.0
    if UsdGeom.GetStageUpAxis(stage) == UsdGeom.Tokens.y:
        rot = np.array([[1, 0, 0, 0], [0, 0, 1, 0], [0, -1, 0, 0], [0, 0, 0, 1]], float)
        m = rot @ m
    return m


def world_matrices(stage: Usd.Stage, prims, time=Usd.TimeCode.Default()) -> list[np.ndarray]:
    """Local-to-world matrices (4x4, row vectors) of ``prims``, in Z-up metres."""
    cache = UsdGeom.XformCache(time)
    fix = to_metres_z_up(stage)
    return [np.array(cache.GetLocalToWorldTransform(p), float) @ fix for p in prims]


def is_drawn(prim: Usd.Prim) -> bool:
    """Visible (computed through its ancestors) and of purpose default or render."""
    img = UsdGeom.Imageable(prim)
    if not img:
        return False
    if img.ComputeVisibility() == UsdGeom.Tokens.invisible:
        return False
    return img.ComputePurpose() in (UsdGeom.Tokens.default_, UsdGeom.Tokens.render)


def element_of(prim: Usd.Prim) -> Usd.Prim:
    """The element a picked prim stands for: its nearest component model, else itself.

    A site's mast and panels are parts of the site (kind component); a link
    curve is its own element.
    """
    p = prim
    while p and not p.IsPseudoRoot():
        kind = Usd.ModelAPI(p).GetKind()
        # the registry, not IsKind: a hand-written stage need not keep the model hierarchy
        if kind and Kind.Registry.IsA(kind, Kind.Tokens.component):
            return p
        p = p.GetParent()
    return prim


def _material_color(prim: Usd.Prim) -> tuple[float, float, float] | None:
    """The constant ``diffuseColor`` of a bound UsdPreviewSurface, if not connected."""
    mat, _ = UsdShade.MaterialBindingAPI(prim).ComputeBoundMaterial()
    if not mat:
        return None
    shader = mat.ComputeSurfaceSource()[0]
    if not shader:
        return None
    inp = shader.GetInput("diffuseColor")
    if not inp or inp.HasConnectedSource():
        return None
    v = inp.Get()
    return None if v is None else tuple(float(c) for c in v)


def display_color(prim: Usd.Prim) -> UsdGeom.Primvar:
    """The ``displayColor`` primvar that applies to ``prim``: its own, else a
    constant one inherited from an ancestor (USD primvar inheritance).

    An instance's geometry lives in its prototype and authors no colour; the
    instance prim's constant displayColor reaches it through inheritance.
    The returned primvar may be invalid (no colour anywhere).
    """
    return UsdGeom.PrimvarsAPI(prim).FindPrimvarWithInheritance("displayColor")


def face_colors(prim: Usd.Prim, n_items: int, time=Usd.TimeCode.Default(),
                item_vertices: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
    """One RGB (0..1) per face (mesh) or per curve (curves) of ``prim`` at ``time``.

    ``displayColor`` (the prim's own, or a constant one inherited from an
    ancestor: see :func:`display_color`) is honoured at every
    interpolation: constant fills all items, uniform is taken as it is,
    vertex/varying/faceVarying values are averaged over each item's
    vertices (``item_vertices`` = (indices into the per-vertex values, item
    start offsets); faceVarying uses the running face-vertex index). Indexed primvars are flattened. Without
    displayColor, a bound UsdPreviewSurface's diffuseColor, else grey.

    Returns
    -------
    (n_items, 3) float32
    """
    pv = display_color(prim)
    raw = pv.ComputeFlattened(time) if pv and pv.HasValue() else None
    if raw is None or len(raw) == 0:
        rgb = _material_color(prim) or DEFAULT_COLOR
        return np.tile(np.asarray(rgb, np.float32), (n_items, 1))
    vals = np.asarray(raw, np.float32).reshape(-1, 3)
    interp = pv.GetInterpolation()
    if interp == UsdGeom.Tokens.constant or len(vals) == 1:
        return np.tile(vals[0], (n_items, 1))
    if interp == UsdGeom.Tokens.uniform:
        if len(vals) >= n_items:
            return vals[:n_items]
        return np.tile(vals[0], (n_items, 1))   # malformed: too few; not worth failing over
    if item_vertices is None:
        return np.tile(vals.mean(axis=0), (n_items, 1))
    idx, starts = item_vertices
    if interp == UsdGeom.Tokens.faceVarying:
        idx = np.arange(len(idx))
    if idx.size == 0 or idx.max() >= len(vals):
        return np.tile(vals[0], (n_items, 1))
    counts = np.diff(np.append(starts, len(idx)))
    sums = np.add.reduceat(vals[idx], starts, axis=0) if len(starts) else np.zeros((0, 3))
    return (sums / np.maximum(counts, 1)[:, None]).astype(np.float32)


def plain(value: Any) -> Any:
    """A USD attribute value as plain Python (str, float, int, bool, list)."""
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    if isinstance(value, (Gf.Vec3f, Gf.Vec3d, Gf.Vec2f, Gf.Vec2d, Gf.Vec4f, Gf.Vec4d)):
        return [float(v) for v in value]
    try:
        arr = np.asarray(value)
    except Exception:       # pragma: no cover - anything exotic is shown as text
        return str(value)
    if arr.dtype.kind in "fiub":
        return arr.tolist()
    return str(value)


def prim_attributes(prim: Usd.Prim, time=Usd.TimeCode.Default(), max_len: int = 16) -> dict[str, Any]:
    """Custom (``twin:`` and other user) attributes of ``prim`` at ``time``.

    Arrays longer than ``max_len`` are summarised by their length, so the
    inspector never ships a mesh's worth of values.
    """
    out: dict[str, Any] = {}
    for attr in prim.GetAttributes():
        name = attr.GetName()
        if not (attr.IsCustom() or name.startswith("twin:")):
            continue
        v = attr.Get(time)
        if v is None:
            continue
        if hasattr(v, "__len__") and not isinstance(v, str) and len(v) > max_len:
            out[name] = f"[{len(v)} values]"
        else:
            out[name] = plain(v)
    return out
