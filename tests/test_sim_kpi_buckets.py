"""Weighted percentiles from buckets counted by the caller (``stats`` of 8).

Any range and count of buckets, values inside or outside the range, ties,
zero weights and NaN give what the selection without them and a plain
sort give.
"""

from __future__ import annotations

import numpy as np
import pytest

from twin3d.physics.buckets import value_bucket
from twin3d.sim.kpi import weighted_percentiles, weighted_stats


def _by_sort(v, qs, w):
    keep = np.isfinite(v) & (w > 0)
    v, w = v[keep], w[keep]
    order = np.argsort(v, kind="stable")
    cw = np.cumsum(w[order])
    idx = np.searchsorted(cw, np.asarray(qs) / 100.0 * cw[-1], side="left")
    return [float(v[order[min(i, len(v) - 1)]]) for i in idx]


def _counted(v, w, lo, scale, nb):
    bw, count = np.zeros(nb), np.zeros(nb, np.int64)
    for x, y in zip(v, w):
        if np.isfinite(x) and y > 0:
            b = value_bucket(x, lo, scale, nb)
            bw[b] += y
            count[b] += 1
    return bw, count


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("where", ["inside", "narrow", "below", "above", "one"])
def test_percentiles_from_any_buckets_equal_the_sort(seed, where):
    rng = np.random.default_rng(seed)
    n = 3000
    v = np.round(rng.lognormal(0, 1, n), 2)             # ties
    w = rng.uniform(0, 2, n) * (rng.random(n) > 0.1)     # some weights 0
    v[rng.random(n) < 0.05] = np.nan
    lo, hi = np.nanmin(v), np.nanmax(v)
    lo0, hi0 = {"inside": (lo, hi), "narrow": (np.nanmedian(v) - 0.1, np.nanmedian(v) + 0.1),
                "below": (lo - 50, lo - 10), "above": (hi + 1, hi + 5),
                "one": (lo, hi)}[where]
    nb = 1 if where == "one" else int(rng.integers(16, 600))
    scale = nb / (hi0 - lo0)
    bw, count = _counted(v, w, lo0, scale, nb)
    stats = (*weighted_stats(v, w), lo0, scale, bw, count)
    qs = [0, 5, 50, 95, 99, 100]
    got = weighted_percentiles(v, qs, w, stats)
    assert got == weighted_percentiles(v, qs, w) == _by_sort(v, qs, w)


def test_value_bucket_is_monotone_and_clamped():
    xs = np.sort(np.r_[np.linspace(-5, 15, 400), -1e308, 1e308])
    b = [value_bucket(x, 0.0, 10 / 10.0, 10) for x in xs]
    assert b == sorted(b) and min(b) == 0 and max(b) == 9
