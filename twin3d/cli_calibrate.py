"""``twin3d calibrate``: fit the radio model's correction to measurements or a ray-traced map.

``twin3d calibrate SCENE (--measurements FILE.csv | --reference FILE.npz)
[-o OUT.toml] [--held-out 0.2] [--block-m 50] [--loss soft_l1] [--offsets-only]
[--seed S]`` reads the
drive-test measurements (:func:`twin3d.calibrate_io.read_measurements`) or a
ray-traced reference (:mod:`twin3d.rt.references`), fits offsets and slopes
per environment on the blocks of the grid not held out
(:func:`twin3d.sim.calibration.calibrate`), prints them with the held-out
RMSE before and after, and writes the calibration file (atomically; default
``SCENE_STEM.calibration.toml`` beside the scene). The scene uses it once it
says ``[radio] calibration = "FILE"`` (relative to the scene file). Any
bad input: one line on stderr, exit 2, nothing written.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

import typer
from rich.table import Table

from .cli_common import load_with_status, out, status, write_text_atomic
from .errors import InputError

__all__ = ["register", "read_reference_file"]


def read_reference_file(path: Path):
    """:func:`twin3d.rt.references.load_reference`, a bad file as one InputError."""
    from .rt.references import load_reference
    if not path.is_file():
        raise InputError(path, "reference file not found")
    try:
        return load_reference(path)
    except Exception as exc:        # a truncated zip, a missing array, bad JSON: one line
        raise InputError(path, f"not a twin3d ray-traced reference (.npz of twin3d.rt.references): "
                               f"{type(exc).__name__}: {exc}") from None


def _print_report(report, samples, source: str) -> None:
    from .physics.calibration import ENVIRONMENTS
    cal, fit = report.fit.calibration, report.fit
    unit = "RSRP dBm" if samples.kind == "measurements" else "path gain dB"
    t = Table(title=f"calibration against {source} ({samples.kind}, {unit})")
    for col in ("environment", "fit samples", "fitted", "offset dB", "slope dB/decade"):
        t.add_column(col, justify="left" if col in ("environment", "fitted") else "right")
    for k, env in enumerate(ENVIRONMENTS):
        t.add_row(env, str(fit.points[k]), fit.fitted[k], f"{cal.offset_db[k]:+.2f}",
                  f"{cal.slope_db_per_decade[k]:+.2f}")
    out.print(t)
    held = int(report.held_out.sum())
    out.print(f"held out: {report.held_out_blocks} of {report.blocks} blocks of "
              f"{report.block_m:g} m ({report.held_out_fraction:.0%}): {report.held_out_points} of "
              f"{report.points} grid points, {held} of {len(samples)} samples; loss {fit.loss}, "
              f"scale {fit.scale_db:.2f} dB", markup=False, highlight=False)
    out.print(f"held-out RMSE: {report.rmse_before_db:.2f} dB before, {report.rmse_after_db:.2f} dB "
              f"after (median |error| {report.median_abs_before_db:.2f} -> "
              f"{report.median_abs_after_db:.2f} dB)", markup=False, highlight=False)
    if samples.left_out:
        why = ("beyond the model's range" if samples.kind == "measurements"
               else "outdoor points the ray tracer or the model does not reach")
        out.print(f"left out: {samples.left_out} samples ({why})", markup=False, highlight=False)


def _fit_table(report, samples, source: str, slopes: bool, seed: int) -> dict:
    """The calibration file's ``[fit]`` table: what the fit saw and how it scored."""
    return {"source": source, "kind": samples.kind, "loss": report.fit.loss, "slopes": slopes,
            "seed": seed, "scale_db": report.fit.scale_db, "samples": len(samples),
            "points": report.points, "block_m": report.block_m, "blocks": report.blocks,
            "held_out_blocks": report.held_out_blocks, "held_out_points": report.held_out_points,
            "held_out_samples": int(report.held_out.sum()),
            "held_out_fraction": report.held_out_fraction,
            "rmse_before_db": report.rmse_before_db, "rmse_after_db": report.rmse_after_db,
            "median_abs_before_db": report.median_abs_before_db,
            "median_abs_after_db": report.median_abs_after_db, "left_out": samples.left_out}


def register(app: typer.Typer) -> None:
    """Add ``calibrate`` to the ``twin3d`` app."""

    @app.command("calibrate")
    def calibrate_cmd(scene: Path = typer.Argument(..., help="Scene TOML with radio cells."),
                      measurements: Optional[Path] = typer.Option(
                          None, "--measurements", help="Drive-test CSV: lon, lat, cell, rsrp_dbm "
                                                       "(optional time)."),
                      reference: Optional[Path] = typer.Option(
                          None, "--reference", help="Ray-traced map (.npz, twin3d.rt.references) "
                                                    "in place of measurements."),
                      output: Optional[Path] = typer.Option(
                          None, "-o", "--output", help="Calibration TOML to write (default: "
                                                       "SCENE_STEM.calibration.toml beside the scene)."),
                      held_out: float = typer.Option(0.2, "--held-out",
                                                     help="Share of the grid's blocks held out to "
                                                          "score the fit, in (0, 1)."),
                      block_m: float = typer.Option(50.0, "--block-m",
                                                    help="Side of the square blocks held out "
                                                         "together, metres (0: single points)."),
                      loss: str = typer.Option("soft_l1", "--loss",
                                               help="Robust loss: soft_l1, huber, cauchy, arctan "
                                                    "(linear: plain least squares)."),
                      slopes: bool = typer.Option(True, "--slopes/--offsets-only",
                                                  help="Fit a slope per environment besides its "
                                                       "offset (or offsets only)."),
                      seed: Optional[int] = typer.Option(None, "--seed",
                                                         help="Seed of the held-out split "
                                                              "(default: the scene's seed).")) -> None:
        """Fit the radio model's per-environment offsets and slopes; write them as a calibration TOML."""
        from dataclasses import replace

        from .calibrate_io import calibration_toml, model_identity, read_measurements
        from .physics.calibration import ENVIRONMENTS, LOSSES, MIN_POINTS
        from .provenance import provenance
        from .scene import calibration_ignored
        from .sim.calibration import (calibrate, measurement_samples, reference_samples,
                                      uncalibrated_mapper)
        if (measurements is None) == (reference is None):
            raise InputError(scene, "give exactly one of --measurements FILE.csv or "
                                    "--reference FILE.npz", field="measurements")
        if not 0.0 < held_out < 1.0:
            raise InputError(scene, f"--held-out must be in (0, 1), got {held_out:g}", field="held-out")
        if not (block_m >= 0.0 and block_m < 1e6):
            raise InputError(scene, f"--block-m must be >= 0 metres, got {block_m:g}", field="block-m")
        if loss not in LOSSES:
            raise InputError(scene, f"--loss must be one of {', '.join(LOSSES)}, got {loss!r}",
                             field="loss")
        # read the user's data file before the (slower) scene, so its errors come first
        meas = read_measurements(measurements) if measurements is not None else None
        ref = read_reference_file(reference) if reference is not None else None
        with calibration_ignored():           # the file this run replaces may be stale or broken
            sc = load_with_status(scene)
        target = output if output is not None else sc.spec.path.with_name(
            f"{sc.spec.path.stem}.calibration.toml")
        with status("computing the uncalibrated radio maps"):
            mapper = uncalibrated_mapper(sc)
            samples = (measurement_samples(sc, meas, mapper) if meas is not None
                       else reference_samples(sc, ref, mapper))
        if len(samples) == 0:
            raise InputError(measurements or reference, "no sample the model reaches: nothing to fit")
        r = sc.spec.radio
        run_seed = sc.seed if seed is None else seed
        report = calibrate(samples, sc.rng(run_seed), held_out_fraction=held_out, block_m=block_m,
                           loss=loss, slopes=slopes, model=r.model, engine=r.engine)
        data_file = measurements or reference
        if all(f == "none" for f in report.fit.fitted):
            counts = ", ".join(f"{e} {n}" for e, n in zip(ENVIRONMENTS, report.fit.points))
            raise InputError(data_file, f"too few samples to fit: each environment needs "
                                        f"{MIN_POINTS} outside the held-out blocks (got {counts})")
        if not report.held_out.any():
            raise InputError(data_file, f"too few samples to hold any out ({report.blocks} block of "
                                        f"{report.block_m:g} m): measure a larger area or lower "
                                        "--block-m")
        source = data_file.name
        _print_report(report, samples, source)
        fit = _fit_table(report, samples, source, slopes, run_seed)
        prov = provenance(sc.spec.path, run_seed)
        comment = (f"written by twin3d {prov['twin3d_version']}: {prov['command']}\n"
                   f"scene sha256 {prov['scene_sha256']}")
        version, terms = model_identity(r.model, r.geometric_terms)
        cal = replace(report.fit.calibration, model_version=version, model_terms=terms)
        write_text_atomic(target, calibration_toml(cal, fit, comment))
        rel = os.path.relpath(target.resolve(), sc.spec.path.parent)
        out.print(f"wrote {target}", markup=False, highlight=False, soft_wrap=True)
        out.print(f'the scene uses it with: [radio] calibration = "{Path(rel).as_posix()}"',
                  markup=False, highlight=False, soft_wrap=True)
