"""Small helpers for authoring layers with the Sdf API.

The Sdf API writes specs straight into a layer, without the composition and
change processing that the Usd API pays for on every call; inside one
:class:`pxr.Sdf.ChangeBlock` a layer of a hundred thousand specs is written in
seconds. These helpers keep the calls short: define a prim, set an attribute
from a numpy array, bind a material, add transform ops.

Prim names must be identifiers; :func:`prim_name` makes one from any id and
:func:`prim_names` makes the names of one scope collision-free.

Examples
--------
>>> prim_name("F-07"), prim_name("3GPP site")
('F_07', '_3GPP_site')
"""

from __future__ import annotations

import hashlib
import re
from typing import Any, Iterable

import numpy as np
from pxr import Sdf, Vt

__all__ = ["prim_name", "prim_names", "define", "set_attr", "set_rel", "bind_material",
           "apply_api", "set_xform_ops", "extent_of", "vt"]

_BAD = re.compile(r"[^A-Za-z0-9_]")

# numpy-backed value types: Vt arrays built with FromNumpy (one copy, no loop).
_VT_ARRAYS = {
    "point3f[]": (Vt.Vec3fArray, np.float32), "normal3f[]": (Vt.Vec3fArray, np.float32),
    "float3[]": (Vt.Vec3fArray, np.float32), "color3f[]": (Vt.Vec3fArray, np.float32),
    "vector3f[]": (Vt.Vec3fArray, np.float32), "int[]": (Vt.IntArray, np.int32),
    "float[]": (Vt.FloatArray, np.float32), "double[]": (Vt.DoubleArray, np.float64),
}


def prim_name(id_: str) -> str:
    """A valid USD prim name for an id: ASCII letters, digits and ``_``.

    Every other character becomes ``_``; a leading digit (or an empty id)
    gets a ``_`` prefix. Deterministic, but two ids may map to one name
    (``"a-b"``, ``"a_b"``): use :func:`prim_names` for the names of a scope.

    Examples
    --------
    >>> prim_name("F-07"), prim_name("7"), prim_name("Töölö")
    ('F_07', '_7', 'T__l_')
    """
    name = _BAD.sub("_", str(id_))
    return "_" + name if not name or name[0].isdigit() else name


def prim_names(ids: Iterable[str]) -> dict[str, str]:
    """Collision-free prim names for the ids of one scope, by id.

    An id keeps :func:`prim_name` of itself unless another id of the scope
    maps to the same name; then the id that is already that name (or else
    the smallest id) keeps it and the others get a suffix from a hash of
    the id. The result does not depend on the order of ``ids``.

    Examples
    --------
    >>> names = prim_names(["a-b", "a_b"])
    >>> names["a_b"], names["a-b"] != "a_b"
    ('a_b', True)
    """
    ids = sorted(set(ids))
    by_base: dict[str, list[str]] = {}
    for i in ids:
        by_base.setdefault(prim_name(i), []).append(i)
    out: dict[str, str] = {}
    taken = set(by_base)
    for base, group in by_base.items():
        keeper = base if base in group else group[0]
        out[keeper] = base
        for i in group:
            if i == keeper:
                continue
            digest = hashlib.sha1(i.encode("utf-8")).hexdigest()
            n = 8
            while f"{base}_{digest[:n]}" in taken:
                n += 1
            out[i] = f"{base}_{digest[:n]}"
            taken.add(out[i])
    return out


def define(parent: Sdf.Layer | Sdf.PrimSpec, name: str, type_name: str = "",
           kind: str | None = None) -> Sdf.PrimSpec:
    """A ``def`` prim spec named ``name`` under a layer (root) or prim spec."""
    spec = Sdf.PrimSpec(parent, name, Sdf.SpecifierDef, type_name)
    if kind:
        spec.kind = kind
    return spec


def vt(value: Any, type_name: str) -> Any:
    """Turn a numpy array into the Vt array of a value type, else pass it on."""
    if isinstance(value, np.ndarray) and type_name in _VT_ARRAYS:
        cls, dtype = _VT_ARRAYS[type_name]
        return cls.FromNumpy(np.ascontiguousarray(value, dtype=dtype))
    return value


def set_attr(prim: Sdf.PrimSpec, name: str, type_name: str, value: Any = None, *,
             custom: bool = False, uniform: bool = False,
             interpolation: str | None = None) -> Sdf.AttributeSpec:
    """Author an attribute with a default value (``None``: declare only).

    ``type_name`` is an Sdf value type name (``"point3f[]"``, ``"double"``);
    numpy arrays become Vt arrays without a Python loop.
    """
    spec = Sdf.AttributeSpec(prim, name, Sdf.ValueTypeNames.Find(type_name),
                             Sdf.VariabilityUniform if uniform else Sdf.VariabilityVarying,
                             custom)
    if value is not None:
        spec.default = vt(value, type_name)
    if interpolation:
        spec.SetInfo("interpolation", interpolation)
    return spec


def set_rel(prim: Sdf.PrimSpec, name: str, targets: list[str]) -> Sdf.RelationshipSpec:
    """Author a relationship with explicit targets."""
    rel = Sdf.RelationshipSpec(prim, name, custom=False)
    rel.targetPathList.explicitItems = [Sdf.Path(t) for t in targets]
    return rel


def apply_api(prim: Sdf.PrimSpec, *schemas: str) -> None:
    """Prepend applied API schemas (``"MaterialBindingAPI"``) to a prim spec."""
    op = prim.GetInfo("apiSchemas") if prim.HasInfo("apiSchemas") else Sdf.TokenListOp()
    items = list(op.prependedItems)
    op.prependedItems = items + [s for s in schemas if s not in items]
    prim.SetInfo("apiSchemas", op)


def bind_material(prim: Sdf.PrimSpec, material_path: str) -> None:
    """Bind a material to a prim (MaterialBindingAPI + ``material:binding``)."""
    apply_api(prim, "MaterialBindingAPI")
    set_rel(prim, "material:binding", [material_path])


def set_xform_ops(prim: Sdf.PrimSpec, *, translate=None, rotate_z_deg: float | None = None,
                  rotate_y_deg: float | None = None, scale=None) -> None:
    """Author translate, rotateZ, rotateY and scale ops, applied right to left.

    The op order is translate * rotateZ * rotateY * scale (a point is scaled
    first), the usual order for placing a scaled, oriented part.
    """
    order = []
    if translate is not None:
        set_attr(prim, "xformOp:translate", "double3", tuple(float(v) for v in translate))
        order.append("xformOp:translate")
    if rotate_z_deg is not None:
        set_attr(prim, "xformOp:rotateZ", "float", float(rotate_z_deg))
        order.append("xformOp:rotateZ")
    if rotate_y_deg is not None:
        set_attr(prim, "xformOp:rotateY", "float", float(rotate_y_deg))
        order.append("xformOp:rotateY")
    if scale is not None:
        set_attr(prim, "xformOp:scale", "float3", tuple(float(v) for v in scale))
        order.append("xformOp:scale")
    set_attr(prim, "xformOpOrder", "token[]", order, uniform=True)


def extent_of(points: np.ndarray, pad_m: float = 0.0) -> np.ndarray:
    """Extent (2, 3) of float32 points, padded by ``pad_m`` (half a curve width).

    Computed in float32 from the float32 points, as USD computes it, so it
    matches ``ComputeExtent`` exactly.
    """
    p = np.asarray(points, np.float32)
    pad = np.float32(pad_m)
    return np.array([p.min(axis=0) - pad, p.max(axis=0) + pad], np.float32)
