"""The twin's buildings and ground as a Mitsuba scene for Sionna RT.

Each building becomes one binary PLY mesh (walls and roof, triangles, from
the twin's own extrusion :func:`twin3d.usd.extrude.extrude_footprints`, so
the ray tracer sees the buildings the twin draws), extruded from
:data:`BURY_M` below its base so no ray slips under a wall, without the
floor (it lies under the ground). The ground is one flat rectangle at the
ENU height of the ground at the extent's centre. A Mitsuba XML file names
every mesh with its ITU-R P.2040 material: ``itu_concrete`` for walls and
roofs, ``itu_medium_dry_ground`` for the ground (Sionna RT's
``itu-radio-material`` types ``concrete`` and ``medium_dry_ground``).

Coordinates stay in the twin's ENU frame (metres): a 5 km scene keeps
sub-millimetre precision in Mitsuba's float32.

This module writes files and imports no Sionna.

Examples
--------
>>> import shapely, numpy as np, tempfile
>>> from twin3d.model import Buildings
>>> b = Buildings(["B1"], np.array([shapely.box(0, 0, 10, 20)]), np.array([12.0]),
...               np.array([0.0]), ["yes"], ["height"])
>>> with tempfile.TemporaryDirectory() as d:
...     ex = export_scene(b, (-50, -50, 50, 50), d)
...     ex.n_buildings, ex.xml_path.name
(1, 'scene.xml')
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import quoteattr

import numpy as np
import shapely

from ..atomic import atomic_path
from ..physics.los import ground_z_m
from ..usd.extrude import FLOOR, extrude_footprints

__all__ = ["BURY_M", "WALL_THICKNESS_M", "ExportedScene", "export_scene", "write_ply",
           "triangles_of"]

#: Buildings start this far below their base (metres), so the ground meets the walls.
BURY_M = 0.5
#: Slab thickness of the concrete material (refraction through walls), metres.
WALL_THICKNESS_M = 0.2
#: Mitsuba ids of the two materials and their ITU types.
MATERIALS = {"itu_concrete": "concrete", "itu_medium_dry_ground": "medium_dry_ground"}


@dataclass(frozen=True)
class ExportedScene:
    """What :func:`export_scene` wrote.

    Attributes
    ----------
    xml_path : Path
        The Mitsuba scene (load it with ``sionna.rt.load_scene``).
    building_ids : tuple of str
        The buildings exported, one mesh each (``mesh-b<k>``), in order.
    extent_m : (xmin, ymin, xmax, ymax)
        The ground rectangle, ENU metres.
    ground_z_m : float
        Its height, ENU metres.
    n_triangles : int
        Triangles over every mesh.
    """

    xml_path: Path
    building_ids: tuple[str, ...]
    extent_m: tuple[float, float, float, float]
    ground_z_m: float
    n_triangles: int

    @property
    def n_buildings(self) -> int:
        return len(self.building_ids)

    @property
    def n_shapes(self) -> int:
        """Meshes in the scene: one per building and the ground."""
        return self.n_buildings + 1


def triangles_of(face_vertex_indices: np.ndarray) -> np.ndarray:
    """(T, 3) triangles from (F, 4) faces padded with -1 (quads split on 0-2).

    Examples
    --------
    >>> triangles_of(np.array([[0, 1, 2, 3], [4, 5, 6, -1]])).tolist()
    [[0, 1, 2], [0, 2, 3], [4, 5, 6]]
    """
    f = np.asarray(face_vertex_indices, np.int64)
    quad = f[:, 3] >= 0
    first = f[:, :3]
    second = f[quad][:, [0, 2, 3]]
    # keep each face's triangles together: face order, then first before second
    order = np.argsort(np.concatenate([np.arange(len(f)) * 2, np.flatnonzero(quad) * 2 + 1]),
                       kind="stable")
    return np.vstack([first, second])[order]


def write_ply(path: Path, points_m: np.ndarray, triangles: np.ndarray) -> None:
    """Write a binary little-endian PLY mesh (float32 vertices, int32 triangles).

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     write_ply(Path(d) / "t.ply", np.zeros((3, 3)), np.array([[0, 1, 2]]))
    ...     (Path(d) / "t.ply").read_bytes()[:3]
    b'ply'
    """
    pts = np.ascontiguousarray(points_m, "<f4")
    tri = np.asarray(triangles, np.int64)
    faces = np.empty(len(tri), dtype=[("n", "u1"), ("v", "<i4", (3,))])
    faces["n"] = 3
    faces["v"] = tri
    header = ("ply\nformat binary_little_endian 1.0\n"
              f"element vertex {len(pts)}\nproperty float x\nproperty float y\nproperty float z\n"
              f"element face {len(tri)}\nproperty list uchar int vertex_indices\nend_header\n")
    with open(path, "wb") as fh:
        fh.write(header.encode("ascii"))
        fh.write(pts.tobytes())
        fh.write(faces.tobytes())


def _xml(shapes: list[tuple[str, str, str]], wall_thickness_m: float) -> str:
    lines = ['<scene version="2.1.0">']
    for mid, kind in MATERIALS.items():
        lines += [f'  <bsdf type="itu-radio-material" id={quoteattr(mid)}>',
                  f'    <string name="type" value={quoteattr(kind)}/>',
                  f'    <float name="thickness" value="{wall_thickness_m:g}"/>',
                  "  </bsdf>"]
    for sid, file, mid in shapes:
        lines += [f'  <shape type="ply" id={quoteattr(sid)}>',
                  f'    <string name="filename" value={quoteattr(file)}/>',
                  '    <boolean name="face_normals" value="true"/>',
                  f'    <ref id={quoteattr(mid)} name="bsdf"/>',
                  "  </shape>"]
    lines.append("</scene>\n")
    return "\n".join(lines)


def export_scene(buildings, extent_m, out_dir, *, wall_thickness_m: float = WALL_THICKNESS_M,
                 ground: bool = True) -> ExportedScene:
    """Write buildings and a ground plane as PLY meshes plus a Mitsuba XML scene.

    Parameters
    ----------
    buildings : twin3d.model.Buildings
        The twin's buildings; those whose footprint meets the extent are
        exported (whole, not clipped).
    extent_m : (xmin, ymin, xmax, ymax)
        The ground rectangle, ENU metres.
    out_dir : str or Path
        Created if needed; receives ``scene.xml`` and ``meshes/*.ply``.
    wall_thickness_m : float
        Slab thickness of the concrete material, metres.
    ground : bool
        Write the ground plane (False: buildings in free space).

    Returns
    -------
    ExportedScene

    Notes
    -----
    The XML is written last and atomically, so a scene file that exists is
    complete.
    """
    x0, y0, x1, y1 = (float(v) for v in extent_m)
    if not (x1 > x0 and y1 > y0):
        raise ValueError(f"export_scene: empty extent {extent_m}")
    out = Path(out_dir)
    (out / "meshes").mkdir(parents=True, exist_ok=True)
    box = shapely.box(x0, y0, x1, y1)
    heights = np.asarray(buildings.heights_m, float)
    idx = np.flatnonzero(shapely.intersects(buildings.footprints, box) & (heights > 0)) \
        if len(buildings) else np.zeros(0, np.int64)
    mesh = extrude_footprints(buildings.footprints[idx],
                              np.asarray(buildings.base_z_m, float)[idx] - BURY_M,
                              heights[idx] + BURY_M)
    shapes, ids, n_tri = [], [], 0
    keep_face = mesh.face_part != FLOOR
    for k in range(len(idx)):
        f0, f1 = np.searchsorted(mesh.face_building, [k, k + 1])
        p0, p1 = np.searchsorted(mesh.point_building, [k, k + 1])
        faces = mesh.face_vertex_indices[f0:f1][keep_face[f0:f1]]
        if len(faces) == 0:
            continue
        tri = triangles_of(np.where(faces >= 0, faces - p0, -1))
        name = f"b{len(ids)}"
        write_ply(out / "meshes" / f"{name}.ply", mesh.points[p0:p1], tri)
        shapes.append((f"mesh-{name}", f"meshes/{name}.ply", "itu_concrete"))
        ids.append(buildings.ids[idx[k]])
        n_tri += len(tri)
    gz = float(ground_z_m(0.5 * (x0 + x1), 0.5 * (y0 + y1)))
    if ground:
        pts = np.array([[x0, y0, gz], [x1, y0, gz], [x1, y1, gz], [x0, y1, gz]])
        write_ply(out / "meshes" / "ground.ply", pts, np.array([[0, 1, 2], [0, 2, 3]]))
        shapes.append(("mesh-ground", "meshes/ground.ply", "itu_medium_dry_ground"))
        n_tri += 2
    xml_path = out / "scene.xml"
    with atomic_path(xml_path, suffix=".xml") as tmp:
        tmp.write_text(_xml(shapes, wall_thickness_m), encoding="utf-8")
    return ExportedScene(xml_path, tuple(ids), (x0, y0, x1, y1), gz, n_tri)
