"""Key performance indicators of one step, from plain arrays.

Names carry units (``converged`` is a bool: the step's tail-drop fixed point
met its tolerance). Percentiles of grid quantities are weighted by offered
demand where a weight is given, so a crowded square counts more than an
empty park.
"""

from __future__ import annotations

import numpy as np

__all__ = ["weighted_percentile", "weighted_percentiles", "KPI_UNITS", "radio_kpis",
           "transport_kpis"]

#: Every KPI a step reports, with its unit (for tables and USD metadata).
KPI_UNITS = {
    "coverage_pct": "%", "sinr_p5_db": "dB", "sinr_p50_db": "dB", "sinr_p95_db": "dB",
    "throughput_p5_bps": "bit/s", "throughput_p50_bps": "bit/s",
    "offered_bps": "bit/s", "served_bps": "bit/s", "dropped_bps": "bit/s",
    "util_max": "1", "util_mean": "1", "latency_p50_ms": "ms", "latency_p95_ms": "ms",
    "failed_elements": "count", "energy_w": "W", "converged": "bool",
    "sla_violated": "bool",
}


def weighted_percentiles(values, qs, weights=None) -> list[float]:
    """Several percentiles (0-100) of ``values`` from one sort, optionally weighted.

    Uses the inverse of the weighted empirical CDF; NaN values and zero
    weights are ignored. NaN for every ``q`` when nothing is left.

    Examples
    --------
    >>> weighted_percentiles([1, 2, 3, 4], [50, 100])
    [2.0, 4.0]
    >>> weighted_percentiles([1, 2, 3, 4], [50], [0, 0, 1, 1])
    [3.0]
    """
    v = np.asarray(values, dtype=float).ravel()
    w = np.ones_like(v) if weights is None else np.asarray(weights, dtype=float).ravel()
    keep = np.isfinite(v) & (w > 0)
    v, w = v[keep], w[keep]
    if len(v) == 0:
        return [float("nan")] * len(qs)
    order = np.argsort(v)          # ties need no order: equal values give the same answer
    v, cw = v[order], np.cumsum(w[order])
    idx = np.searchsorted(cw, np.asarray(qs, dtype=float) / 100.0 * cw[-1], side="left")
    return [float(v[min(i, len(v) - 1)]) for i in idx]


def weighted_percentile(values, q, weights=None) -> float:
    """The ``q``-th percentile (0-100) of ``values``; see :func:`weighted_percentiles`.

    Examples
    --------
    >>> weighted_percentile([1, 2, 3, 4], 50)
    2.0
    """
    return weighted_percentiles(values, [q], weights)[0]


def radio_kpis(rsrp_dbm, sinr_db, user_throughput_bps, demand_bps,
               rsrp_min_dbm: float = -110.0, sinr_min_db: float = -6.0) -> dict[str, float]:
    """Coverage and SINR/throughput percentiles over the grid.

    A point is covered when its best-server RSRP and its SINR clear the
    thresholds. SINR percentiles are over the covered area; throughput
    percentiles are weighted by demand (uncovered demand counts as 0 bit/s).
    """
    rsrp = np.asarray(rsrp_dbm)
    sinr = np.asarray(sinr_db)
    covered = (rsrp >= rsrp_min_dbm) & (sinr >= sinr_min_db)
    thr = np.where(covered, user_throughput_bps, 0.0)
    s5, s50, s95 = weighted_percentiles(sinr[covered], [5, 50, 95])
    t5, t50 = weighted_percentiles(thr, [5, 50], demand_bps)
    return {
        "coverage_pct": 100.0 * float(covered.mean()) if covered.size else float("nan"),
        "sinr_p5_db": s5, "sinr_p50_db": s50, "sinr_p95_db": s95,
        "throughput_p5_bps": t5, "throughput_p50_bps": t50,
    }


def transport_kpis(utilization, link_up, latency_s, demand_bps) -> dict[str, float]:
    """Utilization over links in service, and demand-weighted latency percentiles."""
    u = np.asarray(utilization, dtype=float)[np.asarray(link_up, dtype=bool)]
    lat = np.asarray(latency_s, dtype=float)
    return {
        "util_max": float(u.max()) if u.size else 0.0,
        "util_mean": float(u.mean()) if u.size else 0.0,
        **dict(zip(("latency_p50_ms", "latency_p95_ms"),
                   (1e3 * x for x in weighted_percentiles(lat, [50, 95], demand_bps)))),
    }
