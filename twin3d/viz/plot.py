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

from .parts import RGB, Part

__all__ = ["add_parts", "home_camera", "focus_camera", "BACKGROUND"]

#: Background colour of the viewer (dark blue-grey, so light maps stand out).
BACKGROUND = (0.11, 0.13, 0.16)


def add_parts(plotter: pv.Plotter, parts: list[Part]) -> dict[str, pv.Actor]:
    """One actor per part, coloured by its ``rgb`` cells; returns {part name: actor}."""
    actors = {}
    for part in parts:
        actors[part.name] = plotter.add_mesh(
            part.mesh, scalars=RGB, rgb=True, preference="cell", show_scalar_bar=False,
            name=part.name, reset_camera=False, lighting=True, smooth_shading=False)
    return actors


def home_camera(bounds) -> tuple[tuple, tuple, tuple]:
    """(position, focal point, view up) looking at ``bounds`` from the south, 35 deg down.

    Parameters
    ----------
    bounds : (xmin, xmax, ymin, ymax, zmin, zmax)
        What to frame, metres.
    """
    xmin, xmax, ymin, ymax, zmin, zmax = (float(b) for b in bounds)
    c = np.array([(xmin + xmax) / 2, (ymin + ymax) / 2, (zmin + zmax) / 2])
    size = max(xmax - xmin, ymax - ymin, 1.0)
    d = np.array([0.25, -1.0, 0.8])
    d /= np.linalg.norm(d)
    pos = c + d * size * 1.05
    return tuple(float(v) for v in pos), tuple(float(v) for v in c), (0.0, 0.0, 1.0)


def focus_camera(point, distance_m: float) -> tuple[tuple, tuple, tuple]:
    """(position, focal point, view up) straight above ``point``, north up."""
    p = np.asarray(point, float)
    return (float(p[0]), float(p[1]), float(p[2] + distance_m)), tuple(float(v) for v in p), \
        (0.0, 1.0, 0.0)
