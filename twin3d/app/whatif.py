"""What-if from the page: add one event at the step shown, re-simulate, show the result.

The scenario shown gets one more :class:`~twin3d.scene.EventSpec` (cut the
picked link, fail the picked site, surge around it) at the current step;
the run is written as a scenario layer and root stage beside the built
scene (:func:`twin3d.usd.scenario.write_scenario_layer`,
:func:`twin3d.usd.stage.write_scenario_stage`), so the browser draws it
from USD like every other scenario, and the export button packages it.

Examples
--------
>>> kpi_delta([{"t": 0, "served_bps": 10e9}], [{"t": 0, "served_bps": 7e9}], 0)[0]["delta"]
'-3'
"""

from __future__ import annotations

import dataclasses
import math
import time
from typing import TYPE_CHECKING

from pxr import Usd

from twin3d.scene import EventSpec
from twin3d.viz.scenarios import ScenarioStage

if TYPE_CHECKING:       # pragma: no cover
    from .engine import ViewerEngine

__all__ = ["WhatIf", "ACTIONS", "kpi_delta", "DELTA_KPIS"]

#: Page action -> (element type, event kind, extra event fields, label).
ACTIONS = {
    "cut": ("link", "fiber_cut", {}, "cut"),
    "fail": ("site", "site_outage", {}, "fail"),
    "surge": ("site", "surge", {"factor": 3.0, "duration": 3}, "surge x3 at"),
}
#: KPIs compared before and after, with their display scale and unit.
DELTA_KPIS = [("served_bps", 1e-9, "Gbit/s"), ("dropped_bps", 1e-9, "Gbit/s"),
              ("util_max", 100.0, "%"), ("latency_p95_ms", 1.0, "ms"),
              ("coverage_pct", 1.0, "%"), ("failed_elements", 1.0, "")]


def _num(v) -> float:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return math.nan
    return f


def kpi_delta(before: list[dict], after: list[dict], step: int) -> list[dict]:
    """Rows (kpi, before, after, delta) at ``step`` for :data:`DELTA_KPIS` present in both."""
    b = next((r for r in before if r.get("t") == step), {})
    a = next((r for r in after if r.get("t") == step), {})
    rows = []
    for key, scale, unit in DELTA_KPIS:
        x, y = _num(b.get(key)), _num(a.get(key))
        if math.isnan(x) and math.isnan(y):
            continue
        rows.append({"kpi": key, "unit": unit, "before": f"{x * scale:.3g}", "after": f"{y * scale:.3g}",
                     "delta": f"{(y - x) * scale:+.3g}" if not (math.isnan(x) or math.isnan(y)) else "-"})
    return rows


class WhatIf:
    """Re-simulation of the engine's scene with extra events.

    The simulator is built on first use (its radio maps take a second).
    """

    def __init__(self, engine: "ViewerEngine") -> None:
        self.engine = engine
        self._sim = None
        self.specs = {s.name: s for s in engine.scene.spec.scenarios}
        self.results: dict = {}
        self.last_s = 0.0

    @property
    def sim(self):
        if self._sim is None:
            from twin3d.sim.engine import Simulator
            self._sim = Simulator(self.engine.scene)
        return self._sim

    def run(self, action: str, element_id: str, step: int) -> str:
        """Add the action's event on ``element_id`` at ``step`` to the scenario shown.

        Returns
        -------
        str
            Name of the new scenario (now in ``engine.scenarios``).
        """
        if action not in ACTIONS:
            raise KeyError(action)
        eng = self.engine
        base = eng.current
        spec = self.specs.get(base)
        if spec is None:
            raise KeyError(base)
        t0 = time.perf_counter()
        _, kind, extra, label = ACTIONS[action]
        ev = (EventSpec(step, kind, target=element_id, **extra),)
        name = f"{base} + {label} {element_id} @{step}"
        new = dataclasses.replace(spec, name=name, events=tuple(spec.events) + ev,
                                  description=f"{spec.description} What-if: {label} {element_id} "
                                              f"at step {step}.".strip())
        result = self.sim.run(new)
        from twin3d.usd.scenario import write_scenario_layer
        from twin3d.usd.layers import scenario_paths
        from twin3d.usd.stage import write_scenario_stage
        out = eng.workdir / "out"
        _, layer = scenario_paths(out, name)
        write_scenario_layer(eng.scene.twin, result, layer, signal_key=self.sim.baseline_key)
        root = write_scenario_stage(out, name, None, eng.scene.twin, len(result.steps))
        stage = Usd.Stage.Open(str(root))
        self.specs[name] = new
        self.results[name] = result
        eng.scenarios[name] = ScenarioStage(name, stage)
        self.last_s = time.perf_counter() - t0
        return name
