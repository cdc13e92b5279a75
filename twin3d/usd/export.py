"""Export one scenario as a self-contained OpenUSD file (Omniverse review).

:func:`export_scenario` opens a root stage (a scenario root
``OUT/scenarios/<name>.usda``, or the combined ``OUT/twin.usda`` with a
``scenario`` variant selected), flattens the composed stage into one layer
(``Usd.Stage.Flatten``: time samples, variant selection and native instancing
kept; the prototypes become root ``class`` prims ``/Flattened_Prototype_N``)
and writes it as ``.usda``, ``.usdc`` or ``.usdz`` (a ``.usdc`` packaged by
``UsdUtils.CreateNewUsdzPackage``). The exported layer carries the stage
metadata (Z up, metres, defaultPrim World), the scenario's time code range
and playback rate, and in ``customLayerData["twin3d"]`` the georeference and
the scenario's story (KPI table, events, cascades), so the file alone tells
it, with the build's ``provenance`` (:mod:`twin3d.provenance`) and
``exported_by`` (twin3d version and command line of the export);
``/CesiumGeoreference`` comes along from the base layer.

A build with a criticality layer (:mod:`twin3d.usd.criticality_attach`)
exports its ``twin:criticality_*`` attributes always; ``criticality=True``
also selects its ``criticality`` variant, so the links and sites carry the
criticality colours instead of the scenario's (the combined root, where
that variant is the stronger one, is exported then).

Every file is written to a temporary name beside the target, checked by
:func:`check_package` (no absolute or outside asset path, nothing
unresolved) and only then moved into place.

Examples
--------
>>> export_scenario("out/scenarios/site_outage.usda", "site_outage.usdz")   # doctest: +SKIP
PosixPath('site_outage.usdz')
>>> export_scenario("out/twin.usda", "cut.usdc", variant="fiber_cut_evening_peak")   # doctest: +SKIP
PosixPath('cut.usdc')
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any, Sequence

from pxr import Sdf, Tf, Usd, UsdUtils

from ..errors import InputError
from .layers import DEFAULT_PRIM, ROOT_NAME, SCENARIO_DIR, VARIANT_SET, scenario_stem

__all__ = ["FORMATS", "export_scenario", "check_package", "scenario_names", "export_all",
           "prim_count", "time_sampled"]

#: Output formats, by file suffix.
FORMATS = ("usdz", "usdc", "usda")


def _format(out_file: Path, fmt: str | None) -> str:
    suffix = out_file.suffix.lower().lstrip(".")
    if fmt is None:
        fmt = suffix or "usdz"
    fmt = str(fmt).lower().lstrip(".")
    if fmt not in FORMATS:
        raise InputError(out_file, f"unknown export format '{fmt}' (use one of {', '.join(FORMATS)})",
                         field="format")
    if suffix != fmt:
        got = f"file suffix '.{suffix}' does not match" if suffix else "the file has no suffix for"
        raise InputError(out_file, f"{got} the format '{fmt}' (name it *.{fmt})", field="format")
    return fmt


def _open(path: Path) -> Usd.Stage:
    from .validate import _open as open_stage   # one place turns Tf errors into InputError
    if not path.is_file():
        raise InputError(path, "no such USD stage")
    return open_stage(path)


def scenario_names(stage: Usd.Stage) -> list[str]:
    """The scenario variants a combined stage offers (empty for other stages)."""
    world = stage.GetPrimAtPath(f"/{DEFAULT_PRIM}")
    if not world or not world.GetVariantSets().HasVariantSet(VARIANT_SET):
        return []
    return list(world.GetVariantSet(VARIANT_SET).GetVariantNames())


def _stage_scenario(stage: Usd.Stage) -> str | None:
    meta = stage.GetRootLayer().customLayerData.get("twin3d", {})
    return meta.get("scenario")


def _select(stage: Usd.Stage, path: Path, variant: str | None) -> str | None:
    """Select ``variant`` (in the session layer); the selected scenario's stem."""
    names = scenario_names(stage)
    if names:
        vset = stage.GetPrimAtPath(f"/{DEFAULT_PRIM}").GetVariantSet(VARIANT_SET)
        if variant is None:
            return vset.GetVariantSelection() or None
        stem = scenario_stem(variant)
        if stem not in names:
            raise InputError(path, f"unknown scenario '{variant}' (the stage has: {', '.join(names)})",
                             field="scenario")
        with Usd.EditContext(stage, stage.GetSessionLayer()):
            vset.SetVariantSelection(stem)
        return stem
    own = _stage_scenario(stage)
    if variant is not None and (own is None or scenario_stem(variant) != scenario_stem(own)):
        have = f"it is the root of scenario '{own}'" if own else "it has no scenario variant set"
        raise InputError(path, f"unknown scenario '{variant}': {have}", field="scenario")
    return scenario_stem(own) if own else None


def _scenario_layer(stage: Usd.Stage, stem: str | None) -> Sdf.Layer | None:
    """The used layer that holds the scenario's story (its KPI table)."""
    if stem is None:
        return None
    for layer in stage.GetUsedLayers():
        meta = layer.customLayerData.get("twin3d", {})
        if "kpis" in meta and scenario_stem(meta.get("scenario", "")) == stem:
            return layer
    return None


def _restore_metadata(flat: Sdf.Layer, stage: Usd.Stage, stem: str | None) -> None:
    """Root metadata plus the scenario layer's story and time range on ``flat``."""
    meta: dict[str, Any] = dict(stage.GetRootLayer().customLayerData.get("twin3d", {}))
    meta.pop("scenarios", None)          # the variant list of the combined stage
    source = _scenario_layer(stage, stem)
    if source is not None:
        meta.update(source.customLayerData["twin3d"])
        for key in ("startTimeCode", "endTimeCode", "timeCodesPerSecond", "framesPerSecond"):
            if source.pseudoRoot.HasInfo(key):
                flat.pseudoRoot.SetInfo(key, source.pseudoRoot.GetInfo(key))
    from ..provenance import command_line, twin3d_version
    meta["exported_by"] = {"twin3d_version": twin3d_version(), "command": command_line()}
    flat.customLayerData = {"twin3d": meta}
    flat.defaultPrim = DEFAULT_PRIM


def _prototypes_as_classes(flat: Sdf.Layer) -> None:
    """Make Flatten's instance prototypes ``class`` prims.

    ``Usd.Stage.Flatten`` writes each instancing prototype as a root
    ``over`` named ``Flattened_Prototype_N`` that the instances reference;
    an ``over`` nothing defines is reported by usd-validation-nvidia's
    DanglingOverPrimChecker, and a ``class`` is what the prototype is: an
    abstract prim that never renders itself, only through its instances.
    """
    for prim in flat.rootPrims:
        if prim.name.startswith("Flattened_Prototype") and prim.specifier == Sdf.SpecifierOver:
            prim.specifier = Sdf.SpecifierClass


def _outside(authored: str, base: Path) -> str | None:
    """Why an authored asset path leaves ``base``, or None when it stays inside."""
    if not authored:
        return None
    if re.match(r"^[A-Za-z][A-Za-z0-9+.-]*:", authored) and not re.match(r"^[A-Za-z]:[\\/]", authored):
        return f"asset path '{authored}' is a URI"
    if os.path.isabs(authored) or re.match(r"^[A-Za-z]:[\\/]", authored):
        return f"asset path '{authored}' is absolute"
    inside = os.path.normpath(os.path.join(str(base), authored))
    if os.path.commonpath([inside, str(base)]) != str(base):
        return f"asset path '{authored}' points outside the package"
    return None


def _authored_asset_paths(layer: Sdf.Layer) -> list[str]:
    """Every asset path a layer authors: sublayers, references, payloads, asset values."""
    out = list(layer.subLayerPaths)

    def visit(path: Sdf.Path) -> None:
        if path.IsPrimPath():
            prim = layer.GetPrimAtPath(path)
            for key in ("referenceList", "payloadList"):
                op = getattr(prim, key)
                for items in (op.explicitItems, op.prependedItems, op.appendedItems, op.addedItems):
                    out.extend(i.assetPath for i in items if i.assetPath)
        elif path.IsPropertyPath():
            spec = layer.GetAttributeAtPath(path)
            if spec is None or spec.typeName not in (Sdf.ValueTypeNames.Asset,
                                                      Sdf.ValueTypeNames.AssetArray):
                return
            values = [spec.default] + [layer.QueryTimeSample(path, t)
                                        for t in layer.ListTimeSamplesForPath(path)]
            for v in values:
                items = [] if v is None else [v] if isinstance(v, Sdf.AssetPath) else list(v)
                out.extend(a.path for a in items if a.path)

    layer.Traverse(Sdf.Path.absoluteRootPath, visit)
    return out


def check_package(path: str | Path) -> Path:
    """Check that an exported file needs nothing outside itself.

    For a ``.usdz``: every layer and asset it depends on is inside the
    package. For ``.usda``/``.usdc``: every asset path it authors is
    relative and stays in the file's folder. In both: no dependency is
    unresolved (``UsdUtils.ComputeAllDependencies``).

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    InputError
        Naming the first offending asset path.
    """
    path = Path(path).resolve()
    if not path.is_file():
        raise InputError(path, "no such exported file")
    try:
        layers, assets, unresolved = UsdUtils.ComputeAllDependencies(Sdf.AssetPath(str(path)))
    except Tf.ErrorException as exc:
        raise InputError(path, f"USD cannot read it: {str(exc).strip().splitlines()[-1]}") from None
    if unresolved:
        raise InputError(path, f"unresolved asset path '{unresolved[0]}': the export is not "
                         "self-contained")
    if path.suffix.lower() == ".usdz":
        prefix = f"{path}["
        for dep in [l.identifier for l in layers] + list(assets):
            if not (dep.startswith(prefix) or dep == str(path)):
                raise InputError(path, f"dependency '{dep}' is outside the package")
        return path
    for layer in layers:
        for authored in _authored_asset_paths(layer):
            why = _outside(authored, path.parent)
            if why:
                raise InputError(path, f"{why}: the export is not self-contained "
                                 "(export as .usdz to carry it)")
    return path


def _write(flat: Sdf.Layer, out_file: Path, fmt: str) -> None:
    """Write ``flat`` as ``fmt`` to a temporary name, check it, move it into place."""
    out_file.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{out_file.name}.tmp-", dir=out_file.parent))
    try:
        if fmt == "usdz":
            inner = work / f"{out_file.stem}.usdc"
            if not flat.Export(str(inner)):
                raise OSError(f"cannot write {inner}")
            _, _, unresolved = UsdUtils.ComputeAllDependencies(Sdf.AssetPath(str(inner)))
            if unresolved:
                raise InputError(out_file, f"unresolved asset path '{unresolved[0]}': "
                                 "nothing to put in the package")
            tmp = work / out_file.name
            if not UsdUtils.CreateNewUsdzPackage(Sdf.AssetPath(str(inner)), str(tmp)):
                raise InputError(out_file, "USD could not package the scenario as USDZ")
        else:
            tmp = work / out_file.name
            if not flat.Export(str(tmp)):
                raise OSError(f"cannot write {tmp}")
        check_package(tmp)
        os.replace(tmp, out_file)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _select_criticality(stage: Usd.Stage, path: Path) -> None:
    """Select the ``criticality`` variant ``on`` (session layer), or raise InputError."""
    from .criticality_attach import CRITICALITY_SET
    world = stage.GetPrimAtPath(f"/{DEFAULT_PRIM}")
    if not world or not world.GetVariantSets().HasVariantSet(CRITICALITY_SET):
        raise InputError(path, "the stage has no criticality layer (twin3d criticality ... "
                         "--stage BUILD_DIR attaches one)", field="criticality")
    with Usd.EditContext(stage, stage.GetSessionLayer()):
        world.GetVariantSet(CRITICALITY_SET).SetVariantSelection("on")


def export_scenario(root_stage_path: str | Path, out_file: str | Path, fmt: str | None = None,
                    variant: str | None = None, criticality: bool = False) -> Path:
    """Export one scenario of a root stage as one self-contained file.

    Parameters
    ----------
    root_stage_path : str or Path
        ``OUT/scenarios/<name>.usda`` (a scenario root), or ``OUT/twin.usda``
        (the combined stage; ``variant`` picks the scenario, else its
        default selection), or any other stage (exported as it composes).
    out_file : str or Path
        The file to write; its suffix must match ``fmt``.
    fmt : {"usdz", "usdc", "usda"}, optional
        Default: from the suffix of ``out_file``.
    variant : str, optional
        Scenario name (or its file stem) to select.
    criticality : bool
        Colour links and sites by criticality (the build's criticality
        variant ``on``); an InputError when the stage has none.

    Returns
    -------
    Path
        ``out_file``, resolved.

    Raises
    ------
    InputError
        Missing or unreadable stage, unknown format or scenario, or an
        export that would depend on files outside itself.
    """
    root = Path(root_stage_path)
    out = Path(out_file).resolve()
    fmt = _format(out, fmt)
    stage = _open(root)
    stem = _select(stage, root, variant)
    combined = root.resolve().parent.parent / ROOT_NAME
    if criticality and not scenario_names(stage) and stem and combined.is_file():
        # a scenario root's own colours are local, stronger than any variant: the combined root
        # composes the same scenario with the criticality variant on top
        return export_scenario(combined, out_file, fmt, variant=stem, criticality=True)
    if criticality:
        _select_criticality(stage, root)
    flat = stage.Flatten(addSourceFileComment=False)
    _prototypes_as_classes(flat)
    _restore_metadata(flat, stage, stem)
    _write(flat, out, fmt)
    return out


def export_all(stage_or_out_dir: str | Path, folder: str | Path, fmt: str = "usdz",
               criticality: bool = False) -> list[Path]:
    """Export every scenario of a build into ``folder/<scenario>.<fmt>``.

    Parameters
    ----------
    stage_or_out_dir : str or Path
        A build folder (its ``twin.usda``), or a combined stage file.
    folder : str or Path
        Where to write (created if missing); one file per scenario.
    fmt : {"usdz", "usdc", "usda"}
    criticality : bool
        Criticality colours (see :func:`export_scenario`).

    Returns
    -------
    list of Path
        The files written, in the stage's variant order.

    Raises
    ------
    InputError
        No such build or stage, unknown format, or no scenario in it.
    """
    src = Path(stage_or_out_dir)
    root = src / ROOT_NAME if src.is_dir() else src
    fmt = str(fmt).lower().lstrip(".")
    if fmt not in FORMATS:
        raise InputError(folder, f"unknown export format '{fmt}' (use one of {', '.join(FORMATS)})",
                         field="format")
    names = scenario_names(_open(root))
    if not names:
        raise InputError(root, "the stage has no scenarios to export (a scene needs [[scenario]])")
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise InputError(folder, "output folder is a file")
    scenario_roots = root.parent / SCENARIO_DIR
    out = []
    for name in names:
        own = scenario_roots / f"{name}.usda"
        target = folder / f"{name}.{fmt}"
        # a scenario's own root composes the same values without the variant machinery
        # ... but there the scenario's colours are local, stronger than the criticality variant
        out.append(export_scenario(own, target, fmt) if own.is_file() and not criticality
                   else export_scenario(root, target, fmt, variant=name, criticality=criticality))
    return out


def prim_count(stage: Usd.Stage) -> int:
    """Prims a viewer draws or lists: defined, active, instance proxies included."""
    return sum(1 for _ in stage.Traverse(Usd.TraverseInstanceProxies(Usd.PrimDefaultPredicate)))


def time_sampled(stage: Usd.Stage) -> dict[str, Sequence[float]]:
    """Attribute path -> time codes, for every time-sampled attribute of ``stage``."""
    out = {}
    for prim in stage.Traverse(Usd.TraverseInstanceProxies(Usd.PrimDefaultPredicate)):
        for attr in prim.GetAttributes():
            times = attr.GetTimeSamples()
            if times:
                out[str(attr.GetPath())] = list(times)
    return out
