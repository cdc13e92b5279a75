"""The weighted selection's passes on numba's threads (``twin3d.sim.kpi_buckets``):
the serial counts and gathered entries exactly, the bucket weights up to the
summation order, and the same percentiles."""

from __future__ import annotations

import numpy as np
import pytest

from twin3d.sim import kpi, kpi_buckets


def _data(seed: int, n: int = 20_000):
    rng = np.random.default_rng(seed)
    v = rng.lognormal(-7.0, 0.5, n)
    v[rng.random(n) < 0.3] = np.round(v[rng.random(n) < 0.3][0], 4)   # a large tie
    v[rng.random(n) < 0.05] = np.nan
    v[rng.random(n) < 0.01] = np.inf
    w = rng.uniform(0.0, 1e6, n)
    w[rng.random(n) < 0.1] = 0.0
    v.flags.writeable = w.flags.writeable = False   # as weighted_percentiles passes them
    return v, w


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("n_chunks", [2, 3, 7])
def test_threaded_passes_match_serial(seed, n_chunks):
    v, w = _data(seed)
    n, total, lo, hi = kpi.weighted_stats(v, w)
    nb = 64
    scale = nb / (hi - lo)
    bw0, count0, counts0 = kpi_buckets.bucket_pass(v, w, lo, scale, nb, 1)
    bw1, count1, counts1 = kpi_buckets.bucket_pass(v, w, lo, scale, nb, n_chunks)
    assert counts1.shape == (n_chunks, nb) and counts0.shape == (1, nb)
    assert np.array_equal(count0, count1) and np.array_equal(counts1.sum(axis=0), count0)
    np.testing.assert_allclose(bw1, bw0, rtol=1e-12)
    assert count0.sum() == n
    slot = np.full(nb, -1, np.int64)
    chosen = np.flatnonzero(count0)[[0, 3, -1]]
    slot[chosen] = np.arange(3)
    start = np.r_[0, np.cumsum(count0[chosen])]
    cv0, cw0 = kpi_buckets.gather_pass(v, w, lo, scale, nb, slot, start, 3, counts0)
    cv1, cw1 = kpi_buckets.gather_pass(v, w, lo, scale, nb, slot, start, 3, counts1)
    assert np.array_equal(cv0, cv1) and np.array_equal(cw0, cw1)
    # the serial layout: slot by slot, in index order
    keep = np.isfinite(v) & (w > 0)
    k = np.full(len(v), -1)
    k[keep] = np.minimum(((v[keep] - lo) * scale).astype(np.int64), nb - 1)
    want = np.concatenate([np.flatnonzero(keep & (k == b)) for b in chosen])
    assert np.array_equal(cv0, v[want]) and np.array_equal(cw0, w[want])


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
@pytest.mark.parametrize("n_chunks", [2, 5])
def test_threaded_selection_same_percentiles(seed, n_chunks):
    v, w = _data(seed)
    qs = [0.0, 5.0, 30.0, 50.0, 95.0, 99.9, 100.0]
    q = np.asarray(qs) / 100.0
    stats = kpi.weighted_stats(v, w)
    out0, out1 = np.empty(len(q)), np.empty(len(q))
    n0, certain0 = kpi._weighted_select_from(v, w, q, out0, *stats, 1)
    n1, certain1 = kpi._weighted_select_from(v, w, q, out1, *stats, n_chunks)
    assert n0 == n1 and certain0 == certain1
    if certain0:
        assert np.array_equal(out0, out1)
    want = kpi._argsort_percentiles(v, qs, w)
    assert kpi.weighted_percentiles(v, qs, w, stats) == want


def test_threads_only_for_large_inputs(monkeypatch):
    monkeypatch.setattr(kpi_buckets, "usable_threads", lambda: 5)
    assert kpi_buckets.select_chunks(kpi_buckets.SELECT_THREAD_MIN_VALUES - 1) == 1
    assert kpi_buckets.select_chunks(kpi_buckets.SELECT_THREAD_MIN_VALUES) == 5


def test_public_percentiles_threaded(monkeypatch):
    """weighted_percentiles with its passes on threads: the serial answers."""
    v, w = _data(5, 3000)
    qs = [5.0, 50.0, 95.0]
    stats = kpi.weighted_stats(v, w)
    want = kpi.weighted_percentiles(v, qs, w, stats)
    monkeypatch.setattr(kpi_buckets, "SELECT_THREAD_MIN_VALUES", 0)
    monkeypatch.setattr(kpi_buckets, "usable_threads", lambda: 3)
    monkeypatch.setattr(kpi_buckets.SELECT_CHOICE, "choose", lambda: True)   # threads, whatever the time
    assert kpi.weighted_percentiles(v, qs, w, stats) == want == kpi._argsort_percentiles(v, qs, w)
