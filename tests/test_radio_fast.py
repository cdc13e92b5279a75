"""The fast radio step gives the numbers of the code it replaced, bit for bit.

The references (``reference_radio.py``) are the replaced functions kept
verbatim: the numpy recombination loop, the sort-based percentiles and the
numpy radio step. Random inputs carry ties, unreachable cells, zero weights
and NaN; the Helsinki checks run the real simulator.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import twin3d
import twin3d.sim.engine as engine
import twin3d.sim.kpi as kpi
from twin3d.scene import EventSpec, ScenarioSpec
from twin3d.physics.cellmaps import combine, combine_rows, rank_cells, site_los, to_mw
from twin3d.sim.engine import Simulator

from conftest import SCENES
from reference_radio import old_combine, old_radio_step, old_weighted_percentiles

FIELDS = ("rsrp_dbm", "sinr_db", "best_server", "spectral_efficiency_bps_hz", "throughput_bps")


def assert_bit_identical(a, b, what=""):
    for name in FIELDS:
        x, y = np.asarray(getattr(a, name)), np.asarray(getattr(b, name))
        assert x.dtype == y.dtype and x.shape == y.shape, (what, name)
        assert np.array_equal(x, y, equal_nan=x.dtype.kind == "f"), (what, name)
        assert np.array_equal(np.signbit(x), np.signbit(y)), (what, name)


def random_maps(rng, n_cells: int, n_pts: int, ties: bool, dtype):
    rx = rng.uniform(-130.0, -40.0, (n_cells, n_pts))
    if ties:
        rx = np.round(rx)                                   # many equal RSRPs
    rx[rng.random((n_cells, n_pts)) < 0.1] = -np.inf        # out of range
    return rx.astype(dtype)


# --- recombination --------------------------------------------------------------------------

@pytest.mark.parametrize("seed", range(4))
def test_combine_is_bit_identical_to_the_numpy_loop(seed):
    rng = np.random.default_rng(seed)
    for trial in range(40):
        n_cells, n_pts = int(rng.integers(1, 9)), int(rng.integers(1, 2500))
        rx = random_maps(rng, n_cells, n_pts, trial % 2 == 1, np.float32 if trial % 3 else np.float64)
        f = rng.choice([3.5e9, 3.7e9, 2.6e9], n_cells)
        bw = rng.choice([100e6, 20e6, 40e6], n_cells)
        if trial % 4 == 0:
            f[:] = 3.5e9                                    # one carrier
        active = rng.random(n_cells) < 0.6
        want = old_combine(rx, active, f, bw, n_pts=n_pts)
        for rx_mw in (None, [to_mw(r) for r in rx], to_mw(rx)):
            for src in (rx, list(rx)):
                assert_bit_identical(want, combine(src, active, f, bw, rx_mw=rx_mw, n_pts=n_pts),
                                     f"trial {trial}")


def test_combine_with_no_active_cell():
    rx = np.full((2, 5), -80.0, np.float32)
    want = old_combine(rx, [False, False], [3.5e9] * 2, [100e6] * 2, n_pts=5)
    assert_bit_identical(want, combine(rx, [False, False], [3.5e9] * 2, [100e6] * 2, n_pts=5))


@pytest.mark.parametrize("seed", range(3))
def test_ranked_best_server_is_bit_identical(seed):
    """The first active cell of the RSRP ranking (scan where every ranked cell
    sleeps) is the running maximum's cell, ties and unreachable cells included."""
    rng = np.random.default_rng(100 + seed)
    for trial in range(60):
        n_cells, n_pts = int(rng.integers(1, 12)), int(rng.integers(1, 2000))
        rx = random_maps(rng, n_cells, n_pts, trial % 2 == 1, np.float32 if trial % 3 else np.float64)
        f = rng.choice([3.5e9, 3.7e9], n_cells)
        bw = rng.choice([100e6, 20e6, 40e6], n_cells)
        filled = np.flatnonzero(rng.random(n_cells) < 0.9)   # rows ranked
        ranking = rank_cells(rx, filled, bw, depth=int(rng.integers(1, 6)))
        mw = to_mw(rx)
        for p_awake in (0.2, 0.6, 0.9):
            active = np.zeros(n_cells, bool)
            active[filled] = rng.random(filled.size) < p_awake
            idx = np.flatnonzero(active)
            got = combine_rows(rx, idx, mw, idx, active, f, bw, 7.0, n_pts, ranking=ranking)
            assert_bit_identical(old_combine(rx, active, f, bw, n_pts=n_pts), got, f"trial {trial}")


# --- percentiles ----------------------------------------------------------------------------

@pytest.mark.parametrize("select_min", [0, kpi._SELECT_MIN, 10**9])   # 10**9: the compiled sort only
def test_weighted_percentiles_equal_the_sort(monkeypatch, select_min):
    monkeypatch.setattr(kpi, "_SELECT_MIN", select_min)
    rng = np.random.default_rng(7)
    for trial in range(400):
        n = int(rng.integers(0, 3000)) if trial % 8 else int(rng.integers(5000, 60000))
        v = rng.normal(size=n)
        if trial % 5 == 1:
            v = np.round(v * 3)                             # heavy ties
        elif trial % 5 == 2:
            v = rng.integers(0, 4, n).astype(float)
        v[rng.random(n) < 0.05] = np.nan
        v[rng.random(n) < 0.02] = -np.inf
        w = None
        if trial % 3:
            w = rng.random(n) * (rng.random(n) < 0.8)       # zero weights
            if trial % 5 == 3:
                w = np.round(w * 4)                         # crossings exactly on a boundary
            elif trial % 5 == 4:
                w = np.full(n, 0.37) * (rng.random(n) < 0.9)    # equal weights: exact ties
        qs = [5, 50, 95, 0, 100, 25, 75, 12.5] if trial % 2 else [5, 50]
        want = old_weighted_percentiles(v, qs, w)
        got = kpi.weighted_percentiles(v, qs, w)
        assert np.array_equal(np.array(want), np.array(got), equal_nan=True), (trial, want, got)


def test_percentiles_of_nothing_and_odd_quantiles(monkeypatch):
    monkeypatch.setattr(kpi, "_SELECT_MIN", 0)
    assert np.isnan(kpi.weighted_percentiles([np.nan, np.inf], [50])).all()
    assert np.isnan(kpi.weighted_percentiles([1.0, 2.0], [50], [0.0, 0.0])).all()
    v = np.arange(10.0)
    for qs in ([-5, 50], [150], [np.nan]):
        assert np.array_equal(kpi.weighted_percentiles(v, qs), old_weighted_percentiles(v, qs),
                              equal_nan=True)


# --- the simulator on Helsinki --------------------------------------------------------------

@pytest.fixture(scope="module")
def sim():
    return Simulator(twin3d.load_scene(SCENES / "helsinki.toml"))


def step_state(sim, scenario: str, t: int, asleep=(), surges=None):
    tl = sim.timeline(next(s for s in sim.scene.spec.scenarios if s.name == scenario))
    state = tl.state(t)
    kw = {"cell_sleep": set(asleep)}
    if surges is not None:
        kw["surges"] = surges
    return dataclasses.replace(state, **kw)


def same(a, b, path=""):
    if isinstance(a, dict):
        assert list(a) == list(b), path
        for k in a:
            same(a[k], b[k], f"{path}/{k}")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b)):
            same(x, y, f"{path}[{i}]")
    elif isinstance(a, np.ndarray):
        assert a.dtype == b.dtype and np.array_equal(a, b, equal_nan=a.dtype.kind == "f"), path
    elif isinstance(a, float):
        assert a == b or (a != a and b != b), (path, a, b)
    else:
        assert a == b, (path, a, b)


def test_maps_recombined_from_the_stacks_equal_the_numpy_loop(sim):
    rng = np.random.default_rng(11)
    cells = sim.cells
    f = np.array([c.f_hz for c in cells])
    bw = np.array([c.bandwidth_hz for c in cells])
    up = np.array([sim.twin.sites[c.site_id].state == "up" for c in cells])
    for _ in range(6):                                      # scan first, then the ranking
        active = up & (rng.random(len(cells)) > 0.25)
        rm = sim.mapper.radio_map(cell_active=active)
        rx = rm.rx_dbm.reshape(len(cells), -1)             # the lazily stacked per-cell maps
        want = old_combine(list(rx), active, f, bw, sim.mapper.noise_figure_db)
        got = type(want)(*(getattr(rm, n).ravel() for n in FIELDS))
        assert_bit_identical(want, got)
        # LOS to the server's site, as the map used to gather it
        los = np.zeros(rx.shape[1], bool)
        served = np.flatnonzero(want.best_server >= 0)
        for p_i in np.unique(want.best_server[served]):
            c = cells[p_i]
            a = sim.twin.sites[c.site_id].antenna_xyz_m
            pts = served[want.best_server[served] == p_i]
            los[pts] = site_los(sim.mapper.ctx, tuple(float(x) for x in a), sim.mapper.cache)[pts]
        np.testing.assert_array_equal(rm.los.ravel(), los)
    assert len(sim.mapper._rank) > 0                        # a ranking served some of them


def test_rankings_follow_the_cells_the_rows_hold(sim):
    """A sector change refills a row: its ranking is not used for the other
    configuration, and two configurations in turn keep one ranking each."""
    rng = np.random.default_rng(12)
    cells = sim.cells
    f = np.array([c.f_hz for c in cells])
    bw = np.array([c.bandwidth_hz for c in cells])
    up = np.array([sim.twin.sites[c.site_id].state == "up" for c in cells])
    tilted = {cells[4].id: {"tilt_deg": cells[4].tilt_deg + 6.0}}
    for sector in [None, None, tilted, tilted, None, tilted, None, None, tilted, tilted]:
        active = up & (rng.random(len(cells)) > 0.2)
        active[4] = True
        rm = sim.radio(active, sector)
        rx = rm.rx_dbm.reshape(len(cells), -1)
        want = old_combine(list(rx), active, f, bw, sim.mapper.noise_figure_db)
        assert_bit_identical(want, type(want)(*(getattr(rm, n).ravel() for n in FIELDS)))
    assert len(sim.mapper._rank) >= 2


def test_radio_step_is_bit_identical_to_the_numpy_step(sim):
    rng = np.random.default_rng(5)
    cells = [c.id for c in sim.cells]
    cases = [("baseline_day", 21), ("site_outage", 10), ("stadium_surge", 19),
             ("night_energy_saving", 2)]
    for name, t in cases:
        for _ in range(3):
            asleep = [c for c in cells if rng.random() < 0.2]
            state = step_state(sim, name, t, asleep)
            got = sim._radio_step(state, 0.7)
            got_cells = sim._cells_last
            want = old_radio_step(sim, state, 0.7)
            same(list(want), list(got), f"{name}@{t}")
            same(list(sim._cells_last), list(got_cells))


def test_awake_energy_equals_the_all_awake_step(sim):
    rng = np.random.default_rng(9)
    cells = [c.id for c in sim.cells]
    surged = 0
    for name, t in [("baseline_day", 21), ("site_outage", 10), ("stadium_surge", 19),
                    ("night_energy_saving", 2), ("baseline_day", 3)]:
        state = step_state(sim, name, t, [c for c in cells if rng.random() < 0.3])
        surged += bool(state.surges)
        for hour in (3.0, 12.5, 19.0):
            got = sim.awake_energy_w(state, hour)
            awake = dataclasses.replace(state, cell_sleep=set())
            factor = float(engine.profile_factor(hour, "diurnal"))
            want = engine.total_energy_w(old_radio_step(sim, awake, factor)[4])
            assert got == want, (name, t, hour)
            assert sim.awake_energy_w(state, hour) == want   # from the kept served points
    assert surged                                           # the surge path too


def test_maps_are_bounded_and_results_keep_theirs(sim, monkeypatch):
    monkeypatch.setattr(engine, "MAX_RADIO_MAPS", 2)
    sim._maps.clear()
    cells = [c.id for c in sim.cells]
    events = tuple(EventSpec(t, "cell_sleep", cell=cells[(7 * t + k) % len(cells)], duration=1)
                   for t in range(6) for k in range(t % 3 + 1))    # a new active set each step
    spec = ScenarioSpec("sleepy", 6, 900.0, "diurnal", events, "cells asleep by turns", 0.0)
    res = sim.run(spec)
    keys = {s.radio_key for s in res.steps}
    assert len(keys) > 2                                    # some maps were dropped on the way
    assert set(res.radio_maps) == keys and len(sim._maps) <= 2
    for s in res.steps:
        rm = sim.step_radio_map(s)                          # recombined again if dropped
        assert_bit_identical(res.radio_maps[s.radio_key], rm)
        np.testing.assert_array_equal(res.radio_maps[s.radio_key].los, rm.los)
    assert len(sim._maps) <= 2
