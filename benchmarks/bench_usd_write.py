"""Time twin3d's Sdf writer against a plain Usd-API writer on a synthetic city.

The synthetic twin (seeded) has N buildings on a jittered grid (rectangles,
L-shapes and courtyard blocks, rotated) and M fibre links between nearby
sites. Both writers produce a .usdc with the same buildings and links:

* twin3d: ``twin3d.usd.write_stage`` (Sdf API in one ChangeBlock, buildings
  merged into ~100k-face meshes, one BasisCurves per link);
* reference: ``UsdGeom.Mesh.Define`` per building and
  ``UsdGeom.BasisCurves.Define`` per link, attributes set through the
  schema API, the usual way to write USD from Python. It reuses twin3d's
  extrusion, so the difference is the authoring, not the geometry.

Usage::

    python3 benchmarks/bench_usd_write.py [--buildings 50000 --links 5000 --seed 7]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import shapely

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pxr import Gf, Kind, Sdf, Usd, UsdGeom, Vt  # noqa: E402

from twin3d.geo.frame import LocalFrame  # noqa: E402
from twin3d.geo.records import (BuildingRecord, LinkRecord, SectorRecord,  # noqa: E402
                                SiteRecord, SourceData)
from twin3d.model import Twin, build_twin  # noqa: E402
from twin3d.usd import validate_stage, write_stage  # noqa: E402
from twin3d.usd.base import scene_scale  # noqa: E402
from twin3d.usd.extrude import extrude_footprints  # noqa: E402
from twin3d.usd.sdfutil import prim_names  # noqa: E402

ORIGIN = (24.9440, 60.1700)


def synthetic_footprints(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``n`` building footprints in ENU metres and their heights.

    One building per cell of a 60 m grid (jittered), 70 % rectangles, 20 %
    L-shapes, 10 % courtyard blocks, each turned by a random angle.
    """
    side = int(np.ceil(np.sqrt(n)))
    cell = 60.0
    i = np.arange(n)
    cx = (i % side - side / 2) * cell + rng.uniform(-5, 5, n)
    cy = (i // side - side / 2) * cell + rng.uniform(-5, 5, n)
    w = rng.uniform(10, 40, n)
    h = rng.uniform(10, 40, n)
    geoms = shapely.box(cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)
    kind = rng.uniform(size=n)
    ell = kind < 0.2
    court = kind > 0.9
    corner = shapely.box(cx, cy, cx + w, cy + h)            # a quarter cut off: L
    geoms[ell] = shapely.difference(geoms[ell], corner[ell])
    inner = shapely.box(cx - w / 4, cy - h / 4, cx + w / 4, cy + h / 4)
    geoms[court] = shapely.difference(geoms[court], inner[court])
    # Turn each footprint about its centre by its own angle.
    ang = rng.uniform(0, np.pi / 2, n)
    xy, idx = shapely.get_coordinates(geoms, return_index=True)
    c, s = np.cos(ang[idx]), np.sin(ang[idx])
    dx, dy = xy[:, 0] - cx[idx], xy[:, 1] - cy[idx]
    xy = np.column_stack([cx[idx] + c * dx - s * dy, cy[idx] + s * dx + c * dy])
    geoms = shapely.set_coordinates(geoms, xy)
    return geoms, rng.uniform(4, 60, n)


def synthetic_twin(n_buildings: int, n_links: int, seed: int = 7) -> Twin:
    """A seeded city twin with buildings, sites and fibre links."""
    rng = np.random.default_rng(seed)
    frame = LocalFrame(*ORIGIN)
    geoms, heights = synthetic_footprints(n_buildings, rng)

    def to_lonlat(xy: np.ndarray) -> np.ndarray:
        lon, lat, _ = frame.to_wgs84(xy[:, 0], xy[:, 1], 0.0)
        return np.column_stack([lon, lat])

    ll = shapely.transform(geoms, to_lonlat)
    buildings = [BuildingRecord(f"way/{k}", g, float(hm)) for k, (g, hm) in enumerate(zip(ll, heights))]
    half = max(30.0 * np.sqrt(n_buildings), 500.0)
    n_sites = max(2, n_links // 2)
    sx, sy = rng.uniform(-half, half, n_sites), rng.uniform(-half, half, n_sites)
    slon, slat, _ = frame.to_wgs84(sx, sy, 0.0)
    sites = [SiteRecord(f"S{k}", float(a), float(b),
                        sectors=[SectorRecord(az) for az in (0.0, 120.0, 240.0)])
             for k, (a, b) in enumerate(zip(slon, slat))]
    a = rng.integers(0, n_sites, n_links)
    b = (a + rng.integers(1, min(20, n_sites), n_links)) % n_sites
    links = []
    for k, (i, j) in enumerate(zip(a, b)):
        mid = np.array([(sx[i] + sx[j]) / 2 + rng.uniform(-50, 50), (sy[i] + sy[j]) / 2])
        mlon, mlat, _ = frame.to_wgs84(mid[:1], mid[1:], 0.0)
        route = np.array([[slon[i], slat[i]], [mlon[0], mlat[0]], [slon[j], slat[j]]])
        links.append(LinkRecord(f"F-{k}", f"S{i}", f"S{j}", 10e9, route_lonlat=route))
    return build_twin(SourceData(sites=sites, links=links, buildings=buildings), frame, "synthetic")


def write_plain_usd(twin: Twin, path: Path) -> None:
    """The reference: one Mesh per building, one BasisCurves per link, Usd API."""
    stage = Usd.Stage.CreateNew(str(path))
    UsdGeom.SetStageUpAxis(stage, UsdGeom.Tokens.z)
    UsdGeom.SetStageMetersPerUnit(stage, 1.0)
    world = UsdGeom.Xform.Define(stage, "/World")
    stage.SetDefaultPrim(world.GetPrim())
    Usd.ModelAPI(world).SetKind(Kind.Tokens.assembly)
    UsdGeom.Xform.Define(stage, "/World/Buildings")
    b = twin.buildings
    mesh = extrude_footprints(b.footprints, b.base_z_m, b.heights_m)
    names = prim_names(b.ids)
    for i, bid in enumerate(b.ids):
        part = mesh.select(i, i + 1)
        if not len(part.face_building):
            continue
        fvi = part.face_vertex_indices
        m = UsdGeom.Mesh.Define(stage, f"/World/Buildings/{names[bid]}")
        pts = Vt.Vec3fArray.FromNumpy(part.points.astype(np.float32))
        m.CreatePointsAttr(pts)
        m.CreateFaceVertexCountsAttr(Vt.IntArray.FromNumpy(part.face_vertex_counts))
        m.CreateFaceVertexIndicesAttr(Vt.IntArray.FromNumpy(fvi[fvi >= 0].astype(np.int32)))
        m.CreateNormalsAttr(Vt.Vec3fArray.FromNumpy(part.normals.astype(np.float32)))
        m.SetNormalsInterpolation(UsdGeom.Tokens.uniform)
        m.CreateSubdivisionSchemeAttr(UsdGeom.Tokens.none)
        m.CreateExtentAttr(UsdGeom.PointBased.ComputeExtent(pts))
        m.CreateDisplayColorAttr([Gf.Vec3f(0.78, 0.76, 0.72)])
        m.GetPrim().CreateAttribute("twin:id", Sdf.ValueTypeNames.String).Set(bid)
        m.GetPrim().CreateAttribute("twin:height_m", Sdf.ValueTypeNames.Float).Set(float(b.heights_m[i]))
    UsdGeom.Xform.Define(stage, "/World/Links")
    lift, width = scene_scale(twin).link_lift_m, scene_scale(twin).link_width_m
    for lid, name in prim_names(twin.links).items():
        link = twin.links[lid]
        c = UsdGeom.BasisCurves.Define(stage, f"/World/Links/{name}")
        pts = Vt.Vec3fArray.FromNumpy((link.route_xyz_m + [0, 0, lift]).astype(np.float32))
        c.CreateTypeAttr(UsdGeom.Tokens.linear)
        c.CreatePointsAttr(pts)
        c.CreateCurveVertexCountsAttr([len(pts)])
        c.CreateWidthsAttr([width])
        c.SetWidthsInterpolation(UsdGeom.Tokens.constant)
        c.CreateExtentAttr(UsdGeom.Curves.ComputeExtent(pts, Vt.FloatArray([width])))
        p = c.GetPrim()
        p.CreateAttribute("twin:id", Sdf.ValueTypeNames.String).Set(link.id)
        p.CreateAttribute("twin:a", Sdf.ValueTypeNames.String).Set(link.a)
        p.CreateAttribute("twin:b", Sdf.ValueTypeNames.String).Set(link.b)
        p.CreateAttribute("twin:capacity_bps", Sdf.ValueTypeNames.Double).Set(link.capacity_bps)
        p.CreateAttribute("twin:length_m", Sdf.ValueTypeNames.Double).Set(link.length_m)
    stage.Save()


def _size_mb(path: Path) -> float:
    files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
    return sum(p.stat().st_size for p in files) / 1e6


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--buildings", type=int, default=50_000)
    ap.add_argument("--links", type=int, default=5_000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--validate", action="store_true",
                    help="also run both validator suites on twin3d's stage")
    args = ap.parse_args(argv)

    t0 = time.perf_counter()
    twin = synthetic_twin(args.buildings, args.links, args.seed)
    print(f"synthetic twin: {len(twin.buildings)} buildings, {len(twin.links)} links, "
          f"{len(twin.sites)} sites ({time.perf_counter() - t0:.1f} s to build)")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "twin3d"
        t0 = time.perf_counter()
        write_stage(twin, out)
        t_ours = time.perf_counter() - t0
        ref = Path(tmp) / "plain.usdc"
        t0 = time.perf_counter()
        write_plain_usd(twin, ref)
        t_ref = time.perf_counter() - t0
        stage = Usd.Stage.Open(str(out / "twin.usda"))
        n_prims = sum(1 for _ in stage.Traverse())
        print(f"twin3d write_stage (Sdf, merged meshes): {t_ours:7.2f} s  "
              f"{_size_mb(out):7.1f} MB  {n_prims} prims")
        print(f"plain Usd API (mesh per building):       {t_ref:7.2f} s  {_size_mb(ref):7.1f} MB")
        print(f"speed-up: {t_ref / t_ours:.1f}x")
        if args.validate:
            t0 = time.perf_counter()
            report = validate_stage(out / "twin.usda")
            print(f"validation ({time.perf_counter() - t0:.1f} s): {len(report.rules)} rules, "
                  f"{len(report.errors)} errors, {len(report.warnings)} warnings")
            for issue in report.issues[:20]:
                print("  ", issue)


if __name__ == "__main__":
    main()
