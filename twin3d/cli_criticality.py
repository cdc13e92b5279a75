"""``twin3d criticality``: rank every element of a scene by what its failure costs in a sweep.

``twin3d criticality SWEEP.parquet SCENE -o OUT [--method mean|regression]
[--stage OUT/twin.usda | OUT]`` reads a ``twin3d sweep`` file and writes the
ranking (:mod:`twin3d.sweep.criticality`): OUT ending in ``.json`` (with
the provenance of this command and of the sweep), ``.csv`` (the
provenance in ``OUT.provenance.json``), or ``.usda``/``.usdc``/``.usd``: a
criticality layer over the built stage given by ``--stage``
(:mod:`twin3d.usd.criticality`). ``--stage`` naming a build folder
also attaches the layer to that build (``OUT/layers/criticality.usda``
sublayered by its roots, :mod:`twin3d.usd.criticality_attach`), so
``twin3d view`` and ``twin3d export`` of the folder show it. Everything is written atomically. Bad
input: one line on stderr, exit 2.
"""

from __future__ import annotations

import csv
import io
import sys
from pathlib import Path
from typing import Optional

import typer

from .cli_common import err, load_with_status, out, write_json_atomic, write_text_atomic
from .errors import InputError

__all__ = ["register", "CSV_COLUMNS"]

#: Columns of the CSV ranking.
CSV_COLUMNS = ("rank", "element", "cases", "lost_bps", "lost_bps_ci_low", "lost_bps_ci_high",
               "sla_minutes", "sla_minutes_ci_low", "sla_minutes_ci_high")
_USD = (".usda", ".usdc", ".usd")
#: Elements the terminal summary lists.
SHOWN = 10


def _csv_text(ranking: list[dict]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(CSV_COLUMNS)
    for r in ranking:
        cells = [r["rank"], r["element"], r["cases"], r["lost_bps"], *r["lost_bps_ci95"],
                 r["sla_minutes"], *r["sla_minutes_ci95"]]
        w.writerow(["" if c is None else (repr(c) if isinstance(c, float) else c) for c in cells])
    return buf.getvalue()


def _usd_safe(x):
    """A JSON-like value for a USD dictionary: None as ""."""
    if isinstance(x, dict):
        return {str(k): _usd_safe(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_usd_safe(v) for v in x]
    return "" if x is None else x


def register(app: typer.Typer) -> None:
    """Add ``criticality`` to the ``twin3d`` app."""

    @app.command("criticality")
    def criticality_cmd(sweep_file: Path = typer.Argument(..., help="A twin3d sweep file (.parquet)."),
                        scene: Path = typer.Argument(..., help="The scene TOML the sweep ran on."),
                        output: Path = typer.Option(..., "-o", "--output",
                                                    help="OUT.json, OUT.csv, or OUT.usda over --stage."),
                        method: str = typer.Option("mean", "--method",
                                                   help="mean (over the cases failing the element) "
                                                        "or regression (additive shares)."),
                        stage: Optional[Path] = typer.Option(None, "--stage",
                                                             help="The built stage's twin.usda "
                                                                  "(for a .usda OUT), or a build "
                                                                  "folder to attach the layer to."),
                        ) -> None:
        """Rank every element by expected traffic and SLA minutes lost when it fails."""
        from .physics.transport import Router
        from .provenance import file_sha256, provenance
        from .sweep.criticality import METHODS, criticality, ranking_rows
        from .sweep.faults import sweep_elements
        from .sweep.table import read_sweep, sweep_metadata

        if method not in METHODS:
            raise InputError(sweep_file, f"--method must be one of {', '.join(METHODS)}, got "
                             f"'{method}'", field="method")
        suffix = output.suffix.lower()
        if suffix not in (".json", ".csv", *_USD):
            raise InputError(output, "the ranking is written as .json or .csv, the layer as "
                             ".usda, .usdc or .usd", field="output")
        if suffix in _USD and stage is None:
            raise InputError(output, "a criticality layer needs --stage OUT/twin.usda (a stage "
                             "twin3d build wrote)", field="stage")
        attach = stage is not None and stage.is_dir()
        if attach:
            stage = stage / "twin.usda"
        if stage is not None and not stage.is_file():
            raise InputError(stage, "no such stage file", field="stage")
        if not scene.is_file():
            raise InputError(scene, "no such scene file")
        table = read_sweep(sweep_file)
        sweep_meta = sweep_metadata(table)
        sc = load_with_status(scene)
        spec = sc.spec
        link_ids = [str(l) for l in Router(sc.twin.graph, metric=spec.traffic.metric,
                                           source=str(spec.path)).links]
        elements = sweep_elements(sc.twin, link_ids)
        cols = table.select(["faults", "dropped_bps", "sla_minutes", "kind"]).to_pydict()
        crit = criticality(cols["faults"], cols["dropped_bps"], cols["sla_minutes"], cols["kind"],
                           elements, method, where=str(sweep_file))
        ranking = ranking_rows(crit)
        swept_sha = sweep_meta.get("provenance", {}).get("scene_sha256", "")
        meta = {"method": method, "baseline": crit["baseline"],
                "scene_matches_sweep": swept_sha == file_sha256(spec.path),
                "sweep_file": sweep_file.name, "sweep": sweep_meta}
        prov = provenance(spec.path, sweep_meta.get("provenance", {}).get("seed", sc.seed), sys.argv)
        if suffix == ".json":
            write_json_atomic(output, {"provenance": prov, **meta, "ranking": ranking})
        elif suffix == ".csv":
            write_text_atomic(output, _csv_text(ranking))
            write_json_atomic(output.with_name(output.name + ".provenance.json"),
                              {"provenance": prov, **meta})
        else:
            from .usd.criticality import write_criticality_layer
            write_criticality_layer(output, stage, sc.twin, ranking,
                                    _usd_safe({"provenance": prov, **meta}))
        if attach:
            from .usd.criticality_attach import attach_criticality
            layer = attach_criticality(stage.parent, sc.twin, ranking,
                                       _usd_safe({"provenance": prov, **meta}))
            out.print(f"attached {layer} to {stage.parent}", markup=False, highlight=False)
        if not meta["scene_matches_sweep"]:
            err.print(f"note: {scene.name} is not the file the sweep ran on (sha256 differs)",
                      markup=False, highlight=False)
        for r in ranking[:SHOWN]:
            if r["rank"] is None:
                break
            lo, hi = r["lost_bps_ci95"]
            ci = f" [{lo / 1e9:.4g}, {hi / 1e9:.4g}]" if lo is not None else ""
            out.print(f"{r['rank']:>4}  {r['element']:<40} {r['lost_bps'] / 1e9:10.4g} Gbit/s{ci}  "
                      f"{r['sla_minutes']:8.4g} SLA min  ({r['cases']} cases)", markup=False,
                      highlight=False, soft_wrap=True)
        out.print(f"wrote {output}: {sum(r['rank'] is not None for r in ranking)} of {len(ranking)} "
                  f"elements ranked ({method})", markup=False, highlight=False)
