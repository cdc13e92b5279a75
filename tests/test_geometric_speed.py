"""The fast geometric model gives the path gains of the plain one it replaced (issue 13).

``geometric_v1`` (under tests/) is the model before the speed work: full
scans of every corner and wall per receiver, numpy Deygout, a bucket walk
for every ray. The kernels that replaced them (tiled candidate searches
with loss bounds, compiled Deygout, an angular index of the walls around
each antenna) are meant to be exact, so the two must agree to 1e-6 dB on
random city blocks: rooftop and street-level antennas, courtyards (holes),
buildings touching each other.
"""

import numpy as np
import pytest
import shapely
from geometric_v1 import corner as corner_v1
from geometric_v1 import los3d as los3d_v1
from geometric_v1 import model as model_v1
from geometric_v1 import reflection as reflection_v1

from twin3d.model import Buildings
from twin3d.physics.cellmaps import CellSpec
from twin3d.physics.geometric import corner, los3d, model, reflection
from twin3d.physics.grid import Grid


def random_city(rng, n_blocks=6, size_m=240.0):
    """Blocks of touching buildings on a street grid, some with courtyards."""
    polys, heights = [], []
    step = size_m / n_blocks
    for i in range(n_blocks):
        for j in range(n_blocks):
            if rng.random() < 0.25:
                continue                                       # a square
            x0, y0 = i * step + 8.0, j * step + 8.0
            w = step - 16.0
            cut = x0 + w * rng.uniform(0.3, 0.7)
            for a, b in ((x0, cut), (cut, x0 + w)):              # two buildings sharing a wall
                p = shapely.box(a, y0, b, y0 + w * rng.uniform(0.6, 1.0))
                if rng.random() < 0.3 and b - a > 20:
                    p = p.difference(p.centroid.buffer(4.0, quad_segs=2))   # a courtyard
                p = shapely.affinity.rotate(p, rng.uniform(-6, 6), origin=(size_m / 2, size_m / 2))
                polys.append(p)
                heights.append(rng.uniform(8.0, 35.0))
    n = len(polys)
    return Buildings([f"b{i}" for i in range(n)], np.array(polys, dtype=object), np.array(heights),
                     np.zeros(n), ["yes"] * n, ["t"] * n)


def specs_of(rng, buildings):
    """Three sectors on a roof (antenna 3 m above it) and one street-level mast."""
    k = int(np.argmax(buildings.heights_m))
    c = buildings.footprints[k].representative_point()
    roof = (c.x, c.y, float(buildings.heights_m[k]) + 3.0)
    street = (rng.uniform(0, 240.0), 3.0, 10.0)
    out = [CellSpec(roof, 3.0, az, 6.0, 0.0, 3.5e9, 20e6, 8.0, 65.0) for az in (0.0, 120.0, 240.0)]
    return out + [CellSpec(street, 10.0, 0.0, 0.0, 0.0, 2.1e9, 20e6, 8.0, 65.0)]


V1_TERMS = {**model_v1.DEFAULT_TERMS, "transmission": False, "reflections2": False,
            "dominant_path": False, "corner_rounds": 12, "corner_slabs": 0,
            "v_path_difference": False, "reflection_slabs": 0, "reflection_inside": False,
            "corner_leg_m": 300.0, "scattering": 0.0}


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_fast_model_equals_the_plain_one(seed):
    rng = np.random.default_rng(seed)
    b = random_city(rng)
    specs = specs_of(rng, b)
    grid = Grid(-20.0, -20.0, 5.0, 56, 56)
    # the terms the plain copy has, at its settings (the later terms switched off)
    got = model.geometric_path_gain_db(b, grid, specs, **V1_TERMS)
    ref = model_v1.geometric_path_gain_db(b, grid, specs)
    assert np.isfinite(got).all() and (got > -160.0).mean() > 0.6
    # outdoors the same paths; indoors (a later change, tests/test_geometric_indoor.py) the
    # plain model's outdoor gain at the nearest outdoor point less the O2I loss
    xs, ys = grid.centers()
    gx, gy = (v.ravel() for v in np.meshgrid(xs, ys))
    inside = np.zeros(gx.size, bool)
    for fp in b.footprints:
        inside |= shapely.contains_xy(fp, gx, gy)
    got, ref = got.reshape(len(specs), -1), ref.reshape(len(specs), -1)
    np.testing.assert_allclose(got[:, ~inside], ref[:, ~inside], rtol=0.0, atol=1e-6)
    assert inside.sum() > 100
    out = np.flatnonzero(~inside)
    f = np.array([s.f_hz for s in specs]) / 1e9
    l_tw = 5.0 - 10 * np.log10(0.3 * 10 ** (-(2 + 0.2 * f) / 10) + 0.7 * 10 ** (-(5 + 4 * f) / 10))
    for i in np.flatnonzero(inside)[::17]:
        dist = np.hypot(gx[out] - gx[i], gy[out] - gy[i])
        near = out[dist <= dist.min() + 1e-9]            # equally near outdoor points: any one
        d_in = [shapely.distance(shapely.Point(gx[i], gy[i]), fp.boundary)
                for fp in b.footprints if shapely.contains_xy(fp, gx[i], gy[i])]
        if len(d_in) > 1:
            continue                                     # in two overlapping footprints
        d_in = d_in[0]
        want = np.maximum(ref[:, near] - (l_tw + 0.5 * min(d_in, 25.0))[:, None], -160.0)
        assert np.any(np.all(np.abs(want - got[:, [i]]) < 1e-6, axis=0)), i


@pytest.mark.parametrize("seed", [4, 5])
def test_fast_terms_equal_the_plain_ones(seed):
    """Term by term, with non-default settings (unit corner weight, few rounds)."""
    rng = np.random.default_rng(seed)
    b = random_city(rng)
    pr, pr_v1 = los3d.building_prisms(b), los3d_v1.building_prisms(b)
    tx = np.array(specs_of(rng, b)[0].antenna_xyz_m)
    rx = np.column_stack([rng.uniform(-20, 260, 3000), rng.uniform(-20, 260, 3000),
                          rng.uniform(1.0, 2.0, 3000)])
    rx = rx[~los3d_v1.inside_blocked(pr_v1, rx)]
    for k_max in (0, 4, 32):
        got = los3d.wall_crossings(pr, tx, rx, 0.0857, k_max)
        ref = los3d_v1.wall_crossings(pr_v1, tx, rx, 0.0857, k_max)
        np.testing.assert_array_equal(got[0], ref[0])
        np.testing.assert_array_equal(got[1], ref[1])
        # Edges at the same t (a wall shared by two buildings) may come in either order.
        key = lambda t, top: np.lexsort((top, t), axis=1)         # noqa: E731
        for a, b in zip(got[2:], ref[2:]):
            np.testing.assert_array_equal(np.take_along_axis(a, key(*got[2:]), 1),
                                          np.take_along_axis(b, key(*ref[2:]), 1))
    assert (~ref[0]).sum() > 100
    for w, rounds in ((1.0, 12), (0.5, 3)):
        got = corner.best_corner_path(pr, tx, rx, 3.5e9, weight=w, max_rounds=rounds, return_points=True)
        ref = corner_v1.best_corner_path(pr_v1, tx, rx, 3.5e9, weight=w, max_rounds=rounds,
                                         return_points=True)
        assert np.isfinite(ref[0]).sum() > 100
        np.testing.assert_allclose(got[0], ref[0], rtol=0.0, atol=1e-6)
        np.testing.assert_allclose(got[1], ref[1], rtol=0.0, atol=1e-6)
    for rounds in (12, 2):
        got = reflection.best_single_reflection(pr, tx, rx, 2.1e9, max_rounds=rounds, return_points=True)
        ref = reflection_v1.best_single_reflection(pr_v1, tx, rx, 2.1e9, max_rounds=rounds,
                                                   return_points=True)
        assert np.isfinite(ref[0]).sum() > 100
        np.testing.assert_allclose(got[0], ref[0], rtol=0.0, atol=1e-6)
        np.testing.assert_allclose(got[1], ref[1], rtol=0.0, atol=1e-6)


def test_footprint_lookup_equals_the_tree_query():
    """Points in footprints, overlapping ones too: the same pairs, in the tree's order."""
    rng = np.random.default_rng(6)
    b = random_city(rng)
    extra = [shapely.box(x, y, x + 30.0, y + 25.0) for x, y in rng.uniform(0, 200, (6, 2))]
    n = len(b) + len(extra)
    b = Buildings([f"b{i}" for i in range(n)], np.array(list(b.footprints) + extra, dtype=object),
                  np.r_[b.heights_m, np.full(len(extra), 12.0)], np.zeros(n), ["yes"] * n, ["t"] * n)
    xy = rng.uniform(-20, 260, (5000, 2))
    got = los3d._within_pairs(b, xy)
    ref = b.tree.query(shapely.points(xy[:, 0], xy[:, 1]), predicate="within")
    assert np.bincount(ref[0]).max() >= 2                    # some points in two footprints
    np.testing.assert_array_equal(got[0], ref[0])
    np.testing.assert_array_equal(got[1], ref[1])


@pytest.mark.parametrize("sub_m", [5.0, 10.0, 40.0])
def test_corner_sub_tiles_keep_the_plain_ranking(monkeypatch, sub_m):
    """The one-corner search's sub-tile bounds only skip corners: on a grid of receivers (tiles
    full of them), any sub-tile side gives the full scan's paths."""
    rng = np.random.default_rng(6)
    b = random_city(rng)
    pr, pr_v1 = los3d.building_prisms(b), los3d_v1.building_prisms(b)
    tx = np.array(specs_of(rng, b)[0].antenna_xyz_m)
    gx, gy = np.meshgrid(np.arange(-20.0, 260.0, 5.0), np.arange(-20.0, 260.0, 5.0))
    rx = np.column_stack([gx.ravel(), gy.ravel(), np.full(gx.size, 1.5)])
    rx = rx[~los3d_v1.line_of_sight(pr_v1, np.broadcast_to(tx, rx.shape), rx)]
    monkeypatch.setattr(corner, "SUB_TILE_M", sub_m)
    for w in (0.6, 1.0):
        got = corner.best_corner_path(pr, tx, rx, 3.5e9, weight=w, return_points=True)
        ref = corner_v1.best_corner_path(pr_v1, tx, rx, 3.5e9, weight=w, return_points=True)
        assert np.isfinite(ref[0]).sum() > 100
        np.testing.assert_array_equal(got[0], ref[0])
        np.testing.assert_array_equal(got[1], ref[1])


def test_tiles_of_sub_tiles_nest_in_tiles():
    rng = np.random.default_rng(0)
    xy = rng.uniform(0.0, 200.0, (500, 2))
    pts, start, sub = corner.tiles_of(xy, 40.0, 20.0)
    pts0, start0 = corner.tiles_of(xy, 40.0)
    np.testing.assert_array_equal(start, start0)              # the same tiles, same sizes
    assert sorted(pts.tolist()) == list(range(500)) and set(start.tolist()) <= set(sub.tolist())
    for a, b in zip(sub[:-1], sub[1:]):                       # each sub-tile: one 20 m square
        cell = np.floor((xy[pts[a:b]] - xy.min(axis=0)) / 20.0)
        assert (cell == cell[0]).all()
    for a, b in zip(start[:-1], start[1:]):
        np.testing.assert_array_equal(np.sort(pts[a:b]), np.sort(pts0[a:b]))
