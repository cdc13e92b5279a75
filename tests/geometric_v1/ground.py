"""Ground reflection: the two-ray model with the Fresnel reflection coefficient.

The received field is the direct ray plus the ray reflected by flat ground
(image method: the image antenna at -h_tx), each spreading as 1/distance
(Rappaport, *Wireless Communications*, 2nd ed., section 4.6; ITU-R P.1546
uses the same geometry):

    r1 = sqrt(d^2 + (h_tx - h_rx)^2),   r2 = sqrt(d^2 + (h_tx + h_rx)^2)
    path gain = (lambda / 4 pi)^2 |exp(-j k r1) / r1 + Gamma exp(-j k r2) / r2|^2

with k = 2 pi / lambda and, for vertical polarization at the grazing angle
psi (tan psi = (h_tx + h_rx) / d) on ground of complex relative permittivity
eps_c = eps_r - j sigma / (omega eps_0) = eps_r - j 60 lambda sigma
(ITU-R P.527; P.2040 eq. 31):

    Gamma_V = (eps_c sin psi - sqrt(eps_c - cos^2 psi)) / (eps_c sin psi + sqrt(eps_c - cos^2 psi))

Far beyond the breakpoint 4 h_tx h_rx / lambda, Gamma -> -1 and the gain
tends to (h_tx h_rx)^2 / d^4 (on a perfect conductor Gamma_V = +1 instead: no
d^4 law for vertical polarization there): 40 dB per decade, independent of frequency.

Examples
--------
>>> round(float(two_ray_ground_db(1e5, 30.0, 1.5, 3.5e9, 15.0, 0.0)), 1)
166.9
"""

from __future__ import annotations

import numpy as np

from twin3d.physics.radio import C_M_S

__all__ = ["EPS0_F_M", "fresnel_gamma_vertical", "fresnel_gamma_horizontal", "two_ray_ground_db",
           "two_ray_asymptote_db"]

#: Vacuum permittivity, F/m.
EPS0_F_M = 8.8541878128e-12


def _eps_c(f_hz, eps_r, sigma_s_m):
    return np.asarray(eps_r, float) - 1j * np.asarray(sigma_s_m, float) / (
        2.0 * np.pi * np.asarray(f_hz, float) * EPS0_F_M)


def fresnel_gamma_vertical(grazing_rad, f_hz, eps_r, sigma_s_m) -> np.ndarray:
    """Fresnel reflection coefficient, vertical (TM) polarization, complex.

    ``(eps_c sin psi - sqrt(eps_c - cos^2 psi)) / (eps_c sin psi + sqrt(eps_c - cos^2 psi))``
    at grazing angle psi (radians) on a half-space of relative permittivity
    eps_r and conductivity sigma (S/m) at f (Hz).

    Examples
    --------
    >>> round(float(abs(fresnel_gamma_vertical(0.0, 3.5e9, 15.0, 0.0))), 6)
    1.0
    """
    e = _eps_c(f_hz, eps_r, sigma_s_m)
    psi = np.asarray(grazing_rad, float)
    root = np.sqrt(e - np.cos(psi) ** 2)
    return (e * np.sin(psi) - root) / (e * np.sin(psi) + root)


def fresnel_gamma_horizontal(grazing_rad, f_hz, eps_r, sigma_s_m) -> np.ndarray:
    """Fresnel reflection coefficient, horizontal (TE) polarization, complex.

    ``(sin psi - sqrt(eps_c - cos^2 psi)) / (sin psi + sqrt(eps_c - cos^2 psi))``.

    Examples
    --------
    >>> round(float(fresnel_gamma_horizontal(np.pi / 2, 3.5e9, 4.0, 0.0).real), 6)
    -0.333333
    """
    e = _eps_c(f_hz, eps_r, sigma_s_m)
    psi = np.asarray(grazing_rad, float)
    root = np.sqrt(e - np.cos(psi) ** 2)
    return (np.sin(psi) - root) / (np.sin(psi) + root)


def two_ray_ground_db(d_m, h_tx_m, h_rx_m, f_hz, eps_r=15.0, sigma_s_m=0.035) -> np.ndarray:
    """Two-ray (direct + ground-reflected) path loss over flat ground, dB (positive).

    Parameters
    ----------
    d_m : array_like
        Horizontal distance, metres (> 0).
    h_tx_m, h_rx_m : array_like
        Antenna heights above the ground, metres (> 0).
    f_hz : float
        Carrier frequency, Hz.
    eps_r, sigma_s_m : float
        Ground relative permittivity and conductivity, S/m (default: ITU-R
        P.527 medium dry ground near 3 GHz).

    Returns
    -------
    ndarray
        ``-10 log10((lambda / 4 pi)^2 |e^{-jk r1} / r1 + Gamma_V e^{-jk r2} / r2|^2)``.

    Examples
    --------
    Far out, the 40 dB/decade asymptote -20 log10(h_tx h_rx / d^2):

    >>> a = float(two_ray_ground_db(1e5, 10.0, 2.0, 2.1e9, 15.0, 0.0))
    >>> abs(a - float(two_ray_asymptote_db(1e5, 10.0, 2.0))) < 0.05
    True
    """
    d = np.asarray(d_m, float)
    ht = np.asarray(h_tx_m, float)
    hr = np.asarray(h_rx_m, float)
    lam = C_M_S / float(f_hz)
    k = 2.0 * np.pi / lam
    r1 = np.hypot(d, ht - hr)
    r2 = np.hypot(d, ht + hr)
    gamma = fresnel_gamma_vertical(np.arctan2(ht + hr, d), f_hz, eps_r, sigma_s_m)
    # Phase relative to the direct ray: only k (r2 - r1) matters, computed without cancellation.
    dr = (4.0 * ht * hr) / (r1 + r2)
    field = 1.0 / r1 + gamma * np.exp(-1j * k * dr) / r2
    return -20.0 * np.log10(lam / (4.0 * np.pi) * np.abs(field))


def two_ray_asymptote_db(d_m, h_tx_m, h_rx_m) -> np.ndarray:
    """Far-field two-ray path loss 40 log10(d) - 20 log10(h_tx h_rx), dB.

    Examples
    --------
    >>> float(two_ray_asymptote_db(1000.0, 10.0, 1.0))
    100.0
    """
    return 40.0 * np.log10(np.asarray(d_m, float)) - 20.0 * np.log10(
        np.asarray(h_tx_m, float) * np.asarray(h_rx_m, float))
