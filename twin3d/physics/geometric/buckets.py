"""Uniform-grid buckets of 2D points, for compiled loops that visit only nearby items.

A kernel that, per receiver, loops over every corner or wall pair costs
receivers x items; with the items bucketed on a grid of ``cell_m`` it
visits only the buckets within a search radius of each receiver.

Examples
--------
>>> import numpy as np
>>> b = bucket_points(np.array([[0.0, 0.0], [25.0, 5.0], [26.0, 6.0]]), 10.0)
>>> b.items[b.start[b.cell_of(25.0, 5.0)]:b.start[b.cell_of(25.0, 5.0) + 1]].tolist()
[1, 2]
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["PointBuckets", "bucket_points"]


@dataclass
class PointBuckets:
    """Items ``items[start[c]:start[c + 1]]`` lie in cell c = iy * nx + ix of ``cell_m``
    squares from (``x0``, ``y0``), ``nx`` x ``ny`` cells."""

    x0: float
    y0: float
    cell_m: float
    nx: int
    ny: int
    start: np.ndarray
    items: np.ndarray

    def cell_of(self, x: float, y: float) -> int:
        ix = min(max(int((x - self.x0) // self.cell_m), 0), self.nx - 1)
        iy = min(max(int((y - self.y0) // self.cell_m), 0), self.ny - 1)
        return iy * self.nx + ix


def bucket_points(xy_m, cell_m: float) -> PointBuckets:
    """Bucket (M, 2) points (metres) on a grid of ``cell_m`` covering them."""
    xy = np.asarray(xy_m, float).reshape(-1, 2)
    if len(xy) == 0:
        return PointBuckets(0.0, 0.0, float(cell_m), 1, 1, np.zeros(2, np.int64),
                            np.zeros(0, np.int64))
    x0, y0 = xy.min(axis=0)
    nx = int((xy[:, 0].max() - x0) // cell_m) + 1
    ny = int((xy[:, 1].max() - y0) // cell_m) + 1
    ix = np.minimum(((xy[:, 0] - x0) // cell_m).astype(np.int64), nx - 1)
    iy = np.minimum(((xy[:, 1] - y0) // cell_m).astype(np.int64), ny - 1)
    c = iy * nx + ix
    order = np.argsort(c, kind="stable")
    start = np.zeros(nx * ny + 1, np.int64)
    np.add.at(start, c + 1, 1)
    return PointBuckets(float(x0), float(y0), float(cell_m), nx, ny, np.cumsum(start),
                        order.astype(np.int64))
