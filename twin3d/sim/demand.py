"""Offered traffic: the diurnal profile, where users are, and who talks to whom.

Radio scenes spread the busy-hour demand over the coverage grid in proportion
to floor space (indoor points weigh by their building's storeys, outdoor
points by a small street share); what each cell serves becomes backhaul
demand from its site to the core. Backbone scenes use a gravity model
between points of presence, or the demand matrix of the source (SNDlib).
"""

from __future__ import annotations

import numpy as np

__all__ = ["DIURNAL_PROFILE", "profile_factor", "grid_demand_weights", "area_mask",
           "gravity_demands", "OUTDOOR_WEIGHT", "STOREY_M"]

#: Hourly share of the busy hour for mobile data, hours 0..23 (peak 21:00 = 1).
#: Shape of published operator measurements of city-centre cells: a night
#: trough near 04:00 at about an eighth of the peak, a plateau through the
#: working day and the peak in the evening.
DIURNAL_PROFILE = np.array([0.45, 0.32, 0.22, 0.16, 0.13, 0.14, 0.20, 0.35, 0.50, 0.60, 0.66, 0.70,
                            0.74, 0.74, 0.72, 0.72, 0.76, 0.82, 0.88, 0.94, 0.99, 1.00, 0.90, 0.68])
#: Weight of an outdoor grid point relative to one storey of building.
OUTDOOR_WEIGHT = 0.2
#: Storey height used to turn building height into storeys, metres.
STOREY_M = 3.0


def profile_factor(hour, profile: str = "diurnal") -> np.ndarray:
    """Share of the busy-hour demand at a time of day (hours, wraps at 24).

    Examples
    --------
    >>> round(float(profile_factor(21.0)), 3), round(float(profile_factor(3.5)), 3)
    (1.0, 0.145)
    """
    h = np.asarray(hour, dtype=float) % 24.0
    if profile == "flat":
        return np.ones_like(h)
    return np.interp(h, np.arange(25), np.append(DIURNAL_PROFILE, DIURNAL_PROFILE[0]))


def grid_demand_weights(indoor: np.ndarray, building_height_m: np.ndarray) -> np.ndarray:
    """Share of the area's users at each grid point; sums to 1.

    Parameters
    ----------
    indoor : (ny, nx) bool
        Grid points inside a building.
    building_height_m : (ny, nx) float
        Height of the building at each point (0 outdoors).
    """
    storeys = np.maximum(1.0, np.round(np.asarray(building_height_m) / STOREY_M))
    w = np.where(indoor, storeys, OUTDOOR_WEIGHT).astype(float)
    total = w.sum()
    return w / total if total > 0 else w


def area_mask(xs_m: np.ndarray, ys_m: np.ndarray, center_xy_m: tuple[float, float],
              radius_m: float) -> np.ndarray:
    """(ny, nx) bool: grid points within ``radius_m`` of a centre (ENU metres)."""
    dx = np.asarray(xs_m)[None, :] - center_xy_m[0]
    dy = np.asarray(ys_m)[:, None] - center_xy_m[1]
    return dx * dx + dy * dy <= radius_m * radius_m


def gravity_demands(nodes: list[str], mass: np.ndarray, total_bps: float) -> dict[tuple[str, str], float]:
    """Gravity traffic matrix: D_ij proportional to m_i m_j (i != j), summing to ``total_bps``.

    Examples
    --------
    >>> d = gravity_demands(["a", "b", "c"], np.array([1.0, 1.0, 2.0]), 10.0)
    >>> round(d[("a", "c")], 3), round(sum(d.values()), 6)
    (2.0, 10.0)
    """
    m = np.asarray(mass, dtype=float)
    prod = np.outer(m, m)
    np.fill_diagonal(prod, 0.0)
    s = prod.sum()
    if s <= 0:
        return {}
    d = prod / s * total_bps
    i, j = np.nonzero(d)
    return {(nodes[a], nodes[b]): float(d[a, b]) for a, b in zip(i, j)}
