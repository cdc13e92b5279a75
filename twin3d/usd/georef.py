"""Georeference of a stage: where its ENU origin is on the WGS84 ellipsoid.

Stage units are ENU metres (x east, y north, z up) of the twin's local
topocentric frame. The origin is recorded in each layer's
``customLayerData["twin3d"]``, which any USD tool can read without a plugin.

:func:`author_cesium_georeference` also writes the root prim
``/CesiumGeoreference`` (type ``CesiumGeoreference``, the path and type
Cesium for Omniverse itself uses) with the double attributes
``cesium:georeferenceOrigin:longitude``, ``...:latitude`` (degrees) and
``...:height`` (metres above the WGS84 ellipsoid), so Cesium for Omniverse
places the stage origin at that point with x east, y north, z up: the ENU
frame of :class:`~twin3d.geo.frame.LocalFrame` (PROJ topocentric at the same
origin). The stage is Z up in metres, as Cesium's ENU frame is. usd-core does
not know the type; neither ``pxr.UsdValidation`` nor usd-validation-nvidia
reports it (checked by the export tests), and ``defaultPrim`` stays World.

Examples
--------
>>> from twin3d.geo.frame import LocalFrame
>>> georef_metadata(LocalFrame(24.944, 60.17, 10.0), "helsinki")["origin_lat_deg"]
60.17
"""

from __future__ import annotations

from typing import Any

from pxr import Sdf

from ..geo.frame import LocalFrame

__all__ = ["CRS", "CESIUM_PATH", "CESIUM_ATTRS", "georef_metadata", "origin_of",
           "author_cesium_georeference"]

#: The prim Cesium for Omniverse reads (its default path and schema type).
CESIUM_PATH = "/CesiumGeoreference"
#: Its attributes: (name, LocalFrame field).
CESIUM_ATTRS = (("cesium:georeferenceOrigin:longitude", "lon0"),
                ("cesium:georeferenceOrigin:latitude", "lat0"),
                ("cesium:georeferenceOrigin:height", "h0_m"))

#: How stage coordinates relate to the earth.
CRS = "ENU topocentric on WGS84"


def georef_metadata(frame: LocalFrame, scene: str) -> dict[str, Any]:
    """The ``twin3d`` entry of ``customLayerData`` for a frame and scene name.

    Angles in degrees, height in metres above the WGS84 ellipsoid.
    """
    return {
        "origin_lon_deg": float(frame.lon0),
        "origin_lat_deg": float(frame.lat0),
        "origin_h_m": float(frame.h0_m),
        "scene": str(scene),
        "crs": CRS,
    }


def origin_of(custom_layer_data: dict[str, Any]) -> LocalFrame:
    """The :class:`LocalFrame` recorded in a layer's ``customLayerData``.

    Raises
    ------
    KeyError
        The layer carries no twin3d georeference.
    """
    meta = custom_layer_data["twin3d"]
    return LocalFrame(meta["origin_lon_deg"], meta["origin_lat_deg"], meta["origin_h_m"])


def author_cesium_georeference(layer: Sdf.Layer, frame: LocalFrame) -> Sdf.PrimSpec:
    """Define ``/CesiumGeoreference`` in ``layer`` at the frame's origin.

    Longitude and latitude in degrees, height in metres above the WGS84
    ellipsoid (Cesium's convention, and ``LocalFrame.h0_m``'s).

    Examples
    --------
    >>> layer = Sdf.Layer.CreateAnonymous(".usda")
    >>> prim = author_cesium_georeference(layer, LocalFrame(24.944, 60.1715, 12.0))
    >>> prim.typeName, prim.attributes["cesium:georeferenceOrigin:height"].default
    ('CesiumGeoreference', 12.0)
    """
    prim = layer.GetPrimAtPath(CESIUM_PATH)
    if prim is None:
        prim = Sdf.PrimSpec(layer, CESIUM_PATH.lstrip("/"), Sdf.SpecifierDef, "CesiumGeoreference")
    for name, field in CESIUM_ATTRS:
        attr = prim.attributes.get(name) or Sdf.AttributeSpec(prim, name, Sdf.ValueTypeNames.Double)
        attr.default = float(getattr(frame, field))
    return prim
