"""Read sites, links, buildings and streets from GeoJSON, GeoPackage, Shapefile.

GeoJSON is parsed here with :mod:`json` so that a syntax error names its line
and column and every feature keeps its index; RFC 7946 GeoJSON is WGS84
lon/lat. GeoPackage and Shapefile go through pyogrio and are reprojected to
EPSG:4326 from the layer's CRS; a layer without a CRS is refused rather than
guessed. What each property means per role is in :mod:`twin3d.geo.roles`.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Iterator

import numpy as np
from pyproj import CRS
from shapely.geometry import shape

from ..errors import InputError
from .csvfile import read_csv  # re-exported: one import for every table/vector reader
from .fields import feature_label, read_text_file
from .records import SourceData
from .roles import ROLE_FIELDS, Feature, records_from_features

__all__ = ["read_vector", "read_csv", "VECTOR_ROLES", "VECTOR_SUFFIXES"]

#: Roles a vector file can hold (demands come from tables: see read_csv).
VECTOR_ROLES = ("sites", "links", "buildings", "streets")
VECTOR_SUFFIXES = {".geojson": "GeoJSON", ".json": "GeoJSON",
                   ".gpkg": "GeoPackage", ".shp": "Shapefile"}
_WGS84 = CRS.from_epsg(4326)
#: Names an old-style GeoJSON ``crs`` member may use for WGS84 lon/lat.
_WGS84_NAMES = ("urn:ogc:def:crs:OGC:1.3:CRS84", "urn:ogc:def:crs:OGC::CRS84", "OGC:CRS84",
                "EPSG:4326", "urn:ogc:def:crs:EPSG::4326", "urn:ogc:def:crs:EPSG:4326")


def read_vector(path: str | Path, role: str, *, layer: str | None = None) -> SourceData:
    """Read one vector file as records of one role, in WGS84.

    Parameters
    ----------
    path : str or Path
        A ``.geojson``/``.json`` FeatureCollection, ``.gpkg`` or ``.shp``.
    role : str
        ``"sites"``, ``"links"``, ``"buildings"`` or ``"streets"``.
    layer : str, optional
        GeoPackage layer. By default the only layer, or the one named like
        the role.

    Returns
    -------
    SourceData
        Records in the role's list, each with ``where = (file, feature)``;
        repaired or skipped features in ``skipped``.

    Raises
    ------
    InputError
        Missing or unreadable file, no CRS, a bad value, a wrong geometry,
        a duplicate id; the message names the file, feature and field.

    Examples
    --------
    >>> data = read_vector("tests/data/vector/sites.geojson", "sites")  # doctest: +SKIP
    >>> [s.id for s in data.sites]                                     # doctest: +SKIP
    ['S1', 'S2', 'CO1', 'M1']
    """
    path = Path(path)
    file = str(path)
    if role not in VECTOR_ROLES:
        raise InputError(file, f"unknown role {role!r} for a vector file; expected one of "
                         f"{', '.join(VECTOR_ROLES)}", field="role")
    fmt = VECTOR_SUFFIXES.get(path.suffix.lower())
    if fmt is None:
        raise InputError(file, f"unknown file type {path.suffix!r}; expected one of "
                         f"{', '.join(VECTOR_SUFFIXES)}")
    if not path.is_file():
        raise InputError(file, "file not found" if not path.exists() else "is not a file")
    if fmt == "GeoJSON":
        features = _geojson_features(path, file)
    else:
        features = _ogr_features(path, file, fmt, role, layer)
    return records_from_features(features, role, file, path.stem)


# -- GeoJSON ----------------------------------------------------------------

def _load_json(path: Path, file: str) -> Any:
    raw = read_text_file(path, encoding="utf-8-sig")
    try:
        return json.loads(raw)
    except json.JSONDecodeError as e:
        raise InputError(file, f"invalid JSON at line {e.lineno}, column {e.colno}: "
                         f"{e.msg}") from None
    except RecursionError:
        raise InputError(file, "invalid JSON: nested too deeply") from None


def _geojson_features(path: Path, file: str) -> Iterator[Feature]:
    doc = _load_json(path, file)
    got = doc.get("type") if isinstance(doc, dict) else type(doc).__name__
    if got != "FeatureCollection":
        raise InputError(file, f"must be a GeoJSON FeatureCollection, got {got!r}", field="type")
    crs = doc.get("crs")
    if crs is not None:
        # Pre-RFC 7946 files may declare a projected CRS; their numbers are
        # not lon/lat, so say so instead of failing on the first coordinate.
        name = crs.get("properties", {}).get("name") if isinstance(crs, dict) else None
        if name not in _WGS84_NAMES:
            raise InputError(file, f"declares CRS {name or crs!r}, but GeoJSON (RFC 7946) is "
                             "WGS84 lon/lat: reproject it, or use a GeoPackage", field="crs")
    feats = doc.get("features")
    if not isinstance(feats, list):
        raise InputError(file, "must be a list of features", field="features")
    for i, feat in enumerate(feats):
        if not isinstance(feat, dict) or feat.get("type") != "Feature":
            raise InputError(file, "must be a GeoJSON Feature object", feature_label(i), "type")
        props = feat.get("properties")
        if props is None:
            props = {}
        if not isinstance(props, dict):
            raise InputError(file, "must be an object", feature_label(i), "properties")
        props = {k: v for k, v in props.items() if not _absent(v)}
        if "id" not in props and not _absent(feat.get("id")):
            props["id"] = feat["id"]
        g, geom = feat.get("geometry"), None
        if g is not None:
            try:
                geom = shape(g)
            except Exception as e:  # shapely raises KeyError, TypeError, ValueError...
                raise InputError(file, f"is not a valid GeoJSON geometry ({type(e).__name__}: "
                                 f"{e})", feature_label(i, props.get("id")), "geometry") from None
        yield Feature(i, props, geom)


# -- GeoPackage and Shapefile -----------------------------------------------

def _ogr_features(path: Path, file: str, fmt: str, role: str,
                  layer: str | None) -> Iterator[Feature]:
    # GDAL and pandas are heavy; load them only for the formats that need them.
    import pyogrio
    from pandas import isna

    try:
        layers = [str(n) for n in pyogrio.list_layers(path)[:, 0]]
        name = _pick_layer(layers, layer, role, file)
        df = pyogrio.read_dataframe(path, layer=name)
    except InputError:
        raise
    except Exception as e:  # pyogrio's DataSourceError and friends
        raise InputError(file, f"cannot be read as a {fmt}: {e}") from None
    geoms: list[Any] = [None] * len(df)
    if "geometry" in df.columns:
        if df.crs is None:
            hint = " (a shapefile keeps it in the .prj file beside it)" if fmt == "Shapefile" else ""
            raise InputError(file, "has no CRS; set the layer's coordinate reference system"
                             f"{hint}, e.g. with ogr2ogr -a_srs EPSG:3067 or "
                             "GeoDataFrame.set_crs, so it can be turned into lon/lat")
        if not df.crs.equals(_WGS84, ignore_axis_order=True):
            try:
                df = df.to_crs(_WGS84)
            except Exception as e:
                raise InputError(file, f"cannot be reprojected from {df.crs.to_string()} "
                                 f"to EPSG:4326: {e}") from None
        geoms = list(df.geometry.values)
        df = df.drop(columns="geometry")
    columns = _restore_names(list(df.columns), role) if fmt == "Shapefile" else list(df.columns)
    for i, row in enumerate(df.itertuples(index=False, name=None)):
        props = {c: _native(v, isna) for c, v in zip(columns, row)}
        yield Feature(i, {c: v for c, v in props.items() if v is not None}, geoms[i])


def _pick_layer(layers: list[str], layer: str | None, role: str, file: str) -> str:
    if layer is not None:
        if layer not in layers:
            raise InputError(file, f"has no layer {layer!r}; layers: {', '.join(layers)}",
                             field="layer")
        return layer
    if len(layers) == 1:
        return layers[0]
    if role in layers:
        return role
    raise InputError(file, f"has {len(layers)} layers ({', '.join(layers)}); name the layer "
                     f"'{role}' or choose one with layer=", field="layer")


def _restore_names(columns: list[str], role: str) -> list[str]:
    """Undo dBase's 10-character field names (``capacity_b`` -> ``capacity_bps``)."""
    known = ROLE_FIELDS[role]
    out = []
    for c in columns:
        long = [k for k in known if len(k) > 10 and k[:10] == c]
        out.append(long[0] if len(c) == 10 and c not in known and len(long) == 1
                   and long[0] not in columns else c)
    return out


def _absent(v: Any) -> bool:
    return v is None or v == "" or (isinstance(v, float) and math.isnan(v))


def _native(v: Any, isna) -> Any:
    """A plain Python value from a DataFrame cell, None when missing."""
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, (list, tuple, dict, np.ndarray)):
        return v
    try:
        if isna(v):
            return None
    except (TypeError, ValueError):
        pass  # not a scalar pandas understands: keep it
    return None if isinstance(v, str) and not v.strip() else v
