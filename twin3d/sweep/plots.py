"""PNG plots of the what-ifs: the capex ranking and the energy Pareto front (matplotlib, Agg).

Written atomically (a temporary file in the same folder, then
:func:`os.replace`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..atomic import atomic_path

__all__ = ["capex_plot", "energy_plot"]

#: Costs are shown per this many units of the currency.
COST_UNIT = 1e6


def _save(fig, path: Path) -> None:
    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=120, bbox_inches="tight")


def _errs(rows, key):
    mid = np.array([r[key] for r in rows], float)
    ci = np.array([[np.nan, np.nan] if None in r[f"{key}_ci95"] else r[f"{key}_ci95"]
                   for r in rows], float)
    return mid, np.nan_to_num(np.abs(ci - mid[:, None]).T)


def capex_plot(path, ranking: list[dict], currency: str, title: str = "") -> None:
    """Two bar panels, best candidate on top: SLA minutes saved and traffic at risk reduced,
    each per million of the currency, with the 95 % intervals as error bars.

    Examples
    --------
    >>> capex_plot("capex.png", result["ranking"], "EUR")     # doctest: +SKIP
    """
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = list(ranking)[::-1]
    labels = [f"{r['rank']}. {r['name']}" for r in rows]
    fig, axes = plt.subplots(1, 2, figsize=(11, 0.5 * len(rows) + 1.8), sharey=True)
    y = np.arange(len(rows))
    for ax, key, scale, xlabel in (
            (axes[0], "sla_minutes_saved_per_cost", COST_UNIT,
             f"SLA minutes saved per draw, per M{currency}"),
            (axes[1], "dropped_bps_reduced_per_cost", COST_UNIT / 1e6,
             f"traffic at risk reduced, Mbit/s per M{currency}")):
        mid, err = _errs(rows, key)
        ax.barh(y, mid * scale, xerr=err * scale, color="#3b7dd8", ecolor="black", capsize=4)
        ax.axvline(0.0, color="grey", lw=0.8)
        ax.set_xlabel(xlabel)
        ax.grid(axis="x", alpha=0.3)
    axes[0].set_yticks(y, labels)
    fig.suptitle(title or "capex what-if: candidates ranked (95 % CI of paired differences)")
    _save(fig, path)
    plt.close(fig)


def energy_plot(path, policies: list[dict], title: str = "") -> None:
    """Energy saved (kWh/day, with its 95 % interval) against SLA breach steps per day (left)
    and against dropped traffic (right), one point per policy; the Pareto front in red.

    Examples
    --------
    >>> energy_plot("energy.png", result["policies"])         # doctest: +SKIP
    """
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(13, 5.5), sharey=True)
    y = np.array([p["energy_saved_kwh_day"] for p in policies], float)
    ci = np.array([[np.nan, np.nan] if None in p["energy_saved_kwh_day_ci95"]
                   else p["energy_saved_kwh_day_ci95"] for p in policies], float)
    yerr = np.nan_to_num(np.abs(ci - y[:, None]).T)
    front = np.array([p["pareto"] for p in policies], bool)
    for ax, key, scale, xlabel in (
            (axes[0], "sla_violation_steps", 1.0, "SLA breach steps per day (mean over draws)"),
            (axes[1], "dropped_bps", 1e-6, "dropped traffic, Mbit/s (day mean over draws)")):
        x = np.array([p[key] for p in policies], float) * scale
        for mask, colour, label in ((~front, "#999999", "dominated"),
                                    (front, "#d83b3b", "Pareto front")):
            if mask.any():
                ax.errorbar(x[mask], y[mask], yerr=yerr[:, mask], fmt="o", color=colour,
                            label=label, capsize=3)
        order = np.lexsort((y[front], x[front]))
        ax.plot(x[front][order], y[front][order], color="#d83b3b", lw=1)
        for p, xi, yi in zip(policies, x, y):
            ax.annotate(p["name"], (xi, yi), fontsize=7, xytext=(4, 3), textcoords="offset points")
        ax.set_xlabel(xlabel)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("energy saved against all awake, kWh/day")
    axes[0].legend()
    fig.suptitle(title or "energy what-if: power-down policies")
    _save(fig, path)
    plt.close(fig)
