"""The radio recombination and KPI percentiles as they were before their
compiled / selection-based replacements, kept verbatim as references:
the tests check that the fast versions give the same numbers, bit for bit.
"""

from __future__ import annotations

import numpy as np

from twin3d.physics.cellmaps import Recombined, to_mw
from twin3d.physics.radio import n_prb, spectral_efficiency, thermal_noise_dbm


def old_combine(rx_dbm, active, f_hz, bandwidth_hz, noise_figure_db: float = 7.0, *,
            rx_mw=None, n_pts: int | None = None) -> Recombined:
    """RSRP, best server, SINR and spectral efficiency of an active set, from per-cell maps.

    Parameters
    ----------
    rx_dbm : (n_cells, n_pts) array, or a sequence of (n_pts,) arrays
        Each cell's received power over its bandwidth, dBm (any float
        dtype; computed on in float64). Rows of inactive cells are never
        read (they may be None in a sequence).
    active : (n_cells,) bool
    f_hz, bandwidth_hz : (n_cells,) float
        Carrier frequency and bandwidth per cell. Cells on the same
        frequency interfere at full load.
    noise_figure_db : float
        UE noise figure, dB.
    rx_mw : sequence of (n_pts,) float64 arrays, optional
        ``to_mw(rx_dbm[i])`` per cell if already at hand (cached): saves
        the exponentials, same result.
    n_pts : int, optional
        Number of points; needed only when no row is given.

    Returns
    -------
    Recombined
        Best server = highest RSRP = rx - 10 log10(12 n_prb) (the first
        cell on ties); SINR = its rx over the other active co-channel cells'
        rx plus thermal noise over its bandwidth; attenuated-Shannon
        spectral efficiency; throughput = SE x the server's bandwidth.

    Notes
    -----
    One pass over the active cells (no (n_cells, n_pts) temporaries): a
    running best RSRP, the serving power, and the total power per carrier
    frequency; interference = that total on the server's frequency minus
    the serving power.
    """
    active = np.asarray(active, bool)
    n_cells = active.size
    f = np.asarray(f_hz, float).reshape(n_cells)
    bw = np.asarray(bandwidth_hz, float).reshape(n_cells)
    idx = np.flatnonzero(active)
    if idx.size:
        n_pts = np.asarray(rx_dbm[idx[0]]).size
    elif n_pts is None:
        first = next((r for r in rx_dbm if r is not None), None) if n_cells else None
        if first is None:
            raise ValueError("combine: give n_pts when no cell map is given")
        n_pts = np.asarray(first).size
    rs_offset = 10.0 * np.log10(12.0 * n_prb(bw)) if n_cells else np.zeros(0)
    rsrp = np.full(n_pts, -np.inf)
    k = np.zeros(n_pts, dtype=np.int64)                      # position in idx of the best so far
    s_mw = np.zeros(n_pts)
    freqs, group = np.unique(f[idx], return_inverse=True)
    total_mw = np.zeros((freqs.size, n_pts))
    better = np.empty(n_pts, dtype=bool)
    for j, i in enumerate(idx):
        r = np.asarray(rx_dbm[i], np.float64).ravel()
        r_rs = r - rs_offset[i]
        np.greater(r_rs, rsrp, out=better)                   # strictly: the first cell on ties
        np.maximum(rsrp, r_rs, out=rsrp)
        np.copyto(k, j, where=better)
        mw = to_mw(r) if rx_mw is None else rx_mw[i]         # -inf -> 0 mW
        np.copyto(s_mw, mw, where=better)
        total_mw[group[j]] += mw
    served = np.isfinite(rsrp)
    best = np.where(served, idx[k] if idx.size else -1, -1)
    sinr = np.full(n_pts, -np.inf)
    if np.any(served):
        p = np.flatnonzero(served)
        b = best[p]
        i_mw = total_mw[group[k[p]], p] - s_mw[p]
        n_mw = 10.0 ** (thermal_noise_dbm(bw[b], noise_figure_db) / 10.0)
        sinr[p] = 10.0 * np.log10(s_mw[p] / (np.maximum(i_mw, 0.0) + n_mw))
    se = np.where(served, spectral_efficiency(sinr), 0.0)
    tput = np.where(served, se * bw[np.maximum(best, 0)] if n_cells else 0.0, 0.0)
    return Recombined(rsrp, sinr, best, se, tput)


def old_weighted_percentiles(values, qs, weights=None) -> list[float]:
    """twin3d.sim.kpi.weighted_percentiles before the selection-based version (with the
    stable sort of its definition: the running sum adds equal values in input order)."""
    v = np.asarray(values, dtype=float).ravel()
    w = np.ones_like(v) if weights is None else np.asarray(weights, dtype=float).ravel()
    keep = np.isfinite(v) & (w > 0)
    v, w = v[keep], w[keep]
    if len(v) == 0:
        return [float("nan")] * len(qs)
    order = np.argsort(v, kind="stable")
    v, cw = v[order], np.cumsum(w[order])
    idx = np.searchsorted(cw, np.asarray(qs, dtype=float) / 100.0 * cw[-1], side="left")
    return [float(v[min(i, len(v) - 1)]) for i in idx]


def old_radio_kpis(rsrp_dbm, sinr_db, user_throughput_bps, demand_bps,
                   rsrp_min_dbm: float = -110.0, sinr_min_db: float = -6.0) -> dict[str, float]:
    """twin3d.sim.kpi.radio_kpis with the sort-based percentiles."""
    rsrp = np.asarray(rsrp_dbm)
    sinr = np.asarray(sinr_db)
    covered = (rsrp >= rsrp_min_dbm) & (sinr >= sinr_min_db)
    thr = np.where(covered, user_throughput_bps, 0.0)
    s5, s50, s95 = old_weighted_percentiles(sinr[covered], [5, 50, 95])
    t5, t50 = old_weighted_percentiles(thr, [5, 50], demand_bps)
    return {
        "coverage_pct": 100.0 * float(covered.mean()) if covered.size else float("nan"),
        "sinr_p5_db": s5, "sinr_p50_db": s50, "sinr_p95_db": s95,
        "throughput_p5_bps": t5, "throughput_p50_bps": t50,
    }


def old_radio_step(self, state, factor: float, rm=None):
    """Simulator._radio_step before the compiled serving pass (``self``: a Simulator)."""
    active = np.array([state.site_state[c.site_id] == "up" and c.id not in state.cell_sleep
                       for c in self.cells])
    rm = self.radio(active, state.sector) if rm is None else rm
    density = self.scene.spec.traffic.busy_hour_bps * factor * self.weights
    for ev in state.surges:
        if ev.area is not None:
            mask = self._area_mask(ev.area)
        else:       # where the site serves in the baseline: users stay where they are
            up = self.twin.sites[ev.target].state == "up"
            mask = self._site_mask(ev.target, self.baseline_map if up else rm)
        if ev.factor is not None:
            density = np.where(mask, density * ev.factor, density)
        if ev.bps is not None and mask.any():   # a crowd: extra demand spread over the area
            density = density + mask * (ev.bps * factor / mask.sum())
    covered = rm.covered() & (rm.best_server >= 0) & (rm.spectral_efficiency_bps_hz > 0)
    bs = np.where(covered, rm.best_server, 0)
    cell_rate = rm.spectral_efficiency_bps_hz * self.cell_bw_hz[bs]
    need = np.where(covered, density / np.where(covered, cell_rate, 1.0), 0.0)
    n = len(self.cells)
    rho = np.bincount(bs[covered], need[covered], minlength=n)
    offered_cell = np.bincount(bs[covered], density[covered], minlength=n)
    served_cell = offered_cell * np.minimum(1.0, 1.0 / np.maximum(rho, 1e-12))
    user_thr = np.where(covered, cell_rate * np.clip(1.0 - rho[bs], 0.0, 1.0), 0.0)
    kpis = old_radio_kpis(rm.rsrp_dbm, rm.sinr_db, user_thr, density)
    site_bps = np.bincount(self.cell_site, served_cell, minlength=len(self.site_ids))
    fixed = self.fixed_site_bps * factor          # fixed and enterprise backhaul
    demands = {(self.core, s): float(b) for s, b in zip(self.site_ids, site_bps + fixed)
               if b > 0 and s != self.core}
    asleep = np.array([c.id in state.cell_sleep for c in self.cells])
    power = self.power.site_power_w(rho, [state.site_state[s] for s in self.site_ids], asleep)
    offered = float(density.sum() + fixed.sum())
    self._cells_last = (rho, served_cell)
    return demands, offered, float(served_cell.sum() + fixed.sum()), kpis, power, active
