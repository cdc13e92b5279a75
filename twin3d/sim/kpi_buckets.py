"""The two passes over the data of :mod:`twin3d.sim.kpi`'s weighted selection
(``_weighted_select_from``): the weight and count per value bucket
(:func:`bucket_pass`), then the values and weights of the chosen buckets
(:func:`gather_pass`); each serial or, for large inputs, on numba's threads
in contiguous runs of the data (:func:`select_chunks`), when those measure
quicker (:data:`SELECT_CHOICE`).

On threads the counts and the gathered values and weights are the serial
ones exactly (each run writes after the earlier runs' entries of a bucket,
in index order); a bucket's weight is the sum of the runs' sums, which
differs from the serial sum in the last bits only, as any summation order
may: the selection's answers stand only when the target clears these sums by
more than any order could move them, so its answers are the same (a sort
decides otherwise, as serially).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from ..physics.threads import ThreadChoice, usable_threads

#: Values from which the passes may run on numba's threads (:func:`select_chunks`):
#: about 1.2 ms of serial passes (measured: 5 ms for 999,002 latencies), so a
#: parallel region's start-up and wake-up is small beside it.
SELECT_THREAD_MIN_VALUES = 250_000
#: Serial or threaded passes from there, by their measured time per value (they
#: repeat every step of an environment on a large graph).
SELECT_CHOICE = ThreadChoice()


def select_chunks(n_values: int) -> int:
    """Most runs of the data for ``n_values``: from :data:`SELECT_THREAD_MIN_VALUES`
    on, numba's threads (:func:`twin3d.physics.threads.usable_threads`; the caller
    then chooses by time, :data:`SELECT_CHOICE`), else 1 (serial)."""
    if n_values < SELECT_THREAD_MIN_VALUES:
        return 1
    return usable_threads()


@njit(cache=True)
def bucket(x, lo, scale, nb):  # pragma: no cover - compiled
    """Bucket of x among nb of equal width from lo: non-decreasing in x."""
    k = int((x - lo) * scale)
    return k if k < nb else nb - 1


@njit(cache=True, nogil=True)
def bucket_pass(values, weights, lo, scale, nb, n_chunks):  # pragma: no cover - compiled
    """(weight per bucket, count per bucket, count per run and bucket) of the finite
    values with a weight > 0 (``n_chunks`` > 1: :func:`bucket_pass_threaded`)."""
    if n_chunks > 1:
        return bucket_pass_threaded(values, weights, lo, scale, nb, n_chunks)
    bw = np.zeros(nb)
    count = np.zeros(nb, np.int64)
    _bucket_run(values, weights, 0, values.size, lo, scale, nb, bw, count)
    return bw, count, count.reshape((1, nb))


@njit(cache=True, nogil=True)
def _bucket_run(values, weights, i0, i1, lo, scale, nb, bw, count):  # pragma: no cover - compiled
    """:func:`bucket_pass` over ``values[i0:i1]``, adding into ``bw`` and ``count``."""
    for i in range(i0, i1):
        x = values[i]
        y = weights[i]
        if np.isfinite(x) and y > 0:
            k = bucket(x, lo, scale, nb)
            bw[k] += y
            count[k] += 1


@njit(cache=True, parallel=True)
def bucket_pass_threaded(values, weights, lo, scale, nb,
                         n_chunks):  # pragma: no cover - compiled
    """:func:`bucket_pass` in ``n_chunks`` contiguous runs on threads; the runs'
    weights summed in run order."""
    n = values.size
    bws = np.zeros((n_chunks, nb))
    counts = np.zeros((n_chunks, nb), np.int64)
    for c in prange(n_chunks):
        _bucket_run(values, weights, c * n // n_chunks, (c + 1) * n // n_chunks, lo, scale, nb,
                    bws[c], counts[c])
    bw = bws[0].copy()
    count = counts[0].copy()
    for c in range(1, n_chunks):
        for k in range(nb):
            bw[k] += bws[c, k]
            count[k] += counts[c, k]
    return bw, count, counts


@njit(cache=True, nogil=True)
def gather_pass(values, weights, lo, scale, nb, slot, start, n_slots,
                counts):  # pragma: no cover - compiled
    """(values, weights) of the kept entries in the buckets with a ``slot`` >= 0,
    slot by slot (``start``), each in index order; ``counts``: the count per run
    and bucket of :func:`bucket_pass` (one run: serial)."""
    if len(counts) > 1:
        return gather_pass_threaded(values, weights, lo, scale, nb, slot, start, n_slots, counts)
    fill = start[:n_slots].copy()
    cv = np.empty(start[n_slots])
    cw = np.empty(start[n_slots])
    _gather_run(values, weights, 0, values.size, lo, scale, nb, slot, fill, cv, cw)
    return cv, cw


@njit(cache=True, nogil=True)
def _gather_run(values, weights, i0, i1, lo, scale, nb, slot, fill, cv,
                cw):  # pragma: no cover - compiled
    """:func:`gather_pass` over ``values[i0:i1]``: each kept entry at ``fill`` of its slot."""
    for i in range(i0, i1):
        x = values[i]
        y = weights[i]
        if np.isfinite(x) and y > 0:
            s = slot[bucket(x, lo, scale, nb)]
            if s >= 0:
                cv[fill[s]] = x
                cw[fill[s]] = y
                fill[s] += 1


@njit(cache=True, parallel=True)
def gather_pass_threaded(values, weights, lo, scale, nb, slot, start, n_slots,
                         counts):  # pragma: no cover - compiled
    """:func:`gather_pass` in the runs of :func:`bucket_pass_threaded`: each run
    fills its slots after the earlier runs' entries (the serial layout)."""
    n = values.size
    n_chunks = len(counts)
    fills = np.empty((n_chunks, max(n_slots, 1)), np.int64)
    for k in range(nb):
        s = slot[k]
        if s >= 0:
            at = start[s]
            for c in range(n_chunks):
                fills[c, s] = at
                at += counts[c, k]
    cv = np.empty(start[n_slots])
    cw = np.empty(start[n_slots])
    for c in prange(n_chunks):
        _gather_run(values, weights, c * n // n_chunks, (c + 1) * n // n_chunks, lo, scale, nb,
                    slot, fills[c], cv, cw)
    return cv, cw
