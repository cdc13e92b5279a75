"""Check a proposed change in the twin before it ships: the guard's verdict.

:func:`check` compares the network without the change (before) and with it
(after) and returns a JSON-ready report::

    {"verdict": "pass" | "fail",
     "checks": {name: {"ok": bool, "violations": [...], ...}}, ...}

with the checks ``loop``, ``black_hole``, ``reachability``, ``n1``, ``sla``
and ``coverage`` (issue 11). ``loop`` and ``black_hole`` list every pair
that loops or is black-holed after the change, each with ``new`` true when
the change introduced it; only new violations fail a check (SANDBOX.md
section 7), so the disconnected parts of a Topology Zoo network are
reported without failing every change.

Time (SANDBOX.md section 5): without a scenario, every check runs on the
busy hour as one step (21:00 of the diurnal profile); with one, the
forwarding checks run at its step 0 and ``sla`` at every step; ``n1`` is
always at the busy hour.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..loader import Scene
from ..physics.forwarding import ForwardingAnalysis
from ..provenance import provenance
from ..scene import ScenarioSpec
from ..sim.engine import Simulator
from .changes import Change, parse_changes
from .shadow import coverage_check, n1_check, shadow, sla_check
from .state import BUSY_HOUR, analyse, net_state

__all__ = ["check", "CHECKS"]

#: The checks, in report order.
CHECKS = ("loop", "black_hole", "reachability", "n1", "sla", "coverage")


def _loops(before: ForwardingAnalysis, after: ForwardingAnalysis) -> dict:
    ids = [str(x) for x in after.nodes]
    out = [{"src": ids[s], "dst": ids[d], "cycle": [ids[x] for x in after.cycles[after.loop_cycle[s, d]]],
            "new": not bool(before.loop[s, d])} for s, d in zip(*np.nonzero(after.loop))]
    return {"ok": not any(v["new"] for v in out), "violations": out}


def _black_holes(before: ForwardingAnalysis, after: ForwardingAnalysis) -> dict:
    ids = [str(x) for x in after.nodes]
    out = [{"src": ids[s], "dst": ids[d], "at": ids[after.black_hole_at[s, d]],
            "new": not bool(before.black_hole[s, d])} for s, d in zip(*np.nonzero(after.black_hole))]
    return {"ok": not any(v["new"] for v in out), "violations": out}


def _reachability(before: ForwardingAnalysis, after: ForwardingAnalysis, downed: list[int]) -> dict:
    """Pairs reachable before and not after (violations), and the reverse (``gained``).

    Pairs that touch a site the change itself takes down are expected to go:
    they are counted in ``expected_lost``, not violations.
    """
    ids = [str(x) for x in after.nodes]
    off = ~np.eye(len(ids), dtype=bool)              # ordered pairs of two nodes
    lost = before.reachable & ~after.reachable & off
    expected = np.zeros_like(lost)
    expected[downed, :] = expected[:, downed] = True
    gained = ~before.reachable & after.reachable & off
    out = [{"src": ids[s], "dst": ids[d], "change": "lost", "new": True}
           for s, d in zip(*np.nonzero(lost & ~expected))]
    return {"ok": not out, "violations": out, "expected_lost": int((lost & expected).sum()),
            "gained": [{"src": ids[s], "dst": ids[d], "change": "gained"}
                       for s, d in zip(*np.nonzero(gained))]}


def _scenario(scene: Scene, scenario) -> ScenarioSpec | None:
    if scenario is None or isinstance(scenario, ScenarioSpec):
        return scenario
    for sc in scene.spec.scenarios:
        if sc.name == scenario:
            return sc
    names = ", ".join(s.name for s in scene.spec.scenarios) or "none"
    raise InputError(scene.spec.path, f"no scenario named '{scenario}' (the scene has: {names})",
                     "[[scenario]]", "name")


def check(scene_or_sim, changes, scenario=None, *, n1: bool = True,
          change_file: str | Path | None = None) -> dict:
    """Check a change against the twin; the report of issue 11.

    Parameters
    ----------
    scene_or_sim : Scene or Simulator
        The loaded scene, or a simulator built on it (reused: no rebuild).
    changes : list of Change, or str or Path
        Parsed changes (:func:`~twin3d.guard.changes.parse_changes`) or a
        change file to parse against the scene.
    scenario : str or ScenarioSpec, optional
        A scenario of the scene: ``sla`` runs at every step of it, the
        forwarding checks at its step 0. Default: the busy hour, one step.
    n1 : bool
        Run the ``n1`` check (a busy-hour step per single failure, the
        costliest check); False reports it as skipped.
    change_file : str or Path, optional
        Recorded in the report (set from ``changes`` when it is a path).

    Returns
    -------
    dict
        ``verdict``, ``checks``, ``changes``, ``scene``, ``scenario``,
        ``busy_hour``, ``routing``, ``seconds`` and ``provenance``.

    Examples
    --------
    >>> from twin3d.guard import check
    >>> report = check(scene, "change.toml")                  # doctest: +SKIP
    >>> report["verdict"], report["checks"]["loop"]["violations"][0]   # doctest: +SKIP
    ('fail', {'src': 'A', 'dst': 'D', 'cycle': ['A', 'B'], 'new': True})
    """
    t0 = time.perf_counter()
    sim = scene_or_sim if isinstance(scene_or_sim, Simulator) else Simulator(scene_or_sim)
    scene = sim.scene
    if isinstance(changes, (str, Path)):
        change_file = change_file or changes
        changes = parse_changes(changes, scene)
    changes: list[Change] = list(changes)
    sc = _scenario(scene, scenario)
    events = [c.event for c in changes]

    ns_before, ns_after = net_state(sim, [], sc), net_state(sim, events, sc)
    before, after = analyse(sim, ns_before), analyse(sim, ns_after)
    downed = [sim.router.node_index[s] for s in {c.downs_site for c in changes} - {None}
              if s in sim.router.node_index]
    checks = {"loop": _loops(before, after), "black_hole": _black_holes(before, after),
              "reachability": _reachability(before, after, downed)}
    if n1:
        if sc is None:
            need_b, need_a = before.reachable, after.reachable
        else:   # n1 is at the plain busy hour, whatever the scenario's step 0 holds
            need_b = analyse(sim, net_state(sim, [])).reachable
            need_a = analyse(sim, net_state(sim, events)).reachable
        checks["n1"] = n1_check(sim, events, need_b, need_a)
    else:
        checks["n1"] = {"ok": True, "violations": [], "skipped": "not requested"}
    runs = shadow(sim, sc, events)
    checks["sla"] = sla_check(sim, *runs, downed=downed)
    checks["coverage"] = coverage_check(sim, changes, runs if sc is None else None)
    verdict = "pass" if all(c["ok"] for c in checks.values()) else "fail"
    return {
        "verdict": verdict,
        "checks": checks,
        "changes": [{"change": c.number, "kind": c.kind, **c.fields, "event": c.event.kind}
                    for c in changes],
        "scene": scene.name,
        "change_file": None if change_file is None else str(change_file),
        "scenario": None if sc is None else sc.name,
        "busy_hour": BUSY_HOUR,
        "routing": scene.spec.traffic.routing,
        "seconds": round(time.perf_counter() - t0, 3),
        "provenance": provenance(scene.spec.path, scene.seed),
    }
