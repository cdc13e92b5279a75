"""``twin3d sweep``: Monte Carlo what-ifs of a scene, serially or on Dask.

``twin3d sweep SCENE --faults single|double|random [--samples N] [--seed S]
[--day] [--demand-growth DIST] [--storms N] [--availability link=A,site=A]
[--scheduler ADDR] [--workers W] -o OUT.parquet`` writes one row per case
(:mod:`twin3d.sweep.table`). Bad arguments: one line on stderr, exit 2.
Ctrl-C writes the rows finished so far and exits 130.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Optional

import typer

from .cli_common import err, load_with_status, out
from .errors import InputError

__all__ = ["register", "check_args"]



def default_workers() -> int:
    """Worker processes of the LocalCluster when --workers is not given: one per CPU."""
    return os.cpu_count() or 1


def check_args(scene: Path, faults: Optional[str], samples: Optional[int], storms: int,
               workers: Optional[int], scheduler: Optional[str], output: Path) -> None:
    """Raise :class:`InputError` (one line) for arguments that cannot make a sweep."""
    from .sweep.faults import FAULT_MODES
    if faults is None and storms == 0:
        raise InputError(scene, "give --faults single|double|random, --storms N, or both",
                         field="faults")
    if faults is not None and faults not in FAULT_MODES:
        raise InputError(scene, f"--faults must be one of {', '.join(FAULT_MODES)}, got '{faults}'",
                         field="faults")
    if samples is not None:
        if faults not in ("double", "random"):
            raise InputError(scene, "--samples applies to --faults double or random", field="samples")
        if samples < 1:
            raise InputError(scene, f"--samples must be >= 1, got {samples}", field="samples")
    if storms < 0:
        raise InputError(scene, f"--storms must be >= 0, got {storms}", field="storms")
    if workers is not None and workers < 0:
        raise InputError(scene, f"--workers must be >= 0 (0: serially in this process), got "
                         f"{workers}", field="workers")
    if workers is not None and scheduler:
        raise InputError(scene, "give --scheduler or --workers, not both", field="workers")
    if output.suffix != ".parquet":
        raise InputError(output, "the sweep file must end in .parquet", field="output")
    if not scene.is_file():
        raise InputError(scene, "no such scene file")


def register(app: typer.Typer) -> None:
    """Add ``sweep`` to the ``twin3d`` app."""

    @app.command("sweep")
    def sweep_cmd(scene: Path = typer.Argument(..., help="Scene TOML."),
                  output: Path = typer.Option(..., "-o", "--output", help="The sweep file (.parquet)."),
                  faults: Optional[str] = typer.Option(None, "--faults",
                                                       help="single (every link and site), double "
                                                            "(pairs) or random (Poisson failures)."),
                  samples: Optional[int] = typer.Option(None, "--samples",
                                                        help="double: pairs drawn (default all); "
                                                             "random: draws (default 1000)."),
                  seed: Optional[int] = typer.Option(None, "--seed",
                                                     help="Seed of every draw (default [scene] seed)."),
                  day: bool = typer.Option(False, "--day", help="A case is the whole day, not the "
                                                                "busy hour."),
                  demand_growth: Optional[str] = typer.Option(None, "--demand-growth",
                                                              help="Demand factor distribution: "
                                                                   "lognormal:MU,SIGMA, uniform:LO,HI, "
                                                                   "fixed:X."),
                  storms: int = typer.Option(0, "--storms", help="Storm cases: every element within "
                                                                 "a random circle fails."),
                  availability: Optional[str] = typer.Option(None, "--availability",
                                                             help="random: link=A,site=A (default "
                                                                  "link=0.999,site=0.9995)."),
                  scheduler: Optional[str] = typer.Option(None, "--scheduler",
                                                          help="A running Dask scheduler's address."),
                  workers: Optional[int] = typer.Option(None, "--workers",
                                                        help="LocalCluster worker processes "
                                                             "(default: one per CPU; 0: serially "
                                                             "in this process)."),
                  ) -> None:
        """Run every what-if of a fault mode (and storms) and write one row per case."""
        from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn,
                                   TimeElapsedColumn, TimeRemainingColumn)

        from .sweep.faults import parse_availability, parse_growth
        from .sweep.run import sweep

        check_args(scene, faults, samples, storms, workers, scheduler, output)
        if demand_growth is not None:        # one line before anything is loaded
            parse_growth(demand_growth)
        parse_availability(availability)
        sc = load_with_status(scene)
        columns = (TextColumn("sweep"), BarColumn(), MofNCompleteColumn(), TextColumn("cases"),
                   TimeElapsedColumn(), TimeRemainingColumn())
        with Progress(*columns, console=err, transient=True) as bar:
            task = bar.add_task("sweep", total=None)
            meta = sweep(sc, output, faults, seed, samples, storms, day, demand_growth, availability,
                         default_workers() if workers is None and not scheduler else (workers or 0),
                         scheduler,
                         progress=lambda done, total: bar.update(task, completed=done, total=total),
                         argv=sys.argv)
        done, total = meta["cases_done"], meta["cases_planned"]
        if not meta["complete"]:
            err.print(f"interrupted: wrote {done} of {total} cases to {output}", markup=False,
                      highlight=False)
            raise typer.Exit(130)
        out.print(f"wrote {output}: {done} cases ({meta['faults'] or 'storms'}"
                  f"{', day' if day else ', busy hour'}, seed {meta['seed']})", markup=False,
                  highlight=False)
