"""One street-canyon wall reflection (issue 13) against the image method worked by hand."""

import cmath
import math

import numpy as np
import shapely

from twin3d.model import Buildings
from twin3d.physics.geometric.los3d import building_prisms
from twin3d.physics.geometric.reflection import (best_single_reflection, image_point_2d,
                                                 single_reflections)

C = 299_792_458.0
F = 3.5e9


def _concrete_loss_db(psi):
    """Mean |Gamma_TE|, |Gamma_TM| of concrete (P.2040: eps 5.24, sigma 0.0462 f^0.7822)."""
    eps = complex(5.24, -0.0462 * 3.5 ** 0.7822 / (2 * math.pi * F * 8.8541878128e-12))
    root = cmath.sqrt(eps - math.cos(psi) ** 2)
    te = (math.sin(psi) - root) / (math.sin(psi) + root)
    tm = (eps * math.sin(psi) - root) / (eps * math.sin(psi) + root)
    return -20 * math.log10((abs(te) + abs(tm)) / 2)


def _wall(x0=-100.0, x1=100.0, extra=()):
    """A 20 m tall block south of the line y = 0 (its north wall at y = 0), plus extra boxes."""
    feet = [shapely.box(x0, -20, x1, 0), *extra]
    n = len(feet)
    return Buildings([f"b{i}" for i in range(n)], np.array(feet, dtype=object), np.full(n, 20.0),
                     np.zeros(n), ["yes"] * n, ["tag"] * n)


def test_single_wall_by_hand():
    tx, rx = np.array([0.0, 10.0, 10.0]), np.array([[60.0, 20.0, 1.5]])
    # By hand: image (0, -10); T' -> P crosses y = 0 a third of the way, at R = (20, 0).
    assert image_point_2d(tx[:2], [-100, 0], [100, 0]).tolist() == [0.0, -10.0]
    legs = math.hypot(20, 10) + math.hypot(40, 20)               # |TR| + |RP| in plan
    assert abs(legs - math.hypot(60, 30)) < 1e-12                # = |T'P|
    z_r = 10.0 + (1.5 - 10.0) / 3.0
    length = math.hypot(legs, 8.5)
    psi = math.atan2(10, 20)                                     # in = out: atan(20 / 40) too
    assert abs(psi - math.atan2(20, 40)) < 1e-12
    prisms = building_prisms(_wall())
    wall, pi, r, ln, graze = single_reflections(tx, rx, prisms.edges, prisms.top_z[prisms.edge_building])
    assert len(pi) == 1 and pi[0] == 0
    np.testing.assert_allclose(r[0], [20.0, 0.0, z_r], atol=1e-9)
    assert abs(ln[0] - length) < 1e-9 and abs(graze[0] - psi) < 1e-12
    want = 20 * math.log10(4 * math.pi * length * F / C) + _concrete_loss_db(psi)
    got = best_single_reflection(prisms, tx, rx, F)
    assert abs(got[0] - want) < 1e-9


def test_reflection_needs_the_wall_and_clear_legs():
    tx, rx = np.array([0.0, 10.0, 10.0]), np.array([[60.0, 20.0, 1.5]])
    # The wall ends before the reflection point x = 20.
    assert np.isinf(best_single_reflection(building_prisms(_wall(x1=15.0)), tx, rx, F)[0])
    # A 20 m block on the leg R -> P (it crosses x = 40 at y = 10).
    blocked = _wall(extra=[shapely.box(38, 8, 42, 12)])
    assert np.isinf(best_single_reflection(building_prisms(blocked), tx, rx, F)[0])
    # A wall lower than the reflection point (z_R = 7.2 m) reflects nothing.
    low = Buildings(["b"], np.array([shapely.box(-100, -20, 100, 0)]), np.array([5.0]), np.zeros(1),
                    ["yes"], ["tag"])
    assert np.isinf(best_single_reflection(building_prisms(low), tx, rx, F)[0])
