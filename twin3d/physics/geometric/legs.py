"""Two-leg paths (antenna -> corner or wall point -> receiver): the first candidate with both legs clear.

:func:`.corner.best_corner_path` and :func:`.reflection.best_single_reflection`
rank a few candidates per receiver by loss, then take the first whose two
legs meet no building (exact 3D, as :func:`.los3d.line_of_sight` with
``check_ends=False``). Here that search runs per receiver in one compiled
pass: the first leg starts at the antenna and goes through its fan
(:mod:`.fan`), the second walks the buckets (:func:`.los3d._walk`'s DDA); a
receiver stops at its first clear candidate, so most legs are never tested.
The geometry of each candidate is computed with the same arithmetic as the
vectorized code it replaces. No I/O.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from .crossing import edge_hit
from .los3d import footprint_hits

__all__ = ["fan_blocked", "segment_blocked", "segment_blocker", "leg_crossings", "first_clear_corner",
           "first_clear_reflection", "first_clear_last_leg", "first_clear_double_reflection",
           "walled_in"]


def walled_in(prisms, starts_xyz_m, rx_xyz_m, rx_footprints=None) -> np.ndarray:
    """(N,) bool: every segment from any of the ``starts`` to ``rx[p]`` meets a wall.

    True where rx[p] lies in the footprint of a building k that holds no
    start point (in plan), and k's walls span the heights of rx[p] and of
    every start (base <= z < roof, with 1e-9 m to spare): a segment from
    outside k's footprint to inside it crosses one of k's rings, at a height
    between its ends', so in k's wall (the test of :func:`segment_blocked`).
    Receivers walled in need no candidate search: none of their legs is clear.
    ``rx_footprints``: the receivers' :func:`~.los3d.footprint_hits`, if known.
    """
    rx = np.asarray(rx_xyz_m, float).reshape(-1, 3)
    starts = np.asarray(starts_xyz_m, float).reshape(-1, 3)
    out = np.zeros(len(rx), bool)
    if len(prisms.base_z) == 0 or len(rx) == 0 or len(starts) == 0:
        return out
    i_pt, i_b = footprint_hits(prisms, rx) if rx_footprints is None else rx_footprints
    _, holds_start = footprint_hits(prisms, starts)
    z = rx[i_pt, 2]
    ok = (prisms.base_z[i_b] <= np.minimum(z, starts[:, 2].min()) - 1e-9) \
        & (np.maximum(z, starts[:, 2].max()) + 1e-9 < prisms.top_z[i_b]) \
        & ~np.isin(i_b, holds_start)
    out[i_pt[ok]] = True
    return out


@njit(cache=True)
def fan_blocked(x0, y0, z0, x1, y1, z1, edges, edge_b, base, top, start, items, r_min):
    """The segment from the fan's source (x0, y0, z0) to (x1, y1, z1) meets a prism."""
    n_bins = start.shape[0] - 1
    dx, dy, dz = x1 - x0, y1 - y0, z1 - z0
    length = np.sqrt(dx * dx + dy * dy)
    b = int(np.floor((np.arctan2(dy, dx) + np.pi) * (n_bins / (2.0 * np.pi))))
    b = min(max(b, 0), n_bins - 1)
    reach = length * (1.0 + 1e-9) + 1e-9
    for q in range(start[b], start[b + 1]):
        e = items[q]
        if r_min[e] > reach:
            break
        t = edge_hit(x0, y0, dx, dy, edges[e, 0], edges[e, 1], edges[e, 2], edges[e, 3])
        if t < 0.0:
            continue
        z = z0 + t * dz
        k = edge_b[e]
        if z >= base[k] and z < top[k]:
            return True
    return False


@njit(cache=True)
def segment_blocked(x0, y0, z0, x1, y1, z1, edges, edge_b, base, top, gx0, gy0, cs, ncx, ncy,
                    start, items):
    """The segment meets a prism: the bucket walk of :func:`.los3d._walk` for one segment."""
    return segment_blocker(x0, y0, z0, x1, y1, z1, edges, edge_b, base, top, gx0, gy0, cs, ncx,
                           ncy, start, items) >= 0


@njit(cache=True, inline="always")
def first_cell(x0, y0, x1, y1, gx0, gy0, cs):  # pragma: no cover - compiled
    """The start of a bucket walk (x0, y0) -> (x1, y1) over cells of ``cs`` metres from
    (gx0, gy0): (ix, iy, cells to visit, x and y steps, t per cell in x and y, the first
    x and y boundary t)."""
    dx, dy = x1 - x0, y1 - y0
    fx = (x0 - gx0) / cs
    fy = (y0 - gy0) / cs
    ix, iy = int(np.floor(fx)), int(np.floor(fy))
    jx, jy = int(np.floor((x1 - gx0) / cs)), int(np.floor((y1 - gy0) / cs))
    tdx = cs / abs(dx) if dx != 0.0 else np.inf
    tdy = cs / abs(dy) if dy != 0.0 else np.inf
    tmx = (((ix + 1 - fx) if dx > 0 else (fx - ix)) * tdx) if dx != 0.0 else np.inf
    tmy = (((iy + 1 - fy) if dy > 0 else (fy - iy)) * tdy) if dy != 0.0 else np.inf
    return (ix, iy, abs(jx - ix) + abs(jy - iy) + 1, 1 if dx > 0 else -1, 1 if dy > 0 else -1,
            tdx, tdy, tmx, tmy)


@njit(cache=True, inline="always")
def next_cell(ix, iy, tmx, tmy, stx, sty, tdx, tdy):  # pragma: no cover - compiled
    """One step of a bucket walk: into the next cell the segment enters, as
    (ix, iy, the segment's t where it enters, the next x and y boundary t)."""
    if tmx < tmy:
        return ix + stx, iy, tmx, tmx + tdx, tmy
    return ix, iy + sty, tmy, tmx, tmy + tdy


@njit(cache=True, inline="always")
def segment_blocker(x0, y0, z0, x1, y1, z1, edges, edge_b, base, top, gx0, gy0, cs, ncx, ncy,
                    start, items):
    """The first wall met by :func:`segment_blocked`'s walk where the segment is within its
    building's height (its id in ``edges``), or -1."""
    dx, dy, dz = x1 - x0, y1 - y0, z1 - z0
    ix, iy, n_cells, stx, sty, tdx, tdy, tmx, tmy = first_cell(x0, y0, x1, y1, gx0, gy0, cs)
    t_cell0 = 0.0
    for _ in range(n_cells):
        t_cell1 = min(tmx, tmy, 1.0)
        if 0 <= ix < ncx and 0 <= iy < ncy:
            c = iy * ncx + ix
            for q in range(start[c], start[c + 1]):
                e = items[q]
                t = edge_hit(x0, y0, dx, dy, edges[e, 0], edges[e, 1], edges[e, 2], edges[e, 3])
                if t < 0.0 or t < t_cell0 or t > t_cell1:
                    continue
                z = z0 + t * dz
                k = edge_b[e]
                if z >= base[k] and z < top[k]:
                    return e
        ix, iy, t_cell0, tmx, tmy = next_cell(ix, iy, tmx, tmy, stx, sty, tdx, tdy)
    return -1


@njit(cache=True)
def _count_crossings(tx, cxy, edges, start, items, r_min, out_n):
    # Serial: a few thousand corners take a millisecond, less than waking the threads.
    n_bins = start.shape[0] - 1
    for k in range(cxy.shape[0]):
        dx, dy = cxy[k, 0] - tx[0], cxy[k, 1] - tx[1]
        reach = np.sqrt(dx * dx + dy * dy) * (1.0 + 1e-9) + 1e-9
        b = min(max(int(np.floor((np.arctan2(dy, dx) + np.pi) * (n_bins / (2.0 * np.pi)))), 0), n_bins - 1)
        n = 0
        for q in range(start[b], start[b + 1]):
            e = items[q]
            if r_min[e] > reach:
                break
            if edge_hit(tx[0], tx[1], dx, dy, edges[e, 0], edges[e, 1], edges[e, 2], edges[e, 3]) >= 0.0:
                n += 1
        out_n[k] = n


@njit(cache=True)
def _fill_crossings(tx, cxy, edges, edge_b, start, items, r_min, x_start, out_t, out_b):
    n_bins = start.shape[0] - 1
    for k in range(cxy.shape[0]):
        dx, dy = cxy[k, 0] - tx[0], cxy[k, 1] - tx[1]
        reach = np.sqrt(dx * dx + dy * dy) * (1.0 + 1e-9) + 1e-9
        b = min(max(int(np.floor((np.arctan2(dy, dx) + np.pi) * (n_bins / (2.0 * np.pi)))), 0), n_bins - 1)
        n = x_start[k]
        for q in range(start[b], start[b + 1]):
            e = items[q]
            if r_min[e] > reach:
                break
            t = edge_hit(tx[0], tx[1], dx, dy, edges[e, 0], edges[e, 1], edges[e, 2], edges[e, 3])
            if t >= 0.0:
                out_t[n] = t
                out_b[n] = edge_b[e]
                n += 1


def leg_crossings(tx, cxy, edges, edge_b, start, items, r_min):
    """The walls the plan segments tx -> cxy[k] cross, found through tx's fan.

    Returns (x_start (K + 1,), t, building): crossing i of corner k, for
    ``x_start[k] <= i < x_start[k + 1]``, is at ``t[i]`` of the way, on a wall
    of ``building[i]``. A first leg tx -> (corner, z) is then blocked iff some
    crossing's height tx_z + t (z - tx_z) lies in its building's [base, roof):
    the test :func:`fan_blocked` makes, without walking the fan again.
    """
    n = np.zeros(len(cxy), np.int64)
    _count_crossings(tx, cxy, edges, start, items, r_min, n)
    x_start = np.concatenate([[0], np.cumsum(n)]).astype(np.int64)
    t = np.empty(x_start[-1])
    b = np.empty(x_start[-1], np.int64)
    _fill_crossings(tx, cxy, edges, edge_b, start, items, r_min, x_start, t, b)
    return x_start, t, b


@njit(cache=True, parallel=True)
def first_clear_corner(order, cand, cxy, d_tc, tx, rx, x_start, x_t, x_b, edges, edge_b, base, top,
                       gx0, gy0, cs, ncx, ncy, b_start, b_items, out_loss, out_xyz):
    """Per receiver, the first of its ranked corners (``order``, ``cand`` (R, N)) with both legs clear.

    The corner's height is where the unfolded path T -> C -> P passes it.
    First legs by the corners' :func:`leg_crossings`, second legs by the
    bucket walk. Writes the loss and position into ``out_loss``,
    ``out_xyz`` (left as they are where no candidate is clear).
    """
    for p in prange(rx.shape[0]):
        for r in range(order.shape[0]):
            if not np.isfinite(cand[r, p]):
                break
            k = order[r, p]
            s = d_tc[k] / (d_tc[k] + np.hypot(rx[p, 0] - cxy[k, 0], rx[p, 1] - cxy[k, 1]))
            cz = tx[2] + (rx[p, 2] - tx[2]) * s
            dz = cz - tx[2]
            blocked = False
            for i in range(x_start[k], x_start[k + 1]):
                z = tx[2] + x_t[i] * dz
                if z >= base[x_b[i]] and z < top[x_b[i]]:
                    blocked = True
                    break
            if blocked:
                continue
            if segment_blocked(cxy[k, 0], cxy[k, 1], cz, rx[p, 0], rx[p, 1], rx[p, 2], edges, edge_b,
                               base, top, gx0, gy0, cs, ncx, ncy, b_start, b_items):
                continue
            out_loss[p] = cand[r, p]
            out_xyz[p, 0], out_xyz[p, 1], out_xyz[p, 2] = cxy[k, 0], cxy[k, 1], cz
            break


@njit(cache=True, inline="always")
def reflection_point(walls, n, k, tx, rx, p):  # pragma: no cover - compiled
    """Where the image-method path tx -> wall k -> rx[p] meets the wall, 1 cm off it
    (outside every solid), as (x, y, z); geometry as :func:`.reflection._pairs`."""
    ax, ay = walls[k, 0], walls[k, 1]
    side_t = (tx[0] - ax) * n[k, 0] + (tx[1] - ay) * n[k, 1]
    imx = tx[0] - 2.0 * side_t * n[k, 0]
    imy = tx[1] - 2.0 * side_t * n[k, 1]
    side_p = (rx[p, 0] - ax) * n[k, 0] + (rx[p, 1] - ay) * n[k, 1]
    s = side_t / (side_t + side_p)
    return (imx + s * (rx[p, 0] - imx) + 0.01 * n[k, 0], imy + s * (rx[p, 1] - imy) + 0.01 * n[k, 1],
            tx[2] + (rx[p, 2] - tx[2]) * s)


@njit(cache=True, parallel=True)
def first_clear_reflection(order, cand, walls, n, tx, rx, edges, edge_b, base, top,
                           f_start, f_items, f_rmin, gx0, gy0, cs, ncx, ncy, b_start, b_items,
                           out_round):
    """Per receiver, the round of the first of its ranked walls (``order`` (R, N) into
    ``walls`` (W, 4) with outward normals ``n``) whose reflection path has both legs clear
    (the reflection point 1 cm off the wall); -1 where none. Geometry as
    :func:`.reflection._pairs`.
    """
    for p in prange(rx.shape[0]):
        out_round[p] = -1
        for r in range(order.shape[0]):
            if not np.isfinite(cand[r, p]):
                break
            k = order[r, p]
            qx, qy, qz = reflection_point(walls, n, k, tx, rx, p)
            if fan_blocked(tx[0], tx[1], tx[2], qx, qy, qz, edges, edge_b, base, top,
                           f_start, f_items, f_rmin):
                continue
            if segment_blocked(qx, qy, qz, rx[p, 0], rx[p, 1], rx[p, 2], edges, edge_b,
                               base, top, gx0, gy0, cs, ncx, ncy, b_start, b_items):
                continue
            out_round[p] = r
            break


@njit(cache=True, parallel=True)
def first_clear_last_leg(order, cand, from_xyz, rx, edges, edge_b, base, top, gx0, gy0, cs, ncx, ncy,
                         b_start, b_items, out_round):
    """Per receiver, the round of the first of its ranked candidates (``order``, ``cand`` (R, N))
    whose last leg ``from_xyz[order[r, p]]`` -> ``rx[p]`` is clear (the bucket walk); -1 where
    none. The ranks stop at the first infinite ``cand``. Parallel over receivers (a few seconds
    more to compile, cached; tens of milliseconds of a map's serial time).
    """
    for p in prange(rx.shape[0]):
        out_round[p] = -1
        for r in range(order.shape[0]):
            if not np.isfinite(cand[r, p]):
                break
            k = order[r, p]
            if not segment_blocked(from_xyz[k, 0], from_xyz[k, 1], from_xyz[k, 2], rx[p, 0], rx[p, 1],
                                   rx[p, 2], edges, edge_b, base, top, gx0, gy0, cs, ncx, ncy,
                                   b_start, b_items):
                out_round[p] = r
                break


@njit(cache=True, parallel=True)
def first_clear_double_reflection(order, cand, w1, w2, t1, t2, n, tx, rx, edges, edge_b, base, top,
                                  f_start, f_items, f_rmin, gx0, gy0, cs, ncx, ncy, b_start,
                                  b_items, out_round):
    """Per receiver, the round of the first of its ranked wall pairs (``order`` (R, N) into
    ``w1``, ``w2`` with images ``t1``, ``t2``; ``n`` the walls' outward normals) whose three
    legs are clear (the reflection points 1 cm off the walls); -1 where none. Geometry as
    :func:`.reflection2.double_reflection_geometry`; the first leg through the transmitter's
    fan, the others by the bucket walk. Parallel, as :func:`first_clear_last_leg`.
    """
    for p in prange(rx.shape[0]):
        out_round[p] = -1
        px, py, pz = rx[p, 0], rx[p, 1], rx[p, 2]
        for r in range(order.shape[0]):
            if not np.isfinite(cand[r, p]):
                break
            q = order[r, p]
            a, b = w1[q], w2[q]
            side_p = (px - edges[b, 0]) * n[b, 0] + (py - edges[b, 1]) * n[b, 1]
            side_t1 = (t1[q, 0] - edges[b, 0]) * n[b, 0] + (t1[q, 1] - edges[b, 1]) * n[b, 1]
            s2 = side_t1 / (side_t1 + side_p)
            r2x = t2[q, 0] + s2 * (px - t2[q, 0])
            r2y = t2[q, 1] + s2 * (py - t2[q, 1])
            side_r2 = (r2x - edges[a, 0]) * n[a, 0] + (r2y - edges[a, 1]) * n[a, 1]
            side_t = (tx[0] - edges[a, 0]) * n[a, 0] + (tx[1] - edges[a, 1]) * n[a, 1]
            s1 = side_t / (side_t + side_r2)
            r1x = t1[q, 0] + s1 * (r2x - t1[q, 0])
            r1y = t1[q, 1] + s1 * (r2y - t1[q, 1])
            plan = np.hypot(px - t2[q, 0], py - t2[q, 1])
            z1 = tx[2] + (pz - tx[2]) * np.hypot(r1x - t1[q, 0], r1y - t1[q, 1]) / plan
            z2 = tx[2] + (pz - tx[2]) * np.hypot(r2x - t2[q, 0], r2y - t2[q, 1]) / plan
            o1x, o1y = r1x + 0.01 * n[a, 0], r1y + 0.01 * n[a, 1]
            o2x, o2y = r2x + 0.01 * n[b, 0], r2y + 0.01 * n[b, 1]
            if fan_blocked(tx[0], tx[1], tx[2], o1x, o1y, z1, edges, edge_b, base, top,
                           f_start, f_items, f_rmin):
                continue
            if segment_blocked(o1x, o1y, z1, o2x, o2y, z2, edges, edge_b, base, top,
                               gx0, gy0, cs, ncx, ncy, b_start, b_items):
                continue
            if segment_blocked(o2x, o2y, z2, px, py, pz, edges, edge_b, base, top,
                               gx0, gy0, cs, ncx, ncy, b_start, b_items):
                continue
            out_round[p] = r
            break
