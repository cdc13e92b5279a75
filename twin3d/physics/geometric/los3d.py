"""Exact 3D line of sight against extruded building prisms, and the walls a ray crosses.

Each building is a prism: its footprint (polygon with holes) extruded from
``base_z_m`` to ``base_z_m + heights_m`` (flat roof). A straight segment
p0 -> p1 whose end points are at or above the bases meets the solid iff

* its ground projection crosses a footprint edge at a parameter t where
  the segment's height z(t) = z0 + t (z1 - z0) lies between base and roof
  (it passes through a wall), or
* an end point lies inside a footprint between base and roof.

(z is linear in t, so over any stretch inside the footprint its least
value is at a wall crossing or an end point: a segment that enters
through the roof must leave through a wall or end inside.) That is exact,
the same answer as intersecting the segment with the triangulated mesh,
up to measure-zero grazing cases; an antenna a few metres above its own
roof is shadowed below the roof line because the ray to a low point leaves
the footprint through the roof's edge wall below the roof top.

The same walk records the walls a ray passes near, as knife edges for the
rooftop diffraction term: each footprint edge crossed at t with the roof
z of its building, kept where its Fresnel parameter v > -0.78 (ITU-R P.526).

Footprint edges are bucketed on a uniform 2D grid; each segment walks the
buckets it crosses (Amanatides & Woo's DDA), compiled with numba, parallel
over segments. Segments that all start at one point (an antenna's rays) use
that point's angular index of the walls instead (:mod:`.fan`), kept on the
prisms; so are the buildings found around a set of end points (the grid's
points are the same for every site). No I/O.

Examples
--------
>>> import numpy as np, shapely
>>> from twin3d.model import Buildings
>>> b = Buildings(["b"], np.array([shapely.box(40, -10, 60, 10)]), np.array([30.0]),
...               np.zeros(1), ["yes"], ["tag"])
>>> pr = building_prisms(b)
>>> line_of_sight(pr, [[0, 0, 20], [0, 0, 20]], [[100, 0, 1.5], [100, 40, 1.5]]).tolist()
[False, True]
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np
import shapely
from numba import njit, parallel_chunksize, prange

from ..kernel_args import writable_c
from .crossing import edge_hit, record_edge, sort_edges
from .fan import FAN_BINS, fan_index, fan_walk

__all__ = ["BuildingPrisms", "building_prisms", "shared_prisms", "footprint_hits", "inside_blocked",
           "line_of_sight", "wall_crossings"]


@dataclass
class BuildingPrisms:
    """Footprint edges of extruded buildings, bucketed for segment walks.

    ``edges`` (E, 4) x0, y0, x1, y1 of every ring edge (exteriors and holes),
    oriented with the building on the left (outward normal (dy, -dx)),
    ``edge_building`` (E,) its building; ``base_z``, ``top_z`` (B,) per
    building, ENU metres; buckets of ``cell_m`` from (``gx0``, ``gy0``),
    ``ncx`` x ``ncy``: edge ids ``items[start[c]:start[c + 1]]`` for cell
    c = iy * ncx + ix. ``buildings`` is the source (for point-in-footprint).
    ``edge_ring`` (E,): the ring of each edge (edges are stored ring by ring, in order).
    ``fans`` and ``footprint_cache`` are caches (a site's rays all start at its
    antenna; the grid's points are the same for every site).
    """

    edges: np.ndarray
    edge_building: np.ndarray
    base_z: np.ndarray
    top_z: np.ndarray
    gx0: float
    gy0: float
    cell_m: float
    ncx: int
    ncy: int
    start: np.ndarray
    items: np.ndarray
    buildings: object
    edge_ring: np.ndarray | None = None
    #: Fans (:mod:`.fan`) of the sources rays have started from, by plan position (a few kept).
    fans: dict = field(default_factory=dict, repr=False, compare=False)
    #: Buildings around points already looked up, by a digest of their plan coordinates.
    footprint_cache: dict = field(default_factory=dict, repr=False, compare=False)
    #: The diffuse term's wall columns and receivers' views (:mod:`.diffuse`), a few kept.
    view_cache: dict = field(default_factory=dict, repr=False, compare=False)


def _ring_edges(footprints):
    # Exteriors counter-clockwise, holes clockwise: the solid is on every edge's left.
    parts, owner = shapely.get_parts(shapely.orient_polygons(footprints), return_index=True)
    rings, ring_part = shapely.get_rings(parts, return_index=True)
    coords, ring_of = shapely.get_coordinates(rings, return_index=True)
    same = ring_of[1:] == ring_of[:-1]
    a, b = coords[:-1][same], coords[1:][same]
    keep = np.any(a != b, axis=1)
    return (np.hstack([a, b])[keep], owner[ring_part[ring_of[:-1][same]]][keep],
            ring_of[:-1][same][keep])


def building_prisms(buildings, cell_m: float = 10.0) -> BuildingPrisms:
    """Edges and buckets of the buildings' prisms (see :class:`BuildingPrisms`).

    Parameters
    ----------
    buildings : twin3d.model.Buildings
    cell_m : float
        Bucket side, metres (about a typical edge length).
    """
    n_b = len(buildings)
    base = np.asarray(buildings.base_z_m, float).reshape(n_b)
    top = base + np.asarray(buildings.heights_m, float).reshape(n_b)
    if n_b:
        edges, owner, ring = _ring_edges(np.asarray(buildings.footprints))
    else:
        edges, owner, ring = np.zeros((0, 4)), np.zeros(0, np.int64), np.zeros(0, np.int64)
    if len(edges) == 0:
        return BuildingPrisms(edges, owner.astype(np.int64), base, top, 0.0, 0.0, cell_m, 1, 1,
                              np.zeros(2, np.int64), np.zeros(0, np.int64), buildings,
                              ring.astype(np.int64))
    # Padded a little so a crossing on a bucket boundary is in both buckets' lists.
    lo = np.minimum(edges[:, :2], edges[:, 2:]) - 1e-6 * cell_m
    hi = np.maximum(edges[:, :2], edges[:, 2:]) + 1e-6 * cell_m
    gx0, gy0 = lo.min(axis=0) - cell_m
    ncx = int(np.ceil((hi[:, 0].max() - gx0) / cell_m)) + 2
    ncy = int(np.ceil((hi[:, 1].max() - gy0) / cell_m)) + 2
    ix0 = np.floor((lo[:, 0] - gx0) / cell_m).astype(np.int64)
    ix1 = np.floor((hi[:, 0] - gx0) / cell_m).astype(np.int64)
    iy0 = np.floor((lo[:, 1] - gy0) / cell_m).astype(np.int64)
    iy1 = np.floor((hi[:, 1] - gy0) / cell_m).astype(np.int64)
    # Every edge goes in every bucket of its bounding box (edges are short).
    nx_e, ny_e = ix1 - ix0 + 1, iy1 - iy0 + 1
    count = nx_e * ny_e
    eid = np.repeat(np.arange(len(edges)), count)
    k = np.arange(count.sum()) - np.repeat(np.cumsum(count) - count, count)
    cx = ix0[eid] + k % nx_e[eid]
    cy = iy0[eid] + k // nx_e[eid]
    cell = cy * ncx + cx
    order = np.argsort(cell, kind="stable")
    start = np.searchsorted(cell[order], np.arange(ncx * ncy + 1))
    return BuildingPrisms(edges, owner.astype(np.int64), base, top, float(gx0), float(gy0),
                          float(cell_m), ncx, ncy, start.astype(np.int64),
                          eid[order].astype(np.int64), buildings, ring.astype(np.int64))



_SHARED: dict = {}


def _digest(prisms: BuildingPrisms) -> bytes:
    h = hashlib.blake2b(digest_size=16)
    for a in (prisms.edges, prisms.edge_building, prisms.base_z, prisms.top_z, prisms.edge_ring,
              np.array([prisms.cell_m])):
        a = np.ascontiguousarray(a)
        h.update(str((a.dtype, a.shape)).encode())
        h.update(a.tobytes())
    return h.digest()


def shared_prisms(buildings, cell_m: float = 10.0) -> BuildingPrisms:
    """:func:`building_prisms` of ``buildings``; the same object as the last call's when the
    prisms are equal (edges, their buildings and rings, bases, roofs, bucket size).

    Everything remembered on the prisms (the fans, the footprint look-ups) or keyed on them
    (the corner graph of :mod:`.dominant_path`, the canyon partners of :mod:`.reflection2`)
    depends on the buildings' geometry only: repeated maps of the same buildings (more cells,
    another active set, a calibration's trials) reuse it. One building set is kept.
    """
    prisms = building_prisms(buildings, cell_m)
    key = _digest(prisms)
    hit = _SHARED.get("last")
    if hit is not None and hit[0] == key:
        return hit[1]
    _SHARED["last"] = (key, prisms)
    return prisms

def inside_blocked(prisms: BuildingPrisms, xyz_m) -> np.ndarray:
    """(N,) bool: the points lie inside some prism (in a footprint, between base and roof).

    Examples
    --------
    >>> import numpy as np, shapely
    >>> from twin3d.model import Buildings
    >>> b = Buildings(["b"], np.array([shapely.box(0, 0, 10, 10)]), np.array([9.0]),
    ...               np.zeros(1), ["yes"], ["tag"])
    >>> inside_blocked(building_prisms(b), [[5, 5, 3], [5, 5, 12], [15, 5, 3]]).tolist()
    [True, False, False]
    """
    p = np.asarray(xyz_m, float).reshape(-1, 3)
    out = np.zeros(len(p), bool)
    if len(prisms.base_z) == 0 or len(p) == 0:
        return out
    i_pt, i_b = footprint_hits(prisms, p)
    z = p[i_pt, 2]
    hit = (z >= prisms.base_z[i_b]) & (z < prisms.top_z[i_b])
    out[i_pt[hit]] = True
    return out


#: How many point sets and fans a BuildingPrisms remembers.
_KEEP = 8


def _remember(cache: dict, key, value):
    # Threads may share the prisms: each step is a single dict operation, and a lost race only
    # costs a recomputation.
    while len(cache) >= _KEEP:
        try:
            cache.pop(next(iter(cache)), None)
        except (StopIteration, RuntimeError):
            break
    cache[key] = value
    return value


def footprint_hits(prisms: BuildingPrisms, p):
    """(point, building) pairs of the points (N, 3) inside footprints, remembered by plan position.

    The STRtree query ``predicate="within"`` of the points' plan positions;
    kept on the prisms for sets of 256 points or more.
    """
    xy = np.ascontiguousarray(p[:, :2])
    if len(xy) < 256:
        return prisms.buildings.tree.query(shapely.points(xy[:, 0], xy[:, 1]), predicate="within")
    key = (len(xy), hashlib.blake2b(xy.tobytes(), digest_size=16).digest())
    got = prisms.footprint_cache.get(key)
    if got is None:
        got = _remember(prisms.footprint_cache, key, _within_pairs(prisms.buildings, xy))
    return got


def _within_pairs(buildings, xy):
    """``buildings.tree.query(points, predicate="within")`` of many points, without making them.

    Per footprint, the points in its bounding box (found in the points sorted
    by x) are tested with ``shapely.contains_xy`` (the same predicate). A point
    in several footprints takes the tree's own order of them (the indoor mask
    keeps the last), so those few points are queried from the tree.
    """
    fp = np.asarray(buildings.footprints)
    box = shapely.bounds(fp)
    by_x = np.argsort(xy[:, 0], kind="stable")
    sx = xy[by_x, 0]
    lo = np.searchsorted(sx, box[:, 0], "left")
    hi = np.searchsorted(sx, box[:, 2], "right")
    pts, bld = [np.zeros(0, np.int64)], [np.zeros(0, np.int64)]
    for k in np.flatnonzero(hi > lo):
        cand = by_x[lo[k]:hi[k]]
        cand = cand[(xy[cand, 1] >= box[k, 1]) & (xy[cand, 1] <= box[k, 3])]
        if len(cand):
            cand = cand[shapely.contains_xy(fp[k], xy[cand, 0], xy[cand, 1])]
            pts.append(cand)
            bld.append(np.full(len(cand), k, np.int64))
    i_pt, i_b = np.concatenate(pts), np.concatenate(bld)
    order = np.lexsort((i_b, i_pt))
    i_pt, i_b = i_pt[order], i_b[order]
    several = np.zeros(len(xy), bool)
    several[i_pt[1:][i_pt[1:] == i_pt[:-1]]] = True
    if several.any():
        ids = np.flatnonzero(several)
        q_pt, q_b = buildings.tree.query(shapely.points(xy[ids, 0], xy[ids, 1]), predicate="within")
        keep = ~several[i_pt]
        i_pt = np.concatenate([i_pt[keep], ids[q_pt]])
        i_b = np.concatenate([i_b[keep], q_b])
        order = np.argsort(i_pt, kind="stable")
        i_pt, i_b = i_pt[order], i_b[order]
    return i_pt, i_b


def _fan(prisms: BuildingPrisms, x: float, y: float):
    key = (x, y)
    got = prisms.fans.get(key)
    if got is None:
        got = _remember(prisms.fans, key, fan_index(x, y, prisms.edges, FAN_BINS))
    return got


@njit(cache=True, parallel=True)
def _walk(p0, p1, edges, edge_b, base, top, gx0, gy0, cs, ncx, ncy, start, items,
          wavelength, k_max, out_blocked, out_n, out_t, out_top):
    n = p0.shape[0]
    for s in prange(n):
        x0, y0, z0 = p0[s, 0], p0[s, 1], p0[s, 2]
        dx, dy, dz = p1[s, 0] - x0, p1[s, 1] - y0, p1[s, 2] - z0
        length = np.sqrt(dx * dx + dy * dy)
        blocked = False
        cnt = 0
        # DDA over the buckets from p0 to p1.
        fx = (x0 - gx0) / cs
        fy = (y0 - gy0) / cs
        ix, iy = int(np.floor(fx)), int(np.floor(fy))
        ex = (p1[s, 0] - gx0) / cs
        ey = (p1[s, 1] - gy0) / cs
        jx, jy = int(np.floor(ex)), int(np.floor(ey))
        stx = 1 if dx > 0 else -1
        sty = 1 if dy > 0 else -1
        if dx != 0.0:
            tdx = cs / abs(dx)
            nxb = (ix + 1 - fx) if dx > 0 else (fx - ix)
            tmx = nxb * tdx
        else:
            tdx = np.inf
            tmx = np.inf
        if dy != 0.0:
            tdy = cs / abs(dy)
            nyb = (iy + 1 - fy) if dy > 0 else (fy - iy)
            tmy = nyb * tdy
        else:
            tdy = np.inf
            tmy = np.inf
        t_cell0 = 0.0
        steps = abs(jx - ix) + abs(jy - iy) + 1
        for _ in range(steps):
            t_cell1 = min(tmx, tmy, 1.0)
            if 0 <= ix < ncx and 0 <= iy < ncy:
                c = iy * ncx + ix
                for q in range(start[c], start[c + 1]):
                    e = items[q]
                    t = edge_hit(x0, y0, dx, dy, edges[e, 0], edges[e, 1], edges[e, 2], edges[e, 3])
                    # Count a crossing once: in the bucket the segment is in at t.
                    if t < 0.0 or t < t_cell0 or t > t_cell1:
                        continue
                    if t == t_cell1 and t_cell1 < 1.0:
                        continue
                    hit, cnt = record_edge(s, t, edge_b[e], z0, dz, length, base, top, wavelength,
                                           k_max, cnt, out_t, out_top)
                    blocked = blocked or hit
            if tmx < tmy:
                ix += stx
                t_cell0 = tmx
                tmx += tdx
            else:
                iy += sty
                t_cell0 = tmy
                tmy += tdy
            if k_max == 0 and blocked:
                break
        sort_edges(s, cnt, out_t, out_top)
        out_blocked[s] = blocked
        out_n[s] = cnt


def _fan_and_buckets(prisms: BuildingPrisms, src_xyz_m) -> tuple:
    """The arrays :mod:`.legs` takes: prisms, the fan of ``src_xyz_m``, the buckets."""
    start, items, r_min = _fan(prisms, float(src_xyz_m[0]), float(src_xyz_m[1]))
    return (prisms.edges, prisms.edge_building, prisms.base_z, prisms.top_z, start, items, r_min,
            prisms.gx0, prisms.gy0, prisms.cell_m, prisms.ncx, prisms.ncy, prisms.start, prisms.items)


def _run(prisms, p0, p1, wavelength_m, k_max, check_ends=True):
    p0 = np.asarray(p0, float).reshape(-1, 3)
    # writable: a (1, 3) broadcast is read-only and would compile the walks again
    p1 = writable_c(np.broadcast_to(np.asarray(p1, float).reshape(-1, 3), p0.shape)
                    if np.asarray(p1).size == 3 else np.asarray(p1, float).reshape(-1, 3), float)
    # Rays from one source (an antenna) go through its fan; others walk the buckets.
    one_source = p0.shape[0] <= 1 or p0.strides[0] == 0 or bool(np.all(p0 == p0[0]))
    if p0.shape[0] == 1 and p1.shape[0] > 1:
        p0 = np.broadcast_to(p0, p1.shape)
    n = p1.shape[0]
    blocked = np.zeros(n, np.bool_)
    cnt = np.zeros(n, np.int64)
    # The walks fill every row (t = 0, roof -inf past the edges they keep), in parallel.
    t = np.empty((n, max(k_max, 0)))
    top = np.empty((n, max(k_max, 0)))
    if not (len(prisms.edges) and n):
        t[:] = 0.0
        top[:] = -np.inf
    else:
        if one_source and (n >= 32 or (p0[0, 0], p0[0, 1]) in prisms.fans):
            src = writable_c(p0[0], float)
            start, items, r_min = _fan(prisms, float(src[0]), float(src[1]))
            with parallel_chunksize(1024):
                fan_walk(src, p1, prisms.edges, prisms.edge_building, prisms.base_z, prisms.top_z,
                         start, items, r_min, float(wavelength_m), int(k_max), blocked, cnt, t, top)
        else:
            _walk(writable_c(p0, float), p1, prisms.edges, prisms.edge_building, prisms.base_z,
                  prisms.top_z, prisms.gx0, prisms.gy0, prisms.cell_m, prisms.ncx, prisms.ncy,
                  prisms.start, prisms.items, float(wavelength_m), int(k_max), blocked, cnt, t, top)
    if check_ends:
        blocked |= inside_blocked(prisms, p0[:1] if one_source else p0)
        blocked |= inside_blocked(prisms, p1)
    return blocked, cnt, t, top


def line_of_sight(prisms: BuildingPrisms, p0_m, p1_m, *, check_ends: bool = True) -> np.ndarray:
    """(N,) bool: the segments p0 -> p1 (ENU metres, (N, 3) or one (3,) against many) meet no prism.

    End points are assumed at or above the building bases (see the module
    docstring). ``check_ends=False`` skips the end-point-inside test (the
    caller knows every end point is outside the solids: it costs a
    point-in-polygon query per end point).
    """
    blocked, _, _, _ = _run(prisms, p0_m, p1_m, 1.0, 0, check_ends)
    return ~blocked


def wall_crossings(prisms: BuildingPrisms, p0_m, p1_m, wavelength_m: float, k_max: int = 32, *,
                   check_ends: bool = True):
    """Line of sight and the knife edges along each segment.

    ``check_ends=False`` skips the end-point-inside test, as :func:`line_of_sight` does.

    Returns
    -------
    los : (N,) bool
    n_edges : (N,) int
        Walls recorded (at most ``k_max``; beyond it the lowest are dropped).
    t : (N, k_max) float
        Their fractions of the way from p0 to p1, increasing (0 past ``n_edges``).
    top_z : (N, k_max) float
        The roof z of each wall's building, metres (-inf past ``n_edges``).
    """
    blocked, cnt, t, top = _run(prisms, p0_m, p1_m, wavelength_m, k_max, check_ends)
    return ~blocked, cnt, t, top
