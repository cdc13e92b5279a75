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

from twin3d.physics.geometric import corner, corner_clear, los3d, model


def test_blocked_height_intervals_equal_the_crossing_by_crossing_test():
    """The first leg's blocked-height intervals answer as the crossing-by-crossing test,
    at random heights and at the intervals' own ends; buildings on raised bases (gaps
    between blocked heights), touching intervals and a crossing at t ~ 0 included."""
    rng = np.random.default_rng(11)
    n_b, k_n = 40, 300
    base = np.round(rng.choice([0.0, 0.0, 3.0, 12.0], n_b), 1)
    top = base + np.round(rng.uniform(2.0, 30.0, n_b), 1)
    top[1], base[2], base[3] = 10.0, 10.0, 10.2  # 2 starts where 1 ends, 3 a little above
    n = rng.integers(0, 6, k_n)
    n[[7, 9]] = 5
    x_start = np.concatenate([[0], np.cumsum(n)]).astype(np.int64)
    x_t = np.round(rng.uniform(0.05, 1.0, x_start[-1]), 2)
    x_b = rng.integers(0, n_b, x_start[-1]).astype(np.int64)
    x_t[0] = 1e-9                               # a wall at the antenna itself
    for c, walls in ((7, [1, 2, 1, 2, 1]), (9, [1, 3, 3, 1, 1])):
        x_t[x_start[c]:x_start[c + 1]], x_b[x_start[c]:x_start[c + 1]] = 0.5, walls
    tx = np.array([0.0, 0.0, 20.0])
    iv_start, lo, hi = corner_clear.blocked_heights(tx[2], x_start, x_t, x_b, base, top)
    assert np.all(np.diff(iv_start) <= n) and np.all(lo[~np.isnan(lo)] < hi[~np.isnan(lo)])
    checked = blocked = 0
    for c in range(k_n):
        # each crossing's own blocked heights, their ends and just outside them
        x = slice(x_start[c], x_start[c + 1])
        ends = np.concatenate([tx[2] + (base[x_b[x]] - tx[2]) / x_t[x],
                               tx[2] + (top[x_b[x]] - tx[2]) / x_t[x]])
        zs = np.concatenate([rng.uniform(-5.0, 80.0, 40), ends, ends - 0.01, ends + 0.01])
        for cz in zs[np.isfinite(zs)]:
            fast = corner_clear._first_leg_blocked(c, cz, tx, x_start, x_t, x_b, base, top,
                                                   iv_start, lo, hi)
            assert fast == corner_clear._crossing_blocks(c, cz, tx, x_start, x_t, x_b, base, top)
            checked += 1
            blocked += fast
    assert checked > 10000 and 0.2 < blocked / checked < 0.8


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


def _city_site_receivers(seed):
    """A random city's prisms, one of its rooftop antennas and up to 2,000 outdoor receivers
    1.5 m up (with zero ground heights)."""
    rng = np.random.default_rng(seed)
    b = random_city(rng)
    tx = np.array(specs_of(rng, b)[0].antenna_xyz_m)
    rx = np.column_stack([rng.uniform(-20, 260, 2000), rng.uniform(-20, 260, 2000),
                          np.full(2000, 1.5)])
    rx = rx[~los3d_v1.inside_blocked(los3d_v1.building_prisms(b), rx)]
    return los3d.building_prisms(b), tx, rx, np.zeros(len(rx))


def test_corner_rounds_setting_reaches_the_term():
    """``corner_rounds = 0`` (the default) in the model's terms is the every-corner search,
    and it changes the map only where the capped search (``corner_rounds = 12``) found no
    corner or a weaker one."""
    pr, tx, rx, g = _city_site_receivers(8)
    assert model.DEFAULT_TERMS["corner_rounds"] == 0
    every = model.site_paths(pr, tx, rx, g, 3.5e9, **model.DEFAULT_TERMS)
    capped = model.site_paths(pr, tx, rx, g, 3.5e9, **{**model.DEFAULT_TERMS, "corner_rounds": 12})
    want = corner.best_corner_path(pr, tx, rx[~every["los"]], 3.5e9,
                                   weight=model.DEFAULT_TERMS["corner_weight"], max_rounds=None,
                                   max_leg_m=model.DEFAULT_TERMS["corner_leg_m"])
    np.testing.assert_array_equal(every["corner"][~every["los"]], want)
    assert np.all(every["corner"] <= capped["corner"])
    assert (every["corner"] < capped["corner"]).sum() > 20
    np.testing.assert_array_equal(every["rooftop"], capped["rooftop"])


def test_corner_leg_setting_reaches_the_term():
    """``corner_leg_m`` (default 150 m) bounds the one-corner term's second leg: the model's
    corner term is the search with that bound, and a shorter bound drops the paths whose
    corner lies further from the receiver (never adds one)."""
    pr, tx, rx, g = _city_site_receivers(9)
    assert model.DEFAULT_TERMS["corner_leg_m"] == 150.0
    got = {}
    for leg in (200.0, 60.0):
        paths = model.site_paths(pr, tx, rx, g, 3.5e9, **{**model.DEFAULT_TERMS, "corner_leg_m": leg})
        nl = ~paths["los"]
        want = corner.best_corner_path(pr, tx, rx[nl], 3.5e9, max_rounds=None, max_leg_m=leg,
                                       weight=model.DEFAULT_TERMS["corner_weight"])
        np.testing.assert_array_equal(paths["corner"][nl], want)
        got[leg] = paths
    far, near = got[200.0], got[60.0]
    assert np.all(near["corner"] >= far["corner"])
    lost = np.isfinite(far["corner"]) & np.isinf(near["corner"])
    assert lost.sum() > 20
    leg_m = np.hypot(*(rx[lost, :2] - far["corner_xyz"][lost, :2]).T)
    assert leg_m.min() > 60.0 - 1e-6 and leg_m.max() <= 200.0 + 1e-6
