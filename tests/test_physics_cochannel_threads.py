"""The recombination's per-point passes cut into spans on threads give one span's bits
(RSRP, server, SINR, spectral efficiency, throughput)."""

import numpy as np
import pytest

from twin3d.physics import cellmaps, recombine
from twin3d.physics.cellmaps import combine_rows, rank_cells
from twin3d.physics.recombine import BLOCK, SPANS_PER_THREAD, cochannel, run_spans

FIELDS = ("rsrp_dbm", "sinr_db", "best_server", "spectral_efficiency_bps_hz", "throughput_bps")


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


def run(args, threads):
    mw, rows, group, one, k, rsrp, idx, n_mw, bw, bw_pt = args
    best = np.full(len(k), -7, np.int64)
    ratio = np.full(len(k), np.nan)
    bw_pt = np.full(bw_pt.shape, np.nan)
    run_spans(lambda lo, hi: cochannel(mw, rows, group, one, k, rsrp, idx, n_mw, bw, best, ratio,
                                       bw_pt, lo, hi), len(k), threads)
    return best, ratio, bw_pt


@pytest.mark.parametrize("groups, per_point_bw", [(1, False), (2, True), (3, False)])
def test_spans_on_threads_equal_one_span_bit_for_bit(groups, per_point_bw):
    rng = np.random.default_rng(groups)
    n_pts = 5 * BLOCK + 37                                      # a short last block
    args = inputs(rng, n_pts, 11, groups, per_point_bw)
    want = run(args, 1)
    assert (want[0] >= 0).mean() > 0.9 and np.isfinite(want[1]).all()
    for threads in (2, 3, 6, 7):                                # 7 > blocks: fewer spans
        got = run(args, threads)
        for g, w in zip(got, want):
            np.testing.assert_array_equal(g, w)


def test_run_spans_covers_every_point_once_and_raises_a_spans_error():
    for n_pts, threads in [(1, 2), (BLOCK, 2), (BLOCK + 1, 2), (10 * BLOCK + 3, 3), (4 * BLOCK, 9),
                           (100 * BLOCK + 5, 2)]:
        seen = np.zeros(n_pts, int)
        spans = []

        def mark(lo, hi):
            assert lo % BLOCK == 0 and lo < hi
            spans.append((lo, hi))
            seen[lo:hi] += 1
        run_spans(mark, n_pts, threads)
        n_blocks = -(-n_pts // BLOCK)
        want = 1 if min(threads, n_blocks) < 2 else min(n_blocks, SPANS_PER_THREAD * threads)
        assert (seen == 1).all() and len(spans) == want

    def fail(lo, hi):
        if lo > 0:
            raise ValueError("span")
    with pytest.raises(ValueError, match="span"):
        run_spans(fail, 4 * BLOCK, 2)


class _Idle:
    """An executor whose workers never start (a machine with no core to spare)."""

    def submit(self, fn, *args):
        return None


def test_a_worker_that_never_starts_leaves_every_span_to_the_caller(monkeypatch):
    monkeypatch.setattr(recombine, "_pool", lambda workers: _Idle())
    seen = np.zeros(20 * BLOCK, int)
    run_spans(lambda lo, hi: seen.__setitem__(slice(lo, hi), seen[lo:hi] + 1), seen.size, 2)
    assert (seen == 1).all()


@pytest.mark.parametrize("ranked", [False, True])
def test_combine_rows_on_threads_gives_the_serial_answer(monkeypatch, ranked):
    rng = np.random.default_rng(9)
    n_cells, n_pts = 6, 3 * BLOCK + 5
    rx = rng.normal(-95, 12, (n_cells, n_pts)).astype(np.float32)
    rx[2, :50] = -np.inf                                      # a cell that does not reach
    mw = cellmaps.to_mw(rx)
    f = np.array([3.5e9, 3.5e9, 3.5e9, 2.1e9, 3.5e9, 2.1e9])
    bw = np.array([100e6, 100e6, 100e6, 20e6, 100e6, 20e6])
    ranking = rank_cells(rx, np.arange(n_cells), bw, 2) if ranked else None
    calls = []
    monkeypatch.setattr(cellmaps, "SPLIT_MIN_POINTS", 1)
    for active in ([1, 1, 0, 1, 1, 1], [0, 0, 1, 0, 1, 0], [1, 1, 1, 1, 1, 1]):
        active = np.array(active, bool)
        rows = np.flatnonzero(active)
        monkeypatch.setattr(cellmaps, "spare_threads", lambda margin: calls.append(1) or 1)
        serial = combine_rows(rx, rows, mw, rows, active, f, bw, ranking=ranking)
        monkeypatch.setattr(cellmaps, "spare_threads", lambda margin: calls.append(2) or 2)
        threaded = combine_rows(rx, rows, mw, rows, active, f, bw, ranking=ranking)
        for name in FIELDS:
            np.testing.assert_array_equal(getattr(serial, name), getattr(threaded, name))
        assert (serial.best_server >= 0).all() and np.isfinite(serial.sinr_db).all()
    assert calls == [1, 2] * 3
    assert recombine._POOL is not None                       # the worker ran a span


def test_the_spans_want_a_core_nobody_uses(monkeypatch):
    import numba
    from twin3d.physics import threads
    n = numba.get_num_threads()
    if n < 2:
        pytest.skip("one thread: never split")
    monkeypatch.setattr(threads, "_threads_pid", None)
    monkeypatch.setattr(threads.os, "getloadavg", lambda: (n - 0.4, 0.0, 0.0))
    assert threads.spare_threads() == n                        # the default margin: threads
    assert threads.spare_threads(cellmaps.SPLIT_LOAD_MARGIN) == 1   # the spans': not with this load
    monkeypatch.setattr(threads.os, "getloadavg", lambda: (n - 1.0, 0.0, 0.0))
    assert threads.spare_threads(cellmaps.SPLIT_LOAD_MARGIN) == n
