"""The geometric model's exact LOS is the LOS the rest of twin3d reads.

``RadioMap.los`` and calibration's LOS/NLOS split come from
:func:`twin3d.physics.cellmaps.site_los`; under the geometric model that is
the model's own exact 3D test (the one its map decides the direct path by),
not the building raster's viewshed.
"""

from pathlib import Path

import numpy as np
import pytest

from twin3d.physics.calibration import environment_index
from twin3d.physics.cellmaps import CellMapCache, GridContext, calibration_features, site_los
from twin3d.physics.geometric.los3d import building_prisms
from twin3d.physics.geometric.model import GeometricEngine, site_paths
from twin3d.physics.los import viewshed_los
from twin3d.radio_cache import DiskCachedEngine, disk_cached
from twin3d.rt.references import load_reference

REF = Path(__file__).parent / "data" / "rt" / "small_west_3500mhz.npz"


@pytest.fixture(scope="module")
def west():
    ref = load_reference(REF)
    ctx = GridContext(ref.buildings, ref.grid, "geometric", ref.ue_height_m,
                      [s.antenna_xyz_m[:2] for s in ref.specs], engine=GeometricEngine())
    return ref, ctx


def test_site_los_is_the_models_direct_path_test(west):
    ref, ctx = west
    prisms = building_prisms(ref.buildings)
    pts = np.column_stack([ctx.gx, ctx.gy, ctx.ue_z])
    ground = ctx.ue_z - ref.ue_height_m
    for a in sorted({s.antenna_xyz_m for s in ref.specs}):
        got = site_los(ctx, a)
        want = site_paths(prisms, a, pts, ground, ref.specs[0].f_hz)["los"]
        np.testing.assert_array_equal(got, want)
        assert not got[ctx.indoor].any()                 # the direct ray enters the building
        assert 0.05 < got.mean() < 0.95
        raster = viewshed_los(ctx.raster, a, ctx.gx, ctx.gy, ctx.ue_z, ctx.indoor)
        # not the viewshed: it calls indoor points in sight of their wall, and differs at edges
        assert (raster[~ctx.indoor] != got[~ctx.indoor]).any()


def test_calibration_split_uses_the_exact_los(west):
    ref, ctx = west
    a = ref.specs[0].antenna_xyz_m
    cache = CellMapCache()
    env, _ = calibration_features(ctx, a, cache)
    np.testing.assert_array_equal(env, environment_index(ctx.indoor, site_los(ctx, a, cache)))
    assert (cache.los_misses, cache.los_hits) == (1, 1)   # one test per antenna, then cached


def test_disk_cache_forwards_the_engines_los(west, tmp_path):
    ref, ctx = west
    wrapped = disk_cached(GeometricEngine(), tmp_path)
    assert isinstance(wrapped, DiskCachedEngine) and wrapped.line_of_sight is not None
    ctx2 = GridContext(ref.buildings, ref.grid, "geometric", ref.ue_height_m,
                       [s.antenna_xyz_m[:2] for s in ref.specs], engine=wrapped)
    a = ref.specs[0].antenna_xyz_m
    np.testing.assert_array_equal(site_los(ctx2, a), site_los(ctx, a))

    class GainOnly:                                      # an engine with no LOS test of its own
        def key(self):
            return ("flat", 1)

        def path_gain_db(self, buildings, grid, specs, ue_height_m):
            return np.zeros((len(specs),) + tuple(grid.shape))

    assert disk_cached(GainOnly(), tmp_path).line_of_sight is None
    ctx3 = GridContext(ref.buildings, ref.grid, "UMi", ref.ue_height_m,
                       [s.antenna_xyz_m[:2] for s in ref.specs], engine=disk_cached(GainOnly(), tmp_path))
    np.testing.assert_array_equal(site_los(ctx3, a),
                                  viewshed_los(ctx3.raster, a, ctx3.gx, ctx3.gy, ctx3.ue_z, ctx3.indoor))
