"""Line of sight over buildings: a height raster and a radial viewshed per site.

The buildings are rasterized once on the radio map's lattice (the top of the
tallest footprint holding each cell centre, ENU z). For one antenna, K rays
are cast over the full circle with a radial step of one grid cell; along each
ray the slope (z_top - z_antenna) / distance of every obstacle sample is
accumulated with ``np.maximum.accumulate``. A point is in line of sight iff
the slope of its own ray, (z_ue - z_antenna) / d, is at least the largest
obstacle slope strictly before it (the point's nearest sample on the nearest
ray). That is the ray test "no building is taller than the ray where it
crosses", on sampled geometry.

Approximations (all within about half a grid cell):

* footprints are seen at the raster's resolution, so a building narrower
  than a cell can be missed or widened;
* K is chosen so that neighbouring rays are at most one cell apart at the
  farthest point: a point uses the ray through its own cell or the
  neighbouring one;
* an indoor point (inside a footprint) is judged at its building's wall: the
  first sample of the contiguous run of building cells holding it, with the
  UE height there. The walls themselves are charged by the O2I loss, not by
  the LOS test.

Examples
--------
>>> import numpy as np, shapely
>>> from twin3d.model import Buildings
>>> from twin3d.physics.grid import Grid
>>> b = Buildings(["b"], np.array([shapely.box(40, -10, 60, 10)]), np.array([30.0]),
...               np.zeros(1), ["yes"], ["tag"])
>>> r = rasterize_buildings(b, Grid(-10, -50, 1.0, 130, 100))
>>> viewshed_los(r, (0, 0, 20), np.array([100.0, 100.0]), np.array([0.0, 40.0]), 1.5).tolist()
[False, True]
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely

from .grid import Grid

__all__ = ["EARTH_RADIUS_M", "BuildingRaster", "rasterize_buildings", "ground_z_m",
           "indoor_distance_m", "viewshed_los"]

#: Mean earth radius, metres: the ENU ground drops by d^2 / (2 R) from the origin.
EARTH_RADIUS_M = 6_371_000.0


@dataclass
class BuildingRaster:
    """Building tops sampled at a grid's cell centres.

    ``top_z_m`` (ny, nx): ENU z of the roof of the tallest footprint holding
    the centre, -inf where there is none. ``index`` (ny, nx): that
    building's index in :class:`~twin3d.model.Buildings`, -1 where none.
    """

    grid: Grid
    top_z_m: np.ndarray
    index: np.ndarray

    def sample(self, x_m, y_m) -> tuple[np.ndarray, np.ndarray]:
        """(top_z_m, index) of the cells holding the points; -inf/-1 outside."""
        g = self.grid
        ix = np.floor((np.asarray(x_m, float) - g.x0_m) / g.step_m).astype(np.int64)
        iy = np.floor((np.asarray(y_m, float) - g.y0_m) / g.step_m).astype(np.int64)
        ok = (ix >= 0) & (ix < g.nx) & (iy >= 0) & (iy < g.ny)
        top = np.full(ix.shape, -np.inf)
        idx = np.full(ix.shape, -1, dtype=np.int64)
        top[ok] = self.top_z_m[iy[ok], ix[ok]]
        idx[ok] = self.index[iy[ok], ix[ok]]
        return top, idx


def ground_z_m(x_m, y_m) -> np.ndarray:
    """ENU z of the ground (ellipsoid at the origin height), metres.

    The twin carries no terrain model: the ground is the origin-height
    ellipsoid, which in ENU drops by about d^2 / (2 R) (0.08 m at 1 km).

    Examples
    --------
    >>> round(float(ground_z_m(1000.0, 0.0)), 3)
    -0.078
    """
    x = np.asarray(x_m, float)
    y = np.asarray(y_m, float)
    return -(x * x + y * y) / (2.0 * EARTH_RADIUS_M)


def rasterize_buildings(buildings, grid: Grid) -> BuildingRaster:
    """Sample building roofs at every cell centre of ``grid``.

    Parameters
    ----------
    buildings : twin3d.model.Buildings
        Footprints (ENU), heights and base z.
    grid : Grid
        Where to sample.

    Returns
    -------
    BuildingRaster
        Roof z = base_z_m + heights_m of the tallest footprint that holds
        (or touches) each centre.
    """
    top = np.full(grid.shape, -np.inf)
    index = np.full(grid.shape, -1, dtype=np.int64)
    if len(buildings) == 0:
        return BuildingRaster(grid, top, index)
    xs, ys = grid.centers()
    gx, gy = np.meshgrid(xs, ys)
    pts = shapely.points(gx.ravel(), gy.ravel())
    # Only cells inside the footprints' overall box can hit: skip the rest.
    bx0, by0, bx1, by1 = shapely.total_bounds(buildings.footprints)
    cand = np.flatnonzero((gx.ravel() >= bx0) & (gx.ravel() <= bx1)
                          & (gy.ravel() >= by0) & (gy.ravel() <= by1))
    p_idx, b_idx = buildings.tree.query(pts[cand], predicate="intersects")
    if len(p_idx) == 0:
        return BuildingRaster(grid, top, index)
    p_idx = cand[p_idx]
    tops = np.asarray(buildings.base_z_m, float)[b_idx] + np.asarray(buildings.heights_m, float)[b_idx]
    # Tallest building per cell: sort by (cell, top) and keep each cell's last.
    order = np.lexsort((b_idx, tops, p_idx))
    p_idx, b_idx, tops = p_idx[order], b_idx[order], tops[order]
    last = np.append(p_idx[1:] != p_idx[:-1], True)
    top.ravel()[p_idx[last]] = tops[last]
    index.ravel()[p_idx[last]] = b_idx[last]
    return BuildingRaster(grid, top, index)


def indoor_distance_m(buildings, x_m, y_m, index) -> np.ndarray:
    """Distance from indoor points to their footprint's boundary, metres.

    Parameters
    ----------
    buildings : twin3d.model.Buildings
    x_m, y_m : array_like
        Points, ENU metres.
    index : array_like of int
        Building holding each point, -1 for outdoor points (distance 0).

    Examples
    --------
    >>> import numpy as np, shapely
    >>> from twin3d.model import Buildings
    >>> b = Buildings(["b"], np.array([shapely.box(0, 0, 20, 10)]), np.array([9.0]),
    ...               np.zeros(1), ["yes"], ["tag"])
    >>> indoor_distance_m(b, [10.0, 50.0], [3.0, 0.0], [0, -1]).tolist()
    [3.0, 0.0]
    """
    x = np.asarray(x_m, float)
    y = np.asarray(y_m, float)
    idx = np.asarray(index, dtype=np.int64)
    out = np.zeros(np.broadcast(x, y, idx).shape)
    m = np.broadcast_to(idx >= 0, out.shape)
    if not np.any(m) or len(buildings) == 0:
        return out
    used, inverse = np.unique(np.broadcast_to(idx, out.shape)[m], return_inverse=True)
    rings = shapely.boundary(buildings.footprints[used])
    pts = shapely.points(np.broadcast_to(x, out.shape)[m], np.broadcast_to(y, out.shape)[m])
    out[m] = shapely.distance(pts, rings[inverse])
    return out


def viewshed_los(raster: BuildingRaster, antenna_xyz_m, x_m, y_m, z_m, indoor=None, *,
                 oversample: float = 1.0) -> np.ndarray:
    """Line of sight from one antenna to many points over the building raster.

    Parameters
    ----------
    raster : BuildingRaster
        Building tops; nothing blocks outside it.
    antenna_xyz_m : (3,) array_like
        Antenna position, ENU metres.
    x_m, y_m : array_like
        Points, ENU metres.
    z_m : array_like
        Point (UE) heights as ENU z, metres; broadcast against x_m.
    indoor : array_like of bool, optional
        Points inside a footprint: judged at their building's wall.
    oversample : float
        Rays per grid cell of arc at the farthest point (1 = one cell apart).

    Returns
    -------
    ndarray of bool
        Shape of ``x_m``: True where no building rises above the ray.
    """
    ax, ay, az = (float(v) for v in antenna_xyz_m)
    x = np.asarray(x_m, float)
    shape = x.shape
    x = x.ravel()
    y = np.broadcast_to(np.asarray(y_m, float), shape).ravel()
    z = np.broadcast_to(np.asarray(z_m, float), shape).ravel()
    step = raster.grid.step_m
    dx, dy = x - ax, y - ay
    d = np.hypot(dx, dy)
    r_max = float(d.max()) if d.size else 0.0
    if r_max < 1.5 * step:
        return np.ones(shape, dtype=bool)
    n_r = int(np.ceil(r_max / step)) + 1
    n_az = max(16, int(np.ceil(2.0 * np.pi * r_max / step * oversample)))
    ang = 2.0 * np.pi * np.arange(n_az) / n_az
    dist = step * (np.arange(n_r) + 1.0)
    top, _ = raster.sample(ax + np.cos(ang)[:, None] * dist, ay + np.sin(ang)[:, None] * dist)
    slope = (top - az) / dist
    before = np.empty_like(slope)
    before[:, 0] = -np.inf
    np.maximum.accumulate(slope[:, :-1], axis=1, out=before[:, 1:])
    # The point's nearest ray and nearest sample on it.
    k = np.rint(np.arctan2(dy, dx) * (n_az / (2.0 * np.pi))).astype(np.int64) % n_az
    j = np.clip(np.rint(d / step).astype(np.int64) - 1, 0, n_r - 1)
    d_eval = d
    if indoor is not None:
        is_b = np.isfinite(top)
        start = is_b.copy()
        start[:, 1:] &= ~is_b[:, :-1]
        entry = np.maximum.accumulate(np.where(start, np.arange(n_r), 0), axis=1)
        ind = np.broadcast_to(np.asarray(indoor, bool), shape).ravel() & is_b[k, j]
        j = np.where(ind, entry[k, j], j)
        d_eval = np.where(ind, dist[j], d)
    slope_ue = (z - az) / np.maximum(d_eval, 1e-9)
    return (slope_ue >= before[k, j]).reshape(shape)
