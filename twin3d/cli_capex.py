"""``twin3d capex``: rank candidate investments by resilience bought per unit cost.

``twin3d capex SCENE --candidates CANDIDATES.toml --samples N [--faults
single|double|random] [--seed S] [--day] [--demand-growth DIST]
[--availability link=A,site=A] [--scheduler ADDR] [--workers W] [--json
OUT.json] [--plot OUT.png] [--stage BUILD]`` runs the baseline network and every candidate
network (:mod:`twin3d.sweep.candidates`) over the same draws
(:mod:`twin3d.sweep.capex`), prints the ranking and writes it as JSON (with
provenance) and as a PNG. ``--stage BUILD`` also writes the JSON into a
``twin3d build`` folder at :data:`twin3d.sweep.capex.CAPEX_FILE`, where
``twin3d view BUILD`` finds it and shows the ranking. ``--samples`` is the number of draws of
``random`` (default) and ``double``; ``single`` fails every element once.
Bad input: one line on stderr, exit 2.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import typer

from .cli_common import err, load_with_status, out, write_json_atomic
from .errors import InputError

__all__ = ["register"]


def _check(scene: Path, candidates: Path, faults: str, samples: Optional[int],
           workers: Optional[int], scheduler: Optional[str], json_out: Optional[Path],
           plot: Optional[Path], stage: Optional[Path] = None) -> Optional[Path]:
    """Refuse bad arguments before any draw runs; returns the build folder of ``--stage``."""
    from .sweep.faults import FAULT_MODES
    if faults not in FAULT_MODES:
        raise InputError(scene, f"--faults must be one of {', '.join(FAULT_MODES)}, got '{faults}'",
                         field="faults")
    if samples is not None and samples < 1:
        raise InputError(scene, f"--samples must be >= 1, got {samples}", field="samples")
    if samples is None and faults != "single":
        raise InputError(scene, f"--faults {faults} needs --samples N (the number of draws)",
                         field="samples")
    if workers is not None and workers < 0:
        raise InputError(scene, f"--workers must be >= 0 (0: serially), got {workers}",
                         field="workers")
    if workers is not None and scheduler:
        raise InputError(scene, "give --scheduler or --workers, not both", field="workers")
    if json_out is not None and json_out.suffix.lower() != ".json":
        raise InputError(json_out, "the ranking is written as .json", field="json")
    if plot is not None and plot.suffix.lower() != ".png":
        raise InputError(plot, "the plot is written as .png", field="plot")
    if not scene.is_file():
        raise InputError(scene, "no such scene file")
    if not candidates.is_file():
        raise InputError(candidates, "candidates file not found")
    if stage is None:
        return None
    from .usd.layers import ROOT_NAME
    build = stage.parent if stage.name == ROOT_NAME else stage
    if not (build / ROOT_NAME).is_file():
        raise InputError(stage, f"not a twin3d build folder (no {ROOT_NAME})", field="stage")
    return build


def _ci(lo, hi, scale: float) -> str:
    if lo is None or hi is None or lo != lo:
        return ""
    return f" [{lo * scale:.3g}, {hi * scale:.3g}]"


def register(app: typer.Typer) -> None:
    """Add ``capex`` to the ``twin3d`` app."""

    @app.command("capex")
    def capex_cmd(scene: Path = typer.Argument(..., help="Scene TOML."),
                  candidates: Path = typer.Option(..., "--candidates",
                                                  help="Candidate investments (TOML)."),
                  samples: Optional[int] = typer.Option(None, "--samples",
                                                        help="Draws (random, double)."),
                  faults: str = typer.Option("random", "--faults",
                                             help="random (Poisson failures), double or single."),
                  seed: Optional[int] = typer.Option(None, "--seed",
                                                     help="Seed of the draws (default: the scene's "
                                                          "seed)."),
                  day: bool = typer.Option(False, "--day", help="A case is the whole day."),
                  demand_growth: Optional[str] = typer.Option(None, "--demand-growth",
                                                              help="lognormal:MU,SIGMA, "
                                                                   "uniform:LO,HI, fixed:X."),
                  availability: Optional[str] = typer.Option(None, "--availability",
                                                             help="random: link=A,site=A."),
                  scheduler: Optional[str] = typer.Option(None, "--scheduler",
                                                          help="A running Dask scheduler's address."),
                  workers: Optional[int] = typer.Option(None, "--workers",
                                                        help="LocalCluster workers (default 0: "
                                                             "serially in this process)."),
                  json_out: Optional[Path] = typer.Option(None, "--json", help="OUT.json"),
                  plot: Optional[Path] = typer.Option(None, "--plot", help="OUT.png"),
                  stage: Optional[Path] = typer.Option(None, "--stage",
                                                       help="A build folder: the ranking is also "
                                                            "written there for twin3d view."),
                  ) -> None:
        """Rank candidate investments by SLA minutes and traffic at risk saved per unit cost."""
        from .provenance import provenance
        from .sweep.candidates import parse_candidates
        from .sweep.capex import CAPEX_FILE, evaluate
        from .sweep.faults import parse_availability, parse_growth

        build = _check(scene, candidates, faults, samples, workers, scheduler, json_out, plot,
                       stage)
        growth = parse_growth(demand_growth) if demand_growth is not None else None
        avail = parse_availability(availability)
        sc = load_with_status(scene)
        currency, cands = parse_candidates(candidates, sc.twin)
        with err.status("capex: running the draws") as spinner:
            res = evaluate(sc, cands, faults, seed, samples if faults != "single" else None,
                           growth, avail, day, workers or 0, scheduler,
                           progress=lambda d, t: spinner.update(f"capex: {d} of {t} cases"))
        ranking = res["ranking"]
        attached = build / CAPEX_FILE if build is not None else None
        if json_out is not None or attached is not None:
            draws = [{"case_id": c.case_id, "faults": list(c.faults),
                      "demand_factor": c.demand_factor} for c in res["cases"]]
            doc = {
                "provenance": provenance(sc.spec.path, res["seed"], sys.argv),
                "candidates_file": candidates.name, "currency": currency,
                "settings": {"faults": faults, "samples": samples, "seed": res["seed"], "day": day,
                             "demand_growth": demand_growth, "availability": avail},
                "complete": res["complete"], "baseline": res["baseline"], "ranking": ranking,
                "draws": draws}
            for p in (json_out, attached):
                if p is not None:
                    write_json_atomic(p, doc)
        if plot is not None:
            from .sweep.plots import capex_plot
            capex_plot(plot, ranking, currency, f"{sc.name}: capex what-if, {faults}, "
                                                f"{res['baseline']['draws']} draws")
        out.print(f"baseline: {res['baseline']['sla_minutes']:.4g} SLA min and "
                  f"{res['baseline']['dropped_bps'] / 1e9:.4g} Gbit/s dropped per draw "
                  f"({res['baseline']['draws']} draws, {faults}, seed {res['seed']})",
                  markup=False, highlight=False)
        out.print(f"{'rank':>4}  {'candidate':<32} {'cost ' + currency:>14}  SLA min saved [95 % CI]"
                  f"  Gbit/s reduced [95 % CI]  per M{currency}: SLA min, Mbit/s", markup=False,
                  highlight=False, soft_wrap=True)
        for r in ranking:
            out.print(f"{r['rank']:>4}  {r['name'][:32]:<32} {r['cost']:14,.0f}  "
                      f"{r['sla_minutes_saved']:.4g}{_ci(*r['sla_minutes_saved_ci95'], 1)}  "
                      f"{r['dropped_bps_reduced'] / 1e9:.4g}{_ci(*r['dropped_bps_reduced_ci95'], 1e-9)}"
                      f"  {r['sla_minutes_saved_per_cost'] * 1e6:.4g}, "
                      f"{r['dropped_bps_reduced_per_cost']:.4g}",
                      markup=False, highlight=False, soft_wrap=True)
        for p in (json_out, plot, attached):
            if p is not None:
                out.print(f"wrote {p}", markup=False, highlight=False)
        if not res["complete"]:
            err.print("interrupted: the ranking covers the draws finished", markup=False)
            raise typer.Exit(130)
