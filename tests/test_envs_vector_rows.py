"""The batched TrafficEngineering step's row-wise pieces against their one-array references."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from twin3d.envs.vector_rows import StepHasher, _sort_select_stable, row_percentiles
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
        kept2 = _sort_select_stable(v[b], w[b], q, out)
        if kept == 0:
            assert kept2 == 0
            continue
        assert kept2 == kept
        assert out.tolist() == kpi._argsort_percentiles(v[b], [50, 95], w[b])
        used += not certain
    assert used >= 5                                             # the sort was needed, often
    got = row_percentiles(v, [50, 95], w)
    for b in range(len(v)):
        np.testing.assert_array_equal(got[b], kpi.weighted_percentiles(v[b], [50, 95], w[b]))


def test_equal_values_keep_their_input_order():
    v = np.array([1.0, 2.0, 2.0, 3.0, np.nan])
    w = np.array([1.0, 0.5, 0.25, 1.0, 1.0])
    out = np.empty(1)
    assert _sort_select_stable(v, w, np.array([0.5]), out) == 4
    assert out[0] == kpi._argsort_percentiles(v, [50], w)[0] == 2.0
    # two zeros: the running sum reaches half the total (1.5 of 3) at the second value
    # in input order, so a stable sort answers -0.0 and 0.0 when the order is swapped
    for zeros, negative in (([0.0, -0.0], True), ([-0.0, 0.0], False)):
        vz = np.array([*zeros, 1.0])
        assert _sort_select_stable(vz, np.ones(3), np.array([0.5]), out) == 3
        got = kpi._argsort_percentiles(vz, [50], np.ones(3))[0]
        assert out[0] == got == 0.0
        assert np.signbit(out[0]) == np.signbit(got) == negative
    # unequal weights of equal values in long rows: the same numbers as one row alone
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
    assert _sort_select_stable(v, w, np.array([0.0, 0.5, 1.0]), out) == v.size
    assert out.tolist() == kpi._argsort_percentiles(v, [0, 50, 100], w)
    # a crowded bucket of equal values with unequal weights, whose running sums depend on
    # the order: thirds (not exact in binary) land on the group boundaries
    v = np.repeat(np.array([1.0, 2.0, 3.0]), 40)[rng.permutation(120)]
    w = rng.choice([0.1, 0.2, 0.7], size=120)
    q = np.linspace(0.0, 1.0, 61)
    out = np.empty(q.size)
    assert _sort_select_stable(v, w, q, out) == 120
    assert out.tolist() == kpi._argsort_percentiles(v, q * 100.0, w)


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


def _hand_step_hash(h, obs_row: dict, reward: float) -> None:
    """One step of ``TwinEnv``'s episode hash by hand: per key (sorted) its name, then its
    bytes, or their SHA-256 digest from 4,096 bytes on; then the reward as a float64."""
    for k in sorted(obs_row):
        raw = np.ascontiguousarray(obs_row[k]).tobytes()
        h.update(k.encode() + (hashlib.sha256(raw).digest() if len(raw) >= 4096 else raw))
    h.update(np.float64(reward).tobytes())


def test_step_hasher_is_the_single_envs_hash_large_rows_by_digest():
    rng = np.random.default_rng(3)
    m = 5
    big = rng.random((m, 40, 40)).astype(np.float32)                # 6,400 bytes a row
    obs = {"small": rng.random((m, 7)).astype(np.float32), "big": big,
           "edge": rng.random((m, 1023)).astype(np.float32)}      # 4,092 bytes: by bytes
    rewards = rng.random(m)
    want = [hashlib.sha256() for _ in range(m)]
    for j in range(m):
        _hand_step_hash(want[j], {k: v[j] for k, v in obs.items()}, rewards[j])
    got = [hashlib.sha256() for _ in range(m)]
    hasher = StepHasher()
    hasher.update(got, list(range(m)), obs, rewards)
    assert [h.hexdigest() for h in got] == [h.hexdigest() for h in want]
    # two copies stepped alone (rows 1 and 3), the others untouched
    part = {k: v[[1, 3]] for k, v in obs.items()}
    final = hasher.update(got, [1, 3], part, rewards[[1, 3]])
    for j in (1, 3):
        _hand_step_hash(want[j], {k: v[j] for k, v in obs.items()}, rewards[j])
    assert final[0] is None and final[1] is got[1]
    assert [h.hexdigest() for h in got] == [h.hexdigest() for h in want]
    # every row one array: the caller's one digest gives the same hashes as a digest per row
    obs["big"] = np.broadcast_to(big[2], big.shape).copy()
    one = hashlib.sha256(big[2].tobytes()).digest()
    a, b = [hashlib.sha256() for _ in range(m)], [hashlib.sha256() for _ in range(m)]
    StepHasher().update(a, list(range(m)), obs, rewards, {"big": one})
    StepHasher().update(b, list(range(m)), obs, rewards)
    assert [h.hexdigest() for h in a] == [h.hexdigest() for h in b]
    c = [hashlib.sha256() for _ in range(m)]
    for j in range(m):
        _hand_step_hash(c[j], {k: v[j] for k, v in obs.items()}, rewards[j])
    assert [h.hexdigest() for h in a] == [h.hexdigest() for h in c]


def test_one_row_of_weights_serves_every_row():
    """weights of shape (1, n): every row's weights, the same numbers as the row repeated,
    serially and on threads; any other row count is an error."""
    rng = np.random.default_rng(9)
    v, w = _symmetric_rows(rng, 9, 200, nan_share=0.05)
    one = np.ascontiguousarray(w[:1])
    want = row_percentiles(v, [50, 95], np.repeat(one, len(v), axis=0))
    for parallel in (False, True):
        np.testing.assert_array_equal(row_percentiles(v, [50, 95], one, parallel=parallel), want)
    with pytest.raises(ValueError, match="one row of weights"):
        row_percentiles(v, [50], w[:2])
