"""Two wall reflections in a street canyon (issue 13) against the image method by hand."""

import math

import numpy as np
import shapely

from twin3d.model import Buildings
from twin3d.physics.geometric.los3d import building_prisms
from twin3d.physics.geometric.reflection2 import best_double_reflection

C = 299_792_458.0


def _canyon(extra=()):
    feet = [shapely.box(-50, -20, 150, 0), shapely.box(-50, 20, 150, 40), *extra]
    n = len(feet)
    return building_prisms(Buildings([f"b{i}" for i in range(n)], np.array(feet),
                                     np.full(n, 30.0), np.zeros(n), ["yes"] * n, ["tag"] * n))


def _concrete_loss_db(graze, f):
    # Fresnel coefficients of concrete (eps_r 5.24, sigma 0.0462 f_GHz^0.7822), mean of |TE|, |TM|.
    eps = 5.24 - 1j * 0.0462 * (f / 1e9) ** 0.7822 / (2 * math.pi * f * 8.8541878128e-12)
    s, c2 = math.sin(graze), math.cos(graze) ** 2
    root = np.sqrt(eps - c2)
    te = (s - root) / (s + root)
    tm = (eps * s - root) / (eps * s + root)
    return -20 * math.log10(0.5 * (abs(te) + abs(tm)))


def test_two_wall_canyon_path_by_hand():
    # Street between y = 0 and y = 20. T = (0, 5, 10) mirrored in y = 0 gives T1 = (0, -5),
    # T1 mirrored in y = 20 gives T2 = (0, 45); P = (100, 15, 1.5). Unfolded plan length
    # |T2 P| = sqrt(100^2 + 30^2); R2 = (83.33, 20), R1 = (16.67, 0); both grazing angles
    # atan(30 / 100). (Reflecting first in y = 20 gives a longer path, 50 m across.)
    f = 3.5e9
    got, where = best_double_reflection(_canyon(), [0.0, 5.0, 10.0], [[100.0, 15.0, 1.5]], f,
                                        return_points=True)
    plan = math.hypot(100.0, 30.0)
    length = math.hypot(plan, 8.5)
    want = 20 * math.log10(4 * math.pi * length * f / C) + 2 * _concrete_loss_db(math.atan(0.3), f)
    assert abs(got[0] - want) < 1e-6
    z1 = 10.0 - 8.5 * math.hypot(100 / 6, 5.0) / plan
    np.testing.assert_allclose(where[0], [100 / 6, 0.0, z1], atol=1e-6)


def test_blocked_canyon_has_no_two_wall_path():
    # A block across the street between the two bounces: every two-wall path is cut.
    got = best_double_reflection(_canyon([shapely.box(48, 0, 52, 20)]), [0.0, 5.0, 10.0],
                                 [[100.0, 15.0, 1.5]], 3.5e9)
    assert np.isinf(got[0])
