"""Per-cell radio maps cached and recombined per active set (SANDBOX.md section 9)."""

from __future__ import annotations

import math

import numpy as np
import pytest

import twin3d
from twin3d.physics import (CellMapCache, RadioMapper, combine, radio_map, spectral_efficiency,
                            thermal_noise_dbm)
from twin3d.sim.engine import Simulator

from conftest import SCENES
from test_physics_coverage import LINE, cell, make_twin

GRID_M = 10.0                 # Helsinki at 10 m: 4x fewer points than the scene's 5 m, same physics
FIELDS = ("rsrp_dbm", "sinr_db", "spectral_efficiency_bps_hz", "throughput_bps", "rx_dbm")


def assert_same_map(a, b, atol_db=1e-4):
    """Equal radio maps: integer/bool fields exactly, float fields within atol (dB) or 1e-6 relative."""
    assert a.grid == b.grid and a.cell_ids == b.cell_ids
    for name in ("cell_active", "best_server", "los", "indoor", "building_height_m"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
    for name in FIELDS:
        x, y = getattr(a, name), getattr(b, name)
        np.testing.assert_array_equal(np.isfinite(x), np.isfinite(y), err_msg=name)
        f = np.isfinite(x)
        np.testing.assert_allclose(x[f], y[f], atol=atol_db, rtol=1e-6, err_msg=name)


@pytest.fixture(scope="module")
def helsinki():
    scene = twin3d.load_scene(SCENES / "helsinki.toml")
    twin = scene.twin
    return scene, twin, RadioMapper(twin, model="UMa", grid_m=GRID_M)


# --- combine -------------------------------------------------------------------------------

def reference_point(rx_dbm, active, f, bw, nf_db=7.0):
    """Independent per-point reference: best server, SINR (co-channel), SE, one point at a time."""
    n_cells, n_pts = rx_dbm.shape
    rs = [10 * math.log10(12 * (273 if b == 100e6 else 51)) for b in bw]
    best, sinr, se = [], [], []
    for p in range(n_pts):
        cand = [(float(rx_dbm[c, p]) - rs[c], c) for c in range(n_cells)
                if active[c] and np.isfinite(rx_dbm[c, p])]
        if not cand:
            best.append(-1), sinr.append(-np.inf), se.append(0.0)
            continue
        top = max(v for v, _ in cand)
        b = min(c for v, c in cand if v == top)
        s = 10 ** (float(rx_dbm[b, p]) / 10)
        i = sum(10 ** (float(rx_dbm[c, p]) / 10) for c in range(n_cells)
                if c != b and active[c] and f[c] == f[b] and np.isfinite(rx_dbm[c, p]))
        n = 10 ** (float(thermal_noise_dbm(bw[b], nf_db)) / 10)
        best.append(b), sinr.append(10 * math.log10(s / (i + n)))
        se.append(float(spectral_efficiency(sinr[-1])))
    return np.array(best), np.array(sinr), np.array(se)


def test_combine_matches_a_per_point_reference_with_two_carriers():
    rng = np.random.default_rng(3)
    n_cells, n_pts = 7, 400
    rx = rng.uniform(-120, -50, (n_cells, n_pts)).astype(np.float32)
    rx[2, :50] = -np.inf                                    # out of range there
    f = np.array([3.5e9, 3.5e9, 3.7e9, 3.5e9, 3.7e9, 3.7e9, 3.5e9])
    bw = np.array([100e6, 100e6, 20e6, 100e6, 20e6, 100e6, 100e6])
    for _ in range(5):
        active = rng.random(n_cells) < 0.6
        got = combine(rx, active, f, bw)
        best, sinr, se = reference_point(rx, active, f, bw)
        np.testing.assert_array_equal(got.best_server, best)
        np.testing.assert_allclose(got.sinr_db[best >= 0], sinr[best >= 0], atol=1e-9)
        assert np.all(np.isneginf(got.sinr_db[best < 0]))
        np.testing.assert_allclose(got.spectral_efficiency_bps_hz, se, atol=1e-12)
        thr = np.where(best >= 0, se * bw[np.maximum(best, 0)], 0.0)
        np.testing.assert_allclose(got.throughput_bps, thr, rtol=1e-12)
    # inactive rows are never read; none active -> nothing served
    rows = [None if not a else r for a, r in zip(active, rx)]
    np.testing.assert_array_equal(combine(rows, active, f, bw).best_server, got.best_server)
    none = combine([None] * n_cells, np.zeros(n_cells, bool), f, bw, n_pts=n_pts)
    assert np.all(none.best_server == -1) and np.all(none.throughput_bps == 0)
    with pytest.raises(ValueError, match="n_pts"):
        combine([None] * n_cells, np.zeros(n_cells, bool), f, bw)


# --- recombined == fresh radio_map on Helsinki ------------------------------------------------

def test_recombined_equals_fresh_radio_map_for_random_active_sets(helsinki):
    _, twin, mapper = helsinki
    n = len(twin.cells)
    rng = np.random.default_rng(2026)
    mapper.radio_map()                                        # every cell computed once
    misses = mapper.cache.misses
    assert misses >= n
    sets = [rng.random(n) < p for p in (0.3, 0.6, 0.9)]
    sets.append(np.arange(n) % 3 == 0)                        # one sector of every site
    for active in sets:
        got = mapper.radio_map(cell_active=active)
        fresh = radio_map(twin, model="UMa", grid_m=GRID_M, cell_active=active)
        assert_same_map(got, fresh)
        # float32 maps, same code path: in fact bit-identical
        for name in ("rsrp_dbm", "sinr_db", "throughput_bps"):
            np.testing.assert_array_equal(getattr(got, name), getattr(fresh, name))
    assert mapper.cache.misses == misses                      # a new active set computes no cell


def test_power_offset_and_tilt_recompute_only_that_cell(helsinki):
    _, twin, mapper = helsinki
    cells = twin.cells
    n = len(cells)
    mapper.radio_map()
    hits, misses, los_misses = mapper.cache.hits, mapper.cache.misses, mapper.cache.los_misses
    offset = np.zeros(n)
    offset[4] = -3.0                                          # power saving on one cell
    got = mapper.radio_map(cell_power_offset_db=offset)
    assert got.cell_active[4]
    n_active = int(got.cell_active.sum())
    assert (mapper.cache.misses - misses, mapper.cache.hits - hits) == (1, n_active - 1)
    assert mapper.cache.los_misses == los_misses              # same site position: LOS reused
    assert_same_map(got, radio_map(twin, model="UMa", grid_m=GRID_M, cell_power_offset_db=offset))
    c = cells[7]
    tilt, az = c.tilt_deg, c.azimuth_deg
    try:
        misses = mapper.cache.misses
        c.tilt_deg = tilt + 4.0
        got = mapper.radio_map()
        assert mapper.cache.misses - misses == 1
        assert_same_map(got, radio_map(twin, model="UMa", grid_m=GRID_M))
        c.azimuth_deg = az + 30.0                             # turned: recomputed again
        mapper.radio_map()
        assert mapper.cache.misses - misses == 2
    finally:
        c.tilt_deg, c.azimuth_deg = tilt, az
    misses = mapper.cache.misses
    mapper.radio_map()                                        # back to the old parameters: cached
    assert mapper.cache.misses == misses


def test_moved_site_recomputes_its_cells_and_its_los():
    t = make_twin([("A", -200.0, 0.0, 25.0, [cell("A", 1, 90.0), cell("A", 2, 270.0)]),
                   ("B", 200.0, 0.0, 25.0, [cell("B", 1, 270.0)])],
                  [(-20, -30, 20, 30, 35.0)])
    m = RadioMapper(t, grid_m=5.0, bounds=LINE)
    m.radio_map()
    assert (m.cache.misses, m.cache.los_misses) == (3, 2)
    t.sites["A"].height_m = 30.0                              # the antenna moves up
    got = m.radio_map()
    assert (m.cache.misses, m.cache.los_misses) == (5, 3)
    assert_same_map(got, radio_map(t, grid_m=5.0, bounds=LINE))


def test_memory_bound_is_respected_and_maps_stay_right(helsinki):
    _, twin, mapper = helsinki
    one = mapper.ctx.n_pts * 4                                # float32 map of one cell
    small = RadioMapper(twin, model="UMa", grid_m=GRID_M, cache=CellMapCache(max_bytes=6 * one))
    got = small.radio_map()
    s = small.cache.stats()
    assert s["nbytes"] <= 6 * one and s["evictions"] > 0 and s["entries"] < len(twin.cells)
    assert_same_map(got, mapper.radio_map())
    again = small.radio_map()                                 # evicted maps are recomputed, same values
    assert small.cache.nbytes <= 6 * one
    assert_same_map(again, got, atol_db=0.0)


def test_lru_order_and_oversized_arrays():
    c = CellMapCache(max_bytes=120)
    for k in "abc":
        c.put(k, np.zeros(10, np.float32))                    # 40 bytes each
    c.get("a")                                                # a is now the most recent
    c.put("d", np.zeros(10, np.float32))
    assert "b" not in c and all(k in c for k in "acd") and c.nbytes == 120
    c.put("big", np.zeros(100, np.float32))                   # larger than the bound: not kept
    assert "big" not in c and c.nbytes == 120
    c.put("a", np.zeros(5, np.float32))                       # replaced, bytes follow
    assert c.nbytes == 100
    with pytest.raises(ValueError, match="max_bytes"):
        CellMapCache(max_bytes=-1)


def test_site_out_of_range_does_not_grow_the_raster():
    far = ("F", 30_000.0, 0.0, 25.0, [cell("F", 1, 270.0)])
    near = ("A", -200.0, 0.0, 25.0, [cell("A", 1, 90.0)])
    m = RadioMapper(make_twin([near, far]), grid_m=5.0, bounds=LINE)
    assert m.ctx.raster.grid == m.ctx.grid                    # 30 km away: beyond UMa's 5 km
    rm = m.radio_map()
    assert np.all(np.isneginf(rm.rx_dbm[1])) and np.all(rm.best_server == 0)
    assert m.cache.los_misses == 1                            # no viewshed for the far site


# --- the simulator ------------------------------------------------------------------------------

def test_simulator_new_active_set_costs_only_the_combine(helsinki):
    scene, twin, _ = helsinki
    sim = Simulator(scene)
    r = scene.spec.radio
    misses = sim.mapper.cache.misses
    n = len(sim.cells)
    assert misses == int(sum(twin.sites[c.site_id].state == "up" for c in sim.cells))
    rng = np.random.default_rng(5)
    active = rng.random(n) < 0.7
    got = sim.radio(active)
    assert sim.mapper.cache.misses == misses                  # recombined, nothing recomputed
    # a fresh mapper on the simulator's engine (its on-disk maps, if any: the geometric
    # model costs minutes on Helsinki)
    fresh = RadioMapper(twin, model=r.model, grid_m=r.grid_m, ue_height_m=r.ue_height_m,
                        noise_figure_db=r.noise_figure_db, bounds=sim.radio_bounds,
                        engine=sim.mapper.ctx.engine).radio_map(cell_active=active)
    assert_same_map(got, fresh)
    assert sim.radio(active) is got                           # whole maps still cached by the set
