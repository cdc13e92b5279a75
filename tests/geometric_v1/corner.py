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
later). Vectorized over (corner, point) pairs; no I/O.

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
from numba import njit, prange

from twin3d.physics.radio import C_M_S
from .los3d import BuildingPrisms, line_of_sight

__all__ = ["convex_corners", "best_corner_path"]

#: How far a corner is moved off the wall, along the mean outward normal, metres.
NUDGE_M = 0.05


def convex_corners(prisms: BuildingPrisms):
    """Convex footprint corners, nudged off the walls: (xy (C, 2), top_z (C,)).

    An edge's successor is the next edge of the same ring (edges are stored
    ring by ring; the last edge of a ring is followed by the ring's first).
    """
    e = prisms.edges
    if len(e) == 0:
        return np.zeros((0, 2)), np.zeros(0)
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
    return xy[ok], prisms.top_z[prisms.edge_building][ok]


@njit(cache=True, parallel=True)
def _top_candidates(cxy, d_tc, u1, tx, rx, lam, weight, max_leg, out_k, out_loss):
    """Per receiver, the R least-loss corners (unobstructed or not), sorted: out_k, out_loss (R, N).

    ``cxy`` must come in increasing distance ``d_tc`` from the transmitter.
    """
    n_r = out_k.shape[0]
    for p in prange(rx.shape[0]):
        # Free space over the plan length is a lower bound of a candidate's loss: skip a
        # corner whose plan path is longer than the length at which free space alone
        # exceeds the worst kept candidate.
        lim = np.inf
        for c in range(cxy.shape[0]):
            ex, ey = rx[p, 0] - cxy[c, 0], rx[p, 1] - cxy[c, 1]
            dcr = np.sqrt(ex * ex + ey * ey)
            if d_tc[c] > lim:            # corners come nearest first: none further can do better
                break
            if dcr <= 1.0 or dcr > max_leg or d_tc[c] + dcr > lim:
                continue
            cos_t = min(1.0, max(-1.0, (u1[c, 0] * ex + u1[c, 1] * ey) / dcr))
            plan = d_tc[c] + dcr
            v = np.arccos(cos_t) * np.sqrt(2.0 * d_tc[c] * dcr / (lam * plan))
            j = 0.0
            if v > -0.78:       # ITU-R P.526 eq. 31, as knife_edge_loss_db
                j = max(0.0, 6.9 + 20.0 * np.log10(np.sqrt((v - 0.1) ** 2 + 1.0) + v - 0.1))
            length = max(np.sqrt(plan * plan + (rx[p, 2] - tx[2]) ** 2), 1.0)
            loss = 20.0 * np.log10(4.0 * np.pi * length / lam) + weight * j
            if loss < out_loss[n_r - 1, p]:
                i = n_r - 1
                while i > 0 and out_loss[i - 1, p] > loss:
                    out_loss[i, p] = out_loss[i - 1, p]
                    out_k[i, p] = out_k[i - 1, p]
                    i -= 1
                out_loss[i, p] = loss
                out_k[i, p] = c
                if out_loss[n_r - 1, p] < np.inf:
                    lim = lam / (4.0 * np.pi) * 10.0 ** (out_loss[n_r - 1, p] / 20.0)


def best_corner_path(prisms: BuildingPrisms, tx_xyz_m, rx_xyz_m, f_hz: float, *,
                     max_rounds: int = 12, weight: float = 1.0, return_points: bool = False,
                     max_range_m: float = 500.0, max_leg_m: float = 300.0):
    """Least one-corner lateral-diffraction path loss to each receiver, dB (inf: none).

    Candidates are ranked by loss; each round tests the best untested
    candidate of every unresolved receiver (both legs, exact 3D), for up
    to ``max_rounds`` rounds. ``weight`` scales the corner's J(v) (1: P.526
    as is; a calibration knob). Corners within ``max_range_m`` of the
    transmitter, second legs up to ``max_leg_m``. With ``return_points``, also the (N, 3)
    corner of each best path (nan where none).
    """
    tx = np.asarray(tx_xyz_m, float)
    rx = np.asarray(rx_xyz_m, float).reshape(-1, 3)
    best = np.full(len(rx), np.inf)
    where = np.full((len(rx), 3), np.nan)
    cxy, ctop = convex_corners(prisms)
    if len(cxy) == 0 or len(rx) == 0:
        return (best, where) if return_points else best
    lam = C_M_S / f_hz
    # Corners not visible from the transmitter even at its own height are never visible lower down.
    d_tc = np.hypot(cxy[:, 0] - tx[0], cxy[:, 1] - tx[1])
    vis = line_of_sight(prisms, np.broadcast_to(tx, (len(cxy), 3)),
                        np.column_stack([cxy, np.full(len(cxy), tx[2])]),
                        check_ends=False) & (d_tc > 1.0) & (d_tc <= max_range_m)
    near_first = np.argsort(d_tc[vis], kind="stable")
    cxy, d_tc = cxy[vis][near_first], d_tc[vis][near_first]
    if len(cxy) == 0:
        return (best, where) if return_points else best
    u1 = (cxy - tx[:2]) / d_tc[:, None]
    rounds = int(min(max_rounds, len(cxy)))
    order = np.full((rounds, len(rx)), -1, np.int64)          # best candidates per receiver
    cand = np.full((rounds, len(rx)), np.inf)
    _top_candidates(np.ascontiguousarray(cxy), d_tc, np.ascontiguousarray(u1), tx,
                    np.ascontiguousarray(rx), lam, float(weight), float(max_leg_m), order, cand)
    d1 = d_tc
    cols = np.arange(len(rx))
    todo = np.ones(len(rx), bool)
    for r in range(rounds):
        k = order[r, todo]
        p = cols[todo]
        lk = cand[r, todo]
        live = np.isfinite(lk)
        todo[p[~live]] = False                                # no candidates left
        k, p, lk = k[live], p[live], lk[live]
        if len(p) == 0:
            break
        s = d1[k] / (d1[k] + np.hypot(rx[p, 0] - cxy[k, 0], rx[p, 1] - cxy[k, 1]))
        cz = tx[2] + (rx[p, 2] - tx[2]) * s
        c3 = np.column_stack([cxy[k], cz])
        # Corners are nudged off the walls: outside every solid, no end-point test.
        ok = line_of_sight(prisms, np.broadcast_to(tx, c3.shape), c3, check_ends=False)
        ok[ok] &= line_of_sight(prisms, c3[ok], rx[p[ok]], check_ends=False)
        best[p[ok]] = lk[ok]
        where[p[ok]] = c3[ok]
        todo[p[ok]] = False
    return (best, where) if return_points else best
