"""Stored references completed by Sionna's path solver (twin3d.rt.complete).

The stored references' completion records need no Sionna and always run;
the tests that trace are skipped, with the reason, only where the backend
cannot run.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import shapely

from twin3d.model import Buildings
from twin3d.physics.cellmaps import CellSpec
from twin3d.physics.grid import Grid
from twin3d.physics.radio import antenna_gain_db, fspl_db
from twin3d.rt import problem
from twin3d.rt.compare import FLOOR_DB, outdoor_mask
from twin3d.rt.complete import (COMPLETION_KEY, complete_reference, radio_map_only,
                                unreached_points)
from twin3d.rt.references import Reference, load_reference

DATA = Path(__file__).resolve().parent / "data" / "rt"
STORED = sorted(DATA.glob("*.npz")) + sorted(DATA.glob("noise/*.npz"))
WHY = problem()
needs_sionna = pytest.mark.skipif(WHY is not None, reason=f"Sionna RT backend unavailable: {WHY}")

# Points the radio-map solver left at the floor and the path solver filled, as stored
# (depth 10, 1e7 rays per sector, the walls' scattering and diffuse reflection on); the
# held-out 3.5 GHz macros and small cells south2 carry nearly all of them. (floor points, filled)
FILLED = {"macro_hel02_3500mhz": (16, 4), "macro_hel03_3500mhz": (10, 9),
          "small_south_3500mhz": (8, 2), "small_south2_3500mhz": (68, 0)}


@pytest.mark.parametrize("path", STORED, ids=[str(p.relative_to(DATA)) for p in STORED])
def test_stored_reference_records_its_completion(path):
    ref = load_reference(path)
    done = ref.meta[COMPLETION_KEY]
    assert done["solver"] == "PathSolver"
    assert done["max_depth"] == ref.meta["max_depth"] == 10
    assert done["samples_per_tx"] == 10**7
    filled = np.asarray(done["filled_points"], dtype=np.int64)
    assert len(filled) == done["filled"] <= done["floor_points"]
    if path.parent == DATA:       # the others had no point at the floor
        assert (done["floor_points"], done["filled"]) == FILLED.get(ref.name, (0, 0))
    # the filled points are outdoor, reached now, and were at the floor in the radio map
    outdoor = outdoor_mask(ref.buildings, ref.grid).ravel()
    assert outdoor[filled].all()
    best = ref.path_gain_db.reshape(len(ref.specs), -1).max(axis=0)
    assert np.all(best[filled] > FLOOR_DB)
    radio_map = radio_map_only(ref)
    assert COMPLETION_KEY not in radio_map.meta
    assert len(unreached_points(radio_map)) == done["floor_points"]
    assert len(unreached_points(ref)) == done["floor_points"] - done["filled"]
    # every other value is the radio map's, untouched
    changed = np.any(radio_map.path_gain_db != ref.path_gain_db, axis=0).ravel()
    assert np.array_equal(np.flatnonzero(changed), np.sort(filled))


def test_a_completed_reference_is_not_completed_twice():
    ref = load_reference(DATA / "macro_hel03_3500mhz.npz")
    with pytest.raises(ValueError, match="macro_hel03_3500mhz is completed already"):
        complete_reference(ref, depth=2, samples=10)


def _toy_reference() -> tuple[Reference, np.ndarray]:
    """A 200 m square with one 30 m block east of a 10 m mast at the origin; the
    radio map reached everything but six points (four in the open, two behind the block)."""
    grid = Grid.covering((-100, -100, 100, 100), 5.0)
    feet = np.array([shapely.box(20, -30, 40, 30)], dtype=object)
    buildings = Buildings(["B0"], feet, np.array([30.0]), np.zeros(1), ["yes"], ["height"])
    spec = CellSpec((0.0, 0.0, 10.0), 10.0, 270.0, 0.0, 0.0, 3.5e9, 20e6, 8.0, 65.0)
    gains = np.full((1,) + grid.shape, -70.0, np.float32)
    xs, ys = grid.centers()
    points = []
    for x, y in [(-40, 0), (-60, 20), (-80, -10), (-50, -40), (70, 0), (80, 10)]:
        i, j = int(np.argmin(np.abs(xs - x))), int(np.argmin(np.abs(ys - y)))
        gains[0, j, i] = FLOOR_DB
        points.append(j * grid.nx + i)
    meta = {"name": "toy", "ue_height_m": 1.5, "max_depth": 3}
    return Reference("toy", meta, grid, ["C0"], [spec], gains, buildings), np.array(points)


@needs_sionna
def test_path_solver_fills_open_points_with_free_space_and_keeps_the_rest():
    ref, points = _toy_reference()
    assert sorted(unreached_points(ref)) == sorted(points)
    done = complete_reference(ref, depth=3, samples=10**6)
    how = done.meta[COMPLETION_KEY]
    assert how["floor_points"] == 6 and how["max_depth"] == 3 and how["samples_per_tx"] == 10**6
    got = done.path_gain_db.reshape(-1)
    # in the open: the sector antenna and Friis, plus at most the ground's reflection
    # (its power added, never more than the direct path's: +3 dB)
    xs, ys = ref.grid.centers()
    x, y = np.meshgrid(xs, ys)
    x, y = x.ravel()[points[:4]], y.ravel()[points[:4]]
    d2d, dz = np.hypot(x, y), 10.0 - 1.5
    want = (antenna_gain_db(np.degrees(np.arctan2(x, y)) - 270.0,
                            90.0 + np.degrees(np.arctan2(dz, d2d)), 0.0, 65.0, 8.0)
            - fspl_db(np.hypot(d2d, dz), 3.5e9))
    err = got[points[:4]] - want
    assert np.all(err > -1.0) and np.all(err < 3.1), err
    # behind the 30 m block: far weaker than the open points, if reached at all
    assert np.all(got[points[4:]] < got[points[:4]].min() - 15.0)
    assert set(how["filled_points"]) >= set(points[:4].tolist())
    # the radio map's values elsewhere are kept, and the completion can be undone
    keep = np.ones(got.size, bool)
    keep[points] = False
    assert np.all(got[keep] == -70.0)
    np.testing.assert_array_equal(radio_map_only(done).path_gain_db, ref.path_gain_db)
