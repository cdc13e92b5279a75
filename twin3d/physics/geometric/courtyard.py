"""Enclosed courtyards: outdoor points that buildings close in on every side.

A courtyard (a hole of the union of the footprints) gets no wave guided
along a street and no lateral path at street level: everything arrives over
or through its walls. The ray-traced references show the fast model's
courtyards about 8-10 dB too strong (issue 13's measurement: 21 dB for the
old raster model), so the model adds a calibrated extra loss there
(``courtyard_db`` of :data:`~.model.DEFAULT_TERMS`, NLOS points only).

Examples
--------
>>> import numpy as np, shapely
>>> from twin3d.model import Buildings
>>> ring = shapely.box(0, 0, 60, 60).difference(shapely.box(20, 20, 40, 40))
>>> b = Buildings(["r"], np.array([ring]), np.array([20.0]), np.zeros(1), ["yes"], ["tag"])
>>> enclosed_outdoor(b, np.array([30.0, 10.0, 80.0]), np.array([30.0, 10.0, 30.0])).tolist()
[True, False, False]
"""

from __future__ import annotations

import numpy as np
import shapely

__all__ = ["enclosed_outdoor"]


def enclosed_outdoor(buildings, x_m, y_m) -> np.ndarray:
    """(N,) bool: the points lie in a hole of the union of the footprints (metres, ENU)."""
    x = np.asarray(x_m, float)
    y = np.asarray(y_m, float)
    out = np.zeros(x.shape, bool)
    if len(buildings) == 0:
        return out
    u = shapely.union_all(buildings.footprints)
    holes = [shapely.Polygon(r) for g in getattr(u, "geoms", [u]) if hasattr(g, "interiors")
             for r in g.interiors]
    if not holes:
        return out
    return shapely.contains_xy(shapely.union_all(holes), x, y)
