"""First-order diffuse scattering off the lit walls (Lambertian, effective roughness).

A rough wall reradiates part of the power it intercepts in all directions.
In the effective roughness model (Degli-Esposti et al., IEEE TAP 55(1),
2007), which Sionna RT implements, a wall element dA hit at incidence angle
theta_i from the transmitter (distance r1) scatters the fraction
S^2 |Gamma|^2 of the intercepted power into a Lambertian lobe
(intensity ~ cos theta_s / pi); a receiver at distance r2 then gets, with
an isotropic aperture lambda^2 / (4 pi), the path gain

    dPG = G_t lambda^2 S^2 |Gamma|^2 cos theta_i cos theta_s dA / (16 pi^3 r1^2 r2^2)

(:func:`lambertian_path_gain`), S the scattering coefficient, Gamma the
wall's Fresnel coefficient (:func:`.reflection.wall_reflection_loss_db`:
concrete, the mean of the TE and TM magnitudes).

The integral over the walls both ends see, per receiver:

* the walls are cut into columns of at most ``width_m`` along each
  footprint edge and ``levels`` equal storeys up to the roof
  (:func:`facade_columns`);
* per transmitter, each column facing it is lit above its shadow line: the
  highest line from the antenna over a roof edge between them
  (:func:`lit_columns`; the knife edges of :func:`.los3d.wall_crossings` to
  the column's foot);
* per receiver, the walls it sees are the first walls hit by ``n_rays``
  plan rays over 360 degrees up to ``max_range_m`` (:func:`receiver_view`;
  the part of a wall above a lower building in front is not counted). A
  ray of angular width dphi that meets a wall at plan distance d covers
  dA = d dphi dz / cos alpha, and cos theta_s = d cos alpha / r2 on a
  vertical wall (alpha: the ray's angle to the wall's normal in plan), so
  dA cos theta_s / r2^2 = d^2 dphi dz / r2^3 whatever the angle
  (:func:`scattered_power`).

The receivers' view does not depend on the transmitter: it is computed
once per set of points and kept on the prisms. Compiled (numba), parallel
over receivers. No I/O.

Examples
--------
>>> round(float(10 * np.log10(lambertian_path_gain(1.0, 0.1, 0.3, 0.5, 1.0, 1.0, 1.0, 100.0, 50.0))), 1)
-137.4
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
from numba import njit, prange

from ..kernel_args import readonly_c
from ..radio import C_M_S
from .crossing import edge_hit_u
from .legs import first_cell, next_cell
from .los3d import BuildingPrisms, _remember, wall_crossings
from .reflection import wall_reflection_loss_db

__all__ = ["FacadeColumns", "lambertian_path_gain", "facade_columns", "receiver_view",
           "lit_columns", "scattered_power"]


def lambertian_path_gain(gain_lin, wavelength_m, scattering, gamma_abs, cos_i, cos_s, area_m2,
                         r1_m, r2_m):
    """Path gain (linear) of one small wall element by the Lambertian effective roughness model.

    ``G_t lambda^2 S^2 |Gamma|^2 cos theta_i cos theta_s dA / (16 pi^3 r1^2 r2^2)``.

    Examples
    --------
    >>> float(lambertian_path_gain(1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 16 * np.pi ** 3, 1.0, 1.0))
    1.0
    """
    return (np.asarray(gain_lin, float) * wavelength_m ** 2 * scattering ** 2
            * np.asarray(gamma_abs, float) ** 2 * cos_i * cos_s * area_m2
            / (16.0 * np.pi ** 3 * np.asarray(r1_m, float) ** 2 * np.asarray(r2_m, float) ** 2))


@dataclass(frozen=True)
class FacadeColumns:
    """The walls cut into columns and storeys.

    ``xy`` (C, 2) each column's centre in plan, ``normal`` (C, 2) its outward
    unit normal, ``z_edges`` (C, levels + 1) its storeys' bounds (base to
    roof), ENU metres; ``first`` (E + 1,) the first column of each footprint
    edge (edge e holds columns ``first[e]:first[e + 1]``, in order along it).
    """

    xy: np.ndarray
    normal: np.ndarray
    z_edges: np.ndarray
    first: np.ndarray


def facade_columns(prisms: BuildingPrisms, width_m: float = 5.0, levels: int = 4) -> FacadeColumns:
    """Every footprint edge cut into equal columns of at most ``width_m``, each into ``levels``."""
    e = prisms.edges
    ab = e[:, 2:] - e[:, :2]
    length = np.hypot(ab[:, 0], ab[:, 1])
    n_e = np.maximum(1, np.ceil(length / width_m)).astype(np.int64)
    first = np.concatenate([[0], np.cumsum(n_e)]).astype(np.int64)
    eid = np.repeat(np.arange(len(e)), n_e)
    frac = (np.arange(first[-1]) - first[eid] + 0.5) / n_e[eid]
    xy = e[eid, :2] + frac[:, None] * ab[eid]
    normal = np.column_stack([ab[eid, 1], -ab[eid, 0]]) / length[eid, None]
    b = prisms.edge_building[eid]
    base, top = prisms.base_z[b], prisms.top_z[b]
    z_edges = base[:, None] + (top - base)[:, None] * np.linspace(0.0, 1.0, levels + 1)[None, :]
    return FacadeColumns(xy, normal, z_edges, first)


@njit(cache=True, parallel=True)
def _cast(pts, n_rays, max_range, edges, gx0, gy0, cs, ncx, ncy, start, items, first,
          out_col, out_d):
    for s in prange(pts.shape[0]):
        x0, y0 = pts[s, 0], pts[s, 1]
        for m in range(n_rays):
            phi = 2.0 * np.pi * (m + 0.5) / n_rays
            dx, dy = max_range * np.cos(phi), max_range * np.sin(phi)
            best_t, best_u, best_e = 2.0, 0.0, -1
            ix, iy, n_cells, stx, sty, tdx, tdy, tmx, tmy = first_cell(x0, y0, x0 + dx, y0 + dy,
                                                                       gx0, gy0, cs)
            for _ in range(n_cells):
                t_cell1 = min(tmx, tmy, 1.0)
                if 0 <= ix < ncx and 0 <= iy < ncy:
                    c = iy * ncx + ix
                    for q in range(start[c], start[c + 1]):
                        e = items[q]
                        t, u = edge_hit_u(x0, y0, dx, dy, edges[e, 0], edges[e, 1], edges[e, 2],
                                          edges[e, 3])
                        if t > 0.0 and t < best_t:
                            best_t, best_u, best_e = t, u, e
                if best_t <= t_cell1:
                    break                                  # nothing nearer in later buckets
                ix, iy, _, tmx, tmy = next_cell(ix, iy, tmx, tmy, stx, sty, tdx, tdy)
            out_col[s, m] = -1
            out_d[s, m] = 0.0
            if best_e >= 0:
                ex0, ey0 = edges[best_e, 0], edges[best_e, 1]
                # seen from outside only (the edges have the solid on their left)
                if (x0 - ex0) * (edges[best_e, 3] - ey0) - (y0 - ey0) * (edges[best_e, 2] - ex0) > 0:
                    n_e = first[best_e + 1] - first[best_e]
                    out_col[s, m] = first[best_e] + min(int(best_u * n_e), n_e - 1)
                    out_d[s, m] = best_t * max_range


def receiver_view(prisms: BuildingPrisms, cols: FacadeColumns, pts_xyz_m, n_rays: int = 64,
                  max_range_m: float = 300.0):
    """The wall column each plan ray from each point meets first: ((N, n_rays) int32 column or -1,
    (N, n_rays) float32 plan distance, metres, (C,) bool: the columns met at all).

    Rays at angles 2 pi (m + 1/2) / n_rays, up to ``max_range_m``; a wall met from inside (a
    point within a footprint) counts as none. Remembered on the prisms by the points' plan
    positions (the grid is the same for every site).
    """
    p = np.ascontiguousarray(np.asarray(pts_xyz_m, float)[:, :2])
    key = ("diffuse_view", len(p), hashlib.blake2b(p.tobytes(), digest_size=16).digest(),
           int(n_rays), float(max_range_m), len(cols.xy))
    got = prisms.view_cache.get(key)
    if got is not None:
        return got
    n = len(p)
    col = np.full((n, n_rays), -1, np.int32)
    dist = np.zeros((n, n_rays), np.float32)
    if len(prisms.edges) and n:
        _cast(p, int(n_rays), float(max_range_m), prisms.edges, prisms.gx0, prisms.gy0,
              prisms.cell_m, prisms.ncx, prisms.ncy, prisms.start, prisms.items,
              readonly_c(cols.first, np.int64), col, dist)
    col.setflags(write=False)
    dist.setflags(write=False)
    seen = np.zeros(len(cols.xy), bool)
    seen[col[col >= 0]] = True
    seen.setflags(write=False)
    return _remember(prisms.view_cache, key, (col, dist, seen))


def lit_columns(prisms: BuildingPrisms, cols: FacadeColumns, tx_xyz_m, f_hz: float,
                scattering: float, max_range_m: float = 5000.0, seen=None):
    """Per column and storey, what the transmitter lights: (base (C, levels) linear, z_mid
    (C, levels) metres).

    ``base`` = lit height x lambda^2 S^2 |Gamma|^2 cos theta_i / (16 pi^3 r1^2), the element's
    path gain per unit of ``d^2 dphi / r2^3`` at the receiver without the antenna gain (0 where
    unlit); ``z_mid`` the middle of the lit part, where r1, theta_i and the departure direction
    are taken. A column is lit when it faces the antenna, within ``max_range_m`` in plan, above
    its shadow line. ``seen`` (C,) bool, optional: only these columns are tried (those some
    receiver sees).
    """
    a = np.asarray(tx_xyz_m, float)
    n_c, n_k = cols.z_edges.shape[0], cols.z_edges.shape[1] - 1
    base = np.zeros((n_c, n_k))
    z_mid = 0.5 * (cols.z_edges[:, :-1] + cols.z_edges[:, 1:])
    to_tx = a[:2] - cols.xy
    d1h = np.hypot(to_tx[:, 0], to_tx[:, 1])
    facing = (np.sum(to_tx * cols.normal, axis=1) > 0.0) & (d1h <= max_range_m) & (d1h > 0.5)
    facing = np.flatnonzero(facing if seen is None else facing & seen)
    if scattering <= 0.0 or facing.size == 0:
        return base, z_mid
    lam = C_M_S / f_hz
    foot = np.column_stack([cols.xy[facing] + 0.05 * cols.normal[facing],
                            cols.z_edges[facing, 0] + 0.01])
    # (a foot inside a neighbour, on a shared wall, is shadowed by the neighbour's wall)
    _, n, t, top = wall_crossings(prisms, a, foot, lam, check_ends=False)
    # The line from the antenna over each kept roof edge, at the column (t = 1).
    with np.errstate(divide="ignore", invalid="ignore"):
        line = np.where(np.arange(t.shape[1])[None, :] < n[:, None],
                        a[2] + (top - a[2]) / np.maximum(t, 1e-9), -np.inf)
    shadow = line.max(axis=1) if line.shape[1] else np.full(len(facing), -np.inf)
    z0, z1 = cols.z_edges[facing, :-1], cols.z_edges[facing, 1:]
    lo = np.maximum(z0, shadow[:, None])
    lit = np.clip(z1 - lo, 0.0, None)
    zm = np.where(lit > 0, 0.5 * (lo + z1), 0.5 * (z0 + z1))
    r1 = np.sqrt(d1h[facing, None] ** 2 + (zm - a[2]) ** 2)
    cos_i = np.sum(to_tx[facing] * cols.normal[facing], axis=1)[:, None] / r1
    grazing = np.arcsin(np.clip(cos_i, 0.0, 1.0))
    gamma2 = 10.0 ** (-wall_reflection_loss_db(grazing, f_hz) / 10.0)
    base[facing] = lit * lam ** 2 * scattering ** 2 * gamma2 * cos_i / (16.0 * np.pi ** 3 * r1 ** 2)
    z_mid[facing] = zm
    return base, z_mid


@njit(cache=True, parallel=True)
def _gather(rows, pts_z, hit_col, hit_d, z_mid, power, dphi, out):
    n_k = z_mid.shape[1]
    for i in prange(rows.shape[0]):
        r = rows[i]
        acc = 0.0
        for m in range(hit_col.shape[1]):
            c = hit_col[r, m]
            if c < 0:
                continue
            d2 = np.float64(hit_d[r, m]) ** 2
            for k in range(n_k):
                pw = power[c, k]
                if pw == 0.0:
                    continue
                dz = z_mid[c, k] - pts_z[r]
                q = d2 + dz * dz
                acc += pw * d2 / (q * np.sqrt(q))
        out[i] = acc * dphi


def scattered_power(view, rows, pts_z_m, z_mid, power) -> np.ndarray:
    """Diffusely scattered path gain (linear) at the points ``rows`` of a :func:`receiver_view`.

    ``power`` (C, levels): :func:`lit_columns`' ``base`` times the antenna gain (linear)
    towards each storey; ``z_mid`` its lit middles. The sum over each point's rays of
    dphi sum_k power d^2 / r2^3, r2 from the point to the storey's middle.
    """
    col, dist = view[0], view[1]
    rows = np.ascontiguousarray(rows, np.int64)
    out = np.zeros(len(rows))
    if len(rows) and col.shape[1]:
        _gather(rows, np.ascontiguousarray(pts_z_m, float), col, dist,
                np.ascontiguousarray(z_mid, float), np.ascontiguousarray(power, float),
                2.0 * np.pi / col.shape[1], out)
    return out
