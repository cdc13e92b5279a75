"""The signal layer: a radio map as three coloured grid meshes.

Layout (kinds in brackets)::

    /World                    Xform [assembly]
      Looks/Signal            Material reading displayColor
      Signal                  Xform [group]   grid description as twin: attributes,
                                              and twin:radio_model (what computed the map)
        RSRP                  Mesh  visible
        SINR                  Mesh  invisible
        BestServer            Mesh  invisible

The three meshes share one geometry: a quad per grid cell, corners shared,
lying ``lift_m`` above the ground (the ellipsoid drop of
:func:`twin3d.physics.los.ground_z_m`), so the map floats over the terrain
and under the roofs. Face ``f = j * nx + i`` is grid cell (row j, column
i), the cell whose values are ``radio_map.rsrp_dbm[j, i]`` etc. Each mesh
carries per-face colours (``primvars:displayColor``, uniform) and the raw
values as uniform primvars:

* RSRP: ``primvars:twin:rsrp_dbm`` (float, dBm, -inf where no cell reaches);
* SINR: ``primvars:twin:sinr_db`` (float, dB, -inf where no cell reaches);
* BestServer: ``primvars:twin:best_server`` (int, index into
  ``twin:cell_ids``, -1 where none) and ``twin:cell_colors`` (the
  legend: each cell's colour, in ``twin:cell_ids`` order).

Colours are not indexed into a palette: usd-validation-nvidia's
IndexedPrimvarChecker reports an error for an indexed primvar whose palette
is longer than the mesh has faces (a small grid), so the plain per-face
array is the form that validates at every grid size.

The RSRP and SINR meshes record their colour map (``twin:colormap``,
``twin:colormap_min``, ``twin:colormap_max``, ``twin:units``). Only RSRP is
visible: the three overlap, a viewer shows one at a time.

Examples
--------
>>> import twin3d                                                    # doctest: +SKIP
>>> from twin3d.physics.coverage import radio_map                    # doctest: +SKIP
>>> twin = twin3d.load_scene("scenes/helsinki.toml").twin             # doctest: +SKIP
>>> write_signal_layer(twin, radio_map(twin), "out/layers/signal.usdc")   # doctest: +SKIP
PosixPath('out/layers/signal.usdc')
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from pxr import Sdf

from ..model import Twin
from ..physics.coverage import RadioMap
from ..physics.grid import Grid
from ..physics.los import ground_z_m
# The base layer's mesh and material helpers: the signal meshes are built and
# shaded exactly like the terrain (flat normals, a displayColor reader).
from .base import _face_normals, _mesh
from .colors import (RSRP_MAP, SINR_MAP, ColorMap, best_server_colors, category_colors,
                     srgb_to_linear)
from .materials import _material
from .sdfutil import bind_material, define, set_attr
from .layers import DEFAULT_PRIM, new_layer, set_stage_metadata

__all__ = ["SIGNAL_PATH", "MESHES", "LIFT_M", "DISPLAY_COLOR", "grid_mesh", "signal_primvars",
           "author_signal", "write_signal_layer"]

#: Where the meshes live.
SIGNAL_PATH = "/World/Signal"
#: Mesh names, in the order they are written; only the first is visible.
MESHES = ("RSRP", "SINR", "BestServer")
#: Height of the map above the ground, metres.
LIFT_M = 0.5
#: The per-face colour attribute.
DISPLAY_COLOR = "primvars:displayColor"
#: Mesh -> its colour map (BestServer is categorical).
COLORMAPS: dict[str, ColorMap] = {"RSRP": RSRP_MAP, "SINR": SINR_MAP}


def grid_mesh(grid: Grid, lift_m: float = LIFT_M) -> tuple[np.ndarray, np.ndarray]:
    """Corner points ((nx+1)(ny+1), 3) and quads (nx*ny, 4) of a grid.

    Quad ``j * nx + i`` covers cell (row j, column i) and runs counter-
    clockwise seen from above (normal up). Corner z is the ground plus
    ``lift_m``.

    Examples
    --------
    >>> pts, quads = grid_mesh(Grid(0.0, 0.0, 5.0, 2, 1))
    >>> pts.shape, quads.tolist()
    ((6, 3), [[0, 1, 4, 3], [1, 2, 5, 4]])
    """
    nx, ny = grid.nx, grid.ny
    xs = grid.x0_m + np.arange(nx + 1) * grid.step_m
    ys = grid.y0_m + np.arange(ny + 1) * grid.step_m
    gx, gy = (a.ravel() for a in np.meshgrid(xs, ys))
    points = np.column_stack([gx, gy, ground_z_m(gx, gy) + lift_m])
    i, j = (a.ravel() for a in np.meshgrid(np.arange(nx), np.arange(ny)))
    v = j * (nx + 1) + i                   # lower-left corner of each cell
    quads = np.column_stack([v, v + 1, v + nx + 2, v + nx + 1])
    return points, quads


def signal_primvars(radio_map: RadioMap) -> dict[str, list[tuple[str, str, np.ndarray]]]:
    """Per-face attributes of each mesh: {mesh: [(name, type, values), ...]}.

    What the signal layer writes as defaults and a scenario layer as time
    samples: the colours and the raw values, one entry per grid cell in face
    order (row-major over (ny, nx)).
    """
    rm = radio_map
    rsrp = np.asarray(rm.rsrp_dbm, np.float32).ravel()
    sinr = np.asarray(rm.sinr_db, np.float32).ravel()
    best = np.asarray(rm.best_server).ravel().astype(np.int32)
    return {
        "RSRP": [(DISPLAY_COLOR, "color3f[]", RSRP_MAP(rsrp)),
                 ("primvars:twin:rsrp_dbm", "float[]", rsrp)],
        "SINR": [(DISPLAY_COLOR, "color3f[]", SINR_MAP(sinr)),
                 ("primvars:twin:sinr_db", "float[]", sinr)],
        "BestServer": [(DISPLAY_COLOR, "color3f[]", best_server_colors(best, len(rm.cell_ids))),
                       ("primvars:twin:best_server", "int[]", best)],
    }


def author_signal(world: Sdf.PrimSpec, radio_map: RadioMap, lift_m: float = LIFT_M) -> Sdf.PrimSpec:
    """Author /World/Looks/Signal and /World/Signal under ``world`` (in a ChangeBlock)."""
    rm = radio_map
    g = rm.grid
    looks = define(world, "Looks", "Scope")
    material = _material(looks, "Signal", (0.5, 0.5, 0.5), 0.9, 0.0)
    group = define(world, "Signal", "Xform", kind="group")
    bind_material(group, material)
    for name, value in (("grid_x0_m", g.x0_m), ("grid_y0_m", g.y0_m), ("grid_step_m", g.step_m),
                        ("lift_m", lift_m)):
        set_attr(group, f"twin:{name}", "double", float(value), custom=True)
    set_attr(group, "twin:grid_nx", "int", int(g.nx), custom=True)
    set_attr(group, "twin:grid_ny", "int", int(g.ny), custom=True)
    if rm.model:                 # what computed the map: "geometric", "UMa", ..., "sionna"
        set_attr(group, "twin:radio_model", "string", rm.model, custom=True)

    points, quads = grid_mesh(g, lift_m)
    counts = np.full(len(quads), 4, np.int32)
    indices = quads.ravel()
    normals = _face_normals(points, quads)
    for name, attrs in signal_primvars(rm).items():
        mesh = _mesh(group, name, points, counts, indices, normals)
        for attr, type_name, values in attrs:
            set_attr(mesh, attr, type_name, values, interpolation="uniform")
        if name in COLORMAPS:
            cmap = COLORMAPS[name]
            set_attr(mesh, "twin:colormap", "token", cmap.name, custom=True, uniform=True)
            set_attr(mesh, "twin:colormap_min", "double", cmap.vmin, custom=True)
            set_attr(mesh, "twin:colormap_max", "double", cmap.vmax, custom=True)
            set_attr(mesh, "twin:units", "string", cmap.units, custom=True)
        else:
            set_attr(mesh, "twin:colormap", "token", "categorical", custom=True, uniform=True)
            set_attr(mesh, "twin:cell_ids", "string[]", list(rm.cell_ids), custom=True)
            set_attr(mesh, "twin:cell_colors", "color3f[]", srgb_to_linear(category_colors(len(rm.cell_ids))),
                     custom=True)
        if name != MESHES[0]:
            set_attr(mesh, "visibility", "token", "invisible")
    return group


def write_signal_layer(twin: Twin, radio_map: RadioMap, path: Path,
                       lift_m: float = LIFT_M) -> Path:
    """Write the signal layer (``layers/signal.usdc``) of a radio map.

    Parameters
    ----------
    twin : Twin
        Source of the stage metadata (scene name, origin).
    radio_map : RadioMap
        The map to draw (:func:`twin3d.physics.coverage.radio_map`).
    path : Path
        The layer file; ``.usdc`` (binary) for a real grid.
    lift_m : float
        Height of the map above the ground, metres.

    Returns
    -------
    Path
        ``path``. The layer has the base layer's stage metadata, so it also
        opens alone.
    """
    layer = new_layer(Path(path))
    with Sdf.ChangeBlock():
        world = define(layer, DEFAULT_PRIM, "Xform", kind="assembly")
        author_signal(world, radio_map, lift_m)
        set_stage_metadata(layer, twin)
    layer.Save()
    return Path(path)
