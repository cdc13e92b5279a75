"""Radio calibration: recovery of known parameters, robustness, the [radio] calibration
round trip, the command and a ray-traced reference."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pytest

import twin3d
from twin3d.calibrate_io import Measurements, calibration_toml, read_calibration, read_measurements
from twin3d.cli import main
from twin3d.errors import InputError
from twin3d.geo.frame import LocalFrame
from twin3d.physics.calibration import Calibration, fit_calibration
from twin3d.physics.cellmaps import CellMapCache, calibration_features
from twin3d.physics.coverage import RadioMapper
from twin3d.sim.calibration import calibrate, measurement_samples, uncalibrated_mapper
from twin3d.sim.engine import Simulator

from conftest import ROOT, feature_collection

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

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


def _referencing(path: Path, rel: str) -> str:
    """The scene's text with ``[radio] calibration = rel``."""
    return path.read_text().replace("grid_m = 10", f'grid_m = 10\ncalibration = "{rel}"')


def _lonlat(x, y):
    x, y = np.atleast_1d(np.asarray(x, float)), np.atleast_1d(np.asarray(y, float))
    lon, lat, _ = FRAME.to_wgs84(x, y, np.zeros(x.size))
    return lon, lat


def write_calib_scene(folder: Path, radio_extra: str = "") -> Path:
    """Two 3-sector macros and five buildings around the origin, a central office, 10 m grid."""
    feats = [{"type": "Feature", "geometry": {"type": "Point",
                                              "coordinates": [float(v[0]) for v in _lonlat(0.0, -250.0)]},
              "properties": {"id": "CO", "kind": "central_office"}}]
    for sid, (x, y, h, azs) in SITES.items():
        lon, lat = _lonlat(x, y)
        feats.append({"type": "Feature", "geometry": {"type": "Point", "coordinates": [lon[0], lat[0]]},
                      "properties": {"id": sid, "kind": "macro", "height_m": h, "tilt_deg": 4.0,
                                     "p_tx_dbm": 43.0, "sectors": [{"azimuth_deg": a} for a in azs]}})
    (folder / "sites.geojson").write_text(feature_collection(feats))
    (folder / "links.geojson").write_text(feature_collection(
        {"type": "Feature", "geometry": None,
         "properties": {"id": f"F-{s}", "a": "CO", "b": s, "capacity_bps": 10e9}} for s in SITES))
    blds = []
    for i, (x0, y0, x1, y1, h) in enumerate(BOXES):
        lon, lat = _lonlat([x0, x1, x1, x0, x0], [y0, y0, y1, y1, y0])
        blds.append({"type": "Feature", "properties": {"id": f"B{i + 1}", "height_m": h},
                     "geometry": {"type": "Polygon", "coordinates": [np.column_stack([lon, lat]).tolist()]}})
    (folder / "buildings.geojson").write_text(feature_collection(blds))
    text = SCENE_TOML.replace("[traffic]", radio_extra + "\n[traffic]") if radio_extra else SCENE_TOML
    (folder / "calib.toml").write_text(text)
    return folder / "calib.toml"


@pytest.fixture(scope="module")
def calib_scene(tmp_path_factory):
    folder = tmp_path_factory.mktemp("calib")
    path = write_calib_scene(folder)
    scene = twin3d.load_scene(path)
    return path, scene, uncalibrated_mapper(scene)


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
    lon, lat = _lonlat(gx[point], gy[point])
    ids = [scene.twin.cells[i].id for i in cell]
    return Measurements(Path("synthetic.csv"), lon, lat, tuple(ids), measured,
                        np.arange(2, cell.size + 2)), outlier


def _errors(cal: Calibration) -> tuple[np.ndarray, np.ndarray]:
    return (np.abs(np.subtract(cal.offset_db, TRUTH.offset_db)),
            np.abs(np.subtract(cal.slope_db_per_decade, TRUTH.slope_db_per_decade)))


def _standard_errors(env, log_d, sigma_db: float) -> tuple[np.ndarray, np.ndarray]:
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


# --- fitting ------------------------------------------------------------------------------

def test_recovers_known_parameters_and_held_out_rmse_drops_to_the_noise(calib_scene):
    _, scene, mapper = calib_scene
    meas, outlier = synthetic(scene, mapper, np.random.default_rng(1), outlier_fraction=0.02)
    samples = measurement_samples(scene, meas, mapper)
    assert len(samples) == len(meas) and samples.left_out == 0
    report = calibrate(samples, scene.rng(), held_out_fraction=0.2, model="UMa", engine="twin3d")
    off_err, slope_err = _errors(report.fit.calibration)
    assert report.fit.fitted == ("offset+slope",) * 3
    train = ~report.held_out
    se_o, se_s = _standard_errors(samples.env[train], samples.log_d[train], NOISE_DB)
    assert se_o.max() < 0.3 and se_s.max() < 0.7           # the design pins the truth down
    assert np.all(off_err < 4 * se_o) and np.all(slope_err < 4 * se_s), (report.fit.calibration, se_o, se_s)
    # about 20 % of the 50 m blocks held out, whole blocks at a time (5 x 5 points at 10 m)
    assert 0.17 < report.held_out_fraction < 0.23 and report.block_m == 50.0
    held = report.held_out
    nx = mapper.ctx.grid.nx
    block = (samples.point // nx // 5) * 1000 + samples.point % nx // 5
    assert not np.isin(block[held], block[~held]).any()
    assert 0.1 < held.mean() < 0.3
    # held-out RMSE over the inliers: the noise (2 dB), from well above it
    inl = held & ~outlier
    rmse_after = float(np.sqrt(np.mean(report.residual_after_db[inl] ** 2)))
    rmse_before = float(np.sqrt(np.mean(report.residual_before_db[inl] ** 2)))
    assert 0.85 * NOISE_DB < rmse_after < 1.2 * NOISE_DB
    assert rmse_before > 1.7 * NOISE_DB and rmse_after < 0.6 * rmse_before
    assert report.rmse_after_db < report.rmse_before_db


def test_robust_loss_survives_ten_percent_outliers_and_plain_least_squares_does_not(calib_scene):
    _, scene, mapper = calib_scene
    meas, outlier = synthetic(scene, mapper, np.random.default_rng(2), outlier_fraction=0.10)
    assert 0.07 < outlier.mean() < 0.13
    samples = measurement_samples(scene, meas, mapper)
    robust = calibrate(samples, scene.rng(), loss="soft_l1")
    train = ~robust.held_out
    se_o, se_s = _standard_errors(samples.env[train], samples.log_d[train], NOISE_DB)
    # soft_l1's influence is bounded, not zero: one-sided outliers leave ~0.1 x scale of bias
    off_err, slope_err = _errors(robust.fit.calibration)
    assert np.all(off_err < 4 * se_o + 0.3) and np.all(slope_err < 4 * se_s + 0.3), robust.fit.calibration
    huber = calibrate(samples, scene.rng(), loss="huber")
    assert np.all(_errors(huber.fit.calibration)[0] < 4 * se_o + 0.3), huber.fit.calibration
    # plain least squares: one-sided outliers of +30 dB on 10 % pull every offset up ~3 dB
    plain = calibrate(samples, scene.rng(), loss="linear")
    assert np.all(_errors(plain.fit.calibration)[0] > 1.5), plain.fit.calibration


def test_doctests():
    import doctest
    import twin3d.calibrate_io
    import twin3d.physics.calibration
    for mod in (twin3d.physics.calibration, twin3d.calibrate_io):
        assert doctest.testmod(mod).failed == 0, mod.__name__


def test_fit_by_hand_small_cases():
    # exact data: the fit is the truth; too few points: not fitted; one distance: offset only
    env = np.repeat([0, 1], 20)
    log_d = np.concatenate([np.linspace(-0.5, 1.0, 20), np.zeros(20)])
    r = np.where(env == 0, 2.0 - 7.0 * log_d, -4.0)
    fit = fit_calibration(r, env, log_d)
    assert fit.fitted == ("offset+slope", "offset", "none") and fit.points == (20, 20, 0)
    assert fit.calibration.offset_db == pytest.approx((2.0, -4.0, 0.0), abs=1e-6)
    assert fit.calibration.slope_db_per_decade == pytest.approx((-7.0, 0.0, 0.0), abs=1e-6)
    # offsets only: the LOS offset is then the least-squares constant, the mean of its residuals
    flat = fit_calibration(r, env, log_d, slopes=False, loss="linear")
    assert flat.fitted == ("offset", "offset", "none")
    assert flat.calibration.offset_db[0] == pytest.approx(np.mean(r[env == 0]), abs=1e-6)
    assert flat.calibration.slope_db_per_decade == (0.0, 0.0, 0.0)


# --- [radio] calibration: the file, the scene, the map ----------------------------------

#: Points (ENU m) whose environment for S1 is clear by hand: in sight in front of sector 1,
#: behind the 40 m block B1 (the ray from 30 m at x=-150 is 30 - 28.5 x 90/220 = 18 m high there),
#: and inside B2.
HAND_POINTS = {"los": (-145.0, 95.0), "nlos": (45.0, 5.0), "indoor": (45.0, -75.0)}


def _assert_map_changed_by(plain, calibrated, doc: dict, nlos_clamped: bool = False) -> None:
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


def test_calibration_file_changes_the_map_by_exactly_the_correction(calib_scene, tmp_path):
    path, scene, _ = calib_scene
    # the NLOS slope holds up to 150 m only: the NLOS hand point (196 m) takes its value at 150 m
    ranges = ((10.0, 1e6), (10.0, 150.0), (10.0, 1e6))
    cal = Calibration((2.5, -7.25, 3.0), (-4.0, 6.5, -1.5), "UMa", "twin3d", d_range_m=ranges)
    folder = path.parent
    (folder / "cal.toml").write_text(calibration_toml(cal, {"source": "hand", "samples": 3}))
    cal_scene_path = folder / "calib_cal.toml"
    cal_scene_path.write_text(_referencing(path, "cal.toml"))
    cal_scene = twin3d.load_scene(cal_scene_path)
    got = cal_scene.spec.radio.calibration
    assert got.offset_db == cal.offset_db and got.slope_db_per_decade == cal.slope_db_per_decade
    assert got.d_range_m == ranges
    assert Path(got.path) == (folder / "cal.toml").resolve()
    _assert_map_changed_by(Simulator(scene).baseline_map, Simulator(cal_scene).baseline_map,
                           tomllib.loads((folder / "cal.toml").read_text()), nlos_clamped=True)
    # the per-cell cache keys hold the calibration: one cache, two mappers, two sets of maps
    cache = CellMapCache()
    twin = scene.twin
    m0 = RadioMapper(twin, model="UMa", grid_m=10, cache=cache)
    m1 = RadioMapper(twin, model="UMa", grid_m=10, cache=cache, calibration=cal)
    a, b = m0.radio_map().rx_dbm, m1.radio_map().rx_dbm
    assert cache.misses == 2 * len(twin.cells)
    assert not np.allclose(a, b)


def test_bad_calibration_files_are_one_line_errors(calib_scene, capsys):
    path, scene, mapper = calib_scene
    folder = path.parent
    good = calibration_toml(Calibration((1.0, 2.0, 3.0), (0.0, 0.0, 0.0), "UMa", "twin3d"))
    cases = {
        "unknown key": (good.replace("[los]", "[los]\nofset_db = 1"), "ofset_db"),
        "wrong type": (good.replace("offset_db = 1.0", 'offset_db = "1"'), "offset_db"),
        "too large": (good.replace("offset_db = 1.0", "offset_db = 1e3"), "offset_db"),
        "range": (good.replace("d_max_m = 1000000.0", "d_max_m = 5.0", 1), "d_max_m"),
        "other model": (good.replace('model = "UMa"', 'model = "UMi"'), "model"),
        "no version": (good.replace("version = 1\n", ""), "version"),
        "fit type": (good + '\n[fit]\nsamples = "many"\n', "samples"),
        "not toml": ("version = = 1", "not valid TOML"),
    }
    for name, (text, word) in cases.items():
        (folder / "bad_cal.toml").write_text(text)
        scene_path = folder / "calib_bad.toml"
        scene_path.write_text(_referencing(path, "bad_cal.toml"))
        with pytest.raises(InputError) as exc:
            twin3d.load_scene(scene_path)
        msg = str(exc.value)
        assert "\n" not in msg and word in msg and "bad_cal.toml" in msg, (name, msg)
    (folder / "bad_cal.toml").write_bytes(b"version = 1\nmodel = \"\xff\"\n")
    with pytest.raises(InputError, match="not UTF-8"):
        read_calibration(folder / "bad_cal.toml")
    scene_path.write_text(_referencing(path, "none.toml"))
    with pytest.raises(InputError, match=r"calib_bad.toml: \[radio\]: field 'calibration': "
                                         r"calibration file not found"):
        twin3d.load_scene(scene_path)
    # a stale file (fitted for UMi) blocks loading, not refitting: calibrate replaces it
    (folder / "bad_cal.toml").write_text(cases["other model"][0])
    scene_path.write_text(_referencing(path, "bad_cal.toml"))
    with pytest.raises(InputError, match="fitted for model 'UMi'"):
        twin3d.load_scene(scene_path)
    meas, _ = synthetic(scene, mapper, np.random.default_rng(5), per_env=40)
    (folder / "few.csv").write_text(_csv(meas))
    code, _, err = _cli(capsys, "calibrate", scene_path, "--measurements", folder / "few.csv",
                        "-o", folder / "bad_cal.toml")
    assert code == 0, err
    assert twin3d.load_scene(scene_path).spec.radio.calibration.model == "UMa"


# --- the command ----------------------------------------------------------------------------

def _cli(capsys, *args) -> tuple[int, str, str]:
    try:
        main([str(a) for a in args])
        code = 0
    except SystemExit as exc:
        code = exc.code or 0
    got = capsys.readouterr()
    return code, got.out, got.err


def _csv(meas: Measurements, n: int | None = None) -> str:
    rows = [f"{lo:.8f},{la:.8f},{c},{r:.2f},2026-01-0{1 + k % 9}T12:00:00"
            for k, (lo, la, c, r) in enumerate(zip(meas.lon, meas.lat, meas.cell, meas.rsrp_dbm))]
    return "lon,lat,cell,rsrp_dbm,time\n" + "\n".join(rows[:n]) + "\n"


def test_cli_calibrate_end_to_end_and_the_scene_uses_the_file(calib_scene, tmp_path, capsys):
    _, scene, mapper = calib_scene
    folder = tmp_path
    path = write_calib_scene(folder)
    meas, _ = synthetic(scene, mapper, np.random.default_rng(3), per_env=300)
    (folder / "drive.csv").write_text(_csv(meas))
    code, out, err = _cli(capsys, "calibrate", path, "--measurements", folder / "drive.csv")
    assert code == 0, err
    written = folder / "calib.calibration.toml"
    cal = read_calibration(written, model="UMa", engine="twin3d")
    # the numbers the library finds on the same rows (as the CSV rounds them), with the scene's seed
    samples = measurement_samples(scene, read_measurements(folder / "drive.csv"), mapper)
    lib = calibrate(samples, scene.rng(5))
    assert cal.offset_db == pytest.approx(lib.fit.calibration.offset_db, abs=1e-9)
    assert cal.slope_db_per_decade == pytest.approx(lib.fit.calibration.slope_db_per_decade, abs=1e-9)
    se_o, se_s = _standard_errors(samples.env[~lib.held_out], samples.log_d[~lib.held_out], NOISE_DB)
    off_err, slope_err = _errors(cal)
    assert np.all(off_err < 4 * se_o) and np.all(slope_err < 4 * se_s), (cal, se_o, se_s)
    assert "held out: " in out and "(20%)" in out and "RMSE" in out
    assert 'calibration = "calib.calibration.toml"' in out
    # the same seed, the same split: the same file
    before = written.read_text()
    assert _cli(capsys, "calibrate", path, "--measurements", folder / "drive.csv")[0] == 0
    assert written.read_text() == before
    plain = Simulator(twin3d.load_scene(path)).baseline_map
    path.write_text(_referencing(path, "calib.calibration.toml"))
    cal_scene = twin3d.load_scene(path)
    assert cal_scene.spec.radio.calibration.offset_db == cal.offset_db
    # the fitted file changes the map by exactly its correction
    _assert_map_changed_by(plain, Simulator(cal_scene).baseline_map, tomllib.loads(before))


def test_cli_bad_measurements_exit_2_with_one_line_and_write_nothing(calib_scene, tmp_path, capsys):
    _, scene, mapper = calib_scene
    path = write_calib_scene(tmp_path)
    meas, _ = synthetic(scene, mapper, np.random.default_rng(4), per_env=5)
    good = _csv(meas)
    lines = good.splitlines()
    far_lon, far_lat = _lonlat(5000.0, 0.0)
    cases = {
        "missing column": (good.replace("rsrp_dbm", "rsrp"), ["line 1", "rsrp_dbm", "missing"]),
        "not a number": ("\n".join(lines[:3] + [lines[3].replace(lines[3].split(",")[3], "strong")]
                                   + lines[4:]) + "\n", ["line 4", "rsrp_dbm", "'strong'"]),
        "empty rsrp": ("\n".join(lines[:2] + [",".join(lines[2].split(",")[:3] + ["", "t"])]) + "\n",
                       ["line 3", "rsrp_dbm", "empty"]),
        "unknown cell": (good.replace(lines[2].split(",")[2], "S9/1", 1), ["line 2", "cell", "S9/1"]),
        "outside the grid": ("\n".join(lines[:2] + [f"{far_lon[0]:.8f},{far_lat[0]:.8f},S1/1,-90.0,t"])
                             + "\n", ["line 3", "lon", "outside"]),
        "empty file": ("", ["empty"]),
        "header only": ("lon,lat,cell,rsrp_dbm\n", ["no measurement rows"]),
        "too few": ("\n".join(lines[:3]) + "\n", ["too few samples", "los", "nlos", "indoor"]),
    }
    for name, (text, words) in cases.items():
        (tmp_path / "bad.csv").write_text(text)
        code, out, err = _cli(capsys, "calibrate", path, "--measurements", tmp_path / "bad.csv",
                              "-o", tmp_path / "cal.toml")
        lines_err = err.strip().splitlines()
        assert code == 2 and len(lines_err) == 1, (name, err)
        assert "bad.csv" in lines_err[0] and all(w in lines_err[0] for w in words), (name, lines_err)
        assert not (tmp_path / "cal.toml").exists()
    (tmp_path / "bad.csv").write_bytes(b"lon,lat,cell,rsrp_dbm\n24.94,60.17,S1/1,-80\xe9\n")
    code, _, err = _cli(capsys, "calibrate", path, "--measurements", tmp_path / "bad.csv",
                        "-o", tmp_path / "cal.toml")
    assert code == 2 and "not UTF-8" in err and len(err.strip().splitlines()) == 1
    code, _, err = _cli(capsys, "calibrate", path, "-o", tmp_path / "cal.toml")
    assert code == 2 and "--measurements" in err
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []
    assert not (tmp_path / "cal.toml").exists()


# --- a ray-traced reference in place of measurements -----------------------------------------

def test_calibrating_against_a_ray_traced_reference_lowers_held_out_rmse(calib_scene, tmp_path, capsys):
    path, _, _ = calib_scene
    ref = ROOT / "tests" / "data" / "rt" / "macro_hel05_3500mhz.npz"
    out_toml = tmp_path / "rt.toml"
    code, out, err = _cli(capsys, "calibrate", path, "--reference", ref, "-o", out_toml)
    assert code == 0, err
    fit = tomllib.loads(out_toml.read_text())["fit"]
    assert fit["kind"] == "reference" and fit["samples"] > 4000
    assert 0.17 < fit["held_out_fraction"] < 0.23
    # the measured figures (UMa on the reference's buildings): 13.4 -> 12.6 dB at seed 7
    assert fit["rmse_after_db"] < fit["rmse_before_db"] - 0.4, fit
    assert fit["median_abs_after_db"] < fit["median_abs_before_db"]
    (tmp_path / "broken.npz").write_bytes(b"PK\x03\x04 not a zip")
    code, _, err = _cli(capsys, "calibrate", path, "--reference", tmp_path / "broken.npz",
                        "-o", tmp_path / "x.toml")
    assert code == 2 and "broken.npz" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "x.toml").exists()
