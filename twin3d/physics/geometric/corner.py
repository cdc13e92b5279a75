"""Lateral diffraction around one building corner (a one-corner dominant path).

Street-level transmitters reach side streets mostly around corners, not
over roofs. For every convex footprint corner C (the building on the left
of both its edges, which turn left there), the path T -> C -> P is tried
where both legs are unobstructed in 3D (heights linear in the unfolded
plan distance, like :mod:`.reflection`). Its loss is free space over the
unfolded 3D length plus a knife edge at the corner, turned on its side:
ITU-R P.526-15 eq. 29 with the plan diffraction angle theta between the
directions T -> C and C -> P,

    v = theta sqrt(2 d1 d2 / (lambda (d1 + d2))),   loss = J(v),

d1, d2 the plan leg lengths. The least such loss over the corners is the
term (the dominant path of WinProp's Dominant Path Model, restricted to one
corner; the search over a visibility graph of several corners is left for
later).

The search (compiled, parallel): the corners seen from the transmitter at
its own height, within ``max_range_m``, are ranked per receiver by their
loss ignoring obstruction, and the first of the ``max_rounds`` best whose
two legs are clear wins. The ranking runs per 40 m tile of receivers: the
corners are visited in increasing order of a lower bound of their loss over
the tile (free space over the shortest plan path through the tile's
bounding circle plus J(v) at the least angle and second leg), and a
receiver stops at the first bound past its R-th best: the same R best, in
the same order (ties to the corner nearer the transmitter), as trying every
corner. The legs are then tested per receiver, first leg by the walls each
corner's ray crosses, second by the bucket walk (:mod:`.legs`). No I/O.

Examples
--------
>>> import numpy as np, shapely
>>> from twin3d.model import Buildings
>>> from twin3d.physics.geometric.los3d import building_prisms
>>> b = Buildings(["b"], np.array([shapely.box(0, 0, 10, 10)]), np.array([30.0]),
...               np.zeros(1), ["yes"], ["tag"])
>>> convex_corners(building_prisms(b))[0].shape
(4, 2)
"""

from __future__ import annotations

import numpy as np
from numba import njit, parallel_chunksize, prange

from ..radio import C_M_S
from .corner_bounds import circle_bound, circle_of, corner_heap, next_in_order
from .corner_clear import blocked_heights, least_clear_corner
from .legs import first_clear_corner, leg_crossings
from .los3d import BuildingPrisms, _fan_and_buckets, line_of_sight

__all__ = ["convex_corners", "best_corner_path", "tiles_of"]

#: How far a corner is moved off the wall, along the mean outward normal, metres.
NUDGE_M = 0.05


def convex_corners(prisms: BuildingPrisms, return_walls: bool = False):
    """Convex footprint corners, nudged off the walls: (xy (C, 2), top_z (C,)).

    An edge's successor is the next edge of the same ring (edges are stored
    ring by ring; the last edge of a ring is followed by the ring's first).
    With ``return_walls``, also (C, 2) the ids in ``prisms.edges`` of the two
    walls that meet at each corner (the one ending there, the one starting there).
    """
    e = prisms.edges
    if len(e) == 0:
        empty = np.zeros((0, 2)), np.zeros(0)
        return empty + (np.zeros((0, 2), np.int64),) if return_walls else empty
    ring = prisms.edge_ring
    first = np.r_[True, ring[1:] != ring[:-1]]
    ring_first = np.maximum.accumulate(np.where(first, np.arange(len(e)), 0))
    last = np.r_[ring[1:] != ring[:-1], True]
    nxt = np.where(last, ring_first, np.arange(1, len(e) + 1) % len(e))
    d_in = e[:, 2:] - e[:, :2]
    d_out = d_in[nxt]
    cross = d_in[:, 0] * d_out[:, 1] - d_in[:, 1] * d_out[:, 0]
    ok = cross > 1e-9 * np.linalg.norm(d_in, axis=1) * np.linalg.norm(d_out, axis=1)
    n_in = np.column_stack([d_in[:, 1], -d_in[:, 0]]) / np.linalg.norm(d_in, axis=1)[:, None]
    n_out = np.column_stack([d_out[:, 1], -d_out[:, 0]]) / np.linalg.norm(d_out, axis=1)[:, None]
    bis = n_in + n_out
    bis /= np.maximum(np.linalg.norm(bis, axis=1), 1e-12)[:, None]
    xy = e[:, 2:] + NUDGE_M * bis
    if return_walls:
        walls = np.column_stack([np.arange(len(e)), nxt]).astype(np.int64)
        return xy[ok], prisms.top_z[prisms.edge_building][ok], walls[ok]
    return xy[ok], prisms.top_z[prisms.edge_building][ok]


#: Side of the square tiles the receivers are grouped in for the candidate search, metres.
TILE_M = 40.0
#: Side of the sub-tiles whose own bounds skip corners before their loss is computed, metres.
SUB_TILE_M = 20.0


@njit(cache=True, parallel=True)
def _top_candidates(cxy, d_tc, u1, tx, rx, tile_pts, tile_start, sub_start, lam, weight, max_leg,
                    out_k, out_loss):
    """Per receiver, the R least-loss corners (unobstructed or not), sorted: out_k, out_loss (R, N).

    Ties go to the lower corner index (the order of ``cxy``: nearest the
    transmitter first). Receivers come grouped in tiles (``tile_pts[tile_start[i]:
    tile_start[i + 1]]``), each split in sub-tiles (``sub_start``: every sub-tile's
    first position, the tiles' among them, and the end); for each tile the corners
    are visited in increasing order of a lower bound of their loss over the whole
    tile (:func:`.corner_bounds.circle_bound`), and a receiver stops at the first corner whose
    bound exceeds its R-th best loss; a corner whose bound over the receiver's
    sub-tile (computed once per sub-tile, when first visited) exceeds it is
    skipped: the result is that of trying every corner.
    """
    n_r = out_k.shape[0]
    four_pi = 4.0 * np.pi
    j_floor = 6.0 * max(weight, 0.0)        # below J(0) = 6.03 dB, for rounding
    for ti in prange(tile_start.shape[0] - 1):
        a, b = tile_start[ti], tile_start[ti + 1]
        mx, my, rho, dz = circle_of(rx, tile_pts, a, b, tx[2])
        # The corners by increasing bound, sorted lazily (a heap): receivers stop after a few
        # dozen, of hundreds. Only the set visited matters, not the order among equal bounds.
        bound, keep, m, heap, srt, n_srt, n_heap = corner_heap(mx, my, rho, dz, cxy, d_tc, u1,
                                                               lam, weight, max_leg)
        sub_bound = np.empty(m)             # the bounds over the current sub-tile (nan: not yet)
        # A receiver's R best, in local buffers (out_* rows are N apart), written back at the end.
        best_l = np.empty(n_r)
        best_k = np.empty(n_r, np.int64)
        last = n_r - 1
        for s in range(np.searchsorted(sub_start, a), np.searchsorted(sub_start, b)):
            sa, sb = sub_start[s], sub_start[s + 1]
            smx, smy, srho, sdz = circle_of(rx, tile_pts, sa, sb, tx[2])
            sub_bound[:] = np.nan
            for q in range(sa, sb):
                p = tile_pts[q]
                for k in range(n_r):
                    best_l[k] = out_loss[k, p]
                    best_k[k] = out_k[k, p]
                # A path whose free space over its 3D length plus the least J (J(0) = 6.03 dB: the
                # plan angle is >= 0) passes the R-th best loss is out: no need for its J(v).
                dz2 = (rx[p, 2] - tx[2]) ** 2
                lim = lam / four_pi * 10.0 ** ((best_l[last] - j_floor) / 20.0) * (1.0 + 1e-9)
                for r in range(m):
                    i, n_srt, n_heap = next_in_order(r, bound, heap, srt, n_srt, n_heap)
                    if bound[i] > best_l[last]:
                        break
                    c = keep[i]
                    if sub_bound[i] != sub_bound[i]:
                        sub_bound[i] = circle_bound(c, smx, smy, srho, sdz, cxy, d_tc, u1, lam,
                                                     weight, max_leg)
                    if sub_bound[i] > best_l[last]:
                        continue
                    ex, ey = rx[p, 0] - cxy[c, 0], rx[p, 1] - cxy[c, 1]
                    dcr = np.sqrt(ex * ex + ey * ey)
                    if dcr <= 1.0 or dcr > max_leg or (d_tc[c] + dcr) ** 2 + dz2 > lim * lim:
                        continue
                    cos_t = min(1.0, max(-1.0, (u1[c, 0] * ex + u1[c, 1] * ey) / dcr))
                    plan = d_tc[c] + dcr
                    v = np.arccos(cos_t) * np.sqrt(2.0 * d_tc[c] * dcr / (lam * plan))
                    j = 0.0
                    if v > -0.78:       # ITU-R P.526 eq. 31, as knife_edge_loss_db
                        j = max(0.0, 6.9 + 20.0 * np.log10(np.sqrt((v - 0.1) ** 2 + 1.0) + v - 0.1))
                    length = max(np.sqrt(plan * plan + (rx[p, 2] - tx[2]) ** 2), 1.0)
                    loss = 20.0 * np.log10(4.0 * np.pi * length / lam) + weight * j
                    if loss < best_l[last] or (loss == best_l[last] and c < best_k[last]):
                        k = last
                        while k > 0 and (best_l[k - 1] > loss
                                         or (best_l[k - 1] == loss and best_k[k - 1] > c)):
                            best_l[k] = best_l[k - 1]
                            best_k[k] = best_k[k - 1]
                            k -= 1
                        best_l[k] = loss
                        best_k[k] = c
                        lim = lam / four_pi * 10.0 ** ((best_l[last] - j_floor) / 20.0) * (1.0 + 1e-9)
                for k in range(n_r):
                    out_loss[k, p] = best_l[k]
                    out_k[k, p] = best_k[k]


def tiles_of(xy_m, tile_m: float = TILE_M, sub_m: float | None = None, spread: bool = False):
    """Group points in square tiles: (point ids in tile order (N,), tile starts (T + 1,)).

    With ``sub_m``, each tile is split in square sub-tiles of that side (from the same
    origin; ``tile_m`` a multiple of it), the points ordered by sub-tile within their tile,
    and their starts (S + 1,) returned third (every tile start is one of them).
    ``spread``: the tiles in :func:`spread_order` instead of row by row, for a parallel
    loop over them (numba hands each thread one contiguous block of tiles, and a block
    of neighbouring tiles can hold most of the work: the other thread then waits;
    ``numba.parallel_chunksize`` did not change that here, numba 0.68 on its omp layer).

    Examples
    --------
    >>> pts, start = tiles_of(np.array([[0.0, 0.0], [50.0, 0.0], [5.0, 5.0]]), 20.0)
    >>> pts.tolist(), start.tolist()
    ([0, 2, 1], [0, 2, 3])
    >>> pts, start, sub = tiles_of(np.array([[17.0, 0.0], [50.0, 0.0], [5.0, 5.0]]), 20.0, 10.0)
    >>> pts.tolist(), start.tolist(), sub.tolist()
    ([2, 0, 1], [0, 2, 3], [0, 1, 2, 3])
    """
    xy = np.asarray(xy_m, float).reshape(-1, 2)
    if len(xy) == 0:
        empty = np.zeros(0, np.int64), np.zeros(1, np.int64)
        return empty if sub_m is None else empty + (np.zeros(1, np.int64),)
    x, y = xy[:, 0] - xy[:, 0].min(), xy[:, 1] - xy[:, 1].min()
    ix = np.floor(x / tile_m).astype(np.int64)
    iy = np.floor(y / tile_m).astype(np.int64)
    key = iy * (int(ix.max()) + 1) + ix
    if spread:
        tiles, key = np.unique(key, return_inverse=True)
        rank = np.empty(len(tiles), np.int64)
        rank[spread_order(len(tiles))] = np.arange(len(tiles))
        key = rank[key]
    if sub_m is None:
        order = np.argsort(key, kind="stable")
    else:
        sx = np.floor(x / sub_m).astype(np.int64)
        sy = np.floor(y / sub_m).astype(np.int64)
        sub_key = sy * (int(sx.max()) + 1) + sx
        order = np.lexsort((sub_key, key))
    ks = key[order]
    new_tile = np.r_[True, ks[1:] != ks[:-1]]
    start = np.r_[np.flatnonzero(new_tile), len(xy)].astype(np.int64)
    if sub_m is None:
        return order.astype(np.int64), start
    ss = sub_key[order]
    sub_start = np.r_[np.flatnonzero(new_tile | np.r_[True, ss[1:] != ss[:-1]]), len(xy)]
    return order.astype(np.int64), start, sub_start.astype(np.int64)


def best_corner_path(prisms: BuildingPrisms, tx_xyz_m, rx_xyz_m, f_hz: float, *,
                     max_rounds: int | None = 12, weight: float = 1.0, return_points: bool = False,
                     max_range_m: float = 500.0, max_leg_m: float = 300.0):
    """Least one-corner lateral-diffraction path loss to each receiver, dB (inf: none).

    Candidates are ranked by loss; each round tests the best untested
    candidate of every unresolved receiver (both legs, exact 3D), for up
    to ``max_rounds`` rounds; None: every corner, the least-loss one with
    both legs clear (:func:`.corner_clear.least_clear_corner`). ``weight``
    scales the corner's J(v) (1: P.526 as is; a calibration knob). Corners
    within ``max_range_m`` of the transmitter, second legs up to
    ``max_leg_m``. With ``return_points``, also the (N, 3) corner of each
    best path (nan where none).
    """
    tx = np.asarray(tx_xyz_m, float)
    rx = np.asarray(rx_xyz_m, float).reshape(-1, 3)
    best = np.full(len(rx), np.inf)
    where = np.full((len(rx), 3), np.nan)
    cxy, ctop, own = convex_corners(prisms, return_walls=True)
    if len(cxy) == 0 or len(rx) == 0:
        return (best, where) if return_points else best
    lam = C_M_S / f_hz
    # Corners not visible from the transmitter even at its own height are never visible lower down.
    d_tc = np.hypot(cxy[:, 0] - tx[0], cxy[:, 1] - tx[1])
    vis = line_of_sight(prisms, np.broadcast_to(tx, (len(cxy), 3)),
                        np.column_stack([cxy, np.full(len(cxy), tx[2])]),
                        check_ends=False) & (d_tc > 1.0) & (d_tc <= max_range_m)
    near_first = np.argsort(d_tc[vis], kind="stable")
    cxy, d_tc, own = cxy[vis][near_first], d_tc[vis][near_first], own[vis][near_first]
    if len(cxy) == 0:
        return (best, where) if return_points else best
    u1 = (cxy - tx[:2]) / d_tc[:, None]
    tile_pts, tile_start, sub_start = tiles_of(rx[:, :2], TILE_M, SUB_TILE_M, spread=True)
    (edges, edge_b, base, top, f_start, f_items, f_rmin, gx0, gy0, cs, ncx, ncy, b_start,
     b_items) = _fan_and_buckets(prisms, tx)
    x_start, x_t, x_b = leg_crossings(tx, cxy, edges, edge_b, f_start, f_items, f_rmin)
    if max_rounds is None:              # every corner, tested lazily
        iv_start, iv_lo, iv_hi = blocked_heights(float(tx[2]), x_start, x_t, x_b, base, top)
        least_clear_corner(np.ascontiguousarray(cxy), d_tc, np.ascontiguousarray(u1), tx,
                           np.ascontiguousarray(rx), tile_pts, tile_start, sub_start, lam,
                           float(weight), float(max_leg_m), x_start, x_t, x_b, edges, edge_b, base,
                           top, gx0, gy0, cs, ncx, ncy, b_start, b_items, own, iv_start, iv_lo,
                           iv_hi, best, where)
        return (best, where) if return_points else best
    rounds = int(min(max_rounds, len(cxy)))
    order = np.full((rounds, len(rx)), -1, np.int64)          # best candidates per receiver
    cand = np.full((rounds, len(rx)), np.inf)
    with parallel_chunksize(8):             # (no effect measured here: tiles_of spreads the tiles)
        _top_candidates(np.ascontiguousarray(cxy), d_tc, np.ascontiguousarray(u1), tx,
                        np.ascontiguousarray(rx), tile_pts, tile_start, sub_start, lam, float(weight),
                        float(max_leg_m), order, cand)
    # The first clear candidate of each receiver (both legs exact 3D; the corners are nudged
    # off the walls, outside every solid: no end-point test).
    with parallel_chunksize(512):
        first_clear_corner(order, cand, cxy, d_tc, tx, np.ascontiguousarray(rx), x_start, x_t, x_b,
                           edges, edge_b, base, top, gx0, gy0, cs, ncx, ncy, b_start, b_items,
                           best, where)
    return (best, where) if return_points else best


def spread_order(n: int) -> np.ndarray:
    """0..n-1 in a fixed order that spreads neighbours apart (by the fractional parts of
    k times the golden ratio), so that the contiguous blocks a static parallel loop hands
    each thread mix the map's busy and quiet tiles (:func:`tiles_of`).

    Examples
    --------
    >>> spread_order(5).tolist()
    [0, 2, 4, 1, 3]
    """
    return np.argsort((np.arange(n) * 0.6180339887498949) % 1.0, kind="stable").astype(np.int64)
