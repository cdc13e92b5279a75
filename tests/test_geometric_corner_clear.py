"""The one-corner term over every corner equals the plain scan of every corner (issue 13).

``corner.best_corner_path(max_rounds=None)`` (``[radio.geometric]
corner_rounds = 0``) walks each receiver's corners lazily
(:mod:`twin3d.physics.geometric.corner_clear`) and keeps the least-loss one
with both legs clear. ``geometric_v1``'s plain search, which ranks every
corner of every receiver and tests them in order, gives the same with as
many rounds as there are corners.
"""

import numpy as np
import pytest
from geometric_v1 import corner as corner_v1
from geometric_v1 import los3d as los3d_v1
from test_geometric_speed import random_city, specs_of

from twin3d.physics.geometric import corner, los3d, model


@pytest.mark.parametrize("seed, site", [(4, 0), (6, 0), (7, 3)])
def test_every_corner_equals_the_plain_scan(seed, site):
    rng = np.random.default_rng(seed)
    b = random_city(rng)
    pr, pr_v1 = los3d.building_prisms(b), los3d_v1.building_prisms(b)
    tx = np.array(specs_of(rng, b)[site].antenna_xyz_m)      # a roof (0) or a 10 m mast (3)
    rx = np.column_stack([rng.uniform(-20, 260, 3000), rng.uniform(-20, 260, 3000),
                          rng.uniform(1.0, 2.0, 3000)])
    rx = rx[~los3d_v1.inside_blocked(pr_v1, rx)]
    n_corners = len(corner.convex_corners(pr)[0])
    for w in (0.6, 1.0):
        got = corner.best_corner_path(pr, tx, rx, 3.5e9, weight=w, max_rounds=None,
                                      return_points=True)
        ref = corner_v1.best_corner_path(pr_v1, tx, rx, 3.5e9, weight=w, max_rounds=n_corners,
                                         return_points=True)
        np.testing.assert_allclose(got[0], ref[0], rtol=0.0, atol=1e-6)
        np.testing.assert_allclose(got[1], ref[1], rtol=0.0, atol=1e-6)
        capped = corner.best_corner_path(pr, tx, rx, 3.5e9, weight=w, max_rounds=12)
        # every corner finds all the capped search finds, at no more loss, and more besides
        assert np.all(got[0][np.isfinite(capped)] <= capped[np.isfinite(capped)] + 1e-9)
        assert np.isfinite(got[0]).sum() > np.isfinite(capped).sum() + 20


def test_corner_rounds_setting_reaches_the_term():
    """``corner_rounds = 0`` in the model's terms is the every-corner search, and it
    changes the map only where the capped search found no corner or a weaker one."""
    rng = np.random.default_rng(8)
    b = random_city(rng)
    pr = los3d.building_prisms(b)
    tx = np.array(specs_of(rng, b)[0].antenna_xyz_m)
    rx = np.column_stack([rng.uniform(-20, 260, 2000), rng.uniform(-20, 260, 2000),
                          np.full(2000, 1.5)])
    rx = rx[~los3d_v1.inside_blocked(los3d_v1.building_prisms(b), rx)]
    g = np.zeros(len(rx))
    every = model.site_paths(pr, tx, rx, g, 3.5e9, **{**model.DEFAULT_TERMS, "corner_rounds": 0})
    capped = model.site_paths(pr, tx, rx, g, 3.5e9, **model.DEFAULT_TERMS)
    want = corner.best_corner_path(pr, tx, rx[~every["los"]], 3.5e9,
                                   weight=model.DEFAULT_TERMS["corner_weight"], max_rounds=None)
    np.testing.assert_array_equal(every["corner"][~every["los"]], want)
    assert np.all(every["corner"] <= capped["corner"])
    assert (every["corner"] < capped["corner"]).sum() > 20
    np.testing.assert_array_equal(every["rooftop"], capped["rooftop"])
