"""A map under scenes larger than a city: coastlines and borders, in the twin's ENU.

The lines come from Natural Earth's 1:10m admin-0 countries (public
domain), cut to Europe and simplified to ~0.5 km by
``assets/basemap/make_basemap.py`` into ``assets/basemap/europe_10m.geojson``
(two MultiLineString features, ``coast`` and ``border``; see
``assets/LICENSES.md``). :func:`basemap_part` keeps the segments inside
the scene's extent (plus a margin), converts them with the stage's
:class:`~twin3d.geo.frame.LocalFrame` (read from the root layer's
``customLayerData``) and returns them as one line part, drawn under the
network. A stage without a georeference gets no basemap.

Examples
--------
>>> sorted(load_basemap())                                    # doctest: +SKIP
['border', 'coast']
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import numpy as np
import pyvista as pv
from pxr import Usd

from .overlay import lift_m, network_overlays
from .parts import RGB, Part, Slot

__all__ = ["BASEMAP_PATH", "BASEMAP_RGB", "load_basemap", "basemap_part", "scene_overlays",
           "stage_frame", "MARGIN"]

#: The bundled lines (lon/lat degrees, WGS84).
BASEMAP_PATH = Path(__file__).resolve().parents[2] / "assets" / "basemap" / "europe_10m.geojson"
#: Colour of each kind of line (sRGB, uint8).
BASEMAP_RGB = {"coast": (120, 170, 215), "border": (190, 160, 115)}
#: Fraction of the scene's width the map reaches beyond it on every side.
MARGIN = 0.25


@lru_cache(maxsize=1)
def load_basemap(path: str | Path = BASEMAP_PATH) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """{kind: (lon/lat points (n, 2) degrees, line id of every point (n,))} of the bundled map."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    out = {}
    for feat in data["features"]:
        geom = feat["geometry"]
        lines = geom["coordinates"] if geom["type"] == "MultiLineString" else [geom["coordinates"]]
        pts = np.concatenate([np.asarray(ln, float).reshape(-1, 2) for ln in lines])
        ids = np.repeat(np.arange(len(lines)), [len(ln) for ln in lines])
        out[feat["properties"]["kind"]] = (pts, ids)
    return out


def stage_frame(stage: Usd.Stage):
    """The stage's :class:`~twin3d.geo.frame.LocalFrame` (root layer metadata), or None."""
    from ..usd.georef import origin_of
    try:
        return origin_of(dict(stage.GetRootLayer().customLayerData))
    except (KeyError, TypeError):
        for layer in stage.GetLayerStack():
            try:
                return origin_of(dict(layer.customLayerData))
            except (KeyError, TypeError):
                continue
    return None


def basemap_part(frame, bounds, z_m: float) -> Part | None:
    """Coast and border segments inside ``bounds`` (+ :data:`MARGIN`) as one line part.

    Parameters
    ----------
    frame : LocalFrame
        The twin's ENU frame.
    bounds : (xmin, xmax, ymin, ymax, zmin, zmax)
        The network's extent, metres.
    z_m : float
        Height added to the sea-level ENU height of every point (lifts the
        lines over the terrain's depth).
    """
    xmin, xmax, ymin, ymax = (float(b) for b in bounds[:4])
    pad = MARGIN * max(xmax - xmin, ymax - ymin)
    box = np.array([xmin - pad, xmax + pad, ymin - pad, ymax + pad])
    cx, cy = np.meshgrid(box[:2], box[2:])
    lon, lat, _ = frame.to_wgs84(cx.ravel(), cy.ravel(), np.zeros(4))
    lon_lo, lon_hi, lat_lo, lat_hi = lon.min() - 1, lon.max() + 1, lat.min() - 0.5, lat.max() + 0.5
    pts_all, segs_all, slot_all, slots, kinds = [], [], [], [], []
    n_pts = 0
    for k, (kind, (ll, ids)) in enumerate(sorted(load_basemap().items())):
        near = (ll[:, 0] >= lon_lo) & (ll[:, 0] <= lon_hi) & (ll[:, 1] >= lat_lo) & (ll[:, 1] <= lat_hi)
        ll, ids = ll[near], ids[near]
        if len(ll) < 2:
            continue
        xyz = frame.lonlat_to_xyz(ll, 0.0)
        inside = ((xyz[:, 0] >= box[0]) & (xyz[:, 0] <= box[1])
                  & (xyz[:, 1] >= box[2]) & (xyz[:, 1] <= box[3]))
        # a segment joins consecutive points of one line, both inside the box
        seg = np.flatnonzero((ids[1:] == ids[:-1]) & inside[1:] & inside[:-1])
        if not len(seg):
            continue
        pts_all.append(xyz + [0.0, 0.0, z_m])
        segs_all.append(np.column_stack([seg, seg + 1]) + n_pts)
        slot_all.append(np.full(len(seg), len(slots), np.int32))
        n0 = sum(len(s) for s in segs_all[:-1])
        slots.append(Slot("", "", np.arange(n0, n0 + len(seg)), 1, None))
        kinds.append(kind)
        n_pts += len(xyz)
    if not slots:
        return None
    used, segs = np.unique(np.vstack(segs_all), return_inverse=True)   # drop unused points
    segs = segs.reshape(-1, 2)
    mesh = pv.PolyData(np.vstack(pts_all)[used].astype(np.float32),
                       lines=np.column_stack([np.full(len(segs), 2), segs]).ravel())
    cell_slot = np.concatenate(slot_all)
    palette = np.array([BASEMAP_RGB[k] for k in kinds], np.uint8)
    mesh.cell_data[RGB] = palette[cell_slot]
    return Part("Basemap:lines", "Basemap", "basemap", mesh, slots, cell_slot,
                np.zeros(len(segs), np.int32), fixed=True)


def scene_overlays(parts: list[Part], stage: Usd.Stage, time=Usd.TimeCode.Default(),
                   large_m: float | None = None) -> list[Part]:
    """Everything drawn besides the stage's own prims: network overlays, and a basemap
    under a scene wider than ``large_m`` (default :data:`.plot.LARGE_SCENE_M`).

    Returns the basemap first (drawn under), then glyphs, lines and labels.
    """
    from .plot import LARGE_SCENE_M
    net = [p.mesh for p in parts if p.group == "Network" and p.n_cells]
    if not net:
        return []
    bounds = pv.merge(net).bounds
    out = []
    width = max(bounds[1] - bounds[0], bounds[3] - bounds[2])
    frame = stage_frame(stage)
    if frame is not None and width > (LARGE_SCENE_M if large_m is None else large_m):
        # lines on the sea-level surface, lifted half as far as the network's marks
        bm = basemap_part(frame, bounds, 0.5 * lift_m(bounds))
        if bm is not None:
            out.append(bm)
    return out + network_overlays(parts, stage, bounds, time)
