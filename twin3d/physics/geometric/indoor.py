"""Indoor points take the outdoor path at their building's facade (TR 38.901 O2I).

TR 38.901 section 7.4.3 splits the loss to an indoor UE into the outdoor
basic path loss to the building and the penetration loss of its wall and
indoor distance: PL = PL_b + PL_tw + PL_in. The geometric model's terms
(exact LOS, rooftop and corner diffraction, reflections) trace paths to a
point in the open; a point inside a footprint lies inside a solid prism, so
every term would see its own walls and roof as an obstacle (a knife edge at
its own roof above a UE 1.5 m above the floor) and the O2I loss added on
top would count the same wall twice. Instead an indoor point takes the path
gain of the nearest outdoor point of the same set (on a grid: the cell just
outside the facade, a few metres away, in the street or the courtyard the
room faces), and the caller subtracts the O2I loss over its distance from
the wall, as the TR 38.901 maps do (their viewshed judges an indoor point at
its wall). No I/O.

Examples
--------
>>> import numpy as np
>>> xy = np.array([[0.0, 0.0], [5.0, 0.0], [10.0, 0.0], [30.0, 0.0]])
>>> facade_proxy(xy, np.array([False, True, True, False])).tolist()
[0, 0, 0, 3]
"""

from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree

__all__ = ["facade_proxy"]


def facade_proxy(xy_m, indoor) -> np.ndarray:
    """(N,) index of the point whose outdoor path each point takes.

    Parameters
    ----------
    xy_m : (N, 2) array_like
        Plan positions, ENU metres.
    indoor : (N,) array_like of bool
        Points inside a building footprint.

    Returns
    -------
    numpy.ndarray of int64
        An outdoor point is its own proxy; an indoor point's is the nearest
        outdoor point in plan (ties broken by the k-d tree, the same
        in every run). With no outdoor
        point at all, every point is its own proxy.
    """
    xy = np.asarray(xy_m, float)
    inside = np.asarray(indoor, bool)
    out = np.arange(len(xy), dtype=np.int64)
    outdoor = np.flatnonzero(~inside)
    if not inside.any() or not outdoor.size:
        return out
    _, k = cKDTree(xy[outdoor]).query(xy[inside])
    out[inside] = outdoor[k]
    return out
