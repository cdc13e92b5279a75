"""Surges and DDoS apply in every scene; an event that cannot apply is an error."""

from __future__ import annotations

import numpy as np
import pytest

import twin3d
from twin3d.errors import InputError
from twin3d.scene import ScenarioSpec
from twin3d.sim.demand import profile_factor
from twin3d.sim.engine import Simulator, simulate

from conftest import ASSETS, SCENES, write_cascade_scene

BACKBONE = f"""
[scene]
name = "funet"
[[source]]
kind = "graphml"
path = "{ASSETS / 'topologyzoo' / 'Funet.graphml'}"
default_capacity_bps = 100e9
[traffic]
busy_hour_bps = 60e9
metric = "latency"
[[area]]
name = "capital"
center = {{ lon = 24.80, lat = 60.19 }}
radius_m = 12000
[[area]]
name = "lake"
center = {{ lon = 27.0, lat = 62.0 }}
radius_m = 5000
[[scenario]]
name = "s"
steps = 24
events = [EVENTS]
"""


def backbone(tmp_path, events: str):
    p = tmp_path / "funet.toml"
    p.write_text(BACKBONE.replace("EVENTS", events))
    return p


def kpi(res, key):
    return np.array([s.kpis[key] for s in res.steps])


def touching(demands, members):
    return sum(v for (a, b), v in demands.items() if a in members or b in members)


def test_backbone_surge_factor_on_a_site(tmp_path):
    scene = twin3d.load_scene(backbone(tmp_path, '{ t = 20, kind = "surge", target = "Oulu", '
                                                  'factor = 3.0, duration = 2 }'))
    sim = Simulator(scene)
    res = sim.run(scene.spec.scenarios[0])
    # gravity: Oulu's share of the matrix is 2 m_O sum_j m_j / (sum_ij m_i m_j), scaled by 3 - 1
    extra = 2.0 * touching(sim.base_demands, {"Oulu"}) * profile_factor(np.arange(24))
    quiet = sim.run(ScenarioSpec("quiet", 24))
    got = kpi(res, "offered_bps") - kpi(quiet, "offered_bps")
    np.testing.assert_allclose(got[20:22], extra[20:22], rtol=1e-9)
    assert np.all(got[:20] == 0) and np.all(got[22:] == 0)
    oulu = [i for i, l in enumerate(res.link_ids) if "Oulu" in l.split("--")]
    assert np.all(res.steps[20].link_load_bps[oulu] > quiet.steps[20].link_load_bps[oulu])


def test_backbone_surge_bps_spreads_by_gravity(tmp_path):
    scene = twin3d.load_scene(backbone(tmp_path, '{ t = 21, kind = "surge", target = "Oulu", '
                                                  'bps = 8e9, duration = 1 }'))
    sim = Simulator(scene)
    res = sim.run(scene.spec.scenarios[0])
    quiet = sim.run(ScenarioSpec("quiet", 24))
    assert res.steps[21].kpis["offered_bps"] - quiet.steps[21].kpis["offered_bps"] == pytest.approx(8e9)
    assert res.steps[20].kpis["offered_bps"] == quiet.steps[20].kpis["offered_bps"]
    np.testing.assert_array_equal(res.steps[20].link_load_bps, quiet.steps[20].link_load_bps)
    # Oulu's three links carry the added 8 Gbit/s in and out: their load grows by half of it each way
    oulu = [i for i, l in enumerate(res.link_ids) if "Oulu" in l.split("--")]
    assert len(oulu) == sim.node_mass[list(sim.router.nodes).index("Oulu")] == 3
    grow = res.steps[21].link_load_bps[oulu].sum() - quiet.steps[21].link_load_bps[oulu].sum()
    assert grow == pytest.approx(4e9, rel=1e-6)     # busier direction of each link: the added half


def test_backbone_surge_on_an_area(tmp_path):
    scene = twin3d.load_scene(backbone(tmp_path, '{ t = 21, kind = "surge", area = "capital", '
                                                  'factor = 2.0 }'))
    sim = Simulator(scene)
    assert sorted(sim.area_members["capital"]) == ["Espoo", "Helsinki"]
    res = sim.run(scene.spec.scenarios[0])
    quiet = sim.run(ScenarioSpec("quiet", 24))
    extra = touching(sim.base_demands, {"Espoo", "Helsinki"})        # x2: once more
    assert res.steps[21].kpis["offered_bps"] - quiet.steps[21].kpis["offered_bps"] == pytest.approx(extra)


@pytest.mark.parametrize("event, field, message", [
    ('{ t = 1, kind = "surge", area = "lake", factor = 2.0 }', "area",
     "surge on area 'lake', which holds no site"),
    ('{ t = 1, kind = "power_down", target = "Oulu" }', "target",
     "power_down of site 'Oulu', which has no radio cells"),
    ('{ t = 1, kind = "add_site", target = "Oulu" }', "target",
     "add_site of site 'Oulu', whose state is already 'up'"),
])
def test_events_that_cannot_apply_are_errors(tmp_path, event, field, message):
    with pytest.raises(InputError, match=message) as exc:
        twin3d.load_scene(backbone(tmp_path, event))
    assert exc.value.field == field and "event 1" in str(exc.value)


def test_surge_on_a_site_without_demand(tmp_path):
    # the cascade scene's demand file has A -> B only: C has no demand to scale
    path = write_cascade_scene(tmp_path)
    path.write_text(path.read_text().replace('{ t = 3, kind = "restore", target = "AB" }',
                                             '{ t = 3, kind = "surge", target = "C", factor = 2.0 }'))
    with pytest.raises(InputError, match="surge on site 'C', which has no demand to scale"):
        Simulator(twin3d.load_scene(path))
    path.write_text(path.read_text().replace('target = "C", factor = 2.0', 'target = "C", bps = 2e9'))
    res = simulate(twin3d.load_scene(path))["cut"]
    assert res.steps[3].kpis["offered_bps"] == pytest.approx(11e9)


def test_radio_surge_on_a_site_without_cells(tmp_path):
    text = (SCENES / "helsinki.toml").read_text().replace('"../assets', f'"{ASSETS}')
    text += ('\n[[scenario]]\nname = "core_surge"\n'
             'events = [{ t = 19, kind = "surge", target = "CO-1", factor = 3.0 }]\n')
    (tmp_path / "h.toml").write_text(text)
    with pytest.raises(InputError, match="surge on site 'CO-1', which has no radio cells") as exc:
        twin3d.load_scene(tmp_path / "h.toml")
    assert "core_surge" in str(exc.value)


def test_cli_prints_one_line_and_exits_2(tmp_path, cli_in_process):
    r = cli_in_process("simulate", backbone(tmp_path, '{ t = 1, kind = "surge", area = "lake", factor = 2.0 }'))
    assert r.returncode == 2 and "Traceback" not in r.stderr
    msg = (r.stdout + r.stderr).strip()
    assert "surge on area 'lake'" in msg and len(msg.splitlines()) == 1
