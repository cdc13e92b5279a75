"""Scenarios on the bundled Helsinki scene: each event shows in the KPIs it should move."""

from __future__ import annotations

import numpy as np
import pytest

import twin3d
from twin3d.errors import InputError
from twin3d.sim.demand import DIURNAL_PROFILE, gravity_demands, profile_factor
from twin3d.sim.engine import simulate
from twin3d.sim.kpi import weighted_percentile

from conftest import SCENES


@pytest.fixture(scope="module")
def helsinki():
    scene = twin3d.load_scene(SCENES / "helsinki.toml")
    return scene, simulate(scene)


def kpi(res, name, key):
    return np.array([s.kpis[key] for s in res[name].steps])


def test_all_six_scenarios_run_24_steps(helsinki):
    _, res = helsinki
    assert list(res) == ["baseline_day", "fiber_cut_evening_peak", "site_outage", "stadium_surge",
                         "ddos_core", "night_energy_saving"]
    assert all(len(r.steps) == 24 for r in res.values())


def test_offered_follows_the_diurnal_profile(helsinki):
    scene, res = helsinki
    offered = kpi(res, "baseline_day", "offered_bps")
    np.testing.assert_allclose(offered, scene.spec.traffic.busy_hour_bps * DIURNAL_PROFILE, rtol=1e-9)
    served, dropped = kpi(res, "baseline_day", "served_bps"), kpi(res, "baseline_day", "dropped_bps")
    assert np.all(served <= offered + 1e-6) and np.allclose(served + dropped, offered)
    # busier hours leave less throughput per user
    thr = kpi(res, "baseline_day", "throughput_p50_bps")
    assert thr[4] > thr[21] > 0


def test_backhaul_carries_what_the_cells_serve(helsinki):
    _, res = helsinki
    step = res["baseline_day"].steps[21]
    # no transport loss in the baseline: every served bit crossed the fibre to its site
    assert step.kpis["served_bps"] == pytest.approx(step.site_load_bps.sum(), rel=1e-9)
    assert step.kpis["util_max"] < 0.05          # a 100G ring barely notices a 1.5G busy hour


def test_fiber_cut_reroutes_around_the_ring(helsinki):
    _, res = helsinki
    cut, base = res["fiber_cut_evening_peak"], res["baseline_day"]
    i = cut.link_ids.index("F-01")
    for t in range(24):
        s = cut.steps[t]
        assert s.link_state[i] == ("cut" if 18 <= t < 22 else "up")
        if s.link_state[i] != "up":
            assert s.link_load_bps[i] == 0.0 and s.link_util[i] == 0.0
    # nothing is lost on a ring, but the other ring spans carry more
    assert cut.steps[19].kpis["served_bps"] == pytest.approx(base.steps[19].kpis["served_bps"])
    assert cut.steps[19].kpis["util_mean"] > base.steps[19].kpis["util_mean"]
    # the sites behind the cut are reached the long way round the ring
    assert cut.steps[19].kpis["latency_p50_ms"] > 2 * base.steps[19].kpis["latency_p50_ms"]
    assert cut.steps[18].events == ["fiber_cut F-01"] and cut.steps[22].events == ["restore F-01"]


def test_site_outage_moves_users_to_neighbours(helsinki):
    _, res = helsinki
    out, base = res["site_outage"], res["baseline_day"]
    j = out.site_ids.index("HEL-05")
    assert [s.site_state[j] for s in out.steps[9:15]] == ["up", "down", "down", "down", "down", "up"]
    assert out.steps[10].radio_key != base.steps[10].radio_key
    assert len(out.radio_maps) == 2
    assert out.steps[11].site_power_w[j] == 0.0 and out.steps[11].site_load_bps[j] == 0.0
    assert out.steps[11].kpis["energy_w"] < base.steps[11].kpis["energy_w"]
    assert out.steps[11].kpis["coverage_pct"] < base.steps[11].kpis["coverage_pct"]
    assert out.steps[11].kpis["failed_elements"] == 1
    assert out.steps[15].kpis == base.steps[15].kpis


def test_stadium_surge_adds_the_crowd(helsinki):
    scene, res = helsinki
    surge, base = res["stadium_surge"], res["baseline_day"]
    for t in (19, 20, 21):
        extra = surge.steps[t].kpis["offered_bps"] - base.steps[t].kpis["offered_bps"]
        assert extra == pytest.approx(1.5e9 * profile_factor(t), rel=1e-9)
        assert surge.steps[t].kpis["dropped_bps"] > base.steps[t].kpis["dropped_bps"]
    assert surge.steps[22].kpis == base.steps[22].kpis


def test_ddos_saturates_the_core_links(helsinki):
    _, res = helsinki
    ddos, base = res["ddos_core"], res["baseline_day"]
    s = ddos.steps[20]
    assert s.kpis["offered_bps"] == pytest.approx(base.steps[20].kpis["offered_bps"] + 280e9)
    assert s.kpis["util_max"] > 1.0 and s.kpis["dropped_bps"] > 1e10
    assert s.kpis["latency_p95_ms"] >= 50.0 > base.steps[20].kpis["latency_p95_ms"]
    assert s.waves == []                     # 1.12 stays under the 1.2 trip threshold
    assert ddos.steps[22].kpis == base.steps[22].kpis


def test_night_energy_saving_keeps_coverage(helsinki):
    _, res = helsinki
    night, base = res["night_energy_saving"], res["baseline_day"]
    for t in range(6):
        assert night.steps[t].kpis["energy_w"] < 0.9 * base.steps[t].kpis["energy_w"]
        assert night.steps[t].kpis["coverage_pct"] >= base.steps[t].kpis["coverage_pct"] - 0.5
        assert sorted(s for s, st in zip(night.site_ids, night.steps[t].site_state) if st == "sleep") \
            == ["HEL-05", "HEL-07", "HEL-08"]
    assert night.steps[6].kpis == base.steps[6].kpis


def test_deterministic(helsinki):
    scene, res = helsinki
    again = simulate(scene, "site_outage")["site_outage"]
    assert [s.kpis for s in again.steps] == [s.kpis for s in res["site_outage"].steps]


def test_backbone_cascade_scenario():
    res = simulate(twin3d.load_scene(SCENES / "nordic_backbone.toml"))["link_failure_cascade"]
    s = res.steps[21]
    assert [w["wave"] for w in s.waves] == [1, 2]
    assert s.waves[0]["caused_by"] == ["fiber_cut Oulu--Kokkola"]
    assert all(u > 1.2 for w in s.waves for u in w["utilization"].values())
    assert s.kpis["failed_elements"] == 1 + sum(len(w["tripped"]) for w in s.waves)
    assert s.kpis["dropped_bps"] > 0 and res.steps[20].kpis["dropped_bps"] == 0


def test_unknown_scenario_name():
    scene = twin3d.load_scene(SCENES / "nordic_backbone.toml")
    with pytest.raises(InputError, match="no scenario named 'nope'.*link_failure_cascade"):
        simulate(scene, "nope")


def test_gravity_and_percentiles():
    d = gravity_demands(["a", "b", "c"], np.array([1.0, 2.0, 3.0]), 22.0)
    # m_i m_j over all ordered pairs: 2+3+6, twice = 22
    assert d[("b", "c")] == pytest.approx(6.0) and d[("a", "b")] == pytest.approx(2.0)
    assert weighted_percentile([10, 20, 30], 95, [1, 1, 98]) == 30.0
    assert np.isnan(weighted_percentile([np.nan], 50))
