"""Run sweep cases on one :class:`~twin3d.sim.engine.Simulator` (one per worker process).

A case is the busy hour as one step (SANDBOX.md section 5), or with
``day`` the 24 hourly steps of the diurnal day; its faults are
``fiber_cut`` (a link) and ``site_outage`` (a site) events at step 0, so a
case replays in ``twin3d build`` as any scenario does. The simulator is
built once per process and reused: the compiled router and its batched
step (:class:`~twin3d.physics.batch_step.BatchRouter`) over the scene's
demand pairs, the demand arrays and, in radio scenes, the cached per-cell
radio maps. That step keeps nothing from one case to the next, so a row
depends on its case only: any batching, any worker, gives the same bits.
(The incremental :class:`~twin3d.physics.incremental.RoutingCache` keeps
DAGs across calls and equals the full routing to 1e-12, not bit for bit;
on Kdl it is also slower per case, 176 ms against 129 ms, so cases do
not use it.)

Row of a case (:data:`ROW_KEYS`): busy hour, the step's KPIs; day, the
mean of each step's value, except ``util_max`` and ``latency_p95_ms``
(the day's maximum) and ``sla_violation_steps`` (the count).
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict

import numpy as np

from ..guard.state import busy_hour_scenario, with_events
from ..ids import link_id, site_id
from ..scene import EventSpec, ScenarioSpec
from ..sim.engine import Simulator
from .faults import Case

__all__ = ["CaseRunner", "day_scenario", "fault_events", "run_batch", "ROW_KEYS"]

#: The KPI keys of a row (besides the case's own case_id, kind, faults, demand_factor, storm).
ROW_KEYS = ("offered_bps", "served_bps", "dropped_bps", "served_fraction", "util_max",
            "latency_p95_ms", "sla_violation_steps", "sla_minutes", "cascade_waves",
            "failed_after_cascade", "tripped", "steps")
#: Rows a runner remembers by (faults, demand factor): random draws repeat the empty set.
MEMO_SIZE = 4096
#: Event kind of a failed element, by id kind (SANDBOX.md section 2).
_FAIL_KIND = {"link": "fiber_cut", "site": "site_outage"}


def day_scenario() -> ScenarioSpec:
    """The whole diurnal day: 24 steps of one hour from 00:00."""
    return ScenarioSpec("sweep_day", steps=24, step_s=3600.0, profile="diurnal",
                        description="the diurnal day, hourly", start_hour=0.0)


def fault_events(faults) -> list[EventSpec]:
    """``fiber_cut`` / ``site_outage`` events at step 0 for typed ids.

    Examples
    --------
    >>> [(e.kind, e.target) for e in fault_events(["link:L7", "site:S1"])]
    [('fiber_cut', 'L7'), ('site_outage', 'S1')]
    """
    out = []
    for f in faults:
        kind, _, name = f.partition(":")
        out.append(EventSpec(0, _FAIL_KIND[kind], target=name))
    return out


class CaseRunner:
    """Simulate cases of one scene on one simulator.

    Parameters
    ----------
    scene : twin3d.loader.Scene
    day : bool
        Whole day instead of the busy hour.

    Examples
    --------
    >>> runner = CaseRunner(load_scene("scenes/topologyzoo/Abilene.toml"), day=False)  # doctest: +SKIP
    >>> runner.run(Case(1, "single", ("link:L1",)))["dropped_bps"]                      # doctest: +SKIP
    0.0
    """

    def __init__(self, scene, day: bool = False) -> None:
        self.sim = Simulator(scene)
        self.day = day
        self.scenario = day_scenario() if day else busy_hour_scenario()
        self.link_tids = [link_id(l) for l in self.sim.link_ids]
        self.site_tids = [site_id(s) for s in self.sim.site_ids]
        self._memo: OrderedDict[tuple, dict] = OrderedDict()

    def run(self, case: Case) -> dict:
        """The row of one case (without case_id, kind, faults and storm)."""
        key = (tuple(sorted(case.faults)), case.demand_factor)
        got = self._memo.get(key)
        if got is None:
            got = self._simulate(case)
            self._memo[key] = got
            while len(self._memo) > MEMO_SIZE:
                self._memo.popitem(last=False)
        else:
            self._memo.move_to_end(key)
        return dict(got, failed_after_cascade=list(got["failed_after_cascade"]),
                    tripped=list(got["tripped"]))

    def _simulate(self, case: Case) -> dict:
        sim = self.sim
        scenario = with_events(self.scenario, fault_events(case.faults))
        timeline = sim.timeline(scenario)
        offered, served, frac, util, lat, waves, viol = [], [], [], [], [], 0, 0
        link_out = np.zeros(len(sim.link_ids), bool)
        tripped = np.zeros(len(sim.link_ids), bool)
        site_out = np.zeros(len(sim.site_ids), bool)
        for t in range(scenario.steps):
            r = sim.step(timeline, t, case.demand_factor)
            k = r.kpis
            offered.append(k["offered_bps"])
            served.append(k["served_bps"])
            frac.append(k["served_bps"] / k["offered_bps"] if k["offered_bps"] > 0 else math.nan)
            util.append(k["util_max"])
            lat.append(k["latency_p95_ms"])
            viol += bool(k["sla_violated"])
            waves += len(r.waves)
            ls = np.array(r.link_state)
            link_out |= ls != "up"
            tripped |= ls == "tripped"
            site_out |= np.isin(np.array(r.site_state), ("down", "off"))
        failed = [self.link_tids[i] for i in np.flatnonzero(link_out)]
        failed += [self.site_tids[i] for i in np.flatnonzero(site_out)]
        offered_bps, served_bps = float(np.mean(offered)), float(np.mean(served))
        return {"offered_bps": offered_bps, "served_bps": served_bps,
                "dropped_bps": float(np.mean([o - s for o, s in zip(offered, served)])),
                "served_fraction": _nanmean(frac), "util_max": _nanmax(util),
                "latency_p95_ms": _nanmax(lat), "sla_violation_steps": viol,
                "sla_minutes": viol * scenario.step_s / 60.0, "cascade_waves": waves,
                "failed_after_cascade": failed,
                "tripped": [self.link_tids[i] for i in np.flatnonzero(tripped)],
                "steps": scenario.steps}


def _nanmax(x) -> float:
    a = np.asarray(x, float)
    return math.nan if np.isnan(a).all() else float(np.nanmax(a))


def _nanmean(x) -> float:
    a = np.asarray(x, float)
    return math.nan if np.isnan(a).all() else float(np.nanmean(a))


#: Runners of this process by (scene path, scene sha256, day): a worker builds its simulator once.
_RUNNERS: dict[tuple, CaseRunner] = {}


def runner_for(scene_path: str, scene_sha256: str, day: bool) -> CaseRunner:
    """This process's runner for a scene file, built at the first call.

    Raises
    ------
    InputError
        The file at ``scene_path`` is not the one the sweep was planned on
        (its sha256 differs, for example a cluster node with another copy).
    """
    from ..errors import InputError
    from ..loader import load_scene
    from ..provenance import file_sha256
    key = (scene_path, scene_sha256, day)
    runner = _RUNNERS.get(key)
    if runner is None:
        if file_sha256(scene_path) != scene_sha256:
            raise InputError(scene_path, "this worker's copy of the scene file differs from the "
                             "one the sweep was planned on (sha256)")
        runner = _RUNNERS[key] = CaseRunner(load_scene(scene_path), day)
    return runner


def run_batch(scene_path: str, scene_sha256: str, day: bool,
              cases: list[Case]) -> tuple[list[dict], list[float], float]:
    """Rows of a batch of cases, the seconds each took and the batch's CPU seconds
    (the simulator's build excluded from both).

    The function a Dask task runs; the scene travels as its path and hash,
    and each worker process builds its simulator once (:func:`runner_for`).
    """
    runner = runner_for(scene_path, scene_sha256, day)
    rows, seconds = [], []
    cpu = time.process_time()
    for c in cases:
        t = time.perf_counter()
        rows.append(case_row(c, runner.run(c)))
        seconds.append(time.perf_counter() - t)
    return rows, seconds, time.process_time() - cpu


def case_row(case: Case, kpis: dict) -> dict:
    """A whole row: the case's own columns, then its KPIs."""
    st = case.storm
    return {"case_id": case.case_id, "kind": case.kind, "faults": list(case.faults),
            "demand_factor": case.demand_factor, **kpis,
            "storm_x_m": math.nan if st is None else st.x_m,
            "storm_y_m": math.nan if st is None else st.y_m,
            "storm_radius_m": math.nan if st is None else st.radius_m}
