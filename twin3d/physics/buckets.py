"""Value buckets of the weighted percentile selections.

:func:`value_bucket` maps a value to one of ``nb`` buckets of equal width
from ``lo``, non-decreasing in the value (values below ``lo`` go to the
first bucket, above the range to the last): any such map gives a
selection (``twin3d.sim.kpi``) the same answers. It lives here, below
both, so that a kernel which makes the values (the latency walk of
:mod:`twin3d.physics.dagstore`) can count them into the buckets the
selection then reads.
"""

from __future__ import annotations

from numba import njit

__all__ = ["value_bucket"]


@njit(cache=True, inline="always")
def value_bucket(x, lo, scale, nb):  # pragma: no cover - compiled
    """Bucket of finite x among nb of width 1 / scale from lo: non-decreasing in x,
    clamped to 0 .. nb - 1."""
    f = (x - lo) * scale
    if f >= nb:
        return nb - 1
    if not f >= 0.0:                  # below lo (or nan: lo or x beyond float range)
        return 0
    return int(f)
