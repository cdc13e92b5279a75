"""The small radio scene and synthetic drive tests of the calibration tests (test_calibrate*.py)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

import twin3d
from twin3d.calibrate_io import Measurements
from twin3d.cli import main
from twin3d.geo.frame import LocalFrame
from twin3d.physics.calibration import Calibration
from twin3d.physics.cellmaps import calibration_features
from twin3d.sim.calibration import uncalibrated_mapper

from conftest import feature_collection

ORIGIN = (24.94, 60.17)
FRAME = LocalFrame(*ORIGIN)
#: Sites in ENU metres: id -> (x, y, antenna height m, sector azimuths).
SITES = {"S1": (-150.0, 0.0, 30.0, (0, 120, 240)), "S2": (150.0, 50.0, 25.0, (60, 180, 300))}
#: Buildings: (xmin, ymin, xmax, ymax, height m).
BOXES = [(-60, -20, -20, 20, 40.0), (20, -100, 60, -60, 20.0), (60, 80, 100, 120, 35.0),
         (-120, 80, -90, 120, 15.0), (-40, -200, 40, -150, 18.0), (160, 70, 200, 110, 10.0),
         (200, -340, 320, -260, 15.0), (-320, -120, -240, -40, 12.0)]
SCENE_TOML = """
[scene]
name = "calib"
seed = 5
origin = { lon = 24.94, lat = 60.17 }
[[source]]
path = "sites.geojson"
role = "sites"
[[source]]
path = "links.geojson"
role = "links"
[[source]]
path = "buildings.geojson"
role = "buildings"
[radio]
model = "UMa"
grid_m = 10
[traffic]
busy_hour_bps = 0
core = "CO"
"""
#: The correction the synthetic measurements carry: (offset dB, slope dB/decade) per environment.
TRUTH = Calibration(offset_db=(6.0, -8.0, 5.0), slope_db_per_decade=(-6.0, 8.0, -3.0))
NOISE_DB = 2.0
RS_DB = 10 * math.log10(12 * 273)          # 100 MHz at 30 kHz: RSRP = rx - this


def referencing(path: Path, rel: str) -> str:
    """The scene's text with ``[radio] calibration = rel``."""
    return path.read_text().replace("grid_m = 10", f'grid_m = 10\ncalibration = "{rel}"')


def lonlat(x, y):
    x, y = np.atleast_1d(np.asarray(x, float)), np.atleast_1d(np.asarray(y, float))
    lon, lat, _ = FRAME.to_wgs84(x, y, np.zeros(x.size))
    return lon, lat


def write_calib_scene(folder: Path, radio_extra: str = "") -> Path:
    """Two 3-sector macros and five buildings around the origin, a central office, 10 m grid."""
    feats = [{"type": "Feature", "geometry": {"type": "Point",
                                              "coordinates": [float(v[0]) for v in lonlat(0.0, -250.0)]},
              "properties": {"id": "CO", "kind": "central_office"}}]
    for sid, (x, y, h, azs) in SITES.items():
        lon, lat = lonlat(x, y)
        feats.append({"type": "Feature", "geometry": {"type": "Point", "coordinates": [lon[0], lat[0]]},
                      "properties": {"id": sid, "kind": "macro", "height_m": h, "tilt_deg": 4.0,
                                     "p_tx_dbm": 43.0, "sectors": [{"azimuth_deg": a} for a in azs]}})
    (folder / "sites.geojson").write_text(feature_collection(feats))
    (folder / "links.geojson").write_text(feature_collection(
        {"type": "Feature", "geometry": None,
         "properties": {"id": f"F-{s}", "a": "CO", "b": s, "capacity_bps": 10e9}} for s in SITES))
    blds = []
    for i, (x0, y0, x1, y1, h) in enumerate(BOXES):
        lon, lat = lonlat([x0, x1, x1, x0, x0], [y0, y0, y1, y1, y0])
        blds.append({"type": "Feature", "properties": {"id": f"B{i + 1}", "height_m": h},
                     "geometry": {"type": "Polygon", "coordinates": [np.column_stack([lon, lat]).tolist()]}})
    (folder / "buildings.geojson").write_text(feature_collection(blds))
    text = SCENE_TOML.replace("[traffic]", radio_extra + "\n[traffic]") if radio_extra else SCENE_TOML
    (folder / "calib.toml").write_text(text)
    return folder / "calib.toml"


def synthetic(scene, mapper, rng, per_env: int = 1000, outlier_fraction: float = 0.02):
    """Measurements = the model's RSRP + TRUTH + N(0, NOISE_DB) + gross outliers (+20..+40 dB).

    Returns the Measurements and a bool array marking the outliers.
    """
    rm = mapper.radio_map(cell_active=np.ones(len(scene.twin.cells), bool))
    rx = rm.rx_dbm.reshape(len(scene.twin.cells), -1).astype(float)
    xs, ys = rm.grid.centers()
    gx, gy = (a.ravel() for a in np.meshgrid(xs, ys))
    rows = []                                     # (cell, point, env, distance)
    for ci, c in enumerate(scene.twin.cells):
        a = scene.twin.sites[c.site_id].antenna_xyz_m
        env, _ = calibration_features(mapper.ctx, a, mapper.cache)
        d = np.sqrt((gx - a[0]) ** 2 + (gy - a[1]) ** 2 + (a[2] - 1.5) ** 2)   # flat ground, UE 1.5 m
        ok = np.isfinite(rx[ci]) & (rx[ci] - RS_DB > -140)
        rows += [(ci, p, int(env[p]), d[p]) for p in np.flatnonzero(ok)]
    rows = np.array(rows)
    picked = np.concatenate([rng.choice(np.flatnonzero(rows[:, 2] == e), per_env, replace=False)
                             for e in range(3)])
    cell, point, env, d = rows[picked].T
    cell, point, env = cell.astype(int), point.astype(int), env.astype(int)
    # the truth at hand: offset + slope x log10(max(d, 10) / 100)
    truth = (np.array(TRUTH.offset_db)[env]
             + np.array(TRUTH.slope_db_per_decade)[env] * np.log10(np.maximum(d, 10.0) / 100.0))
    measured = rx[cell, point] - RS_DB + truth + rng.normal(0.0, NOISE_DB, cell.size)
    outlier = rng.random(cell.size) < outlier_fraction
    measured[outlier] += rng.uniform(20.0, 40.0, outlier.sum())
    lon, lat = lonlat(gx[point], gy[point])
    ids = [scene.twin.cells[i].id for i in cell]
    return Measurements(Path("synthetic.csv"), lon, lat, tuple(ids), measured,
                        np.arange(2, cell.size + 2)), outlier


def param_errors(cal: Calibration) -> tuple[np.ndarray, np.ndarray]:
    return (np.abs(np.subtract(cal.offset_db, TRUTH.offset_db)),
            np.abs(np.subtract(cal.slope_db_per_decade, TRUTH.slope_db_per_decade)))


def standard_errors(env, log_d, sigma_db: float) -> tuple[np.ndarray, np.ndarray]:
    """Ordinary least squares standard errors of (offset, slope) per environment, by the
    textbook formula sigma^2 (A^T A)^-1 with A = [1, log_d] (the robust fits are a little
    less efficient, hence the margins in the tests)."""
    se_o, se_s = np.zeros(3), np.zeros(3)
    for e in range(3):
        x = log_d[env == e]
        n, sxx = x.size, np.sum((x - x.mean()) ** 2)
        se_s[e] = sigma_db / math.sqrt(sxx)
        se_o[e] = sigma_db * math.sqrt(1.0 / n + x.mean() ** 2 / sxx)
    return se_o, se_s




def make_calib_scene(folder: Path):
    """(scene path, loaded scene, its uncalibrated RadioMapper) of :func:`write_calib_scene`."""
    path = write_calib_scene(folder)
    scene = twin3d.load_scene(path)
    return path, scene, uncalibrated_mapper(scene)


#: Points (ENU m) whose environment for S1 is clear by hand: in sight in front of sector 1,
#: behind the 40 m block B1 (the ray from 30 m at x=-150 is 30 - 28.5 x 90/220 = 18 m high there),
#: and inside B2.
HAND_POINTS = {"los": (-145.0, 95.0), "nlos": (45.0, 5.0), "indoor": (45.0, -75.0)}


def assert_map_changed_by(plain, calibrated, doc: dict, nlos_clamped: bool = False) -> None:
    """At the hand points, each of S1's cells gains exactly the file's correction (worked by hand
    from the TOML's numbers: offset + slope x log10(d / 100 m), d held within [d_min_m, d_max_m])."""
    xs, ys = plain.grid.centers()
    ax, ay, h = SITES["S1"][:3]
    for env, (x, y) in HAND_POINTS.items():
        t = doc[env]
        j, i = int(np.argmin(np.abs(ys - y))), int(np.argmin(np.abs(xs - x)))
        d = math.sqrt((xs[i] - ax) ** 2 + (ys[j] - ay) ** 2 + (h - 1.5) ** 2)
        if nlos_clamped and env == "nlos":
            assert d > t["d_max_m"]
        d = min(max(d, t["d_min_m"]), t["d_max_m"])
        want = t["offset_db"] + t["slope_db_per_decade"] * math.log10(d / 100.0)
        for c in range(3):                              # S1's three sectors
            delta = float(calibrated.rx_dbm[c, j, i]) - float(plain.rx_dbm[c, j, i])
            assert delta == pytest.approx(want, abs=2e-4), (env, c)




def cli(capsys, *args) -> tuple[int, str, str]:
    try:
        main([str(a) for a in args])
        code = 0
    except SystemExit as exc:
        code = exc.code or 0
    got = capsys.readouterr()
    return code, got.out, got.err


def measurements_csv(meas: Measurements, n: int | None = None) -> str:
    rows = [f"{lo:.8f},{la:.8f},{c},{r:.2f},2026-01-0{1 + k % 9}T12:00:00"
            for k, (lo, la, c, r) in enumerate(zip(meas.lon, meas.lat, meas.cell, meas.rsrp_dbm))]
    return "lon,lat,cell,rsrp_dbm,time\n" + "\n".join(rows[:n]) + "\n"


