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
a few dB: against the exact two-edge Fresnel-Kirchhoff integral at 3.5 GHz
it is up to 5.1 dB pessimistic and never more than 0.2 dB optimistic,
tests/test_geometric_diffraction.py; the calibration may absorb it).

The height form of v above is P.526's small-angle approximation: it takes
the edge's height over the direct ray where the exact quantity is the path
difference. With ``path_difference=True`` v is computed from the excess
length of the path over the edge instead (the Fresnel-Kirchhoff phase
difference, Rappaport, Wireless Communications, 2nd ed., eqs. 4.54-4.57):

    Delta = |T E| + |E R| - |T R|,   v = sign(h) 2 sqrt(Delta / lambda),

the same as P.526 eq. 26 for small angles. They part at steep edges: for a
receiver 2 m behind a wall 20 m high (diffraction angle near 85 degrees)
the height form overstates v about 2.5-fold and J(v) by about 8 dB. The
radio model uses the exact form by default since its version 6
(``[radio.geometric] v_path_difference``).

Compiled (numba), parallel over many profiles at once; no I/O.

Examples
--------
>>> round(float(knife_edge_loss_db(0.0)), 2)
6.03
>>> float(knife_edge_loss_db(-1.0))
0.0
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from ..kernel_args import writable_c

__all__ = ["V_MIN", "knife_edge_loss_db", "fresnel_v", "fresnel_v_path_difference",
           "deygout_loss_db"]

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


def fresnel_v_path_difference(h_m, d1_m, d2_m, wavelength_m) -> np.ndarray:
    """Fresnel-Kirchhoff v from the excess path length over the edge, sign(h) 2 sqrt(Delta/lambda).

    Terminals at heights 0 and 0 here (the edge ``h_m`` above their line,
    ``d1_m``, ``d2_m`` horizontal distances): Delta = sqrt(d1^2 + h^2) +
    sqrt(d2^2 + h^2) - (d1 + d2). Equal to :func:`fresnel_v` for small h/d.

    Examples
    --------
    >>> round(float(fresnel_v_path_difference(1.0, 50.0, 50.0, 0.1)), 4)
    0.8944
    >>> round(float(fresnel_v_path_difference(20.0, 150.0, 2.0, 0.1)), 1)  # fresnel_v: 63.7
    27.9
    """
    h = np.asarray(h_m, float)
    d1 = np.asarray(d1_m, float)
    d2 = np.asarray(d2_m, float)
    excess = np.hypot(d1, h) + np.hypot(d2, h) - (d1 + d2)
    return np.sign(h) * 2.0 * np.sqrt(np.maximum(excess, 0.0) / wavelength_m)


@njit(cache=True)
def _j_scalar(v):
    if v > V_MIN:
        return max(6.9 + 20.0 * np.log10(np.sqrt((v - 0.1) ** 2 + 1.0) + v - 0.1), 0.0)
    return 0.0


@njit(cache=True)
def _max_edge_row(d, z, d_a, z_a, d_b, z_b, lo, hi, wavelength_m, path_difference):
    """Largest v (and its sample index) of one profile's samples lo < k < hi above the line a -> b.

    -inf (index 0) where no sample lies strictly between a and b; the first of equal maxima.
    ``path_difference``: v from the excess path length (module docstring), else from the height.
    """
    best, k_best = -np.inf, 0
    span = max(d_b - d_a, 1e-9)
    for k in range(max(lo + 1, 0), min(hi, z.shape[0])):
        d1 = d[k] - d_a
        d2 = d_b - d[k]
        if not (d1 > 0.0 and d2 > 0.0) or not np.isfinite(z[k]):
            continue
        line = z_a + (z_b - z_a) * d1 / span
        if path_difference:
            excess = (np.hypot(d1, z[k] - z_a) + np.hypot(d2, z_b - z[k])
                      - np.hypot(d1 + d2, z_b - z_a))
            v = 2.0 * np.sqrt(max(excess, 0.0) / wavelength_m)
            if z[k] < line:
                v = -v
        else:
            v = (z[k] - line) * np.sqrt(2.0 * (d1 + d2) / (wavelength_m * d1 * d2))
        if v > best:
            best, k_best = v, k
    return best, k_best


@njit(cache=True, parallel=True)
def _deygout_rows(d, z, zt, zr, dt, wavelength_m, max_edges, path_difference, out):
    for i in prange(z.shape[0]):
        n_k = z.shape[1]
        v_p, k_p = _max_edge_row(d[i], z[i], 0.0, zt[i], dt[i], zr[i], -1, n_k, wavelength_m,
                                  path_difference)
        loss = _j_scalar(v_p)
        if max_edges > 1 and v_p > V_MIN:
            # Sub-paths end at the principal edge's top; only where it diffracts.
            d_p, z_p = d[i, k_p], z[i, k_p]
            v_l, _ = _max_edge_row(d[i], z[i], 0.0, zt[i], d_p, z_p, -1, k_p, wavelength_m,
                                   path_difference)
            v_r, _ = _max_edge_row(d[i], z[i], d_p, z_p, dt[i], zr[i], k_p, n_k, wavelength_m,
                                   path_difference)
            loss = loss + (_j_scalar(v_l) + _j_scalar(v_r))
        out[i] = loss


def deygout_loss_db(d_m, z_m, z_tx_m, z_rx_m, d_total_m, wavelength_m, *,
                    max_edges: int = 3, path_difference: bool = False) -> np.ndarray:
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
    path_difference : bool
        v from the excess path length over each edge (exact at any angle)
        instead of P.526 eq. 26's small-angle height form (module docstring).

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
    # writable_c: a broadcast of one row or value is C-contiguous but read-only, and
    # would compile the kernel again (kernel_args)
    z = writable_c(z_m, float)
    n, k = z.shape
    d = writable_c(np.broadcast_to(np.asarray(d_m, float), z.shape), float)
    zt = writable_c(np.broadcast_to(np.asarray(z_tx_m, float), (n,)), float)
    zr = writable_c(np.broadcast_to(np.asarray(z_rx_m, float), (n,)), float)
    dt = writable_c(np.broadcast_to(np.asarray(d_total_m, float), (n,)), float)
    out = np.empty(n)
    # One compiled pass per profile (the edges of a profile are few): P.526's recipe as above.
    _deygout_rows(d, z, zt, zr, dt, float(wavelength_m), int(max_edges), bool(path_difference), out)
    return out
