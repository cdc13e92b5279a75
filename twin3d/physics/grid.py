"""A regular grid of points in the twin's ENU frame (radio maps, rasters)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["Grid"]


@dataclass(frozen=True)
class Grid:
    """Cell centres at ``x0_m + (i + 0.5) step_m``, ``y0_m + (j + 0.5) step_m``.

    Arrays over the grid are shaped (ny, nx): row j, column i.

    Examples
    --------
    >>> g = Grid.covering((0.0, 0.0, 20.0, 10.0), 5.0)
    >>> g.nx, g.ny, g.centers()[0].tolist()
    (4, 2, [2.5, 7.5, 12.5, 17.5])
    """

    x0_m: float
    y0_m: float
    step_m: float
    nx: int
    ny: int

    def __post_init__(self) -> None:
        if not (self.step_m > 0 and math.isfinite(self.step_m)):
            raise ValueError(f"grid step_m must be positive and finite (got {self.step_m})")
        if self.nx < 1 or self.ny < 1:
            raise ValueError(f"grid must have at least one cell (nx={self.nx}, ny={self.ny})")

    @classmethod
    def covering(cls, bounds_m: tuple[float, float, float, float], step_m: float) -> "Grid":
        """The grid from (xmin, ymin) covering ``bounds_m`` = (xmin, ymin, xmax, ymax)."""
        xmin, ymin, xmax, ymax = (float(v) for v in bounds_m)
        if not all(math.isfinite(v) for v in (xmin, ymin, xmax, ymax)) or xmax < xmin or ymax < ymin:
            raise ValueError(f"grid bounds must be finite (xmin, ymin, xmax, ymax) (got {bounds_m})")
        if not (step_m > 0 and math.isfinite(step_m)):
            raise ValueError(f"grid step_m must be positive and finite (got {step_m})")
        nx = max(1, math.ceil((xmax - xmin) / step_m - 1e-9))
        ny = max(1, math.ceil((ymax - ymin) / step_m - 1e-9))
        return cls(xmin, ymin, float(step_m), nx, ny)

    @property
    def shape(self) -> tuple[int, int]:
        """(ny, nx)."""
        return (self.ny, self.nx)

    @property
    def bounds_m(self) -> tuple[float, float, float, float]:
        """(xmin, ymin, xmax, ymax) of the cell edges, metres."""
        return (self.x0_m, self.y0_m, self.x0_m + self.nx * self.step_m,
                self.y0_m + self.ny * self.step_m)

    def centers(self) -> tuple[np.ndarray, np.ndarray]:
        """Cell-centre coordinates: xs (nx,), ys (ny,), metres."""
        xs = self.x0_m + (np.arange(self.nx) + 0.5) * self.step_m
        ys = self.y0_m + (np.arange(self.ny) + 0.5) * self.step_m
        return xs, ys

    def expanded_to(self, x_m, y_m) -> "Grid":
        """The same lattice grown by whole cells so it also holds the points."""
        x = np.asarray(x_m, float).ravel()
        y = np.asarray(y_m, float).ravel()
        if x.size == 0:
            return self
        s = self.step_m
        left = max(0, math.ceil((self.x0_m - x.min()) / s))
        down = max(0, math.ceil((self.y0_m - y.min()) / s))
        x0, y0 = self.x0_m - left * s, self.y0_m - down * s
        nx = max(self.nx + left, math.floor((x.max() - x0) / s) + 1)
        ny = max(self.ny + down, math.floor((y.max() - y0) / s) + 1)
        return Grid(x0, y0, s, nx, ny)
