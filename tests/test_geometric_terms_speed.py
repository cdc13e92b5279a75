"""The faster two-wall reflection and corner-chain terms against their plain copies.

``tests/geometric_v1/reflection2.py`` and ``dominant_path.py`` are the terms
before their speed work (issue 13); on random city blocks and street-level
and rooftop transmitters the new kernels must give the same losses.
"""

import numpy as np
import pytest

from twin3d.physics.geometric.dominant_path import best_dominant_path
from twin3d.physics.geometric.los3d import building_prisms
from twin3d.physics.geometric.reflection2 import best_double_reflection

from geometric_v1 import dominant_path as dominant_v1
from geometric_v1 import reflection2 as reflection2_v1
from test_geometric_speed import random_city


def _receivers(rng, n=3000, size_m=240.0):
    xy = rng.uniform(-20.0, size_m + 20.0, (n, 2))
    return np.column_stack([xy, np.full(n, 1.5)])


def _transmitters(rng, buildings):
    k = int(np.argmax(buildings.heights_m))
    c = buildings.footprints[k].representative_point()
    return [(c.x, c.y, float(buildings.heights_m[k]) + 3.0), (rng.uniform(0, 240.0), 3.0, 10.0),
            (120.0, 2.0, 6.0)]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_double_reflection_same_as_plain_copy(seed):
    rng = np.random.default_rng(seed)
    b = random_city(rng)
    rx = _receivers(rng)
    n_found = 0
    prisms = building_prisms(b)              # shared: the canyon partners it remembers grow per site
    for tx in _transmitters(rng, b):
        new, new_xyz = best_double_reflection(prisms, tx, rx, 3.5e9, return_points=True)
        ref, ref_xyz = reflection2_v1.best_double_reflection(building_prisms(b), tx, rx, 3.5e9,
                                                             return_points=True)
        np.testing.assert_array_equal(np.isfinite(new), np.isfinite(ref))
        ok = np.isfinite(ref)
        np.testing.assert_allclose(new[ok], ref[ok], atol=1e-9)
        np.testing.assert_allclose(new_xyz[ok], ref_xyz[ok], atol=1e-6)
        n_found += int(ok.sum())
    assert n_found > 50                                  # the scenes do have canyon paths


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("min_corners", [1, 2])
def test_dominant_path_same_as_plain_copy(seed, min_corners):
    rng = np.random.default_rng(seed)
    b = random_city(rng)
    rx = _receivers(rng)
    n_found = 0
    prisms = building_prisms(b)
    for tx in _transmitters(rng, b):
        new, new_xyz = best_dominant_path(prisms, tx, rx, 3.5e9, weight=0.6,
                                          return_points=True, min_corners=min_corners)
        ref, ref_xyz = dominant_v1.best_dominant_path(building_prisms(b), tx, rx, 3.5e9, weight=0.6,
                                                      return_points=True, min_corners=min_corners)
        np.testing.assert_array_equal(np.isfinite(new), np.isfinite(ref))
        ok = np.isfinite(ref)
        np.testing.assert_allclose(new[ok], ref[ok], atol=1e-9)
        np.testing.assert_allclose(new_xyz[ok], ref_xyz[ok], atol=1e-6)
        n_found += int(ok.sum())
    assert n_found > 50


@pytest.mark.parametrize("rounds", [4, 8])
def test_double_reflection_on_a_grid_same_as_plain_copy(rounds):
    """Receivers on a 5 m grid fill the 40 m tiles whose image-cone test leaves pairs out."""
    rng = np.random.default_rng(7)
    b = random_city(rng)
    gx, gy = np.meshgrid(np.arange(-20.0, 260.0, 5.0), np.arange(-20.0, 260.0, 5.0))
    rx = np.column_stack([gx.ravel(), gy.ravel(), np.full(gx.size, 1.5)])
    prisms = building_prisms(b)
    n_found = 0
    for tx in _transmitters(rng, b):
        new, new_xyz = best_double_reflection(prisms, tx, rx, 3.5e9, max_rounds=rounds,
                                              return_points=True)
        ref, ref_xyz = reflection2_v1.best_double_reflection(building_prisms(b), tx, rx, 3.5e9,
                                                             max_rounds=rounds, return_points=True)
        np.testing.assert_array_equal(np.isfinite(new), np.isfinite(ref))
        ok = np.isfinite(ref)
        np.testing.assert_allclose(new[ok], ref[ok], atol=1e-9)
        np.testing.assert_allclose(new_xyz[ok], ref_xyz[ok], atol=1e-6)
        n_found += int(ok.sum())
    assert n_found > 200
