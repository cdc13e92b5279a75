"""The combined geometric path gain per cell (issue 13, first version).

For each cell and grid point (UE at ``ue_height_m`` above ground), with
G(direction) the sector antenna gain of TR 38.901 Table 7.3-1 computed as
:func:`twin3d.physics.cellmaps.cell_rx_dbm` does (horizontal angle from the
compass bearing, zenith angle from the height difference):

* line of sight (exact 3D, :mod:`.los3d`): G(point) - free space over the 3D
  distance, or the two-ray ground model (:mod:`.ground`) with ``los_ground``;
* otherwise the paths
  - rooftop diffraction: G(point) - free space - ``rooftop_weight`` x
    Deygout's loss over the walls the direct ray crosses, each a knife edge
    at its building's roof (:mod:`.diffraction`; ``v_path_difference``: v
    from the excess path length, exact at steep edges),
  - one wall reflection by the image method (:mod:`.reflection`):
    G(reflection point) - its loss,
  - one-corner lateral diffraction (:mod:`.corner`): G(corner) - its loss
    (corner J(v) scaled by ``corner_weight``),
  - transmission through walls and roofs (:mod:`.transmission`): G(point) -
    free space - the concrete slabs' loss (with ``transmission``),
  - two wall reflections in a canyon (:mod:`.reflection2`, with
    ``reflections2``): G(first reflection point) - its loss,
  - chains of corners (:mod:`.dominant_path`, with ``dominant_path``): the
    dominant path over a visibility graph of corners, G(first corner) - its loss,
  - first-order diffuse scattering off the lit walls the point sees
    (:mod:`.diffuse`, with ``scattering`` S > 0): the Lambertian effective
    roughness model, integrated over the walls, the antenna gain taken
    towards each lit storey,
  combined by ``combine``: "min" keeps the strongest path, "sum" adds their
  powers (incoherently); then ``nlos_offset_db`` is subtracted;
* indoor points: the paths of the nearest outdoor point (their facade,
  :mod:`.indoor`), less the TR 38.901 low-loss O2I penetration;
* NLOS points in enclosed courtyards (:mod:`.courtyard`): ``courtyard_db`` more.

The antenna gain of an indirect path is taken along its departure
direction: a sector's back lobe is lit by reflections of its main lobe.

Returns path gain (0 dBm transmit power) per cell, clipped at -160 dB, the
convention of :func:`twin3d.rt.compare.model_path_gain_db`. No I/O.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from ..grid import Grid
from ..los import ground_z_m, indoor_distance_m
from ..radio import C_M_S, antenna_gain_db, o2i_low_loss_db
from .corner import best_corner_path
from .corner_through import best_corner_through
from .courtyard import enclosed_outdoor
from .diffraction import deygout_loss_db
from .diffuse import facade_columns, lit_columns, receiver_view, scattered_power
from .dominant_path import best_dominant_path
from .ground import two_ray_ground_db
from .indoor import facade_proxy
from .los3d import _remember, footprint_hits, line_of_sight, shared_prisms, wall_crossings
from .reflection import best_single_reflection
from .reflection2 import best_double_reflection
from .reflection_through import best_reflection_through
from .transmission import slabs_crossed, transmission_loss_db

__all__ = ["FLOOR_DB", "MAX_RANGE_M", "DEFAULT_TERMS", "site_paths", "cell_path_gain_db", "geometric_path_gain_db",
           "GeometricEngine"]

FLOOR_DB = -160.0
#: Horizontal range of a cell, metres: beyond it the radio map gives it no power (as the
#: TR 38.901 scenarios' 5 km NLOS limit does); far below noise at any macro power.
MAX_RANGE_M = 5000.0
#: Default settings of the terms (tuned on macro_hel05 and small_south, see the benchmark).
#: corner_weight 0.6 and the power sum stand in for the wedge (not knife-edge) corners;
#: transmission, two-wall reflections and corner chains (dominant_path) are on.
#: v_path_difference (exact v at steep roof edges), reflection_slabs 2 and reflection_inside
#: (one reflection whose legs cross buildings, .reflection_through) are on since the depth-10
#: references (2026-12-03): together 0.35-1.5 dB closer on both tuning layouts (macro HEL-05
#: 4.81 -> 3.93 and 5.47 -> 5.12 dB per cell, small cells south 8.10 -> 6.60 and 7.76 -> 6.80
#: dB in bins). corner_rounds 0: every corner (.corner_clear); corner_leg_m 200: its second
#: legs up to 200 m (300 m: the same tuning scores within 0.01 dB, 0.45 s more on the Helsinki
#: map). corner_slabs 0 (.corner_through off): with the reflection terms on it brought the
#: tuning layouts 0.00-0.05 dB closer for 0.27 s of the map.
#: scattering 0.3 (.diffuse, the walls' diffuse scattering): the scattering coefficient of the
#: references' walls, chosen for them from measurements (S = 0.2-0.5, Degli-Esposti et al.
#: 2007) before any score, not fitted; it took the tuning layouts 4.11 -> 2.87, 4.87 -> 3.18,
#: 6.47 -> 6.42 and 6.51 -> 6.44 dB (2026-12-03). diffuse_rays 48 and diffuse_range_m 200 move
#: them by at most 0.02 dB from 64 and 300. To keep the Helsinki map under 2 s, corner_leg_m
#: went from 200 to 150 m: within 0.03 dB on the tuning layouts, 0.14 s less.
DEFAULT_TERMS = dict(k_edges=32, max_edges=3, reflections=True, corners=True, los_ground=False,
                     rooftop_weight=1.0, corner_weight=0.6, combine="sum", nlos_offset_db=-1.5,
                     edge2_weight=None, transmission=True, max_slabs=2, reflections2=True,
                     dominant_path=True, dpm_weight=0.6, courtyard_db=0.0,
                     v_path_difference=True, corner_rounds=0, reflection_slabs=2,
                     reflection_inside=True, corner_slabs=0, corner_leg_m=150.0,
                     scattering=0.3, diffuse_rays=48, diffuse_range_m=200.0)

#: Inside reflections tried per receiver (4 and 8 gave the same small-cell scores; half the walks).
INSIDE_ROUNDS = 4
#: Corners tried per receiver by the through-building corner term: 4 is 0.07-0.2 dB closer on
#: the small cells (bins) than 2 and costs the Helsinki map about 0.09 s more.
CORNER_THROUGH_ROUNDS = 2

#: The indirect paths :func:`cell_path_gain_db` combines: (name, its departure point or None
#: for the direct direction).
INDIRECT = (("reflection", "reflection_xyz"), ("corner", "corner_xyz"), ("transmission", None),
            ("reflection2", "reflection2_xyz"), ("dominant", "dominant_xyz"),
            ("through", "through_xyz"), ("inside", "inside_xyz"),
            ("corner_through", "corner_through_xyz"))


def _fspl(d_m, f_hz):
    return 20.0 * np.log10(4.0 * np.pi * np.maximum(d_m, 1.0) * f_hz / C_M_S)


def site_paths(prisms, antenna_xyz_m, pts_xyz_m, ground_z, f_hz: float, *, k_edges: int = 32,
               max_edges: int = 3, reflections: bool = True, corners: bool = True,
               los_ground: bool = False, rooftop_weight: float = 1.0, corner_weight: float = 1.0,
               edge2_weight: float | None = None, transmission: bool = False, max_slabs: int = 2,
               reflections2: bool = False, dominant_path: bool = False, dpm_weight: float = 0.6,
               v_path_difference: bool = False, corner_rounds: int = 0, reflection_slabs: int = 0,
               reflection_inside: bool = False, corner_slabs: int = 0, corner_leg_m: float = 300.0,
               scattering: float = 0.0, diffuse_rays: int = 48, diffuse_range_m: float = 200.0,
               **_ignored) -> dict:
    """Path losses from one antenna to many points at one frequency, dB, without antenna gain.

    Returns a dict of (N,) arrays: ``los`` (bool), ``direct`` (LOS loss),
    ``rooftop`` (free space + weighted Deygout), ``reflection`` and
    ``corner`` (inf where none; computed for NLOS points only) and (N, 3)
    ``reflection_xyz``, ``corner_xyz``: where those paths leave towards;
    ``transmission`` (:mod:`.transmission`, with ``transmission``): the
    direct ray through at most ``max_slabs`` walls and roofs;
    ``reflection2``, ``reflection2_xyz`` (:mod:`.reflection2`, with
    ``reflections2``): two wall reflections in a canyon, NLOS points only;
    ``dominant``, ``dominant_xyz`` (:mod:`.dominant_path`, with
    ``dominant_path``): the least-loss chain of corners, J(v) scaled by
    ``dpm_weight``, NLOS points only (two corners or more with ``corners``).
    ``edge2_weight`` (default ``rooftop_weight``) weighs the J(v) of
    Deygout's secondary edges: the references trace first-order
    diffraction only, so a path over two roofs carries less there.
    ``v_path_difference``: the rooftop edges' v from the excess path length
    (exact at large diffraction angles, :mod:`.diffraction`) instead of
    P.526 eq. 26's small-angle height form.
    ``corner_rounds``: the one-corner term keeps the first clear corner of
    each receiver's that many least-loss ones; 0: the least-loss clear
    corner of all (:mod:`.corner_clear`; slower, closer to the ray tracer).
    ``reflection_slabs`` (0: off): ``through``, ``through_xyz``
    (:mod:`.reflection_through`): one wall reflection whose legs cross 1 to
    that many slabs (walls and roofs), NLOS points only.
    ``reflection_inside``: ``inside``, ``inside_xyz``: one reflection off a
    wall's inside face, the path in and out of its building (at least two
    slabs, at most ``max(2, reflection_slabs)``), NLOS points only.
    ``corner_slabs`` (0: off): ``corner_through``, ``corner_through_xyz``
    (:mod:`.corner_through`): one corner whose legs cross 1 to that many
    slabs, J(v) scaled by ``corner_weight``, NLOS points only.
    ``corner_leg_m``: the one-corner term's longest second leg (corner to
    receiver), metres.
    ``scattering`` (S; 0: off): ``diffuse`` (:mod:`.diffuse`): the walls'
    first-order diffuse scattering, seen over ``diffuse_rays`` plan rays up
    to ``diffuse_range_m`` from each point; a tuple (view, base, z_mid,
    storeys' xyz) that :func:`cell_path_gain_db` weighs by the antenna gain
    towards each lit storey, NLOS points only.
    """
    a = np.asarray(antenna_xyz_m, float)
    p = np.asarray(pts_xyz_m, float)
    n_p = len(p)
    lam = C_M_S / f_hz
    los, n, t, top = wall_crossings(prisms, a, p, lam, k_edges)
    d2d = np.hypot(p[:, 0] - a[0], p[:, 1] - a[1])
    fs = _fspl(np.hypot(d2d, p[:, 2] - a[2]), f_hz)
    if los_ground:
        h_tx = np.maximum(a[2] - ground_z, 0.5)
        h_rx = np.maximum(p[:, 2] - ground_z, 0.5)
        direct = two_ray_ground_db(np.maximum(d2d, 1.0), h_tx, h_rx, f_hz)
    else:
        direct = fs
    kk = max(1, int(n.max()) if n.size else 1)
    profile = (t[:, :kk] * d2d[:, None], top[:, :kk], np.full(n_p, a[2]), p[:, 2], d2d, lam)
    j_all = deygout_loss_db(*profile, max_edges=max_edges, path_difference=v_path_difference)
    if edge2_weight is None or edge2_weight == rooftop_weight or max_edges <= 1:
        rooftop = fs + rooftop_weight * j_all
    else:
        j_1 = deygout_loss_db(*profile, max_edges=1, path_difference=v_path_difference)
        rooftop = fs + rooftop_weight * j_1 + edge2_weight * (j_all - j_1)
    out = {"los": los, "direct": direct, "rooftop": rooftop,
           "reflection": np.full(n_p, np.inf), "corner": np.full(n_p, np.inf),
           "reflection_xyz": np.full((n_p, 3), np.nan), "corner_xyz": np.full((n_p, 3), np.nan),
           "transmission": np.full(n_p, np.inf)}
    nl = ~los
    if transmission:
        out["transmission"] = np.where(nl, transmission_loss_db(
            fs, slabs_crossed(t[:, :kk], top[:, :kk], n, a[2], p[:, 2]), f_hz, max_slabs=max_slabs),
            np.inf)                                       # (past column kk no ray kept a wall)
    if reflections and nl.any():
        out["reflection"][nl], out["reflection_xyz"][nl] = best_single_reflection(
            prisms, a, p[nl], f_hz, return_points=True)
    if reflections2 and nl.any():
        out["reflection2"] = np.full(n_p, np.inf)
        out["reflection2_xyz"] = np.full((n_p, 3), np.nan)
        out["reflection2"][nl], out["reflection2_xyz"][nl] = best_double_reflection(
            prisms, a, p[nl], f_hz, return_points=True)
    if dominant_path and nl.any():
        out["dominant"] = np.full(n_p, np.inf)
        out["dominant_xyz"] = np.full((n_p, 3), np.nan)
        # The grid's footprint look-up (remembered on the prisms), renumbered to the NLOS points.
        i_pt, i_b = footprint_hits(prisms, p) if len(prisms.base_z) else (np.zeros(0, int),) * 2
        sel = nl[i_pt]
        out["dominant"][nl], out["dominant_xyz"][nl] = best_dominant_path(
            prisms, a, p[nl], f_hz, weight=dpm_weight, return_points=True,
            min_corners=2 if corners else 1,
            rx_footprints=((np.cumsum(nl) - 1)[i_pt[sel]], i_b[sel]))
    if reflection_slabs > 0 and nl.any():
        out["through"] = np.full(n_p, np.inf)
        out["through_xyz"] = np.full((n_p, 3), np.nan)
        out["through"][nl], out["through_xyz"][nl] = best_reflection_through(
            prisms, a, p[nl], f_hz, max_slabs=reflection_slabs, return_points=True)
    if reflection_inside and nl.any():
        out["inside"] = np.full(n_p, np.inf)
        out["inside_xyz"] = np.full((n_p, 3), np.nan)
        out["inside"][nl], out["inside_xyz"][nl] = best_reflection_through(
            prisms, a, p[nl], f_hz, max_slabs=max(2, reflection_slabs), inside=True,
            max_rounds=INSIDE_ROUNDS, return_points=True)
    if corner_slabs > 0 and nl.any():
        out["corner_through"] = np.full(n_p, np.inf)
        out["corner_through_xyz"] = np.full((n_p, 3), np.nan)
        out["corner_through"][nl], out["corner_through_xyz"][nl] = best_corner_through(
            prisms, a, p[nl], f_hz, weight=corner_weight, max_slabs=corner_slabs,
            max_rounds=CORNER_THROUGH_ROUNDS, return_points=True)
    if corners and nl.any():
        out["corner"][nl], out["corner_xyz"][nl] = best_corner_path(
            prisms, a, p[nl], f_hz, weight=corner_weight, return_points=True,
            max_rounds=corner_rounds if corner_rounds > 0 else None, max_leg_m=corner_leg_m)
    if scattering > 0 and nl.any():
        cols = _columns(prisms)
        view = receiver_view(prisms, cols, p, diffuse_rays, diffuse_range_m)
        base, z_mid = lit_columns(prisms, cols, a, f_hz, scattering, seen=view[2])
        out["diffuse"] = (view, base, z_mid, cols)
    return out


def _columns(prisms):
    key = ("facade_columns",)
    got = prisms.view_cache.get(key)
    if got is None:
        got = _remember(prisms.view_cache, key, facade_columns(prisms))
    return got


def _diffuse_power(spec, a, paths, p, memo) -> np.ndarray:
    """Linear diffuse path gain of one cell at its site's NLOS points (:mod:`.diffuse`)."""
    view, base, z_mid, cols = paths["diffuse"]
    if "diffuse" not in memo:
        lit = np.flatnonzero(base.ravel() > 0)
        xyz = np.column_stack([cols.xy[lit // base.shape[1]], z_mid.ravel()[lit]])
        memo["diffuse"] = (lit, _angles(a, xyz))
    lit, dep = memo["diffuse"]
    power = np.zeros(base.size)
    power[lit] = base.ravel()[lit] * 10.0 ** (_gain(spec, dep) / 10.0)
    return scattered_power(view, memo["nlos"], p[:, 2], z_mid, power.reshape(base.shape))


def _angles(a, to_xyz):
    """(compass bearing, zenith angle) of the directions a -> to_xyz, degrees."""
    dx, dy = to_xyz[:, 0] - a[0], to_xyz[:, 1] - a[1]
    theta = 90.0 + np.degrees(np.arctan2(a[2] - to_xyz[:, 2], np.hypot(dx, dy)))
    return np.degrees(np.arctan2(dx, dy)), theta


def _gain(spec, angles):
    bearing, theta = angles
    return antenna_gain_db(bearing - spec.azimuth_deg, theta, spec.tilt_deg, spec.beamwidth_deg,
                           spec.gain_dbi)


def cell_path_gain_db(spec, paths: dict, pts_xyz_m, *, combine: str = "min",
                      nlos_offset_db: float = 0.0, angles: dict | None = None,
                      **_ignored) -> np.ndarray:
    """One cell's path gain from its site's :func:`site_paths`, dB (antenna gain included).

    ``angles``: a dict kept per site and passed for each of its cells, where the departure
    angles (the same for every cell of the site) are remembered.
    """
    if combine not in ("min", "sum"):
        raise ValueError(f"combine must be 'min' or 'sum' (got {combine!r})")
    a = np.asarray(spec.antenna_xyz_m, float)
    p = np.asarray(pts_xyz_m, float)
    memo = {} if angles is None else angles
    if "direct" not in memo:
        memo["direct"] = _angles(a, p)
        memo["nlos"] = np.flatnonzero(~paths["los"])
    g_d = _gain(spec, memo["direct"])
    out = g_d - paths["direct"]
    nl = memo["nlos"]
    # The paths are combined at the NLOS points only, and each indirect path where it exists:
    # a missing path (-inf dB) adds no power (a zero, exactly) and never wins the max.
    nlos = g_d[nl] - paths["rooftop"][nl]
    if combine == "sum":                                 # incoherent power sum of the paths
        nlos = 10.0 ** (nlos / 10.0)
    for name, xyz in INDIRECT:
        if name not in paths:
            continue
        if name not in memo:
            ok = np.isfinite(paths[name])
            dep = None if xyz is None or not ok.any() else _angles(a, paths[xyz][ok])
            at_nl = ~paths["los"][ok]                    # (the terms are computed off sight only)
            memo[name] = (ok, dep, at_nl, (np.cumsum(~paths["los"]) - 1)[ok][at_nl])
        ok, dep, at_nl, pos = memo[name]
        if not ok.any():
            continue
        g = (g_d[ok] if xyz is None else _gain(spec, dep)) - paths[name][ok]
        if combine == "sum":
            nlos[pos] += 10.0 ** (g[at_nl] / 10.0)
        else:
            nlos[pos] = np.maximum(nlos[pos], g[at_nl])
    if "diffuse" in paths and len(nl):
        diffuse = _diffuse_power(spec, a, paths, p, memo)
        if combine == "sum":
            nlos += diffuse
        else:
            with np.errstate(divide="ignore"):
                nlos = np.maximum(nlos, 10.0 * np.log10(diffuse))
    if combine == "sum":
        nlos = 10.0 * np.log10(nlos)
    out[nl] = nlos - nlos_offset_db
    return out


def geometric_path_gain_db(buildings, grid: Grid, specs: Sequence, ue_height_m: float = 1.5, *,
                           prisms=None, **terms) -> np.ndarray:
    """Per-cell path gain (antenna gain - path loss, 0 dBm), (n_cells, ny, nx), dB.

    Parameters
    ----------
    buildings : twin3d.model.Buildings
    grid : Grid
    specs : sequence of twin3d.physics.cellmaps.CellSpec
    ue_height_m : float
    prisms : BuildingPrisms, optional
        Precomputed :func:`~.los3d.building_prisms` of ``buildings`` (default: those of
        :func:`~.los3d.shared_prisms`, reused from the last call on the same geometry).
    **terms
        Overrides of :data:`DEFAULT_TERMS`.

    Examples
    --------
    >>> import numpy as np, shapely
    >>> from twin3d.model import Buildings
    >>> from twin3d.physics.cellmaps import CellSpec
    >>> b = Buildings(["b"], np.array([shapely.box(40, -10, 60, 10)]), np.array([30.0]),
    ...               np.zeros(1), ["yes"], ["tag"])
    >>> spec = CellSpec((0.0, 0.0, 20.0), 20.0, 90.0, 0.0, 0.0, 3.5e9, 20e6, 8.0, 65.0)
    >>> pg = geometric_path_gain_db(b, Grid(80, -45, 10.0, 1, 5), [spec])[0, :, 0]
    >>> bool(pg[0] > pg[4] + 10)                    # (85, -40) in sight, (85, 0) behind the block
    True
    """
    unknown = set(terms) - set(DEFAULT_TERMS)
    if unknown:
        raise ValueError(f"unknown geometric model terms: {', '.join(sorted(unknown))}")
    kw = {**DEFAULT_TERMS, **terms}
    prisms = shared_prisms(buildings) if prisms is None else prisms
    xs, ys = grid.centers()
    gx, gy = (v.ravel() for v in np.meshgrid(xs, ys))
    g_z = ground_z_m(gx, gy)
    pts = np.column_stack([gx, gy, g_z + ue_height_m])
    b_index = np.full(gx.size, -1)
    if len(buildings):
        # The prisms remember it: every site's LOS test of the grid's end points reuses it.
        i_pt, i_b = footprint_hits(prisms, pts)
        b_index[i_pt] = i_b
    indoor = b_index >= 0
    courtyard = enclosed_outdoor(buildings, gx, gy) if kw["courtyard_db"] \
        else np.zeros(gx.size, bool)
    d_in = indoor_distance_m(buildings, gx, gy, b_index) if indoor.any() else np.zeros(gx.size)
    # paths are traced to the outdoor points; an indoor point takes its facade's (.indoor)
    proxy = facade_proxy(np.column_stack([gx, gy]), indoor)
    traced = np.unique(proxy)
    at = np.searchsorted(traced, proxy)          # each point's row among the traced points
    pts_t, g_z_t = pts[traced], g_z[traced]
    out = np.empty((len(specs), gx.size))
    by_site: dict = {}
    angles: dict = {}
    o2i: dict = {}                                # per frequency
    for i, s in enumerate(specs):
        key = (tuple(s.antenna_xyz_m), s.f_hz)
        if key not in by_site:
            by_site[key] = site_paths(prisms, s.antenna_xyz_m, pts_t, g_z_t, s.f_hz, **kw)
            angles[key] = {}
        if s.f_hz not in o2i:
            o2i[s.f_hz] = np.where(indoor, o2i_low_loss_db(s.f_hz, d_in), 0.0)
        extra = np.where(courtyard & ~by_site[key]["los"][at], kw["courtyard_db"], 0.0)
        gain = cell_path_gain_db(s, by_site[key], pts_t, angles=angles[key], **kw)
        out[i] = gain[at] - o2i[s.f_hz] - extra
    return np.maximum(out, FLOOR_DB).reshape((len(specs),) + grid.shape)


class GeometricEngine:
    """The geometric model as a per-cell path-gain engine for the radio-map cache.

    Plugs into :class:`twin3d.physics.cellmaps.GridContext` and
    :class:`twin3d.physics.coverage.RadioMapper` (``engine=``) like the
    Sionna RT backend: the cell maps are then the geometric model's, cached
    per cell and recombined per active set.

    Examples
    --------
    >>> GeometricEngine(corner_weight=0.4).key()[:2] == ("geometric", GeometricEngine.VERSION)
    True
    """

    #: Bumped when the model's output changes for the same terms (cache keys).
    VERSION = 7

    def __init__(self, **terms) -> None:
        unknown = set(terms) - set(DEFAULT_TERMS)
        if unknown:
            raise ValueError(f"unknown geometric model terms: {', '.join(sorted(unknown))}")
        self.terms = {**DEFAULT_TERMS, **terms}

    def key(self) -> tuple:
        return ("geometric", self.VERSION) + tuple(sorted(self.terms.items()))

    def path_gain_db(self, buildings, grid: Grid, specs, ue_height_m: float) -> np.ndarray:
        return geometric_path_gain_db(buildings, grid, specs, ue_height_m, **self.terms)

    def line_of_sight(self, buildings, antenna_xyz_m, pts_xyz_m) -> np.ndarray:
        """(N,) bool: the model's own LOS test, antenna -> each point (ENU metres).

        Exact 3D against the building prisms (:func:`~.los3d.line_of_sight`), the
        ``los`` that :func:`site_paths` decides the direct path by: a point inside a
        footprint is never in sight (the direct ray enters its building). The radio
        map's ``los`` and calibration's LOS/NLOS split take it from here, so they
        agree with the map (:func:`twin3d.physics.cellmaps.site_los`).
        """
        return line_of_sight(shared_prisms(buildings), np.asarray(antenna_xyz_m, float),
                             np.asarray(pts_xyz_m, float))
