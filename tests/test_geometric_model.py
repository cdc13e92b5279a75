"""The combined geometric model (issue 13) against stored ray-traced references it was not tuned on.

Tuned on macro_hel05 and small_south; held out: macro_hel02, small_west and
the second area's macro_hel03 and small_south2.
The asserted levels are the measured ones minus a margin (Spearman 0.02,
RMSE 0.5 dB), and the model must beat TR 38.901 on the same layout.
"""

from pathlib import Path

import numpy as np
import pytest

from twin3d.physics.geometric.model import geometric_path_gain_db
from twin3d.rt.compare import agreement, model_path_gain_db
from twin3d.rt.references import geometric_terms_of, load_reference

REFS = Path(__file__).parent / "data" / "rt"

# name: (Spearman, RMSE dB) measured against the references of 2026-12-03 afternoon (depth 10,
# walls and roofs with diffuse scattering coefficient 0.3, 1e8 rays per sector, the two
# 3.5 GHz held-out macros 5e8; the points the radio map left at the floor traced again by the
# path solver, twin3d.rt.complete) with the terms tuned on the smooth-walled depth-10
# references and the walls' diffuse scattering at the references' S = 0.3 (model VERSION 7);
# macros per 5 m cell, small cells in 15 m bins. (With VERSION 6, no diffuse term: HEL-02
# 0.916 / 5.97 and 0.868 / 8.05, west 2.65 / 3.61, HEL-03 0.857 / 6.40, south2 0.936 / 9.55.)
HELD_OUT = {"macro_hel02_2100mhz": (0.918, 5.67), "macro_hel02_3500mhz": (0.876, 7.41),
            "small_west_2100mhz": (0.988, 2.59), "small_west_3500mhz": (0.989, 3.17),
            "macro_hel03_3500mhz": (0.875, 6.10), "small_south2_3500mhz": (0.940, 9.52)}


@pytest.mark.parametrize("name", sorted(HELD_OUT))
def test_geometric_beats_38901_on_held_out_layouts(name):
    ref = load_reference(REFS / f"{name}.npz")
    kind = ref.meta["kind"]
    pre = "" if kind == "macro" else "bin_"
    assert geometric_terms_of(ref) == {"scattering": 0.3}       # the walls it was traced with
    ours = geometric_path_gain_db(ref.buildings, ref.grid, ref.specs, ref.ue_height_m,
                                  **geometric_terms_of(ref))
    assert ours.shape == ref.path_gain_db.shape and np.all(ours >= -160.0)
    got = agreement(ours, ref.path_gain_db, ref.buildings, ref.grid, kind)
    base = agreement(model_path_gain_db(ref.buildings, ref.grid, ref.specs, ref.ue_height_m,
                                        "UMa" if kind == "macro" else "UMi"),
                     ref.path_gain_db, ref.buildings, ref.grid, kind)
    rho, rmse = HELD_OUT[name]
    assert got[pre + "spearman"] >= rho - 0.02
    assert got[pre + "rmse_db"] <= rmse + 0.5
    assert got[pre + "spearman"] > base[pre + "spearman"] + 0.05


def test_unknown_term_is_refused():
    ref = load_reference(REFS / "small_west_3500mhz.npz")
    with pytest.raises(ValueError, match="unknown geometric model terms: bogus"):
        geometric_path_gain_db(ref.buildings, ref.grid, ref.specs[:1], bogus=1)


def test_open_ground_is_free_space_plus_antenna_gain():
    import math

    from twin3d.model import Buildings
    from twin3d.physics.cellmaps import CellSpec
    from twin3d.physics.grid import Grid

    empty = Buildings([], np.array([], dtype=object), np.zeros(0), np.zeros(0), [], [])
    spec = CellSpec((0.0, 0.0, 20.0), 20.0, 90.0, 0.0, 0.0, 3.5e9, 20e6, 8.0, 65.0)
    pg = geometric_path_gain_db(empty, Grid(50, -5, 10.0, 3, 1), [spec])[0, 0]
    for x, got in zip((55.0, 65.0, 75.0), pg):
        z_ue = -x * x / (2 * 6_371_000.0) + 1.5              # the ENU ground drops a little
        d3 = math.hypot(x, 20.0 - z_ue)
        elev = math.degrees(math.atan2(20.0 - z_ue, x))             # below the horizon, no tilt
        gain = 8.0 - min(12 * (elev / 65.0) ** 2, 30.0)             # on boresight in azimuth
        assert abs(got - (gain - 20 * math.log10(4 * math.pi * d3 * 3.5e9 / 299_792_458.0))) < 1e-9


def test_engine_feeds_the_cell_map_cache():
    from dataclasses import replace

    from twin3d.physics.cellmaps import CellMapCache, GridContext, cached_cell_maps
    from twin3d.physics.geometric.model import GeometricEngine

    ref = load_reference(REFS / "small_west_3500mhz.npz")
    specs = [replace(s, p_tx_dbm=40.0) for s in ref.specs[:3]]
    engine = GeometricEngine()
    ctx = GridContext(ref.buildings, ref.grid, "UMi", ref.ue_height_m,
                      [s.antenna_xyz_m[:2] for s in specs], engine=engine)
    cache = CellMapCache()
    maps = cached_cell_maps(ctx, specs, cache)
    want = 40.0 + geometric_path_gain_db(ref.buildings, ref.grid, specs, ref.ue_height_m)
    np.testing.assert_array_equal(np.stack(maps), want.reshape(3, -1).astype(np.float32))
    cached_cell_maps(ctx, specs, cache)
    assert (cache.hits, cache.misses) == (3, 3)
    assert GeometricEngine(corner_weight=0.4).key() != engine.key()


def test_path_difference_v_is_closer_where_the_ray_tracer_reaches():
    """v_path_difference (exact v at steep roof edges, on by default): reached-point RMSE
    measured 6.37 dB (7.45 with P.526's height form) on small cells south at 2.1 GHz, the
    other terms at their defaults (6.90 and 7.96 with the defaults before 2026-12-03
    evening); 6.60 against 7.76 dB in 15 m bins."""
    ref = load_reference(REFS / "small_south_2100mhz.npz")
    got = {}
    for exact in (False, True):
        ours = geometric_path_gain_db(ref.buildings, ref.grid, ref.specs, ref.ue_height_m,
                                      v_path_difference=exact)
        got[exact] = agreement(ours, ref.path_gain_db, ref.buildings, ref.grid, "small")
    assert got[True]["reached_rmse_db"] <= 6.37 + 0.5
    assert got[True]["reached_rmse_db"] < got[False]["reached_rmse_db"] - 0.5
    assert got[True]["bin_rmse_db"] < got[False]["bin_rmse_db"] - 0.5
    assert got[True]["bin_spearman"] >= 0.985 - 0.02
