"""Red team: the failure sets of up to K elements that do the most damage, with and without a change.

:func:`redteam` searches sets of up to ``budget`` attacks (links cut,
sites down, optionally demand surges at sites; :mod:`twin3d.guard.attacks`)
for the largest objective, on the network as it is and with the change
under test applied, and reports both:

* ``dropped_bps``: bit/s dropped at the busy hour (21:00, one step;
  SANDBOX.md section 5), cascades included, as the step's
  ``dropped_bps`` KPI counts it (the failed sites' own traffic too). With
  a scenario: at its busiest step, the failures in force from step 0.
* ``sla_steps``: steps that breach ``[sla]`` over the scenario (default:
  a day of 24 hourly steps from 00:00), the failures in force from step
  0; ties go to the set dropping more bits over the day.

The search is exhaustive when the number of sets ``C(n,1) + ... +
C(n,K)`` is at most ``max_evals``, else a beam search
(:mod:`twin3d.guard.search`) within ``max_evals`` evaluations. The worst
set is played once more through :meth:`Simulator.run
<twin3d.sim.engine.Simulator.run>`, and that run's figures are reported, so
the ``[[scenario]]`` written by :mod:`twin3d.guard.redteam_scene` replays
them.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..provenance import provenance
from ..scene import ScenarioSpec
from ..sim.engine import Simulator
from .attacks import DEFAULT_SURGE_FACTOR, DamageEvaluator, attack_menu
from .changes import Change, parse_changes
from .check import _scenario
from .redteam_scene import event_dict
from .search import beam, exhaustive, n_sets
from .state import busy_hour_scenario, with_events

__all__ = ["redteam", "OBJECTIVES", "DEFAULT_MAX_EVALS", "day_scenario", "objective_scenario"]

OBJECTIVES = ("dropped_bps", "sla_steps")
#: Evaluation budget: exhaustive up to this many sets, a beam search within it beyond.
DEFAULT_MAX_EVALS = 5000


def day_scenario() -> ScenarioSpec:
    """The default day of ``sla_steps``: 24 hourly steps of the diurnal profile from 00:00."""
    return ScenarioSpec("redteam_day", steps=24, step_s=3600.0, profile="diurnal",
                        description="a day of 24 hourly steps", start_hour=0.0)


def objective_scenario(scene, objective: str, scenario=None) -> ScenarioSpec:
    """The scenario an objective is measured on: ``scenario`` (a name or spec), else the default."""
    sc = _scenario(scene, scenario)
    if sc is not None:
        return sc
    return busy_hour_scenario() if objective == "dropped_bps" else day_scenario()


def _check_args(path, budget, objective, max_evals, surge_factor) -> None:
    if isinstance(budget, bool) or not isinstance(budget, (int, np.integer)) or budget < 1:
        raise InputError(path, f"must be an integer >= 1 (elements failed together), got {budget!r}",
                         "option --budget")
    if objective not in OBJECTIVES:
        raise InputError(path, f"must be one of {', '.join(OBJECTIVES)}, got {objective!r}",
                         "option --objective")
    if isinstance(max_evals, bool) or not isinstance(max_evals, (int, np.integer)) or max_evals < 1:
        raise InputError(path, f"must be an integer >= 1, got {max_evals!r}", "option --max-evals")
    if not surge_factor > 1:
        raise InputError(path, f"must be > 1, got {surge_factor!r}", "option --surge-factor")


def _side(sim, sc, context, objective, budget, max_evals, surges, surge_factor, seed) -> dict:
    """Search one side (the network without the change, or with it)."""
    t0 = time.perf_counter()
    attacks = attack_menu(sim, context, surges, surge_factor)
    ev = DamageEvaluator(sim, sc, context, attacks, objective)
    rank = np.empty(len(attacks), np.int64)
    rank[np.random.default_rng(seed).permutation(len(attacks))] = np.arange(len(attacks))
    total = n_sets(len(attacks), budget)
    method = "exhaustive" if total <= max_evals else "beam"
    res = (exhaustive(ev, budget, rank) if method == "exhaustive"
           else beam(ev, budget, max_evals, rank))
    search_s = time.perf_counter() - t0
    base = ev([()])
    worst = res.best if res.key and res.key[res.best][0] > 0 else ()
    events = [attacks[i].event for i in worst]
    run = sim.run(with_events(sc, [*context, *events]))      # the figures a replay gives
    steps = run.steps[:ev.steps]
    dropped = float(steps[ev.busiest].kpis["dropped_bps"])
    sla_steps = sum(bool(s.kpis["sla_violated"]) for s in steps)
    damage = dropped if objective == "dropped_bps" else float(sla_steps)
    return {
        "damage": damage,
        "baseline": float(base.damage[0]),
        "worst": [attacks[i].as_dict() for i in worst],
        "dropped_bps": dropped,
        "offered_bps": float(steps[ev.busiest].kpis["offered_bps"]),
        "sla_steps": int(sla_steps),
        "dropped_bits": float(sum(s.kpis["dropped_bps"] for s in steps) * sc.step_s),
        "attacks": len(attacks),
        "sets": total,
        "method": method,
        "evaluations": res.evaluations,
        "batched": ev.fast,
        "search_seconds": round(search_s, 3),
        "events": [event_dict(e) for e in events],
    }


def redteam(scene_or_sim, changes=None, *, budget: int = 2, objective: str = "dropped_bps",
            surges: bool = False, scenario=None, seed: int | None = None,
            max_evals: int = DEFAULT_MAX_EVALS, surge_factor: float = DEFAULT_SURGE_FACTOR,
            change_file: str | Path | None = None) -> dict:
    """The worst failure sets of up to ``budget`` elements, without and with a change.

    Parameters
    ----------
    scene_or_sim : Scene or Simulator
        The loaded scene, or a simulator built on it (reused: no rebuild).
    changes : list of Change, or str or Path, optional
        The change under test (parsed, or a change file). None: only the
        network as it is.
    budget : int
        Largest number of elements failed together (K >= 1).
    objective : {"dropped_bps", "sla_steps"}
    surges : bool
        Attacks also include a surge of ``surge_factor`` times a site's demand.
    scenario : str or ScenarioSpec, optional
        Measure on this scenario of the scene (default: the busy hour for
        ``dropped_bps``, a day for ``sla_steps``).
    seed : int, optional
        Orders equal-damage sets; default the scene's seed.
    max_evals : int
        Exhaustive when C(n,1) + ... + C(n,K) <= max_evals, else a beam
        search scoring at most max_evals sets per side.

    Returns
    -------
    dict
        ``without_change`` and ``with_change`` (None without a change), each
        with ``damage``, ``baseline`` (no failure), ``worst`` (attacks as
        ``{"element": "link:..", "event": "fiber_cut"}``), ``method``,
        ``evaluations``, ``search_seconds`` and the run's ``dropped_bps``,
        ``sla_steps`` and ``dropped_bits``; ``damage_increase``, the
        scenario and ``provenance``. Each side's ``events`` (EventSpec) is
        what :func:`~twin3d.guard.redteam_scene.scenario_toml` writes.

    Raises
    ------
    InputError
        A bad budget, objective, budget of evaluations, scenario name or change file.

    Examples
    --------
    >>> r = redteam(scene, budget=2, objective="dropped_bps")       # doctest: +SKIP
    >>> r["without_change"]["worst"], r["without_change"]["damage"]  # doctest: +SKIP
    ([{'element': 'site:Chicago', 'event': 'site_outage'}, ...], 1.26e10)
    """
    t0 = time.perf_counter()
    sim = scene_or_sim if isinstance(scene_or_sim, Simulator) else Simulator(scene_or_sim)
    scene = sim.scene
    _check_args(scene.spec.path, budget, objective, max_evals, surge_factor)
    if isinstance(changes, (str, Path)):
        change_file = change_file or changes
        changes = parse_changes(changes, scene)
    changes: list[Change] = list(changes or [])
    sc = objective_scenario(scene, objective, scenario)
    seed = scene.seed if seed is None else int(seed)
    args = (objective, int(budget), int(max_evals), surges, surge_factor, seed)
    without = _side(sim, sc, [], *args)
    with_ = _side(sim, sc, [c.event for c in changes], *args) if changes else None
    return {
        "objective": objective,
        "budget": int(budget),
        "max_evals": int(max_evals),
        "surges": bool(surges),
        "without_change": without,
        "with_change": with_,
        "damage_increase": None if with_ is None else with_["damage"] - without["damage"],
        "change_events": [event_dict(c.event) for c in changes],
        "changes": [{"change": c.number, "kind": c.kind, **c.fields, "event": c.event.kind}
                    for c in changes],
        "change_file": None if change_file is None else str(change_file),
        "scene": scene.name,
        "scenario": sc.name,
        "busiest_hour": float((sc.start_hour + int(np.argmax(_factors(sc))) * sc.step_s / 3600) % 24),
        "seconds": round(time.perf_counter() - t0, 3),
        "provenance": provenance(scene.spec.path, seed),
    }


def _factors(sc: ScenarioSpec) -> np.ndarray:
    from ..sim.demand import profile_factor
    return np.asarray(profile_factor(sc.start_hour + np.arange(sc.steps) * sc.step_s / 3600.0,
                                     sc.profile))
