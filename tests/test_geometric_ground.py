"""Two-ray ground reflection (issue 13) against the closed form and its d^4 asymptote."""

import cmath
import math

import numpy as np

from twin3d.physics.geometric.ground import (fresnel_gamma_horizontal, fresnel_gamma_vertical,
                                             two_ray_asymptote_db, two_ray_ground_db)

C = 299_792_458.0


def _closed_form_db(d, ht, hr, f, eps_r, sigma):
    """Direct + reflected phasors, each path length computed outright (scalar complex math)."""
    lam = C / f
    k = 2 * math.pi / lam
    r1 = math.hypot(d, ht - hr)
    r2 = math.hypot(d, ht + hr)
    psi = math.atan((ht + hr) / d)
    eps = complex(eps_r, -sigma / (2 * math.pi * f * 8.8541878128e-12))
    root = cmath.sqrt(eps - math.cos(psi) ** 2)
    gamma = (eps * math.sin(psi) - root) / (eps * math.sin(psi) + root)
    e = cmath.exp(-1j * k * r1) / r1 + gamma * cmath.exp(-1j * k * r2) / r2
    return -20 * math.log10(abs(e) * lam / (4 * math.pi))


def test_two_ray_matches_closed_form():
    rng = np.random.default_rng(13)
    d = rng.uniform(5.0, 2000.0, 200)
    ht = rng.uniform(2.0, 40.0, 200)
    hr = rng.uniform(1.0, 3.0, 200)
    for f, eps_r, sigma in ((2.1e9, 15.0, 0.035), (3.5e9, 5.24, 0.123)):
        got = two_ray_ground_db(d, ht, hr, f, eps_r, sigma)
        want = np.array([_closed_form_db(*a, f, eps_r, sigma) for a in zip(d, ht, hr)])
        assert np.max(np.abs(got - want)) < 1e-6


def test_two_ray_long_range_asymptote_and_near_field():
    d = np.array([2e4, 5e4, 1e5])
    # A lossless dielectric at grazing incidence: Gamma_V -> -1 and the 40 dB/decade law.
    pec = two_ray_ground_db(d, 30.0, 1.5, 3.5e9, 15.0, 0.0)
    gap = np.abs(pec - two_ray_asymptote_db(d, 30.0, 1.5))
    assert gap[-1] < 0.01 and np.all(np.diff(gap) < 0) and gap[0] < 0.1
    assert abs((pec[2] - pec[1]) / math.log10(d[2] / d[1]) - 40.0) < 0.1
    # Dry ground at grazing incidence also tends to Gamma_V = -1.
    dry = two_ray_ground_db(np.array([2e5]), 30.0, 1.5, 3.5e9, 15.0, 0.035)
    assert abs(dry[0] - two_ray_asymptote_db(2e5, 30.0, 1.5)) < 0.3
    # Close in (d << breakpoint) the sum oscillates around free space within +6 / -inf dB.
    near = np.linspace(20.0, 200.0, 400)
    fspl = 20 * np.log10(4 * math.pi * np.hypot(near, 28.5) * 3.5e9 / C)
    assert np.min(two_ray_ground_db(near, 30.0, 1.5, 3.5e9) - fspl) > -6.03


def test_fresnel_coefficients_textbook_values():
    # Normal incidence on a lossless dielectric: both are (1 - n) / (1 + n) up to the TM sign convention.
    n = math.sqrt(4.0)
    assert abs(fresnel_gamma_horizontal(math.pi / 2, 1e9, 4.0, 0.0) - (1 - n) / (1 + n)) < 1e-12
    assert abs(fresnel_gamma_vertical(math.pi / 2, 1e9, 4.0, 0.0) - (n - 1) / (n + 1)) < 1e-12
    # Brewster angle: TM reflection vanishes at tan(theta_i) = n, grazing psi = atan(1 / n).
    assert abs(fresnel_gamma_vertical(math.atan(1 / n), 1e9, 4.0, 0.0)) < 1e-12
