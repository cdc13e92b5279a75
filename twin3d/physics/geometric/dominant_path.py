"""Lateral paths around chains of building corners: a dominant-path search.

WinProp's Dominant Path Model (Wahl, Wölfle, Wertz, Wildbett, Landstorfer,
"Dominant path prediction model for urban scenarios", IST Mobile Summit
2005) replaces the many rays of a ray tracer by the one path that carries
most of the power, found by a shortest-path search over a graph whose nodes
are the building corners, with a loss at each corner that grows with the
angle the path turns there. Here:

* nodes: the convex footprint corners (:func:`~.corner.convex_corners`,
  5 cm off the walls) at street level (``node_height_m`` above ground);
  an edge joins two corners within ``max_leg_m`` whose straight segment
  meets no building (exact 3D test, :mod:`.los3d`); the graph depends on
  the buildings only and is kept per :class:`~.los3d.BuildingPrisms`;
* a path T -> C1 -> ... -> Ck -> P costs free space over its unfolded
  length plus, at each corner, the knife edge turned on its side of
  :mod:`.corner` (ITU-R P.526-15 eq. 29-31): with theta the plan turning
  angle, d_in the unfolded length up to the corner and d_out the next leg,

      v = theta sqrt(2 d_in d_out / (lambda (d_in + d_out))),   loss += weight J(v);

* the search: Dijkstra from the transmitter over the corners visible from
  it (labels: loss, unfolded length, incoming direction and first corner
  per node; a label is settled with its incoming direction, as the DPM's
  greedy search does), then per receiver the best last corner it sees.
  One corner is the term of :mod:`.corner`; chains reach the streets
  behind two or more turns.

Vectorized and compiled (numba) over corners and receivers; no I/O.

Examples
--------
An L-shaped street: the path turns twice around the block's corners.

>>> import numpy as np, shapely
>>> from twin3d.model import Buildings
>>> from twin3d.physics.geometric.los3d import building_prisms
>>> b = Buildings(["b"], np.array([shapely.box(0, 0, 100, 100)]), np.array([30.0]),
...               np.zeros(1), ["yes"], ["tag"])
>>> loss = best_dominant_path(building_prisms(b), [-20.0, 50.0, 5.0], [[50.0, 120.0, 1.5],
...                           [50.0, -20.0, 1.5]], 3.5e9)
>>> bool(np.all(np.isfinite(loss)))
True
"""

from __future__ import annotations

import numpy as np
from numba import njit, parallel_chunksize, prange
from scipy.spatial import cKDTree

from ..los import ground_z_m
from ..radio import C_M_S
from .buckets import bucket_points
from .corner import convex_corners
from .corner_bounds import j_db
from .legs import first_clear_last_leg, walled_in
from .los3d import BuildingPrisms, line_of_sight

__all__ = ["CornerGraph", "corner_graph", "dijkstra_corners", "best_dominant_path"]

_GRAPHS: dict = {}


class CornerGraph:
    """Corners at street level and the unobstructed legs between them.

    ``xyz`` (C, 3) corner points; CSR adjacency ``indptr`` (C + 1,),
    ``nbr`` and ``dist_m`` (plan leg lengths, metres).
    """

    def __init__(self, xyz, indptr, nbr, dist_m):
        self.xyz, self.indptr, self.nbr, self.dist_m = xyz, indptr, nbr, dist_m


def corner_graph(prisms: BuildingPrisms, *, max_leg_m: float = 150.0,
                 node_height_m: float = 1.5) -> CornerGraph:
    """The corner visibility graph of the buildings (cached per ``prisms`` object)."""
    key = (id(prisms), float(max_leg_m), float(node_height_m))
    hit = _GRAPHS.get(key)
    if hit is not None and hit[0] is prisms:
        return hit[1]
    cxy, _ = convex_corners(prisms)
    xyz = np.column_stack([cxy, ground_z_m(cxy[:, 0], cxy[:, 1]) + node_height_m]) if len(cxy) \
        else np.zeros((0, 3))
    c = len(xyz)
    # The pairs within reach (a k-d tree, radius a little over: the test below decides), in the
    # row-major order of np.triu_indices: the graph's neighbour order breaks Dijkstra's ties.
    ij = cKDTree(xyz[:, :2]).query_pairs(max_leg_m * (1.0 + 1e-9) + 1e-9, output_type="ndarray") \
        if c else np.zeros((0, 2), np.int64)
    ij = ij[np.lexsort((ij[:, 1], ij[:, 0]))].astype(np.int64)
    i, j = ij[:, 0], ij[:, 1]
    d = np.hypot(xyz[i, 0] - xyz[j, 0], xyz[i, 1] - xyz[j, 1])
    near = (d <= max_leg_m) & (d > 0.5)
    i, j, d = i[near], j[near], d[near]
    ok = line_of_sight(prisms, xyz[i], xyz[j], check_ends=False) if len(i) else np.zeros(0, bool)
    i, j, d = i[ok], j[ok], d[ok]
    src = np.concatenate([i, j])
    dst = np.concatenate([j, i])
    dd = np.concatenate([d, d])
    order = np.argsort(src, kind="stable")
    indptr = np.zeros(c + 1, np.int64)
    np.add.at(indptr, src + 1, 1)
    graph = CornerGraph(xyz, np.cumsum(indptr), dst[order].astype(np.int64), dd[order])
    _GRAPHS.clear()                         # one building set at a time
    _GRAPHS[key] = (prisms, graph)
    return graph


@njit(cache=True, inline="always")
def _before(keys, ids, i, j):
    """Heap order: entry i before entry j (least cost, then lowest corner index)."""
    return keys[i] < keys[j] or (keys[i] == keys[j] and ids[i] < ids[j])


@njit(cache=True)
def _heap_push(keys, ids, n, key, idx):
    h = n
    keys[h], ids[h] = key, idx
    while h > 0:
        par = (h - 1) // 2
        if not _before(keys, ids, h, par):
            break
        keys[h], keys[par] = keys[par], keys[h]
        ids[h], ids[par] = ids[par], ids[h]
        h = par
    return n + 1


@njit(cache=True)
def _heap_pop(keys, ids, n):
    """Remove the first entry of the heap (n entries); returns the new size."""
    n -= 1
    keys[0], ids[0] = keys[n], ids[n]
    h = 0
    while True:
        child = 2 * h + 1
        if child >= n:
            break
        if child + 1 < n and _before(keys, ids, child + 1, child):
            child += 1
        if not _before(keys, ids, child, h):
            break
        keys[h], keys[child] = keys[child], keys[h]
        ids[h], ids[child] = ids[child], ids[h]
        h = child
    return n


@njit(cache=True)
def _dijkstra(xy, indptr, nbr, dist, init_len, lam, weight, max_len, acc, length, dirx, diry, root):
    """Settles the corners by least cost, the lowest index first among equal costs (a heap of
    (cost, corner) entries; an entry whose cost was lowered since is skipped)."""
    c = xy.shape[0]
    cost = np.full(c, np.inf)
    done = np.zeros(c, np.bool_)
    k4 = 20.0 * np.log10(4.0 * np.pi / lam)
    keys = np.empty(c + nbr.shape[0])
    ids = np.empty(c + nbr.shape[0], np.int64)
    n_heap = 0
    for i in range(c):
        if np.isfinite(init_len[i]):
            length[i] = init_len[i]
            acc[i] = 0.0
            cost[i] = k4 + 20.0 * np.log10(max(init_len[i], 1.0))
            root[i] = i
            n_heap = _heap_push(keys, ids, n_heap, cost[i], i)
    while n_heap > 0:
        key, u = keys[0], ids[0]
        n_heap = _heap_pop(keys, ids, n_heap)
        if done[u] or key != cost[u]:
            continue                                  # settled, or lowered since
        done[u] = True
        for q in range(indptr[u], indptr[u + 1]):
            w = nbr[q]
            if done[w]:
                continue
            d = dist[q]
            ex, ey = (xy[w, 0] - xy[u, 0]) / d, (xy[w, 1] - xy[u, 1]) / d
            cos_t = min(1.0, max(-1.0, dirx[u] * ex + diry[u] * ey))
            total = length[u] + d
            if total > max_len:
                continue
            v = np.arccos(cos_t) * np.sqrt(2.0 * length[u] * d / (lam * total))
            a = acc[u] + weight * j_db(v)
            cst = k4 + 20.0 * np.log10(total) + a
            if cst < cost[w]:
                cost[w] = cst
                acc[w] = a
                length[w] = total
                dirx[w], diry[w] = ex, ey
                root[w] = root[u]
                n_heap = _heap_push(keys, ids, n_heap, cst, w)
    return cost


def dijkstra_corners(graph: CornerGraph, tx_xyz_m, visible, f_hz: float, *, weight: float = 1.0,
                     max_len_m: float = 600.0):
    """Least-loss chains from the transmitter to every corner.

    Parameters
    ----------
    graph : CornerGraph
    tx_xyz_m : (3,) array_like
    visible : (C,) bool
        Corners seen from the transmitter.
    f_hz : float
    weight : float
        Scales each corner's J(v).

    Returns
    -------
    dict of (C,) arrays
        ``acc_db`` (corner losses so far, not counting the last corner's,
        which depends on the next leg), ``length_m`` (unfolded plan
        length), ``dir`` (C, 2) incoming unit direction, ``root`` (the
        chain's first corner; -1 where unreached).
    """
    tx = np.asarray(tx_xyz_m, float)
    xy = np.ascontiguousarray(graph.xyz[:, :2])
    c = len(xy)
    d0 = np.hypot(xy[:, 0] - tx[0], xy[:, 1] - tx[1])
    init = np.where(np.asarray(visible, bool) & (d0 > 1.0), d0, np.inf)
    acc, length = np.full(c, np.inf), np.full(c, np.inf)
    dirx = np.where(np.isfinite(init), (xy[:, 0] - tx[0]) / np.maximum(d0, 1e-9), 0.0)
    diry = np.where(np.isfinite(init), (xy[:, 1] - tx[1]) / np.maximum(d0, 1e-9), 0.0)
    root = np.full(c, -1, np.int64)
    if c:
        _dijkstra(xy, graph.indptr, graph.nbr, graph.dist_m, init, C_M_S / f_hz, float(weight),
                  float(max_len_m), acc, length, dirx, diry, root)
    return {"acc_db": acc, "length_m": length, "dir": np.column_stack([dirx, diry]), "root": root}


@njit(cache=True, parallel=True)
def _top_last_corner(table, bucket_lb, tz, rx, lam, weight, max_leg, bx0, by0, bcell, bnx, bny,
                     bstart, bitems, out_k, out_loss):
    """Per receiver, the R least-loss last corners (obstruction not checked), sorted.

    ``table`` (C, 7): per corner in bucket order x, y, acc_db, length_m,
    dir x, dir y, a = 10^(acc_db / 20); ``bucket_lb`` (B, 2): per bucket
    min(length a) and min(a). Visits the corner buckets (``b*``,
    :func:`~.buckets.bucket_points`) that come within ``max_leg`` of the
    receiver, most promising first, and stops at the first whose lower
    bound cannot beat the R-th best (exact).
    """
    n_r = out_k.shape[0]
    k4 = 20.0 * np.log10(4.0 * np.pi / lam)
    reach = int(np.ceil(max_leg / bcell))
    max_leg2 = max_leg * max_leg
    # The corner's own J(v) is at least J(0) (v >= 0, J increasing): part of the lower bound.
    j_min = weight * j_db(0.0) if weight > 0.0 else 0.0
    n_box = (2 * reach + 1) ** 2
    n_rx = rx.shape[0]
    n_chunks = (n_rx + 63) // 64
    for chunk in prange(n_chunks):                    # scratch per chunk of 64 receivers
        lb = np.empty(n_box)
        cells = np.empty(n_box, np.int64)
        for p in range(chunk * 64, min(chunk * 64 + 64, n_rx)):
            px, py = rx[p, 0], rx[p, 1]
            dz2 = (rx[p, 2] - tz) ** 2
            worst = out_loss[n_r - 1, p]
            # Free space over the plan length plus the least corner loss bounds the loss from
            # below: skip a corner when (length + d) a >= 10^((worst - k4 - j_min) / 20), without
            # a log10 per corner; a bucket when min(length a) + max(d_min, 1) min(a) is.
            worst_amp = 10.0 ** ((worst - k4 - j_min) / 20.0)
            cx = int(np.floor((px - bx0) / bcell))
            cy = int(np.floor((py - by0) / bcell))
            m = 0
            for iy in range(max(cy - reach, 0), min(cy + reach, bny - 1) + 1):
                gy = max(by0 + iy * bcell - py, 0.0, py - (by0 + (iy + 1) * bcell))
                for ix in range(max(cx - reach, 0), min(cx + reach, bnx - 1) + 1):
                    gx = max(bx0 + ix * bcell - px, 0.0, px - (bx0 + (ix + 1) * bcell))
                    b = iy * bnx + ix
                    if gx * gx + gy * gy > max_leg2 or bstart[b] == bstart[b + 1]:
                        continue                          # out of reach, or empty
                    bound = bucket_lb[b, 0] + max(np.sqrt(gx * gx + gy * gy), 1.0) * bucket_lb[b, 1]
                    i = m                                 # insertion sort by the bound (stable)
                    while i > 0 and lb[i - 1] > bound:
                        lb[i] = lb[i - 1]
                        cells[i] = cells[i - 1]
                        i -= 1
                    lb[i] = bound
                    cells[i] = b
                    m += 1
            for o in range(m):
                if lb[o] >= worst_amp * (1.0 + 1e-9):
                    break                                 # this bucket and all later ones
                b = cells[o]
                for q in range(bstart[b], bstart[b + 1]):
                    ex, ey = px - table[q, 0], py - table[q, 1]
                    d2 = ex * ex + ey * ey
                    if d2 <= 1.0 or d2 > max_leg2:
                        continue
                    d = np.sqrt(d2)
                    length = table[q, 3]
                    total = length + d
                    if total * table[q, 6] >= worst_amp * (1.0 + 1e-9):
                        continue
                    cos_t = min(1.0, max(-1.0, (table[q, 4] * ex + table[q, 5] * ey) / d))
                    v = np.arccos(cos_t) * np.sqrt(2.0 * length * d / (lam * total))
                    l3 = max(np.sqrt(total * total + dz2), 1.0)
                    loss = k4 + 20.0 * np.log10(l3) + table[q, 2] + weight * j_db(v)
                    if loss < worst:
                        i = n_r - 1
                        while i > 0 and out_loss[i - 1, p] > loss:
                            out_loss[i, p] = out_loss[i - 1, p]
                            out_k[i, p] = out_k[i - 1, p]
                            i -= 1
                        out_loss[i, p] = loss
                        out_k[i, p] = bitems[q]
                        worst = out_loss[n_r - 1, p]
                        worst_amp = 10.0 ** ((worst - k4 - j_min) / 20.0)


def best_dominant_path(prisms: BuildingPrisms, tx_xyz_m, rx_xyz_m, f_hz: float, *,
                       weight: float = 1.0, max_rounds: int = 6, return_points: bool = False,
                       max_range_m: float = 500.0, max_leg_m: float = 150.0,
                       node_height_m: float = 1.5, min_corners: int = 1, rx_footprints=None):
    """Least loss over chains of ``min_corners`` corners or more to each receiver, dB (inf: none).

    See the module docstring. ``weight`` scales each corner's J(v); corners
    within ``max_range_m`` of the transmitter start a chain; legs up to
    ``max_leg_m``. Candidates per receiver are ranked by loss and tested
    (last leg, exact 3D) for up to ``max_rounds`` rounds. With
    ``return_points``, also the (N, 3) first corner of each best chain
    (the direction the wave leaves the antenna; nan where none).
    ``min_corners=2`` leaves the one-corner paths to :mod:`.corner`, which
    tests them in exact 3D (the graph's corners are at street level).
    ``rx_footprints``: (receiver, building) pairs of the receivers inside
    footprints (:func:`~.los3d.footprint_hits`), if the caller has them.
    """
    tx = np.asarray(tx_xyz_m, float)
    rx = np.asarray(rx_xyz_m, float).reshape(-1, 3)
    best = np.full(len(rx), np.inf)
    where = np.full((len(rx), 3), np.nan)
    g = corner_graph(prisms, max_leg_m=max_leg_m, node_height_m=node_height_m)
    if len(g.xyz) == 0 or len(rx) == 0:
        return (best, where) if return_points else best
    d0 = np.hypot(g.xyz[:, 0] - tx[0], g.xyz[:, 1] - tx[1])
    vis = d0 <= max_range_m
    vis[vis] = line_of_sight(prisms, np.broadcast_to(tx, (int(vis.sum()), 3)), g.xyz[vis],
                             check_ends=False)
    lab = dijkstra_corners(g, tx, vis, f_hz, weight=weight)
    reached = lab["root"] >= 0
    if min_corners >= 2:                                 # chains that turned at least once before
        reached &= lab["root"] != np.arange(len(reached))
    reached = np.flatnonzero(reached)
    rounds = int(min(max_rounds, len(reached)))
    if rounds == 0:
        return (best, where) if return_points else best
    # Receivers walled in from every chain's last corner (indoors, see legs.walled_in) have no clear
    # last leg.
    live = np.flatnonzero(~walled_in(prisms, g.xyz[reached], rx, rx_footprints))
    rx = np.ascontiguousarray(rx[live])
    lam = C_M_S / f_hz
    order = np.full((rounds, len(rx)), -1, np.int64)
    cand = np.full((rounds, len(rx)), np.inf)
    cxy = np.ascontiguousarray(g.xyz[reached, :2])
    bk = bucket_points(cxy, 50.0)
    it = bk.items
    acc = lab["acc_db"][reached][it]
    table = np.ascontiguousarray(np.column_stack([
        cxy[it], acc, lab["length_m"][reached][it], lab["dir"][reached][it], 10.0 ** (acc / 20.0)]))
    # Per bucket, min(length a) and min(a) over its corners: the kernel's bucket lower bound.
    n_b = bk.nx * bk.ny
    bucket_lb = np.full((n_b, 2), np.inf)
    of = np.repeat(np.arange(n_b), np.diff(bk.start))
    np.minimum.at(bucket_lb[:, 0], of, table[:, 3] * table[:, 6])
    np.minimum.at(bucket_lb[:, 1], of, table[:, 6])
    _top_last_corner(table, bucket_lb, float(tx[2]), np.ascontiguousarray(rx), lam, float(weight),
                     float(max_leg_m), bk.x0, bk.y0, bk.cell_m, bk.nx, bk.ny, bk.start, it,
                     order, cand)
    # The first clear candidate of each receiver: its last leg, exact 3D (the bucket walk of
    # line_of_sight without the end-point test), tried in rank order per receiver.
    hit = np.empty(len(rx), np.int64)
    with parallel_chunksize(512):
        first_clear_last_leg(order, cand, np.ascontiguousarray(g.xyz[reached]),
                             np.ascontiguousarray(rx), prisms.edges, prisms.edge_building,
                             prisms.base_z, prisms.top_z, prisms.gx0, prisms.gy0, prisms.cell_m,
                             prisms.ncx, prisms.ncy, prisms.start, prisms.items, hit)
    p = np.flatnonzero(hit >= 0)
    k = order[hit[p], p]
    best[live[p]] = cand[hit[p], p]
    where[live[p]] = g.xyz[lab["root"][reached[k]]]
    return (best, where) if return_points else best
