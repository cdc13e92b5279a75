"""Simulate an incident window and explain it: telemetry, alarms and the causal chain.

The same function serves the generator (the truth) and root-cause analysis
(each hypothesis), so a hypothesis is scored against physics of exactly the
same kind as the data it explains.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..ids import link_id
from ..scene import ScenarioSpec
from .faults import Fault, WindowSpec, fault_events
from .telemetry import Telemetry, _SignalStats, window_telemetry

__all__ = ["WindowRun", "run_window", "window_scenario", "causal_chain", "slice_telemetry",
           "stack_telemetry"]


@dataclass
class WindowRun:
    """A simulated window: its steps (StepResult) and telemetry without noise."""

    window: WindowSpec
    faults: list[Fault]
    steps: list
    telemetry: Telemetry


def window_scenario(window: WindowSpec, faults: list[Fault], name: str = "incident") -> ScenarioSpec:
    """The scenario of a window with ``faults``: diurnal profile from ``start_hour``."""
    events = tuple(e for e in fault_events(faults) if e.t < window.steps)
    return ScenarioSpec(name=name, steps=window.steps, step_s=window.step_s, profile="diurnal",
                        events=events, start_hour=window.start_hour)


def run_window(sim, window: WindowSpec, faults: list[Fault],
               signal: _SignalStats | None = None, first_step: int = 0,
               prefix: "list | WindowRun | None" = None) -> WindowRun:
    """Simulate ``faults`` over ``window`` with the scene's physics and cascades.

    Parameters
    ----------
    sim : twin3d.sim.engine.Simulator
    window : WindowSpec
    faults : list of Fault
    signal : optional
        A per-cell signal percentile cache shared across calls.
    first_step : int
        Steps before it are taken from ``prefix`` (the same run up to there,
        for example the fault-free baseline before a hypothesis' onset).
    prefix : list of StepResult or WindowRun, optional
        A WindowRun also lends the telemetry of those steps (not computed again).

    Returns
    -------
    WindowRun
    """
    scenario = window_scenario(window, faults)
    timeline = sim.timeline(scenario)
    prefix_steps = prefix.steps if isinstance(prefix, WindowRun) else prefix
    steps = list(prefix_steps[:first_step]) if prefix_steps is not None and first_step > 0 else []
    for s in steps:         # the prefix's trips hold on in this timeline too
        timeline.trip([l for w in s.waves for l in w["tripped"]], s.t)
    n_kept = len(steps)
    for t in range(n_kept, window.steps):
        # the grid's radio percentiles are no telemetry here: not computed
        steps.append(sim.step(timeline, t, window.demand_factor, radio_kpis=False))
    if isinstance(prefix, WindowRun) and n_kept:
        new = window_telemetry(sim, steps[n_kept:], signal)
        tel = stack_telemetry(slice_telemetry(prefix.telemetry, 0, n_kept), new)
    else:
        tel = window_telemetry(sim, steps, signal)
    return WindowRun(window, list(faults), steps, tel)


def slice_telemetry(tel: Telemetry, start: int, stop: int) -> Telemetry:
    """Steps ``start`` to ``stop`` (excluded) of a window's telemetry (views, not copies)."""
    return Telemetry(tel.elements,
                     {k: {m: x[start:stop] for m, x in ms.items()} for k, ms in tel.values.items()},
                     {a: x[start:stop] for a, x in tel.alarms.items()})


def stack_telemetry(a: Telemetry, b: Telemetry) -> Telemetry:
    """The steps of ``a`` followed by those of ``b`` (same elements)."""
    return Telemetry(a.elements,
                     {k: {m: np.concatenate([x, b.values[k][m]]) for m, x in ms.items()}
                      for k, ms in a.values.items()},
                     {n: np.concatenate([x, b.alarms[n]]) for n, x in a.alarms.items()})


def causal_chain(sim, run: WindowRun, baseline: WindowRun, top: int = 3) -> dict:
    """The simulated causal chain of a window, JSON-ready.

    ``faults``: what was injected. ``effects``: at each fault's onset, the
    links whose load moved most against the fault-free baseline (bit/s
    before and after). ``waves``: every cascade wave of the window, with the
    step, the links it tripped (typed ids), their utilization and what
    caused them.
    """
    effects = []
    for f in run.faults:
        if f.kind == "none" or not 0 <= f.onset < len(run.steps):
            continue
        a = baseline.steps[f.onset].link_load_bps
        b = run.steps[f.onset].link_load_bps
        up = np.array([s == "up" for s in run.steps[f.onset].link_state], dtype=bool)
        gain = np.where(up, b - a, 0.0)
        for i in np.argsort(-gain, kind="stable")[:top]:
            if gain[i] <= 0:
                break
            effects.append({"cause": f.element, "step": f.onset, "element": link_id(sim.link_ids[i]),
                            "load_before_bps": float(a[i]), "load_after_bps": float(b[i]),
                            "util_after": float(run.steps[f.onset].link_util[i])})
    waves = []
    for s in run.steps:
        for w in s.waves:
            waves.append({"step": s.t, "wave": w["wave"],
                          "tripped": [link_id(l) for l in w["tripped"]],
                          "utilization": {link_id(k): v for k, v in w["utilization"].items()},
                          "caused_by": list(w["caused_by"])})
    return {"faults": [{"kind": f.kind, "element": f.element, "onset_step": f.onset,
                        "magnitude": f.magnitude, "until": f.until} for f in run.faults],
            "effects": effects, "waves": waves}
