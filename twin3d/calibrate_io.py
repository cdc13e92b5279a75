"""Files of ``twin3d calibrate``: drive-test measurements (CSV) in, calibration (TOML) out and back.

Measurements: a UTF-8 CSV with a header and the columns ``lon``, ``lat``
(WGS84 degrees), ``cell`` (a cell id of the scene, ``SITE/k``) and
``rsrp_dbm`` (measured RSRP, dBm); an optional ``time`` column and any
other columns are carried along unread.

Calibration file (what :func:`calibration_toml` writes, :func:`read_calibration`
reads back when a scene names it in ``[radio] calibration``)::

    version = 1
    model = "geometric"      # the [radio] model and engine it was fitted for
    engine = "twin3d"
    model_version = 6        # geometric only: GeometricEngine.VERSION at the fit
    [model_terms]            # geometric only: the scene's [radio.geometric] at the fit
    corner_slabs = 2
    [los]                    # one table per environment (los, nlos, indoor)
    offset_db = 2.1
    slope_db_per_decade = -4.0
    d_min_m = 12.0           # the distances the slope holds within (optional)
    d_max_m = 240.0
    ...
    [fit]                    # what the fit saw (informational, checked for types only)
    source = "drive.csv"
    ...

Every problem is an :class:`~twin3d.errors.InputError` naming the file,
the row or table, and the field.
"""

from __future__ import annotations

import csv
import io
import math
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

from .errors import InputError, read_user_text
from .tables import Table as _Table
from .physics.calibration import D_MAX_M, D_MIN_M, ENVIRONMENTS, Calibration

__all__ = ["MEASUREMENT_COLUMNS", "CALIBRATION_VERSION", "Measurements", "read_measurements",
           "read_calibration", "calibration_toml", "model_identity", "FIT_KEYS"]

#: Columns a measurements CSV must have.
MEASUREMENT_COLUMNS = ("lon", "lat", "cell", "rsrp_dbm")
#: ``version`` of the calibration files this twin3d writes and reads.
CALIBRATION_VERSION = 1
#: Bound on |offset_db| and |slope_db_per_decade| in a calibration file (a larger one is a typo).
MAX_CORRECTION_DB = 100.0
#: Keys of a calibration file's ``[fit]`` table and their types.
FIT_KEYS: dict[str, type | tuple[type, ...]] = {
    "source": str, "kind": str, "loss": str, "slopes": bool, "seed": int, "scale_db": float,
    "samples": int, "points": int, "block_m": float, "blocks": int, "held_out_blocks": int,
    "held_out_points": int, "held_out_samples": int,
    "held_out_fraction": float, "rmse_before_db": float, "rmse_after_db": float,
    "median_abs_before_db": float, "median_abs_after_db": float, "left_out": int}


@dataclass(frozen=True)
class Measurements:
    """The rows of a measurements CSV (one entry per row, file order).

    ``line`` is each row's line number in the file (the header is line 1).
    """

    path: Path
    lon: np.ndarray
    lat: np.ndarray
    cell: tuple[str, ...]
    rsrp_dbm: np.ndarray
    line: np.ndarray
    time: tuple[str, ...] | None = None

    def __len__(self) -> int:
        return len(self.cell)


def _number(file: Path, line: int, field: str, text: str | None, lo: float, hi: float) -> float:
    where = f"line {line}"
    if text is None or not text.strip():
        raise InputError(file, "is empty (every row needs lon, lat, cell, rsrp_dbm)", where, field)
    try:
        v = float(text)
    except ValueError:
        raise InputError(file, f"must be a number, got {text.strip()!r}", where, field) from None
    if not math.isfinite(v) or not lo <= v <= hi:
        raise InputError(file, f"must be within [{lo:g}, {hi:g}], got {text.strip()!r}", where, field)
    return v


def read_measurements(path: str | Path) -> Measurements:
    """Read a drive-test CSV (see the module docstring).

    Raises
    ------
    InputError
        A missing or non-UTF-8 file, an empty file, a missing column, a row
        with an empty or non-numeric value or a value out of range (RSRP
        outside [-200, 0] dBm), no rows.

    Examples
    --------
    >>> import tempfile
    >>> p = Path(tempfile.mkdtemp()) / "m.csv"
    >>> _ = p.write_text("lon,lat,cell,rsrp_dbm\\n24.94,60.17,S1/1,-81.5\\n")
    >>> m = read_measurements(p)
    >>> m.cell, m.rsrp_dbm.tolist(), m.line.tolist()
    (('S1/1',), [-81.5], [2])
    """
    file, text = read_user_text(path, "measurements file")
    if not text.strip():
        raise InputError(file, f"is empty: expected a header {','.join(MEASUREMENT_COLUMNS)} "
                               "and one row per measurement")
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    header = [h.strip() for h in next(reader)]
    for col in MEASUREMENT_COLUMNS:
        if col not in header:
            raise InputError(file, f"column is missing (the header needs "
                                   f"{', '.join(MEASUREMENT_COLUMNS)}; it has {', '.join(header)})",
                             "line 1", col)
    at = {c: header.index(c) for c in MEASUREMENT_COLUMNS + (("time",) if "time" in header else ())}
    lon, lat, cell, rsrp, lines, times = [], [], [], [], [], []
    for row in reader:
        line = reader.line_num
        if not any(v.strip() for v in row):
            continue                                       # blank lines
        get = {c: (row[i] if i < len(row) else None) for c, i in at.items()}
        lon.append(_number(file, line, "lon", get["lon"], -180.0, 180.0))
        lat.append(_number(file, line, "lat", get["lat"], -90.0, 90.0))
        c = (get["cell"] or "").strip()
        if not c:
            raise InputError(file, "is empty (every row needs lon, lat, cell, rsrp_dbm)",
                             f"line {line}", "cell")
        cell.append(c)
        rsrp.append(_number(file, line, "rsrp_dbm", get["rsrp_dbm"], -200.0, 0.0))
        lines.append(line)
        if "time" in at:
            times.append((get["time"] or "").strip())
    if not cell:
        raise InputError(file, "holds no measurement rows (only a header)")
    return Measurements(file, np.array(lon), np.array(lat), tuple(cell), np.array(rsrp),
                        np.array(lines, dtype=np.int64), tuple(times) if "time" in at else None)


def model_identity(model: str, geometric_terms=()) -> tuple[int | None, tuple]:
    """(model_version, model_terms) that a calibration of ``model`` records and is checked by.

    The geometric model: its :attr:`~twin3d.physics.geometric.model.GeometricEngine.VERSION`
    (bumped whenever its maps change for the same terms) and the scene's
    ``[radio.geometric]`` overrides, sorted by name; any other model: (None, ()).

    Examples
    --------
    >>> from twin3d.physics.geometric.model import GeometricEngine
    >>> model_identity("geometric", [("corner_slabs", 0)]) == (GeometricEngine.VERSION, (("corner_slabs", 0),))
    True
    >>> model_identity("UMa")
    (None, ())
    """
    if model != "geometric":
        return None, ()
    from .physics.geometric.model import GeometricEngine
    return GeometricEngine.VERSION, tuple(sorted(geometric_terms))


def _terms_text(terms) -> str:
    return ", ".join(f"{k} = {_toml_value(v)}" for k, v in terms) or "none"


def _check_identity(top: _Table, fitted_version, fitted_terms, geometric_terms) -> None:
    """A geometric calibration must name the scene's model version and terms (see
    :func:`model_identity`); else an InputError saying to fit it again."""
    version, terms = model_identity("geometric", geometric_terms)
    again = ": fit it again (twin3d calibrate)"
    if fitted_version is None:
        raise top.err("model_version", "missing: the file does not say which version of the "
                                       "geometric model it was fitted for (written by an older "
                                       f"twin3d; this one's is {version}){again}")
    if fitted_version != version:
        raise top.err("model_version", f"the calibration was fitted for version {fitted_version} "
                                       f"of the geometric model, this twin3d's is {version}{again}")
    from .physics.geometric.model import DEFAULT_TERMS
    # the terms in force: a term set to its default is the default
    if {**DEFAULT_TERMS, **dict(fitted_terms)} != {**DEFAULT_TERMS, **dict(terms)}:
        raise top.err("model_terms", f"the calibration was fitted with [radio.geometric] "
                                     f"{_terms_text(fitted_terms)}, the scene has "
                                     f"{_terms_text(terms)}{again}")


def read_calibration(path: str | Path, *, model: str | None = None, engine: str | None = None,
                     geometric_terms=None, referenced_by: tuple | None = None) -> Calibration:
    """Read and validate a calibration file into a :class:`Calibration`.

    Parameters
    ----------
    path : str or Path
    model, engine : str, optional
        The scene's ``[radio]`` model and engine: the file must have been
        fitted for them.
    geometric_terms : sequence of (name, value), optional
        The scene's ``[radio.geometric]``: with ``model`` "geometric", the file
        must have been fitted for this twin3d's version of the model with
        these terms (:func:`model_identity`).
    referenced_by : (file, table, key), optional
        Where the path came from (the scene file), named when the file is missing.

    Raises
    ------
    InputError
        Missing file, not UTF-8, not TOML, unknown key, wrong type or value,
        or fitted for another model, engine, model version or set of terms.
    """
    file = Path(path)
    if not file.is_file():
        if referenced_by is not None:
            raise InputError(referenced_by[0], f"calibration file not found: {file}",
                             *referenced_by[1:])
        raise InputError(file, "calibration file not found")
    file, text = read_user_text(file, "calibration file")
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(file, f"not valid TOML: {exc}") from None
    top = _Table(file, "top level", doc, ("version", "model", "engine", "model_version",
                                          "model_terms", *ENVIRONMENTS, "fit"))
    version = top.get("version", int, required=True)
    if version != CALIBRATION_VERSION:
        raise top.err("version", f"must be {CALIBRATION_VERSION} (this twin3d's calibration "
                                 f"format), got {version}")
    fitted_model = top.get("model", str, required=True)
    fitted_engine = top.get("engine", str, required=True)
    if model is not None and fitted_model != model:
        raise top.err("model", f"the calibration was fitted for model {fitted_model!r}, but the "
                               f"scene's [radio] model is {model!r}: fit it again "
                               "(twin3d calibrate)")
    if engine is not None and fitted_engine != engine:
        raise top.err("engine", f"the calibration was fitted for engine {fitted_engine!r}, but the "
                                f"scene's [radio] engine is {engine!r}: fit it again "
                                "(twin3d calibrate)")
    fitted_version = top.get("model_version", int, None)
    raw_terms = top.get("model_terms", dict, {})
    if raw_terms:
        from .physics.geometric.model import DEFAULT_TERMS     # the model's term names
        _Table(file, "[model_terms]", raw_terms, tuple(DEFAULT_TERMS))
    for key, v in raw_terms.items():
        if not isinstance(v, (int, float, str)):
            raise InputError(file, f"must be a number, a boolean or a string, got "
                                   f"{type(v).__name__}", "[model_terms]", key)
    fitted_terms = tuple(sorted(raw_terms.items()))
    if model == "geometric" and fitted_model == "geometric" and geometric_terms is not None:
        _check_identity(top, fitted_version, fitted_terms, geometric_terms)
    offsets, slopes, ranges = [], [], []
    for env in ENVIRONMENTS:
        t = _Table(file, f"[{env}]", top.get(env, dict, {}),
                   ("offset_db", "slope_db_per_decade", "d_min_m", "d_max_m"))
        offsets.append(t.num("offset_db", 0.0, -MAX_CORRECTION_DB, MAX_CORRECTION_DB))
        slopes.append(t.num("slope_db_per_decade", 0.0, -MAX_CORRECTION_DB, MAX_CORRECTION_DB))
        lo = t.num("d_min_m", D_MIN_M, 0.0, D_MAX_M)
        hi = t.num("d_max_m", D_MAX_M, 0.0, D_MAX_M)
        if hi < lo:
            raise t.err("d_max_m", f"must be >= d_min_m ({lo:g}), got {hi:g}")
        ranges.append((lo, hi))
    fit = _Table(file, "[fit]", top.get("fit", dict, {}), tuple(FIT_KEYS))
    for key, kind in FIT_KEYS.items():
        if kind is float:
            v = fit.get(key, float, None)
            if v is not None and not math.isfinite(v):
                raise fit.err(key, f"must be finite, got {v}")
        else:
            fit.get(key, kind, None)
    return Calibration(tuple(offsets), tuple(slopes), fitted_model, fitted_engine, str(file),
                       tuple(ranges), fitted_version, fitted_terms)


def _toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, (float, np.floating)):
        return repr(float(v))
    s = str(v).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{s}"'


def calibration_toml(cal: Calibration, fit: dict | None = None, comment: str = "") -> str:
    """A calibration file's text (see the module docstring); ``fit``: the ``[fit]`` table.

    Non-finite numbers in ``fit`` are left out (TOML has them, but a reader
    should not meet a nan RMSE).

    Examples
    --------
    >>> text = calibration_toml(Calibration((1.0, -2.5, 0.0), (0.0, -3.0, 0.0), "UMa", "twin3d"))
    >>> tomllib.loads(text)["nlos"]
    {'offset_db': -2.5, 'slope_db_per_decade': -3.0, 'd_min_m': 10.0, 'd_max_m': 1000000.0}
    """
    lines = [f"# {c}" if c else "#" for c in comment.splitlines()] if comment else []
    lines += ["# twin3d radio calibration: added to each cell's path gain at a point, by the",
              "# point's environment for that cell (los: outdoors in line of sight of the antenna,",
              "# nlos: outdoors not, indoor: inside a footprint):",
              "#   offset_db + slope_db_per_decade * log10(d / 100 m), d = the 3D distance",
              "#   antenna -> point held within [d_min_m, d_max_m] (the distances the fit saw).",
              f"version = {CALIBRATION_VERSION}", f"model = {_toml_value(cal.model)}",
              f"engine = {_toml_value(cal.engine)}"]
    if cal.model_version is not None:       # the geometric model: what the fit corrected
        lines.append(f"model_version = {int(cal.model_version)}")
    if cal.model_terms:
        lines += ["", "[model_terms]"] + [f"{k} = {_toml_value(v)}" for k, v in cal.model_terms]
    for env, o, s, (lo, hi) in zip(ENVIRONMENTS, cal.offset_db, cal.slope_db_per_decade,
                                   cal.d_range_m):
        lines += ["", f"[{env}]", f"offset_db = {_toml_value(float(o))}",
                  f"slope_db_per_decade = {_toml_value(float(s))}",
                  f"d_min_m = {_toml_value(float(lo))}", f"d_max_m = {_toml_value(float(hi))}"]
    if fit:
        lines += ["", "[fit]"]
        for key, v in fit.items():
            if key not in FIT_KEYS:
                raise ValueError(f"calibration_toml: unknown [fit] key {key!r}")
            if isinstance(v, float) and not math.isfinite(v):
                continue
            lines.append(f"{key} = {_toml_value(v)}")
    return "\n".join(lines) + "\n"
