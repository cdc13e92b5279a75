"""Transmission through concrete slabs (issue 13) against hand computations."""

import math

import numpy as np

from twin3d.model import Buildings
from twin3d.physics.geometric.los3d import building_prisms, wall_crossings
from twin3d.physics.geometric.transmission import slab_loss_db, slabs_crossed, transmission_loss_db


def test_half_wave_lossless_slab_is_transparent():
    # |T| = 1 when the slab is half a wavelength thick inside (lossless).
    f = 3e9
    lam_in = 299_792_458.0 / f / math.sqrt(4.0)
    assert abs(slab_loss_db(f, thickness_m=lam_in / 2, eps_r=4.0, sigma_s_m=0.0)) < 1e-9


def test_thick_lossy_slab_is_interfaces_plus_attenuation():
    # Thick enough that internal echoes vanish: |T| = |1 - r^2| exp(-alpha d), alpha = k0 Im(-eta).
    f, d, eps_r, sigma = 3.5e9, 2.0, 5.24, 0.123
    eta = np.sqrt(eps_r - 1j * sigma / (2 * math.pi * f * 8.8541878128e-12))
    r = (1 - eta) / (1 + eta)
    alpha = 2 * math.pi * f / 299_792_458.0 * abs(eta.imag)
    want = -20 * math.log10(abs(1 - r * r)) + 20 * math.log10(math.e) * alpha * d
    assert abs(slab_loss_db(f, d, eps_r, sigma) - want) < 0.01


def test_ray_through_one_block_crosses_two_slabs():
    import shapely
    b = Buildings(["b"], np.array([shapely.box(40, -10, 60, 10)]), np.array([30.0]), np.zeros(1),
                  ["yes"], ["tag"])
    pr = building_prisms(b)
    a = np.array([0.0, 0.0, 20.0])
    p = np.array([[100.0, 0.0, 1.5], [100.0, 40.0, 1.5]])
    los, n, t, top = wall_crossings(pr, a, p, 0.1)
    slabs = slabs_crossed(t, top, n, a[2], p[:, 2])
    assert slabs.tolist() == [2, 0]
    fs = np.array([80.0, 80.0])
    got = transmission_loss_db(fs, slabs, 2.1e9)
    assert got[0] == 80.0 + 2 * slab_loss_db(2.1e9) and np.isinf(got[1])


def test_slabs_crossed_counts_walls_below_their_roofs():
    # Against the plain array formula, on random rows (some walls past each row's count).
    rng = np.random.default_rng(3)
    n_rays, k = 500, 6
    t = np.sort(rng.uniform(0, 1, (n_rays, k)), axis=1)
    top = rng.uniform(0.0, 40.0, (n_rays, k))
    n = rng.integers(0, k + 1, n_rays)
    z1 = rng.uniform(0.0, 3.0, n_rays)
    z = 25.0 + t * (z1[:, None] - 25.0)
    walls = ((np.arange(k)[None, :] < n[:, None]) & (top > z)).sum(axis=1)
    got = slabs_crossed(t, top, n, 25.0, z1)
    np.testing.assert_array_equal(got, walls + walls % 2)
    assert set(np.unique(got)) >= {0, 2, 4}
