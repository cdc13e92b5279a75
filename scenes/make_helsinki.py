"""Generate the Helsinki scene's synthetic radio sites and fibre routes.

Reads the real OpenStreetMap extract (buildings, streets, the mobile-phone
mast in it) and writes ``assets/helsinki/sites.geojson`` and
``assets/helsinki/fiber.geojson``:

* macro sites on the rooftops of tall buildings, one per cell of a 3 x 3 grid
  over the extract (the tallest qualifying roof in each cell), three sectors
  each; plus the real OSM mast with three sectors;
* a central office in a large building near the centre;
* fibre that follows the real streets: a ring from the central office through
  the outer sites, and a spur from every other site to its nearest ring node;
* busy-hour transport demand besides the radio: each site's
  ``fixed_busy_hour_bps``, the fixed-access and enterprise traffic it
  aggregates (see the capacity plan below).

Capacity plan (synthetic, sized like a metro access network): the ring is
10 Gbit/s, each spur 1 Gbit/s. Ring sites are aggregation (hub) sites: besides
their own cells they carry 1.2 Gbit/s of fixed access at the busy hour
(an OLT of some 600 FTTH homes at 2 Mbit/s each); tail sites on spurs carry
0.45 Gbit/s of enterprise fibre from their building. With the radio (at most
about 0.1 Gbit/s per 100 MHz cell, 1.5 Gbit/s offered in all), the busy hour
loads the ring spans out of the central office to about 40-50 % and the
spurs to 50-65 %, and either ring span alone carries about 90 % when the
other is cut.

Everything generated is marked ``"synthetic": true``; only the mast's
position is real. Deterministic: choices depend only on the data and the seed,
which is ``[scene] seed`` of ``scenes/helsinki.toml`` unless ``--seed`` is
given (the only random choice breaks exact distance ties between sites).

Run from the checkout: ``python3 scenes/make_helsinki.py``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import tempfile
from pathlib import Path

import networkx as nx
import numpy as np
import shapely
from scipy.spatial import cKDTree

from twin3d.geo.frame import LocalFrame
from twin3d.geo.osm import read_osm

HERE = Path(__file__).resolve().parent
ASSETS = HERE.parent / "assets" / "helsinki"
ORIGIN = (24.944, 60.1715, 0.0)          # the extract's bbox centre; matches helsinki.toml
GRID = 3                                  # 3 x 3 cells, one rooftop site per cell
MIN_ROOF_M = 15.0                         # a macro roof must be at least this high
MIN_FOOTPRINT_M2 = 300.0
MAST_ON_ROOF_M = 4.0                      # antenna pole above the roof
RING_SITES = 6                            # outer sites on the ring with the central office
RING_CAPACITY_BPS = 10e9                  # metro aggregation ring
SPUR_CAPACITY_BPS = 1e9                   # per-site backhaul (GbE tail)
HUB_FIXED_BPS = 1.2e9                     # fixed access aggregated at a ring site, busy hour
TAIL_FIXED_BPS = 0.45e9                   # enterprise fibre at a tail site, busy hour
NO_FIBER_HIGHWAYS = {"construction", "proposed", "steps", "elevator", "platform", "corridor"}
SECTOR = {"tilt_deg": 6.0, "p_tx_dbm": 49.0, "f_hz": 3.5e9, "bandwidth_hz": 100e6,
          "beamwidth_deg": 65.0, "gain_dbi": 17.0}


def _write_json(path: Path, doc: dict) -> None:
    """Write through a temporary file so a failure never leaves half a file."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")
    os.replace(tmp, path)


def _sectors(offset_deg: float) -> list[dict]:
    return [dict(azimuth_deg=(offset_deg + a) % 360.0, **SECTOR) for a in (0.0, 120.0, 240.0)]


def pick_rooftops(buildings, frame: LocalFrame) -> list[dict]:
    """The tallest qualifying roof in each grid cell, as site dicts."""
    geoms = np.array([b.footprint for b in buildings], dtype=object)
    heights = np.array([b.height_m for b in buildings])
    pts = shapely.get_coordinates(shapely.point_on_surface(geoms))
    x, y, _ = frame.to_enu(pts[:, 0], pts[:, 1])
    area = np.array([shapely.area(shapely.transform(g, lambda c: np.column_stack(
        frame.to_enu(c[:, 0], c[:, 1])[:2]))) for g in geoms])
    ok = (heights >= MIN_ROOF_M) & (area >= MIN_FOOTPRINT_M2)
    ix = np.clip(((x - x.min()) / (np.ptp(x) + 1e-9) * GRID).astype(int), 0, GRID - 1)
    iy = np.clip(((y - y.min()) / (np.ptp(y) + 1e-9) * GRID).astype(int), 0, GRID - 1)
    sites = []
    for cy in range(GRID):
        for cx in range(GRID):
            cand = np.flatnonzero(ok & (ix == cx) & (iy == cy))
            if len(cand) == 0:
                continue
            best = cand[np.lexsort((-area[cand], -heights[cand]))[0]]
            b = buildings[best]
            n = len(sites) + 1
            sites.append({"id": f"HEL-{n:02d}", "kind": "macro", "lon": float(pts[best, 0]),
                          "lat": float(pts[best, 1]),
                          "height_m": round(float(heights[best]) + MAST_ON_ROOF_M, 2),
                          "rooftop_building": b.id, "roof_height_m": float(heights[best]),
                          "sectors": _sectors(30.0 * (n % 4))})
    return sites


def central_office(buildings, frame: LocalFrame, taken: set[str]) -> dict:
    """A large building near the centre houses the central office."""
    best, best_score = None, math.inf
    for b in buildings:
        if b.id in taken or b.kind not in ("yes", "office", "commercial"):
            continue
        c = shapely.point_on_surface(b.footprint)
        x, y, _ = frame.to_enu([c.x], [c.y])
        area_m2 = shapely.area(shapely.transform(b.footprint, lambda q: np.column_stack(
            frame.to_enu(q[:, 0], q[:, 1])[:2])))
        if area_m2 < 800:
            continue
        score = math.hypot(x[0], y[0])
        if score < best_score:
            best, best_score = (b, c), score
    b, c = best
    return {"id": "CO-1", "kind": "central_office", "lon": c.x, "lat": c.y, "height_m": 0.0,
            "building": b.id, "sectors": []}


def street_graph(streets, frame: LocalFrame) -> tuple[nx.Graph, np.ndarray, np.ndarray]:
    """Street vertices joined where OSM ways share nodes, edges weighted in metres."""
    coords = [s.coords_lonlat for s in streets if s.highway not in NO_FIBER_HIGHWAYS]
    allc = np.vstack(coords)
    key = np.round(allc * 1e7).astype(np.int64)
    uniq, inverse = np.unique(key, axis=0, return_inverse=True)
    lonlat = uniq / 1e7
    x, y, _ = frame.to_enu(lonlat[:, 0], lonlat[:, 1])
    xy = np.column_stack([x, y])
    g = nx.Graph()
    start = 0
    for c in coords:
        idx = inverse[start:start + len(c)].ravel()
        start += len(c)
        for u, v in zip(idx[:-1], idx[1:]):
            if u != v:
                g.add_edge(int(u), int(v), weight=float(np.hypot(*(xy[u] - xy[v]))))
    giant = max(nx.connected_components(g), key=len)
    return g.subgraph(giant).copy(), lonlat, xy


def route(g, lonlat, node_of, a: dict, b: dict) -> tuple[list, float]:
    """Street route between two sites, lon/lat, and its street length in metres."""
    length, path = nx.single_source_dijkstra(g, node_of[a["id"]], node_of[b["id"]], weight="weight")
    line = [[a["lon"], a["lat"]]] + lonlat[path].tolist() + [[b["lon"], b["lat"]]]
    return line, float(length)


def make(seed: int = 7) -> tuple[dict, dict]:
    """Build the sites and fibre FeatureCollections."""
    frame = LocalFrame(*ORIGIN)
    osm = read_osm(ASSETS / "helsinki_center.osm.pbf", layers=("buildings", "streets", "masts"))
    sites = pick_rooftops(osm.buildings, frame)
    for m in osm.sites:
        sites.append({"id": f"MAST-{m.attrs['osm_id']}", "kind": "mast", "lon": m.lon, "lat": m.lat,
                      "height_m": m.height_m, "osm_id": m.attrs["osm_id"],
                      "synthetic_fields": "sectors, fixed_busy_hour_bps",
                      "sectors": _sectors(0.0)})
    co = central_office(osm.buildings, frame, {s.get("rooftop_building") for s in sites})
    g, lonlat, xy = street_graph(osm.streets, frame)
    nodes = np.array(sorted(g.nodes))
    tree = cKDTree(xy[nodes])
    node_of = {}
    for s in [co] + sites:
        x, y, _ = frame.to_enu([s["lon"]], [s["lat"]])
        node_of[s["id"]] = int(nodes[tree.query([x[0], y[0]])[1]])

    def dist(s):
        x, y, _ = frame.to_enu([s["lon"]], [s["lat"]])
        return float(np.hypot(x[0], y[0])), math.atan2(y[0], x[0])

    # The ring runs through the outer sites in angular order around the origin.
    rng = np.random.default_rng(seed)   # only breaks exact distance ties
    order = sorted(sites, key=lambda s: (-dist(s)[0], rng.random()))
    ring = sorted(order[:RING_SITES], key=lambda s: dist(s)[1])
    ring_nodes = [co] + ring
    links = []
    for a, b in zip(ring_nodes, ring_nodes[1:] + ring_nodes[:1]):
        links.append((a, b, RING_CAPACITY_BPS, "ring"))
    for s in ring:
        s["fixed_busy_hour_bps"] = HUB_FIXED_BPS
    for s in order[RING_SITES:]:
        s["fixed_busy_hour_bps"] = TAIL_FIXED_BPS
        lengths = [nx.shortest_path_length(g, node_of[s["id"]], node_of[r["id"]], weight="weight")
                   for r in ring_nodes]
        links.append((ring_nodes[int(np.argmin(lengths))], s, SPUR_CAPACITY_BPS, "spur"))

    fiber = []
    for i, (a, b, cap, role) in enumerate(links):
        line, street_m = route(g, lonlat, node_of, a, b)
        fiber.append({"type": "Feature", "geometry": {"type": "LineString", "coordinates": line},
                      "properties": {"id": f"F-{i + 1:02d}", "a": a["id"], "b": b["id"],
                                     "capacity_bps": cap, "kind": "fiber", "role": role,
                                     "attenuation_db_per_km": 0.25, "synthetic": True,
                                     "street_length_m": round(street_m, 1)}})
    site_features = []
    for s in [co] + sites:
        props = {k: v for k, v in s.items() if k not in ("lon", "lat")}
        props.setdefault("synthetic", s["kind"] != "mast")
        site_features.append({"type": "Feature", "properties": props,
                              "geometry": {"type": "Point", "coordinates": [s["lon"], s["lat"]]}})
    note = ("Synthetic twin3d data on the real OSM extract (scenes/make_helsinki.py); "
            "OSM-derived positions (c) OpenStreetMap contributors, ODbL 1.0.")
    return ({"type": "FeatureCollection", "name": "helsinki-sites", "description": note,
             "features": site_features},
            {"type": "FeatureCollection", "name": "helsinki-fiber", "description": note,
             "features": fiber})


def main() -> None:
    from twin3d.scene import parse_scene
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=None,
                    help="default: [scene] seed of scenes/helsinki.toml")
    ap.add_argument("--out", type=Path, default=ASSETS)
    args = ap.parse_args()
    seed = parse_scene(HERE / "helsinki.toml").seed if args.seed is None else args.seed
    sites, fiber = make(seed)
    args.out.mkdir(parents=True, exist_ok=True)
    _write_json(args.out / "sites.geojson", sites)
    _write_json(args.out / "fiber.geojson", fiber)
    print(f"wrote {len(sites['features'])} sites and {len(fiber['features'])} fibre routes to {args.out}")


if __name__ == "__main__":
    main()
