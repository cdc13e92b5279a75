"""``twin3d synth``: labelled synthetic incidents of a scene, as Parquet.

``twin3d synth SCENE --incidents N --seed S -o DIR`` writes
``DIR/labels.parquet``, ``DIR/telemetry.parquet``, ``DIR/alarms.parquet``
and ``DIR/manifest.json`` (SANDBOX.md section 6), all or nothing. The same
seed gives the same bytes in the three Parquet files, whatever ``--workers``.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import typer

from .cli_common import err, load_with_status, out
from .errors import InputError

__all__ = ["register", "parse_mix"]


def parse_mix(text: str, where: str | Path = "--mix") -> dict[str, float]:
    """``"fiber_cut=2,none=1"`` -> {"fiber_cut": 2.0, "none": 1.0}.

    Examples
    --------
    >>> parse_mix("fiber_cut=2, none=1")
    {'fiber_cut': 2.0, 'none': 1.0}
    >>> parse_mix("fiber_cut")
    Traceback (most recent call last):
    ...
    twin3d.errors.InputError: --mix: field 'mix': 'fiber_cut' is not kind=weight
    """
    from .incidents.faults import FAULT_KINDS
    mix: dict[str, float] = {}
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        kind, eq, weight = part.partition("=")
        kind = kind.strip()
        if not eq:
            raise InputError(where, f"'{part}' is not kind=weight", field="mix")
        if kind not in FAULT_KINDS:
            raise InputError(where, f"unknown fault kind '{kind}' (one of {', '.join(FAULT_KINDS)})",
                             field="mix")
        try:
            mix[kind] = float(weight)
        except ValueError:
            raise InputError(where, f"the weight of '{kind}' is not a number: '{weight.strip()}'",
                             field="mix") from None
    if not mix:
        raise InputError(where, "the mix is empty (give kind=weight pairs)", field="mix")
    return mix


def _synth(scene: Path, incidents: int, seed: Optional[int], output: Path, window: int,
           step_s: float, mix: Optional[str], workers: int) -> dict:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from .incidents.batch import synth_to_dir
    from .incidents.synth import SynthPlan
    from .provenance import provenance
    from .sim.engine import Simulator

    if incidents < 1:
        raise InputError(scene, f"--incidents must be >= 1, got {incidents}", field="incidents")
    if workers < 1:
        raise InputError(scene, f"--workers must be >= 1, got {workers}", field="workers")
    if not scene.is_file():
        raise InputError(scene, "no such scene file")
    mix_d = parse_mix(mix) if mix is not None else None
    sc = load_with_status(scene)
    seed = sc.seed if seed is None else seed
    sim = Simulator(sc)
    SynthPlan.build(sim, mix_d, window, step_s)       # bad settings: one line before the bar
    prov = provenance(sc.spec.path, seed, sys.argv)
    columns = (TextColumn("synth"), BarColumn(), MofNCompleteColumn(), TextColumn("incidents"),
               TimeRemainingColumn())
    with Progress(*columns, console=err, transient=True) as bar:
        task = bar.add_task("synth", total=incidents)
        manifest = synth_to_dir(sim, output, incidents, seed, mix_d, window, step_s,
                                workers=workers, provenance=prov,
                                progress=lambda done: bar.update(task, completed=done))
    return manifest


def register(app: typer.Typer) -> None:
    """Add the ``synth`` command to the twin3d app."""

    @app.command()
    def synth(scene: Path = typer.Argument(..., help="Scene TOML."),
              incidents: int = typer.Option(100, "--incidents", "-n", help="Number of incidents."),
              seed: Optional[int] = typer.Option(None, "--seed",
                                                 help="Seed of every draw (default: the scene's seed)."),
              output: Path = typer.Option(Path("incidents"), "-o", "--output", help="Output folder."),
              window: int = typer.Option(12, "--window", help="Steps per incident window (>= 6)."),
              step_s: float = typer.Option(300.0, "--step-s", help="Step length, seconds."),
              mix: Optional[str] = typer.Option(None, "--mix",
                                                help='Kind weights, e.g. "fiber_cut=2,none=1" '
                                                     "(default: kinds balanced)."),
              workers: int = typer.Option(1, "--workers", "-w",
                                          help="Worker processes (the output is the same).")
              ) -> None:
        """Generate labelled incidents (telemetry, alarms, labels as Parquet) from the twin's physics."""
        m = _synth(scene, incidents, seed, output, window, step_s, mix, workers)
        counts = ", ".join(f"{k} {v}" for k, v in m["counts"].items() if v)
        obs = m["observability"]
        out.print(f"wrote {output}: {m['n_incidents']} incidents ({counts}); "
                  f"{sum(m['compound'].values())} compound; {obs['resampled']} resampled for "
                  f"observability, {obs['unobservable']} unobservable", markup=False,
                  highlight=False, soft_wrap=True)
