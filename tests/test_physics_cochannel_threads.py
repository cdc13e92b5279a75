"""The co-channel pass on threads gives the serial pass's bits (SINR, server, bandwidth)."""

import numba
import numpy as np
import pytest

from twin3d.physics import cellmaps
from twin3d.physics.cellmaps import _BLOCK, _cochannel, _cochannel_threaded, combine_rows


def inputs(rng, n_pts, n_cells, groups, per_point_bw):
    mw = rng.lognormal(-20, 4, (n_cells + 2, n_pts))          # 2 rows no active cell uses
    rows = rng.permutation(n_cells + 2)[:n_cells].astype(np.int64)
    group = rng.integers(0, groups, n_cells).astype(np.int64)
    k = rng.integers(0, n_cells, n_pts).astype(np.int64)
    rsrp = np.where(rng.random(n_pts) < 0.05, -np.inf, rng.normal(-90, 10, n_pts))
    idx = np.sort(rng.choice(3 * n_cells, n_cells, replace=False)).astype(np.int64)
    n_mw = rng.uniform(1e-12, 1e-10, n_cells)
    bw = rng.choice([20e6, 100e6], n_cells)
    bw_pt = np.empty(n_pts if per_point_bw else 0)
    return mw, rows, group, bool(groups == 1), k, rsrp, idx, n_mw, bw, bw_pt


def run(fn, args, *extra):
    mw, rows, group, one, k, rsrp, idx, n_mw, bw, bw_pt = args
    best = np.full(len(k), -7, np.int64)
    ratio = np.full(len(k), np.nan)
    bw_pt = np.full(bw_pt.shape, np.nan)
    fn(mw, rows, group, one, k, rsrp, idx, n_mw, bw, best, ratio, bw_pt, *extra)
    return best, ratio, bw_pt


@pytest.mark.parametrize("groups, per_point_bw", [(1, False), (2, True), (3, False)])
def test_threaded_equals_serial_bit_for_bit(groups, per_point_bw):
    rng = np.random.default_rng(groups)
    n_pts = 5 * _BLOCK + 37                                     # a short last block
    args = inputs(rng, n_pts, 11, groups, per_point_bw)
    want = run(_cochannel, args)
    assert (want[0] >= 0).mean() > 0.9 and np.isfinite(want[1]).all()
    saved = numba.get_num_threads()
    try:
        for threads in sorted({1, min(2, numba.config.NUMBA_NUM_THREADS)}):
            numba.set_num_threads(threads)
            for chunks in (1, 2, 3, 6, 7):                      # 7 > blocks: empty runs
                got = run(_cochannel_threaded, args, chunks)
                for g, w in zip(got, want):
                    np.testing.assert_array_equal(g, w)
    finally:
        numba.set_num_threads(saved)


def test_combine_rows_takes_the_threaded_pass_with_the_same_answer(monkeypatch):
    rng = np.random.default_rng(9)
    n_cells, n_pts = 6, 3 * _BLOCK + 5
    rx = rng.normal(-95, 12, (n_cells, n_pts)).astype(np.float32)
    mw = cellmaps.to_mw(rx)
    active = np.array([1, 1, 0, 1, 1, 1], bool)
    rows = np.flatnonzero(active)
    f = np.array([3.5e9, 3.5e9, 3.5e9, 2.1e9, 3.5e9, 2.1e9])
    bw = np.array([100e6, 100e6, 100e6, 20e6, 100e6, 20e6])
    calls = []
    monkeypatch.setattr(cellmaps, "COCHANNEL_THREAD_MIN_POINTS", 1)
    monkeypatch.setattr(cellmaps, "spare_threads", lambda: calls.append(1) or 1)
    serial = combine_rows(rx, rows, mw, rows, active, f, bw)
    monkeypatch.setattr(cellmaps, "spare_threads", lambda: calls.append(2) or 2)
    threaded = combine_rows(rx, rows, mw, rows, active, f, bw)
    assert calls == [1, 2]
    for name in ("rsrp_dbm", "sinr_db", "best_server", "spectral_efficiency_bps_hz",
                 "throughput_bps"):
        np.testing.assert_array_equal(getattr(serial, name), getattr(threaded, name))
    assert (serial.best_server >= 0).all() and np.isfinite(serial.sinr_db).all()
