"""Capex what-if: candidate investments ranked over the same Monte Carlo draws.

Every candidate network (the scene with one investment made,
:func:`apply_candidate`) runs the very cases the baseline network runs:
one list of fault sets and demand factors, planned once from the seed by
:func:`twin3d.sweep.faults.plan_cases` (common random numbers). For draw i
the paired differences are ``sla_saved_i = sla_minutes_i(baseline) -
sla_minutes_i(candidate)`` and ``dropped_reduced_i = dropped_bps_i(baseline)
- dropped_bps_i(candidate)`` (traffic at risk); a candidate's figure is
their mean over the n draws with the normal 95 % interval ``mean ± 1.96 s /
sqrt(n)`` (s the sample standard deviation of the differences). Pairing
removes the draw-to-draw variance both networks share, so the interval is
much narrower than the difference of two independent means.

Candidates rank by SLA minutes saved per unit cost, then traffic at risk
reduced per unit cost, then name.

What stays fixed across candidates:

* the fault sets fail the scene's own elements; a candidate's new link or
  site never fails in a draw (the draws are the baseline's);
* the demand: a backbone's demand matrix is the baseline's (its gravity
  masses are node degrees, which a new link would change); a radio scene's
  demand is its users' density, which a new site then serves.

Cases run on :func:`twin3d.sweep.run.run_cases` (serially, or on Dask),
each worker building one simulator per candidate network once
(:func:`run_candidate_batch`).
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, replace

import numpy as np

from ..geo.records import LinkRecord, SectorRecord, SiteRecord
from ..model import Link, _link, _site
from .candidates import Candidate
from .cases import CaseRunner, case_row
from .criticality import Z95
from .fibre import fibre_route, street_graph

__all__ = ["CAPEX_FILE", "apply_candidate", "candidate_cost", "paired_ci", "rank_candidates",
           "run_candidate_batch", "evaluate"]

#: Where ``twin3d capex --stage BUILD`` writes the ranking in a build folder (``twin3d view`` reads it).
CAPEX_FILE = "analysis/capex.json"


@dataclass
class Applied:
    """A candidate network: the scene, the candidate's total cost and its new fibre."""

    scene: object
    cost: float
    new_fibre_m: float
    routes: list[str]


def _record(site) -> SiteRecord:
    return SiteRecord(site.id, site.lon, site.lat, ground_m=site.ground_m)


def _new_fibre(twin, link_id: str, a: SiteRecord, b: SiteRecord, capacity_bps: float,
               streets) -> tuple[Link, str]:
    """A new fibre link a-b routed as :func:`twin3d.sweep.fibre.fibre_route` lays it."""
    frame = twin.frame

    def great_circle():
        l = _link(LinkRecord(link_id, a.id, b.id, capacity_bps), {a.id: a, b.id: b}, frame)
        return l.route_xyz_m, l.length_m

    xa = frame.lonlat_to_xyz([[a.lon, a.lat]], [a.ground_m if a.ground_m is not None else frame.h0_m])[0]
    xb = frame.lonlat_to_xyz([[b.lon, b.lat]], [b.ground_m if b.ground_m is not None else frame.h0_m])[0]
    r = fibre_route(xa, xb, streets, great_circle)
    return Link(link_id, a.id, b.id, r.xyz_m, r.length_m, float(capacity_bps)), r.how


def apply_candidate(scene, cand: Candidate | None, streets="auto") -> Applied:
    """The scene with ``cand`` made (None: the baseline), as a new :class:`~twin3d.loader.Scene`.

    The scene's twin is copied shallowly: its sites, links and graph are
    new containers, the unchanged elements shared.

    Examples
    --------
    >>> got = apply_candidate(scene, cands[0])            # doctest: +SKIP
    >>> got.cost, got.routes                              # doctest: +SKIP
    (2512345.6, ['great_circle'])
    """
    if cand is None:
        return Applied(scene, 0.0, 0.0, [])
    twin = copy.copy(scene.twin)
    twin.sites, twin.links, twin.graph = dict(twin.sites), dict(twin.links), twin.graph.copy()
    if streets == "auto":
        streets = street_graph(twin.streets)
    routes, fibre_m = [], 0.0
    if cand.kind == "capacity_upgrade":
        old = twin.links[cand.link]
        new = replace(old, capacity_bps=float(cand.capacity_bps))
        twin.links[cand.link] = new
        twin.graph.edges[old.a, old.b, cand.link]["link"] = new
    elif cand.kind == "new_link":
        lid = _free_id(twin.links, f"capex-{cand.number}:{cand.a}--{cand.b}")
        l, how = _new_fibre(twin, lid, _record(twin.sites[cand.a]), _record(twin.sites[cand.b]),
                            cand.capacity_bps, streets)
        _add_link(twin, l)
        routes, fibre_m = [how], l.length_m
    else:
        site = _new_site(twin, cand, scene.spec.radio)
        twin.sites[site.id] = site
        twin.graph.add_node(site.id, kind=site.kind)
        cap = cand.capacity_bps
        if not math.isfinite(cap):      # the largest link at the first site it joins
            at = cand.connect_to[0]
            cap = max((d["link"].capacity_bps for *_, d in twin.graph.edges(at, data=True)),
                      default=10e9)
        for s in cand.connect_to:
            lid = _free_id(twin.links, f"capex-{cand.number}:{site.id}--{s}")
            l, how = _new_fibre(twin, lid, _record(site), _record(twin.sites[s]), cap, streets)
            _add_link(twin, l)
            routes.append(how)
            fibre_m += l.length_m
    cost = cand.cost_fixed + cand.cost_per_km * fibre_m / 1000.0
    return Applied(replace(scene, twin=twin), float(cost), float(fibre_m), routes)


def _free_id(taken, want: str) -> str:
    out, k = want, 1
    while out in taken:
        k += 1
        out = f"{want}#{k}"
    return out


def _add_link(twin, l: Link) -> None:
    twin.links[l.id] = l
    twin.graph.add_edge(l.a, l.b, key=l.id, link=l)


def _new_site(twin, cand: Candidate, radio_spec):
    """The new site: in a radio scene, the sectors and kind of the nearest site with cells.

    The copied sectors carry their carrier; ``radio_spec`` (the scene's ``[radio]``)
    is the default only for sectors that give none (as in the loader).
    """
    x, y, _ = twin.frame.to_enu([cand.lon], [cand.lat])
    radio = [s for s in twin.sites.values() if s.cells]
    pool = radio or list(twin.sites.values())
    near = min(pool, key=lambda s: math.hypot(s.xyz_m[0] - x[0], s.xyz_m[1] - y[0]))
    sectors = [SectorRecord(c.azimuth_deg, c.tilt_deg, c.p_tx_dbm, c.f_hz, c.bandwidth_hz,
                            c.beamwidth_deg, c.gain_dbi) for c in near.cells]
    rec = SiteRecord(cand.site_id, cand.lon, cand.lat, kind=cand.site_kind or near.kind,
                     height_m=near.height_m, sectors=sectors)
    return _site(rec, twin.frame, radio_spec.f_hz, radio_spec.bandwidth_hz)


def candidate_cost(scene, cand: Candidate) -> float:
    """Total cost of a candidate in the file's currency (route lengths included)."""
    return apply_candidate(scene, cand).cost


# -- running cases per candidate network (one simulator per network and process) ------------

#: This process's runners by (scene path, sha256, day, candidate or None).
_RUNNERS: dict[tuple, CaseRunner] = {}


def _runner(scene_path: str, sha: str, day: bool, cand: Candidate | None) -> CaseRunner:
    from .cases import runner_for
    key = (scene_path, sha, day, cand)
    got = _RUNNERS.get(key)
    if got is None:
        base = runner_for(scene_path, sha, day)
        if cand is None:
            got = base
        else:
            got = CaseRunner(apply_candidate(base.sim.scene, cand).scene, day)
            if not got.sim.cells:     # the baseline's demand matrix (degrees change with a link)
                got.sim.base_demands = dict(base.sim.base_demands)
                got.sim._base_arrays = None
        _RUNNERS[key] = got
    return got


def run_candidate_batch(scene_path: str, sha: str, day: bool,
                        jobs: list) -> tuple[list[dict], list[float], float]:
    """Rows of ``(candidate or None, Case)`` jobs, each tagged with ``candidate`` (0: baseline).

    The :func:`twin3d.sweep.run.run_cases` task of ``twin3d capex``.
    """
    import time
    rows, seconds = [], []
    cpu = time.process_time()
    for cand, case in jobs:
        t = time.perf_counter()
        r = _runner(scene_path, sha, day, cand)
        rows.append({"candidate": 0 if cand is None else cand.number, **case_row(case, r.run(case))})
        seconds.append(time.perf_counter() - t)
    return rows, seconds, time.process_time() - cpu


# -- statistics -----------------------------------------------------------------------------

def paired_ci(base, cand) -> tuple[float, float, float]:
    """Mean of ``base - cand`` over paired draws and its 95 % interval (low, high).

    Examples
    --------
    >>> paired_ci([3.0, 5.0, 7.0], [1.0, 3.0, 5.0])
    (2.0, 2.0, 2.0)
    """
    d = np.asarray(base, float) - np.asarray(cand, float)
    m = float(d.mean())
    if len(d) < 2:
        return m, math.nan, math.nan
    h = Z95 * float(d.std(ddof=1)) / math.sqrt(len(d))
    return m, m - h, m + h


def rank_candidates(results: list[dict]) -> list[dict]:
    """Results sorted best first, ``rank`` set: SLA minutes saved per cost, then traffic per cost."""
    order = sorted(results, key=lambda r: (-r["sla_minutes_saved_per_cost"],
                                           -r["dropped_bps_reduced_per_cost"], r["name"]))
    return [dict(r, rank=i + 1) for i, r in enumerate(order)]


def evaluate(scene, candidates: list[Candidate], faults: str, seed: int | None = None,
             samples: int | None = None, growth=None, availability=None, day: bool = False,
             workers: int = 0, scheduler: str | None = None, progress=None) -> dict:
    """Run the baseline and every candidate over the same draws, and rank the candidates.

    Parameters
    ----------
    scene : twin3d.loader.Scene
    candidates : list of Candidate
    faults : {"single", "double", "random"}
    seed, samples, growth, availability, day
        As :func:`twin3d.sweep.faults.plan_cases` takes them.
    workers, scheduler
        As :func:`twin3d.sweep.run.run_cases`.
    progress : callable, optional
        ``progress(done, total)``.

    Returns
    -------
    dict
        ``cases`` (the draws), ``rows`` ({candidate number (0 the
        baseline): rows in case order}), ``baseline`` (expected
        ``sla_minutes`` and ``dropped_bps``), ``ranking`` (one dict per
        candidate, best first), ``complete``.

    Examples
    --------
    >>> res = evaluate(scene, cands, "single")            # doctest: +SKIP
    >>> res["ranking"][0]["name"]                          # doctest: +SKIP
    'second fibre to the leaf'
    """
    from ..physics.transport import Router
    from ..provenance import file_sha256
    from .faults import plan_cases
    from .run import run_cases

    seed = scene.seed if seed is None else int(seed)
    link_ids = [str(l) for l in Router(scene.twin.graph, metric=scene.spec.traffic.metric,
                                       source=str(scene.spec.path)).links]
    cases = plan_cases(scene.twin, link_ids, faults, seed, samples, 0, growth,
                       availability)
    streets = street_graph(scene.twin.streets)
    applied = {c.number: apply_candidate(scene, c, streets) for c in candidates}
    jobs = [(None, c) for c in cases] + [(cand, c) for cand in candidates for c in cases]
    path = str(scene.spec.path.resolve())
    total = len(jobs)
    rows, complete = run_cases(path, file_sha256(path), jobs, day, workers, scheduler,
                               (lambda n: progress(n, total)) if progress else None,
                               task=run_candidate_batch)
    by: dict[int, list[dict]] = {0: []}
    for c in candidates:
        by[c.number] = []
    for r in rows:
        by[r["candidate"]].append(r)
    for k in by:
        by[k].sort(key=lambda r: r["case_id"])
    base = by[0]
    results = []
    for c in candidates:
        mine = by[c.number]
        done = {r["case_id"] for r in mine} & {r["case_id"] for r in base}
        b = [r for r in base if r["case_id"] in done]
        m = [r for r in mine if r["case_id"] in done]
        a = applied[c.number]
        sla = paired_ci([r["sla_minutes"] for r in b], [r["sla_minutes"] for r in m]) if b \
            else (math.nan,) * 3
        drop = paired_ci([r["dropped_bps"] for r in b], [r["dropped_bps"] for r in m]) if b \
            else (math.nan,) * 3
        results.append({"candidate": c.number, "name": c.name, "kind": c.kind, "cost": a.cost,
                        "new_fibre_m": a.new_fibre_m, "routes": a.routes, "draws": len(b),
                        "sla_minutes_saved": sla[0], "sla_minutes_saved_ci95": [sla[1], sla[2]],
                        "dropped_bps_reduced": drop[0], "dropped_bps_reduced_ci95": [drop[1], drop[2]],
                        "sla_minutes_saved_per_cost": sla[0] / a.cost,
                        "sla_minutes_saved_per_cost_ci95": [sla[1] / a.cost, sla[2] / a.cost],
                        "dropped_bps_reduced_per_cost": drop[0] / a.cost,
                        "dropped_bps_reduced_per_cost_ci95": [drop[1] / a.cost, drop[2] / a.cost]})
    return {"seed": seed, "cases": cases, "rows": by, "complete": complete,
            "baseline": {"sla_minutes": float(np.mean([r["sla_minutes"] for r in base])) if base
                         else math.nan,
                         "dropped_bps": float(np.mean([r["dropped_bps"] for r in base])) if base
                         else math.nan, "draws": len(base)},
            "ranking": rank_candidates(results)}
