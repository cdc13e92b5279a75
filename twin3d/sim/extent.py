"""Explain a radio area too large to simulate: which sites are far, and why.

When the radio sites span more than a coverage grid can hold, "raise
grid_m" is rarely the answer: usually a few sites are far from the rest
because their coordinates are wrong, most often longitude and latitude
swapped (GeoJSON order is lon, lat). :func:`radio_extent_error` names the
sites farthest from the median of the sites and buildings and, when
swapping a site's lon/lat would bring it back among the others, says so.

Examples
--------
>>> from twin3d.geo.frame import LocalFrame
>>> from twin3d.geo.records import SectorRecord, SiteRecord, SourceData
>>> from twin3d.model import build_twin
>>> sites = [SiteRecord("A", 24.94, 60.17, sectors=[SectorRecord(0.0)]),
...          SiteRecord("B", 24.95, 60.17, sectors=[SectorRecord(0.0)]),
...          SiteRecord("C", 60.17, 24.96, sectors=[SectorRecord(0.0)])]
>>> twin = build_twin(SourceData(sites=sites), LocalFrame(24.94, 60.17))
>>> err = radio_extent_error("scene.toml", twin, ["A", "B", "C"], 10**9, 8 * 10**6)
>>> "'C'" in str(err) and "lon, lat" in str(err)
True
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from ..errors import InputError
from ..model import Twin

__all__ = ["radio_extent_error", "far_sites"]

#: A site at least this fraction of the largest site distance from the
#: median is named as far.
FAR_FRACTION = 0.5
#: Swapping lon/lat "brings a site back" when its distance shrinks below
#: this fraction of what it was.
SWAP_GAIN = 0.05


def _building_xy_m(twin: Twin) -> np.ndarray:
    """(n, 2) building centroids, ENU metres."""
    if not len(twin.buildings):
        return np.zeros((0, 2))
    import shapely
    return shapely.get_coordinates(shapely.centroid(twin.buildings.footprints))


def far_sites(twin: Twin, site_ids: Sequence[str]) -> list[tuple[str, float, float | None]]:
    """The sites far from the others: (id, distance_m, swapped_distance_m).

    Parameters
    ----------
    twin : Twin
        The twin holding the sites.
    site_ids : sequence of str
        The radio sites (repeats are ignored).

    Returns
    -------
    list of (str, float, float or None)
        Farthest first: the site id; its distance from the median of the
        sites and building centroids, metres; and, with its lon/lat
        swapped, its distance to the nearest of the other sites and
        buildings (None when the swapped latitude would be out of range).
    """
    ids = list(dict.fromkeys(site_ids))
    if not ids:
        return []
    xy = np.array([twin.sites[i].xyz_m[:2] for i in ids], dtype=float)
    bxy = _building_xy_m(twin)
    ref = np.median(np.vstack([xy, bxy]), axis=0)
    d_m = np.hypot(xy[:, 0] - ref[0], xy[:, 1] - ref[1])
    is_far = d_m >= FAR_FRACTION * d_m.max()
    out = []
    for k in np.flatnonzero(is_far)[np.argsort(-d_m[is_far])]:
        s = twin.sites[ids[k]]
        # the others: what is not far, else (two sites, no buildings) every other site
        others = np.vstack([xy[~is_far], bxy])
        if not len(others):
            others = np.delete(xy, k, axis=0)
        swapped = None
        if abs(s.lon) <= 90.0 and len(others):
            x, y, _ = twin.frame.to_enu([s.lat], [s.lon])
            swapped = float(np.hypot(others[:, 0] - x[0], others[:, 1] - y[0]).min())
        out.append((ids[k], float(d_m[k]), swapped))
    return out


def radio_extent_error(path: str | Path, twin: Twin, site_ids: Sequence[str], n_points: int,
                       max_points: int, span_m: Sequence[float] | None = None,
                       max_named: int = 5) -> InputError:
    """The error for a coverage grid too large: the far sites named, a swap spotted.

    Parameters
    ----------
    path : str or Path
        The scene file (named in the error).
    twin : Twin
        The twin holding the sites.
    site_ids : sequence of str
        The radio sites the grid must cover.
    n_points, max_points : int
        Points the grid would hold, and the most the simulator allows.
    span_m : (2,) float, optional
        East-west and north-south extent of the grid, metres.
    max_named : int
        At most this many sites are named.

    Returns
    -------
    InputError
        On ``[radio]`` ``grid_m``; to be raised by the caller.
    """
    span = "" if span_m is None else (f": the radio sites span {span_m[0] / 1e3:.1f} x "
                                      f"{span_m[1] / 1e3:.1f} km")
    head = f"the coverage grid would hold {n_points:,} points (over {max_points:,}){span}"
    far = far_sites(twin, site_ids)
    if not far:
        return InputError(path, f"{head}; raise grid_m", "[radio]", "grid_m")
    named = [f"'{i}' (lon {twin.sites[i].lon:.4f}, lat {twin.sites[i].lat:.4f}, {d / 1e3:,.1f} km)"
             for i, d, _ in far[:max_named]]
    more = f" and {len(far) - max_named} more" if len(far) > max_named else ""
    text = (f"{head}; farthest from the median of the sites and buildings: "
            f"{', '.join(named)}{more}")
    swapped = [s for _, d, s in far if s is not None and s < SWAP_GAIN * d]
    if len(swapped) == len(far):
        text += (f"; with longitude and latitude swapped they lie within "
                 f"{max(swapped) / 1e3:,.1f} km of the others: GeoJSON order is lon, lat (x, y), so check "
                 "their coordinates")
    else:
        text += "; check their coordinates, or raise grid_m"
    return InputError(path, text, "[radio]", "grid_m")
