"""One-corner lateral diffraction (issue 13) worked by hand on one block."""

import math

import numpy as np
import shapely

from twin3d.model import Buildings
from twin3d.physics.geometric.corner import NUDGE_M, best_corner_path, convex_corners
from twin3d.physics.geometric.los3d import building_prisms, line_of_sight

C = 299_792_458.0


def test_single_corner_by_hand():
    b = Buildings(["b"], np.array([shapely.box(0, 0, 40, 40)]), np.array([30.0]), np.zeros(1),
                  ["yes"], ["tag"])
    prisms = building_prisms(b)
    xy, top = convex_corners(prisms)
    assert len(xy) == 4 and np.allclose(top, 30.0)
    tx, rx = np.array([20.0, -20.0, 10.0]), np.array([[-20.0, 30.0, 1.5]])
    assert not line_of_sight(prisms, tx, rx)[0]                # the block hides the receiver
    # By hand: around the corner (0, 0), moved NUDGE_M out along the diagonal.
    c = np.array([-1.0, -1.0]) * NUDGE_M / math.sqrt(2)
    d1, d2 = math.dist(tx[:2], c), math.dist(c, rx[0, :2])
    u, w = (c - tx[:2]) / d1, (rx[0, :2] - c) / d2
    theta = math.acos(float(u @ w))
    lam = C / 3.5e9
    v = theta * math.sqrt(2 * d1 * d2 / (lam * (d1 + d2)))
    j = 6.9 + 20 * math.log10(math.sqrt((v - 0.1) ** 2 + 1) + v - 0.1)
    length = math.hypot(d1 + d2, 10.0 - 1.5)
    want = 20 * math.log10(4 * math.pi * length / lam) + j
    loss, where = best_corner_path(prisms, tx, rx, 3.5e9, return_points=True)
    assert abs(loss[0] - want) < 1e-9
    np.testing.assert_allclose(where[0], [c[0], c[1], 10.0 + (1.5 - 10.0) * d1 / (d1 + d2)])
    half = best_corner_path(prisms, tx, rx, 3.5e9, weight=0.5)
    assert abs(half[0] - (want - 0.5 * j)) < 1e-9
    # A receiver no single corner reaches (straight behind the block, both far corners hidden).
    assert np.isinf(best_corner_path(prisms, tx, [[20.0, 60.0, 1.5]], 3.5e9)[0])
