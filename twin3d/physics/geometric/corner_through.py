"""One building corner whose legs pass through buildings (diffraction with refractions).

Where the model is most wrong on the street-level small cells, the ray
tracer's strongest path is often a diffraction joined to one or two
refractions (sequences DT, TD, RDT, DRT in ``benchmarks/rt_path_types.py``):
round a corner, then through a building, or the other way. The
:mod:`.corner` term needs both legs clear and :mod:`.transmission` is the
direct ray only. This term takes the one-corner path of :mod:`.corner`
(its loss: free space over the unfolded 3D length plus ``weight`` times
P.526's J(v) at the plan diffraction angle) and lets its legs cross
buildings:

    loss = 20 log10(4 pi L f / c) + weight J(v) + S * slab_loss_db(f),

S the slabs the two legs cross: per leg, the walls it crosses below their
roof (:func:`.reflection_through.walls_crossed`), an odd count rounded up
(a pass through a building enters or leaves through its roof, as
:func:`.transmission.slabs_crossed` counts the direct ray). The corner's
height is that of the straight line in the unfolded plan (as the corner
term puts it). Paths with 1 to ``max_slabs`` slabs count; those with none
are the corner term's. Per receiver, the ``max_rounds`` least-loss corners
ignoring obstruction are tried (:func:`.corner._top_candidates`, every
corner within range: a first leg may cross a building, so the corners
hidden from the antenna are candidates too) and the least loss is kept.
In the radio model with ``[radio.geometric] corner_slabs = 2`` (2 corners per
receiver: ``model.CORNER_THROUGH_ROUNDS``); off by default since the reflections through
buildings are on (model version 6), with which it added 0.00-0.05 dB. No I/O.

Examples
--------
>>> import numpy as np, shapely
>>> from twin3d.model import Buildings
>>> from twin3d.physics.geometric.los3d import building_prisms

A block round whose corner (40, 0) the path turns, and a slab of a building on the way on:

>>> b = Buildings(["a", "b"], np.array([shapely.box(0, 0, 40, 40), shapely.box(48, 8, 52, 16)]),
...               np.array([30.0, 20.0]), np.zeros(2), ["yes"] * 2, ["t"] * 2)
>>> loss = best_corner_through(building_prisms(b), [-10.0, -20.0, 10.0], [[60.0, 30.0, 1.5]],
...                            3.5e9)
>>> bool(np.isfinite(loss[0]))
True
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from ..radio import C_M_S
from .corner import SUB_TILE_M, TILE_M, _top_candidates, convex_corners, tiles_of
from .corner_clear import _corner_z
from .los3d import BuildingPrisms, _fan_and_buckets
from .reflection_through import two_leg_slabs
from .transmission import slab_loss_db

__all__ = ["best_corner_through"]


@njit(cache=True, parallel=True)
def _slabs(order, cand, cxy, d_tc, tx, rx, edges, edge_b, base, top, gx0, gy0, cs, ncx, ncy,
           start, items, max_slabs, max_leg, out, out_z):  # pragma: no cover - compiled
    """Per receiver and ranked corner (``order``, ``cand`` (R, N)), the slabs of the path's two
    legs (:func:`.reflection_through.two_leg_slabs`, rounded up to even) and the corner's z
    (:func:`.corner_clear._corner_z`, as the corner term puts it); -1 past the ranked corners."""
    for p in prange(rx.shape[0]):
        for r in range(order.shape[0]):
            if not np.isfinite(cand[r, p]):
                out[r, p] = -1
                continue
            k = order[r, p]
            ex, ey = rx[p, 0] - cxy[k, 0], rx[p, 1] - cxy[k, 1]
            # (a ranked corner's second leg is over 1 m and within max_leg: never nan)
            cz = _corner_z(d_tc[k], tx[2], rx[p, 2], ex, ey, np.sqrt(ex * ex + ey * ey), max_leg)
            out_z[r, p] = cz
            out[r, p] = two_leg_slabs(tx, cxy[k, 0], cxy[k, 1], cz, rx, p, -1, edges, edge_b,
                                      base, top, gx0, gy0, cs, ncx, ncy, start, items,
                                      max_slabs, 0)


def best_corner_through(prisms: BuildingPrisms, tx_xyz_m, rx_xyz_m, f_hz: float, *,
                        weight: float = 1.0, max_slabs: int = 2, max_rounds: int = 4,
                        max_range_m: float = 500.0, max_leg_m: float = 300.0,
                        return_points: bool = False):
    """Least loss of a one-corner path whose legs cross 1 to ``max_slabs`` slabs, dB (inf
    where none), over each receiver's ``max_rounds`` least-loss corners.

    Parameters
    ----------
    prisms, tx_xyz_m, rx_xyz_m, f_hz
        The buildings, the antenna (3,) and receivers (N, 3) in ENU metres, the carrier in
        Hz, as :func:`.reflection_through.best_reflection_through` takes them.
    weight : float
        Scale of the corner's J(v), as :func:`.corner.best_corner_path`'s.
    max_slabs : int
        Most slabs (walls and roofs) both legs may cross together.
    max_rounds : int
        Corners tried per receiver, in increasing loss ignoring obstruction.
    max_range_m, max_leg_m : float
        Corners within this plan distance of the antenna; second legs up to this long.
    return_points : bool
        Also return the (N, 3) corner of each path (nan where none).

    Returns
    -------
    (N,) float, or ((N,) float, (N, 3) float) with ``return_points``
        Path loss without antenna gain, dB; the corner each path turns at.
    """
    tx = np.asarray(tx_xyz_m, float)
    rx = np.ascontiguousarray(np.asarray(rx_xyz_m, float).reshape(-1, 3))
    best = np.full(len(rx), np.inf)
    where = np.full((len(rx), 3), np.nan)
    cxy = convex_corners(prisms)[0]
    if len(cxy) == 0 or len(rx) == 0 or max_slabs < 1 or max_rounds < 1:
        return (best, where) if return_points else best
    d_tc = np.hypot(cxy[:, 0] - tx[0], cxy[:, 1] - tx[1])
    keep = (d_tc > 1.0) & (d_tc <= max_range_m)
    near_first = np.argsort(d_tc[keep], kind="stable")       # ties: the nearer corner, as .corner
    cxy, d_tc = np.ascontiguousarray(cxy[keep][near_first]), d_tc[keep][near_first]
    if len(cxy) == 0:
        return (best, where) if return_points else best
    u1 = np.ascontiguousarray((cxy - tx[:2]) / d_tc[:, None])
    tile_pts, tile_start, sub_start = tiles_of(rx[:, :2], TILE_M, SUB_TILE_M, spread=True)
    rounds = int(min(max_rounds, len(cxy)))
    order = np.full((rounds, len(rx)), -1, np.int64)
    cand = np.full((rounds, len(rx)), np.inf)
    _top_candidates(cxy, d_tc, u1, tx, rx, tile_pts, tile_start, sub_start, C_M_S / f_hz,
                    float(weight), float(max_leg_m), order, cand)
    fb = _fan_and_buckets(prisms, tx)
    slabs = np.empty((rounds, len(rx)), np.int64)
    cz = np.full((rounds, len(rx)), np.nan)
    _slabs(order, cand, cxy, d_tc, tx, rx, *fb[:4], *fb[7:], int(max_slabs), float(max_leg_m),
           slabs, cz)
    loss = np.where((slabs >= 1) & (slabs <= max_slabs), cand + slabs * slab_loss_db(f_hz), np.inf)
    r_best = np.argmin(loss, axis=0)
    p_all = np.arange(len(rx))
    best = loss[r_best, p_all]
    ok = np.isfinite(best)
    k = order[r_best[ok], p_all[ok]]
    where[ok] = np.column_stack([cxy[k], cz[r_best[ok], p_all[ok]]])
    return (best, where) if return_points else best
