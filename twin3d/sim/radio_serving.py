"""The air interface of a radio step: cell loads by processor sharing, user
throughput, and the radio KPIs from them (compiled passes over the coverage
grid). Moved out of :mod:`twin3d.sim.engine`, which re-exports them.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .kpi import lowest_group_percentiles, weighted_percentiles

#: The radio KPIs of a step (NaN on a scene without cells).
RADIO_KPI_KEYS = ("coverage_pct", "sinr_p5_db", "sinr_p50_db", "sinr_p95_db", "throughput_p5_bps",
                  "throughput_p50_bps")
#: The radio KPIs a step with ``radio_kpis="later"`` leaves for later (NaN until
#: :meth:`StepResult.complete_kpis`): what neither the SLA nor an environment reads.
LATER_RADIO_KPIS = ("sinr_p5_db", "sinr_p50_db", "sinr_p95_db", "throughput_p50_bps")
#: Coverage thresholds of the radio KPIs (:func:`twin3d.sim.kpi.radio_kpis`'s defaults).
RSRP_MIN_DBM, SINR_MIN_DB = -110.0, -6.0


def _radio_kpis(sample: tuple, n_pts: int, user_thr: np.ndarray, density: np.ndarray,
                later: bool = False) -> dict[str, float]:
    """:func:`twin3d.sim.kpi.radio_kpis` from what :func:`_serve` gathered.

    ``sample``: (SINR at the covered points in point order, weighted stats
    of the user throughput, demand at its lowest value); ``user_thr``: user
    throughput, 0 where not covered. With ``later`` the
    :data:`LATER_RADIO_KPIS` are NaN (not computed; the throughput p5 is the
    same number: each quantile is the sort's, whatever others are asked).
    """
    sinr_covered, stats, w_lo = sample
    nan = float("nan")
    if later:
        s5 = s50 = s95 = t50 = nan
        t5, = weighted_percentiles(user_thr, [5], density, stats, w_lo)
    else:
        s5, s50, s95 = weighted_percentiles(sinr_covered, [5, 50, 95])
        t5, t50 = weighted_percentiles(user_thr, [5, 50], density, stats, w_lo)
    return {
        "coverage_pct": 100.0 * (sinr_covered.size / n_pts) if n_pts else nan,
        "sinr_p5_db": s5, "sinr_p50_db": s50, "sinr_p95_db": s95,
        "throughput_p5_bps": t5, "throughput_p50_bps": t50,
    }


@njit(cache=True)
def _cell_loads(rsrp, sinr, best, se, cell_bw, density, n_cells, rsrp_min,
                sinr_min):  # pragma: no cover - compiled
    """The first pass of :func:`_serve`: (cell loads, demand offered per cell,
    covered points), and what tells the throughput p5 without the second
    pass: the count and total of the positive demand (in point order, as
    :func:`~twin3d.sim.kpi.weighted_stats` sums it), the positive demand at
    covered-or-not points no cell serves, and per cell the positive demand
    it serves."""
    n = rsrp.size
    rho = np.zeros(n_cells)
    offered = np.zeros(n_cells)
    w_cell = np.zeros(n_cells)
    n_cov = 0
    n_w = 0
    total = 0.0
    w_unserved = 0.0
    for p in range(n):
        y = density[p]
        pos = y > 0
        if pos:
            n_w += 1
            total += y
        served = False
        if rsrp[p] >= rsrp_min and sinr[p] >= sinr_min:
            n_cov += 1
            b = best[p]
            if b >= 0 and se[p] > 0:
                rho[b] += density[p] / (se[p] * cell_bw[b])
                offered[b] += density[p]
                served = True
                if pos:
                    w_cell[b] += y
        if pos and not served:
            w_unserved += y
    return rho, offered, n_cov, n_w, total, w_unserved, w_cell


def _p5_from_loads(loads) -> float | None:
    """The demand-weighted p5 of user throughput from :func:`_cell_loads` alone:
    0 bit/s when the demand at 0 bit/s (unserved, or served by a cell loaded
    to 1 or more: ``1 - load <= 0``) clears 5 % of the total by the selection's
    margin (:func:`~twin3d.sim.kpi.lowest_group_percentiles`); None otherwise
    (and whenever a load is not finite: a throughput could then be NaN)."""
    rho, _, _, n_w, total, w_unserved, w_cell = loads
    if not np.isfinite(rho).all():
        return None
    w_zero = w_unserved + float(w_cell[1.0 - rho <= 0.0].sum())
    if not w_zero > 0.0:
        return None
    got = lowest_group_percentiles(_P5, (n_w, total, 0.0, float("nan")), w_zero)
    return None if got is None else got[0]


#: The throughput p5 as a fraction (:func:`_p5_from_loads`).
_P5 = np.array([0.05])


@njit(cache=True)
def _serve(rsrp, sinr, best, se, cell_bw, density, n_cells, rsrp_min, sinr_min,
           per_point=True):  # pragma: no cover
    """Cell loads and user throughput of one radio step, in two passes over the points.

    Covered: RSRP >= rsrp_min and SINR >= sinr_min. Served: covered, with a
    server (best >= 0) at a positive spectral efficiency; its rate is
    SE x the server's bandwidth. Returns the load of each cell (sum of
    demand / rate over its served points, in point order), the demand it is
    offered, the user throughput (rate x max(0, 1 - load), clipped to
    [0, 1]; 0 where not served) and the SINR at the covered points; the
    last two only with ``per_point`` (empty otherwise). Last, with
    ``per_point``, :func:`~twin3d.sim.kpi.weighted_stats` of (throughput,
    demand) (the same sums in the same order) and the demand at the lowest
    throughput, for :func:`~twin3d.sim.kpi.weighted_percentiles`.
    """
    n = rsrp.size
    rho, offered, n_cov, _, _, _, _ = _cell_loads(rsrp, sinr, best, se, cell_bw, density, n_cells,
                                                  rsrp_min, sinr_min)
    if not per_point:
        return rho, offered, np.zeros(0), np.zeros(0), (0, 0.0, np.inf, -np.inf), 0.0
    thr = np.zeros(n)
    sinr_cov = np.empty(n_cov)
    c = 0
    n_w = 0                     # weighted_stats(thr, density) as it goes, and the lowest's weight
    total = 0.0
    lo = np.inf
    hi = -np.inf
    w_lo = 0.0
    for p in range(n):
        x = 0.0
        if rsrp[p] >= rsrp_min and sinr[p] >= sinr_min:
            sinr_cov[c] = sinr[p]
            c += 1
            b = best[p]
            if b >= 0 and se[p] > 0:
                x = 1.0 - rho[b]
                x = 0.0 if x < 0.0 else (1.0 if x > 1.0 else x)
                x = (se[p] * cell_bw[b]) * x
                thr[p] = x
        y = density[p]
        if np.isfinite(x) and y > 0:
            n_w += 1
            total += y
            if x < lo:
                lo = x
                w_lo = y
            elif x == lo:
                w_lo += y
            hi = max(hi, x)
    return rho, offered, thr, sinr_cov, (n_w, total, lo, hi), w_lo


@njit(cache=True)
def _served_points(rsrp, sinr, best, se, cell_bw, weights, rsrp_min, sinr_min):  # pragma: no cover
    """The served points of a map (see :func:`_serve`), in point order: server, rate, weight, index."""
    n = rsrp.size
    m = 0
    for p in range(n):
        if rsrp[p] >= rsrp_min and sinr[p] >= sinr_min and best[p] >= 0 and se[p] > 0:
            m += 1
    server = np.empty(m, np.int64)
    rate = np.empty(m)
    weight = np.empty(m)
    points = np.empty(m, np.int64)
    c = 0
    for p in range(n):
        if rsrp[p] >= rsrp_min and sinr[p] >= sinr_min and best[p] >= 0 and se[p] > 0:
            server[c] = best[p]
            rate[c] = se[p] * cell_bw[best[p]]
            weight[c] = weights[p]
            points[c] = p
            c += 1
    return server, rate, weight, points


@njit(cache=True)
def _load_scaled(server, weight, rate, demand, n_cells):  # pragma: no cover - compiled
    """Cell loads sum((demand x weight) / rate) over the served points, in their order
    (``np.bincount(server, (demand * weight) / rate)``, in one pass)."""
    rho = np.zeros(n_cells)
    for i in range(server.size):
        rho[server[i]] += (demand * weight[i]) / rate[i]
    return rho
