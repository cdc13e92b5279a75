"""The scenario shown as one USDZ file: its composed stage, flattened and packaged.

Flattening bakes the scenario's variant selection (or sublayer stack) into
one layer, so the package opens alone in usdview or Omniverse.
"""

from __future__ import annotations

from pathlib import Path

from twin3d.usd.export import export_scenario
from twin3d.usd.layers import scenario_stem
from twin3d.viz.scenarios import ScenarioStage

__all__ = ["export_usdz"]


def export_usdz(scenario: ScenarioStage, out_dir: Path, criticality: bool = False) -> Path:
    """Write ``out_dir/<scenario>.usdz`` with :func:`twin3d.usd.export.export_scenario`
    (``criticality``: coloured by the build's criticality layer, as the viewer shows it)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"{scenario_stem(scenario.name)}.usdz"
    return export_scenario(scenario.path, target, "usdz",
                           variant=scenario.name if scenario.variant_prim else None,
                           criticality=criticality)
