"""Arrays handed from Python to compiled kernels in one canonical form.

numba compiles a kernel (and every kernel it calls) once per argument
signature, and an array's type carries its layout ('C' or 'A') and whether
it is writable: a read-only cached array, or a C-contiguous broadcast such
as ``np.broadcast_to(x, (1, n))``, would compile the whole kernel tree a
second time (tens of seconds cold) for the same numbers. The wrappers that
call a kernel pass its arrays through one of these, so each kernel sees one
array type per argument. No I/O.

Examples
--------
>>> import numpy as np
>>> ro = np.broadcast_to(np.arange(3.0), (1, 3))
>>> a = writable_c(ro, float)
>>> bool(a.flags.writeable and a.flags.c_contiguous), a.tolist()
(True, [[0.0, 1.0, 2.0]])
>>> b = readonly_c(np.arange(4)[::2], np.int64)
>>> bool(b.flags.writeable), bool(b.flags.c_contiguous)
(False, True)
"""

from __future__ import annotations

import numpy as np

__all__ = ["writable_c", "readonly_c"]


def writable_c(a, dtype) -> np.ndarray:
    """``a`` as a C-contiguous, writable array of ``dtype``: ``a`` itself when it
    is one, else a copy (a read-only cached array is copied, not unlocked)."""
    arr = np.ascontiguousarray(a, dtype=dtype)
    return arr if arr.flags.writeable else arr.copy()


def readonly_c(a, dtype) -> np.ndarray:
    """``a`` as a C-contiguous, read-only array of ``dtype``, for a kernel that
    only reads it: ``a`` itself when it is one, else a read-only view (of the
    contiguous copy when ``a`` is not one), so a large read-only cached array
    is passed without a copy."""
    arr = np.ascontiguousarray(a, dtype=dtype)
    if arr.flags.writeable:
        arr = arr.view()
        arr.flags.writeable = False
    return arr
