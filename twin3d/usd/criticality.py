"""A criticality layer: element rankings of a sweep as ``over`` prims on a built stage.

:func:`write_criticality_layer` writes one layer (``.usda``, ``.usdc`` or
``.usd``) whose only sublayer is a stage ``twin3d build`` wrote (its
``twin.usda``, by a path relative to the new layer), so opening the new
layer shows the twin with criticality on top. For every ranked link and
site, at ``/World/Network/Links/<link>`` and ``/World/Network/Sites/<site>``
(the prim names of :func:`~twin3d.usd.sdfutil.prim_names`):

* ``twin:criticality_lost_bps`` with ``twin:criticality_lost_bps_ci_low``
  and ``_ci_high`` (double, bit/s: expected traffic lost when it fails, 95 %
  interval);
* ``twin:criticality_sla_minutes`` with ``_ci_low`` and ``_ci_high``
  (double, minutes);
* ``twin:criticality_rank`` (int, 1 = most critical) and
  ``twin:criticality_cases`` (int, cases that failed it);
* ``primvars:displayColor`` on the link curve, and on the site's Tower (or
  Building), from :data:`CRITICALITY_MAP` over the lost traffic as a
  percentage of the largest (grey: no case failed it).

The layer's opinions are local to the new root, so they are stronger than
the stage's scenario variant; ``customLayerData["twin3d"]`` holds the
provenance of the command and of the sweep, and the method.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
from pxr import Sdf, Vt

from ..model import Twin
from .colors import ColorMap, NO_DATA, srgb_to_linear
from .layers import DEFAULT_PRIM, new_layer, set_stage_metadata
from .network import NODE_KINDS
from .sdfutil import prim_names, set_attr

__all__ = ["CRITICALITY_MAP", "write_criticality_layer"]

#: Lost traffic in percent of the most critical element's: pale yellow to dark red.
CRITICALITY_MAP = ColorMap("criticality", 0.0, 100.0, "%",
                           np.array([[1.00, 0.93, 0.63], [0.99, 0.55, 0.24], [0.70, 0.00, 0.15]]),
                           np.array([0.0, 50.0, 100.0]))


def _color(prim: Sdf.PrimSpec, rgb_linear: np.ndarray) -> None:
    attr = set_attr(prim, "primvars:displayColor", "color3f[]",
                    Vt.Vec3fArray.FromNumpy(np.ascontiguousarray(rgb_linear[None], np.float32)))
    attr.SetInfo("interpolation", "constant")


def write_criticality_layer(path: str | Path, stage: str | Path, twin: Twin, ranking: list[dict],
                            meta: dict) -> Path:
    """Write the criticality layer over ``stage`` (see the module).

    Parameters
    ----------
    path : path
        The new layer; written through a temporary file, then moved into place.
    stage : path
        The built stage's root layer (``OUT/twin.usda``).
    twin : Twin
        The scene's twin (prim names, site kinds).
    ranking : list of dict
        :func:`twin3d.sweep.criticality.ranking_rows`.
    meta : dict
        Recorded in ``customLayerData["twin3d"]["criticality"]``.
    """
    path = Path(path).resolve()
    tmp = path.with_name(f".{path.stem}.tmp{path.suffix}")
    layer = new_layer(tmp)
    links, sites = prim_names(twin.links), prim_names(twin.sites)
    top = max((r["lost_bps"] for r in ranking if r["lost_bps"] is not None), default=0.0)
    with Sdf.ChangeBlock():
        set_stage_metadata(layer, twin)
        data = dict(layer.customLayerData["twin3d"])
        data["criticality"] = meta
        layer.customLayerData = {"twin3d": data}
        layer.subLayerPaths.append(Path(os.path.relpath(Path(stage).resolve(), path.parent)).as_posix())
        Sdf.CreatePrimInLayer(layer, f"/{DEFAULT_PRIM}").specifier = Sdf.SpecifierOver
        for r in ranking:
            kind, _, name = r["element"].partition(":")
            if kind == "link":
                prim_path = f"/{DEFAULT_PRIM}/Network/Links/{links[name]}"
            else:
                prim_path = f"/{DEFAULT_PRIM}/Network/Sites/{sites[name]}"
            prim = Sdf.CreatePrimInLayer(layer, prim_path)
            for key in ("lost_bps", "sla_minutes"):
                v, (lo, hi) = r[key], r[f"{key}_ci95"]
                for suffix, x in (("", v), ("_ci_low", lo), ("_ci_high", hi)):
                    set_attr(prim, f"twin:criticality_{key}{suffix}", "double",
                             math.nan if x is None else float(x), custom=True)
            set_attr(prim, "twin:criticality_rank", "int", 0 if r["rank"] is None else r["rank"],
                     custom=True)
            set_attr(prim, "twin:criticality_cases", "int", r["cases"], custom=True)
            if r["lost_bps"] is None:
                rgb = srgb_to_linear(np.asarray(NO_DATA, np.float32)[None])[0]
            else:
                pct = 100.0 * max(r["lost_bps"], 0.0) / top if top > 0 else 0.0
                rgb = CRITICALITY_MAP([pct])[0]
            if kind == "link":
                _color(prim, rgb)
            else:
                part = "Building" if twin.sites[name].kind.lower() in NODE_KINDS else "Tower"
                _color(Sdf.CreatePrimInLayer(layer, f"{prim_path}/{part}"), rgb)
    layer.Save()
    os.replace(tmp, path)
    return path
