"""Energy per site kind (EARTH, DESIGN.md section 5) and the scene seed."""

from __future__ import annotations

import math

import numpy as np
import pytest

import twin3d
from twin3d.physics.energy import EARTH, TRX_PER_SECTOR, site_power_w
from twin3d.sim.engine import simulate
from twin3d.sim.power import CellPower, total_energy_w

from conftest import SCENES, write_cascade_scene


@pytest.mark.parametrize("klass, full, idle, asleep", [
    ("macro", 1344.0, 780.0, 450.0),           # 6 x (130 + 4.7 x 20), 6 x 130, 6 x 75
    ("micro", 144.76, 112.0, 78.0),            # 2 x (56 + 2.6 x 6.3), 2 x 56, 2 x 39
    ("pico", 14.64, 13.6, 8.6),                # 2 x (6.8 + 4 x 0.13), 2 x 6.8, 2 x 4.3
])
def test_earth_reference_values(klass, full, idle, asleep):
    p = site_power_w([1.0, 0.0, 0.0], sleeping=[False, False, True], **EARTH[klass])
    np.testing.assert_allclose(p, [full, idle, asleep], rtol=1e-12)


def test_power_by_site_kind():
    # a 3-sector macro, a 3-sector mast, a 1-sector small cell, a central office without cells
    kinds = ["macro", "mast", "small", "central_office"]
    cell_site = np.array([0, 0, 0, 1, 1, 1, 2])
    cp = CellPower(kinds, cell_site)
    assert 3 * TRX_PER_SECTOR == EARTH["macro"]["n_trx"] and TRX_PER_SECTOR == EARTH["micro"]["n_trx"]
    full = cp.site_power_w(np.ones(7), ["up"] * 4)
    np.testing.assert_allclose(full[:3], [1344.0, 1344.0, 144.76])
    assert math.isnan(full[3])
    idle = cp.site_power_w(np.zeros(7), ["up", "sleep", "sleep", "up"])
    np.testing.assert_allclose(idle[:3], [780.0, 450.0, 78.0])
    off = cp.site_power_w(np.full(7, 0.5), ["down", "off", "up", "up"])
    np.testing.assert_allclose(off[:3], [0.0, 0.0, 2 * (56 + 2.6 * 0.5 * 6.3)])
    # loads past 1 (an overloaded cell) count as full
    np.testing.assert_allclose(cp.site_power_w(np.full(7, 3.0), ["up"] * 4)[:3], full[:3])
    assert total_energy_w(full) == pytest.approx(1344 * 2 + 144.76)


def test_backbone_energy_is_nan_not_zero(tmp_path):
    res = simulate(twin3d.load_scene(write_cascade_scene(tmp_path)))["cut"]
    assert all(math.isnan(s.kpis["energy_w"]) for s in res.steps)
    assert np.isnan(res.steps[0].site_power_w).all()
    assert res.kpi_json()["steps"][0]["energy_w"] is None


def test_scene_seed_is_the_default_seed(tmp_path):
    scene = twin3d.load_scene(write_cascade_scene(tmp_path))
    assert scene.seed == 0                                  # absent: 0
    assert scene.rng().random() == np.random.default_rng(0).random()
    assert scene.rng(5).random() == np.random.default_rng(5).random()
    path = tmp_path / "cascade.toml"
    path.write_text(path.read_text().replace('name = "cascade"', 'name = "cascade"\nseed = 42'))
    scene = twin3d.load_scene(path)
    assert scene.seed == 42 and scene.rng().random() == np.random.default_rng(42).random()


def test_cell_power_equals_the_earth_model_per_cell():
    """CellPower's per-step arithmetic (parameters checked once) against
    twin3d.physics.energy.site_power_w summed per site by hand."""
    rng = np.random.default_rng(0)
    kinds = ["macro", "small", "micro", "pico", "central_office"]
    cell_site = rng.integers(0, 4, 40)
    cp = CellPower(kinds, cell_site)
    for _ in range(100):
        load = rng.random(40) * 1.5 - 0.2
        load[rng.random(40) < 0.1] = np.nan
        states = list(rng.choice(["up", "sleep", "down", "off"], len(kinds)))
        asleep = rng.random(40) < 0.3
        got = cp.site_power_w(load, states, asleep)
        want = np.full(len(kinds), np.nan)
        for s in range(len(kinds)):
            cells = np.flatnonzero(cell_site == s)
            if not len(cells):
                continue
            total = 0.0
            for c in cells:
                if states[s] in ("down", "off"):
                    p = 0.0
                else:
                    p = float(site_power_w(np.clip(np.nan_to_num(load[c]), 0, 1), n_trx=TRX_PER_SECTOR,
                                           sleeping=states[s] == "sleep" or asleep[c],
                                           **{k: v[c] for k, v in cp.params.items()}))
                total += p
            want[s] = total
        np.testing.assert_allclose(got, want, rtol=1e-12, equal_nan=True)
