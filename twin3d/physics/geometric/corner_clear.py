"""The least-loss clear corner of every receiver, over every corner (no candidate cap).

:func:`.corner.best_corner_path` with ``max_rounds`` R ranks each
receiver's R least-loss corners (obstructed or not) and keeps the first
whose two legs are clear. Near a rooftop macro the least-loss corners lie
close to the direct line, behind the same buildings that block it, so with
R = 12 most shadowed receivers find no clear corner, while a corner the
transmitter sees at a wide turning angle would serve them (the ray tracer's
single-diffraction paths around such corners, 20-30 dB stronger than the
model's rooftop path, were what the model missed most on macro HEL-05;
see ``benchmarks/radio_error_regimes.py``). Raising R costs R per insertion
into the ranked list (quadratic in R).

:func:`least_clear_corner` walks each receiver's corners in the same
increasing order of a lower bound of their loss (per 40 m tile, refined per
20 m sub-tile, as :func:`.corner._top_candidates` does) and tests the legs
of a corner only when its exact loss beats the best clear corner found so
far; it stops at the first bound past that loss. The result is the
least-loss corner with both legs clear (ties to the lower corner index),
which is what the capped search gives with R = every corner. No I/O.
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
                       b_items, own, tile_order, out_loss, out_xyz):  # pragma: no cover - compiled
    """Per receiver, the least-loss corner with both legs clear: its loss into ``out_loss``
    and the point the path passes on it into ``out_xyz`` (left as they are where none).

    ``cxy``, ``d_tc``, ``u1``, the tiles and ``lam``, ``weight``, ``max_leg``: as
    :func:`.corner._top_candidates`; the leg arrays: as :func:`.legs.first_clear_corner`
    (first legs by the corners' wall crossings, second legs by the bucket walk, after the
    two walls ``own[c]`` that meet at the corner: most legs that fail, fail there).
    """
    four_pi = 4.0 * np.pi
    j_floor = 6.0 * max(weight, 0.0)        # below J(0) = 6.03 dB, for rounding
    for k_tile in prange(tile_order.shape[0]):
        ti = tile_order[k_tile]
        a, b = tile_start[ti], tile_start[ti + 1]
        mx, my, rho, dz = circle_of(rx, tile_pts, a, b, tx[2])
        bound, keep, m, heap, srt, n_srt, n_heap = corner_heap(mx, my, rho, dz, cxy, d_tc, u1,
                                                               lam, weight, max_leg)
        sub_bound = np.empty(m)             # the bounds over the current sub-tile (nan: not yet)
        hint = np.full(m, -1, np.int64)     # per corner, the wall that last blocked a second leg
        for s in range(np.searchsorted(sub_start, a), np.searchsorted(sub_start, b)):
            sa, sb = sub_start[s], sub_start[s + 1]
            smx, smy, srho, sdz = circle_of(rx, tile_pts, sa, sb, tx[2])
            sub_bound[:] = np.nan
            warm = -1                       # the last receiver's corner: often clear here too
            for q in range(sa, sb):
                p = tile_pts[q]
                best_l = np.inf
                best_c = -1
                best_z = np.nan
                dz2 = (rx[p, 2] - tx[2]) ** 2
                lim = np.inf
                if warm >= 0:
                    loss, cz = _corner_loss(warm, cxy, d_tc, u1, tx, rx, p, lam, weight, max_leg,
                                            dz2, four_pi)
                    if loss < np.inf and _leg_blocker(warm, cz, cxy, tx, rx, p, x_start, x_t, x_b,
                                                      edges, edge_b, base, top, gx0, gy0, cs, ncx,
                                                      ncy, b_start, b_items, own, -1) == -1:
                        best_l, best_c, best_z = loss, warm, cz
                        lim = lam / four_pi * 10.0 ** ((best_l - j_floor) / 20.0) * (1.0 + 1e-9)
                for r in range(m):
                    i, n_srt, n_heap = next_in_order(r, bound, heap, srt, n_srt, n_heap)
                    if bound[i] > best_l:
                        break
                    c = keep[i]
                    if sub_bound[i] != sub_bound[i]:
                        sub_bound[i] = circle_bound(c, smx, smy, srho, sdz, cxy, d_tc, u1, lam,
                                                     weight, max_leg)
                    if sub_bound[i] > best_l:
                        continue
                    if c == best_c:
                        continue
                    ex, ey = rx[p, 0] - cxy[c, 0], rx[p, 1] - cxy[c, 1]
                    if (d_tc[c] + np.sqrt(ex * ex + ey * ey)) ** 2 + dz2 > lim * lim:
                        continue
                    loss, cz = _corner_loss(c, cxy, d_tc, u1, tx, rx, p, lam, weight, max_leg,
                                            dz2, four_pi)
                    if not (loss < best_l or (loss == best_l and c < best_c)):
                        continue
                    hit = _leg_blocker(c, cz, cxy, tx, rx, p, x_start, x_t, x_b, edges, edge_b,
                                       base, top, gx0, gy0, cs, ncx, ncy, b_start, b_items, own,
                                       hint[i])
                    if hit != -1:
                        if hit >= 0:
                            hint[i] = hit
                        continue
                    best_l, best_c, best_z = loss, c, cz
                    lim = lam / four_pi * 10.0 ** ((best_l - j_floor) / 20.0) * (1.0 + 1e-9)
                if best_c >= 0:
                    out_loss[p] = best_l
                    out_xyz[p, 0], out_xyz[p, 1], out_xyz[p, 2] = cxy[best_c, 0], cxy[best_c, 1], best_z
                warm = best_c


@njit(cache=True, inline="always")
def _corner_loss(c, cxy, d_tc, u1, tx, rx, p, lam, weight, max_leg, dz2,
                 four_pi):  # pragma: no cover - compiled
    """Corner c's path loss to receiver p, dB (inf: second leg of 1 m or less, or past
    ``max_leg``), and the height the unfolded path T -> C -> P passes the corner at (as
    :func:`.legs.first_clear_corner` puts it)."""
    ex, ey = rx[p, 0] - cxy[c, 0], rx[p, 1] - cxy[c, 1]
    dcr = np.sqrt(ex * ex + ey * ey)
    if dcr <= 1.0 or dcr > max_leg:
        return np.inf, np.nan
    cos_t = min(1.0, max(-1.0, (u1[c, 0] * ex + u1[c, 1] * ey) / dcr))
    plan = d_tc[c] + dcr
    v = np.arccos(cos_t) * np.sqrt(2.0 * d_tc[c] * dcr / (lam * plan))
    length = max(np.sqrt(plan * plan + dz2), 1.0)
    cz = tx[2] + (rx[p, 2] - tx[2]) * (d_tc[c] / (d_tc[c] + np.hypot(ex, ey)))
    return 20.0 * np.log10(four_pi * length / lam) + weight * j_db(v), cz


@njit(cache=True, inline="always")
def _leg_blocker(c, cz, cxy, tx, rx, p, x_start, x_t, x_b, edges, edge_b, base, top, gx0, gy0,
                 cs, ncx, ncy, b_start, b_items, own, hint):  # pragma: no cover - compiled
    """Whether the legs of T -> C -> P are clear: -1; -2 where the first meets a prism
    (by the corner's wall crossings ``x_*``, :func:`.legs.leg_crossings`); else a wall
    the second meets. The second is tried against the wall ``hint`` (the one that
    blocked a neighbour's leg from this corner, if >= 0), the corner's own two walls
    ``own[c]``, then the bucket walk: each the walk's own test, so the answer is the same."""
    rise = cz - tx[2]
    for x in range(x_start[c], x_start[c + 1]):
        z = tx[2] + x_t[x] * rise
        if z >= base[x_b[x]] and z < top[x_b[x]]:
            return -2
    x0, y0 = cxy[c, 0], cxy[c, 1]
    dx, dy, dz = rx[p, 0] - x0, rx[p, 1] - y0, rx[p, 2] - cz
    if hint >= 0 and _meets(hint, x0, y0, cz, dx, dy, dz, edges, edge_b, base, top):
        return hint
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
