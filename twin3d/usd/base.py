"""The base layer: every piece of geometry of a twin, written with the Sdf API.

Layout (kinds in brackets)::

    /World                    Xform [assembly]
      Terrain                 Xform [group]   Ground: grid Mesh on the ellipsoid
      Buildings               Xform [group]   Chunk_0000...: merged Meshes
      Network                 Xform [group]   Sites/<id> [component], Links/<id>
      Streets                 Xform [group]   Streets: one BasisCurves (flat ribbons)
      Looks                   Scope           UsdPreviewSurface materials
      Prototypes              Scope (class)   Tower, Panel: shared by instances
    /CesiumGeoreference       the origin, for Cesium for Omniverse

Meshes are written the way validators and RTX want them: flat per-face
normals (interpolation ``uniform``), ``subdivisionScheme = "none"``,
right-handed faces with outward normals, ``doubleSided = false``, an
``extent``, and a ``displayColor`` per face. Streets are linear BasisCurves
with up-pointing ``normals``: oriented ribbons of the street's width lying
flat just above the ground (links, without normals, stay round tubes).
Buildings are merged into meshes of about :data:`MAX_FACES` faces; face
``f`` of a chunk belongs to
building ``twin:building_ids[primvars:twin:building_index[f]]``.

Examples
--------
>>> from twin3d.geo.frame import LocalFrame
>>> from twin3d.geo.records import SourceData, SiteRecord
>>> from twin3d.model import build_twin
>>> twin = build_twin(SourceData(sites=[SiteRecord("S1", 24.94, 60.17)]), LocalFrame(24.94, 60.17))
>>> layer = write_base_layer(twin, Sdf.Layer.CreateAnonymous(".usdc"))
>>> layer.GetPrimAtPath("/World/Network/Sites/S1").kind
'component'
"""

from __future__ import annotations

import numpy as np
from pxr import Sdf

from ..model import Twin
from .colors import srgb_to_linear
from .extrude import FLOOR, ROOF, WALL, BuildingMesh, extrude_footprints
from .materials import author_looks
from .network import author_network
from .scale import SceneScale
from .sdfutil import bind_material, define, extent_of, set_attr

__all__ = ["MAX_FACES", "STREET_COLOR", "TERRAIN_CELLS", "scene_scale", "terrain_grid", "write_base_layer"]

#: Faces per merged building mesh (RTX and Hydra like meshes of this size).
MAX_FACES = 100_000
#: Terrain grid cells along each side.
TERRAIN_CELLS = 32

_PART_COLOR = np.array([[0.78, 0.76, 0.72],    # WALL
                        [0.55, 0.52, 0.50],    # ROOF
                        [0.45, 0.44, 0.42]],   # FLOOR
                       np.float32)
#: Street width by OSM highway class, metres; others get the fallback.
_STREET_WIDTH_M = {"motorway": 14.0, "trunk": 12.0, "primary": 10.0, "secondary": 8.0,
                   "tertiary": 7.0, "residential": 5.0, "service": 3.5, "footway": 2.0,
                   "cycleway": 2.0, "path": 1.5, "pedestrian": 4.0}
_STREET_FALLBACK_M = 4.0
#: Asphalt: lighter and cooler than the dark grey of a cut link (0.25), so a
#: cut fibre still stands out on the street it follows.
STREET_COLOR = (0.42, 0.42, 0.45)


def scene_scale(twin: Twin) -> SceneScale:
    """Drawing sizes for a twin, from its largest horizontal extent."""
    xmin, ymin, xmax, ymax = twin.bounds_xy_m()
    return SceneScale(max(xmax - xmin, ymax - ymin, 1.0))


def terrain_grid(twin: Twin, margin_m: float, cells: int = TERRAIN_CELLS):
    """Points (N, 3) and quads (M, 4) of a ground grid on the ellipsoid.

    The grid covers the twin's bounds plus ``margin_m`` and lies on the
    ellipsoid at the origin's height: each grid point is taken back to WGS84
    and forward again at ``h0_m``, so a continental scene curves down
    (about d**2 / 2R) as its links and sites do.
    """
    xmin, ymin, xmax, ymax = twin.bounds_xy_m()
    gx, gy = np.meshgrid(np.linspace(xmin - margin_m, xmax + margin_m, cells + 1),
                         np.linspace(ymin - margin_m, ymax + margin_m, cells + 1))
    lon, lat, _ = twin.frame.to_wgs84(gx.ravel(), gy.ravel(), 0.0)
    points = np.column_stack(twin.frame.to_enu(lon, lat))
    i, j = np.meshgrid(np.arange(cells), np.arange(cells))
    v = (j * (cells + 1) + i).ravel()    # lower-left corner of each cell
    quads = np.column_stack([v, v + 1, v + cells + 2, v + cells + 1])
    return points, quads


def _mesh(parent: Sdf.PrimSpec, name: str, points, counts, indices, normals) -> Sdf.PrimSpec:
    """A flat-shaded polygon Mesh prim with the attributes validators expect."""
    prim = define(parent, name, "Mesh")
    set_attr(prim, "points", "point3f[]", points)
    set_attr(prim, "faceVertexCounts", "int[]", counts)
    set_attr(prim, "faceVertexIndices", "int[]", indices)
    set_attr(prim, "normals", "normal3f[]", normals, interpolation="uniform")
    set_attr(prim, "extent", "float3[]", extent_of(points))
    set_attr(prim, "subdivisionScheme", "token", "none", uniform=True)
    set_attr(prim, "orientation", "token", "rightHanded", uniform=True)
    set_attr(prim, "doubleSided", "bool", False, uniform=True)
    return prim


def _face_normals(points: np.ndarray, quads: np.ndarray) -> np.ndarray:
    n = np.cross(points[quads[:, 2]] - points[quads[:, 0]], points[quads[:, 3]] - points[quads[:, 1]])
    return n / np.linalg.norm(n, axis=1, keepdims=True)


def _terrain(world: Sdf.PrimSpec, twin: Twin, scale: SceneScale, looks: dict[str, str]) -> None:
    terrain = define(world, "Terrain", "Xform", kind="group")
    bind_material(terrain, looks["Terrain"])
    pts, quads = terrain_grid(twin, scale.terrain_margin_m)
    ground = _mesh(terrain, "Ground", pts, np.full(len(quads), 4), quads.ravel(),
                   _face_normals(pts, quads))
    set_attr(ground, "primvars:displayColor", "color3f[]",
             srgb_to_linear([[0.42, 0.50, 0.38]]), interpolation="constant")


def _building_chunk(parent: Sdf.PrimSpec, name: str, mesh: BuildingMesh, twin: Twin,
                    start: int, stop: int) -> None:
    fvi = mesh.face_vertex_indices
    prim = _mesh(parent, name, mesh.points, mesh.face_vertex_counts, fvi[fvi >= 0], mesh.normals)
    # Indexed: three colours and one small index per face.
    set_attr(prim, "primvars:displayColor", "color3f[]", srgb_to_linear(_PART_COLOR),
             interpolation="uniform")
    set_attr(prim, "primvars:displayColor:indices", "int[]", mesh.face_part.astype(np.int32))
    set_attr(prim, "primvars:twin:building_index", "int[]", mesh.face_building - start,
             interpolation="uniform")
    set_attr(prim, "twin:building_ids", "string[]", twin.buildings.ids[start:stop], custom=True)
    set_attr(prim, "twin:heights_m", "float[]", twin.buildings.heights_m[start:stop], custom=True)


def _buildings(world: Sdf.PrimSpec, twin: Twin, looks: dict[str, str], max_faces: int) -> None:
    group = define(world, "Buildings", "Xform", kind="group")
    bind_material(group, looks["Buildings"])
    b = twin.buildings
    if not len(b):
        return
    mesh = extrude_footprints(b.footprints, b.base_z_m, b.heights_m)
    for n, (start, stop) in enumerate(mesh.chunks(max_faces, len(b))):
        _building_chunk(group, f"Chunk_{n:04d}", mesh.select(start, stop), twin, start, stop)


def _streets(world: Sdf.PrimSpec, twin: Twin, scale: SceneScale, looks: dict[str, str]) -> None:
    group = define(world, "Streets", "Xform", kind="group")
    bind_material(group, looks["Street"])
    streets = [s for s in twin.streets if len(s.xyz_m) >= 2]
    if not streets:
        return
    pts = np.vstack([s.xyz_m for s in streets]) + [0.0, 0.0, scale.street_lift_m]
    widths = np.array([_STREET_WIDTH_M.get(s.highway, _STREET_FALLBACK_M) for s in streets])
    curves = define(group, "Streets", "BasisCurves")
    set_attr(curves, "type", "token", "linear", uniform=True)
    set_attr(curves, "wrap", "token", "nonperiodic", uniform=True)
    set_attr(curves, "curveVertexCounts", "int[]", np.array([len(s.xyz_m) for s in streets]))
    set_attr(curves, "points", "point3f[]", pts)
    set_attr(curves, "widths", "float[]", widths, interpolation="uniform")
    # Normals make the curves oriented ribbons (widths are then ribbon
    # widths): pointing up, the ribbon lies flat on the ground whatever the
    # camera, where unoriented curves render as tubes or camera-facing strips.
    set_attr(curves, "normals", "normal3f[]", np.tile(np.float32([0.0, 0.0, 1.0]), (len(pts), 1)),
             interpolation="vertex")
    set_attr(curves, "extent", "float3[]", extent_of(pts, widths.max() / 2.0))
    set_attr(curves, "primvars:displayColor", "color3f[]",
             srgb_to_linear([STREET_COLOR]), interpolation="constant")
    set_attr(curves, "twin:street_ids", "string[]", [s.id for s in streets], custom=True)
    set_attr(curves, "twin:highway", "token[]", [s.highway for s in streets], custom=True)


def write_base_layer(twin: Twin, layer: Sdf.Layer, max_faces: int = MAX_FACES) -> Sdf.Layer:
    """Author the twin's geometry into ``layer`` (one Sdf.ChangeBlock).

    Parameters
    ----------
    twin : Twin
        The twin to draw.
    layer : Sdf.Layer
        An empty layer; the caller sets its metadata and saves it.
    max_faces : int
        Faces per merged building mesh.

    Returns
    -------
    Sdf.Layer
        ``layer``, with /World and everything under it.
    """
    scale = scene_scale(twin)
    with Sdf.ChangeBlock():
        world = define(layer, "World", "Xform", kind="assembly")
        looks = author_looks(define(world, "Looks", "Scope"))
        _terrain(world, twin, scale, looks)
        _buildings(world, twin, looks, max_faces)
        author_network(world, twin, scale, looks)
        _streets(world, twin, scale, looks)
    return layer
