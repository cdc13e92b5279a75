"""Power drawn by a radio site: the EARTH load-dependent model.

Auer et al., "How much energy is needed to run a wireless network?", IEEE
Wireless Communications 18(5), 2011, Table 2 (macro cell, 2010 technology):
per transceiver chain (TRX), P_in = P0 + delta_p * P_out for
0 < P_out <= P_max, and P_sleep when the chain sleeps. A macro site has
3 sectors x 2 antennas = 6 TRX, P_max = 20 W, P0 = 130 W, delta_p = 4.7,
P_sleep = 75 W: 1344 W at full load, 780 W idle, 450 W asleep.
"""

from __future__ import annotations

import numpy as np

__all__ = ["site_power_w", "EARTH_MACRO"]

#: EARTH macro-cell parameters (Auer et al. 2011, Table 2), per TRX.
EARTH_MACRO = {"n_trx": 6, "p_max_w": 20.0, "p0_w": 130.0, "delta_p": 4.7, "p_sleep_w": 75.0}


def site_power_w(load_fraction, n_trx=EARTH_MACRO["n_trx"], p_max_w=EARTH_MACRO["p_max_w"],
                 p0_w=EARTH_MACRO["p0_w"], delta_p=EARTH_MACRO["delta_p"],
                 p_sleep_w=EARTH_MACRO["p_sleep_w"], sleeping=False) -> np.ndarray:
    """Input power of sites by the EARTH model, watts (arrays broadcast).

    ``n_trx * (p0_w + delta_p * load_fraction * p_max_w)`` for an awake site
    (an idle awake site still draws ``n_trx * p0_w``), ``n_trx * p_sleep_w``
    for a sleeping one.

    Parameters
    ----------
    load_fraction : float or array_like
        RF output power as a fraction of ``p_max_w``, in [0, 1] (the cell's
        resource utilization).
    n_trx : int or array_like
        Transceiver chains per site (sectors x antennas).
    p_max_w : float or array_like
        Maximum RF output power per TRX, W.
    p0_w : float or array_like
        Power per TRX at zero RF output while awake, W.
    delta_p : float or array_like
        Slope of the load dependence (W in per W out).
    p_sleep_w : float or array_like
        Power per TRX in sleep mode, W.
    sleeping : bool or array_like
        Sites switched to sleep (power_down) or off.

    Returns
    -------
    numpy.ndarray
        Site input power, W.

    Examples
    --------
    >>> [float(p) for p in site_power_w([1.0, 0.0, 0.0], sleeping=[False, False, True])]
    [1344.0, 780.0, 450.0]
    """
    load = np.asarray(load_fraction, dtype=float)
    if np.any(np.isnan(load)) or np.any(load < 0) or np.any(load > 1):
        raise ValueError(f"load_fraction must be in [0, 1], got {load_fraction!r}")
    params = {"n_trx": n_trx, "p_max_w": p_max_w, "p0_w": p0_w, "delta_p": delta_p,
              "p_sleep_w": p_sleep_w}
    arr = {}
    for name, val in params.items():
        a = np.asarray(val, dtype=float)
        if np.any(~np.isfinite(a)) or np.any(a < 0):
            raise ValueError(f"{name} must be finite and >= 0, got {val!r}")
        arr[name] = a
    awake = arr["n_trx"] * (arr["p0_w"] + arr["delta_p"] * load * arr["p_max_w"])
    asleep = arr["n_trx"] * arr["p_sleep_w"]
    return np.where(np.asarray(sleeping, dtype=bool), asleep, awake)
