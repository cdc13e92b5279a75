"""Screening and magnitude fits: cheap one-step scores before whole-window ones.

A hypothesis is screened on its onset step alone (the step its fault first
acts, where a cascade trips): one simulated step, telemetry only (alarms
arrive late, so they wait for the whole-window score). The magnitude of a
surge, an attack or a degradation is fitted on the same one-step score: a
geometric grid over the plausible range, then a golden-section search
between the best grid point's neighbours (the score is piecewise smooth:
a trip makes a step in it, so a local search alone would stall).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from .faults import Fault, WindowSpec
from .scoring import telemetry_loss
from .telemetry import Telemetry, link_ends
from .window import WindowRun, run_window, slice_telemetry

__all__ = ["Screen", "SURGE_FACTORS", "DDOS_SHARES", "DEGRADE_FACTORS"]

#: Surge factors tried (x the demand to and from the site).
SURGE_FACTORS = (1.5, 2.0, 3.0, 4.0, 5.5, 7.5, 10.0, 14.0)
#: Attack sizes tried, as shares of the capacity of the target site's links.
DDOS_SHARES = (0.05, 0.1, 0.2, 0.35, 0.5, 0.7, 1.0, 1.4, 2.0)
#: Capacity factors tried for a degraded link (the share of capacity kept).
DEGRADE_FACTORS = (0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.65, 0.8)
#: Golden-section iterations after the grid.
GOLDEN_STEPS = 4


class Screen:
    """One-step telemetry scores of hypotheses at a common onset.

    Parameters
    ----------
    sim : Simulator
    window : WindowSpec
    obs : Telemetry
        The observed window.
    base : WindowRun
        The fault-free (or background-only) run whose steps before the onset are reused.
    background : list of Fault
        Faults in every hypothesis.
    floors : dict
        Error floors (:func:`twin3d.incidents.scoring.metric_floors`).
    rel : float
        Relative measurement noise.
    signal : optional
        The per-cell signal cache.
    """

    def __init__(self, sim, window: WindowSpec, obs: Telemetry, base: WindowRun,
                 background: list[Fault], floors: dict, rel: float, signal) -> None:
        self.sim, self.window, self.obs, self.base = sim, window, obs, base
        self.background, self.floors, self.rel, self.signal = background, floors, rel, signal
        self._memo: dict = {}
        self._obs_at: dict[int, Telemetry] = {}

    def loss(self, f: Fault) -> float:
        """Telemetry loss of ``f`` on its onset step (memoized)."""
        key = (f.kind, f.element, f.onset, None if f.magnitude is None else round(f.magnitude, 9))
        got = self._memo.get(key)
        if got is None:
            t = f.onset
            run = run_window(self.sim, replace(self.window, steps=t + 1), self.background + [f],
                             self.signal, first_step=t, prefix=self.base)
            obs = self._obs_at.get(t)
            if obs is None:
                obs = self._obs_at[t] = slice_telemetry(self.obs, t, t + 1)
            got = self._memo[key] = telemetry_loss(obs, slice_telemetry(run.telemetry, t, t + 1),
                                                   self.floors, self.rel)
        return got

    def fit(self, f: Fault, grid) -> Fault:
        """``f`` with the magnitude in ``grid`` (plus its own) that scores best, refined."""
        values = sorted({float(g) for g in grid} | ({float(f.magnitude)} if f.magnitude else set()))
        values = [v for v in values if v > 0]
        if f.kind == "capacity_degradation":
            values = [v for v in values if v < 1.0]
        losses = [self.loss(replace(f, magnitude=v)) for v in values]
        k = int(np.argmin(losses))
        lo = np.log(values[max(k - 1, 0)])
        hi = np.log(values[min(k + 1, len(values) - 1)])
        best_v, best_l = values[k], losses[k]
        g = (np.sqrt(5.0) - 1.0) / 2.0
        a, b = lo, hi
        for _ in range(GOLDEN_STEPS if hi > lo else 0):
            c, d = b - g * (b - a), a + g * (b - a)
            lc = self.loss(replace(f, magnitude=float(np.exp(c))))
            ld = self.loss(replace(f, magnitude=float(np.exp(d))))
            for v, l in ((np.exp(c), lc), (np.exp(d), ld)):
                if l < best_l:
                    best_v, best_l = float(v), l
            if lc <= ld:
                b = d
            else:
                a = c
        return replace(f, magnitude=best_v)


def magnitude_grid(sim, f: Fault) -> tuple[float, ...]:
    """The grid a fault kind's magnitude is fitted over (empty for kinds without one)."""
    if f.kind == "surge":
        return SURGE_FACTORS
    if f.kind == "capacity_degradation":
        return DEGRADE_FACTORS
    if f.kind == "ddos":
        i = sim.site_index[f.name]
        ends = link_ends(sim)
        cap = float(sim.link_capacity_bps[(ends[:, 0] == i) | (ends[:, 1] == i)].sum())
        return tuple(s * cap for s in DDOS_SHARES) if cap > 0 else ()
    return ()
