"""Fibre delay and optical budget; the EARTH site power model."""

from __future__ import annotations

import numpy as np
import pytest

from twin3d.physics.energy import EARTH_MACRO, site_power_w
from twin3d.physics.fiber import optical_budget_db, optical_margin_db, propagation_delay_s


def test_propagation_delay_4_897_us_per_km():
    d = propagation_delay_s(np.array([1000.0, 100_000.0, 0.0]))
    assert d[0] * 1e6 == pytest.approx(4.897, abs=0.001)
    assert d[1] * 1e3 == pytest.approx(0.4897, abs=1e-4)
    assert d[2] == 0.0
    assert propagation_delay_s(1000.0, n=1.0) == pytest.approx(1000 / 299_792_458.0)


def test_optical_budget_and_margin():
    # 80 km at 0.22 dB/km, 20 splices, 4 connectors, 3 dB margin
    loss = optical_budget_db(80_000, 0.22, n_splices=20, n_connectors=4)
    assert loss == pytest.approx(17.6 + 2.0 + 2.0 + 3.0)
    assert optical_margin_db(2.0, -28.0, loss) == pytest.approx(30.0 - 24.6)
    many = optical_budget_db(np.array([0.0, 10_000.0]), 0.3, n_splices=0, n_connectors=0,
                             margin_db=0.0)
    assert many.tolist() == pytest.approx([0.0, 3.0])


@pytest.mark.parametrize("kw, name", [({"length_m": -1.0}, "length_m"),
                                      ({"attenuation_db_per_km": float("nan")}, "attenuation"),
                                      ({"n_splices": -2}, "n_splices")])
def test_optical_budget_rejects_bad_input(kw, name):
    args = {"length_m": 1000.0, "attenuation_db_per_km": 0.25} | kw
    with pytest.raises(ValueError, match=name):
        optical_budget_db(**args)
    with pytest.raises(ValueError, match="group index"):
        propagation_delay_s(1.0, n=0.5)


def test_earth_macro_site():
    """Auer et al. 2011, macro: 6 TRX x (130 W + 4.7 x 20 W) at full load."""
    assert EARTH_MACRO == {"n_trx": 6, "p_max_w": 20.0, "p0_w": 130.0, "delta_p": 4.7,
                           "p_sleep_w": 75.0}
    p = site_power_w(np.array([1.0, 0.5, 0.0, 0.3]), sleeping=np.array([False, False, False, True]))
    assert p.tolist() == pytest.approx([1344.0, 6 * (130 + 4.7 * 10), 780.0, 450.0])


def test_power_is_linear_in_load_and_broadcasts():
    load = np.linspace(0, 1, 11)
    p = site_power_w(load[:, None], n_trx=np.array([1, 3]))
    assert p.shape == (11, 2)
    assert np.allclose(np.diff(p[:, 0]), 4.7 * 20 * 0.1)
    assert np.allclose(p[:, 1], 3 * p[:, 0])
    assert site_power_w(0.2, p0_w=0.0, delta_p=1.0, p_max_w=10.0, n_trx=1) == pytest.approx(2.0)


@pytest.mark.parametrize("kw, name", [({"load_fraction": 1.5}, "load_fraction"),
                                      ({"load_fraction": -0.1}, "load_fraction"),
                                      ({"load_fraction": 0.5, "p0_w": -1}, "p0_w")])
def test_site_power_rejects_bad_input(kw, name):
    with pytest.raises(ValueError, match=name):
        site_power_w(**kw)
