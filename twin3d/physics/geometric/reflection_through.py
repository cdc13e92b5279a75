"""One wall reflection whose legs pass through buildings (refraction, reflection, refraction).

Where a street-level antenna's receivers lie behind a block, the ray
tracer's strongest path often goes through a building and off a wall
(sequences TRT, RTT, TTR in ``benchmarks/rt_path_types.py``): the model's
:mod:`.reflection` term needs both legs clear and its :mod:`.transmission`
term is the direct ray only. This term is the image-method reflection of
:mod:`.reflection` (the same geometry: a wall facing the transmitter and the
receiver, the reflection point on the wall below its top) with legs allowed
through buildings:

    loss = 20 log10(4 pi L f / c) + R(psi) + S * slab_loss_db(f),

L the unfolded 3D length, R the wall's P.2040 reflection loss at the grazing
angle psi (:func:`.reflection.wall_reflection_loss_db`), S the slabs the two
legs cross: per leg, the walls it crosses below their roof, an odd count
rounded up (a pass through a building enters or leaves through its roof,
as :func:`.transmission.slabs_crossed` counts the direct ray), and
``slab_loss_db`` the ITU-R P.2040 0.2 m concrete slab of
:mod:`.transmission`. Paths with 1 to ``max_slabs`` slabs count; those with
none are the reflection term's. Per receiver, the ``max_rounds`` shortest
unfolded reflections over the walls facing the transmitter are tried
(:func:`.reflection._top_reflections`, lit or not) and the least loss is
kept. On by default since model version 6 (``[radio.geometric] reflection_slabs``,
2; 0 turns it off).

With ``inside=True`` the walls are taken from within their building: the
path enters a building, reflects off the inside face of one of its walls
and leaves again (the ray tracer's TRT, its buildings being hollow prisms
of concrete slabs). The walls are then those whose inner face the
transmitter sees (the wall reversed: its normal into the building), and
each leg's wall count is rounded up to odd, since the leg ends inside the
building it entered (through a wall, or through its roof when no wall is
crossed); a pass is at least two slabs. P.2040's slab reflects alike on
both faces. ``[radio.geometric] reflection_inside``, on by default since model
version 6. No I/O.

Examples
--------
>>> import numpy as np, shapely
>>> from twin3d.model import Buildings
>>> from twin3d.physics.geometric.los3d import building_prisms

A block between the antenna and the wall: the path off the wall at (20, 30) crosses it.

>>> b = Buildings(["a", "w"], np.array([shapely.box(10, -10, 20, 20), shapely.box(0, 30, 100, 40)]),
...               np.array([20.0, 20.0]), np.zeros(2), ["yes"] * 2, ["t"] * 2)
>>> loss, at = best_reflection_through(building_prisms(b), [0.0, 0.0, 10.0], [[40.0, 0.0, 1.5]],
...                                    3.5e9, return_points=True)
>>> [round(float(v), 2) for v in at[0]]
[20.0, 30.0, 5.75]
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from ..radio import C_M_S
from .corner import tiles_of
from .crossing import edge_hit
from .legs import first_cell, next_cell, reflection_point
from .los3d import BuildingPrisms, _fan_and_buckets
from .reflection import _pairs, _top_reflections, wall_reflection_loss_db
from .transmission import slab_loss_db

__all__ = ["walls_crossed", "two_leg_slabs", "best_reflection_through"]


@njit(cache=True, inline="always")
def walls_crossed(x0, y0, z0, x1, y1, z1, skip, edges, edge_b, base, top, gx0, gy0, cs, ncx,
                  ncy, start, items, limit=1 << 30):  # pragma: no cover - compiled
    """The walls (but wall ``skip``) the segment crosses within their building's height: the
    bucket walk of :func:`.legs.segment_blocker`, each crossing counted in the cell it lies in;
    the walk stops once the count passes ``limit`` (returning ``limit + 1``)."""
    dx, dy, dz = x1 - x0, y1 - y0, z1 - z0
    ix, iy, n_cells, stx, sty, tdx, tdy, tmx, tmy = first_cell(x0, y0, x1, y1, gx0, gy0, cs)
    t_cell0 = 0.0
    count = 0
    for i_cell in range(n_cells):
        # half-open [t0, t1): a crossing on a cell boundary counts once (the last cell: to 1)
        t_cell1 = 1.0 if i_cell == n_cells - 1 else min(tmx, tmy, 1.0)
        if 0 <= ix < ncx and 0 <= iy < ncy:
            c = iy * ncx + ix
            for q in range(start[c], start[c + 1]):
                e = items[q]
                if e == skip:
                    continue
                t = edge_hit(x0, y0, dx, dy, edges[e, 0], edges[e, 1], edges[e, 2], edges[e, 3])
                if t < 0.0 or t < t_cell0 or (t >= t_cell1 and i_cell < n_cells - 1):
                    continue
                z = z0 + t * dz
                k = edge_b[e]
                if z >= base[k] and z < top[k]:
                    count += 1
                    if count > limit:
                        return count
        ix, iy, t_cell0, tmx, tmy = next_cell(ix, iy, tmx, tmy, stx, sty, tdx, tdy)
    return count


@njit(cache=True, inline="always")
def two_leg_slabs(tx, qx, qy, qz, rx, p, skip, edges, edge_b, base, top, gx0, gy0, cs, ncx, ncy,
                  start, items, max_slabs, odd):  # pragma: no cover - compiled
    """Slabs of the path tx -> (qx, qy, qz) -> rx[p]: per leg the walls crossed below their
    roof (but wall ``skip``), rounded up to even, or to odd with ``odd`` (1: the point lies
    inside a building the legs enter and leave); past ``max_slabs`` the walks stop early and
    some count over it is returned."""
    a = walls_crossed(tx[0], tx[1], tx[2], qx, qy, qz, skip, edges, edge_b, base, top, gx0,
                      gy0, cs, ncx, ncy, start, items, max_slabs - odd)   # the other leg >= odd
    a += (a + odd) % 2
    if a > max_slabs:
        return a
    b = walls_crossed(qx, qy, qz, rx[p, 0], rx[p, 1], rx[p, 2], skip, edges, edge_b, base, top,
                      gx0, gy0, cs, ncx, ncy, start, items, max_slabs - a)
    return a + b + (b + odd) % 2


@njit(cache=True, parallel=True)
def _slabs(order, cand, walls, n, wall_id, tx, rx, edges, edge_b, base, top, gx0, gy0, cs, ncx,
           ncy, start, items, max_slabs, inside, out):  # pragma: no cover - compiled
    """Per receiver and ranked wall (``order``, ``cand`` (R, N)), the slabs of the reflection
    path's two legs (:func:`two_leg_slabs`, odd with ``inside`` (1); the reflection point
    1 cm off the wall on its normal's side, as :func:`.legs.first_clear_reflection` puts
    it); -1 past the ranked walls."""
    for p in prange(rx.shape[0]):
        for r in range(order.shape[0]):
            if not np.isfinite(cand[r, p]):
                out[r, p] = -1
                continue
            k = order[r, p]
            qx, qy, qz = reflection_point(walls, n, k, tx, rx, p)
            out[r, p] = two_leg_slabs(tx, qx, qy, qz, rx, p, wall_id[k], edges, edge_b, base,
                                      top, gx0, gy0, cs, ncx, ncy, start, items, max_slabs,
                                      inside)


def best_reflection_through(prisms: BuildingPrisms, tx_xyz_m, rx_xyz_m, f_hz: float, *,
                            max_slabs: int = 2, max_rounds: int = 8, max_range_m: float = 500.0,
                            inside: bool = False, return_points: bool = False):
    """Least loss of a one-wall reflection whose legs cross 1 to ``max_slabs`` slabs, dB
    (inf where none), over each receiver's ``max_rounds`` shortest reflections.

    Parameters
    ----------
    prisms : BuildingPrisms
    tx_xyz_m : (3,) array_like
        Antenna, ENU metres.
    rx_xyz_m : (N, 3) array_like
        Receivers, ENU metres.
    f_hz : float
        Carrier, Hz.
    max_slabs : int
        Most slabs (walls and roofs) both legs may cross together.
    max_rounds : int
        Walls tried per receiver, in increasing unfolded length.
    max_range_m : float
        Walls within this plan distance of the antenna (their nearer end).
    inside : bool
        Reflect off the walls' inside faces (a path through the building the wall
        belongs to) instead of their outside faces.
    return_points : bool
        Also return the (N, 3) reflection points (nan where none).

    Returns
    -------
    (N,) float, or ((N,) float, (N, 3) float) with ``return_points``
        Path loss without antenna gain, dB; the point each path leaves the wall from.
    """
    rx = np.asarray(rx_xyz_m, float).reshape(-1, 3)
    tx = np.asarray(tx_xyz_m, float)
    best = np.full(len(rx), np.inf)
    where = np.full((len(rx), 3), np.nan)
    e_all = prisms.edges
    if len(e_all) == 0 or len(rx) == 0 or max_slabs < 1 or max_rounds < 1:
        return (best, where) if return_points else best
    if inside:              # the inner faces: each wall reversed, its normal into the building
        e_all = np.ascontiguousarray(e_all[:, [2, 3, 0, 1]])
    ab = e_all[:, 2:] - e_all[:, :2]
    n_all = np.column_stack([ab[:, 1], -ab[:, 0]]) / np.linalg.norm(ab, axis=1)[:, None]
    near = np.minimum(np.hypot(e_all[:, 0] - tx[0], e_all[:, 1] - tx[1]),
                      np.hypot(e_all[:, 2] - tx[0], e_all[:, 3] - tx[1])) <= max_range_m
    walls = np.flatnonzero((np.sum((tx[:2] - e_all[:, :2]) * n_all, axis=1) > 0) & near)
    if len(walls) == 0:
        return (best, where) if return_points else best
    e, n = np.ascontiguousarray(e_all[walls]), np.ascontiguousarray(n_all[walls])
    top = prisms.top_z[prisms.edge_building][walls]
    rounds = int(min(max_rounds, len(walls)))
    order = np.full((rounds, len(rx)), -1, np.int64)
    cand = np.full((rounds, len(rx)), np.inf)
    tile_pts, tile_start = tiles_of(rx[:, :2], spread=True)
    _top_reflections(e, n, top, tx, np.ascontiguousarray(rx), tile_pts, tile_start, order, cand)
    slabs = np.empty((rounds, len(rx)), np.int64)
    fb = _fan_and_buckets(prisms, tx)
    _slabs(order, cand, e, n, walls.astype(np.int64), tx, np.ascontiguousarray(rx), *fb[:4],
           *fb[7:], int(max_slabs), int(bool(inside)), slabs)
    r_i, p_i = np.nonzero((slabs >= 1) & (slabs <= max_slabs))
    if len(p_i) == 0:
        return (best, where) if return_points else best
    _, _, r_xyz, length, graze = _pairs(tx, rx, e, top, order[r_i, p_i], p_i)
    loss = (20.0 * np.log10(4.0 * np.pi * np.maximum(length, 1.0) * f_hz / C_M_S)
            + wall_reflection_loss_db(graze, f_hz) + slabs[r_i, p_i] * slab_loss_db(f_hz))
    first = np.lexsort((loss, p_i))                  # each receiver's least loss first
    keep = np.ones(len(first), bool)
    keep[1:] = p_i[first][1:] != p_i[first][:-1]
    sel = first[keep]
    best[p_i[sel]] = loss[sel]
    where[p_i[sel]] = r_xyz[sel]
    return (best, where) if return_points else best
