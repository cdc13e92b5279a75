"""Knife-edge diffraction: ITU-R P.526 J(v) and Deygout's multiple-edge method.

Single knife edge (ITU-R P.526-15, eq. 31), the loss over free space of an
ideal absorbing half-plane whose top is ``h`` metres above the direct ray,
at distances ``d1``, ``d2`` from the two terminals:

    v = h sqrt(2 (d1 + d2) / (lambda d1 d2))                   (P.526 eq. 26)
    J(v) = 6.9 + 20 log10(sqrt((v - 0.1)^2 + 1) + v - 0.1)     for v > -0.78
    J(v) = 0                                                   otherwise

which approximates the exact Fresnel-integral loss
``-20 log10(|(1 + j) / 2 * ((1/2 - C(v)) - j (1/2 - S(v)))|)`` within about
0.5 dB (J(0) = 6.02 dB exactly, 6.9 + 20 log10(sqrt(1.01) - 0.1) = 6.03 here).

Multiple edges (P.526-15 section 4.5.1, Deygout): the edge of largest v
over the whole path is the principal edge, loss J(v_p); the sub-paths
transmitter -> principal edge and principal edge -> receiver each contribute
the J(v) of their own largest-v edge (heights and distances taken relative
to the sub-path's end points). Up to three edges in all; no correction term
(Deygout is known to overestimate the loss of closely spaced equal edges by
a few dB, which the calibration of issue 13 may absorb).

Vectorized over many profiles at once; no I/O.

Examples
--------
>>> round(float(knife_edge_loss_db(0.0)), 2)
6.03
>>> float(knife_edge_loss_db(-1.0))
0.0
"""

from __future__ import annotations

import numpy as np

__all__ = ["V_MIN", "knife_edge_loss_db", "fresnel_v", "deygout_loss_db"]

#: Below this Fresnel-Kirchhoff parameter the J(v) formula is 0 dB (P.526).
V_MIN = -0.78


def knife_edge_loss_db(v) -> np.ndarray:
    """Single knife-edge diffraction loss J(v) of ITU-R P.526 eq. 31, dB.

    Parameters
    ----------
    v : array_like
        Fresnel-Kirchhoff diffraction parameter (dimensionless).

    Returns
    -------
    ndarray
        ``6.9 + 20 log10(sqrt((v - 0.1)^2 + 1) + v - 0.1)`` for v > -0.78, else 0.

    Examples
    --------
    >>> [round(float(x), 1) for x in knife_edge_loss_db([-0.78, 1.0, 2.4])]
    [0.0, 13.9, 20.5]
    """
    v = np.asarray(v, dtype=float)
    w = np.where(v > V_MIN, v, 0.0)          # -inf (no edge) must not reach the log
    j = 6.9 + 20.0 * np.log10(np.sqrt((w - 0.1) ** 2 + 1.0) + w - 0.1)
    return np.where(v > V_MIN, np.maximum(j, 0.0), 0.0)


def fresnel_v(h_m, d1_m, d2_m, wavelength_m) -> np.ndarray:
    """Fresnel-Kirchhoff parameter v = h sqrt(2 (d1 + d2) / (lambda d1 d2)) (P.526 eq. 26).

    ``h_m`` is the edge's height above the straight line between the
    terminals (negative below it); ``d1_m``, ``d2_m`` > 0 the distances to
    the edge. Broadcasts.

    Examples
    --------
    >>> round(float(fresnel_v(1.0, 50.0, 50.0, 0.1)), 4)
    0.8944
    """
    d1 = np.asarray(d1_m, float)
    d2 = np.asarray(d2_m, float)
    return np.asarray(h_m, float) * np.sqrt(2.0 * (d1 + d2) / (wavelength_m * d1 * d2))


def _max_edge(d_m, z_m, d_a, z_a, d_b, z_b, lo, hi, wavelength_m):
    """Largest v (and its sample index) of samples lo < k < hi above the line a -> b.

    d_m (K,) or (N, K), z_m (N, K); d_a, z_a, d_b, z_b, lo, hi (N,).
    Returns (v_max (N,), k_max (N,)); v = -inf where no sample lies between.
    """
    k = np.arange(z_m.shape[1])[None, :]
    inside = (k > lo[:, None]) & (k < hi[:, None])
    d = np.broadcast_to(d_m, z_m.shape)
    d1 = d - d_a[:, None]
    d2 = d_b[:, None] - d
    inside &= (d1 > 0) & (d2 > 0)
    span = np.maximum(d_b - d_a, 1e-9)[:, None]
    line = z_a[:, None] + (z_b - z_a)[:, None] * d1 / span
    with np.errstate(invalid="ignore", divide="ignore"):
        v = fresnel_v(z_m - line, np.where(inside, d1, 1.0), np.where(inside, d2, 1.0),
                      wavelength_m)
    v = np.where(inside & np.isfinite(z_m), v, -np.inf)
    kmax = np.argmax(v, axis=1)
    return np.take_along_axis(v, kmax[:, None], axis=1)[:, 0], kmax


def deygout_loss_db(d_m, z_m, z_tx_m, z_rx_m, d_total_m, wavelength_m, *,
                    max_edges: int = 3) -> np.ndarray:
    """Deygout multiple knife-edge loss over vertical profiles (P.526 section 4.5.1), dB.

    Parameters
    ----------
    d_m : (K,) or (N, K) array
        Horizontal distance of each profile sample from the transmitter,
        metres, increasing along each profile.
    z_m : (N, K) array
        Obstacle top (ENU z) at each sample, metres; -inf (or anything
        below the ray) where there is no obstacle.
    z_tx_m, z_rx_m : (N,) array
        Terminal heights (ENU z), metres.
    d_total_m : (N,) array
        Horizontal terminal separation, metres (samples at or beyond it are ignored).
    wavelength_m : float
    max_edges : {1, 3}
        1: the principal edge only; 3: plus the largest edge of each sub-path.

    Returns
    -------
    (N,) ndarray
        Sum of J(v) over the selected edges (0 where every v <= -0.78).

    Examples
    --------
    One 10 m edge halfway over a 100 m path at lambda = 0.1 m, terminals at 0 m:

    >>> import numpy as np
    >>> z = np.array([[-np.inf, 10.0, -np.inf]])
    >>> v = fresnel_v(10.0, 50.0, 50.0, 0.1)
    >>> bool(np.isclose(deygout_loss_db([25.0, 50.0, 75.0], z, [0.0], [0.0], [100.0], 0.1)[0],
    ...                 knife_edge_loss_db(v)))
    True
    """
    z = np.asarray(z_m, float)
    n, k = z.shape
    d = np.asarray(d_m, float)
    zt = np.broadcast_to(np.asarray(z_tx_m, float), (n,))
    zr = np.broadcast_to(np.asarray(z_rx_m, float), (n,))
    dt = np.broadcast_to(np.asarray(d_total_m, float), (n,))
    zero = np.zeros(n)
    lo, hi = np.full(n, -1), np.full(n, k)
    v_p, k_p = _max_edge(d, z, zero, zt, dt, zr, lo, hi, wavelength_m)
    loss = knife_edge_loss_db(v_p)
    if max_edges <= 1:
        return loss
    has = v_p > V_MIN
    rows = np.arange(n)
    d_p = np.where(has, np.broadcast_to(d, z.shape)[rows, k_p], dt)
    z_p = np.where(has, z[rows, k_p], zr)
    # Sub-paths end at the principal edge's top; only where it diffracts.
    v_l, _ = _max_edge(d, z, zero, zt, d_p, z_p, lo, k_p, wavelength_m)
    v_r, _ = _max_edge(d, z, d_p, z_p, dt, zr, k_p, hi, wavelength_m)
    return loss + np.where(has, knife_edge_loss_db(v_l) + knife_edge_loss_db(v_r), 0.0)
