"""The scene's local frame: WGS84 <-> local ENU metres.

One origin per scene. ENU is PROJ's topocentric frame on the WGS84 ellipsoid:
x east, y north, z up, in metres, with the origin at (lon0, lat0, h0). Away
from the origin the ellipsoid drops below z = 0 by about d**2 / (2 R): 0.08 m
at 1 km, 78 km at 1,000 km. That is the true geometry (what Cesium expects),
so continental scenes show the earth's curvature.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from pyproj import Transformer

__all__ = ["LocalFrame", "bbox_center"]


def _pipeline(lon0: float, lat0: float, h0: float) -> str:
    return ("+proj=pipeline +step +proj=cart +ellps=WGS84 "
            f"+step +proj=topocentric +ellps=WGS84 +lon_0={lon0!r} +lat_0={lat0!r} +h_0={h0!r}")


@dataclass(frozen=True)
class LocalFrame:
    """A local east-north-up frame anchored at a WGS84 origin.

    Parameters
    ----------
    lon0, lat0 : float
        Origin longitude and latitude, degrees.
    h0_m : float
        Origin height above the WGS84 ellipsoid, metres.

    Examples
    --------
    >>> frame = LocalFrame(24.944, 60.17, 0.0)
    >>> x, y, z = frame.to_enu([24.954], [60.17])
    >>> round(float(x[0]), 1)
    555.1
    """

    lon0: float
    lat0: float
    h0_m: float = 0.0
    _fwd: Transformer = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_fwd",
                           Transformer.from_pipeline(_pipeline(self.lon0, self.lat0, self.h0_m)))

    def to_enu(self, lon_deg, lat_deg, h_m=None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """WGS84 lon/lat (degrees) and ellipsoidal height (m) to ENU metres.

        ``h_m`` defaults to the origin height. Arrays in, float64 arrays out.
        """
        lon = np.asarray(lon_deg, dtype=np.float64)
        lat = np.asarray(lat_deg, dtype=np.float64)
        h = np.full_like(lon, self.h0_m) if h_m is None else np.broadcast_to(
            np.asarray(h_m, dtype=np.float64), lon.shape).copy()
        x, y, z = self._fwd.transform(lon, lat, h)
        return np.asarray(x, float), np.asarray(y, float), np.asarray(z, float)

    def to_wgs84(self, x_m, y_m, z_m) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """ENU metres to WGS84 lon, lat (degrees) and ellipsoidal height (m)."""
        x = np.asarray(x_m, dtype=np.float64)
        y = np.asarray(y_m, dtype=np.float64)
        z = np.broadcast_to(np.asarray(z_m, dtype=np.float64), x.shape).copy()
        lon, lat, h = self._fwd.transform(x, y, z, direction="INVERSE")
        return np.asarray(lon, float), np.asarray(lat, float), np.asarray(h, float)

    def lonlat_to_xyz(self, lonlat: np.ndarray, h_m=None) -> np.ndarray:
        """(N, 2) lon/lat array to an (N, 3) ENU array, metres."""
        lonlat = np.asarray(lonlat, dtype=np.float64).reshape(-1, 2)
        return np.column_stack(self.to_enu(lonlat[:, 0], lonlat[:, 1], h_m))


def bbox_center(lonlat: np.ndarray) -> tuple[float, float]:
    """Centre of the lon/lat bounding box of an (N, 2) array, degrees."""
    lonlat = np.asarray(lonlat, dtype=np.float64).reshape(-1, 2)
    lo = lonlat.min(axis=0)
    hi = lonlat.max(axis=0)
    return float((lo[0] + hi[0]) / 2), float((lo[1] + hi[1]) / 2)
