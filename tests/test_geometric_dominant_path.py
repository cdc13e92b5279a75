"""Dominant paths over chains of corners (issue 13) against hand-built street cases."""

import math

import numpy as np
import shapely

from twin3d.model import Buildings
from twin3d.physics.geometric.dominant_path import best_dominant_path
from twin3d.physics.geometric.los3d import building_prisms

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
