"""Calibration of a radio model to measurements: per-environment offset and slope (issue 13).

The correction is added to a cell's path gain (so to its received power)
at each grid point, by the point's environment for that cell:

    correction_db = offset_db[env] + slope_db_per_decade[env] * log10(d / d_ref)

with ``env`` one of :data:`ENVIRONMENTS` ("los": outdoor and in line of
sight of the cell's antenna, "nlos": outdoor and not, "indoor": inside a
building footprint), ``d`` the 3D distance antenna -> point in metres,
held within the environment's ``d_range_m`` (the distances the fit saw:
a slope is not extrapolated; never below :data:`D_MIN_M`) and ``d_ref`` =
:data:`D_REF_M`. A
positive offset makes the model stronger; a negative slope makes the signal
fall faster with distance (a path-loss exponent larger by -slope / 10). The
correction depends on no model internals, so it applies to every model
(TR 38.901, geometric, ray-traced maps).

:func:`fit_calibration` fits the six parameters to residuals
(measured - model, dB) by robust least squares
(:func:`scipy.optimize.least_squares`, ``soft_l1`` loss by default, its
scale from the median absolute deviation), so a few gross outliers (a
measurement in a car park, a mislabelled cell) barely move the fit.
:func:`held_out_split` draws the points kept out of the fit.

Pure numpy/scipy; no I/O.

Examples
--------
>>> import numpy as np
>>> env = np.array([0, 0, 1, 1, 2, 2]); log_d = np.array([0.0, 1.0, 0.0, 1.0, 0.0, 1.0])
>>> truth = Calibration(offset_db=(2.0, -6.0, 1.0), slope_db_per_decade=(-3.0, 4.0, 2.0))
>>> fit = fit_calibration(truth.correction_db(env, log_d), env, log_d, min_points=2)
>>> c = fit.calibration
>>> [round(v, 3) for v in c.offset_db], [round(v, 3) for v in c.slope_db_per_decade]
([2.0, -6.0, 1.0], [-3.0, 4.0, 2.0])
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import least_squares

__all__ = ["ENVIRONMENTS", "D_REF_M", "D_MIN_M", "D_MAX_M", "MIN_POINTS", "LOSSES", "Calibration",
           "CalibrationFit",
           "environment_index", "log_distance", "fit_calibration", "held_out_split", "rmse_db"]

#: Environment classes, in index order (see :func:`environment_index`).
ENVIRONMENTS = ("los", "nlos", "indoor")
#: Reference distance of the slope term, metres.
D_REF_M = 100.0
#: Distances below this are taken at it in the slope term, metres.
D_MIN_M = 10.0
#: Default upper end of the slope term's distance range, metres (no bound in practice).
D_MAX_M = 1e6
#: Samples an environment needs for its parameters to be fitted (fewer: left at 0).
MIN_POINTS = 10
#: Loss functions :func:`fit_calibration` accepts (scipy's names; "linear" is plain least squares).
LOSSES = ("soft_l1", "huber", "cauchy", "arctan", "linear")


@dataclass(frozen=True)
class Calibration:
    """Per-environment offsets (dB) and slopes (dB per decade of distance), :data:`ENVIRONMENTS` order.

    ``d_range_m``: per environment, the (min, max) 3D distance, metres,
    the slope term holds within (the distances the fit saw; beyond them
    the correction stays at its value at the bound). ``model`` and
    ``engine`` name what the parameters were fitted for (a scene checks
    them against its ``[radio]``), and for the geometric model
    ``model_version`` (its ``GeometricEngine.VERSION``) and ``model_terms``
    (the scene's ``[radio.geometric]`` overrides, (name, value) pairs) too:
    a fit corrects one version of the model with one set of terms; ``path``
    is the file they came from, if any (these are not part of :meth:`key`).

    Examples
    --------
    >>> c = Calibration((1.0, -2.0, 0.0), (-10.0, 5.0, 0.0), d_range_m=((10.0, 1000.0),) * 3)
    >>> c.correction_db([0, 0, 1], log_distance([1000.0, 10000.0, 10.0])).tolist()
    [-9.0, -9.0, -7.0]
    """

    offset_db: tuple[float, float, float] = (0.0, 0.0, 0.0)
    slope_db_per_decade: tuple[float, float, float] = (0.0, 0.0, 0.0)
    model: str = ""
    engine: str = ""
    path: str | None = None
    d_range_m: tuple[tuple[float, float], ...] = ((D_MIN_M, D_MAX_M),) * 3
    model_version: int | None = None
    model_terms: tuple[tuple[str, object], ...] = ()

    def key(self) -> tuple:
        """What a corrected map depends on (radio-map cache keys)."""
        return ("calibration", D_REF_M, D_MIN_M, tuple(map(float, self.offset_db)),
                tuple(map(float, self.slope_db_per_decade)),
                tuple((float(a), float(b)) for a, b in self.d_range_m))

    def correction_db(self, env, log_d) -> np.ndarray:
        """offset[env] + slope[env] x log_d (held within d_range_m), dB, float64.

        ``log_d``: :func:`log_distance` of the distances.
        """
        e = np.asarray(env, np.intp)
        rng = log_distance(np.asarray(self.d_range_m, float))         # (3, 2)
        x = np.clip(np.asarray(log_d, float), rng[e, 0], rng[e, 1])
        return np.asarray(self.offset_db, float)[e] + np.asarray(self.slope_db_per_decade, float)[e] * x


def environment_index(indoor, los) -> np.ndarray:
    """int8 index into :data:`ENVIRONMENTS`: 2 indoors, else 0 in line of sight, else 1.

    Examples
    --------
    >>> environment_index([False, False, True], [True, False, True]).tolist()
    [0, 1, 2]
    """
    indoor = np.asarray(indoor, bool)
    return np.where(indoor, 2, np.where(np.asarray(los, bool), 0, 1)).astype(np.int8)


def log_distance(d_m) -> np.ndarray:
    """log10(max(d, D_MIN_M) / D_REF_M), the slope term's variable.

    Examples
    --------
    >>> log_distance([1.0, 100.0, 1000.0]).tolist()
    [-1.0, 0.0, 1.0]
    """
    return np.log10(np.maximum(np.asarray(d_m, float), D_MIN_M) / D_REF_M)


@dataclass(frozen=True)
class CalibrationFit:
    """What :func:`fit_calibration` found.

    ``points`` per environment; ``fitted`` per environment: "offset+slope",
    "offset" (too little spread in distance for a slope) or "none" (too few
    points: left at 0); ``scale_db`` the robust residual scale the loss used
    (1.4826 x the median absolute deviation); ``loss`` the loss function.
    """

    calibration: Calibration
    points: tuple[int, int, int]
    fitted: tuple[str, str, str]
    scale_db: float
    loss: str


def _design(env: np.ndarray, log_d: np.ndarray, free: list[tuple[int, int]]) -> np.ndarray:
    """(n, k) matrix: column j is 1 (kind 0) or log_d (kind 1) on environment e's rows."""
    a = np.zeros((env.size, len(free)))
    for j, (e, kind) in enumerate(free):
        on = env == e
        a[on, j] = 1.0 if kind == 0 else log_d[on]
    return a


def _mad_scale(r: np.ndarray) -> float:
    return float(1.4826 * np.median(np.abs(r - np.median(r)))) if r.size else 1.0


def fit_calibration(residual_db, env, log_d, *, loss: str = "soft_l1", f_scale_db: float | None = None,
                    min_points: int = MIN_POINTS, min_spread_decades: float = 0.05, slopes: bool = True,
                    model: str = "", engine: str = "") -> CalibrationFit:
    """Fit per-environment offsets and slopes to residuals by robust least squares.

    Parameters
    ----------
    residual_db : (n,) array
        Measured minus model, dB (finite).
    env : (n,) int array
        :func:`environment_index` of each sample.
    log_d : (n,) array
        :func:`log_distance` of each sample.
    loss : str
        One of :data:`LOSSES` ("linear": plain least squares, no robustness).
    f_scale_db : float, optional
        Residual scale where the loss turns from quadratic to robust, dB.
        Default: 1.4826 x the median absolute deviation of the residuals of
        a first fit at 1 dB (so about one standard deviation of the
        inliers), at least 0.1 dB.
    min_points : int
        An environment with fewer samples keeps offset and slope 0.
    min_spread_decades : float
        An environment whose log_d has a smaller standard deviation fits
        an offset only (slope 0).
    slopes : bool
        False: offsets only (every slope 0). A slope fitted over one small
        area's distances (a 300 m layout) need not hold elsewhere.
    model, engine : str
        Recorded in the :class:`Calibration`.

    Returns
    -------
    CalibrationFit
    """
    r = np.asarray(residual_db, float).ravel()
    e = np.asarray(env, np.intp).ravel()
    x = np.asarray(log_d, float).ravel()
    if not (r.size == e.size == x.size):
        raise ValueError("fit_calibration: residual_db, env and log_d must have the same length")
    if not np.all(np.isfinite(r)) or not np.all(np.isfinite(x)):
        raise ValueError("fit_calibration: residuals and distances must be finite")
    if loss not in LOSSES:
        raise ValueError(f"fit_calibration: loss must be one of {', '.join(LOSSES)} (got {loss!r})")
    free, fitted, points = [], [], []
    for k in range(len(ENVIRONMENTS)):
        on = e == k
        n = int(on.sum())
        points.append(n)
        if n < min_points:
            fitted.append("none")
            continue
        free.append((k, 0))
        if slopes and float(np.std(x[on])) >= min_spread_decades:
            free.append((k, 1))
            fitted.append("offset+slope")
        else:
            fitted.append("offset")
    offsets, slopes = [0.0] * 3, [0.0] * 3
    d_range = [(D_MIN_M, D_MAX_M)] * 3
    for k in range(len(ENVIRONMENTS)):
        on = e == k
        if on.any():          # the distances seen (log_d is already >= log of D_MIN_M)
            d_range[k] = (float(D_REF_M * 10.0 ** x[on].min()), float(D_REF_M * 10.0 ** x[on].max()))
    scale = _mad_scale(r)
    if free:
        a = _design(e, x, free)
        p0 = np.zeros(len(free))

        def run(p_start, f_scale):
            res = least_squares(lambda p: a @ p - r, p_start, jac=lambda p: a, loss=loss,
                                f_scale=f_scale, method="trf", x_scale="jac")
            return res.x

        if f_scale_db is None:
            p = run(p0, 1.0)
            scale = max(_mad_scale(a @ p - r), 0.1)
            p = run(p, scale)
        else:
            scale = float(f_scale_db)
            p = run(p0, scale)
        for (k, kind), v in zip(free, p):
            (offsets if kind == 0 else slopes)[k] = float(v)
    cal = Calibration(tuple(offsets), tuple(slopes), model, engine, d_range_m=tuple(d_range))
    return CalibrationFit(cal, tuple(points), tuple(fitted), float(scale), loss)


def held_out_split(groups, fraction: float, rng: np.random.Generator) -> np.ndarray:
    """(n,) bool: the samples held out of the fit, whole groups at a time.

    A random ``fraction`` of the distinct group labels (rounded, at least
    one when there are two or more groups) is held out; every sample of a
    held-out group is held out (a grid point's samples of several cells go
    together).

    Examples
    --------
    >>> m = held_out_split(np.arange(10), 0.2, np.random.default_rng(0))
    >>> int(m.sum())
    2
    """
    g = np.asarray(groups).ravel()
    if not 0.0 < fraction < 1.0:
        raise ValueError(f"held_out_split: fraction must be in (0, 1) (got {fraction})")
    labels = np.unique(g)
    k = int(round(fraction * labels.size))
    k = min(max(k, 1 if labels.size > 1 else 0), labels.size - 1) if labels.size else 0
    chosen = rng.permutation(labels)[:k]
    return np.isin(g, chosen)


def rmse_db(x) -> float:
    """Root mean square of ``x``, dB (nan when empty).

    Examples
    --------
    >>> rmse_db([3.0, -4.0])
    3.5355339059327378
    """
    x = np.asarray(x, float)
    return float(np.sqrt(np.mean(x ** 2))) if x.size else float("nan")
