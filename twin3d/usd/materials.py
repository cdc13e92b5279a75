"""UsdPreviewSurface materials in /World/Looks that show ``displayColor``.

A bound material hides a prim's ``primvars:displayColor`` in RTX and Storm
unless the material reads it. Each material here feeds its diffuseColor from
a ``UsdPrimvarReader_float3`` reading ``displayColor``, so per-face colours
(and the per-step colours a scenario layer writes later) still show; the
reader's fallback is the colour used where a prim has none. Every material
is opaque (``inputs:opacity = 1``).

Examples
--------
>>> from pxr import Sdf
>>> layer = Sdf.Layer.CreateAnonymous(".usda")
>>> looks = define(define(layer, "World", "Xform"), "Looks", "Scope")
>>> author_looks(looks)["Fiber"]
'/World/Looks/Fiber'
"""

from __future__ import annotations

from pxr import Sdf

from .colors import srgb_to_linear
from .sdfutil import define, set_attr

__all__ = ["LOOKS", "author_looks"]

#: Material name -> (fallback diffuse colour, roughness, metallic).
LOOKS: dict[str, tuple[tuple[float, float, float], float, float]] = {
    "Buildings": ((0.78, 0.76, 0.72), 0.8, 0.0),
    "Terrain": ((0.42, 0.50, 0.38), 0.95, 0.0),
    "Tower": ((0.70, 0.72, 0.75), 0.4, 0.6),
    "Sector": ((0.95, 0.95, 0.95), 0.5, 0.0),
    "Node": ((0.55, 0.60, 0.70), 0.6, 0.1),
    "Fiber": ((1.00, 0.60, 0.10), 0.5, 0.0),
    "Street": ((0.42, 0.42, 0.45), 0.9, 0.0),
}


def _material(looks: Sdf.PrimSpec, name: str, color: tuple[float, float, float],
              roughness: float, metallic: float, opacity: float = 1.0) -> str:
    mat = define(looks, name, "Material")
    path = str(mat.path)
    reader = define(mat, "DisplayColor", "Shader")
    set_attr(reader, "info:id", "token", "UsdPrimvarReader_float3", uniform=True)
    set_attr(reader, "inputs:varname", "string", "displayColor")
    set_attr(reader, "inputs:fallback", "float3", tuple(float(c) for c in srgb_to_linear(color)))
    set_attr(reader, "outputs:result", "float3")

    surf = define(mat, "PreviewSurface", "Shader")
    set_attr(surf, "info:id", "token", "UsdPreviewSurface", uniform=True)
    diffuse = set_attr(surf, "inputs:diffuseColor", "color3f")
    diffuse.connectionPathList.explicitItems = [Sdf.Path(f"{path}/DisplayColor.outputs:result")]
    set_attr(surf, "inputs:roughness", "float", float(roughness))
    set_attr(surf, "inputs:metallic", "float", float(metallic))
    # opaque: no scene asks for transparency (RTX treats a missing opacity as 1
    # too, but an explicit value keeps a renderer's default out of it)
    set_attr(surf, "inputs:opacity", "float", float(opacity))
    set_attr(surf, "outputs:surface", "token")

    out = set_attr(mat, "outputs:surface", "token")
    out.connectionPathList.explicitItems = [Sdf.Path(f"{path}/PreviewSurface.outputs:surface")]
    return path


def author_looks(looks: Sdf.PrimSpec) -> dict[str, str]:
    """Define every material of :data:`LOOKS` under ``looks``.

    Returns
    -------
    dict
        Material name -> prim path, for :func:`~.sdfutil.bind_material`.
    """
    return {name: _material(looks, name, *spec) for name, spec in LOOKS.items()}
