"""Radio formulas against DESIGN.md section 5 and TR 38.901 written out by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from twin3d.physics import (antenna_gain_db, fspl_db, n_prb, o2i_low_loss_db, pathloss_38901,
                            pathloss_db, spectral_efficiency, thermal_noise_dbm)

C = 299_792_458.0
TOL_DB = 0.01


# --- independent scalar references, written from TR 38.901 Table 7.4.1-1 ----------

def umi_ref(d2d, fc_ghz, hbs, hut, los):
    """UMi-Street Canyon, d in m, fc in GHz."""
    d3 = math.sqrt(d2d ** 2 + (hbs - hut) ** 2)
    dbp = 4 * (hbs - 1) * (hut - 1) * fc_ghz * 1e9 / C
    if d2d <= dbp:
        pl_los = 32.4 + 21 * math.log10(d3) + 20 * math.log10(fc_ghz)
    else:
        pl_los = (32.4 + 40 * math.log10(d3) + 20 * math.log10(fc_ghz)
                  - 9.5 * math.log10(dbp ** 2 + (hbs - hut) ** 2))
    if los:
        return pl_los
    return max(pl_los, 35.3 * math.log10(d3) + 22.4 + 21.3 * math.log10(fc_ghz) - 0.3 * (hut - 1.5))


def rma_ref(d2d, fc_ghz, hbs, hut, los, h=5.0, w=20.0):
    """RMa with average building height h and street width W."""
    d3 = math.sqrt(d2d ** 2 + (hbs - hut) ** 2)
    dbp = 2 * math.pi * hbs * hut * fc_ghz * 1e9 / C

    def pl1(d):
        return (20 * math.log10(40 * math.pi * d * fc_ghz / 3) + min(0.03 * h ** 1.72, 10) * math.log10(d)
                - min(0.044 * h ** 1.72, 14.77) + 0.002 * math.log10(h) * d)

    pl_los = pl1(d3) if d2d <= dbp else pl1(dbp) + 40 * math.log10(d3 / dbp)
    if los:
        return pl_los
    nlos = (161.04 - 7.1 * math.log10(w) + 7.5 * math.log10(h)
            - (24.37 - 3.7 * (h / hbs) ** 2) * math.log10(hbs)
            + (43.42 - 3.1 * math.log10(hbs)) * (math.log10(d3) - 3) + 20 * math.log10(fc_ghz)
            - (3.2 * math.log10(11.75 * hut) ** 2 - 4.97))
    return max(pl_los, nlos)


# --- reference values --------------------------------------------------------------

def test_fspl_design_value():
    assert float(fspl_db(1000.0, 3.5e9)) == pytest.approx(103.33, abs=TOL_DB)
    assert float(pathloss_db("FSPL", 1000.0, 3.5e9, 10.0, 10.0)) == pytest.approx(103.33, abs=TOL_DB)
    # doubling the distance adds 6.02 dB
    assert float(fspl_db(2000.0, 3.5e9) - fspl_db(1000.0, 3.5e9)) == pytest.approx(6.0206, abs=1e-4)


@pytest.mark.parametrize("los, expected", [(True, [83.14, 98.27, 109.41]),
                                           (False, [103.04, 129.92, 141.67])])
def test_uma_design_values(los, expected):
    pl = pathloss_38901("UMa", np.array([100.0, 500.0, 1000.0]), 3.5e9, 25.0, 1.5, los)
    np.testing.assert_allclose(pl, expected, atol=TOL_DB)


# Values computed by hand with umi_ref/rma_ref above (3.5 GHz), rounded to 0.001 dB.
UMI_CASES = [(100, True, 85.314), (500, True, 107.108), (1000, True, 119.147),
             (100, False, 104.644), (500, False, 129.265), (1000, False, 139.889)]
RMA_CASES = [(100, True, 84.198), (1000, True, 105.460), (5000, True, 125.967), (8000, True, 134.131),
             (100, False, 92.674), (1000, False, 130.424), (5000, False, 157.419)]


@pytest.mark.parametrize("d, los, expected", UMI_CASES)
def test_umi_values(d, los, expected):
    assert umi_ref(d, 3.5, 10.0, 1.5, los) == pytest.approx(expected, abs=1e-3)
    assert float(pathloss_38901("UMi", d, 3.5e9, 10.0, 1.5, los)) == pytest.approx(expected, abs=TOL_DB)


@pytest.mark.parametrize("d, los, expected", RMA_CASES)
def test_rma_values(d, los, expected):
    assert rma_ref(d, 3.5, 35.0, 1.5, los) == pytest.approx(expected, abs=1e-3)
    assert float(pathloss_38901("RMa", d, 3.5e9, 35.0, 1.5, los)) == pytest.approx(expected, abs=TOL_DB)


def test_rma_building_height_and_street_width_enter_nlos():
    got = float(pathloss_38901("RMa", 2000.0, 2e9, 40.0, 2.0, False, building_height_m=12.0,
                               street_width_m=30.0))
    assert got == pytest.approx(rma_ref(2000.0, 2.0, 40.0, 2.0, False, h=12.0, w=30.0), abs=TOL_DB)


@pytest.mark.parametrize("d2d", [[30.0, 200.0, 600.0, 2500.0]])
def test_arrays_broadcast_with_los_mask(d2d):
    los = np.array([True, False, True, False])
    pl = pathloss_38901("UMi", np.array(d2d), 3.5e9, 10.0, 1.5, los)
    expected = [umi_ref(d, 3.5, 10.0, 1.5, bool(l)) for d, l in zip(d2d, los)]
    np.testing.assert_allclose(pl, expected, atol=1e-9)
    grid = pathloss_38901("UMa", np.array([[100.0], [1000.0]]), np.array([2e9, 3.5e9, 28e9]), 25.0, 1.5)
    assert grid.shape == (2, 3)


# --- breakpoint --------------------------------------------------------------------

@settings(max_examples=60, deadline=None)
@given(h_bs=st.floats(5.0, 60.0), h_ut=st.floats(1.5, 10.0), f_ghz=st.floats(0.5, 100.0))
def test_uma_los_continuous_at_breakpoint(h_bs, h_ut, f_ghz):
    d_bp = 4 * (h_bs - 1) * (h_ut - 1) * f_ghz * 1e9 / C
    if not 10.0 < d_bp < 5000.0:
        return
    d3 = math.sqrt(d_bp ** 2 + (h_bs - h_ut) ** 2)
    pl1 = 28 + 22 * math.log10(d3) + 20 * math.log10(f_ghz)
    pl2 = 28 + 40 * math.log10(d3) + 20 * math.log10(f_ghz) - 9 * math.log10(d_bp ** 2 + (h_bs - h_ut) ** 2)
    assert pl1 == pytest.approx(pl2, abs=TOL_DB)
    below, above = pathloss_38901("UMa", [d_bp * (1 - 1e-9), d_bp * (1 + 1e-9)], f_ghz * 1e9, h_bs, h_ut)
    assert float(below) == pytest.approx(pl1, abs=TOL_DB)
    assert float(above) == pytest.approx(pl2, abs=TOL_DB)


def test_uma_breakpoint_switches_slope():
    # d'BP = 4 x 24 x 0.5 x 3.5e9 / c = 560.39 m: 22 dB/decade before, 40 after.
    d_bp = 4 * 24 * 0.5 * 3.5e9 / C
    pl = pathloss_38901("UMa", [d_bp / 2, d_bp, d_bp * 2], 3.5e9, 25.0, 1.5)
    assert pl[1] - pl[0] == pytest.approx(22 * math.log10(math.hypot(d_bp, 23.5) / math.hypot(d_bp / 2, 23.5)),
                                          abs=TOL_DB)
    assert pl[2] - pl[1] == pytest.approx(40 * math.log10(math.hypot(2 * d_bp, 23.5) / math.hypot(d_bp, 23.5)),
                                          abs=TOL_DB)


def test_umi_and_rma_continuous_at_breakpoint():
    d_bp = 4 * 9 * 0.5 * 3.5e9 / C
    a, b = pathloss_38901("UMi", [d_bp * (1 - 1e-9), d_bp * (1 + 1e-9)], 3.5e9, 10.0, 1.5)
    assert a == pytest.approx(b, abs=TOL_DB)
    d_bp = 2 * math.pi * 35 * 1.5 * 3.5e9 / C
    a, b = pathloss_38901("RMa", [d_bp * (1 - 1e-9), d_bp * (1 + 1e-9)], 3.5e9, 35.0, 1.5)
    assert a == pytest.approx(b, abs=TOL_DB)


# --- monotonicity --------------------------------------------------------------------

SCEN = st.sampled_from([("UMa", 25.0, 1.5, 5000.0), ("UMi", 10.0, 1.5, 5000.0),
                        ("RMa", 35.0, 1.5, 5000.0), ("UMa", 40.0, 12.0, 5000.0), ("RMa", 100.0, 5.0, 5000.0)])


@settings(max_examples=150, deadline=None)
@given(scen=SCEN, los=st.booleans(), f_ghz=st.floats(0.5, 30.0),
       d=st.lists(st.floats(10.0, 5000.0), min_size=2, max_size=30))
def test_pathloss_non_decreasing_in_distance(scen, los, f_ghz, d):
    name, h_bs, h_ut, _ = scen
    d = np.sort(np.array(d))
    pl = pathloss_38901(name, d, f_ghz * 1e9, h_bs, h_ut, los)
    assert np.all(np.diff(pl) >= -1e-9)


@settings(max_examples=150, deadline=None)
@given(scen=SCEN, los=st.booleans(), d=st.floats(10.0, 5000.0),
       f=st.lists(st.floats(0.5, 30.0), min_size=2, max_size=30))
def test_pathloss_non_decreasing_in_frequency(scen, los, d, f):
    name, h_bs, h_ut, _ = scen
    f = np.sort(np.array(f)) * 1e9
    pl = pathloss_38901(name, d, f, h_bs, h_ut, los)
    assert np.all(np.diff(pl) >= -1e-9)
    assert np.all(np.diff(fspl_db(d, f)) >= -1e-9)


@settings(max_examples=80, deadline=None)
@given(scen=SCEN, d=st.floats(10.0, 5000.0), f_ghz=st.floats(0.5, 30.0))
def test_nlos_never_below_los(scen, d, f_ghz):
    name, h_bs, h_ut, _ = scen
    los, nlos = pathloss_38901(name, d, f_ghz * 1e9, h_bs, h_ut, np.array([True, False]))
    assert nlos >= los


# --- validity ranges -------------------------------------------------------------------

@pytest.mark.parametrize("args, kwargs, words", [
    (("UMa", 5.0, 3.5e9, 25.0, 1.5), {}, ["UMa", "d2d_m", "[10, 5000] m", "got 5 m"]),
    (("UMa", 6000.0, 3.5e9, 25.0, 1.5), {}, ["UMa", "d2d_m", "got 6000 m"]),
    (("UMa", 100.0, 3.5e9, 25.0, 30.0), {}, ["UMa", "h_ut_m", "[1.5, 22.5]"]),
    (("UMi", 100.0, 3.5e9, 10.0, 1.0), {}, ["UMi", "h_ut_m"]),
    (("UMa", 100.0, 0.1e9, 25.0, 1.5), {}, ["UMa", "f_hz"]),
    (("UMa", 100.0, 3.5e9, 0.5, 1.5), {}, ["UMa", "h_bs_m"]),
    (("RMa", 100.0, 3.5e9, 5.0, 1.5), {}, ["RMa", "h_bs_m", "[10, 150]"]),
    (("RMa", 100.0, 3.5e9, 35.0, 12.0), {}, ["RMa", "h_ut_m", "[1, 10]"]),
    (("RMa", 7000.0, 3.5e9, 35.0, 1.5, False), {}, ["RMa", "d2d_m", "5000"]),
    (("RMa", 11000.0, 3.5e9, 35.0, 1.5, True), {}, ["RMa", "d2d_m", "10000"]),
    (("RMa", 100.0, 40e9, 35.0, 1.5), {}, ["RMa", "f_hz"]),
    (("RMa", 100.0, 3.5e9, 35.0, 1.5), {"building_height_m": 60.0}, ["building_height_m"]),
    (("UMa", float("nan"), 3.5e9, 25.0, 1.5), {}, ["d2d_m", "nan"]),
    (("SUB", 100.0, 3.5e9, 25.0, 1.5), {}, ["unknown", "SUB"]),
])
def test_validity_range_errors(args, kwargs, words):
    with pytest.raises(ValueError) as err:
        pathloss_38901(*args, **kwargs)
    for w in words:
        assert w in str(err.value)


def test_rma_los_reaches_10_km_and_other_errors():
    assert float(pathloss_38901("RMa", 7000.0, 3.5e9, 35.0, 1.5, True)) == pytest.approx(
        rma_ref(7000.0, 3.5, 35.0, 1.5, True), abs=TOL_DB)
    with pytest.raises(ValueError, match="unknown path loss model"):
        pathloss_db("Hata", 100.0, 1e9, 30.0, 1.5)
    with pytest.raises(ValueError, match="positive"):
        fspl_db(0.0, 3.5e9)
    with pytest.raises(ValueError, match="d2d_m"):   # one bad element of an array is enough
        pathloss_38901("UMa", [100.0, 9.0, 200.0], 3.5e9, 25.0, 1.5)


# --- antenna -------------------------------------------------------------------------------

def test_antenna_boresight_is_gain():
    assert float(antenna_gain_db(0.0, 90.0, 0.0, 65.0, 8.0)) == pytest.approx(8.0, abs=1e-12)
    # boresight of a 6 degree downtilt is 6 degrees below the horizon (theta = 96)
    assert float(antenna_gain_db(0.0, 96.0, 6.0, 65.0, 17.0)) == pytest.approx(17.0, abs=1e-12)
    assert float(antenna_gain_db(0.0, 90.0, 6.0, 65.0, 17.0)) == pytest.approx(
        17.0 - 12 * (6 / 65) ** 2, abs=1e-9)


def test_antenna_half_power_and_floors():
    assert float(antenna_gain_db(32.5, 90.0, 0.0, 65.0, 8.0)) == pytest.approx(5.0, abs=TOL_DB)
    assert float(antenna_gain_db(-32.5, 90.0, 0.0, 65.0, 8.0)) == pytest.approx(5.0, abs=TOL_DB)
    assert float(antenna_gain_db(0.0, 90.0 + 32.5, 0.0, 65.0, 8.0)) == pytest.approx(5.0, abs=TOL_DB)
    # back lobe and the overall floor: never below gain - 30
    assert float(antenna_gain_db(180.0, 90.0, 0.0, 65.0, 8.0)) == pytest.approx(-22.0, abs=1e-12)
    assert float(antenna_gain_db(180.0, 170.0, 0.0, 65.0, 8.0)) == pytest.approx(-22.0, abs=1e-12)
    # azimuths wrap: 350 deg off boresight is 10 deg off
    assert float(antenna_gain_db(350.0, 90.0)) == pytest.approx(float(antenna_gain_db(-10.0, 90.0)))
    phi = np.linspace(-180, 180, 361)
    g = antenna_gain_db(phi, 100.0, 3.0, 65.0, 8.0)
    assert g.max() <= 8.0 and g.min() >= 8.0 - 30.0


@settings(max_examples=60, deadline=None)
@given(phi=st.floats(-180, 180), theta=st.floats(0, 180), tilt=st.floats(-10, 20),
       bw=st.floats(30, 120), gain=st.floats(0, 25))
def test_antenna_matches_table_7_3_1(phi, theta, tilt, bw, gain):
    a_h = -min(12 * (phi / bw) ** 2, 30)
    a_v = -min(12 * ((theta - 90 - tilt) / 65) ** 2, 30)
    ref = gain - min(-(a_h + a_v), 30)
    assert float(antenna_gain_db(phi, theta, tilt, bw, gain)) == pytest.approx(ref, abs=1e-9)


# --- noise, spectral efficiency, O2I, PRBs -------------------------------------------------

def test_thermal_noise():
    assert float(thermal_noise_dbm(100e6, 7.0)) == pytest.approx(-173.98 + 80 + 7, abs=1e-9)
    assert float(thermal_noise_dbm(100e6, 7.0)) == pytest.approx(-86.98, abs=TOL_DB)
    assert float(thermal_noise_dbm(20e6, 9.0)) == pytest.approx(-173.98 + 10 * math.log10(20e6) + 9, abs=1e-9)
    with pytest.raises(ValueError, match="bandwidth_hz"):
        thermal_noise_dbm(0.0)


def test_spectral_efficiency():
    assert float(spectral_efficiency(0.0)) == pytest.approx(0.6, abs=1e-12)       # log2(2) = 1
    assert float(spectral_efficiency(10.0)) == pytest.approx(0.6 * math.log2(11.0), abs=1e-12)
    # cap: 0.6 log2(1 + x) = 5.5 at x = 2^(5.5/0.6) - 1, i.e. 27.6 dB
    cap_db = 10 * math.log10(2 ** (5.5 / 0.6) - 1)
    assert float(spectral_efficiency(cap_db + 0.01)) == 5.5
    assert float(spectral_efficiency(60.0)) == 5.5
    assert float(spectral_efficiency(cap_db - 1)) < 5.5
    assert float(spectral_efficiency(-10.5)) == 0.0
    assert float(spectral_efficiency(-np.inf)) == 0.0
    s = spectral_efficiency(np.linspace(-10, 40, 501))
    assert np.all(np.diff(s) >= 0)


def test_o2i_low_loss():
    fc = 3.5
    l_glass, l_concrete = 2 + 0.2 * fc, 5 + 4 * fc
    pl_tw = 5 - 10 * math.log10(0.3 * 10 ** (-l_glass / 10) + 0.7 * 10 ** (-l_concrete / 10))
    assert pl_tw == pytest.approx(12.70, abs=TOL_DB)
    assert float(o2i_low_loss_db(3.5e9)) == pytest.approx(pl_tw, abs=1e-9)
    assert float(o2i_low_loss_db(3.5e9, 10.0)) == pytest.approx(pl_tw + 5.0, abs=1e-9)
    assert float(o2i_low_loss_db(3.5e9, 40.0)) == pytest.approx(pl_tw + 12.5, abs=1e-9)   # capped at 25 m


def test_n_prb():
    assert n_prb(np.array([5e6, 10e6, 20e6, 40e6, 50e6, 100e6])).tolist() == [11, 24, 51, 106, 133, 273]
    assert int(n_prb(35e6)) == math.floor(35e6 / 360e3 * 0.98)
    with pytest.raises(ValueError, match="resource block"):
        n_prb(100e3)
