"""Operator-style telemetry and threshold alarms from simulated steps.

What a network management system would collect each step, per element:

========  =====================  ==========================================
element   metric                 meaning
========  =====================  ==========================================
link      ``load_bps``           busier direction's offered load, bit/s
link      ``util``               busier direction's load / capacity
link      ``drop_bps``           load past capacity (output drops), bit/s
link      ``oper_up``            interface state: 1 up, 0 down
link      ``speed_bps``          operational speed (ifHighSpeed): the capacity
                                 in service, bit/s (a LAG member lost shows)
site      ``traffic_in_bps``     delivered traffic terminating at the site
site      ``traffic_out_bps``    delivered traffic originating at the site
site      ``latency_ms``         mean end-to-end latency of its traffic, ms
site      ``power_w``            site power draw, W (radio scenes)
cell      ``served_bps``         traffic the cell serves, bit/s
cell      ``users``              active users (offered / 1 Mbit/s per user)
cell      ``prb_load``           resource share used, in [0, 1]
cell      ``rsrp_p10_dbm``       10th percentile RSRP where it serves, dBm
cell      ``rsrp_p50_dbm``       median RSRP where it serves, dBm
cell      ``sinr_p10_db``        10th percentile SINR where it serves, dB
cell      ``sinr_p50_db``        median SINR where it serves, dB
========  =====================  ==========================================

A dead element reports nothing: a site that is down or off, its cells, and
a link whose two ends are both dead have missing samples (NaN). A sleeping
cell reports zero traffic and no signal percentiles.

Alarms (threshold rules, the scene's ``[sla]``):

- ``LOS`` (loss of signal) on a link that is cut or has a dead end: the light is gone;
- ``LINK_DOWN`` on a link tripped by overload: the light is there, the
  protocol (BFD, the routing adjacency) is down;
- ``HIGH_UTIL`` on a link over ``[sla] util_max``;
- ``HIGH_LATENCY`` on a site whose latency is over ``[sla] latency_p95_ms``;
- ``CELL_DOWN`` on a cell whose site is down or off;
- ``POWER`` on a site that lost power (``off``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..ids import cell_id, link_id, site_id

__all__ = ["METRICS", "ALARMS", "USER_BPS", "Telemetry", "window_telemetry", "element_ids", "link_ends"]

#: Metrics per element kind, in table order.
METRICS = {
    "link": ("load_bps", "util", "drop_bps", "oper_up", "speed_bps"),
    "site": ("traffic_in_bps", "traffic_out_bps", "latency_ms", "power_w"),
    "cell": ("served_bps", "users", "prb_load", "rsrp_p10_dbm", "rsrp_p50_dbm",
             "sinr_p10_db", "sinr_p50_db"),
}
#: Alarm -> the element kind it is raised on.
ALARMS = {"LOS": "link", "LINK_DOWN": "link", "HIGH_UTIL": "link", "HIGH_LATENCY": "site", "CELL_DOWN": "cell",
          "POWER": "site"}
#: Offered traffic of one active user, bit/s (users = offered / USER_BPS).
USER_BPS = 1e6


def element_ids(sim) -> dict[str, list[str]]:
    """Typed ids of every link, site and cell of a simulator, in its order (made once per simulator)."""
    got = getattr(sim, "_typed_ids", None)
    if got is None:
        got = {"link": [link_id(l) for l in sim.link_ids],
               "site": [site_id(s) for s in sim.site_ids],
               "cell": [cell_id(*c.id.rsplit("/", 1)) for c in sim.cells]}
        sim._typed_ids = got
    return {k: list(v) for k, v in got.items()}


@dataclass
class Telemetry:
    """Dense telemetry of one window: ``values[kind][metric]`` is (steps, n_elements).

    NaN is a missing sample. ``alarms[name]`` is (steps, n_elements) bool over
    the elements of :data:`ALARMS`' kind.
    """

    elements: dict[str, list[str]]
    values: dict[str, dict[str, np.ndarray]]
    alarms: dict[str, np.ndarray]

    @property
    def steps(self) -> int:
        return next(iter(self.alarms.values())).shape[0]


class _SignalStats:
    """Per-cell RSRP/SINR percentiles of a radio map, kept per radio key."""

    def __init__(self) -> None:
        self._by_key: dict[bytes, np.ndarray] = {}

    def get(self, sim, step) -> np.ndarray:
        key = step.radio_key
        got = self._by_key.get(key)
        if got is None:
            rm = sim.step_radio_map(step)
            got = cell_signal_percentiles(rm.best_server.ravel(), rm.rsrp_dbm.ravel(),
                                          rm.sinr_db.ravel(), len(sim.cells))
            if len(self._by_key) > 64:
                self._by_key.clear()
            self._by_key[key] = got
        return got


def cell_signal_percentiles(best: np.ndarray, rsrp_dbm: np.ndarray, sinr_db: np.ndarray,
                            n_cells: int) -> np.ndarray:
    """(n_cells, 4) RSRP p10, p50 (dBm) and SINR p10, p50 (dB) over each cell's points.

    A cell's points are those it serves best (``best``; -1 is none). A cell
    that serves no point gets NaN. Percentiles are of the sorted values by
    the nearest rank (no interpolation), vectorized over all cells.

    Examples
    --------
    >>> b = np.array([0, 0, 0, 1]); r = np.array([-90., -80., -70., -100.])
    >>> cell_signal_percentiles(b, r, r + 100, 3)[:, 1].tolist()
    [-80.0, -100.0, nan]
    """
    out = np.full((n_cells, 4), np.nan)
    ok = best >= 0
    cells = best[ok]
    if not cells.size:
        return out
    counts = np.bincount(cells, minlength=n_cells)
    start = np.concatenate(([0], np.cumsum(counts)[:-1]))
    has = counts > 0
    for j, v in enumerate((rsrp_dbm[ok], sinr_db[ok])):
        order = np.lexsort((v, cells))
        sv = v[order]
        for q, col in ((0.10, 2 * j), (0.50, 2 * j + 1)):
            rank = np.minimum(counts - 1, np.floor(q * counts).astype(int))
            out[has, col] = sv[(start + rank)[has]]
    return out


def window_telemetry(sim, steps, signal: _SignalStats | None = None) -> Telemetry:
    """Telemetry and alarms of simulated steps (a window), without noise.

    Parameters
    ----------
    sim : twin3d.sim.engine.Simulator
    steps : list of StepResult
        The window's steps, in order.
    signal : optional
        A cache of per-cell signal percentiles to share between windows.

    Returns
    -------
    Telemetry
    """
    els = element_ids(sim)
    T, nl, ns, nc = len(steps), len(els["link"]), len(els["site"]), len(els["cell"])
    vals = {k: {m: np.full((T, n), np.nan) for m in METRICS[k]}
            for k, n in (("link", nl), ("site", ns), ("cell", nc))}
    al = {a: np.zeros((T, {"link": nl, "site": ns, "cell": nc}[k]), dtype=bool)
          for a, k in ALARMS.items()}
    sla = sim.scene.spec.sla
    ends = link_ends(sim)
    cell_site = sim.cell_site if nc else np.zeros(0, dtype=int)
    signal = signal or _SignalStats()
    for t, r in enumerate(steps):
        site_state = np.array(r.site_state)
        dead = np.isin(site_state, ("down", "off"))
        # links: the far end reports while one end lives
        tripped = np.array([s == "tripped" for s in r.link_state], dtype=bool)
        dark = np.array([s == "cut" for s in r.link_state], dtype=bool) | dead[ends[:, 0]] | dead[ends[:, 1]]
        link_down = tripped | dark
        both_dead = dead[ends[:, 0]] & dead[ends[:, 1]]
        cap = r.link_capacity_bps if r.link_capacity_bps is not None else sim.link_capacity_bps
        load = np.where(link_down, 0.0, r.link_load_bps)
        util = np.where(link_down, 0.0, r.link_util)
        row = {"load_bps": load, "util": util, "drop_bps": np.maximum(0.0, load - cap),
               "oper_up": (~link_down).astype(float), "speed_bps": np.asarray(cap, dtype=float)}
        for m, v in row.items():
            vals["link"][m][t] = np.where(both_dead, np.nan, v)
        al["LOS"][t] = dark & ~both_dead
        al["LINK_DOWN"][t] = tripped & ~dark
        al["HIGH_UTIL"][t] = util > sla.util_max
        # sites: delivered traffic in and out, and the latency of what they send and receive
        src, dst, _ = r.demand
        node_site = sim.site_of_node
        dl = r.demand_delivered_bps
        tin = np.bincount(node_site[dst], dl, minlength=ns)
        tout = np.bincount(node_site[src], dl, minlength=ns)
        lat = r.demand_latency_s
        w = np.where(np.isfinite(lat), dl, 0.0)
        lw = np.where(np.isfinite(lat), lat, 0.0) * w
        num = np.bincount(node_site[dst], lw, minlength=ns) + np.bincount(node_site[src], lw, minlength=ns)
        den = np.bincount(node_site[dst], w, minlength=ns) + np.bincount(node_site[src], w, minlength=ns)
        with np.errstate(invalid="ignore", divide="ignore"):
            lat_ms = np.where(den > 0, 1e3 * num / den, np.nan)
        row = {"traffic_in_bps": tin, "traffic_out_bps": tout, "latency_ms": lat_ms,
               "power_w": np.asarray(r.site_power_w, dtype=float)}
        for m, v in row.items():
            vals["site"][m][t] = np.where(dead, np.nan, v)
        al["HIGH_LATENCY"][t] = ~dead & (np.nan_to_num(lat_ms) > sla.latency_p95_ms)
        al["POWER"][t] = site_state == "off"
        if nc:
            cdead = dead[cell_site]
            asleep = np.array([c.id in r.cell_sleep for c in sim.cells]) | (site_state[cell_site] == "sleep")
            rho = r.cell_load if r.cell_load is not None else np.zeros(nc)
            served = r.cell_served_bps if r.cell_served_bps is not None else np.zeros(nc)
            offered = served * np.maximum(1.0, rho)     # served = offered x min(1, 1/rho)
            stats = signal.get(sim, r) if r.radio_key is not None else np.full((nc, 4), np.nan)
            row = {"served_bps": served, "users": np.round(offered / USER_BPS),
                   "prb_load": np.minimum(1.0, rho)}
            row.update({m: stats[:, i] for i, m in enumerate(METRICS["cell"][3:])})
            for m, v in row.items():
                v = np.where(asleep, 0.0 if m in ("served_bps", "users", "prb_load") else np.nan, v)
                vals["cell"][m][t] = np.where(cdead, np.nan, v)
            al["CELL_DOWN"][t] = cdead
    return Telemetry(els, vals, al)


def link_ends(sim) -> np.ndarray:
    """(n_links, 2) site index of each link's two ends (made once per simulator)."""
    got = getattr(sim, "_link_ends", None)
    if got is None:
        links = sim.twin.links
        got = np.array([[sim.site_index[links[l].a], sim.site_index[links[l].b]] for l in sim.link_ids],
                       dtype=int).reshape(-1, 2)
        sim._link_ends = got
    return got
