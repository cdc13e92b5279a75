"""Leaf helpers every twin3d layer writer shares: file layout, new layers,
stage and time metadata, scenario file names.

Nothing here imports another twin3d USD module, so the signal, scenario and
base writers and the root-stage orchestration (:mod:`twin3d.usd.stage`) all
build on it without import cycles.

Examples
--------
>>> scenario_stem("cut F-07 / night")
'cut_F-07___night'
"""

from __future__ import annotations

from pathlib import Path

from pxr import Sdf, UsdGeom

from ..model import Twin
from ..names import scenario_stem   # noqa: F401  (re-exported: the USD writers name files by it)
from .georef import georef_metadata

__all__ = ["ROOT_NAME", "BASE_LAYER", "SIGNAL_LAYER", "SCENARIO_DIR", "TIME_CODES_PER_SECOND",
           "DEFAULT_PRIM", "VARIANT_SET", "new_layer", "set_stage_metadata", "set_time_metadata",
           "provenance_entry",
           "scenario_stem", "scenario_paths"]

#: File name of the root layer inside the output folder.
ROOT_NAME = "twin.usda"
#: The base layer, relative to the root layer.
BASE_LAYER = "./layers/base.usdc"
#: The signal layer (radio maps), relative to the root layer.
SIGNAL_LAYER = "./layers/signal.usdc"
#: Folder of the scenario root stages; their layers are in layers/scenarios.
SCENARIO_DIR = "scenarios"
#: Scenario steps played per second (a 24-step day plays in 12 s). Every
#: layer with time samples and every root over one carry the same value, so
#: USD applies no time scaling between them.
TIME_CODES_PER_SECOND = 2.0
DEFAULT_PRIM = "World"
#: The variant set on /World of the combined stage: one variant per scenario.
VARIANT_SET = "scenario"


def new_layer(path: Path) -> Sdf.Layer:
    """An empty layer at ``path`` (format from the suffix), replacing any old one.

    A layer already open in this process (an earlier write to the same
    path) is cleared and reused: Sdf keeps one layer per identifier.
    """
    path = Path(path).resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    layer = Sdf.Layer.Find(str(path))
    if layer is not None:
        layer.Clear()
        return layer
    layer = Sdf.Layer.CreateNew(str(path))
    if layer is None:   # pragma: no cover - Sdf reports why on stderr
        raise OSError(f"cannot create USD layer {path}")
    return layer


def set_stage_metadata(layer: Sdf.Layer, twin: Twin) -> None:
    """Z up, metres, defaultPrim World, the twin3d georeference and provenance."""
    layer.defaultPrim = DEFAULT_PRIM
    root = layer.pseudoRoot
    root.SetInfo("upAxis", UsdGeom.Tokens.z)
    root.SetInfo("metersPerUnit", 1.0)
    layer.customLayerData = {"twin3d": {**georef_metadata(twin.frame, twin.name),
                                        **provenance_entry(twin)}}
    layer.documentation = f"twin3d scene '{twin.name}'"


def provenance_entry(source: Twin | Sdf.Layer) -> dict:
    """``{"provenance": {...}}`` of a twin (set by :func:`twin3d.load_scene`) or a
    layer's ``customLayerData["twin3d"]``; empty when it has none."""
    if isinstance(source, Twin):
        prov = source.meta.get("provenance")
    else:
        prov = source.customLayerData.get("twin3d", {}).get("provenance")
    return {"provenance": dict(prov)} if prov else {}


def set_time_metadata(layer: Sdf.Layer, steps: int,
                      time_codes_per_second: float = TIME_CODES_PER_SECOND) -> None:
    """One time code per step: start 0, end ``steps - 1``, and the playback rate."""
    layer.startTimeCode = 0.0
    layer.endTimeCode = float(max(steps - 1, 0))
    layer.timeCodesPerSecond = float(time_codes_per_second)
    layer.framesPerSecond = float(time_codes_per_second)


def scenario_paths(out_dir: Path, name: str) -> tuple[Path, Path]:
    """(root stage, scenario layer) of scenario ``name`` in ``out_dir``.

    ``OUT/scenarios/<stem>.usda`` and ``OUT/layers/scenarios/<stem>.usdc``.
    """
    stem = scenario_stem(name)
    out_dir = Path(out_dir)
    return (out_dir / SCENARIO_DIR / f"{stem}.usda",
            out_dir / "layers" / SCENARIO_DIR / f"{stem}.usdc")
