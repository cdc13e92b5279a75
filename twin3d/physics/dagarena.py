"""The arena the kept DAGs live in: flat per-DAG-edge arrays, each destination's
DAG a segment followed by a little free room (:func:`slack`). Part of
:mod:`twin3d.physics.dagstore`, which re-exports it.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def slack(n_entries):  # pragma: no cover - compiled
    """Free entries left after a segment of ``n_entries`` (room for edges joining it)."""
    return 8 + n_entries // 32



class Arena:
    """Flat per-DAG-edge arrays with room to append.

    Attributes
    ----------
    edge, tail, head : numpy.ndarray
        (capacity,) uint32: directed edge index of each DAG edge, its tail and
        head node (kept beside the edge: the walks read them in sequence).
    end : int
        Entries in use (live and garbage).
    """

    def __init__(self, capacity: int) -> None:
        capacity = max(int(capacity), 16)
        # unsigned: numba indexes with them without a negative-index fix-up (the walks
        # over every kept DAG edge run about a fifth faster)
        self.edge = np.empty(capacity, np.uint32)
        self.tail = np.empty(capacity, np.uint32)
        self.head = np.empty(capacity, np.uint32)
        self.end = 0

    @property
    def capacity(self) -> int:
        return len(self.edge)

    def arrays(self) -> tuple:
        """(edge, tail, head), the order the kernels take them in."""
        return self.edge, self.tail, self.head

    def compacted(self, dests: np.ndarray, seg_start: np.ndarray, seg_len: np.ndarray,
                  seg_cap: np.ndarray, extra: int) -> "Arena":
        """A new arena with the live segments of ``dests`` in order (each with its
        :func:`slack`) and room for ``extra`` more entries; ``seg_start`` and
        ``seg_cap`` are updated in place."""
        lens = seg_len[dests]
        live = int(lens.sum() + (8 + lens // 32).sum())
        new = Arena(live + extra)
        new.end = _copy_live(dests, seg_start, seg_len, seg_cap, self.arrays(), new.arrays())
        return new



@njit(cache=True)
def _copy_live(dests, seg_start, seg_len, seg_cap, old, new):  # pragma: no cover - compiled
    edge, tail, head = old
    new_edge, new_tail, new_head = new
    end = 0
    for k in range(len(dests)):
        t = dests[k]
        s = seg_start[t]
        for i in range(seg_len[t]):
            new_edge[end + i] = edge[s + i]
            new_tail[end + i] = tail[s + i]
            new_head[end + i] = head[s + i]
        seg_start[t] = end
        seg_cap[t] = seg_len[t] + slack(seg_len[t])
        end += seg_cap[t]
    return end
