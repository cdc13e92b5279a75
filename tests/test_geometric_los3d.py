"""Exact 3D line of sight (issue 13) against brute-force segment-triangle intersection."""

from pathlib import Path

import numpy as np
import shapely

from twin3d.model import Buildings
from twin3d.physics.geometric.los3d import (building_prisms, inside_blocked, line_of_sight,
                                            wall_crossings)
from twin3d.rt.references import load_reference

REF = Path(__file__).parent / "data" / "rt" / "macro_hel05_3500mhz.npz"


def _mesh(buildings):
    """(T, 3, 3) triangles of the closed prisms: walls (2 per edge), roofs and floors."""
    tris = []
    for foot, h, z0 in zip(buildings.footprints, buildings.heights_m, buildings.base_z_m):
        z1 = z0 + h
        for poly in shapely.get_parts(foot):
            for ring in [poly.exterior, *poly.interiors]:
                c = np.asarray(ring.coords)[:, :2]
                for a, b in zip(c[:-1], c[1:]):
                    tris.append([[*a, z0], [*b, z0], [*b, z1]])
                    tris.append([[*a, z0], [*b, z1], [*a, z1]])
            for t in shapely.get_parts(shapely.constrained_delaunay_triangles(poly)):
                c = np.asarray(t.exterior.coords)[:3, :2]
                tris.append([[*p, z1] for p in c])
                tris.append([[*p, z0] for p in c])
    return np.array(tris, float)


def _moller_trumbore_hits(p0, p1, tris):
    """(N,) bool: segment p0 -> p1 meets any triangle (Moller & Trumbore 1997), brute force."""
    v0, e1, e2 = tris[:, 0], tris[:, 1] - tris[:, 0], tris[:, 2] - tris[:, 0]
    out = np.zeros(len(p0), bool)
    for i, (a, b) in enumerate(zip(p0, p1)):
        d = b - a
        pvec = np.cross(d, e2)
        det = np.einsum("ij,ij->i", e1, pvec)
        ok = np.abs(det) > 1e-12
        inv = np.where(ok, 1.0 / np.where(ok, det, 1.0), 0.0)
        s = a - v0
        u = np.einsum("ij,ij->i", s, pvec) * inv
        q = np.cross(s, e1)
        v = (q @ d) * inv
        t = np.einsum("ij,ij->i", e2, q) * inv
        out[i] = np.any(ok & (u >= 0) & (v >= 0) & (u + v <= 1) & (t >= 0) & (t <= 1))
    return out


def _outside_points(prisms, rng, n, bounds, z_lo, z_hi):
    pts = []
    while len(pts) < n:
        p = np.column_stack([rng.uniform(bounds[0], bounds[2], n), rng.uniform(bounds[1], bounds[3], n),
                             rng.uniform(z_lo, z_hi, n)])
        pts.extend(p[~inside_blocked(prisms, p)])
    return np.array(pts[:n])


def test_los_matches_brute_force_mesh_intersection():
    b = load_reference(REF).buildings
    prisms = building_prisms(b)
    tris = _mesh(b)
    rng = np.random.default_rng(13)
    bounds = shapely.total_bounds(b.footprints)
    n = 400
    ue = _outside_points(prisms, rng, n, bounds, 1.0, 2.0)                 # street level
    high = _outside_points(prisms, rng, n, bounds, 0.5, 45.0)              # anywhere, roofs too
    p0 = np.vstack([high[: n // 2], ue[: n // 2]])
    p1 = np.vstack([ue[n // 2:], high[n // 2:]])
    got = line_of_sight(prisms, p0, p1)
    want = ~_moller_trumbore_hits(p0, p1, tris)
    assert 0.1 < got.mean() < 0.9                                          # both outcomes occur
    np.testing.assert_array_equal(got, want)


def test_own_roof_edge_shadows_low_points():
    # A 20 x 20 m building 15 m tall; an antenna 3 m above its roof, 2 m in from the east wall.
    b = Buildings(["site"], np.array([shapely.box(0, 0, 20, 20)]), np.array([15.0]), np.zeros(1),
                  ["yes"], ["tag"])
    prisms = building_prisms(b)
    ant = np.array([18.0, 10.0, 18.0])
    # The roof edge at x = 20 is 2 m out and 3 m down: the ray grazing it falls 1.5 m per metre
    # and reaches 1.5 m height at x = 18 + 2 (18 - 1.5) / 3 = 29 m.
    xs = np.array([25.0, 28.0, 31.0, 40.0])
    ue = np.column_stack([xs, np.full(4, 10.0), np.full(4, 1.5)])
    los = line_of_sight(prisms, ant, ue)
    edge_x = 18.0 + 2.0 * (18.0 - 1.5) / (18.0 - 15.0)                   # where the ray clears the edge
    assert los.tolist() == (xs > edge_x).tolist() == [False, False, True, True]
    ok, n, t, top = wall_crossings(prisms, np.tile(ant, (4, 1)), ue, 0.0857, k_max=4)
    # Shadowed: the roof edge is the one knife edge; lit at 31 and 40 m it is > 0.78 Fresnel below.
    assert n.tolist() == [1, 1, 0, 0] and np.allclose(top[:2, 0], 15.0)
    assert np.allclose(t[:2, 0] * (xs[:2] - 18.0), 2.0)
