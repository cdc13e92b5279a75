"""The guard's physics checks: sla and coverage by shadow runs, and n1 at the busy hour.

A shadow run simulates the same scenario twice, without the change and with
it, and compares step by step; a violation is reported only where the
change makes a step worse than it was without it.
"""

from __future__ import annotations

import math

import numpy as np

from ..scene import EventSpec
from ..sim.engine import ScenarioResult, Simulator, StepResult
from .state import busy_hour_scenario, net_state, reachable, with_events

__all__ = ["link_peak_util", "shadow", "sla_check", "coverage_check", "n1_check", "EPS"]

#: Relative margin under which "after" counts as no worse than "before" (float noise).
EPS = 1e-9
#: Lost pairs an n1 violation lists (the count is always given).
MAX_PAIRS_LISTED = 5


def link_peak_util(step: StepResult, link_ids: list[str]) -> np.ndarray:
    """(n_links,) utilization of each link in a step, a tripped link's at its trip.

    A link that a cascade trips carries nothing afterwards, so its final
    utilization is 0; the wave records what it carried when it tripped.
    """
    u = np.asarray(step.link_util, float).copy()
    index = {l: i for i, l in enumerate(link_ids)}
    for w in step.waves:
        for l, x in w["utilization"].items():
            u[index[l]] = max(u[index[l]], x)
    return u


def _dropped_fraction(step: StepResult, excluded: np.ndarray) -> float:
    """Share of the offered traffic dropped, less the routed demands of ``excluded`` nodes.

    A site the change takes down loses its own traffic by design; that loss
    is the change's stated intent (reported by ``reachability`` as
    ``expected_lost``), not a breach it causes.
    """
    k = step.kpis
    offered, dropped = k.get("offered_bps", 0.0), k.get("dropped_bps", 0.0)
    if len(excluded) and step.demand is not None and step.demand_delivered_bps is not None:
        src, dst, bps = step.demand
        theirs = np.isin(src, excluded) | np.isin(dst, excluded)
        dropped -= float(np.sum((bps - step.demand_delivered_bps)[theirs]))
    return max(0.0, dropped) / offered if offered > 0 else 0.0


def _worse(after: float, before: float) -> bool:
    if math.isnan(after):
        return False
    return math.isnan(before) or after > before + EPS * max(1.0, abs(before))


def shadow(sim: Simulator, scenario, events) -> tuple[ScenarioResult, ScenarioResult]:
    """Run ``scenario`` (None: the busy hour) without and with ``events`` at step 0."""
    sc = scenario or busy_hour_scenario()
    return sim.run(sc), sim.run(with_events(sc, events))


def sla_check(sim: Simulator, before: ScenarioResult, after: ScenarioResult,
              downed=()) -> dict:
    """Links over the trip threshold, p95 latency and dropped share over ``[sla]``, where the
    change made them worse.

    Per step of the shadow run: each link whose utilization (at its trip,
    when a cascade tripped it) exceeds ``[traffic] trip_utilization``; the
    demand-weighted p95 latency over ``[sla] latency_p95_ms``; the share of
    the offered traffic dropped over ``[sla] dropped_fraction_max`` (less
    the traffic of the ``downed`` node indices, the sites the change takes
    down). Only where the step with the change is worse than without it.

    Examples
    --------
    >>> res = sla_check(sim, *shadow(sim, None, [ev]))               # doctest: +SKIP
    >>> res["violations"][0]                                         # doctest: +SKIP
    {'step': 0, 'hour': 21.0, 'kind': 'utilization', 'link': 'CD', 'util': 0.857, ...}
    """
    trip = sim.scene.spec.traffic.trip_utilization
    lat_max = sim.scene.spec.sla.latency_p95_ms
    drop_max = sim.scene.spec.sla.dropped_fraction_max
    excluded = np.asarray(list(downed), np.int64)
    out = []
    for b, a in zip(before.steps, after.steps):
        ub, ua = link_peak_util(b, before.link_ids), link_peak_util(a, after.link_ids)
        for i in np.flatnonzero(ua > trip):
            if _worse(float(ua[i]), float(ub[i])):
                out.append({"step": a.t, "hour": a.hour % 24, "kind": "utilization",
                            "link": after.link_ids[i], "util": round(float(ua[i]), 4),
                            "util_before": round(float(ub[i]), 4), "limit": trip, "new": True})
        la, lb = a.kpis.get("latency_p95_ms", math.nan), b.kpis.get("latency_p95_ms", math.nan)
        if la > lat_max and _worse(la, lb):
            out.append({"step": a.t, "hour": a.hour % 24, "kind": "latency_p95_ms",
                        "value": round(la, 4), "before": round(lb, 4), "limit": lat_max, "new": True})
        da, db = _dropped_fraction(a, excluded), _dropped_fraction(b, excluded)
        if da > drop_max and _worse(da, db):
            out.append({"step": a.t, "hour": a.hour % 24, "kind": "dropped_fraction",
                        "value": round(da, 6), "before": round(db, 6), "limit": drop_max, "new": True})
    return {"ok": not out, "violations": out, "steps": len(after.steps)}


#: Radio KPIs the coverage check compares: (kpi, [sla] bound or None).
_RADIO = (("coverage_pct", "coverage_pct_min"), ("throughput_p5_bps", "throughput_p5_bps_min"),
          ("throughput_p50_bps", None))


def coverage_check(sim: Simulator, changes, busy: tuple[ScenarioResult, ScenarioResult] | None) -> dict:
    """Loss of coverage and user throughput at the busy hour, for sector and site changes.

    ``busy`` is the busy-hour shadow run when already made. A violation is a
    KPI below its ``[sla]`` bound after the change that was not below it
    before; the losses are reported whatever their size.
    """
    radio_changes = [c for c in changes if c.kind in ("sector", "site_state")]
    if not sim.cells or not radio_changes:
        why = "no radio cells in the scene" if not sim.cells else "no sector or site change"
        return {"ok": True, "violations": [], "skipped": why}
    before, after = busy or shadow(sim, None, [c.event for c in changes])
    kb, ka = before.steps[0].kpis, after.steps[0].kpis
    sla = sim.scene.spec.sla
    loss, out = {}, []
    for key, bound in _RADIO:
        loss[key] = kb[key] - ka[key]
        if bound is None:
            continue
        limit = getattr(sla, bound)
        if ka[key] < limit and not kb[key] < limit:
            out.append({"kpi": key, "before": kb[key], "after": ka[key], "limit": limit, "new": True})
    return {"ok": not out, "violations": out, "loss": loss}


def _busy_sla_violated(sim: Simulator, events) -> bool:
    """Whether the busy hour with ``events`` breaches the ``[sla]``."""
    sc = with_events(busy_hour_scenario(), events)
    return bool(sim.step(sim.timeline(sc), 0).kpis["sla_violated"])


def _survives(sim: Simulator, events, need: np.ndarray, failed_site: int | None,
              judge_sla: bool = True) -> tuple[bool, dict]:
    """Whether the busy hour with ``events`` keeps every pair in ``need`` (and the ``[sla]``)."""
    ns = net_state(sim, events)
    need = need.copy()
    if failed_site is not None:          # pairs touching a failed site are expected to go
        need[failed_site, :] = need[:, failed_site] = False
    lost = need & ~reachable(sim, ns)
    if lost.any():
        nodes = sim.router.nodes
        pairs = [[str(nodes[s]), str(nodes[d])] for s, d in zip(*np.nonzero(lost))]
        return False, {"reason": "unreachable", "lost_pairs": int(lost.sum()),
                       "pairs": pairs[:MAX_PAIRS_LISTED]}
    if not judge_sla:
        return True, {}
    sc = with_events(busy_hour_scenario(), events)
    k = sim.step(sim.timeline(sc), 0).kpis
    if k["sla_violated"]:
        keys = ("util_max", "latency_p95_ms", "dropped_bps", "coverage_pct", "throughput_p5_bps")
        return False, {"reason": "sla", "kpis": {x: k[x] for x in keys
                                                  if x in k and not math.isnan(k[x])}}
    return True, {}


def n1_check(sim: Simulator, change_events, need_before: np.ndarray, need_after: np.ndarray) -> dict:
    """Single link or site failures survived without the change but not with it (busy hour).

    Surviving a failure: every pair reachable in the intact network (of the
    same side, ``need_before`` / ``need_after``) stays reachable, except
    pairs that touch the failed site, and the step keeps the ``[sla]``.
    Failures the network did not survive before are not the change's doing
    and are not checked after it. A side whose intact busy hour already
    breaches the ``[sla]`` is judged on reachability alone (``sla_judged``):
    breaking the SLA with no failure at all is the ``sla`` check's finding,
    and would otherwise be charged to every failure.
    """
    judge = {"before": not _busy_sla_violated(sim, []),
             "after": not _busy_sla_violated(sim, change_events)}
    base = sim.timeline(busy_hour_scenario()).state(0)
    fails = [(f"link:{l}", EventSpec(0, "fiber_cut", target=l), None)
             for l in sim.link_ids if base.link_state[l] == "up"]
    fails += [(f"site:{s}", EventSpec(0, "site_outage", target=s), sim.node_of_site.get(s))
              for s in sim.site_ids if base.site_state[s] in ("up", "sleep")]
    out, survived = [], 0
    for name, ev, node in fails:
        ok, _ = _survives(sim, [ev], need_before, node, judge["before"])
        if not ok:
            continue
        survived += 1
        ok, why = _survives(sim, [*change_events, ev], need_after, node, judge["after"])
        if not ok:
            out.append({"element": name, **why, "new": True})
    return {"ok": not out, "violations": out, "failures": len(fails),
            "survived_before": survived, "sla_judged": judge}
