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


@pytest.mark.parametrize("weight", [0.0, 0.6])
def test_dijkstra_heap_settles_as_the_plain_scan(weight):
    """The heap search settles the corners in the plain scan's order, ties to the lower index:
    in a layout symmetric about the transmitter's meridian, mirrored corners cost the same and
    both reach the diamond's corner on the meridian at the same cost; the first settled wins."""
    import shapely

    from geometric_v1.dominant_path import dijkstra_corners as dijkstra_v1
    from twin3d.model import Buildings
    from twin3d.physics.geometric.dominant_path import corner_graph, dijkstra_corners

    shapes = [shapely.box(-45.0, -60.0, -15.0, -30.0), shapely.box(15.0, -60.0, 45.0, -30.0),
              shapely.Polygon([(0.0, 0.0), (10.0, 10.0), (0.0, 20.0), (-10.0, 10.0)])]
    n = len(shapes)
    b = Buildings([f"b{i}" for i in range(n)], np.array(shapes, dtype=object), np.full(n, 20.0),
                  np.zeros(n), ["yes"] * n, ["t"] * n)
    g = corner_graph(building_prisms(b))
    tx = np.array([0.0, -100.0, 10.0])
    vis = np.hypot(g.xyz[:, 0] - tx[0], g.xyz[:, 1] - tx[1]) < 90.0    # the boxes' corners start
    new = dijkstra_corners(g, tx, vis, 3.5e9, weight=weight)
    ref = dijkstra_v1(g, tx, vis, 3.5e9, weight=weight)
    for k in ("acc_db", "length_m", "dir", "root"):
        np.testing.assert_array_equal(new[k], ref[k])
    axis = np.flatnonzero((g.xyz[:, 0] == 0.0) & (g.xyz[:, 1] < 0.0))    # the diamond's bottom
    assert len(axis) == 1 and new["root"][axis[0]] >= 0 and not vis[axis[0]]
