"""Radio calibration: recovery of known parameters, robustness, and the [radio] calibration
file: read, checked, and applied to the map by exactly its correction."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

import twin3d
from twin3d.calibrate_io import calibration_toml, read_calibration
from twin3d.errors import InputError
from twin3d.physics.calibration import Calibration, fit_calibration
from twin3d.physics.cellmaps import CellMapCache
from twin3d.physics.coverage import RadioMapper
from twin3d.sim.calibration import calibrate, measurement_samples
from twin3d.sim.engine import Simulator

from calibrate_scenes import (NOISE_DB, assert_map_changed_by, cli, make_calib_scene,
                              measurements_csv, param_errors, referencing, standard_errors,
                              synthetic)

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


@pytest.fixture(scope="module")
def calib_scene(tmp_path_factory):
    return make_calib_scene(tmp_path_factory.mktemp("calib"))


# --- fitting ------------------------------------------------------------------------------

def test_recovers_known_parameters_and_held_out_rmse_drops_to_the_noise(calib_scene):
    _, scene, mapper = calib_scene
    meas, outlier = synthetic(scene, mapper, np.random.default_rng(1), outlier_fraction=0.02)
    samples = measurement_samples(scene, meas, mapper)
    assert len(samples) == len(meas) and samples.left_out == 0
    report = calibrate(samples, scene.rng(), held_out_fraction=0.2, model="UMa", engine="twin3d")
    off_err, slope_err = param_errors(report.fit.calibration)
    assert report.fit.fitted == ("offset+slope",) * 3
    train = ~report.held_out
    se_o, se_s = standard_errors(samples.env[train], samples.log_d[train], NOISE_DB)
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
    se_o, se_s = standard_errors(samples.env[train], samples.log_d[train], NOISE_DB)
    # soft_l1's influence is bounded, not zero: one-sided outliers leave ~0.1 x scale of bias
    off_err, slope_err = param_errors(robust.fit.calibration)
    assert np.all(off_err < 4 * se_o + 0.3) and np.all(slope_err < 4 * se_s + 0.3), robust.fit.calibration
    huber = calibrate(samples, scene.rng(), loss="huber")
    assert np.all(param_errors(huber.fit.calibration)[0] < 4 * se_o + 0.3), huber.fit.calibration
    # plain least squares: one-sided outliers of +30 dB on 10 % pull every offset up ~3 dB
    plain = calibrate(samples, scene.rng(), loss="linear")
    assert np.all(param_errors(plain.fit.calibration)[0] > 1.5), plain.fit.calibration


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

def test_calibration_file_changes_the_map_by_exactly_the_correction(calib_scene, tmp_path):
    path, scene, _ = calib_scene
    # the NLOS slope holds up to 150 m only: the NLOS hand point (196 m) takes its value at 150 m
    ranges = ((10.0, 1e6), (10.0, 150.0), (10.0, 1e6))
    cal = Calibration((2.5, -7.25, 3.0), (-4.0, 6.5, -1.5), "UMa", "twin3d", d_range_m=ranges)
    folder = path.parent
    (folder / "cal.toml").write_text(calibration_toml(cal, {"source": "hand", "samples": 3}))
    cal_scene_path = folder / "calib_cal.toml"
    cal_scene_path.write_text(referencing(path, "cal.toml"))
    cal_scene = twin3d.load_scene(cal_scene_path)
    got = cal_scene.spec.radio.calibration
    assert got.offset_db == cal.offset_db and got.slope_db_per_decade == cal.slope_db_per_decade
    assert got.d_range_m == ranges
    assert Path(got.path) == (folder / "cal.toml").resolve()
    assert_map_changed_by(Simulator(scene).baseline_map, Simulator(cal_scene).baseline_map,
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
        scene_path.write_text(referencing(path, "bad_cal.toml"))
        with pytest.raises(InputError) as exc:
            twin3d.load_scene(scene_path)
        msg = str(exc.value)
        assert "\n" not in msg and word in msg and "bad_cal.toml" in msg, (name, msg)
    (folder / "bad_cal.toml").write_bytes(b"version = 1\nmodel = \"\xff\"\n")
    with pytest.raises(InputError, match="not UTF-8"):
        read_calibration(folder / "bad_cal.toml")
    scene_path.write_text(referencing(path, "none.toml"))
    with pytest.raises(InputError, match=r"calib_bad.toml: \[radio\]: field 'calibration': "
                                         r"calibration file not found"):
        twin3d.load_scene(scene_path)
    # a stale file (fitted for UMi) blocks loading, not refitting: calibrate replaces it
    (folder / "bad_cal.toml").write_text(cases["other model"][0])
    scene_path.write_text(referencing(path, "bad_cal.toml"))
    with pytest.raises(InputError, match="fitted for model 'UMi'"):
        twin3d.load_scene(scene_path)
    meas, _ = synthetic(scene, mapper, np.random.default_rng(5), per_env=40)
    (folder / "few.csv").write_text(measurements_csv(meas))
    code, _, err = cli(capsys, "calibrate", scene_path, "--measurements", folder / "few.csv",
                        "-o", folder / "bad_cal.toml")
    assert code == 0, err
    assert twin3d.load_scene(scene_path).spec.radio.calibration.model == "UMa"


