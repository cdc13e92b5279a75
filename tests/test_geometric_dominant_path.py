"""Dominant paths over chains of corners (issue 13) against hand-built street cases."""

import math

import numpy as np
import shapely

from twin3d.model import Buildings
from twin3d.physics.geometric.dominant_path import best_dominant_path
from twin3d.physics.geometric.legs import walled_in
from twin3d.physics.geometric.los3d import building_prisms, footprint_hits, line_of_sight

from test_geometric_speed import random_city

C = 299_792_458.0
F = 3.5e9
LAM = C / F
NUDGE = 0.05 / math.sqrt(2.0)          # corners sit 5 cm off the walls along the bisector


def _block():
    b = Buildings(["b"], np.array([shapely.box(0, 0, 100, 100)]), np.array([30.0]), np.zeros(1),
                  ["yes"], ["tag"])
    return building_prisms(b)


def _j(v):
    # ITU-R P.526-15 eq. 31.
    return 6.9 + 20 * math.log10(math.sqrt((v - 0.1) ** 2 + 1) + v - 0.1) if v > -0.78 else 0.0


def _turn(d_in, d_out, theta):
    return _j(theta * math.sqrt(2 * d_in * d_out / (LAM * (d_in + d_out))))


def _angle(u, w):
    return math.acos(np.dot(u, w) / (np.linalg.norm(u) * np.linalg.norm(w)))


def test_l_shaped_street_one_corner():
    # T west of a 100 m block, P north of it: T -> north-west corner -> P.
    t, p = np.array([-20.0, 50.0]), np.array([50.0, 120.0])
    c = np.array([-NUDGE, 100 + NUDGE])
    d1, d2 = np.linalg.norm(c - t), np.linalg.norm(p - c)
    want = 20 * math.log10(4 * math.pi * math.hypot(d1 + d2, 3.5) / LAM) \
        + _turn(d1, d2, _angle(c - t, p - c))
    got = best_dominant_path(_block(), [-20.0, 50.0, 5.0], [[50.0, 120.0, 1.5]], F)
    assert abs(got[0] - want) < 1e-6


def test_u_shaped_street_two_corners():
    # P east of the block: around two corners (north-west, north-east; the south route is
    # the mirror image with the same loss). A one-corner path does not exist.
    t, p = np.array([-20.0, 50.0]), np.array([120.0, 50.0])
    c1, c2 = np.array([-NUDGE, 100 + NUDGE]), np.array([100 + NUDGE, 100 + NUDGE])
    a, b, c = np.linalg.norm(c1 - t), np.linalg.norm(c2 - c1), np.linalg.norm(p - c2)
    want = 20 * math.log10(4 * math.pi * math.hypot(a + b + c, 3.5) / LAM) \
        + _turn(a, b, _angle(c1 - t, c2 - c1)) + _turn(a + b, c, _angle(c2 - c1, p - c2))
    got, first = best_dominant_path(_block(), [-20.0, 50.0, 5.0], [[120.0, 50.0, 1.5]], F,
                                    return_points=True, min_corners=2)
    assert abs(got[0] - want) < 1e-6
    assert abs(first[0, 0] + NUDGE) < 1e-9 and abs(abs(first[0, 1] - 50.0) - 50.0 - NUDGE) < 1e-9
    # Weight 0.5 halves the corners' losses.
    half = best_dominant_path(_block(), [-20.0, 50.0, 5.0], [[120.0, 50.0, 1.5]], F, weight=0.5)
    fs = 20 * math.log10(4 * math.pi * math.hypot(a + b + c, 3.5) / LAM)
    assert abs(half[0] - (fs + 0.5 * (want - fs))) < 1e-6


def test_walled_in_receivers_see_no_start_and_skip_nothing_else():
    # Brute force: every segment from a start to a walled-in receiver is blocked (exact 3D),
    # and the chains found with the shortcut equal those found with the grid's own look-up.
    rng = np.random.default_rng(7)
    b = random_city(rng)
    prisms = building_prisms(b)
    starts = np.column_stack([rng.uniform(-20, 260, (40, 2)), rng.uniform(1.2, 1.6, 40)])
    rx = np.column_stack([rng.uniform(-20, 260, (2000, 2)), np.full(2000, 1.5)])
    inside = np.zeros(len(rx), bool)
    inside[footprint_hits(prisms, rx)[0]] = True
    w = walled_in(prisms, starts, rx)
    assert w.sum() > 200 and not (w & ~inside).any()
    s, p = np.meshgrid(np.arange(len(starts)), np.flatnonzero(w), indexing="ij")
    assert not line_of_sight(prisms, starts[s.ravel()], rx[p.ravel()], check_ends=False).any()
    # A start inside the receiver's building, or one above every roof, walls in nothing.
    assert not walled_in(prisms, np.vstack([starts, rx[w][:1]]), rx[w][:1]).any()
    assert not walled_in(prisms, np.vstack([starts, [0.0, 0.0, 40.0]]), rx).any()
    tx = (120.0, 2.0, 6.0)
    got = best_dominant_path(prisms, tx, rx, F, weight=0.6, return_points=True, min_corners=2,
                             rx_footprints=footprint_hits(prisms, rx))
    ref = best_dominant_path(prisms, tx, rx, F, weight=0.6, return_points=True, min_corners=2)
    assert np.isfinite(ref[0]).sum() > 50
    np.testing.assert_array_equal(got[0], ref[0])
    np.testing.assert_array_equal(got[1], ref[1])
