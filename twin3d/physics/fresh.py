"""Large per-call output arrays allocated without numpy's huge-page advice.

numpy advises the kernel to back every allocation of 4 MiB or more with
transparent huge pages (``madvise(MADV_HUGEPAGE)``). Where the kernel's THP
``defrag`` setting is ``madvise`` (a common default), the first write to
such an array compacts memory synchronously: measured on the 1,000-node
TrafficEngineering step, the fresh 8 MB per-demand latency array cost about
14 ms of page faults against about 1 ms for the same array from numba's
allocator (plain ``malloc``, no advice). An array that a result keeps (so
that it cannot be a reused buffer) is therefore made here. The values are
the same either way; only the page faults differ.

Examples
--------
>>> a = empty_f64(3)
>>> a.shape, a.dtype.name, bool(a.flags.writeable and a.flags.c_contiguous)
((3,), 'float64', True)
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["empty_f64"]


@njit(cache=True)
def empty_f64(n):  # pragma: no cover - compiled
    """A new uninitialised (n,) float64 array from numba's allocator (no huge-page advice)."""
    return np.empty(n)
