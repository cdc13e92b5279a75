"""Radio link budget pieces: path loss, sector antenna, noise, spectral efficiency.

Pure numpy: arrays in, arrays out, broadcasting like any ufunc. Formulas and
the reference values the tests check are in DESIGN.md section 5:

* free-space path loss;
* 3GPP TR 38.901 v17 Table 7.4.1-1 median path loss for UMa, UMi-Street
  Canyon and RMa (no shadow fading), with the table's validity ranges;
* the 3GPP sector antenna of TR 38.901 Table 7.3-1;
* the low-loss outdoor-to-indoor penetration model of TR 38.901 7.4.3;
* thermal noise and attenuated-Shannon spectral efficiency.

Inputs outside a model's validity range raise :class:`ValueError` (these are
programming errors: the simulator clamps distances before calling).
"""

from __future__ import annotations

import numpy as np

__all__ = ["C_M_S", "SCENARIOS_38901", "PATHLOSS_MODELS", "fspl_db", "pathloss_38901",
           "pathloss_db", "max_range_m", "antenna_gain_db", "thermal_noise_dbm",
           "spectral_efficiency", "o2i_low_loss_db", "n_prb"]

#: Speed of light in vacuum, m/s.
C_M_S = 299_792_458.0
#: Scenarios of TR 38.901 Table 7.4.1-1 implemented here.
SCENARIOS_38901 = ("UMa", "UMi", "RMa")
#: Every name :func:`pathloss_db` accepts.
PATHLOSS_MODELS = ("FSPL",) + SCENARIOS_38901
#: Effective environment height h_E of UMa/UMi, metres (its most likely value
#: in TR 38.901 Note 1; the random draw is left out to stay deterministic).
H_E_M = 1.0
#: Spectral efficiency model: attenuation, cap (b/s/Hz) and the SINR below
#: which the link is unusable (dB).
SE_ATTENUATION = 0.6
SE_MAX_BPS_HZ = 5.5
SE_MIN_SINR_DB = -10.0
#: Thermal noise density at 290 K, dBm/Hz.
NOISE_DENSITY_DBM_HZ = -173.98

# Validity ranges of Table 7.4.1-1 (and its notes): d2D metres (LOS, NLOS),
# hUT metres, hBS metres (None: nominal only, not enforced), fc GHz.
_RANGES = {
    "UMa": dict(d2d=(10.0, 5000.0, 5000.0), h_ut=(1.5, 22.5), h_bs=None, fc=(0.5, 100.0)),
    "UMi": dict(d2d=(10.0, 5000.0, 5000.0), h_ut=(1.5, 22.5), h_bs=None, fc=(0.5, 100.0)),
    "RMa": dict(d2d=(10.0, 10000.0, 5000.0), h_ut=(1.0, 10.0), h_bs=(10.0, 150.0), fc=(0.5, 30.0)),
}

# TS 38.101-1 Table 5.3.2-1, 30 kHz subcarrier spacing: bandwidth MHz -> N_RB.
_NRB_30KHZ = {5: 11, 10: 24, 15: 38, 20: 51, 25: 65, 30: 78, 40: 106, 50: 133, 60: 162,
              70: 189, 80: 217, 90: 245, 100: 273}


def _check_range(name: str, what: str, values, lo: float, hi, unit: str) -> None:
    v = np.asarray(values, dtype=float)
    bad = ~((v >= lo) & (v <= hi))
    if np.any(bad):
        first = np.broadcast_to(v, bad.shape)[bad].ravel()[0]
        top = np.max(hi) if np.ndim(hi) else hi
        raise ValueError(f"{name} path loss: {what} must be within [{lo:g}, {top:g}] {unit} "
                         f"(got {first:g} {unit}); outside the TR 38.901 validity range")


def fspl_db(d_m, f_hz) -> np.ndarray:
    """Free-space path loss 20 log10(4 pi d f / c), dB.

    Parameters
    ----------
    d_m : array_like
        Distance, metres (> 0).
    f_hz : array_like
        Carrier frequency, Hz (> 0).

    Examples
    --------
    >>> round(float(fspl_db(1000.0, 3.5e9)), 2)
    103.33
    """
    d = np.asarray(d_m, dtype=float)
    f = np.asarray(f_hz, dtype=float)
    if np.any(~(d > 0)) or np.any(~(f > 0)):
        raise ValueError("FSPL: distance and frequency must be positive and finite")
    return 20.0 * np.log10(4.0 * np.pi * d * f / C_M_S)


def _uma_umi_los(a: float, b: float, c_bp: float, d2d, d3d, fc, h_bs, h_ut):
    """PL1/PL2 of UMa (a=28, b=22, c_bp=9) and UMi (a=32.4, b=21, c_bp=9.5)."""
    d_bp = 4.0 * (h_bs - H_E_M) * (h_ut - H_E_M) * fc * 1e9 / C_M_S
    pl1 = a + b * np.log10(d3d) + 20.0 * np.log10(fc)
    pl2 = (a + 40.0 * np.log10(d3d) + 20.0 * np.log10(fc)
           - c_bp * np.log10(d_bp ** 2 + (h_bs - h_ut) ** 2))
    return np.where(d2d <= d_bp, pl1, pl2)


def _rma_los(d2d, d3d, fc, h_bs, h_ut, h, w):
    d_bp = 2.0 * np.pi * h_bs * h_ut * fc * 1e9 / C_M_S

    def pl1(d):
        return (20.0 * np.log10(40.0 * np.pi * d * fc / 3.0)
                + min(0.03 * h ** 1.72, 10.0) * np.log10(d)
                - min(0.044 * h ** 1.72, 14.77) + 0.002 * np.log10(h) * d)

    # PL2 = PL1(dBP) + 40 log10(d3D / dBP): PL1 taken at distance dBP, as written.
    pl2 = pl1(d_bp) + 40.0 * np.log10(d3d / d_bp)
    return np.where(d2d <= d_bp, pl1(d3d), pl2)


def pathloss_38901(scenario: str, d2d_m, f_hz, h_bs_m, h_ut_m, los=True, *,
                   building_height_m: float = 5.0, street_width_m: float = 20.0) -> np.ndarray:
    """Median path loss of TR 38.901 v17 Table 7.4.1-1, dB (no shadow fading).

    Parameters
    ----------
    scenario : {"UMa", "UMi", "RMa"}
        Urban macro, urban micro street canyon, rural macro.
    d2d_m : array_like
        Horizontal distance BS-UT, metres.
    f_hz : array_like
        Carrier frequency, Hz.
    h_bs_m, h_ut_m : array_like
        Antenna heights above ground, metres.
    los : bool or array_like of bool
        Line of sight. NLOS is max(PL_LOS, PL'_NLOS) as in the table.
    building_height_m, street_width_m : float
        RMa average building height h and street width W (5..50 m each).

    Returns
    -------
    ndarray
        Path loss, dB, broadcast shape of the inputs.

    Raises
    ------
    ValueError
        Unknown scenario or an input outside the table's validity range
        (UMa/UMi: 10 m <= d2D <= 5 km, 1.5 <= hUT <= 22.5 m; RMa: d2D up to
        10 km LOS / 5 km NLOS, 1 <= hUT <= 10 m, 10 <= hBS <= 150 m).
        The UMa (25 m) and UMi (10 m) BS heights are nominal and not
        enforced beyond hBS > h_E = 1 m.

    Notes
    -----
    Breakpoint: UMa/UMi d'BP = 4 (hBS - hE)(hUT - hE) fc / c with hE = 1 m;
    RMa dBP = 2 pi hBS hUT fc / c. The LOS branch is chosen on d2D.

    Examples
    --------
    >>> [round(float(x), 2) for x in pathloss_38901("UMa", [100, 500, 1000], 3.5e9, 25, 1.5, True)]
    [83.14, 98.27, 109.41]
    >>> round(float(pathloss_38901("UMa", 1000, 3.5e9, 25, 1.5, False)), 2)
    141.67
    """
    if scenario not in _RANGES:
        raise ValueError(f"unknown path loss scenario {scenario!r}; expected one of "
                         f"{', '.join(SCENARIOS_38901)}")
    rng = _RANGES[scenario]
    d2d = np.asarray(d2d_m, dtype=float)
    fc = np.asarray(f_hz, dtype=float) / 1e9
    h_bs = np.asarray(h_bs_m, dtype=float)
    h_ut = np.asarray(h_ut_m, dtype=float)
    los = np.asarray(los, dtype=bool)
    d_lo, d_hi_los, d_hi_nlos = rng["d2d"]
    _check_range(scenario, "d2d_m", d2d, d_lo, np.where(los, d_hi_los, d_hi_nlos), "m")
    _check_range(scenario, "h_ut_m", h_ut, *rng["h_ut"], "m")
    _check_range(scenario, "f_hz", fc * 1e9, rng["fc"][0] * 1e9, rng["fc"][1] * 1e9, "Hz")
    if rng["h_bs"] is None:
        _check_range(scenario, "h_bs_m", h_bs, H_E_M + 1e-9, np.inf, "m")
    else:
        _check_range(scenario, "h_bs_m", h_bs, *rng["h_bs"], "m")
    d3d = np.sqrt(d2d ** 2 + (h_bs - h_ut) ** 2)
    if scenario == "UMa":
        pl_los = _uma_umi_los(28.0, 22.0, 9.0, d2d, d3d, fc, h_bs, h_ut)
        pl_nlos = 13.54 + 39.08 * np.log10(d3d) + 20.0 * np.log10(fc) - 0.6 * (h_ut - 1.5)
    elif scenario == "UMi":
        pl_los = _uma_umi_los(32.4, 21.0, 9.5, d2d, d3d, fc, h_bs, h_ut)
        pl_nlos = 35.3 * np.log10(d3d) + 22.4 + 21.3 * np.log10(fc) - 0.3 * (h_ut - 1.5)
    else:
        h, w = float(building_height_m), float(street_width_m)
        if not (5.0 <= h <= 50.0 and 5.0 <= w <= 50.0):
            raise ValueError("RMa path loss: building_height_m and street_width_m must be "
                             f"within [5, 50] m (got h={h:g}, W={w:g})")
        pl_los = _rma_los(d2d, d3d, fc, h_bs, h_ut, h, w)
        pl_nlos = (161.04 - 7.1 * np.log10(w) + 7.5 * np.log10(h)
                   - (24.37 - 3.7 * (h / h_bs) ** 2) * np.log10(h_bs)
                   + (43.42 - 3.1 * np.log10(h_bs)) * (np.log10(d3d) - 3.0)
                   + 20.0 * np.log10(fc) - (3.2 * np.log10(11.75 * h_ut) ** 2 - 4.97))
    return np.where(los, pl_los, np.maximum(pl_los, pl_nlos))


def pathloss_db(model: str, d2d_m, f_hz, h_bs_m, h_ut_m, los=True, **kwargs) -> np.ndarray:
    """Path loss by model name, dB: "FSPL" (on the 3D distance) or a 38.901 scenario.

    Examples
    --------
    >>> round(float(pathloss_db("FSPL", 1000.0, 3.5e9, 1.5, 1.5)), 2)
    103.33
    """
    if model == "FSPL":
        d3d = np.sqrt(np.asarray(d2d_m, float) ** 2
                      + (np.asarray(h_bs_m, float) - np.asarray(h_ut_m, float)) ** 2)
        return fspl_db(d3d, f_hz) + np.zeros(np.shape(los))
    if model in _RANGES:
        return pathloss_38901(model, d2d_m, f_hz, h_bs_m, h_ut_m, los, **kwargs)
    raise ValueError(f"unknown path loss model {model!r}; expected one of {', '.join(PATHLOSS_MODELS)}")


def max_range_m(model: str) -> tuple[float, float]:
    """(min, max) horizontal distance a model accepts, metres (NLOS maximum).

    Examples
    --------
    >>> max_range_m("UMa")
    (10.0, 5000.0)
    """
    if model == "FSPL":
        return (1.0, np.inf)
    if model not in _RANGES:
        raise ValueError(f"unknown path loss model {model!r}")
    lo, _, hi_nlos = _RANGES[model]["d2d"]
    return (lo, hi_nlos)


def antenna_gain_db(phi_deg, theta_deg, tilt_deg=0.0, beamwidth_deg=65.0, gain_dbi=8.0, *,
                    vertical_beamwidth_deg=65.0, max_attenuation_db=30.0) -> np.ndarray:
    """3GPP sector antenna gain (TR 38.901 Table 7.3-1), dBi.

    Parameters
    ----------
    phi_deg : array_like
        Horizontal angle from the boresight azimuth, degrees (wrapped to +-180).
    theta_deg : array_like
        Zenith angle of the direction, degrees (90 = horizon, > 90 below it).
    tilt_deg : array_like
        Electrical downtilt, degrees (positive points the beam down, so the
        boresight is at zenith angle 90 + tilt).
    beamwidth_deg : array_like
        Horizontal half-power beamwidth phi_3dB, degrees.
    gain_dbi : array_like
        Maximum directional gain, dBi.
    vertical_beamwidth_deg, max_attenuation_db : float
        theta_3dB (65) and the side-lobe / front-back limit SLA_V = A_m (30).

    Returns
    -------
    ndarray
        A = gain - min(-(A_H + A_V), A_m) with
        A_H = -min(12 (phi / phi_3dB)^2, A_m) and
        A_V = -min(12 ((theta - 90 - tilt) / theta_3dB)^2, SLA_V).

    Examples
    --------
    >>> float(antenna_gain_db(0.0, 90.0, 0.0, 65.0, 8.0))
    8.0
    >>> float(antenna_gain_db(32.5, 90.0, 0.0, 65.0, 8.0))
    5.0
    """
    phi = (np.asarray(phi_deg, dtype=float) + 180.0) % 360.0 - 180.0
    a_m = max_attenuation_db
    a_h = -np.minimum(12.0 * (phi / np.asarray(beamwidth_deg, float)) ** 2, a_m)
    dv = np.asarray(theta_deg, dtype=float) - 90.0 - np.asarray(tilt_deg, dtype=float)
    a_v = -np.minimum(12.0 * (dv / vertical_beamwidth_deg) ** 2, a_m)
    return np.asarray(gain_dbi, float) - np.minimum(-(a_h + a_v), a_m)


def thermal_noise_dbm(bandwidth_hz, nf_db=7.0) -> np.ndarray:
    """Receiver noise power -173.98 dBm/Hz + 10 log10(B) + NF, dBm.

    Examples
    --------
    >>> round(float(thermal_noise_dbm(100e6, 7.0)), 2)
    -86.98
    """
    b = np.asarray(bandwidth_hz, dtype=float)
    if np.any(~(b > 0)):
        raise ValueError("thermal noise: bandwidth_hz must be positive")
    return NOISE_DENSITY_DBM_HZ + 10.0 * np.log10(b) + np.asarray(nf_db, float)


def spectral_efficiency(sinr_db) -> np.ndarray:
    """Attenuated Shannon bound min(0.6 log2(1 + SINR), 5.5), b/s/Hz.

    Below -10 dB SINR the link is taken as unusable (0 b/s/Hz), the lowest
    MCS of NR working down to about that point.

    Examples
    --------
    >>> [round(float(x), 3) for x in spectral_efficiency([-20.0, 0.0, 40.0])]
    [0.0, 0.6, 5.5]
    """
    s = np.asarray(sinr_db, dtype=float)
    se = SE_ATTENUATION * np.log2(1.0 + 10.0 ** (s / 10.0))
    return np.where(s < SE_MIN_SINR_DB, 0.0, np.minimum(se, SE_MAX_BPS_HZ))


def o2i_low_loss_db(f_hz, d_in_m=0.0, *, indoor_db_per_m=0.5, max_d_in_m=25.0) -> np.ndarray:
    """Outdoor-to-indoor loss, TR 38.901 7.4.3 low-loss model, dB.

    PL_tw = 5 - 10 log10(0.3 10^(-L_glass/10) + 0.7 10^(-L_concrete/10)) with
    L_glass = 2 + 0.2 fc and L_concrete = 5 + 4 fc (fc in GHz), plus the
    indoor loss 0.5 dB/m over the indoor distance (capped at 25 m).

    Examples
    --------
    >>> round(float(o2i_low_loss_db(3.5e9, 0.0)), 2)
    12.7
    """
    fc = np.asarray(f_hz, dtype=float) / 1e9
    l_glass = 2.0 + 0.2 * fc
    l_concrete = 5.0 + 4.0 * fc
    pl_tw = 5.0 - 10.0 * np.log10(0.3 * 10.0 ** (-l_glass / 10.0) + 0.7 * 10.0 ** (-l_concrete / 10.0))
    d_in = np.clip(np.asarray(d_in_m, dtype=float), 0.0, max_d_in_m)
    return pl_tw + indoor_db_per_m * d_in


def n_prb(bandwidth_hz) -> np.ndarray:
    """Resource blocks in a carrier at 30 kHz SCS (TS 38.101-1 Table 5.3.2-1).

    Bandwidths not in the table: floor(B / (12 x 30 kHz) x 0.98) (2 % guard).

    Examples
    --------
    >>> int(n_prb(100e6)), int(n_prb(20e6))
    (273, 51)
    """
    b = np.asarray(bandwidth_hz, dtype=float)
    out = np.floor(b / (12 * 30e3) * 0.98)
    for mhz, nrb in _NRB_30KHZ.items():
        out = np.where(np.isclose(b, mhz * 1e6), nrb, out)
    if np.any(out < 1):
        raise ValueError("n_prb: bandwidth_hz must hold at least one resource block (>= 368 kHz)")
    return out.astype(int)
