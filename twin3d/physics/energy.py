"""Power drawn by a radio site: the EARTH load-dependent model.

Auer et al., "How much energy is needed to run a wireless network?", IEEE
Wireless Communications 18(5), 2011, Table 2 (2010 technology): per
transceiver chain (TRX), P_in = P0 + delta_p * P_out for 0 < P_out <= P_max,
and P_sleep when the chain sleeps. Per site class (:data:`EARTH`):

=======  =====  =======  =====  =======  =======  ===========================
class    N_trx  P_max W  P0 W   delta_p  P_sleep  full / idle / asleep, W
=======  =====  =======  =====  =======  =======  ===========================
macro    6      20       130    4.7      75       1344 / 780 / 450
micro    2      6.3      56     2.6      39       144.76 / 112 / 78
pico     2      0.13     6.8    4.0      4.3      14.64 / 13.6 / 8.6
=======  =====  =======  =====  =======  =======  ===========================

EARTH's N_trx counts sectors x antennas: a macro site is 3 sectors x 2
antennas, a micro or pico site 1 sector x 2 antennas. So every sector
(cell) has :data:`TRX_PER_SECTOR` = 2 TRX, each loaded by its sector's
resource utilization; a 3-sector macro site is EARTH's 6-TRX site.
"""

from __future__ import annotations

import numpy as np

__all__ = ["site_power_w", "EARTH", "EARTH_MACRO", "TRX_PER_SECTOR"]

#: EARTH parameters per site class (Auer et al. 2011, Table 2); powers per TRX,
#: ``n_trx`` per site.
EARTH = {
    "macro": {"n_trx": 6, "p_max_w": 20.0, "p0_w": 130.0, "delta_p": 4.7, "p_sleep_w": 75.0},
    "micro": {"n_trx": 2, "p_max_w": 6.3, "p0_w": 56.0, "delta_p": 2.6, "p_sleep_w": 39.0},
    "pico": {"n_trx": 2, "p_max_w": 0.13, "p0_w": 6.8, "delta_p": 4.0, "p_sleep_w": 4.3},
}
#: EARTH macro-cell parameters, per TRX.
EARTH_MACRO = EARTH["macro"]
#: TRX per sector (cell): EARTH's sites have 2 antennas per sector.
TRX_PER_SECTOR = 2


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
