"""The scenario shown as one USDZ file: its composed stage, flattened and packaged.

Flattening bakes the scenario's variant selection (or sublayer stack) into
one layer, so the package opens alone in usdview or Omniverse.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from pxr import UsdUtils

from twin3d.usd.stage import scenario_stem
from twin3d.viz.scenarios import ScenarioStage

__all__ = ["export_usdz"]


def export_usdz(scenario: ScenarioStage, out_dir: Path) -> Path:
    """Write ``out_dir/<scenario>.usdz``; returns its path.

    Uses :func:`twin3d.usd.export.export_scenario` when that module offers
    a USDZ export of a stage; otherwise flattens here.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = scenario_stem(scenario.name)
    target = out_dir / f"{stem}.usdz"
    try:
        from twin3d.usd.export import export_scenario
    except ImportError:         # the Omniverse export module is not there: flatten here
        export_scenario = None
    if export_scenario is not None:
        return export_scenario(scenario.path, target, "usdz",
                               variant=scenario.name if scenario.variant_prim else None)
    stage = scenario.activate()
    with tempfile.TemporaryDirectory(prefix="twin3d-usdz-", dir=out_dir) as tmp:
        flat = Path(tmp) / f"{stem}.usdc"
        stage.Flatten().Export(str(flat))
        if target.exists():
            target.unlink()
        if not UsdUtils.CreateNewUsdzPackage(str(flat), str(target)):
            raise OSError(f"could not package {target}")
    return target
