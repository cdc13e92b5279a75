"""The batched TrafficEngineering step's row-wise pieces against their one-array references."""

from __future__ import annotations

import numpy as np
import pytest

from twin3d.envs.vector_rows import _sort_select_order_free, row_percentiles
from twin3d.physics.kernel_args import readonly_c
from twin3d.sim import kpi


def _symmetric_rows(rng, nb, n_pairs, nan_share=0.0):
    """Rows as the latencies of a symmetric demand matrix: each value twice with one
    weight, so a percentile's target often lands exactly on a running sum (the
    selection is not certain and a sort decides)."""
    v = rng.random((nb, n_pairs)) * 40.0
    w = rng.integers(1, 4, size=(nb, n_pairs)) * 0.5
    v = np.concatenate([v, v], axis=1)
    w = np.concatenate([w, w], axis=1)
    v[rng.random(v.shape) < nan_share] = np.nan                 # unroutable pairs
    perm = rng.permutation(v.shape[1])
    return np.ascontiguousarray(v[:, perm]), np.ascontiguousarray(w[:, perm])   # C rows, as the env's


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_uncertain_rows_by_the_compiled_sort_equal_numpys_sort(seed):
    rng = np.random.default_rng(seed)
    v, w = _symmetric_rows(rng, 60, 400, nan_share=0.03)
    v[:4] = np.nan                                               # nothing kept
    w[4:8] = 0.0                                                 # no offered demand
    v[8, :], w[8, :] = 3.0, 0.5                                  # one value only
    q = np.array([0.5, 0.95])
    used = 0
    for b in range(len(v)):
        sel = np.empty(2)
        kept, certain = kpi._select(readonly_c(v[b], float), readonly_c(w[b], float), True, q, sel)
        out = np.full(2, -1.0)
        kept2, order_free = _sort_select_order_free(v[b], w[b], q, out)
        if kept == 0:
            assert kept2 == 0 and order_free
            continue
        assert kept2 == kept and order_free                     # equal values, equal weights
        assert out.tolist() == kpi._argsort_percentiles(v[b], [50, 95], w[b])
        used += not certain
    assert used >= 5                                             # the sort was needed, often
    got = row_percentiles(v, [50, 95], w)
    for b in range(len(v)):
        np.testing.assert_array_equal(got[b], kpi.weighted_percentiles(v[b], [50, 95], w[b]))


def test_equal_values_of_unequal_weights_are_left_to_numpy():
    v = np.array([1.0, 2.0, 2.0, 3.0, np.nan])
    w = np.array([1.0, 0.5, 0.25, 1.0, 1.0])
    out = np.empty(1)
    assert _sort_select_order_free(v, w, np.array([0.5]), out) == (4, False)
    assert _sort_select_order_free(np.array([0.0, -0.0, 1.0]), np.ones(3), np.array([0.5]),
                                   out) == (3, False)          # two zeros: numpy's order shows
    w[2] = 0.5
    assert _sort_select_order_free(v, w, np.array([0.5]), out) == (4, True)
    assert out[0] == kpi._argsort_percentiles(v, [50], w)[0] == 2.0
    # in row_percentiles such a row goes to numpy's sort: the same numbers
    rng = np.random.default_rng(5)
    vv, ww = _symmetric_rows(rng, 30, 200)
    ww[:, 0] *= 1.5                                              # one pair's weights differ
    got = row_percentiles(vv, [50, 95], ww)
    for b in range(len(vv)):
        np.testing.assert_array_equal(got[b], kpi.weighted_percentiles(vv[b], [50, 95], ww[b]))


def test_crowded_buckets_and_huge_spans_sort_right():
    rng = np.random.default_rng(7)
    v = np.concatenate([rng.random(300) * 1e-6, [1e300, -1e300]])    # span: scale 0, one bucket
    v = np.concatenate([v, v])
    w = np.ones(v.size)
    out = np.empty(3)
    assert _sort_select_order_free(v, w, np.array([0.0, 0.5, 1.0]), out) == (v.size, True)
    assert out.tolist() == kpi._argsort_percentiles(v, [0, 50, 100], w)


def test_rows_of_any_range_after_any_row_equal_weighted_percentiles():
    """Each row is bucketed on the range of the row before: empty rows, rows far
    apart, one-value rows, huge spans and weights must not change an answer."""
    rng = np.random.default_rng(11)
    n = 300
    rows = [np.full(n, np.nan), rng.random(n), rng.random(n) * 1e9 + 5e9, rng.random(n) * 1e-12,
            np.full(n, 2.5), np.concatenate([rng.random(n - 2), [1e300, -1e300]]),
            -rng.random(n), rng.integers(0, 5, n) * 1.0, rng.random(n), np.full(n, np.inf)]
    v = np.array(rows)
    w = rng.integers(1, 4, size=v.shape) * 0.25
    w[8] = 1e300                                             # the total overflows: a sort decides
    w[3, ::3] = 0.0
    for perm in (np.arange(len(v)), rng.permutation(len(v)), rng.permutation(len(v))):
        vv, ww = v[perm], w[perm]
        got = row_percentiles(vv, [0, 5, 50, 95, 100], ww)
        for b in range(len(vv)):
            np.testing.assert_array_equal(got[b], kpi.weighted_percentiles(vv[b], [0, 5, 50, 95, 100],
                                                                           ww[b]), err_msg=str(b))


@pytest.mark.parametrize("seed", [3, 4])
def test_rows_on_threads_equal_the_serial_rows_and_the_one_array_reference(seed):
    """The rows in chunks on threads: each chunk starts its buckets from its own first
    row, which must not change an answer (uncertain rows, empty rows, one value)."""
    rng = np.random.default_rng(seed)
    v, w = _symmetric_rows(rng, 37, 300, nan_share=0.05)
    v[5] = np.nan
    v[11] = 7.0
    v[20] *= 1e6
    serial = row_percentiles(v, [5, 50, 95], w)
    threaded = row_percentiles(v, [5, 50, 95], w, parallel=True)
    np.testing.assert_array_equal(threaded, serial)
    for b in range(len(v)):
        np.testing.assert_array_equal(threaded[b], kpi.weighted_percentiles(v[b], [5, 50, 95], w[b]),
                                      err_msg=str(b))
    assert np.isnan(threaded[5]).all() and threaded[11].tolist() == [7.0] * 3
