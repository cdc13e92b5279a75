"""``twin3d energy-sweep``: power-down policies, energy saved against SLA breaches.

``twin3d energy-sweep SCENE (--policies POLICIES.toml | --auto [--hours
H1-H2] [--k 0,3,6]) [--samples N] [--demand-growth DIST] [--seed S]
[--scheduler ADDR | --workers W] [-o OUT.json] [--plot OUT.png]`` runs
every policy over the same N demand draws, each a whole day
(:mod:`twin3d.sweep.energy`), prints energy saved (kWh/day against all
awake), SLA breach steps and the Pareto front, and writes them as JSON
(with provenance) and a PNG. A scene without cells, or
any bad input: one line on stderr, exit 2.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import typer

from .cli_common import err, load_with_status, out, write_json_atomic
from .errors import InputError

__all__ = ["register", "parse_hours", "parse_ks"]

#: Demand draws of a policy sweep when --demand-growth is not given.
DEFAULT_GROWTH = "lognormal:0,0.1"


def parse_hours(text: str, where) -> tuple[int, ...]:
    """``"H1-H2"``: the hours H1, H1+1, ..., H2-1 (past midnight when H2 <= H1).

    Examples
    --------
    >>> parse_hours("0-6", "x"), parse_hours("22-2", "x")
    ((0, 1, 2, 3, 4, 5), (22, 23, 0, 1))
    """
    a, sep, b = text.partition("-")
    try:
        h0, h1 = int(a), int(b)
    except ValueError:
        raise InputError(where, f"--hours must be H1-H2 (whole hours 0..24), got '{text}'",
                         field="hours") from None
    if not sep or not (0 <= h0 <= 23 and 0 <= h1 <= 24) or h0 == h1 % 24:
        raise InputError(where, f"--hours must be H1-H2 with hours in 0..24 and H1 != H2, got "
                         f"'{text}'", field="hours")
    return tuple(h % 24 for h in range(h0, h1 if h1 > h0 else h1 + 24))


def parse_ks(text: str, n_cells: int, where) -> list[int]:
    """``"0,3,6"``: how many cells each policy of the family sleeps (0 <= k <= cells)."""
    try:
        ks = [int(p) for p in text.split(",")]
    except ValueError:
        raise InputError(where, f"--k must be comma-separated whole numbers, got '{text}'",
                         field="k") from None
    bad = [k for k in ks if not 0 <= k <= n_cells]
    if bad:
        raise InputError(where, f"--k must be in 0..{n_cells} (the scene's cells), got {bad[0]}",
                         field="k")
    return sorted(set(ks))


def register(app: typer.Typer) -> None:
    """Add ``energy-sweep`` to the ``twin3d`` app."""

    @app.command("energy-sweep")
    def energy_cmd(scene: Path = typer.Argument(..., help="Scene TOML with radio cells."),
                   policies: Optional[Path] = typer.Option(None, "--policies",
                                                           help="Power-down policies (TOML)."),
                   auto: bool = typer.Option(False, "--auto",
                                             help="A family: the k least-loaded cells sleep "
                                                  "during --hours, for each of --k."),
                   hours: str = typer.Option("0-6", "--hours", help="--auto: H1-H2 (H2 exclusive)."),
                   ks: Optional[str] = typer.Option(None, "--k",
                                                    help="--auto: cells asleep per policy, "
                                                         "e.g. 0,3,6 (default 0 to a third of "
                                                         "the cells in 5 steps)."),
                   samples: int = typer.Option(10, "--samples", help="Demand draws."),
                   demand_growth: str = typer.Option(DEFAULT_GROWTH, "--demand-growth",
                                                     help="Demand factor distribution of the draws."),
                   seed: Optional[int] = typer.Option(None, "--seed",
                                                      help="Seed of the draws (default: the scene's "
                                                          "seed)."),
                   scheduler: Optional[str] = typer.Option(None, "--scheduler",
                                                           help="A running Dask scheduler's address."),
                   workers: Optional[int] = typer.Option(None, "--workers",
                                                         help="LocalCluster workers (default 0: "
                                                              "serially in this process)."),
                   output: Optional[Path] = typer.Option(None, "-o", "--output", help="OUT.json"),
                   plot: Optional[Path] = typer.Option(None, "--plot", help="OUT.png"),
                   ) -> None:
        """Sweep power-down policies over demand draws: energy saved against SLA breaches."""
        from .provenance import provenance
        from .sim.engine import Simulator
        from .sweep.energy import auto_policies, demand_draws, evaluate_energy, parse_policies
        from .sweep.faults import parse_growth

        if (policies is None) == (not auto):
            raise InputError(scene, "give --policies FILE or --auto (one of them)", field="policies")
        if samples < 1:
            raise InputError(scene, f"--samples must be >= 1, got {samples}", field="samples")
        if workers is not None and workers < 0:
            raise InputError(scene, f"--workers must be >= 0 (0: serially), got {workers}",
                             field="workers")
        if workers is not None and scheduler:
            raise InputError(scene, "give --scheduler or --workers, not both", field="workers")
        if output is not None and output.suffix.lower() != ".json":
            raise InputError(output, "the report is written as .json", field="output")
        if plot is not None and plot.suffix.lower() != ".png":
            raise InputError(plot, "the plot is written as .png", field="plot")
        if not scene.is_file():
            raise InputError(scene, "no such scene file")
        if policies is not None and not policies.is_file():
            raise InputError(policies, "policies file not found")
        growth = parse_growth(demand_growth)
        span = parse_hours(hours, scene) if auto else ()
        sc = load_with_status(scene)
        if not sc.twin.cells:
            raise InputError(scene, f"scene '{sc.name}' has no radio cells: an energy sweep needs "
                             "a radio scene (for example scenes/helsinki.toml)")
        pols = parse_policies(policies, sc.twin) if policies is not None else None
        n_cells = len(sc.twin.cells)
        k_list = (parse_ks(ks, n_cells, scene) if ks is not None
                  else sorted({round(i * (n_cells // 3) / 4) for i in range(5)}))
        seed = sc.seed if seed is None else int(seed)
        factors = demand_draws(seed, samples, growth)
        with err.status("energy-sweep: building the simulator") as spinner:
            sim = Simulator(sc)
            if pols is None:
                spinner.update("energy-sweep: ranking cells by load")
                pols = auto_policies(sim, span, k_list)
            res = evaluate_energy(sim, pols, factors, progress=lambda d, t: spinner.update(
                f"energy-sweep: {d} of {t} days"), workers=workers or 0, scheduler=scheduler)
        rows = res["policies"]
        if output is not None:
            write_json_atomic(output, {
                "provenance": provenance(sc.spec.path, seed, sys.argv),
                "complete": res["complete"],
                "settings": {"policies_file": policies.name if policies else None, "auto": auto,
                             "hours": list(span), "samples": samples,
                             "demand_growth": demand_growth, "seed": seed},
                "demand_factors": res["factors"],
                "all_awake_kwh_day": [r["energy_kwh_day"] for r in res["awake"]],
                "policies": rows,
                "pareto_front": [r["name"] for r in rows if r["pareto"]]})
        if plot is not None:
            from .sweep.plots import energy_plot
            energy_plot(plot, rows, f"{sc.name}: power-down policies, {samples} demand draws")
        out.print(f"{'policy':<36} {'kWh/day':>9} {'saved [95 % CI]':>26} {'SLA steps':>9} "
                  f"{'dropped Mbit/s':>14}  Pareto", markup=False, highlight=False, soft_wrap=True)
        for r in rows:
            lo, hi = r["energy_saved_kwh_day_ci95"]
            ci = f" [{lo:.3f}, {hi:.3f}]" if lo == lo else ""
            out.print(f"{r['name'][:36]:<36} {r['energy_kwh_day']:9.2f} "
                      f"{r['energy_saved_kwh_day']:>9.3f}{ci:<17} {r['sla_violation_steps']:9.2f} "
                      f"{r['dropped_bps'] / 1e6:14.2f}  {'*' if r['pareto'] else ''}",
                      markup=False, highlight=False, soft_wrap=True)
        for p in (output, plot):
            if p is not None:
                out.print(f"wrote {p}", markup=False, highlight=False)
        if not res["complete"]:
            err.print(f"interrupted: the figures cover {len(res['factors'])} of {samples} draws",
                      markup=False)
            raise typer.Exit(130)
