"""Element criticality from a sweep: expected traffic and SLA minutes lost when it fails.

For each element e the loss of a case is measured against the sweep's
baseline row (``faults = []``): ``lost_bps = dropped_bps - dropped_bps
(baseline)`` and ``sla_minutes = sla_minutes - sla_minutes (baseline)``.

Methods:

* ``mean`` (default): the mean loss over the cases whose ``faults`` hold e,
  with a normal-approximation 95 % interval ``mean ± 1.96 s / sqrt(n)`` (s
  the sample standard deviation over those n cases). In a single-fault
  sweep each element has one case that fails it alone: the value is that
  case's loss, exact (the interval has width 0: the simulation has no
  noise and nothing else failed). An element met once in a case with
  other faults has no interval (NaN). In a double or random sweep the mean
  is the expected loss when e fails under the sweep's own draw of the
  other failures (a pair's loss counts for both of its elements).
* ``regression``: least squares of each case's loss on the indicators of
  its failed elements (no intercept: the baseline is 0), ``loss ≈ sum of
  beta_e``: each element's additive share, with the 95 % interval from the
  estimate's covariance ``sigma^2 (X'X)^+`` (``sigma^2`` = residual sum of
  squares / (cases - rank); an exact fit, as a single-fault sweep gives,
  has width 0). Elements that always fail together (one storm's) share
  their loss through the pseudo-inverse.

With ``--demand-growth``, every case but the baseline has its own demand
factor, and the growth's own loss is part of each case's figure.

Elements that no case fails have ``cases = 0`` and no values; they rank
after every element with one.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import sparse

from ..errors import InputError

__all__ = ["METHODS", "Z95", "criticality", "ranking_rows"]

METHODS = ("mean", "regression")
#: Two-sided 95 % quantile of the normal distribution.
Z95 = 1.959963984540054


def _incidence(faults: list[list[str]], index: dict[str, int], where: str) -> sparse.csr_matrix:
    rows, cols = [], []
    for i, fs in enumerate(faults):
        for f in fs:
            j = index.get(f)
            if j is None:
                raise InputError(where, f"case {i} fails '{f}', which the scene does not have "
                                 "(a sweep of another scene?)", field="faults")
            rows.append(i)
            cols.append(j)
    return sparse.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(faults), len(index)))


def _mean(x: sparse.csr_matrix, y: np.ndarray, single: np.ndarray):
    """Per element: (n, mean, half-width of the 95 % interval)."""
    xt = x.T.tocsr()
    n = np.asarray(xt.sum(axis=1)).ravel()
    s1, s2 = xt @ y, xt @ (y * y)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = s1 / n
        var = np.maximum(s2 - n * mean * mean, 0.0) / (n - 1)
        half = Z95 * np.sqrt(var / n)
    once = n == 1
    # one case: exact when it fails the element alone, else unknown
    alone = np.asarray(xt @ single.astype(float)).ravel() > 0
    half = np.where(once, np.where(alone, 0.0, np.nan), half)
    return n, np.where(n > 0, mean, np.nan), np.where(n > 0, half, np.nan)


def _regression(x: sparse.csr_matrix, y: np.ndarray):
    """Per element: (n, beta, half-width of the 95 % interval)."""
    n = np.asarray(x.sum(axis=0)).ravel()
    seen = np.flatnonzero(n > 0)
    xs = x[:, seen]
    xtx = (xs.T @ xs).toarray()
    pinv = np.linalg.pinv(xtx, hermitian=True)
    beta_s = pinv @ (xs.T @ y)
    resid = y - xs @ beta_s
    rank = np.linalg.matrix_rank(xtx, hermitian=True) if len(seen) else 0
    dof = x.shape[0] - rank
    sigma2 = float(resid @ resid) / dof if dof > 0 else 0.0
    beta = np.full(x.shape[1], np.nan)
    half = np.full(x.shape[1], np.nan)
    beta[seen] = beta_s
    half[seen] = Z95 * np.sqrt(np.maximum(np.diag(pinv) * sigma2, 0.0))
    return n, beta, half


def criticality(faults: list[list[str]], dropped_bps, sla_minutes, kinds: list[str],
                elements: list[str], method: str = "mean", where: str = "<sweep>") -> dict:
    """Expected traffic and SLA minutes lost per element, with 95 % intervals.

    Parameters
    ----------
    faults : list of list of str
        Each case's typed ids (the sweep's ``faults`` column).
    dropped_bps, sla_minutes : array_like
        The sweep's columns, one value per case.
    kinds : list of str
        The ``kind`` column; exactly one case is ``baseline``.
    elements : list of str
        Every element to rank (typed ids).
    method : {"mean", "regression"}
    where : str
        The sweep file, for errors.

    Returns
    -------
    dict
        ``elements`` (list), ``cases`` (int array), ``lost_bps``,
        ``lost_bps_half`` (half-width of the 95 % interval), ``sla_minutes``,
        ``sla_minutes_half`` (float arrays), ``baseline`` ({dropped_bps,
        sla_minutes}).

    Examples
    --------
    >>> r = criticality([[], ["link:a"], ["link:b"]], [1.0, 5.0, 1.0], [0, 60, 0],
    ...                 ["baseline", "single", "single"], ["link:a", "link:b"])
    >>> r["lost_bps"].tolist(), r["lost_bps_half"].tolist(), r["sla_minutes"].tolist()
    ([4.0, 0.0], [0.0, 0.0], [60.0, 0.0])
    """
    if method not in METHODS:
        raise InputError("--method", f"unknown method '{method}' (one of {', '.join(METHODS)})")
    base = [i for i, k in enumerate(kinds) if k == "baseline"]
    if len(base) != 1 or faults[base[0]]:
        raise InputError(where, f"needs exactly one baseline row with faults = [], found {len(base)}",
                         field="kind")
    b = base[0]
    keep = np.array([i != b for i in range(len(kinds))])
    dropped = np.asarray(dropped_bps, float)
    sla = np.asarray(sla_minutes, float)
    cases = [faults[i] for i in np.flatnonzero(keep)]
    x = _incidence(cases, {e: j for j, e in enumerate(elements)}, where)
    single = np.array([len(f) == 1 for f in cases])
    out = {"elements": list(elements), "method": method,
           "baseline": {"dropped_bps": float(dropped[b]), "sla_minutes": float(sla[b])}}
    for key, y in (("lost_bps", dropped[keep] - dropped[b]), ("sla_minutes", sla[keep] - sla[b])):
        n, est, half = _mean(x, y, single) if method == "mean" else _regression(x, y)
        out["cases"] = n.astype(np.int64)
        out[key], out[f"{key}_half"] = est, half
    return out


def _num(v: float):
    return None if not math.isfinite(v) else float(v)


def ranking_rows(crit: dict) -> list[dict]:
    """Elements ranked by expected traffic lost, then SLA minutes, then id; unseen last.

    Each row: ``rank`` (1-based; None for an element no case fails),
    ``element``, ``cases``, ``lost_bps``, ``lost_bps_ci95`` ([low, high]),
    ``sla_minutes``, ``sla_minutes_ci95``; None where undefined.
    """
    lost, sla, n = crit["lost_bps"], crit["sla_minutes"], crit["cases"]
    order = sorted(range(len(crit["elements"])),
                   key=lambda j: (n[j] == 0, -np.nan_to_num(lost[j], nan=-np.inf),
                                  -np.nan_to_num(sla[j], nan=-np.inf), crit["elements"][j]))
    rows = []
    for rank, j in enumerate(order, 1):
        row = {"rank": rank if n[j] > 0 else None, "element": crit["elements"][j], "cases": int(n[j])}
        for key in ("lost_bps", "sla_minutes"):
            v, h = float(crit[key][j]), float(crit[f"{key}_half"][j])
            row[key] = _num(v)
            row[f"{key}_ci95"] = [_num(v - h), _num(v + h)] if math.isfinite(h) else [None, None]
        rows.append(row)
    return rows
