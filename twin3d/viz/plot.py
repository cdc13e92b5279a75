"""Parts -> actors of a PyVista plotter, and the cameras the viewer uses.

Kept apart from the data modules: only this one creates a ``Plotter``.
Every part is one actor coloured by its uint8 ``rgb`` cell array as direct
colours (no lookup table), so recolouring is an array swap.

Examples
--------
>>> home_camera((0, 100, 0, 50, 0, 10))[1]
(50.0, 25.0, 5.0)
"""

from __future__ import annotations

import numpy as np
import pyvista as pv

from .overlay import GLYPH_PX, LINE_PX
from .parts import RGB, Part

__all__ = ["add_parts", "home_camera", "focus_camera", "BACKGROUND", "LARGE_SCENE_M"]

#: Background colour of the viewer (dark blue-grey, so light maps stand out).
BACKGROUND = (0.11, 0.13, 0.16)
#: A scene wider than this (metres) is a region, not a city: seen from higher
#: up at home, drawn over a basemap.
LARGE_SCENE_M = 20_000.0


#: How each part family is drawn: screen-space points and lines keep their
#: size on screen at every zoom; flat overlays are unlit (they are not surfaces).
_STYLE = {
    "glyphs": {"style": "points", "point_size": GLYPH_PX, "lighting": False},
    "lines": {"line_width": LINE_PX, "lighting": False},
    "basemap": {"line_width": 1.5, "lighting": False},
    "labels": {"lighting": False},
}


def add_parts(plotter: pv.Plotter, parts: list[Part]) -> dict[str, pv.Actor]:
    """One actor per part, coloured by its ``rgb`` cells; returns {part name: actor}."""
    actors = {}
    for part in parts:
        style = _STYLE.get(part.family, {"lighting": True})
        actors[part.name] = plotter.add_mesh(
            part.mesh, scalars=RGB, rgb=True, preference="cell", show_scalar_bar=False,
            name=part.name, reset_camera=False, smooth_shading=False, **style)
    return actors


def home_camera(bounds, view_angle_deg: float = 30.0, aspect: float = 1.2,
                margin: float = 0.1) -> tuple[tuple, tuple, tuple]:
    """(position, focal point, view up) that frames all of ``bounds``.

    Looks from the south-south-west, 38 deg down (a city) or 60 deg down (a
    scene wider than :data:`LARGE_SCENE_M`, which reads as a map), from the
    distance at which every corner of the box projects inside a
    perspective view of ``view_angle_deg`` (vertical) and ``aspect``
    (width / height; a wider window shows more).

    Parameters
    ----------
    bounds : (xmin, xmax, ymin, ymax, zmin, zmax)
        What to frame, metres.
    view_angle_deg : float
        Vertical view angle of the camera (VTK's and vtk.js' default: 30).
    aspect : float
        Narrowest width / height the view is drawn at.
    margin : float
        Fraction of the half-view left free round the box.
    """
    xmin, xmax, ymin, ymax, zmin, zmax = (float(b) for b in bounds)
    lo, hi = np.array([xmin, ymin, zmin]), np.array([xmax, ymax, zmax])
    c = (lo + hi) / 2.0
    large = max(xmax - xmin, ymax - ymin) > LARGE_SCENE_M
    d = np.array([0.0, -0.55, 1.0]) if large else np.array([0.25, -1.0, 0.8])
    d /= np.linalg.norm(d)
    f = -d                                                   # viewing direction
    up = np.array([0.0, 0.0, 1.0]) - f[2] * f
    up /= np.linalg.norm(up)
    right = np.cross(f, up)
    corners = np.array(np.meshgrid(*zip(lo, hi), indexing="ij")).reshape(3, -1).T - c
    tan_v = np.tan(np.radians(view_angle_deg) / 2.0) * (1.0 - margin)
    tan_h = tan_v * aspect
    # a corner r is inside when |r.up| <= (r.f + D) tan_v and |r.right| <= (r.f + D) tan_h
    dist = np.max(np.maximum(np.abs(corners @ up) / tan_v, np.abs(corners @ right) / tan_h)
                  - corners @ f)
    dist = max(float(dist), 1.0)
    pos = c + d * dist
    return tuple(float(v) for v in pos), tuple(float(v) for v in c), (0.0, 0.0, 1.0)


def focus_camera(point, distance_m: float) -> tuple[tuple, tuple, tuple]:
    """(position, focal point, view up) straight above ``point``, north up."""
    p = np.asarray(point, float)
    return (float(p[0]), float(p[1]), float(p[2] + distance_m)), tuple(float(v) for v in p), \
        (0.0, 1.0, 0.0)
