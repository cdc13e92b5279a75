"""``twin3d export``: scenarios as self-contained OpenUSD files for Omniverse.

``twin3d export [SCENE|STAGE] --scenario NAME --format usdz -o FILE`` writes
one scenario; ``--all -o FOLDER`` writes every scenario as
``FOLDER/<scenario>.<format>``. A SCENE (``.toml``) is built first in a
temporary folder (simulation included); a STAGE is exported as it is: a
scenario root ``OUT/scenarios/<name>.usda``, a combined ``OUT/twin.usda``
(``--scenario`` picks the variant) or a build folder. A build with a
criticality layer exports its ``twin:criticality_*`` attributes;
``--criticality`` also colours links and sites by it.

Every file written is checked by both validator suites
(:func:`twin3d.usd.validate.validate_stage`); a file with errors is kept,
its failing rules are printed and the command exits 1 (``--no-validate``
skips the check).
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from .cli_common import load_with_status, out, status, validate_written
from .errors import InputError

__all__ = ["register"]


def _export(source: Optional[Path], scenario: Optional[str], fmt: Optional[str],
            output: Optional[Path], all_: bool, criticality: bool = False) -> list[Path]:
    from .usd.export import FORMATS, export_all, export_scenario

    if fmt is not None and fmt.lower() not in FORMATS:
        raise InputError(output or ".", f"unknown export format '{fmt}' (use one of "
                         f"{', '.join(FORMATS)})", field="format")
    if all_ and scenario:
        raise InputError(source or ".", "give either --scenario or --all, not both")
    if output is None:
        output = Path("exports") if all_ else Path(f"{scenario or 'scenario'}.{fmt or 'usdz'}")
    if source is not None and not source.exists():
        raise InputError(source, "no such scene, stage or build folder")
    if source is None or source.suffix.lower() == ".toml":
        if criticality:
            raise InputError(source or ".", "--criticality exports a build folder with a "
                             "criticality layer, not a scene", field="criticality")
        from .output import export_scene
        sc = load_with_status(source)
        with status("building and exporting"):
            return export_scene(sc, output, fmt, scenario, all_)
    with status(f"exporting {source.name}"):
        if all_:
            return export_all(source, output, fmt or "usdz", criticality=criticality)
        root = source / "twin.usda" if source.is_dir() else source
        return [export_scenario(root, output, fmt, variant=scenario, criticality=criticality)]


def register(app: typer.Typer) -> None:
    """Add the ``export`` command to the twin3d app."""

    @app.command()
    def export(source: Optional[Path] = typer.Argument(
                   None, help="Scene TOML, root stage (.usda) or build folder "
                              "(default: the bundled Helsinki scene)."),
               scenario: Optional[str] = typer.Option(None, "--scenario", "-s",
                                                      help="Scenario to export (default: the first)."),
               fmt: Optional[str] = typer.Option(None, "--format", "-f",
                                                 help="usdz | usdc | usda (default: from -o, else usdz)."),
               output: Optional[Path] = typer.Option(None, "-o", "--output",
                                                     help="Output file, or folder with --all."),
               all_: bool = typer.Option(False, "--all", help="Every scenario, into the -o folder."),
               criticality: bool = typer.Option(False, "--criticality",
                                                help="Colour links and sites by the build's "
                                                     "criticality layer (its attributes are "
                                                     "exported either way)."),
               validate: bool = typer.Option(True, "--validate/--no-validate",
                                             help="Run both USD validator suites on every file "
                                                  "written (exit 1 on errors).")
               ) -> None:
        """Export scenarios as self-contained OpenUSD files (USDZ for Omniverse), each validated."""
        failed = 0
        for path in _export(source, scenario, fmt, output, all_, criticality):
            out.print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB)", highlight=False)
            if validate and not validate_written(path):
                failed += 1
        if failed:
            raise typer.Exit(1)
