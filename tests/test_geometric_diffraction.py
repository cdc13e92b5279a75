"""Knife-edge diffraction (issue 13): J(v) against the Fresnel integrals, Deygout by hand and
against the two-edge Fresnel-Kirchhoff integral (tests/reference_knife_edges.py)."""

import math

import numpy as np
from scipy.special import fresnel

from twin3d.physics.geometric.diffraction import (deygout_loss_db, fresnel_v,
                                                  fresnel_v_path_difference, knife_edge_loss_db)


def _exact_knife_edge_db(v):
    """-20 log10(|F(v)|) of an ideal half-plane from the Fresnel integrals (P.526 eq. 27)."""
    s, c = fresnel(np.asarray(v, float))
    return -20.0 * np.log10(np.sqrt((1 - c - s) ** 2 + (c - s) ** 2) / 2.0)


def test_j_of_v_matches_p526_values():
    j = knife_edge_loss_db([0.0, -0.78, 1.0, 2.4, -2.0])
    exact = _exact_knife_edge_db([0.0, 1.0, 2.4])
    assert abs(exact[0] - 6.0206) < 1e-3                   # 20 log10(2): half the field
    assert abs(j[0] - exact[0]) < 0.02
    assert abs(j[1]) < 0.01                                 # the formula's own zero
    assert abs(j[2] - exact[1]) < 0.1 and abs(j[2] - 13.9) < 0.1
    assert abs(j[3] - exact[2]) < 0.1 and abs(j[3] - 20.6) < 0.1
    assert j[4] == 0.0


def test_j_of_v_tracks_fresnel_integrals_everywhere():
    v = np.linspace(-0.7, 10.0, 1000)
    assert np.max(np.abs(knife_edge_loss_db(v) - _exact_knife_edge_db(v))) < 0.2
    assert np.all(np.diff(knife_edge_loss_db(v)) > 0)     # monotone in v


def test_deygout_two_edges_by_hand():
    lam = 299_792_458.0 / 3.5e9
    # Terminals at z 10 m (tx) and 2 m (rx) 200 m apart; edges at 60 m (z 20) and 150 m (z 14).
    d = np.array([60.0, 150.0])
    z = np.array([[20.0, 14.0]])
    line = lambda x, xa, za, xb, zb: za + (zb - za) * (x - xa) / (xb - xa)  # noqa: E731
    v1 = (20.0 - line(60, 0, 10, 200, 2)) * math.sqrt(2 * 200 / (lam * 60 * 140))
    v2 = (14.0 - line(150, 0, 10, 200, 2)) * math.sqrt(2 * 200 / (lam * 150 * 50))
    assert v1 > v2                                          # edge 1 is the principal edge
    # Sub-path edge 1 -> rx: edge 2's height above the line (60, 20) -> (200, 2).
    v2s = (14.0 - line(150, 60, 20, 200, 2)) * math.sqrt(2 * 140 / (lam * 90 * 50))
    j = lambda v: 6.9 + 20 * math.log10(math.sqrt((v - 0.1) ** 2 + 1) + v - 0.1) if v > -0.78 else 0.0  # noqa: E731
    want = j(v1) + j(v2s)
    got = deygout_loss_db(d, z, [10.0], [2.0], [200.0], lam)
    assert abs(got[0] - want) < 1e-9
    assert abs(deygout_loss_db(d, z, [10.0], [2.0], [200.0], lam, max_edges=1)[0] - j(v1)) < 1e-9
    # Swapping the edges' order swaps roles, and the loss is vectorized over profiles.
    both = deygout_loss_db(np.array([[60.0, 150.0], [50.0, 140.0]]),
                           np.array([[20.0, 14.0], [14.0, 20.0]]), [10.0, 10.0], [2.0, 2.0],
                           [200.0, 200.0], lam)
    assert abs(both[0] - want) < 1e-9 and both[1] > 0 and both[1] != both[0]


def test_deygout_clear_path_and_fresnel_v():
    lam = 0.1
    z = np.array([[-np.inf, 0.0, -np.inf]])               # 0 m edge 50 m under a 50 m-high ray
    assert deygout_loss_db([25.0, 50.0, 75.0], z, [50.0], [50.0], [100.0], lam)[0] == 0.0
    assert abs(fresnel_v(1.0, 50.0, 50.0, lam) - math.sqrt(2 * 100 / (0.1 * 2500))) < 1e-12


def test_path_difference_v_is_the_height_form_at_small_angles():
    lam = 0.1
    for h, d1, d2 in ((0.5, 400.0, 300.0), (-0.3, 200.0, 800.0), (2.0, 1000.0, 1000.0)):
        assert abs(fresnel_v_path_difference(h, d1, d2, lam) - fresnel_v(h, d1, d2, lam)) \
            < 1e-3 * abs(fresnel_v(h, d1, d2, lam))


def test_deygout_path_difference_by_hand_at_a_steep_edge():
    """A receiver 2 m behind a 20 m wall: v from the excess length of T -> E -> R by hand."""
    lam = 299_792_458.0 / 3.5e9
    zt, zr, d_e, d_r, z_e = 31.0, 1.5, 150.0, 152.0, 21.5
    excess = (math.hypot(d_e, z_e - zt) + math.hypot(d_r - d_e, z_e - zr)
              - math.hypot(d_r, zr - zt))
    v_exact = 2.0 * math.sqrt(excess / lam)
    line = zt + (zr - zt) * d_e / d_r
    v_height = (z_e - line) * math.sqrt(2 * d_r / (lam * d_e * (d_r - d_e)))
    assert v_height > 2.0 * v_exact                     # the small-angle form overstates v here
    got = deygout_loss_db([d_e], [[z_e]], [zt], [zr], [d_r], lam, path_difference=True)[0]
    assert abs(got - knife_edge_loss_db(v_exact)) < 1e-9
    assert abs(deygout_loss_db([d_e], [[z_e]], [zt], [zr], [d_r], lam)[0]
               - knife_edge_loss_db(v_height)) < 1e-9
    # An edge below the ray: negative v of the same magnitude as the excess length gives.
    low = deygout_loss_db([50.0], [[-3.0]], [0.0], [0.0], [100.0], 0.1, path_difference=True)[0]
    assert abs(low - knife_edge_loss_db(-fresnel_v_path_difference(3.0, 50.0, 50.0, 0.1))) < 1e-9


def test_two_edge_reference_reduces_to_one_edge():
    """The Fresnel-Kirchhoff two-edge integral (tests/reference_knife_edges.py) with either
    edge far below the ray is the other edge's exact single-edge loss."""
    from reference_knife_edges import loss_db, single_edge_field, two_edge_field
    lam = 299_792_458.0 / 3.5e9
    for h, a, b, c in [(3.0, 50.0, 30.0, 70.0), (-1.0, 40.0, 40.0, 40.0), (8.0, 100.0, 20.0, 30.0)]:
        v1 = h * math.sqrt(2 * (a + b + c) / (lam * a * (b + c)))
        v2 = h * math.sqrt(2 * (a + b + c) / (lam * (a + b) * c))
        assert abs(loss_db(two_edge_field(h, -200.0, a, b, c, lam))
                   - loss_db(single_edge_field(v1))) < 0.01
        assert abs(loss_db(two_edge_field(-200.0, h, a, b, c, lam))
                   - loss_db(single_edge_field(v2))) < 0.01
        assert abs(loss_db(single_edge_field(v1)) - _exact_knife_edge_db(v1)) < 1e-9


# (h1, h2 m above the ray; a, b, c m): two edges on a 3.5 GHz path, and Deygout's loss minus
# the Fresnel-Kirchhoff integral's as measured: close equal edges 5.1 dB, unequal ones 0.0-0.3.
TWO_EDGES = [((2, 2, 50, 10, 50), 5.06), ((5, 5, 50, 10, 50), 5.13), ((5, 5, 50, 40, 50), 3.63),
             ((10, 10, 100, 20, 30), 1.83), ((4, 4, 100, 5, 15), 1.61), ((0, 0, 50, 20, 50), 3.58),
             ((3, 8, 60, 15, 25), -0.08), ((8, 3, 60, 15, 25), 0.23), ((6, 1, 20, 10, 80), 0.01),
             ((12, 12, 120, 30, 10), 0.30), ((3, -1, 50, 20, 50), -0.20)]


def test_deygout_is_pessimistic_against_the_two_edge_integral():
    """Deygout (P.526 section 4.5.1, no correction) never finds less loss than the exact
    two-edge field, beyond 0.2 dB, and overstates it by up to 5.1 dB for close equal edges
    (the known bias): where the radio model's strongest path crosses two roof edges, its
    power is if anything too low."""
    from reference_knife_edges import loss_db, two_edge_field
    lam = 299_792_458.0 / 3.5e9
    for (h1, h2, a, b, c), measured in TWO_EDGES:
        exact = loss_db(two_edge_field(float(h1), float(h2), a, b, c, lam))
        deygout = deygout_loss_db([a, a + b], np.array([[h1, h2]], float), [0.0], [0.0],
                                  [a + b + c], lam)[0]
        assert abs((deygout - exact) - measured) < 0.05, (h1, h2, a, b, c, deygout, exact)
        assert deygout - exact > -0.25
        # the exact loss is at least the principal edge's alone
        principal = deygout_loss_db([a, a + b], np.array([[h1, h2]], float), [0.0], [0.0],
                                    [a + b + c], lam, max_edges=1)[0]
        assert exact - principal > -0.25
