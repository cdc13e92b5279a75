"""Two wall reflections in street canyons by the 2D image method.

A street canyon guides the wave by bouncing it between the facades on its
two sides. For an ordered pair of walls (w1 facing the transmitter T, w2
facing w1), the images are T1 = T mirrored in w1 and T2 = T1 mirrored in
w2 (:func:`~.reflection.image_point_2d`). A receiver P in front of w2 is
reached over T -> R1 -> R2 -> P iff the segment T2 -> P meets w2 at R2
(0 <= u2 <= 1 along the wall) and the segment T1 -> R2 meets w1 at R1
(0 <= u1 <= 1). The unfolded plan length is |T2 P|; the distance travelled
to R1 is |T1 R1| and to R2 is |T2 R2|, and in 3D the height varies
linearly with it, so z_Ri = z_T + (z_P - z_T) d_i / |T2 P|. The path is
valid when R1, R2 lie below their walls' tops and the three legs are
unobstructed (exact 3D test, :mod:`.los3d`). (Saunders & Aragon-Zavala,
*Antennas and Propagation for Wireless Communication Systems*, 2007,
section 13.3: the image method for street canyons.)

Loss = free space over the unfolded 3D length + the reflection loss of
each wall at its grazing angle (:func:`~.reflection.wall_reflection_loss_db`:
concrete, ITU-R P.2040-3).

Only pairs of facing walls (outward normals at least ``min_facing`` apart:
n1 . n2 <= -min_facing) within ``max_gap_m`` of each other are tried: the
two sides of a street. The pairs are ranked per receiver by unfolded length
in a compiled pass, and each round tests the next candidate of every
unresolved receiver, as :func:`~.reflection.best_single_reflection` does.

Examples
--------
>>> import numpy as np, shapely
>>> from twin3d.model import Buildings
>>> from twin3d.physics.geometric.los3d import building_prisms
>>> feet = [shapely.box(-50, -20, 150, 0), shapely.box(-50, 20, 150, 40)]
>>> b = Buildings(["s", "n"], np.array(feet),
...               np.array([30.0, 30.0]), np.zeros(2), ["yes"] * 2, ["tag"] * 2)
>>> loss = best_double_reflection(building_prisms(b), [0.0, 5.0, 10.0], [[100.0, 15.0, 1.5]], 3.5e9)
>>> bool(np.isfinite(loss[0]))
True
"""

from __future__ import annotations

import itertools

import numpy as np
from numba import njit, parallel_chunksize, prange
from scipy.spatial import cKDTree

from ..radio import C_M_S
from .buckets import bucket_points
from .corner import tiles_of
from .legs import first_clear_double_reflection
from .los3d import BuildingPrisms, _fan_and_buckets, line_of_sight
from .reflection import lit_walls, wall_reflection_loss_db

__all__ = ["facing_wall_pairs", "double_reflection_geometry", "best_double_reflection"]


def _normals(e):
    ab = e[:, 2:] - e[:, :2]
    return np.column_stack([ab[:, 1], -ab[:, 0]]) / np.linalg.norm(ab, axis=1)[:, None]


def _mirror(p, a, n):
    """Mirror points p (M, 2) in the lines through a (M, 2) with unit normals n (M, 2)."""
    s = np.sum((p - a) * n, axis=1)
    return p - 2.0 * s[:, None] * n, s


_PARTNERS: dict = {}


def _partner_lists(e, walls, max_gap_m, min_facing):
    """Per wall of ``walls``, its canyon partners: the walls w2 != w facing it (n . n2 <=
    -min_facing) within ``max_gap_m`` (gap of midpoints less half lengths), each midpoint in
    front of the other wall; ascending wall ids. Depends on the buildings only."""
    n = _normals(e)
    mid = 0.5 * (e[:, :2] + e[:, 2:])
    half = 0.5 * np.linalg.norm(e[:, 2:] - e[:, :2], axis=1)
    # Candidates by midpoint distance (a k-d tree: a superset of the gap test), sorted per wall.
    near = cKDTree(mid).query_ball_point(mid[walls], max_gap_m + half[walls] + half.max())
    counts = np.array([len(x) for x in near], np.int64)
    i = np.repeat(np.arange(len(walls)), counts)
    w2 = np.fromiter(itertools.chain.from_iterable(near), np.int64, count=len(i))
    w1 = walls[i]
    gap = np.hypot(*(mid[w1] - mid[w2]).T) - half[w1] - half[w2]
    keep = (np.sum(n[w1] * n[w2], axis=1) <= -min_facing) & (gap <= max_gap_m) & (w1 != w2) \
        & (np.sum((mid[w2] - e[w1, :2]) * n[w1], axis=1) > 0) \
        & (np.sum((mid[w1] - e[w2, :2]) * n[w2], axis=1) > 0)
    kept = np.bincount(i[keep], minlength=len(walls))
    return np.split(w2[keep], np.cumsum(kept)[:-1])


def _partners(prisms, e, first, max_gap_m, min_facing):
    """(w1, w2) of every first wall and its partners (:func:`_partner_lists`), first walls in
    the order given. With ``prisms``, the lists are remembered on it (computed per wall once)."""
    if prisms is None or prisms.edges is not e and not np.array_equal(prisms.edges, e):
        lists = _partner_lists(e, first, max_gap_m, min_facing)
    else:
        key = (id(prisms), float(max_gap_m), float(min_facing))
        hit = _PARTNERS.get(key)
        if hit is None or hit[0] is not prisms:
            _PARTNERS.clear()                            # one building set at a time
            hit = _PARTNERS[key] = (prisms, np.zeros(len(e), bool), np.empty(len(e), object))
        _, done, store = hit
        todo = np.unique(first[~done[first]])
        if len(todo):
            for w, lst in zip(todo, _partner_lists(e, todo, max_gap_m, min_facing)):
                store[w] = lst
            done[todo] = True
        lists = store[first]
    counts = np.fromiter((len(x) for x in lists), np.int64, count=len(first))
    w2 = np.concatenate(list(lists)) if counts.sum() else np.zeros(0, np.int64)
    return np.repeat(first, counts), w2.astype(np.int64)


def facing_wall_pairs(edges, first, tx_xy_m, *, max_gap_m: float = 60.0,
                      min_facing: float = 0.5, prisms: BuildingPrisms | None = None):
    """Ordered wall pairs (w1 in ``first``, w2 any) of a canyon, and the images T1, T2.

    Parameters
    ----------
    edges : (E, 4) array
        Walls x0, y0, x1, y1, the building on their left.
    first : (F,) int
        Candidate first walls (facing the transmitter).
    tx_xy_m : (2,) array_like
    max_gap_m : float
        Largest distance between the two walls' segments (approximated
        from their midpoints and half lengths), metres.
    min_facing : float
        The outward normals satisfy n1 . n2 <= -min_facing.
    prisms : BuildingPrisms, optional
        With it, pairs whose midpoints do not see each other (1 m above
        ground) are dropped.

    Returns
    -------
    w1, w2 : (M,) int
    t1, t2 : (M, 2) float
        The images of the transmitter in w1, then of T1 in w2; T faces w1
        and T1 faces w2.
    """
    e = np.asarray(edges, float).reshape(-1, 4)
    first = np.asarray(first, np.int64)
    empty = (np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros((0, 2)), np.zeros((0, 2)))
    if len(first) == 0 or len(e) == 0:
        return empty
    n = _normals(e)
    mid = 0.5 * (e[:, :2] + e[:, 2:])
    w1, w2 = _partners(prisms, e, first, max_gap_m, min_facing)
    tx = np.broadcast_to(np.asarray(tx_xy_m, float)[:2], (len(w1), 2))
    t1, side_t = _mirror(tx, e[w1, :2], n[w1])
    side_t1 = np.sum((t1 - e[w2, :2]) * n[w2], axis=1)
    ok = (side_t > 0) & (side_t1 > 0)
    w1, w2, t1 = w1[ok], w2[ok], t1[ok]
    # The segment between the midpoints (5 cm off each wall, 1 m up) meets no building.
    if prisms is not None and len(w1):
        b1, b2 = prisms.edge_building[w1], prisms.edge_building[w2]
        z = np.minimum(prisms.top_z[b1], prisms.top_z[b2])
        a3 = np.column_stack([mid[w1] + 0.05 * n[w1], prisms.base_z[b1] + 1.0])
        b3 = np.column_stack([mid[w2] + 0.05 * n[w2], prisms.base_z[b2] + 1.0])
        a3[:, 2] = np.minimum(a3[:, 2], z - 0.01)
        b3[:, 2] = np.minimum(b3[:, 2], z - 0.01)
        seen = line_of_sight(prisms, a3, b3, check_ends=False)
        w1, w2, t1 = w1[seen], w2[seen], t1[seen]
    t2, _ = _mirror(t1, e[w2, :2], n[w2])
    return w1, w2, t1, t2


def _pair_table(e, n, w1, w2, t1, t2, top, tx, items):
    """Per pair (in bucket order ``items``), the constants :func:`_top_pairs` needs, (M, 22).

    Gathered once per site into one contiguous row per pair: the kernel then
    reads memory in order instead of through w1/w2/e/n indirections.
    """
    a, b = w1[items], w2[items]
    ta, tb = t1[items], t2[items]
    bxy, axy = e[b, 2:] - e[b, :2], e[a, 2:] - e[a, :2]
    side_t1 = (ta[:, 0] - e[b, 0]) * n[b, 0] + (ta[:, 1] - e[b, 1]) * n[b, 1]
    side_t = (tx[0] - e[a, 0]) * n[a, 0] + (tx[1] - e[a, 1]) * n[a, 1]
    return np.ascontiguousarray(np.column_stack([
        tb, e[b, :2], n[b], side_t1, bxy, np.sum(bxy * bxy, axis=1),                 # 0-9
        ta, e[a, :2], n[a], side_t, axy, np.sum(axy * axy, axis=1), top[a], top[b]]))  # 10-21


@njit(cache=True, parallel=True)
def _top_pairs(table, tx, rx, reach_m, bx0, by0, bcell, pair_cell, bnx, bitems, tile_pts,
               tile_start, out_q, out_len):
    """Per receiver, the R shortest valid-geometry two-wall paths (obstruction not checked).

    Visits the pairs bucketed by their second wall's midpoint (``pair_cell``: each pair's
    bucket, :func:`~.buckets.bucket_points`, ``bnx`` buckets a row; ``table`` from
    :func:`_pair_table`, in bucket order) whose bucket is within ``reach_m`` (rounded up
    to whole buckets) of the receiver's, in table order. Receivers come grouped in tiles
    (``tile_pts[tile_start[i]:tile_start[i + 1]]``, :func:`~.corner.tiles_of`): a pair
    whose receivers' side of the second wall, or its image cone through that wall, misses
    the tile's bounding circle reaches none of them and is left out of the tile's list
    (the pairs in it keep their order). Exact shortcut: a pair whose plan length
    |T2 P| is already no shorter than the R-th best 3D length so far cannot enter the
    list (3D length >= plan length).
    """
    n_r = out_q.shape[0]
    n_k = table.shape[0]
    reach = int(np.ceil(reach_m / bcell))
    for ti in prange(tile_start.shape[0] - 1):
        a, b = tile_start[ti], tile_start[ti + 1]
        x0, y0, x1, y1 = np.inf, np.inf, -np.inf, -np.inf
        for q in range(a, b):
            p = tile_pts[q]
            x0, x1 = min(x0, rx[p, 0]), max(x1, rx[p, 0])
            y0, y1 = min(y0, rx[p, 1]), max(y1, rx[p, 1])
        mx, my = 0.5 * (x0 + x1), 0.5 * (y0 + y1)
        rho = 0.5 * np.sqrt((x1 - x0) ** 2 + (y1 - y0) ** 2) + 1e-6
        lst = np.empty(n_k, np.int64)
        m = 0
        for k in range(n_k):
            if (mx - table[k, 2]) * table[k, 4] + (my - table[k, 3]) * table[k, 5] + rho <= 0.0:
                continue                                  # the tile is behind the second wall
            # The cone from T2 through the second wall (as reflection._top_reflections).
            ax, ay = table[k, 2] - table[k, 0], table[k, 3] - table[k, 1]
            bx, by = ax + table[k, 7], ay + table[k, 8]
            mx_i, my_i = mx - table[k, 0], my - table[k, 1]
            if ax * by - ay * bx < 0.0:
                ax, ay, bx, by = bx, by, ax, ay
            la, lb = np.sqrt(ax * ax + ay * ay), np.sqrt(bx * bx + by * by)
            if ax * my_i - ay * mx_i < -(rho + 1e-6) * la or mx_i * by - my_i * bx < -(rho + 1e-6) * lb:
                continue
            lst[m] = k
            m += 1
        for q in range(a, b):
            p = tile_pts[q]
            px, py, pz = rx[p, 0], rx[p, 1], rx[p, 2]
            dz2 = (pz - tx[2]) ** 2
            worst = out_len[n_r - 1, p]
            cx = int(np.floor((px - bx0) / bcell))
            cy = int(np.floor((py - by0) / bcell))
            for o in range(m):
                k = lst[o]
                if abs(pair_cell[k] % bnx - cx) > reach or abs(pair_cell[k] // bnx - cy) > reach:
                    continue                              # out of the receiver's buckets
                t2x, t2y = table[k, 0], table[k, 1]
                plan2 = (px - t2x) ** 2 + (py - t2y) ** 2
                if plan2 > worst * worst:                   # inf: never
                    continue
                side_p = (px - table[k, 2]) * table[k, 4] + (py - table[k, 3]) * table[k, 5]
                if side_p <= 0.0:
                    continue
                side_t1 = table[k, 6]
                s2 = side_t1 / (side_t1 + side_p)
                r2x = t2x + s2 * (px - t2x)
                r2y = t2y + s2 * (py - t2y)
                u2 = ((r2x - table[k, 2]) * table[k, 7] + (r2y - table[k, 3]) * table[k, 8]) \
                    / table[k, 9]
                if u2 < 0.0 or u2 > 1.0:
                    continue
                side_r2 = (r2x - table[k, 12]) * table[k, 14] \
                    + (r2y - table[k, 13]) * table[k, 15]
                if side_r2 <= 0.0:
                    continue
                t1x, t1y = table[k, 10], table[k, 11]
                side_t = table[k, 16]
                s1 = side_t / (side_t + side_r2)
                r1x = t1x + s1 * (r2x - t1x)
                r1y = t1y + s1 * (r2y - t1y)
                u1 = ((r1x - table[k, 12]) * table[k, 17]
                      + (r1y - table[k, 13]) * table[k, 18]) / table[k, 19]
                if u1 < 0.0 or u1 > 1.0:
                    continue
                plan = np.sqrt(plan2)
                d1 = np.sqrt((r1x - t1x) ** 2 + (r1y - t1y) ** 2)
                d2 = np.sqrt((r2x - t2x) ** 2 + (r2y - t2y) ** 2)
                if tx[2] + (pz - tx[2]) * d1 / plan >= table[k, 20] or \
                        tx[2] + (pz - tx[2]) * d2 / plan >= table[k, 21]:
                    continue
                length = np.sqrt(plan * plan + dz2)
                if length < worst:
                    i = n_r - 1
                    while i > 0 and out_len[i - 1, p] > length:
                        out_len[i, p] = out_len[i - 1, p]
                        out_q[i, p] = out_q[i - 1, p]
                        i -= 1
                    out_len[i, p] = length
                    out_q[i, p] = bitems[k]
                    worst = out_len[n_r - 1, p]


def double_reflection_geometry(tx_xyz_m, rx_xyz_m, e1, e2, t1, t2):
    """Reflection points, unfolded length and grazing angles of given two-wall paths.

    All arrays (M, ...) row by row: receivers (M, 3), walls e1, e2 (M, 4),
    images t1, t2 (M, 2). Assumes the geometry is valid (see :func:`_top_pairs`).

    Returns
    -------
    r1, r2 : (M, 3) float
        Reflection points on w1 and w2 (z on the unfolded straight line).
    length_m : (M,) float
        Unfolded 3D length.
    graze1, graze2 : (M,) float
        Grazing angles at w1 and w2 in plan, radians.
    """
    tx = np.asarray(tx_xyz_m, float)
    rx = np.asarray(rx_xyz_m, float).reshape(-1, 3)
    n1, n2 = _normals(e1), _normals(e2)
    side_p = np.sum((rx[:, :2] - e2[:, :2]) * n2, axis=1)
    side_t1 = np.sum((t1 - e2[:, :2]) * n2, axis=1)
    r2 = t2 + (side_t1 / (side_t1 + side_p))[:, None] * (rx[:, :2] - t2)
    side_r2 = np.sum((r2 - e1[:, :2]) * n1, axis=1)
    side_t = np.sum((tx[:2] - e1[:, :2]) * n1, axis=1)
    r1 = t1 + (side_t / (side_t + side_r2))[:, None] * (r2 - t1)
    plan = np.hypot(rx[:, 0] - t2[:, 0], rx[:, 1] - t2[:, 1])
    z1 = tx[2] + (rx[:, 2] - tx[2]) * np.hypot(*(r1 - t1).T) / plan
    z2 = tx[2] + (rx[:, 2] - tx[2]) * np.hypot(*(r2 - t2).T) / plan
    u = (rx[:, :2] - t2) / plan[:, None]                  # unfolded direction, = T1 -> R2 mirrored
    graze2 = np.arcsin(np.clip(np.abs(np.sum(u * n2, axis=1)), 0.0, 1.0))
    u1 = (r2 - t1) / np.maximum(np.hypot(*(r2 - t1).T), 1e-12)[:, None]
    graze1 = np.arcsin(np.clip(np.abs(np.sum(u1 * n1, axis=1)), 0.0, 1.0))
    return (np.column_stack([r1, z1]), np.column_stack([r2, z2]),
            np.hypot(plan, rx[:, 2] - tx[2]), graze1, graze2)


def best_double_reflection(prisms: BuildingPrisms, tx_xyz_m, rx_xyz_m, f_hz: float, *,
                           max_rounds: int = 4, return_points: bool = False,
                           max_range_m: float = 500.0, max_gap_m: float = 35.0,
                           min_facing: float = 0.5, max_leg_m: float = 150.0):
    """Least two-wall reflection path loss to each receiver, dB (inf: none valid).

    Loss = 20 log10(4 pi L f / c) + the two walls' reflection losses over the
    unfolded length L. First walls: :func:`~.reflection.lit_walls` within
    ``max_range_m``; second walls: :func:`facing_wall_pairs`; receivers
    within about ``max_leg_m`` of the second wall (within ``max_leg_m`` + 25 m
    of its midpoint). With
    ``return_points``, also the (N, 3) first reflection point of each best
    path (the direction the wave leaves the antenna; nan where none).
    """
    tx = np.asarray(tx_xyz_m, float)
    rx = np.asarray(rx_xyz_m, float).reshape(-1, 3)
    best = np.full(len(rx), np.inf)
    where = np.full((len(rx), 3), np.nan)
    e = prisms.edges
    if len(e) == 0 or len(rx) == 0:
        return (best, where) if return_points else best
    w1, w2, t1, t2 = facing_wall_pairs(e, lit_walls(prisms, tx, max_range_m), tx[:2],
                                       max_gap_m=max_gap_m, min_facing=min_facing, prisms=prisms)
    rounds = int(min(max_rounds, len(w1)))
    if rounds == 0:
        return (best, where) if return_points else best
    n = _normals(e)
    top = prisms.top_z[prisms.edge_building]
    order = np.full((rounds, len(rx)), -1, np.int64)
    cand = np.full((rounds, len(rx)), np.inf)
    mid = 0.5 * (e[w2, :2] + e[w2, 2:])
    half = 0.5 * np.linalg.norm(e[w2, 2:] - e[w2, :2], axis=1)
    bk = bucket_points(mid, 50.0)
    table = _pair_table(e, n, w1, w2, t1, t2, top, tx, bk.items)
    pair_cell = np.repeat(np.arange(bk.nx * bk.ny), np.diff(bk.start))
    tile_pts, tile_start = tiles_of(rx[:, :2], spread=True)
    with parallel_chunksize(8):             # tiles differ in work: hand them out a few at a time
        _top_pairs(table, tx, np.ascontiguousarray(rx), float(max_leg_m + min(half.max(), 25.0)),
                   bk.x0, bk.y0, bk.cell_m, pair_cell, bk.nx, bk.items, tile_pts, tile_start,
                   order, cand)
    # The first candidate of each receiver whose three legs are clear (exact 3D), in one
    # compiled pass; then the losses of those paths only.
    hit = np.empty(len(rx), np.int64)
    with parallel_chunksize(512):
        first_clear_double_reflection(order, cand, w1, w2, np.ascontiguousarray(t1),
                                      np.ascontiguousarray(t2), n, tx, np.ascontiguousarray(rx),
                                      *_fan_and_buckets(prisms, tx), hit)
    p = np.flatnonzero(hit >= 0)
    q = order[hit[p], p]
    a, b = w1[q], w2[q]
    r1, _, length, g1, g2 = double_reflection_geometry(tx, rx[p], e[a], e[b], t1[q], t2[q])
    best[p] = 20.0 * np.log10(4.0 * np.pi * np.maximum(length, 1.0) * f_hz / C_M_S) \
        + wall_reflection_loss_db(g1, f_hz) + wall_reflection_loss_db(g2, f_hz)
    where[p] = r1
    return (best, where) if return_points else best
