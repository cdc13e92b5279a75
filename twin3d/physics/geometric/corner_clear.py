"""The least-loss clear corner of every receiver, over every corner (no candidate cap).

:func:`.corner.best_corner_path` with ``max_rounds`` R ranks each
receiver's R least-loss corners (obstructed or not) and keeps the first
whose two legs are clear. Near a rooftop macro the least-loss corners lie
close to the direct line, behind the same buildings that block it, so with
R = 12 most shadowed receivers find no clear corner, while a corner the
transmitter sees at a wide turning angle would serve them (the ray tracer's
single-diffraction paths around such corners, 20-30 dB stronger than the
model's rooftop path, were what the model missed most on macro HEL-05;
see ``benchmarks/rt_path_types.py``). Raising R costs R per insertion
into the ranked list (quadratic in R).

:func:`least_clear_corner` walks each receiver's corners in the same
increasing order of a lower bound of their loss (per 40 m tile, refined per
20 m sub-tile, as :func:`.corner._top_candidates` does) and keeps the best
clear one so far; it stops at the first bound past that loss. The result is
the least-loss corner with both legs clear (ties to the lower corner
index), what the capped search gives with R = every corner. A shadowed
receiver tries about a hundred corners before one is clear, so the cheap
tests come first: the leg from the antenna (the corner's wall crossings),
the wall that last blocked a leg from the same corner in the tile, then
the loss, the corner's own two walls and the bucket walk; the search starts
from the previous receiver's corner, and the tiles come in a spread order
(:func:`.corner.tiles_of`), so that both threads get busy and quiet ones. No I/O.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from .corner_bounds import circle_bound, circle_of, corner_heap, j_db, next_in_order
from .crossing import edge_hit
from .legs import segment_blocker

__all__ = ["least_clear_corner"]


@njit(cache=True, parallel=True)
def least_clear_corner(cxy, d_tc, u1, tx, rx, tile_pts, tile_start, sub_start, lam, weight, max_leg,
                       x_start, x_t, x_b, edges, edge_b, base, top, gx0, gy0, cs, ncx, ncy, b_start,
                       b_items, own, iv_start, iv_lo, iv_hi, out_loss, out_xyz):  # pragma: no cover - compiled
    """Per receiver, the least-loss corner with both legs clear: its loss into ``out_loss``
    and the point the path passes on it into ``out_xyz`` (left as they are where none).

    ``cxy``, ``d_tc``, ``u1``, the tiles and ``lam``, ``weight``, ``max_leg``: as
    :func:`.corner._top_candidates`; the leg arrays: as :func:`.legs.first_clear_corner`
    (first legs by the corners' wall crossings, second legs by the bucket walk, after the
    two walls ``own[c]`` that meet at the corner: most legs that fail, fail there).
    """
    j_floor = 6.0 * max(weight, 0.0)        # below J(0) = 6.03 dB, for rounding
    for ti in prange(tile_start.shape[0] - 1):
        a, b = tile_start[ti], tile_start[ti + 1]
        mx, my, rho, dz = circle_of(rx, tile_pts, a, b, tx[2])
        bound, keep, m, heap, srt, n_srt, n_heap = corner_heap(mx, my, rho, dz, cxy, d_tc, u1,
                                                               lam, weight, max_leg)
        sub_bound = np.empty(m)             # the bounds over the current sub-tile (nan: not yet)
        # per corner, its first leg blocked for every receiver of the sub-tile (1), not (0), or
        # not yet known (-1): such a corner is passed over without a test per receiver
        dead = np.empty(m, np.int8)
        hint = np.full(m, -1, np.int64)     # per corner, the wall that last blocked a second leg
        for s in range(np.searchsorted(sub_start, a), np.searchsorted(sub_start, b)):
            sa, sb = sub_start[s], sub_start[s + 1]
            smx, smy, srho, sdz = circle_of(rx, tile_pts, sa, sb, tx[2])
            sub_bound[:] = np.nan
            dead[:] = -1
            z_lo, z_hi = np.inf, -np.inf
            for q in range(sa, sb):
                z_lo = min(z_lo, rx[tile_pts[q], 2])
                z_hi = max(z_hi, rx[tile_pts[q], 2])
            warm = -1                       # the last receiver's corner: often clear here too
            for q in range(sa, sb):
                p = tile_pts[q]
                best_l = np.inf
                best_c = -1
                best_z = np.nan
                dz2 = (rx[p, 2] - tx[2]) ** 2
                lim = np.inf
                if warm >= 0:
                    ex, ey = rx[p, 0] - cxy[warm, 0], rx[p, 1] - cxy[warm, 1]
                    dcr = np.sqrt(ex * ex + ey * ey)
                    cz = _corner_z(d_tc[warm], tx[2], rx[p, 2], ex, ey, dcr, max_leg)
                    if cz == cz and not _first_leg_blocked(warm, cz, tx, x_start, x_t, x_b, base,
                                                           top, iv_start, iv_lo, iv_hi) and \
                            _second_leg_blocker(warm, cz, cxy, rx, p, edges, edge_b, base, top, gx0,
                                                gy0, cs, ncx, ncy, b_start, b_items, own) < 0:
                        best_l = _corner_loss(d_tc[warm], u1[warm], ex, ey, dcr, lam, weight, dz2)
                        best_c, best_z = warm, cz
                        lim = _reach_m(best_l, lam, j_floor)
                for r in range(m):
                    i, n_srt, n_heap = next_in_order(r, bound, heap, srt, n_srt, n_heap)
                    if bound[i] > best_l:
                        break
                    c = keep[i]
                    if dead[i] < 0:
                        dead[i] = _blocked_everywhere(c, smx, smy, srho, z_lo, z_hi, cxy, d_tc,
                                                      tx[2], max_leg, iv_start, iv_lo, iv_hi)
                    if dead[i] == 1:
                        continue
                    if sub_bound[i] != sub_bound[i]:
                        sub_bound[i] = circle_bound(c, smx, smy, srho, sdz, cxy, d_tc, u1, lam,
                                                     weight, max_leg)
                    if sub_bound[i] > best_l:
                        continue
                    if c == best_c:
                        continue
                    ex, ey = rx[p, 0] - cxy[c, 0], rx[p, 1] - cxy[c, 1]
                    dcr = np.sqrt(ex * ex + ey * ey)
                    if (d_tc[c] + dcr) ** 2 + dz2 > lim * lim:
                        continue
                    # the cheap tests first (most candidates fail one): the first leg, then the
                    # wall that last blocked a second leg from this corner; then the loss
                    cz = _corner_z(d_tc[c], tx[2], rx[p, 2], ex, ey, dcr, max_leg)
                    if cz != cz or _first_leg_blocked(c, cz, tx, x_start, x_t, x_b, base, top,
                                                       iv_start, iv_lo, iv_hi):
                        continue
                    h = hint[i]
                    if h >= 0 and _meets(h, cxy[c, 0], cxy[c, 1], cz, ex, ey, rx[p, 2] - cz, edges,
                                         edge_b, base, top):
                        continue
                    loss = _corner_loss(d_tc[c], u1[c], ex, ey, dcr, lam, weight, dz2)
                    if not (loss < best_l or (loss == best_l and c < best_c)):
                        continue
                    hit = _second_leg_blocker(c, cz, cxy, rx, p, edges, edge_b, base, top, gx0,
                                              gy0, cs, ncx, ncy, b_start, b_items, own)
                    if hit >= 0:
                        hint[i] = hit
                        continue
                    best_l, best_c, best_z = loss, c, cz
                    lim = _reach_m(best_l, lam, j_floor)
                if best_c >= 0:
                    out_loss[p] = best_l
                    out_xyz[p, 0], out_xyz[p, 1], out_xyz[p, 2] = cxy[best_c, 0], cxy[best_c, 1], best_z
                warm = best_c


@njit(cache=True, inline="always")
def _corner_z(d_tc, tx_z, rx_z, ex, ey, dcr, max_leg):  # pragma: no cover - compiled
    """The height the unfolded path T -> C -> P passes the corner at (as
    :func:`.legs.first_clear_corner` puts it); nan where the second leg (``ex``, ``ey``,
    length ``dcr``) is 1 m or less, or past ``max_leg``."""
    if dcr <= 1.0 or dcr > max_leg:
        return np.nan
    return tx_z + (rx_z - tx_z) * (d_tc / (d_tc + np.hypot(ex, ey)))


@njit(cache=True, inline="always")
def _blocked_everywhere(c, mx, my, rho, z_lo, z_hi, cxy, d_tc, tx_z, max_leg, iv_start, iv_lo,
                        iv_hi):  # pragma: no cover - compiled
    """1 if corner c's first leg is blocked for every receiver in the circle (``mx``, ``my``,
    ``rho``) at heights ``z_lo``..``z_hi`` whose second leg counts (1 m < length <= ``max_leg``),
    well inside one blocked-height interval (as :func:`_first_leg_blocked` says without a
    crossing-by-crossing test), else 0. The corner height :func:`_corner_z` is monotone in
    the second leg's length and the receiver's height, so its range is that of the four ends."""
    wx, wy = mx - cxy[c, 0], my - cxy[c, 1]
    dist = np.sqrt(wx * wx + wy * wy)
    d_lo, d_hi = max(dist - rho, 1.0), min(dist + rho, max_leg)
    if not d_lo <= d_hi:
        return 0
    f_lo, f_hi = d_tc[c] / (d_tc[c] + d_hi), d_tc[c] / (d_tc[c] + d_lo)
    z_a, z_b = tx_z + (z_lo - tx_z) * f_lo, tx_z + (z_lo - tx_z) * f_hi
    z_c, z_d = tx_z + (z_hi - tx_z) * f_lo, tx_z + (z_hi - tx_z) * f_hi
    cz_min = min(min(z_a, z_b), min(z_c, z_d)) - _SLACK_M
    cz_max = max(max(z_a, z_b), max(z_c, z_d)) + _SLACK_M
    for j in range(iv_start[c], iv_start[c + 1]):
        if not iv_lo[j] == iv_lo[j]:        # nan: tested crossing by crossing
            return 0
        if cz_min >= iv_lo[j] + _EDGE_M and cz_max < iv_hi[j] - _EDGE_M:
            return 1
        if iv_lo[j] > cz_max:
            return 0
    return 0


@njit(cache=True, inline="always")
def _corner_loss(d_tc, u1, ex, ey, dcr, lam, weight, dz2):  # pragma: no cover - compiled
    """The corner's path loss, dB: free space over the unfolded 3D length plus ``weight``
    J(v) at the plan diffraction angle (as :func:`.corner._top_candidates`)."""
    cos_t = min(1.0, max(-1.0, (u1[0] * ex + u1[1] * ey) / dcr))
    plan = d_tc + dcr
    v = np.arccos(cos_t) * np.sqrt(2.0 * d_tc * dcr / (lam * plan))
    length = max(np.sqrt(plan * plan + dz2), 1.0)
    return 20.0 * np.log10(4.0 * np.pi * length / lam) + weight * j_db(v)


@njit(cache=True, inline="always")
def _reach_m(best_l, lam, j_floor):  # pragma: no cover - compiled
    """The longest unfolded path whose free space plus the least J stays under ``best_l`` dB
    (with a little slack for rounding): longer ones cannot win."""
    return lam / (4.0 * np.pi) * 10.0 ** ((best_l - j_floor) / 20.0) * (1.0 + 1e-9)


#: How near (metres) a corner height may lie to an end of a blocked-height interval before
#: the first leg is tested crossing by crossing (rounding; the intervals are a shortcut).
_EDGE_M = 1e-7
#: Slack (metres) on the range of corner heights a sub-tile's receivers can give, for rounding.
_SLACK_M = 1e-6
#: Blocked-height intervals that overlap by less than this (metres) are kept apart, so that
#: every height well inside a merged interval is well inside one crossing's interval.
_OVERLAP_M = 1e-6


@njit(cache=True)
def blocked_heights(tx_z, x_start, x_t, x_b, base, top):  # pragma: no cover - compiled
    """Per corner, the heights at the corner for which the leg from the antenna is blocked,
    as sorted disjoint intervals [lo, hi): (iv_start (K + 1,), lo, hi).

    Crossing i (at ``x_t[i]`` of the way, a wall of building ``x_b[i]``) blocks the leg to
    height z iff tx_z + t (z - tx_z) lies in [base, top), i.e. z in
    [tx_z + (base - tx_z) / t, tx_z + (top - tx_z) / t). A corner with a crossing at
    t < 1e-6 gets the interval (-inf, inf) with ``lo`` nan: test it crossing by crossing.
    """
    k_n = x_start.shape[0] - 1
    iv_start = np.zeros(k_n + 1, np.int64)
    lo = np.empty(x_t.shape[0] + k_n)
    hi = np.empty(x_t.shape[0] + k_n)
    n = 0
    for k in range(k_n):
        a, b = x_start[k], x_start[k + 1]
        iv_start[k] = n
        if b == a:
            continue
        t = x_t[a:b]
        if t.min() < 1e-6:
            lo[n], hi[n] = np.nan, np.inf
            n += 1
            continue
        l_k = tx_z + (base[x_b[a:b]] - tx_z) / t
        h_k = tx_z + (top[x_b[a:b]] - tx_z) / t
        o = np.argsort(l_k)
        lo[n], hi[n] = l_k[o[0]], h_k[o[0]]
        for j in o[1:]:
            if l_k[j] < hi[n] - _OVERLAP_M:
                hi[n] = max(hi[n], h_k[j])
            else:
                n += 1
                lo[n], hi[n] = l_k[j], h_k[j]
        n += 1
    iv_start[k_n] = n
    return iv_start, lo[:n].copy(), hi[:n].copy()


@njit(cache=True, inline="always")
def _first_leg_blocked(c, cz, tx, x_start, x_t, x_b, base, top, iv_start, iv_lo,
                       iv_hi):  # pragma: no cover - compiled
    """The leg T -> C (to height ``cz``) meets a prism: by the corner's blocked-height
    intervals (:func:`blocked_heights`), or, within ``_EDGE_M`` of an interval's end, by
    its wall crossings (``x_*``, :func:`.legs.leg_crossings`) one by one."""
    for j in range(iv_start[c], iv_start[c + 1]):
        if cz < iv_lo[j] - _EDGE_M:
            return False            # sorted: the rest lie higher
        if cz >= iv_lo[j] + _EDGE_M and cz < iv_hi[j] - _EDGE_M:
            return True
        if cz < iv_hi[j] + _EDGE_M:          # near an end, or a nan lo (its hi is inf)
            return _crossing_blocks(c, cz, tx, x_start, x_t, x_b, base, top)
    return False


@njit(cache=True, inline="always")
def _crossing_blocks(c, cz, tx, x_start, x_t, x_b, base, top):  # pragma: no cover - compiled
    """The first-leg test crossing by crossing (the reference of :func:`_first_leg_blocked`)."""
    rise = cz - tx[2]
    for x in range(x_start[c], x_start[c + 1]):
        z = tx[2] + x_t[x] * rise
        if z >= base[x_b[x]] and z < top[x_b[x]]:
            return True
    return False


@njit(cache=True, inline="always")
def _second_leg_blocker(c, cz, cxy, rx, p, edges, edge_b, base, top, gx0, gy0, cs, ncx, ncy,
                        b_start, b_items, own):  # pragma: no cover - compiled
    """A wall the leg C -> P meets (its id), or -1: tried against the corner's own two walls
    ``own[c]``, then the bucket walk: each the walk's own test, so the answer is the walk's."""
    x0, y0 = cxy[c, 0], cxy[c, 1]
    dx, dy, dz = rx[p, 0] - x0, rx[p, 1] - y0, rx[p, 2] - cz
    for j in range(2):
        if _meets(own[c, j], x0, y0, cz, dx, dy, dz, edges, edge_b, base, top):
            return own[c, j]
    return segment_blocker(x0, y0, cz, rx[p, 0], rx[p, 1], rx[p, 2], edges, edge_b, base, top,
                           gx0, gy0, cs, ncx, ncy, b_start, b_items)


@njit(cache=True, inline="always")
def _meets(e, x0, y0, z0, dx, dy, dz, edges, edge_b, base, top):  # pragma: no cover - compiled
    """The segment (x0, y0, z0) + t (dx, dy, dz), 0 <= t <= 1, crosses wall e within its
    building's height (the test of :func:`.legs.segment_blocker`)."""
    t = edge_hit(x0, y0, dx, dy, edges[e, 0], edges[e, 1], edges[e, 2], edges[e, 3])
    if t < 0.0:
        return False
    z = z0 + t * dz
    k = edge_b[e]
    return z >= base[k] and z < top[k]
