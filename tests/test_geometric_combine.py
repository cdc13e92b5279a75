"""The geometric model's per-cell combination of paths, against the plain formula (issue 13).

cell_path_gain_db adds the paths' powers at the points off sight only, and only where a path
exists; the plain formula stacks every path at every point (-inf where none) and sums them.
The two must agree to the bit.
"""

import numpy as np
import pytest
import shapely

from twin3d.model import Buildings
from twin3d.physics.cellmaps import CellSpec
from twin3d.physics.geometric import model, reflection
from twin3d.physics.geometric.los3d import building_prisms


def plain_cell_path_gain_db(spec, paths, pts, combine, nlos_offset_db):
    a = np.asarray(spec.antenna_xyz_m, float)
    g_d = model._gain(spec, model._angles(a, pts))
    terms = [g_d - paths["rooftop"]]
    for name, xyz in model.INDIRECT:
        if name not in paths:
            continue
        ok = np.isfinite(paths[name])
        g = np.full(len(pts), -np.inf)
        if ok.any():
            g_dep = g_d[ok] if xyz is None else model._gain(spec, model._angles(a, paths[xyz][ok]))
            g[ok] = g_dep - paths[name][ok]
        terms.append(g)
    terms = np.stack(terms)
    nlos = terms.max(axis=0) if combine == "min" else \
        10.0 * np.log10(np.sum(10.0 ** (terms / 10.0), axis=0))
    return np.where(paths["los"], g_d - paths["direct"], nlos - nlos_offset_db)


def random_paths(rng, n):
    pts = np.column_stack([rng.uniform(-300, 300, n), rng.uniform(-300, 300, n), np.full(n, 1.5)])
    los = rng.random(n) < 0.2
    paths = {"los": los, "direct": rng.uniform(60, 120, n), "rooftop": rng.uniform(80, 200, n)}
    for name, xyz in model.INDIRECT:
        if name == "reflection2":
            continue                                  # a path the site did not compute
        v = np.where(rng.random(n) < 0.3, rng.uniform(70, 180, n), np.inf)
        v[los & (rng.random(n) < 0.5)] = np.inf       # computed off sight only (mostly)
        paths[name] = v
        if xyz is not None:
            paths[xyz] = np.where(np.isfinite(v)[:, None],
                                  rng.uniform(-200, 200, (n, 3)) * [1, 1, 0.1], np.nan)
    return pts, paths


@pytest.mark.parametrize("combine", ["sum", "min"])
def test_combination_equals_the_plain_formula(combine):
    rng = np.random.default_rng(3)
    pts, paths = random_paths(rng, 4000)
    memo = {}
    for az in (0.0, 120.0, 240.0):                    # three sectors share the site's angles
        spec = CellSpec((0.0, 0.0, 25.0), 25.0, az, 6.0, 0.0, 3.5e9, 20e6, 8.0, 65.0)
        got = model.cell_path_gain_db(spec, paths, pts, combine=combine, nlos_offset_db=-1.5,
                                      angles=memo)
        want = plain_cell_path_gain_db(spec, paths, pts, combine, -1.5)
        np.testing.assert_array_equal(got, want)
        assert np.isfinite(got).all() and (got[~paths["los"]] != got[~paths["los"]][0]).any()
    with pytest.raises(ValueError, match="combine"):
        model.cell_path_gain_db(spec, paths, pts, combine="max")


def test_lit_walls_remembered_per_transmitter():
    b = Buildings(["a", "b"], np.array([shapely.box(0, 0, 20, 20), shapely.box(40, 0, 60, 30)]),
                  np.array([15.0, 25.0]), np.zeros(2), ["yes"] * 2, ["t"] * 2)
    pr, pr2 = building_prisms(b), building_prisms(b)
    tx1, tx2 = [30.0, -30.0, 10.0], [-30.0, 10.0, 10.0]
    first = reflection.lit_walls(pr, tx1, 500.0)
    plain = reflection._lit_walls(pr, np.asarray(tx1), 500.0, 5)
    np.testing.assert_array_equal(first, plain)
    assert reflection.lit_walls(pr, tx1, 500.0) is first              # remembered
    other = reflection.lit_walls(pr, tx2, 500.0)
    np.testing.assert_array_equal(other, reflection._lit_walls(pr, np.asarray(tx2), 500.0, 5))
    assert not np.array_equal(np.sort(other), np.sort(first))
    assert reflection.lit_walls(pr2, tx1, 500.0) is not first         # other prisms: recomputed
    assert not first.flags.writeable
