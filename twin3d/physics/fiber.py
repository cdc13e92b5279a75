"""Optical fibre: propagation delay and the optical power budget.

Light in silica travels at c/n; with the group index of standard single-mode
fibre (G.652, n = 1.468 at 1550 nm) that is 4.897 us per km. The budget adds
the fibre's attenuation (0.20-0.35 dB/km cabled), splices, connectors and a
design margin for ageing and repairs.
"""

from __future__ import annotations

import numpy as np

__all__ = ["C_M_PER_S", "FIBER_GROUP_INDEX", "propagation_delay_s", "optical_budget_db",
           "optical_margin_db"]

#: Speed of light in vacuum, m/s.
C_M_PER_S = 299_792_458.0
#: Group index of G.652 single-mode fibre at 1550 nm.
FIBER_GROUP_INDEX = 1.468


def _nonneg(name: str, x) -> np.ndarray:
    a = np.asarray(x, dtype=float)
    if np.any(~np.isfinite(a)) or np.any(a < 0):
        raise ValueError(f"{name} must be finite and >= 0, got {x!r}")
    return a


def propagation_delay_s(length_m, n: float = FIBER_GROUP_INDEX) -> np.ndarray:
    """One-way propagation delay over a fibre, seconds.

    Parameters
    ----------
    length_m : float or array_like
        Fibre length, metres (>= 0).
    n : float
        Group index of the fibre (1.468: 4.897 us/km).

    Returns
    -------
    numpy.ndarray
        ``length_m * n / c``, seconds.

    Examples
    --------
    >>> round(float(propagation_delay_s(1000.0)) * 1e6, 3)
    4.897
    """
    if not np.isfinite(n) or n < 1.0:
        raise ValueError(f"group index n must be >= 1, got {n!r}")
    return _nonneg("length_m", length_m) * (n / C_M_PER_S)


def optical_budget_db(length_m, attenuation_db_per_km, n_splices=0, n_connectors=2,
                      splice_loss_db: float = 0.1, connector_loss_db: float = 0.5,
                      margin_db: float = 3.0) -> np.ndarray:
    """Loss a fibre link must be designed for: span loss plus margin, dB.

    ``length_km * attenuation + n_splices * splice_loss + n_connectors *
    connector_loss + margin``. Compare it with the transceivers' power budget
    (launch power minus receiver sensitivity), or pass it to
    :func:`optical_margin_db`.

    Parameters
    ----------
    length_m : float or array_like
        Fibre length, metres.
    attenuation_db_per_km : float or array_like
        Cabled fibre attenuation, dB/km (0.20-0.35 at 1550 nm).
    n_splices, n_connectors : int or array_like
        Fusion splices and connector pairs along the span.
    splice_loss_db, connector_loss_db : float
        Loss per splice / connector pair, dB.
    margin_db : float
        Design margin for ageing, repairs and temperature, dB.

    Returns
    -------
    numpy.ndarray
        Loss in dB.

    Examples
    --------
    >>> float(optical_budget_db(40_000, 0.25, n_splices=10, n_connectors=2))
    15.0
    """
    length = _nonneg("length_m", length_m)
    att = _nonneg("attenuation_db_per_km", attenuation_db_per_km)
    ns = _nonneg("n_splices", n_splices)
    nc = _nonneg("n_connectors", n_connectors)
    for name, v in (("splice_loss_db", splice_loss_db), ("connector_loss_db", connector_loss_db),
                    ("margin_db", margin_db)):
        _nonneg(name, v)
    return length / 1000.0 * att + ns * splice_loss_db + nc * connector_loss_db + margin_db


def optical_margin_db(tx_dbm, rx_sensitivity_dbm, loss_db) -> np.ndarray:
    """Power left above the receiver's sensitivity, dB (>= 0: the link closes).

    Examples
    --------
    >>> float(optical_margin_db(0.0, -24.0, 15.0))
    9.0
    """
    return (np.asarray(tx_dbm, dtype=float) - np.asarray(loss_db, dtype=float)
            - np.asarray(rx_sensitivity_dbm, dtype=float))
