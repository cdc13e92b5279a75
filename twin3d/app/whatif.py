"""What-if from the page: add one event at the step shown, re-simulate, show the result.

The scenario shown gets one more :class:`~twin3d.scene.EventSpec` (cut the
picked link, fail the picked site, surge around it) at the current step;
the run is written as a scenario layer and root stage beside the built
scene (:func:`twin3d.usd.scenario.write_scenario_layer`,
:func:`twin3d.usd.stage.write_scenario_stage`), so the browser draws it
from USD like every other scenario, and the export button packages it.

A what-if runs in three parts so the page stays live: :meth:`WhatIf.check`
(on the server's loop: the target must be a link or site *of the twin*,
whatever the page sent, and the action must be able to change something),
:meth:`WhatIf.simulate` (in a worker thread: the simulator and the layer
writing) and :meth:`WhatIf.publish` (on the loop again: the new scenario
is listed; past :data:`MAX_WHATIFS` results the least recently shown one is
dropped). :meth:`WhatIf.run` does the three in a row.

Examples
--------
>>> kpi_delta([{"t": 0, "served_bps": 10e9}], [{"t": 0, "served_bps": 7e9}], 0)[0]["delta"]
'-3'
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections import OrderedDict
from typing import TYPE_CHECKING, Any

from pxr import Usd

from twin3d.scene import EventSpec
from twin3d.viz.scenarios import ScenarioStage

if TYPE_CHECKING:       # pragma: no cover
    from .engine import ViewerEngine

__all__ = ["WhatIf", "WhatIfJob", "WhatIfRefused", "ACTIONS", "kpi_delta", "DELTA_KPIS",
           "MAX_WHATIFS"]

#: Page action -> (element type, event kind, extra event fields, label).
ACTIONS = {
    "cut": ("link", "fiber_cut", {}, "cut"),
    "fail": ("site", "site_outage", {}, "fail"),
    "surge": ("site", "surge", {"factor": 3.0, "duration": 3}, "surge x3 at"),
}
#: What-if results kept (each holds a simulated scenario and an open stage).
MAX_WHATIFS = 6
#: KPIs compared before and after, with their display scale and unit.
DELTA_KPIS = [("served_bps", 1e-9, "Gbit/s"), ("dropped_bps", 1e-9, "Gbit/s"),
              ("util_max", 100.0, "%"), ("latency_p95_ms", 1.0, "ms"),
              ("coverage_pct", 1.0, "%"), ("failed_elements", 1.0, "")]


#: An element's ``twin:state`` in a sentence.
_STATE_WORDS = {"down": "down", "sleep": "asleep", "off": "switched off", "cut": "cut",
                "tripped": "tripped"}


class WhatIfRefused(ValueError):
    """A what-if that is not run; the message says why, in the page's words."""


@dataclasses.dataclass
class WhatIfJob:
    """One what-if: what was asked, by whom, and (once simulated) its result."""

    action: str
    element: str
    step: int
    base: str
    name: str
    spec: Any
    viewer: int = 0
    result: Any = None
    stage: Any = None
    seconds: float = 0.0
    exists: bool = False
    number: int = 0

    @property
    def label(self) -> str:
        """``cut link F-02 at step 8 (on baseline_day), by viewer 2``."""
        kind, label = ACTIONS[self.action][0], ACTIONS[self.action][3]
        who = f", by viewer {self.viewer}" if self.viewer else ""
        return f"{label} {kind} {self.element} at step {self.step} (on {self.base}){who}"


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
        self.results: OrderedDict[str, Any] = OrderedDict()
        self.last_s = 0.0
        self._paths: dict[str, str] | None = None

    @property
    def sim(self):
        if self._sim is None:
            from twin3d.sim.engine import Simulator
            self._sim = Simulator(self.engine.scene)
        return self._sim

    # -- check -------------------------------------------------------------
    def _state_at(self, element: str, steps) -> list[str]:
        """``twin:state`` of a network element over ``steps`` in the scenario shown."""
        if self._paths is None:
            self._paths = {e["title"]: e["value"] for e in self.engine.elements()}
        path = self._paths.get(element)
        prim = self.engine.stage.GetPrimAtPath(path) if path else None
        attr = prim.GetAttribute("twin:state") if prim else None
        return [str(attr.Get(t)) if attr and attr.Get(t) is not None else "up" for t in steps]

    def check(self, action: Any, element: Any, step: int, viewer: int = 0) -> WhatIfJob:
        """Validate a what-if against the twin; returns the job to simulate.

        ``action`` and ``element`` come from the page and are trusted for
        nothing: the action must be a key of :data:`ACTIONS` and the element
        the id of a link (cut) or a site (fail, surge) of the scene's twin.

        Raises
        ------
        WhatIfRefused
            With the reason: unknown action or element, wrong kind of
            element, or an action that cannot change anything (the link is
            already cut, the site already down; a surge on a site that is
            down, which serves no area, so adds no traffic).
        """
        if not isinstance(action, str) or action not in ACTIONS:
            raise WhatIfRefused(f"what-if refused: unknown action {str(action)[:40]!r}")
        want = ACTIONS[action][0]
        twin = self.engine.scene.twin
        ident = element if isinstance(element, str) else None
        known = {"link": twin.links, "site": twin.sites}
        if ident is None or ident not in known[want]:
            other = "site" if want == "link" else "link"
            if ident is not None and ident in known[other]:
                raise WhatIfRefused(f"what-if refused: {ident!r} is a {other}, not a {want}")
            raise WhatIfRefused(f"what-if refused: no {want} {str(element)[:60]!r} in the twin")
        base = self.engine.current
        spec = self.specs.get(base)
        if spec is None:
            raise WhatIfRefused(f"what-if refused: scenario {base!r} was not simulated here")
        step = int(step)
        if not 0 <= step < spec.steps:
            raise WhatIfRefused(f"what-if refused: step {step} is outside 0..{spec.steps - 1}")
        _, kind, extra, label = ACTIONS[action]
        duration = int(extra.get("duration") or 1)
        states = self._state_at(ident, range(step, min(step + duration, spec.steps)))
        now = _STATE_WORDS.get(states[0], f"in state {states[0]!r}")
        if action == "cut" and states[0] != "up":
            raise WhatIfRefused(f"nothing to re-simulate: link {ident} is already {now} at step {step}")
        if action == "fail" and states[0] != "up":
            raise WhatIfRefused(f"nothing to re-simulate: site {ident} is already {now} at step {step}")
        if action == "surge" and all(s != "up" for s in states):
            last = step + len(states) - 1
            span = f"step {step}" if last == step else f"steps {step}-{last}"
            raise WhatIfRefused(
                f"nothing changed: site {ident} is {now} at {span}, so it serves no area and "
                f"a surge around it adds no traffic (surge a site that is up)")
        name = f"{base} + {label} {ident} @{step}"
        ev = (EventSpec(step, kind, target=ident, **extra),)
        new = dataclasses.replace(spec, name=name, events=tuple(spec.events) + ev,
                                  description=f"{spec.description} What-if: {label} {ident} "
                                              f"at step {step}.".strip())
        return WhatIfJob(action, ident, step, base, name, new, viewer, exists=name in self.results)

    # -- simulate (worker thread) -----------------------------------------
    def simulate(self, job: WhatIfJob) -> WhatIfJob:
        """Run the simulator and write the scenario's layer and stage (no engine state changed)."""
        if job.exists:
            return job
        from twin3d.usd.layers import scenario_paths
        from twin3d.usd.scenario import write_scenario_layer
        from twin3d.usd.stage import write_scenario_stage
        t0 = time.perf_counter()
        eng = self.engine
        result = self.sim.run(job.spec)
        out = eng.workdir / "out"
        _, layer = scenario_paths(out, job.name)
        write_scenario_layer(eng.scene.twin, result, layer, signal_key=self.sim.baseline_key)
        root = write_scenario_stage(out, job.name, None, eng.scene.twin, len(result.steps))
        job.result, job.stage = result, Usd.Stage.Open(str(root))
        job.seconds = time.perf_counter() - t0
        return job

    # -- publish (the server's loop) --------------------------------------
    def publish(self, job: WhatIfJob) -> list[str]:
        """List the job's scenario in the engine; returns the names of results dropped.

        At most :data:`MAX_WHATIFS` results are kept: the least recently
        published or shown one goes first (never the scenario shown).
        """
        eng = self.engine
        if job.exists and job.name in self.results:
            self.results.move_to_end(job.name)
            return []
        self.specs[job.name] = job.spec
        self.results[job.name] = job.result
        eng.scenarios[job.name] = ScenarioStage(job.name, job.stage)
        self.last_s = job.seconds
        return self._evict()

    def touch(self, name: str) -> None:
        """Mark a what-if result as just shown (it is dropped last)."""
        if name in self.results:
            self.results.move_to_end(name)

    def _evict(self) -> list[str]:
        from twin3d.usd.layers import scenario_paths
        eng = self.engine
        dropped = []
        for name in list(self.results):
            if len(self.results) <= MAX_WHATIFS:
                break
            if name == eng.current:
                continue
            del self.results[name]
            self.specs.pop(name, None)
            eng.scenarios.pop(name, None)
            eng._kpi_cache.pop(name, None)
            for path in scenario_paths(eng.workdir / "out", name):
                path.unlink(missing_ok=True)
            dropped.append(name)
        return dropped

    def run(self, action: str, element_id: str, step: int, viewer: int = 0) -> str:
        """Check, simulate and publish in a row; returns the new scenario's name.

        Raises
        ------
        WhatIfRefused
            See :meth:`check`.
        """
        job = self.check(action, element_id, step, viewer)
        self.publish(self.simulate(job))
        return job.name
