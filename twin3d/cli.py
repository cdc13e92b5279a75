"""The ``twin3d`` command: build, info, validate, demo.

A user's mistake ends in one line on stderr and exit status 2, never a
traceback; ``validate`` exits 1 when the validators report errors.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import typer
from rich.table import Table

from . import cli_calibrate, cli_capex, cli_criticality, cli_energy, cli_export, cli_guard, cli_incidents, cli_sweep, cli_view
from .cli_common import load_with_status as _load
from .cli_common import out
from .cli_common import status as _status
from .cli_common import validate_written
from .errors import InputError

__all__ = ["app", "main"]

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="twin3d: an open digital twin of a telecom network, as OpenUSD.")


def _print_version(value: bool) -> None:
    if value:
        from . import __version__
        out.print(f"twin3d {__version__}", highlight=False)
        raise typer.Exit(0)


@app.callback()
def _main_options(version: bool = typer.Option(False, "--version", callback=_print_version,
                                               is_eager=True, help="Print the version and exit.")
                  ) -> None:
    """twin3d: an open digital twin of a telecom network, as OpenUSD."""


def _print_summary(summary: dict, max_listed: int = 20) -> None:
    t = Table(title=f"scene {summary['scene']}", show_header=False)
    o = summary["origin"]
    t.add_row("origin", f"lon {o['lon_deg']:.6f}, lat {o['lat_deg']:.6f}, h {o['h_m']:g} m")
    kinds = ", ".join(f"{k} {v}" for k, v in summary["sites_by_kind"].items())
    t.add_row("sites", f"{summary['sites']} ({kinds})" if kinds else "0")
    t.add_row("cells", str(summary["cells"]))
    t.add_row("links", f"{summary['links']} ({summary['links_length_m'] / 1000:.2f} km)")
    for key in ("buildings", "streets", "demands"):
        t.add_row(key, str(summary[key]))
    t.add_row("scenarios", ", ".join(summary["scenarios"]) or "-")
    t.add_row("skipped", str(len(summary["skipped"])))
    t.add_row("repaired", str(len(summary["repaired"])))
    out.print(t)
    if max_listed == 0:
        if summary["skipped"] or summary["repaired"]:
            out.print("skipped and repaired features, with the reason for each: OUT/summary.json "
                      "or `twin3d info SCENE --all`")
        return
    for key in ("skipped", "repaired"):
        items = summary[key]
        if items:
            out.print(f"[bold]{key}:[/bold]")
            for item in items[:max_listed]:
                line = f"{item['file']}: {item['feature']}: {item['reason']}"
                out.print(f"  {line}", markup=False, highlight=False, soft_wrap=True)
            if len(items) > max_listed:
                out.print(f"  ... and {len(items) - max_listed} more (`twin3d info SCENE --all`)")


@app.command()
def build(scene: Optional[Path] = typer.Argument(None, help="Scene TOML (default: the bundled Helsinki scene)."),
          output: Path = typer.Option(Path("twin3d-out"), "-o", "--output", help="Output folder."),
          validate: bool = typer.Option(True, "--validate/--no-validate",
                                        help="Run both USD validator suites on OUT/twin.usda "
                                             "(exit 1 on errors).")) -> None:
    """Build a scene into OUT/twin.usda (root stage) and OUT/layers/, then validate the root."""
    from .output import build as build_scene
    sc = _load(scene)
    with _status("writing the stage") as update:
        result = build_scene(sc, output, progress=update)
    _print_summary(result.summary, max_listed=0)
    out.print(f"wrote {result.root_layer}")
    if validate and not validate_written(result.root_layer):
        raise typer.Exit(1)


@app.command()
def info(scene: Path = typer.Argument(..., help="Scene TOML."),
         all_: bool = typer.Option(False, "--all", help="List every skipped or repaired feature.")) -> None:
    """Print what a scene holds and what its readers skipped or repaired, and why."""
    from .output import scene_summary
    _print_summary(scene_summary(_load(scene)), max_listed=10**9 if all_ else 20)


@app.command()
def validate(stage: Path = typer.Argument(..., help="A USD stage (.usda, .usdc, .usdz).")) -> None:
    """Run pxr.UsdValidation and usd-validation-nvidia; exit 1 on errors."""
    from .usd.validate import validate_stage
    if not stage.is_file():
        raise InputError(stage, "stage file not found")
    with _status(f"validating {stage.name}"):
        report = validate_stage(stage)
    t = Table(title=f"validation of {stage}")
    for col in ("severity", "rule", "prim", "message"):
        t.add_column(col, overflow="fold")
    for issue in report.issues:
        t.add_row(issue.severity, f"{issue.source}:{issue.rule}", issue.path, issue.message)
    if report.issues:
        out.print(t)
    out.print(f"{len(report.rules)} rules run; {len(report.errors)} errors, "
              f"{len(report.issues) - len(report.errors)} warnings/info")
    raise typer.Exit(1 if report.errors else 0)


#: KPI columns of `twin3d simulate`: (key, header, scale, format).
_KPI_COLUMNS = [("coverage_pct", "cover %", 1, ".1f"), ("sinr_p50_db", "SINR p50 dB", 1, ".1f"),
                ("throughput_p50_bps", "thr p50 Mb/s", 1e-6, ".1f"),
                ("offered_bps", "offered Gb/s", 1e-9, ".3g"), ("served_bps", "served Gb/s", 1e-9, ".3g"),
                ("dropped_bps", "dropped Gb/s", 1e-9, ".3g"), ("util_max", "util max", 1, ".1%"),
                ("latency_p95_ms", "lat p95 ms", 1, ".3g"), ("failed_elements", "failed", 1, ".0f"),
                ("energy_w", "energy kW", 1e-3, ".2f")]


def _print_kpis(result) -> None:
    t = Table(title=f"scenario {result.name}: {result.spec.description}".rstrip(": "))
    for col in ["t", "hour"] + [c[1] for c in _KPI_COLUMNS] + ["events / cascade"]:
        t.add_column(col, justify="left" if col == "events / cascade" else "right")
    for s in result.steps:
        cells = []
        for key, _, scale, fmt in _KPI_COLUMNS:
            v = s.kpis.get(key, float("nan"))
            cells.append("-" if v != v else format(v * scale, fmt))
        notes = list(s.events) + [f"wave {w['wave']}: trips {', '.join(w['tripped'])}" for w in s.waves]
        if s.kpis.get("converged") is False:
            notes.append("tail drop not converged")
        if s.kpis.get("sla_violated"):
            notes.append("SLA violated")
        t.add_row(str(s.t), f"{s.hour % 24:04.1f}", *cells, "; ".join(notes))
    out.print(t)
    out.print(f"SLA: {result.sla_violation_steps} violating step(s), {result.sla_minutes:g} min",
              markup=False)


@app.command()
def simulate(scene: Path = typer.Argument(..., help="Scene TOML."),
             scenario: Optional[str] = typer.Option(None, "--scenario", "-s",
                                                    help="Run only this scenario.")) -> None:
    """Run the scene's scenarios and print the KPIs of every step."""
    from .sim.engine import simulate as run
    sc = _load(scene)
    with _status("simulating"):
        results = run(sc, scenario)
    if not results:
        out.print("the scene defines no [[scenario]]", markup=False)
    for result in results.values():
        _print_kpis(result)


@app.command()
def demo(output: Path = typer.Option(Path("twin3d-out"), "-o", "--output", help="Output folder."),
         serve: bool = typer.Option(True, "--serve/--no-serve", help="Serve the browser viewer after the build."),
         host: str = typer.Option("127.0.0.1", "--host", help="Address the viewer listens on."),
         port: int = typer.Option(8080, "--port", help="Port the viewer listens on.")) -> None:
    """Build the bundled Helsinki scene, validate it, and serve it in the browser."""
    from .output import build as build_scene
    if serve:       # a port in use: one line now, not after the build
        from .cli_view import check_port
        check_port(host, port)
    sc = _load(None)
    with _status("simulating and writing the stage") as update:
        result = build_scene(sc, output, progress=update)
    _print_summary(result.summary, max_listed=0)
    out.print(f"wrote {result.root_layer}: open it in usdview or NVIDIA Omniverse")
    if not validate_written(result.root_layer):
        raise typer.Exit(1)
    if serve:
        from .cli_view import serve_demo
        # the scene, not the built stage: what-if actions re-simulate it
        serve_demo(sc.spec.path, host, port)


cli_view.register(app)
cli_export.register(app)
cli_incidents.register(app)
cli_guard.register(app)
cli_sweep.register(app)
cli_criticality.register(app)
cli_capex.register(app)
cli_energy.register(app)
cli_calibrate.register(app)


def main(argv: Optional[list[str]] = None) -> None:
    """Entry point: run the app; an InputError becomes one line and exit status 2."""
    try:
        # standalone mode: click reports its own usage errors (exit 2) and Exit codes
        app(args=argv, prog_name="twin3d")
    except InputError as exc:
        # plain write: a rich console would wrap the one line at the terminal width
        sys.stderr.write(f"error: {exc}\n")
        sys.exit(2)
