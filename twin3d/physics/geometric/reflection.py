"""Specular wall reflection by the image method in 2D (street canyons).

For a wall (a footprint edge a -> b, the building on its left, so the
outward normal is n = (dy, -dx) / |ab|) and a transmitter T on its outer
side, the image is T' = T - 2 ((T - a) . n) n. A receiver P on the outer
side is reached by one reflection iff the segment T' -> P meets the wall at
a point R = a + u (b - a) with 0 <= u <= 1; the path T -> R -> P has the
length |T' P| in plan (the unfolded path), and in 3D the height along it
varies linearly with the unfolded distance, so R is at
z_R = z_T + (z_P - z_T) |T' R| / |T' P|. The reflection is valid when R lies
below the wall's top and both legs T -> R and R -> P are unobstructed
(exact 3D test, :mod:`.los3d`).

Path loss = free space over the unfolded 3D length + the reflection loss
-20 log10 |Gamma| of the wall (Fresnel coefficient of concrete, ITU-R
P.2040-3 Table 3: eps_r = 5.24, sigma = 0.0462 f_GHz^0.7822 S/m; the mean
of the TE and TM magnitudes at the grazing angle psi, since the
polarization of the incoming wave relative to a vertical wall varies).

The search (compiled, parallel): per receiver, the lit walls are ranked by
unfolded length (geometry only), per 40 m tile of receivers in increasing
order of a lower bound (the image's distance to the tile's bounding circle;
walls whose image cone misses the tile are skipped), which gives the same
ranking as trying every wall; then the first of the ``max_rounds`` shortest
with both legs clear wins (:mod:`.legs`).

Examples
--------
>>> import numpy as np
>>> image_point_2d([0.0, 5.0], [-50.0, 0.0], [50.0, 0.0]).tolist()
[0.0, -5.0]
"""

from __future__ import annotations

import numpy as np
from numba import njit, parallel_chunksize, prange

from ..radio import C_M_S
from .ground import fresnel_gamma_horizontal, fresnel_gamma_vertical
from .corner import tiles_of
from .corner_bounds import circle_of, make_heap, next_in_order
from .legs import first_clear_reflection
from .los3d import BuildingPrisms, _fan_and_buckets, line_of_sight

__all__ = ["CONCRETE_EPS_R", "concrete_sigma_s_m", "wall_reflection_loss_db", "image_point_2d",
           "single_reflections", "lit_walls", "best_single_reflection"]

#: Relative permittivity of concrete (ITU-R P.2040-3 Table 3).
CONCRETE_EPS_R = 5.24


def concrete_sigma_s_m(f_hz: float) -> float:
    """Conductivity of concrete, 0.0462 f_GHz^0.7822 S/m (ITU-R P.2040-3 Table 3).

    Examples
    --------
    >>> round(concrete_sigma_s_m(3.5e9), 3)
    0.123
    """
    return 0.0462 * (f_hz / 1e9) ** 0.7822


def wall_reflection_loss_db(grazing_rad, f_hz: float) -> np.ndarray:
    """-20 log10 of the mean |Gamma_TE|, |Gamma_TM| of concrete at a grazing angle, dB.

    Examples
    --------
    >>> [round(float(x), 1) for x in wall_reflection_loss_db([0.0, 0.1, 0.6], 3.5e9)]
    [-0.0, 2.5, 8.5]
    """
    s = concrete_sigma_s_m(f_hz)
    g = 0.5 * (np.abs(fresnel_gamma_vertical(grazing_rad, f_hz, CONCRETE_EPS_R, s))
               + np.abs(fresnel_gamma_horizontal(grazing_rad, f_hz, CONCRETE_EPS_R, s)))
    return -20.0 * np.log10(np.maximum(g, 1e-6))


def image_point_2d(p_xy, a_xy, b_xy) -> np.ndarray:
    """Mirror image of the point(s) ``p`` across the line through a and b (2D, metres)."""
    p = np.asarray(p_xy, float)
    a = np.asarray(a_xy, float)
    b = np.asarray(b_xy, float)
    t = b - a
    t = t / np.linalg.norm(t, axis=-1, keepdims=True)
    w = p - a
    along = np.sum(w * t, axis=-1, keepdims=True) * t
    return a + 2.0 * along - w


def single_reflections(tx_xyz_m, rx_xyz_m, edges, top_z_m):
    """Image-method geometry of one wall reflection, every (wall, receiver) pair.

    Parameters
    ----------
    tx_xyz_m : (3,) array_like
    rx_xyz_m : (N, 3) array
    edges : (E, 4) array
        Walls x0, y0, x1, y1 with the building on their left.
    top_z_m : (E,) array
        Top of each wall (roof z), metres.

    Returns
    -------
    wall, rx : (M,) int
        The valid pairs (geometry only: obstruction not checked).
    r_xyz : (M, 3) float
        Reflection points.
    length_m : (M,) float
        Unfolded 3D path length.
    grazing_rad : (M,) float
        Angle between the incoming ray and the wall, in plan.
    """
    tx = np.asarray(tx_xyz_m, float)
    rx = np.asarray(rx_xyz_m, float).reshape(-1, 3)
    e = np.asarray(edges, float).reshape(-1, 4)
    a, b = e[:, :2], e[:, 2:]
    ab = b - a
    ln = np.linalg.norm(ab, axis=1)
    n = np.column_stack([ab[:, 1], -ab[:, 0]]) / ln[:, None]       # outward normal
    side_t = np.sum((tx[:2] - a) * n, axis=1)
    walls = np.flatnonzero(side_t > 0)                              # the wall faces the transmitter
    img = tx[:2] - 2.0 * side_t[walls, None] * n[walls]
    # Receiver side and where T' -> P crosses the wall line.
    side_p = (rx[None, :, 0] - a[walls, None, 0]) * n[walls, None, 0] + \
             (rx[None, :, 1] - a[walls, None, 1]) * n[walls, None, 1]
    s = side_t[walls, None] / (side_t[walls, None] + np.maximum(side_p, 1e-12))   # along T' -> P
    rxy_x = img[:, None, 0] + s * (rx[None, :, 0] - img[:, None, 0])
    rxy_y = img[:, None, 1] + s * (rx[None, :, 1] - img[:, None, 1])
    u = ((rxy_x - a[walls, None, 0]) * ab[walls, None, 0]
         + (rxy_y - a[walls, None, 1]) * ab[walls, None, 1]) / (ln[walls, None] ** 2)
    ok = (side_p > 0) & (u >= 0.0) & (u <= 1.0)
    wi, pi = np.nonzero(ok)
    sv = s[wi, pi]
    plan = np.hypot(rx[pi, 0] - img[wi, 0], rx[pi, 1] - img[wi, 1])
    rz = tx[2] + (rx[pi, 2] - tx[2]) * sv
    length = np.hypot(plan, rx[pi, 2] - tx[2])
    ww = walls[wi]
    keep = rz < np.asarray(top_z_m, float)[ww]                       # the wall is there at that height
    r_xyz = np.column_stack([rxy_x[wi, pi], rxy_y[wi, pi], rz])
    # Grazing angle: between the plan direction T' -> P and the wall.
    dirx, diry = (rx[pi, 0] - img[wi, 0]) / plan, (rx[pi, 1] - img[wi, 1]) / plan
    sin_g = np.abs(dirx * n[ww, 0] + diry * n[ww, 1])
    graze = np.arcsin(np.clip(sin_g, 0.0, 1.0))
    return ww[keep], pi[keep], r_xyz[keep], length[keep], graze[keep]


def _pairs(tx, rx, e, top, k, p):
    """Exact :func:`single_reflections` geometry of given (wall k, receiver p) pairs."""
    a, b = e[k, :2], e[k, 2:]
    ab = b - a
    n = np.column_stack([ab[:, 1], -ab[:, 0]]) / np.linalg.norm(ab, axis=1)[:, None]
    side_t = np.sum((tx[:2] - a) * n, axis=1)
    img = tx[:2] - 2.0 * side_t[:, None] * n
    side_p = np.sum((rx[p, :2] - a) * n, axis=1)
    s = side_t / (side_t + side_p)
    rxy = img + s[:, None] * (rx[p, :2] - img)
    plan = np.hypot(rx[p, 0] - img[:, 0], rx[p, 1] - img[:, 1])
    rz = tx[2] + (rx[p, 2] - tx[2]) * s
    sin_g = np.abs(((rx[p, 0] - img[:, 0]) * n[:, 0] + (rx[p, 1] - img[:, 1]) * n[:, 1]) / plan)
    return (k, p, np.column_stack([rxy, rz]), np.hypot(plan, rx[p, 2] - tx[2]),
            np.arcsin(np.clip(sin_g, 0.0, 1.0)))


@njit(cache=True, parallel=True)
def _top_reflections(e, n, top, tx, rx, tile_pts, tile_start, out_k, out_len):
    """Per receiver, the R shortest valid-geometry reflections (walls facing both, R on the wall
    below its top; obstruction not checked), sorted: out_k, out_len (R, N) unfolded lengths.

    Ties go to the lower wall index. Receivers come grouped in tiles
    (``tile_pts[tile_start[i]:tile_start[i + 1]]``); per tile, the walls whose
    image cone can reach the tile's bounding circle are visited by increasing
    least unfolded length to the circle, and a receiver stops at the first
    wall whose bound exceeds its R-th shortest: the result of trying every wall.
    """
    n_r = out_k.shape[0]
    n_w = e.shape[0]
    for ti in prange(tile_start.shape[0] - 1):
        a, b = tile_start[ti], tile_start[ti + 1]
        mx, my, rho, dz = circle_of(rx, tile_pts, a, b, tx[2])
        bound = np.empty(n_w)
        keep = np.empty(n_w, np.int64)
        m = 0
        for w in range(n_w):
            side_t = (tx[0] - e[w, 0]) * n[w, 0] + (tx[1] - e[w, 1]) * n[w, 1]
            if side_t <= 0.0:
                continue
            if (mx - e[w, 0]) * n[w, 0] + (my - e[w, 1]) * n[w, 1] + rho <= 0.0:
                continue                              # the tile is behind the wall
            ix = tx[0] - 2.0 * side_t * n[w, 0]
            iy = tx[1] - 2.0 * side_t * n[w, 1]
            # The cone from the image through the wall: the tile must touch it.
            ax, ay = e[w, 0] - ix, e[w, 1] - iy
            bx, by = e[w, 2] - ix, e[w, 3] - iy
            mx_i, my_i = mx - ix, my - iy
            if ax * by - ay * bx < 0.0:
                ax, ay, bx, by = bx, by, ax, ay
            la, lb_ = np.sqrt(ax * ax + ay * ay), np.sqrt(bx * bx + by * by)
            if ax * my_i - ay * mx_i < -(rho + 1e-6) * la or mx_i * by - my_i * bx < -(rho + 1e-6) * lb_:
                continue
            plan = max(np.sqrt(mx_i * mx_i + my_i * my_i) - rho, 0.0)
            bound[m] = np.sqrt(plan * plan + dz * dz) * (1.0 - 1e-12) - 1e-9
            keep[m] = w
            m += 1
        # The walls by increasing bound, sorted lazily (a heap, as corner._top_candidates).
        heap = make_heap(bound, m)
        srt = np.empty(m, np.int64)
        n_srt, n_heap = 0, m
        best_l = np.empty(n_r)              # a receiver's R best, local (out_* rows are N apart)
        best_k = np.empty(n_r, np.int64)
        last = n_r - 1
        for q in range(a, b):
            p = tile_pts[q]
            for k in range(n_r):
                best_l[k] = out_len[k, p]
                best_k[k] = out_k[k, p]
            for r in range(m):
                i, n_srt, n_heap = next_in_order(r, bound, heap, srt, n_srt, n_heap)
                if bound[i] > best_l[last]:
                    break
                w = keep[i]
                side_t = (tx[0] - e[w, 0]) * n[w, 0] + (tx[1] - e[w, 1]) * n[w, 1]
                side_p = (rx[p, 0] - e[w, 0]) * n[w, 0] + (rx[p, 1] - e[w, 1]) * n[w, 1]
                if side_t <= 0.0 or side_p <= 0.0:
                    continue
                ix = tx[0] - 2.0 * side_t * n[w, 0]
                iy = tx[1] - 2.0 * side_t * n[w, 1]
                s = side_t / (side_t + side_p)
                qx = ix + s * (rx[p, 0] - ix)
                qy = iy + s * (rx[p, 1] - iy)
                abx, aby = e[w, 2] - e[w, 0], e[w, 3] - e[w, 1]
                u = ((qx - e[w, 0]) * abx + (qy - e[w, 1]) * aby) / (abx * abx + aby * aby)
                if u < 0.0 or u > 1.0:
                    continue
                if tx[2] + (rx[p, 2] - tx[2]) * s >= top[w]:
                    continue
                plan = np.sqrt((rx[p, 0] - ix) ** 2 + (rx[p, 1] - iy) ** 2)
                length = np.sqrt(plan * plan + (rx[p, 2] - tx[2]) ** 2)
                if length < best_l[last] or (length == best_l[last] and w < best_k[last]):
                    k = last
                    while k > 0 and (best_l[k - 1] > length
                                     or (best_l[k - 1] == length and best_k[k - 1] > w)):
                        best_l[k] = best_l[k - 1]
                        best_k[k] = best_k[k - 1]
                        k -= 1
                    best_l[k] = length
                    best_k[k] = w
            for k in range(n_r):
                out_len[k, p] = best_l[k]
                out_k[k, p] = best_k[k]


def lit_walls(prisms: BuildingPrisms, tx_xyz_m, max_range_m: float = np.inf,
              samples: int = 5) -> np.ndarray:
    """Indices of the walls facing the transmitter and seen from it at some sample.

    A wall is kept when one of ``samples`` points along it (5 cm off the
    wall, at the lower of the wall top and the antenna height) is in line of
    sight and within ``max_range_m`` in plan. A ray to a lower point of the
    wall lies below the ray to the sample, so a wall hidden at that height
    is hidden lower down too (between the samples it may be lit: an
    approximation that drops walls seen only through narrow gaps).
    Remembered per transmitter for the last ``prisms`` (the one- and two-wall
    reflections of a site ask for the same walls); the result is read-only.
    """
    tx = np.asarray(tx_xyz_m, float)
    key = (id(prisms), tuple(tx.tolist()), float(max_range_m), int(samples))
    hit = _LIT.get(key)
    if hit is not None and hit[0] is prisms:
        return hit[1]
    if any(v[0] is not prisms for v in list(_LIT.values())) or len(_LIT) >= 64:
        _LIT.clear()                                     # one building set at a time
    out = _lit_walls(prisms, tx, max_range_m, samples)
    out.setflags(write=False)
    _LIT[key] = (prisms, out)
    return out


_LIT: dict = {}


def _lit_walls(prisms: BuildingPrisms, tx, max_range_m: float, samples: int) -> np.ndarray:
    e = prisms.edges
    if len(e) == 0:
        return np.zeros(0, np.int64)
    ab = e[:, 2:] - e[:, :2]
    n = np.column_stack([ab[:, 1], -ab[:, 0]]) / np.linalg.norm(ab, axis=1)[:, None]
    facing = np.flatnonzero(np.sum((tx[:2] - e[:, :2]) * n, axis=1) > 0)
    f = (np.arange(samples) + 0.5) / samples
    xy = e[facing, None, :2] + f[None, :, None] * ab[facing, None, :] + 0.05 * n[facing, None, :]
    z = np.minimum(prisms.top_z[prisms.edge_building[facing]] - 0.01, tx[2])
    pts = np.concatenate([xy, np.broadcast_to(z[:, None, None], xy.shape[:2] + (1,))], axis=2)
    pts = pts.reshape(-1, 3)
    near = np.hypot(pts[:, 0] - tx[0], pts[:, 1] - tx[1]) <= max_range_m
    seen = np.zeros(len(pts), bool)
    seen[near] = line_of_sight(prisms, np.broadcast_to(tx, (int(near.sum()), 3)), pts[near],
                               check_ends=False)
    return facing[seen.reshape(-1, samples).any(axis=1)]


def best_single_reflection(prisms: BuildingPrisms, tx_xyz_m, rx_xyz_m, f_hz: float, *,
                           max_rounds: int = 12, return_points: bool = False,
                           max_range_m: float = 500.0):
    """Least one-reflection path loss to each receiver over every wall, dB (inf: none valid).

    Loss = 20 log10(4 pi L f / c) + :func:`wall_reflection_loss_db` over the
    unfolded length L, for the pairs of :func:`single_reflections` whose two
    legs are unobstructed (reflection point nudged 1 cm off the wall), over
    the :func:`lit_walls` within ``max_range_m`` of the transmitter. The
    pairs are ranked by unfolded length (a compiled pass over walls per
    receiver); each round tests the next candidate of every unresolved
    receiver, for up to ``max_rounds`` rounds. With
    ``return_points``, also the (N, 3) reflection point of each best path
    (the direction the wave leaves the antenna; nan where none).
    """
    rx = np.asarray(rx_xyz_m, float).reshape(-1, 3)
    best = np.full(len(rx), np.inf)
    where = np.full((len(rx), 3), np.nan)
    if len(prisms.edges) == 0 or len(rx) == 0:
        return (best, where) if return_points else best
    walls = lit_walls(prisms, tx_xyz_m, max_range_m)
    top = prisms.top_z[prisms.edge_building][walls]
    e = prisms.edges[walls]
    ab = e[:, 2:] - e[:, :2]
    n = np.column_stack([ab[:, 1], -ab[:, 0]]) / np.linalg.norm(ab, axis=1)[:, None]
    tx = np.asarray(tx_xyz_m, float)
    rounds = int(min(max_rounds, len(e)))
    if rounds == 0:
        return (best, where) if return_points else best
    order = np.full((rounds, len(rx)), -1, np.int64)
    cand = np.full((rounds, len(rx)), np.inf)
    tile_pts, tile_start = tiles_of(rx[:, :2], spread=True)
    with parallel_chunksize(8):             # tiles differ in work: hand them out a few at a time
        _top_reflections(np.ascontiguousarray(e), np.ascontiguousarray(n), top, tx,
                         np.ascontiguousarray(rx), tile_pts, tile_start, order, cand)
    # The first clear candidate of each receiver (both legs exact 3D; the reflection points are
    # off the walls, outside every solid: no end-point test), then its exact loss.
    won = np.empty(len(rx), np.int64)
    with parallel_chunksize(512):
        first_clear_reflection(order, cand, np.ascontiguousarray(e), np.ascontiguousarray(n), tx,
                               np.ascontiguousarray(rx), *_fan_and_buckets(prisms, tx), won)
    pi = np.flatnonzero(won >= 0)
    wall, pi, rr, length, graze = _pairs(tx, rx, e, top, order[won[pi], pi], pi)
    best[pi] = 20.0 * np.log10(4.0 * np.pi * np.maximum(length, 1.0) * f_hz / C_M_S) \
        + wall_reflection_loss_db(graze, f_hz)
    where[pi] = rr
    return (best, where) if return_points else best
