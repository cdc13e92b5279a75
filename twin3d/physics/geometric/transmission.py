"""Transmission through buildings: the direct ray through concrete slabs.

A wall or roof is a homogeneous slab of thickness d and complex
permittivity eps_c = eps_r - j sigma / (omega eps_0) (ITU-R P.2040-3
Table 3 concrete: eps_r = 5.24, sigma = 0.0462 f_GHz^0.7822 S/m, the
material of the ray-traced references). At normal incidence its amplitude
transmission coefficient, with every internal reflection summed
(ITU-R P.2040-3 section 3.4 with theta = 0), is

    eta = sqrt(eps_c),   r = (1 - eta) / (1 + eta),   q = 2 pi d eta / lambda,
    T = (1 - r^2) exp(-j q) / (1 - r^2 exp(-2 j q)),

and its loss -20 log10 |T| (13.3 dB at 2.1 GHz and 19.0 dB at 3.5 GHz for
0.2 m). The transmitted path is the direct ray: free space over the 3D
distance plus the loss of every slab it crosses. A ray that passes through
a building crosses two slabs (in and out, through a wall or the roof), so
the slab count is the walls it crosses below their roof, rounded up to an
even number (a ray that enters through a roof leaves through a wall: one
wall crossing, two slabs). Paths through more than ``max_slabs`` slabs are
dropped (the references trace three interactions).

Vectorized over receivers; no I/O.

Examples
--------
>>> round(float(slab_loss_db(2.1e9)), 1), round(float(slab_loss_db(3.5e9)), 1)
(13.3, 19.0)
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ..kernel_args import writable_c
from ..radio import C_M_S
from .reflection import CONCRETE_EPS_R, concrete_sigma_s_m

__all__ = ["EPS0_F_M", "SLAB_THICKNESS_M", "slab_loss_db", "slabs_crossed", "transmission_loss_db"]

#: Vacuum permittivity, F/m.
EPS0_F_M = 8.8541878128e-12
#: Wall and roof thickness of the references' concrete (twin3d.rt.export), metres.
SLAB_THICKNESS_M = 0.2


def slab_loss_db(f_hz: float, thickness_m: float = SLAB_THICKNESS_M,
                 eps_r: float = CONCRETE_EPS_R, sigma_s_m: float | None = None) -> float:
    """Normal-incidence transmission loss of one slab, -20 log10 |T|, dB (see the module)."""
    sigma = concrete_sigma_s_m(f_hz) if sigma_s_m is None else sigma_s_m
    eps_c = eps_r - 1j * sigma / (2.0 * np.pi * f_hz * EPS0_F_M)
    eta = np.sqrt(eps_c)
    r = (1.0 - eta) / (1.0 + eta)
    q = 2.0 * np.pi * thickness_m * eta * f_hz / C_M_S
    t = (1.0 - r * r) * np.exp(-1j * q) / (1.0 - r * r * np.exp(-2j * q))
    return float(-20.0 * np.log10(abs(t)))


def slabs_crossed(t, top_z_m, n_edges, z0_m: float, z1_m) -> np.ndarray:
    """Slabs the direct rays cross, from :func:`~.los3d.wall_crossings`' output.

    Parameters
    ----------
    t, top_z_m : (N, K) array
        Wall crossings along each ray (fractions from the antenna) and their roof z.
    n_edges : (N,) int
        Crossings recorded per ray.
    z0_m : float
        Antenna z, metres.
    z1_m : (N,) array
        Receiver z, metres.

    Returns
    -------
    (N,) int
        Walls crossed below their roof, rounded up to an even number.

    Examples
    --------
    >>> import numpy as np
    >>> slabs_crossed(np.array([[0.2, 0.5, 0.6]]), np.array([[30.0, 30.0, 5.0]]),
    ...               np.array([3]), 20.0, np.array([0.0])).tolist()
    [2]
    """
    t = writable_c(t, float)
    out = np.empty(t.shape[0], np.int64)
    # one signature: a (1,) broadcast z1 is C-contiguous but read-only (kernel_args)
    _slabs(t, writable_c(top_z_m, float), writable_c(n_edges, np.int64),
           float(z0_m), writable_c(np.broadcast_to(np.asarray(z1_m, float), t.shape[:1]), float),
           out)
    return out


@njit(cache=True)
def _slabs(t, top, n, z0, z1, out):
    # Per ray, its recorded walls whose roof is above the ray there (serial: a few milliseconds,
    # and a parallel kernel takes seconds more to compile).
    for i in range(t.shape[0]):
        walls = 0
        for k in range(min(n[i], t.shape[1])):
            if top[i, k] > z0 + t[i, k] * (z1[i] - z0):
                walls += 1
        out[i] = walls + walls % 2


def transmission_loss_db(fspl_db, slabs, f_hz: float, *, max_slabs: int = 2,
                         thickness_m: float = SLAB_THICKNESS_M) -> np.ndarray:
    """Loss of the direct ray through ``slabs`` concrete slabs, dB (inf past ``max_slabs``).

    Examples
    --------
    >>> transmission_loss_db(np.array([80.0, 80.0]), np.array([2, 4]), 2.1e9).round(1).tolist()
    [106.6, inf]
    """
    slabs = np.asarray(slabs)
    loss = np.asarray(fspl_db, float) + slabs * slab_loss_db(f_hz, thickness_m)
    return np.where((slabs > 0) & (slabs <= max_slabs), loss, np.inf)
