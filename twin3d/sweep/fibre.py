"""Routes of new fibre for ``twin3d capex``: along the streets in a city, a great circle otherwise.

A scene with streets (from OSM) is a city scene: new fibre is laid in the
streets. The street graph has one node per street vertex (vertices within
:data:`SNAP_M` of each other are one node, as OSM ways share their junction
nodes) and one edge per street segment, weighted by its length in the ENU
plane. A route runs from site a straight to the nearest vertex of the
graph's largest connected part, along the shortest path over the streets
(:func:`scipy.sparse.csgraph.dijkstra`), then straight from the vertex
nearest site b to b. Without streets, or when the two sites snap to the
same vertex, the route is the great circle between the sites (densified as
:func:`twin3d.model.build_twin` densifies a straight link).

The route's length is the new link's length: it sets its propagation delay,
hence its latency weight, and the cost of ``cost_per_km``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components, dijkstra
from scipy.spatial import cKDTree

__all__ = ["StreetGraph", "street_graph", "FibreRoute", "fibre_route", "SNAP_M"]

#: Street vertices closer than this are one junction, metres.
SNAP_M = 0.01


@dataclass
class StreetGraph:
    """The street network in the ENU plane: vertices (n, 3), a symmetric CSR length matrix (m)."""

    xyz_m: np.ndarray
    lengths: object
    #: Vertices of the largest connected part (the ones a site snaps to).
    main: np.ndarray
    tree: cKDTree


def street_graph(streets) -> StreetGraph | None:
    """The :class:`StreetGraph` of a twin's streets; None when there are none.

    Examples
    --------
    >>> from twin3d.model import Street
    >>> g = street_graph([Street("w1", np.array([[0., 0, 0], [100, 0, 0]]), "residential"),
    ...                   Street("w2", np.array([[100., 0, 0], [100, 50, 0]]), "residential")])
    >>> len(g.xyz_m), float(g.lengths.sum()) / 2
    (3, 150.0)
    """
    lines = [np.asarray(s.xyz_m, float) for s in streets if len(s.xyz_m) >= 2]
    if not lines:
        return None
    pts = np.vstack(lines)
    key = np.round(pts[:, :2] / SNAP_M).astype(np.int64)
    uniq, first, inv = np.unique(key, axis=0, return_index=True, return_inverse=True)
    inv = inv.ravel()
    xyz = pts[first]
    ends = np.cumsum([0] + [len(l) for l in lines])
    a = np.concatenate([inv[s:e - 1] for s, e in zip(ends[:-1], ends[1:])])
    b = np.concatenate([inv[s + 1:e] for s, e in zip(ends[:-1], ends[1:])])
    keep = a != b
    a, b = a[keep], b[keep]
    w = np.hypot(*(xyz[a, :2] - xyz[b, :2]).T)
    n = len(uniq)
    # min over parallel segments: csgraph sums duplicates, so keep the shortest one
    order = np.lexsort((w, np.maximum(a, b), np.minimum(a, b)))
    lo, hi, w = np.minimum(a, b)[order], np.maximum(a, b)[order], w[order]
    first_pair = np.r_[True, (lo[1:] != lo[:-1]) | (hi[1:] != hi[:-1])]
    lo, hi, w = lo[first_pair], hi[first_pair], w[first_pair]
    m = coo_matrix((np.r_[w, w], (np.r_[lo, hi], np.r_[hi, lo])), shape=(n, n)).tocsr()
    _, label = connected_components(m, directed=False)
    main = np.flatnonzero(label == np.bincount(label).argmax())
    return StreetGraph(xyz, m, main, cKDTree(xyz[main, :2]))


@dataclass
class FibreRoute:
    """A new fibre's route: polyline (k, 3) in ENU metres, its length and how it was laid."""

    xyz_m: np.ndarray
    length_m: float
    #: ``streets`` or ``great_circle``.
    how: str


def fibre_route(a_xyz_m, b_xyz_m, streets: StreetGraph | None = None,
                great_circle=None) -> FibreRoute:
    """The route of new fibre between two points (ENU metres).

    Parameters
    ----------
    a_xyz_m, b_xyz_m : (3,) array_like
        The two sites' ground points.
    streets : StreetGraph, optional
        The city's streets; None: a great circle.
    great_circle : callable, optional
        ``great_circle() -> ((k, 3) route, length_m)`` (for the great
        circle; default: the straight segment in the plane).

    Examples
    --------
    >>> r = fibre_route([0, 0, 0], [300, 400, 0])
    >>> r.length_m, r.how
    (500.0, 'great_circle')
    """
    a, b = np.asarray(a_xyz_m, float), np.asarray(b_xyz_m, float)
    if streets is not None:
        _, (ia, ib) = streets.tree.query([a[:2], b[:2]])
        va, vb = int(streets.main[ia]), int(streets.main[ib])
        if va != vb:
            dist, pred = dijkstra(streets.lengths, indices=va, return_predecessors=True)
            path = [vb]
            while path[-1] != va:
                path.append(int(pred[path[-1]]))
            path.reverse()
            xyz = np.vstack([a, streets.xyz_m[path], b])
            length = (float(np.hypot(*(a[:2] - streets.xyz_m[va, :2])))
                      + float(dist[vb]) + float(np.hypot(*(b[:2] - streets.xyz_m[vb, :2]))))
            return FibreRoute(xyz, length, "streets")
    if great_circle is not None:
        xyz, length = great_circle()
        return FibreRoute(np.asarray(xyz, float), float(length), "great_circle")
    return FibreRoute(np.vstack([a, b]), float(np.hypot(*(b[:2] - a[:2]))), "great_circle")
