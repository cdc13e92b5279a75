"""M/M/1 queues: utilization, delays and queue lengths of a link.

Poisson arrivals at rate lambda, exponential service at rate mu, one server:
rho = lambda/mu, W = 1/(mu - lambda), Wq = rho/(mu - lambda),
L = rho/(1 - rho), Lq = rho^2/(1 - rho). A link is a server whose service
rate is capacity / mean packet size.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

__all__ = ["MM1", "mm1", "link_delay_s", "MEAN_PACKET_BITS"]

#: Mean packet size used to turn bit/s into packets/s: 1500 bytes.
MEAN_PACKET_BITS = 12_000.0


class MM1(NamedTuple):
    """Steady state of an M/M/1 queue (arrays broadcast from the inputs).

    rho : utilization; W : mean time in system; Wq : mean wait in queue
    (time units of 1/rate); L : mean number in system; Lq : mean number waiting.
    """

    rho: np.ndarray
    W: np.ndarray
    Wq: np.ndarray
    L: np.ndarray
    Lq: np.ndarray


def mm1(arrival_rate, service_rate) -> MM1:
    """Mean delays and queue lengths of M/M/1 queues.

    A queue with rho >= 1 has no steady state: its W, Wq, L and Lq are
    ``inf`` (rho itself is returned as computed).

    Parameters
    ----------
    arrival_rate : float or array_like
        lambda, customers per unit time (>= 0).
    service_rate : float or array_like
        mu, customers per unit time (> 0).

    Returns
    -------
    MM1

    Examples
    --------
    >>> q = mm1(1 / 4, 1 / 3)
    >>> [round(float(v), 2) for v in q]
    [0.75, 12.0, 9.0, 3.0, 2.25]
    """
    lam = np.asarray(arrival_rate, dtype=float)
    mu = np.asarray(service_rate, dtype=float)
    if np.any(~np.isfinite(lam)) or np.any(lam < 0):
        raise ValueError(f"arrival_rate must be finite and >= 0, got {arrival_rate!r}")
    if np.any(np.isnan(mu)) or np.any(mu <= 0):
        raise ValueError(f"service_rate must be > 0, got {service_rate!r}")
    lam, mu = np.broadcast_arrays(lam, mu)
    rho = lam / mu
    stable = rho < 1.0
    with np.errstate(divide="ignore", invalid="ignore"):
        slack = np.where(stable, mu - lam, 1.0)
        one_minus = np.where(stable, 1.0 - rho, 1.0)
        W = np.where(stable, 1.0 / slack, np.inf)
        Wq = np.where(stable, rho / slack, np.inf)
        L = np.where(stable, rho / one_minus, np.inf)
        Lq = np.where(stable, rho * rho / one_minus, np.inf)
    return MM1(rho, W, Wq, L, Lq)


def link_delay_s(load_bps, capacity_bps, mean_packet_bits: float = MEAN_PACKET_BITS) -> np.ndarray:
    """Mean M/M/1 sojourn time (queueing + transmission) of a packet on a link, s.

    ``W = mean_packet_bits / (capacity_bps - load_bps)``; ``inf`` when the load
    reaches the capacity (or the capacity is 0). Propagation is not included
    (see :func:`twin3d.physics.fiber.propagation_delay_s`).

    Parameters
    ----------
    load_bps : float or array_like
        Offered load on the link in this direction, bit/s (>= 0).
    capacity_bps : float or array_like
        Link capacity, bit/s (>= 0).
    mean_packet_bits : float
        Mean packet size, bits (1500 bytes by default).

    Examples
    --------
    >>> round(float(link_delay_s(5e9, 10e9)) * 1e6, 3)   # 1500 B at 5 Gb/s spare
    2.4
    """
    load = np.asarray(load_bps, dtype=float)
    cap = np.asarray(capacity_bps, dtype=float)
    if np.any(np.isnan(load)) or np.any(load < 0):
        raise ValueError(f"load_bps must be >= 0, got {load_bps!r}")
    if np.any(np.isnan(cap)) or np.any(cap < 0):
        raise ValueError(f"capacity_bps must be >= 0, got {capacity_bps!r}")
    if not mean_packet_bits > 0:
        raise ValueError(f"mean_packet_bits must be > 0, got {mean_packet_bits!r}")
    load, cap = np.broadcast_arrays(load, cap)
    spare = cap - load
    with np.errstate(divide="ignore"):
        return np.where(spare > 0, mean_packet_bits / np.where(spare > 0, spare, 1.0), np.inf)
