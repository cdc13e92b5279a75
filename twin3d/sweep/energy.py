"""Energy what-if: power-down policies against SLA breaches over common demand draws.

A policy names cells and the hours of the day they sleep (``cell_sleep``
events, SANDBOX.md section 2). Every policy runs the same draws: N demand
factors drawn from the seed (the ``growth`` stream of
:func:`twin3d.sweep.faults.streams`, so the draws are the sweep's), each a
whole diurnal day of 24 hourly steps from 00:00 at that factor. The
reference is the all-awake day of the same draw.

Per policy and draw: ``energy_kwh_day = sum over steps of energy_w x 1 h /
1000`` (the twin's EARTH site power, :mod:`twin3d.sim.power`), energy saved
= all-awake minus policy (paired: the 95 % interval of the mean is that of
the per-draw differences), ``sla_violation_steps`` (steps breaching
``[sla]``) and the day's mean ``dropped_bps``.

The Pareto front holds the policies no other policy dominates on (energy
saved: more is better; SLA breach steps: fewer; dropped traffic: less),
means over the draws (:func:`pareto_mask`).

Policies file (TOML data)::

    [[policy]]
    name = "night: 4 cells"            # optional (default "policy N")
    cells = ["cell:HEL-01/2", "HEL-03/1"]   # typed or bare cell ids
    sites = ["HEL-05"]                 # every cell of these sites (optional)
    hours = [0, 1, 2, 3, 4, 5]         # hours of the day asleep, or:
    # from_hour = 23                   # asleep from this hour ...
    # to_hour = 5                      # ... to this one (exclusive), past midnight

``--auto`` makes a family instead (:func:`auto_policies`): the k cells
least loaded during the hours (all awake, demand factor 1) sleep during
them, for each k given.
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

import numpy as np

from ..errors import InputError, read_user_text
from ..scene import EventSpec, ScenarioSpec, _Table
from .criticality import Z95

__all__ = ["Policy", "parse_policies", "policies_from_text", "auto_policies", "policy_scenario",
           "run_day", "run_energy_batch", "pareto_mask", "demand_draws", "evaluate_energy", "HOURS"]

HOURS = 24


@dataclass(frozen=True)
class Policy:
    """Cells (``<site>/<k>``) asleep during ``hours`` (0..23); hashable."""

    name: str
    cells: tuple[str, ...]
    hours: tuple[int, ...]


def policy_scenario(policy: Policy) -> ScenarioSpec:
    """The diurnal day, hourly from 00:00, with a one-step ``cell_sleep`` per cell and hour."""
    events = tuple(EventSpec(h, "cell_sleep", cell=c, duration=1)
                   for h in sorted(policy.hours) for c in policy.cells)
    return ScenarioSpec("energy_day", steps=HOURS, step_s=3600.0, profile="diurnal", events=events,
                        description=f"policy {policy.name}", start_hour=0.0)


def run_day(sim, policy: Policy, demand_factor: float) -> dict:
    """One draw of one policy: energy_kwh_day, sla_violation_steps, dropped_bps (day mean),
    and per step energy_w and cell_load (for checks)."""
    scenario = policy_scenario(policy)
    timeline = sim.timeline(scenario)
    energy, viol, dropped, loads = [], 0, [], []
    for t in range(scenario.steps):
        r = sim.step(timeline, t, demand_factor)
        energy.append(r.kpis["energy_w"])
        viol += bool(r.kpis["sla_violated"])
        dropped.append(r.kpis["dropped_bps"])
        loads.append(r.cell_load)
    return {"energy_kwh_day": float(np.sum(energy)) * scenario.step_s / 3600.0 / 1000.0,
            "sla_violation_steps": viol, "dropped_bps": float(np.mean(dropped)),
            "energy_w": energy, "cell_load": loads}


def pareto_mask(costs) -> np.ndarray:
    """(n,) bool: rows of ``costs`` (n, m), every column minimized, that no other row dominates.

    A row dominates another when it is no worse in every column and better
    in one. Equal rows dominate neither.

    Examples
    --------
    >>> pareto_mask([[1, 5], [2, 2], [3, 3], [2, 2], [0, 9]]).tolist()
    [True, True, False, True, True]
    """
    c = np.asarray(costs, float)
    le = (c[:, None, :] <= c[None, :, :]).all(axis=2)     # le[j, i]: j no worse than i
    lt = (c[:, None, :] < c[None, :, :]).any(axis=2)
    dominated = (le & lt).any(axis=0)
    return ~dominated


def demand_draws(seed: int, samples: int, growth) -> np.ndarray:
    """(samples,) demand factors from the seed's ``growth`` stream (ones without ``growth``)."""
    from .faults import streams
    if growth is None:
        return np.ones(samples)
    return np.asarray(growth(streams(seed)["growth"], samples), float)


def _cell_id(v: str) -> str:
    return v[5:] if v.startswith("cell:") else v


def _policy(file: Path, i: int, data: Any, twin) -> Policy:
    where = f"[[policy]] {i + 1}"
    if isinstance(data, dict) and isinstance(data.get("name"), str):
        where += f" ({data['name']})"
    t = _Table(file, where, data, ("name", "cells", "sites", "hours", "from_hour", "to_hour"))
    name = t.get("name", str, f"policy {i + 1}")
    cells: list[str] = []
    for v in t.get("cells", list, []):
        if not isinstance(v, str):
            raise t.err("cells", f"must hold cell ids, got {type(v).__name__} {v!r}")
        cid = _cell_id(v)
        site, _, k = cid.rpartition("/")
        if site not in twin.sites or not k.isdigit() or not 1 <= int(k) <= len(twin.sites[site].cells):
            raise t.err("cells", f"names unknown cell '{v}' (cells are '<site>/<k>', k from 1)")
        cells.append(cid)
    for v in t.get("sites", list, []):
        sid = v[5:] if isinstance(v, str) and v.startswith("site:") else v
        if not isinstance(sid, str) or sid not in twin.sites:
            raise t.err("sites", f"names unknown site {v!r}")
        if not twin.sites[sid].cells:
            raise t.err("sites", f"site '{sid}' has no cells to sleep")
        cells += [c.id for c in twin.sites[sid].cells]
    hours = t.get("hours", list, None)
    span = [t.num(k, None, 0, HOURS - 1) for k in ("from_hour", "to_hour")]
    if hours is not None and any(s is not None for s in span):
        raise t.err("hours", "give hours or from_hour/to_hour, not both")
    if hours is None:
        if (span[0] is None) != (span[1] is None):
            raise t.err("to_hour" if span[1] is None else "from_hour", "from_hour and to_hour "
                        "go together")
        if span[0] is None:
            hours = []
        else:
            h0, h1 = int(span[0]), int(span[1])
            if h0 != span[0] or h1 != span[1]:
                raise t.err("from_hour", "hours are whole numbers")
            hours = [h % HOURS for h in range(h0, h1 if h1 > h0 else h1 + HOURS)]
    for h in hours:
        if isinstance(h, bool) or not isinstance(h, int) or not 0 <= h < HOURS:
            raise t.err("hours", f"must hold whole hours 0..23, got {h!r}")
    if cells and not hours:
        raise t.err("hours", "cells sleep at no hour: give hours or from_hour/to_hour")
    return Policy(name, tuple(dict.fromkeys(cells)), tuple(sorted(set(hours))))


def policies_from_text(text: str, twin, file: str | Path = "<policies>") -> list[Policy]:
    """Policies of a policies file's text; InputError naming ``[[policy]] N (name)`` and the field."""
    file = Path(file)
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(file, f"not valid TOML: {exc}") from None
    unknown = sorted(set(doc) - {"policy"})
    if unknown:
        raise InputError(file, "unknown key (allowed: policy)", None, unknown[0])
    items = doc.get("policy")
    if not isinstance(items, list) or not items:
        raise InputError(file, "holds no [[policy]]", None, "policy")
    out = [_policy(file, i, d, twin) for i, d in enumerate(items)]
    names = [p.name for p in out]
    for i, n in enumerate(names):
        if n in names[:i]:
            raise InputError(file, f"repeats the name of [[policy]] {names.index(n) + 1}",
                             f"[[policy]] {i + 1} ({n})", "name")
    return out


def parse_policies(path: str | Path, twin) -> list[Policy]:
    """Policies of a file; InputError when missing or malformed."""
    file, text = read_user_text(path, "policies file")
    return policies_from_text(text, twin, file)


def auto_policies(sim, hours: tuple[int, ...], ks: list[int]) -> list[Policy]:
    """For each k, the k cells least loaded during ``hours`` (all awake, factor 1) asleep then.

    Ties in load break by cell order. k = 0 is the all-awake policy.
    """
    awake = run_day(sim, Policy("all awake", (), ()), 1.0)
    load = np.mean([awake["cell_load"][h] for h in hours], axis=0)
    order = np.argsort(load, kind="stable")
    ids = [c.id for c in sim.cells]
    return [Policy("all awake" if k == 0 else f"sleep {k} least loaded {hours[0]:02d}-"
                   f"{(hours[-1] + 1) % HOURS:02d}h", tuple(ids[i] for i in order[:k]),
                   tuple(hours) if k else ()) for k in ks]


def _summary(vals, ref) -> tuple[float, float, float]:
    d = np.asarray(ref, float) - np.asarray(vals, float)
    m = float(d.mean())
    h = Z95 * float(d.std(ddof=1)) / math.sqrt(len(d)) if len(d) > 1 else math.nan
    return m, m - h, m + h


def run_energy_batch(scene_path: str, sha: str, day: bool,
                     jobs: list) -> tuple[list[dict], list[float], float]:
    """Days of ``(draw index, demand factor, policy)`` jobs on this process's simulator.

    The :func:`twin3d.sweep.run.run_cases` task of ``twin3d energy-sweep``
    (``day`` is unused: a job is always a whole day).
    """
    import time
    from .cases import runner_for
    sim = runner_for(scene_path, sha, False).sim
    rows, seconds = [], []
    cpu = time.process_time()
    for i, f, policy in jobs:
        t = time.perf_counter()
        rows.append({"draw": i, "policy": policy, **run_day(sim, policy, f)})
        seconds.append(time.perf_counter() - t)
    return rows, seconds, time.process_time() - cpu


def evaluate_energy(sim, policies: list[Policy], factors, progress=None, workers: int = 0,
                    scheduler: str | None = None) -> dict:
    """Every policy over the same demand draws, against the all-awake day of each draw.

    Parameters
    ----------
    sim : twin3d.sim.engine.Simulator
        Of a scene with cells.
    policies : list of Policy
    factors : (n,) array_like
        The demand factors of the draws (:func:`demand_draws`).
    progress : callable, optional
        ``progress(done, total)`` after each day simulated.
    workers, scheduler
        As :func:`twin3d.sweep.run.run_cases`: 0 runs the days on ``sim``
        in this process; otherwise each Dask worker builds its own
        simulator from the scene file.

    Returns
    -------
    dict
        ``awake`` (per-draw rows), ``rows`` ({policy name: per-draw rows}),
        ``policies`` (summaries in the given order, with ``pareto``),
        ``factors``, ``complete``.

    Examples
    --------
    >>> res = evaluate_energy(sim, auto_policies(sim, (0, 1, 2), [0, 3]), [1.0, 1.2])  # doctest: +SKIP
    >>> res["policies"][0]["energy_saved_kwh_day"]                                    # doctest: +SKIP
    0.0
    """
    factors = [float(f) for f in factors]
    awake_policy = Policy("all awake", (), ())
    # a policy that sleeps nothing is the all-awake day itself
    asleep = [p for p in policies if p.cells and p.hours]
    jobs = [(i, f, p) for i, f in enumerate(factors) for p in [awake_policy] + asleep]
    total = len(jobs)
    complete = True
    if workers or scheduler:
        from ..provenance import file_sha256
        from .run import run_cases
        path = str(sim.scene.spec.path.resolve())
        got, complete = run_cases(path, file_sha256(path), jobs, False, workers, scheduler,
                                  (lambda n: progress(n, total)) if progress else None,
                                  task=run_energy_batch)
    else:
        got = []
        for i, f, p in jobs:
            got.append({"draw": i, "policy": p, **run_day(sim, p, f)})
            if progress:
                progress(len(got), total)
    by = {(r["draw"], r["policy"]): r for r in got}
    draws = [i for i in range(len(factors))
             if all((i, p) in by for p in [awake_policy] + asleep)]
    awake = [by[(i, awake_policy)] for i in draws]
    rows = {p.name: [by[(i, p if p in asleep else awake_policy)] for i in draws] for p in policies}
    out = []
    for p in policies:
        mine = rows[p.name]
        e = [r["energy_kwh_day"] for r in mine]
        saved = _summary(e, [r["energy_kwh_day"] for r in awake])
        sla = np.array([r["sla_violation_steps"] for r in mine], float)
        extra = _summary([r["sla_violation_steps"] for r in awake], sla)
        out.append({"name": p.name, "cells": [f"cell:{c}" for c in p.cells], "hours": list(p.hours),
                    "energy_kwh_day": float(np.mean(e)), "energy_saved_kwh_day": saved[0],
                    "energy_saved_kwh_day_ci95": [saved[1], saved[2]],
                    "sla_violation_steps": float(sla.mean()),
                    "sla_violation_steps_added": extra[0],
                    "sla_violation_steps_added_ci95": [extra[1], extra[2]],
                    "dropped_bps": float(np.mean([r["dropped_bps"] for r in mine]))})
    front = pareto_mask([[-r["energy_saved_kwh_day"], r["sla_violation_steps"], r["dropped_bps"]]
                         for r in out]) if out else np.zeros(0, bool)
    for r, on in zip(out, front):
        r["pareto"] = bool(on)
    return {"awake": awake, "rows": rows, "policies": out, "factors": [factors[i] for i in draws],
            "complete": complete}
