"""Attach a criticality layer to a build: ``OUT/layers/criticality.usda`` in every root.

:func:`attach_criticality` writes one layer, :data:`CRITICALITY_LAYER`, and
adds it as the *weakest* sublayer of ``OUT/twin.usda`` and of every
``OUT/scenarios/<name>.usda`` (each root rewritten through a temporary file
and ``os.replace``), so ``twin3d view OUT`` and ``twin3d export OUT`` find
it with no extra argument. The layer holds, on the prims
:mod:`twin3d.usd.criticality` names:

* ``twin:criticality_*`` (lost bit/s and SLA minutes with their 95 %
  intervals, rank, cases) as plain local opinions: they conflict with no
  other layer, so every composed scenario and every flattened export
  carries them;
* the criticality display colours inside a ``criticality`` variant set on
  ``/World`` (variants ``off``, the default, and ``on``). Colours authored
  outside a variant would be local opinions, stronger than the scenario's
  utilization colours, and would repaint the twin for good; inside a
  variant they show only when asked for (Omniverse's variant menu, or
  ``twin3d export --criticality``). In the combined root the
  ``criticality`` set is listed before ``scenario``, so when on it is the
  stronger variant and its colours win over the scenario's samples.

Attaching again replaces the layer; the roots are not listed twice.

Examples
--------
>>> attach_criticality("out", twin, ranking, meta)      # doctest: +SKIP
PosixPath('out/layers/criticality.usda')
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from pxr import Sdf

from ..errors import InputError
from ..model import Twin
from .colors import NO_DATA, srgb_to_linear
from .criticality import CRITICALITY_MAP, _color
from .layers import DEFAULT_PRIM, ROOT_NAME, SCENARIO_DIR, new_layer, set_stage_metadata
from .network import NODE_KINDS
from .sdfutil import prim_names, set_attr

__all__ = ["CRITICALITY_LAYER", "CRITICALITY_SET", "attach_criticality", "criticality_colors",
           "element_prim_path"]

#: The layer, relative to the build folder.
CRITICALITY_LAYER = "layers/criticality.usda"
#: The variant set on /World that shows the criticality colours (``on``) or not (``off``).
CRITICALITY_SET = "criticality"


def element_prim_path(element: str, links: dict[str, str], sites: dict[str, str]) -> str:
    """``link:L7`` -> ``/World/Network/Links/L7`` (through the prim names of the twin)."""
    kind, _, name = element.partition(":")
    if kind == "link":
        return f"/{DEFAULT_PRIM}/Network/Links/{links[name]}"
    return f"/{DEFAULT_PRIM}/Network/Sites/{sites[name]}"


def criticality_colors(lost_bps: np.ndarray) -> np.ndarray:
    """Linear display colours (n, 3) of lost traffic: percent of the largest, grey for NaN.

    Examples
    --------
    >>> criticality_colors(np.array([0.0, 2e9, np.nan])).shape
    (3, 3)
    """
    lost = np.asarray(lost_bps, float)
    ok = np.isfinite(lost)
    top = float(np.max(lost[ok], initial=0.0))
    pct = np.where(ok, 100.0 * np.maximum(np.nan_to_num(lost), 0.0) / top if top > 0 else 0.0, 0.0)
    rgb = np.asarray(CRITICALITY_MAP(pct), np.float32).reshape(-1, 3)
    rgb[~ok] = srgb_to_linear(np.asarray(NO_DATA, np.float32)[None])[0]
    return rgb


def _write_layer(path: Path, twin: Twin, ranking: list[dict], meta: dict) -> None:
    tmp = path.with_name(f".{path.stem}.tmp{path.suffix}")
    layer = new_layer(tmp)
    links, sites = prim_names(twin.links), prim_names(twin.sites)
    lost = np.array([np.nan if r["lost_bps"] is None else float(r["lost_bps"]) for r in ranking])
    rgb = criticality_colors(lost)
    with Sdf.ChangeBlock():
        set_stage_metadata(layer, twin)
        data = dict(layer.customLayerData["twin3d"])
        data["criticality"] = meta
        layer.customLayerData = {"twin3d": data}
        world = Sdf.CreatePrimInLayer(layer, f"/{DEFAULT_PRIM}")
        world.specifier = Sdf.SpecifierOver
        vset = Sdf.VariantSetSpec(world, CRITICALITY_SET)
        Sdf.VariantSpec(vset, "off")
        on = Sdf.VariantSpec(vset, "on").primSpec
        world.variantSetNameList.prependedItems = [CRITICALITY_SET]
        world.variantSelections[CRITICALITY_SET] = "off"
        on_root = on.path      # /World{criticality=on}
        for r, color in zip(ranking, rgb):
            path_ = element_prim_path(r["element"], links, sites)
            prim = Sdf.CreatePrimInLayer(layer, path_)
            for key in ("lost_bps", "sla_minutes"):
                v, (lo, hi) = r[key], r[f"{key}_ci95"]
                for suffix, x in (("", v), ("_ci_low", lo), ("_ci_high", hi)):
                    set_attr(prim, f"twin:criticality_{key}{suffix}", "double",
                             float("nan") if x is None else float(x), custom=True)
            set_attr(prim, "twin:criticality_rank", "int", 0 if r["rank"] is None else r["rank"],
                     custom=True)
            set_attr(prim, "twin:criticality_cases", "int", r["cases"], custom=True)
            # the colour goes on the curve (link) or on the site's Tower / Building
            rel = Sdf.Path(path_).MakeRelativePath(Sdf.Path(f"/{DEFAULT_PRIM}"))
            target = on_root.AppendPath(rel)
            kind, _, name = r["element"].partition(":")
            if kind == "site":
                part = "Building" if twin.sites[name].kind.lower() in NODE_KINDS else "Tower"
                target = target.AppendChild(part)
            _color(Sdf.CreatePrimInLayer(layer, target), color)
    layer.Save()
    os.replace(tmp, path)
    cached = Sdf.Layer.Find(str(path))
    if cached is not None:
        cached.Reload(force=True)


def _attach_to_root(root: Path, sublayer: str, combined: bool) -> None:
    """Add ``sublayer`` (weakest) to ``root``; list the criticality set first on a combined root."""
    layer = Sdf.Layer.OpenAsAnonymous(str(root))
    if layer is None:
        raise InputError(root, "cannot open the root stage")
    with Sdf.ChangeBlock():
        subs = [s for s in layer.subLayerPaths if Path(s).name != Path(sublayer).name]
        layer.subLayerPaths = [*subs, sublayer]
        world = layer.GetPrimAtPath(f"/{DEFAULT_PRIM}")
        if combined and world is not None:
            names = [n for n in world.variantSetNameList.prependedItems if n != CRITICALITY_SET]
            world.variantSetNameList.prependedItems = [CRITICALITY_SET, *names]
    tmp = root.with_name(f".{root.stem}.tmp{root.suffix}")
    try:
        if not layer.Export(str(tmp)):
            raise OSError(f"cannot write {tmp}")
        os.replace(tmp, root)
    finally:
        tmp.unlink(missing_ok=True)
    cached = Sdf.Layer.Find(str(root.resolve()))
    if cached is not None:
        cached.Reload(force=True)


def attach_criticality(out_dir: str | Path, twin: Twin, ranking: list[dict], meta: dict) -> Path:
    """Write :data:`CRITICALITY_LAYER` into a build and sublayer it in every root stage.

    Parameters
    ----------
    out_dir : path
        A folder ``twin3d build`` wrote (holding ``twin.usda``).
    twin : Twin
        The scene's twin (prim names, site kinds).
    ranking : list of dict
        :func:`twin3d.sweep.criticality.ranking_rows`.
    meta : dict
        Recorded in ``customLayerData["twin3d"]["criticality"]`` (USD-safe values).

    Returns
    -------
    Path
        The layer written.

    Raises
    ------
    InputError
        ``out_dir`` holds no ``twin.usda``.
    """
    out_dir = Path(out_dir).resolve()
    root = out_dir / ROOT_NAME
    if not root.is_file():
        raise InputError(out_dir, f"not a twin3d build folder (no {ROOT_NAME})", field="stage")
    path = out_dir / CRITICALITY_LAYER
    _write_layer(path, twin, ranking, meta)
    _attach_to_root(root, f"./{CRITICALITY_LAYER}", combined=True)
    for scen in sorted((out_dir / SCENARIO_DIR).glob("*.usda")):
        _attach_to_root(scen, f"../{CRITICALITY_LAYER}", combined=False)
    return path
