"""Scenarios of a stage: which composed stage shows which scenario, its steps and KPIs.

A scenario is found in one of three ways, all read through composition:

1. a variant set named ``scenario`` on the default prim (a combined stage):
   each variant is a scenario, selected in the stage's session layer so the
   file is never touched;
2. twin3d's per-scenario root stages, ``scenarios/*.usda`` beside the root
   stage (or beside a scenario stage given directly), whose root layer names
   its scenario in ``customLayerData["twin3d"]["scenario"]``;
3. otherwise the stage itself, named after its file.

The KPI table of a scenario is the ``customLayerData["twin3d"]["kpis"]`` of
the layer that carries it (:func:`twin3d.usd.scenario.kpi_rows`), found
among the layers the composed stage uses.

Examples
--------
>>> from pxr import Usd
>>> s = Usd.Stage.CreateInMemory()
>>> steps_of(s)
[0]
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pxr import Usd

from .read import open_stage

__all__ = ["ScenarioStage", "find_scenarios", "steps_of", "scenario_record", "VARIANT_SET"]

#: Name of the variant set that selects a scenario on a combined stage.
VARIANT_SET = "scenario"


@dataclass
class ScenarioStage:
    """One scenario: the stage that shows it and, for a variant, the selection."""

    name: str
    stage: Usd.Stage
    variant_prim: str | None = None

    def activate(self) -> Usd.Stage:
        """Select this scenario (variant selection in the session layer); return the stage."""
        if self.variant_prim is not None:
            prim = self.stage.GetPrimAtPath(self.variant_prim)
            with Usd.EditContext(self.stage, self.stage.GetSessionLayer()):
                prim.GetVariantSets().GetVariantSet(VARIANT_SET).SetVariantSelection(self.name)
        return self.stage

    @property
    def path(self) -> str:
        """The root layer file of the stage."""
        return self.stage.GetRootLayer().realPath


def _twin3d_meta(layer) -> dict:
    data = layer.customLayerData.get("twin3d") if layer.customLayerData else None
    return dict(data) if data else {}


def find_scenarios(path: str | Path) -> dict[str, ScenarioStage]:
    """Scenarios reachable from a stage file or a twin3d output folder, by name.

    Order: the variant set's order, else the order of the files' names;
    the stage itself comes first when it carries no scenario of its own.
    """
    stage = open_stage(path)
    root = stage.GetDefaultPrim()
    if root and root.GetVariantSets().HasVariantSet(VARIANT_SET):
        names = root.GetVariantSets().GetVariantSet(VARIANT_SET).GetVariantNames()
        if names:
            rp = str(root.GetPath())
            return {n: ScenarioStage(n, stage, rp) for n in names}
    out: dict[str, ScenarioStage] = {}
    own = _twin3d_meta(stage.GetRootLayer()).get("scenario")
    real = Path(stage.GetRootLayer().realPath)
    folders = [real.parent / "scenarios"] + ([real.parent] if own else [])
    for folder in folders:
        if not folder.is_dir():
            continue
        for f in sorted(folder.glob("*.usda")):
            s = stage if f.resolve() == real.resolve() else open_stage(f)
            name = _twin3d_meta(s.GetRootLayer()).get("scenario")
            if name and name not in out:
                out[str(name)] = ScenarioStage(str(name), s)
    if not out or (own is None and stage.GetRootLayer().HasStartTimeCode()):
        out = {str(own or real.stem): ScenarioStage(str(own or real.stem), stage), **out}
    return out


def steps_of(stage: Usd.Stage) -> list[int]:
    """Integer time codes of the stage's range (``[0]`` when it has none)."""
    if not stage.HasAuthoredTimeCodeRange():
        return [0]
    a, b = int(round(stage.GetStartTimeCode())), int(round(stage.GetEndTimeCode()))
    return list(range(a, max(a, b) + 1))


def scenario_record(stage: Usd.Stage, name: str) -> dict:
    """The scenario's ``customLayerData["twin3d"]`` (KPIs, events, description), or {}.

    Looks through every layer the composed stage uses for the one naming
    ``name`` with a KPI table; a single such layer is taken whatever its name.
    """
    found = []
    for layer in stage.GetUsedLayers():
        meta = _twin3d_meta(layer)
        if "kpis" in meta:
            found.append(meta)
    for meta in found:
        if meta.get("scenario") == name:
            return meta
    return found[0] if len(found) == 1 else {}
