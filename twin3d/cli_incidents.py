"""``twin3d synth`` and ``twin3d rca``: labelled incidents as Parquet, and their root causes.

``twin3d synth SCENE --incidents N --seed S -o DIR`` writes
``DIR/labels.parquet``, ``DIR/telemetry.parquet``, ``DIR/alarms.parquet``
and ``DIR/manifest.json`` (SANDBOX.md section 6), all or nothing. The same
seed gives the same bytes in the three Parquet files, whatever ``--workers``.

``twin3d rca SCENE --telemetry DIR [--incident ID | --all] [--json OUT]``
ranks root causes per incident from the telemetry, alarms and manifest
(never the labels), by simulating each candidate in the twin.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import typer

from .cli_common import err, load_with_status, out, write_json_atomic
from .errors import InputError

__all__ = ["register", "parse_mix"]

#: ``--workers 0`` uses one worker per CPU, at most this many ...
AUTO_MAX_WORKERS = 8
#: ... for at least this many incidents (a worker loads the scene again).
AUTO_MIN_INCIDENTS = 200


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
    if workers < 0:
        raise InputError(scene, f"--workers must be >= 0 (0: one per CPU), got {workers}",
                         field="workers")
    if workers == 0:        # a worker loads the scene again: worth it for many incidents only
        import os
        workers = min(os.cpu_count() or 1, AUTO_MAX_WORKERS) if incidents >= AUTO_MIN_INCIDENTS else 1
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


def _rca(scene: Path, telemetry: Path, incident: Optional[int], all_: bool,
         json_out: Optional[Path], top: int) -> dict[int, list[dict]]:
    import json

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from .incidents.rca import RcaSettings, rank_root_causes
    from .incidents.tables import read_incident_tables
    from .sim.engine import Simulator

    if incident is not None and all_:
        raise InputError(telemetry, "give --incident ID or --all, not both", field="incident")
    if top < 1:
        raise InputError(telemetry, f"--top must be >= 1, got {top}", field="top")
    if not scene.is_file():
        raise InputError(scene, "no such scene file")
    if not telemetry.is_dir():
        raise InputError(telemetry, "no such folder (give what `twin3d synth -o` wrote)")
    if json_out is not None and json_out.is_dir():
        raise InputError(json_out, "is a folder: --json takes a file name")
    sc = load_with_status(scene)
    sim = Simulator(sc)
    try:        # a manifest of another scene: say so before its elements fail to match
        made_from = json.loads((telemetry / "manifest.json").read_text(encoding="utf-8")).get("scene")
    except (OSError, ValueError, AttributeError):
        made_from = None        # the reader names what is wrong with the file
    if isinstance(made_from, str) and made_from != sc.name:
        raise InputError(telemetry / "manifest.json", f"the telemetry comes from scene '{made_from}', "
                         f"not '{sc.name}' ({scene.name})", field="scene")
    observed = read_incident_tables(telemetry, sim)
    manifest = json.loads((telemetry / "manifest.json").read_text(encoding="utf-8"))
    noise = manifest.get("noise") or {}
    try:
        settings = RcaSettings(rel_noise=max(0.005, float(noise.get("measurement", 0.02))),
                               alarm_delay_steps=int(noise.get("alarm_delay_max_steps", 2)), top=top)
    except (TypeError, ValueError):
        raise InputError(telemetry / "manifest.json", "noise settings are not numbers",
                         field="noise") from None
    if incident is not None:
        if incident not in observed:
            raise InputError(telemetry / "manifest.json", f"no incident {incident} (ids "
                             f"{min(observed)}..{max(observed)})", field="incident_id")
        observed = {incident: observed[incident]}
    ranked: dict[int, list[dict]] = {}
    columns = (TextColumn("rca"), BarColumn(), MofNCompleteColumn(), TextColumn("incidents"),
               TimeRemainingColumn())
    with Progress(*columns, console=err, transient=True) as bar:
        task = bar.add_task("rca", total=len(observed))
        for iid, (window, obs) in observed.items():
            ranked[iid] = rank_root_causes(sim, window, obs, settings)
            bar.update(task, advance=1)
    if json_out is not None:
        _write_json(json_out, {str(k): v for k, v in ranked.items()},
                    _provenance(sc, manifest))
    return ranked


def _provenance(sc, manifest: dict) -> dict:
    from .provenance import provenance
    return {**provenance(sc.spec.path, int(manifest.get("seed", sc.seed)), sys.argv),
            "telemetry_provenance": manifest.get("provenance", {})}


def _write_json(path: Path, data: dict, prov: dict) -> None:
    """``path`` and ``path``.provenance.json, each written whole or not at all."""
    write_json_atomic(path, data)
    write_json_atomic(path.with_name(path.name + ".provenance.json"), prov)


def _print_ranking(ranked: dict[int, list[dict]], show: int = 3) -> None:
    """Per incident: the best candidate with its explanation, then the runners-up."""
    tag = {True: "verified", False: "not verified", None: ""}
    for iid, cands in ranked.items():
        best = cands[0]
        head = f"{best['fault_kind']} {best['element']}".strip()
        extra = ", ".join(x for x in (f"score {best['score']:.3f}", tag[best["verified"]]) if x)
        out.print(f"incident {iid}: {head} ({extra})", markup=False, highlight=False)
        out.print(f"  {best['explanation']}", markup=False, highlight=False, soft_wrap=True)
        rest = "; ".join(f"{k + 2}. {c['fault_kind']} {c['element'] or '-'} ({c['score']:.3f})"
                         for k, c in enumerate(cands[1:show]))
        if rest:
            out.print(f"  then: {rest}", markup=False, highlight=False, soft_wrap=True)


def register(app: typer.Typer) -> None:
    """Add the ``synth`` and ``rca`` commands to the twin3d app."""

    @app.command()
    def rca(scene: Path = typer.Argument(..., help="Scene TOML (the one the telemetry came from)."),
            telemetry: Path = typer.Option(..., "--telemetry", "-t",
                                           help="Folder written by `twin3d synth -o`."),
            incident: Optional[int] = typer.Option(None, "--incident", help="Analyse this incident only."),
            all_: bool = typer.Option(False, "--all", help="Analyse every incident (the default)."),
            json_out: Optional[Path] = typer.Option(None, "--json",
                                                    help="Write the rankings as JSON to this file."),
            top: int = typer.Option(5, "--top", help="Candidates kept per incident.")) -> None:
        """Rank root causes by counterfactual simulation (reads telemetry, alarms, manifest; never labels)."""
        ranked = _rca(scene, telemetry, incident, all_, json_out, top)
        _print_ranking(ranked)
        if json_out is not None:
            out.print(f"wrote {json_out}", markup=False, highlight=False)

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
              workers: int = typer.Option(0, "--workers", "-w",
                                          help="Worker processes; 0: one per CPU (up to 8) from "
                                               "200 incidents, else 1. The output is the same.")
              ) -> None:
        """Generate labelled incidents (telemetry, alarms, labels as Parquet) from the twin's physics."""
        m = _synth(scene, incidents, seed, output, window, step_s, mix, workers)
        counts = ", ".join(f"{k} {v}" for k, v in m["counts"].items() if v)
        obs = m["observability"]
        out.print(f"wrote {output}: {m['n_incidents']} incidents ({counts}); "
                  f"{sum(m['compound'].values())} compound; {obs['resampled']} resampled for "
                  f"observability, {obs['unobservable']} unobservable", markup=False,
                  highlight=False, soft_wrap=True)
