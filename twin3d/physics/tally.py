"""The first pass of a weighted percentile selection over a run of values (compiled).

Shared by the latency walks of :mod:`twin3d.physics.dagread` and
:func:`twin3d.sim.kpi.weighted_stats`, which must count the same values in
the same order to give the same bits. No I/O.

Examples
--------
>>> import numpy as np
>>> weighted_tally(np.array([1.0, np.nan, 3.0]), np.array([1.0, 5.0, 0.5]), 0, 3,
...                0, 0.0, np.inf, -np.inf)
(2, 1.5, 1.0, 3.0)
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["weighted_tally"]


@njit(cache=True, nogil=True)
def weighted_tally(values, weights, j0, j1, cnt, total, lo, hi):  # pragma: no cover - compiled
    """(count, total weight, min, max) of ``cnt, total, lo, hi`` updated by the
    finite ``values[j0:j1]`` with a weight > 0, the weights added in index order."""
    for j in range(j0, j1):
        v = values[j]
        wj = weights[j]
        if np.isfinite(v) and wj > 0:
            cnt += 1
            total += wj
            lo = min(lo, v)
            hi = max(hi, v)
    return cnt, total, lo, hi
