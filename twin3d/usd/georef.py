"""Georeference of a stage: where its ENU origin is on the WGS84 ellipsoid.

Stage units are ENU metres (x east, y north, z up) of the twin's local
topocentric frame. The origin is recorded in each layer's
``customLayerData["twin3d"]``, which any USD tool can read without a plugin.

A ``CesiumGeoreference`` prim (so Cesium for Omniverse anchors the scene) is
left to a later change: its schema is not registered in usd-core, so an
authored prim of that type would be reported by the validators as an
unknown type.

Examples
--------
>>> from twin3d.geo.frame import LocalFrame
>>> georef_metadata(LocalFrame(24.944, 60.17, 10.0), "helsinki")["origin_lat_deg"]
60.17
"""

from __future__ import annotations

from typing import Any

from ..geo.frame import LocalFrame

__all__ = ["CRS", "georef_metadata", "origin_of"]

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
