"""Local ENU frame against an independent ECEF -> ENU computation."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings, strategies as st

from twin3d.geo.frame import LocalFrame, bbox_center

A = 6378137.0
F = 1 / 298.257223563
E2 = F * (2 - F)


def ecef(lon, lat, h):
    lon, lat = np.radians(lon), np.radians(lat)
    n = A / np.sqrt(1 - E2 * np.sin(lat) ** 2)
    return np.array([(n + h) * np.cos(lat) * np.cos(lon), (n + h) * np.cos(lat) * np.sin(lon),
                     (n * (1 - E2) + h) * np.sin(lat)])


def enu_reference(lon, lat, h, lon0, lat0, h0):
    d = ecef(lon, lat, h) - ecef(lon0, lat0, h0)[:, None]
    lo, la = np.radians(lon0), np.radians(lat0)
    r = np.array([[-np.sin(lo), np.cos(lo), 0],
                  [-np.sin(la) * np.cos(lo), -np.sin(la) * np.sin(lo), np.cos(la)],
                  [np.cos(la) * np.cos(lo), np.cos(la) * np.sin(lo), np.sin(la)]])
    return r @ d


def test_matches_independent_ecef_enu():
    frame = LocalFrame(24.944, 60.1715, 5.0)
    lon = np.array([24.944, 24.953, 24.935, 25.5, 20.0])
    lat = np.array([60.1715, 60.179, 60.164, 61.0, 65.0])
    h = np.array([5.0, 30.0, 0.0, 100.0, 0.0])
    got = np.vstack(frame.to_enu(lon, lat, h))
    ref = enu_reference(lon, lat, h, 24.944, 60.1715, 5.0)
    np.testing.assert_allclose(got, ref, atol=1e-3)


def test_origin_maps_to_zero_and_curvature_drops():
    frame = LocalFrame(24.944, 60.1715, 0.0)
    x, y, z = frame.to_enu([24.944], [60.1715])
    assert abs(x[0]) < 1e-6 and abs(y[0]) < 1e-6 and abs(z[0]) < 1e-6
    # 1 degree of latitude north (111.4 km here) on the ellipsoid: z drops ~ d^2/2R = 0.97 km
    x, y, z = frame.to_enu([24.944], [61.1715])
    assert 111_000 < y[0] < 111_800
    assert -1_000 < z[0] < -940


@settings(max_examples=50, deadline=None)
@given(st.floats(-170, 170), st.floats(-80, 80), st.floats(-0.5, 0.5), st.floats(-0.5, 0.5),
       st.floats(-100, 3000))
def test_round_trip(lon0, lat0, dlon, dlat, h):
    frame = LocalFrame(lon0, lat0, 0.0)
    x, y, z = frame.to_enu([lon0 + dlon], [lat0 + dlat], [h])
    lon, lat, hh = frame.to_wgs84(x, y, z)
    assert abs(lon[0] - (lon0 + dlon)) < 1e-9 and abs(lat[0] - (lat0 + dlat)) < 1e-9
    assert abs(hh[0] - h) < 1e-4


def test_bbox_center():
    assert bbox_center(np.array([[24.935, 60.164], [24.953, 60.179], [24.94, 60.17]])) == (
        (24.935 + 24.953) / 2, (60.164 + 60.179) / 2)
