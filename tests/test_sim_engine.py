"""Scenarios on the bundled Helsinki scene: each event shows in the KPIs it should move."""

from __future__ import annotations

import numpy as np
import pytest

import twin3d
from twin3d.errors import InputError
from twin3d.sim.demand import DIURNAL_PROFILE, gravity_demands, profile_factor
from twin3d.sim.engine import FIXED_ATTR, Simulator, simulate
from twin3d.sim.kpi import weighted_percentile

from conftest import SCENES


@pytest.fixture(scope="module")
def helsinki():
    scene = twin3d.load_scene(SCENES / "helsinki.toml")
    return scene, simulate(scene)


@pytest.fixture(scope="module")
def helsinki_38901(helsinki_uma):
    """The surge and night scenarios under TR 38.901 UMa, the model their thresholds were set
    with (under the default geometric model the night sleep costs 1.4 coverage points and the
    surge fills F-11 to 0.78)."""
    scene = twin3d.load_scene(helsinki_uma)
    sim = Simulator(scene)
    return scene, {s.name: sim.run(s) for s in scene.spec.scenarios
                   if s.name in ("baseline_day", "stadium_surge", "night_energy_saving")}


def kpi(res, name, key):
    return np.array([s.kpis[key] for s in res[name].steps])


def fixed_bps(scene) -> dict[str, float]:
    """Each site's fixed and enterprise traffic at the busy hour, from the scene data."""
    return {s.id: float(s.attrs.get(FIXED_ATTR, 0.0)) for s in scene.twin.sites.values()}


def role(scene, lid):
    return scene.twin.links[lid].attrs["role"]


def util(step, res, lid):
    return step.link_util[res.link_ids.index(lid)]


def load(step, res, lid):
    return step.link_load_bps[res.link_ids.index(lid)]


def test_all_six_scenarios_run_24_steps(helsinki):
    _, res = helsinki
    assert list(res) == ["baseline_day", "fiber_cut_evening_peak", "site_outage", "stadium_surge",
                         "ddos_core", "night_energy_saving"]
    assert all(len(r.steps) == 24 for r in res.values())


def test_offered_follows_the_diurnal_profile(helsinki):
    scene, res = helsinki
    offered = kpi(res, "baseline_day", "offered_bps")
    # mobile users' demand plus the fixed lines the sites aggregate, both on the diurnal profile
    busy = scene.spec.traffic.busy_hour_bps + sum(fixed_bps(scene).values())
    assert busy == pytest.approx(1.5e9 + 6 * 1.2e9 + 4 * 0.45e9)
    np.testing.assert_allclose(offered, busy * DIURNAL_PROFILE, rtol=1e-9)
    served, dropped = kpi(res, "baseline_day", "served_bps"), kpi(res, "baseline_day", "dropped_bps")
    assert np.all(served <= offered + 1e-6) and np.allclose(served + dropped, offered)
    # busier hours leave less throughput per user
    thr = kpi(res, "baseline_day", "throughput_p50_bps")
    assert thr[4] > thr[21] > 0


def test_backhaul_carries_what_the_cells_serve(helsinki):
    scene, res = helsinki
    base = res["baseline_day"]
    step = base.steps[21]
    # no transport loss in the baseline: every served bit crossed the fibre to its site
    assert step.kpis["served_bps"] == pytest.approx(step.site_load_bps.sum(), rel=1e-9)
    site_load = dict(zip(base.site_ids, step.site_load_bps))
    # a site's load is what its cells serve plus its fixed lines: at most 3 cells' worth of radio
    fixed = fixed_bps(scene)
    for sid, b in site_load.items():
        assert fixed[sid] <= b <= fixed[sid] + 3 * 0.6e9      # 5.5 b/s/Hz x 100 MHz per cell cap
    # each 1G spur carries exactly its tail site's load; the ring spans out of the core carry
    # the sites on their side of the ring (CO-1 to HEL-03 one way, to HEL-09 the other)
    for lid, link in scene.twin.links.items():
        if role(scene, lid) == "spur":
            tail = link.b
            assert load(step, base, lid) == pytest.approx(
                site_load[tail] + sum(site_load[l.b] for l in scene.twin.links.values()
                                      if l.a == tail and role(scene, l.id) == "spur"))
            assert util(step, base, lid) == pytest.approx(load(step, base, lid) / 1e9)
    west = ["HEL-01", "HEL-02", "MAST-n1682211174", "HEL-03"]
    east = ["HEL-07", "HEL-04", "HEL-08", "HEL-09"]
    assert load(step, base, "F-01") == pytest.approx(sum(site_load[s] for s in west))
    assert load(step, base, "F-07") == pytest.approx(sum(site_load[s] for s in east))
    # busy hour: tens of percent on the 10G ring, spurs past half, nothing saturated
    assert 0.3 < util(step, base, "F-01") < 0.6 and 0.3 < util(step, base, "F-07") < 0.6
    assert 0.5 < step.kpis["util_max"] < 0.8 and 0.25 < step.kpis["util_mean"] < 0.5
    assert all(s.kpis["converged"] for r in res.values() for s in r.steps)


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
    # the span left at the core carries both sides of the ring: about 90 % at 21:00
    s, b = cut.steps[21], base.steps[21]
    assert load(s, cut, "F-07") == pytest.approx(load(b, base, "F-01") + load(b, base, "F-07"))
    assert s.kpis["util_max"] == pytest.approx(util(s, cut, "F-07")) and 0.85 < util(s, cut, "F-07") < 1.0
    # the sites behind the cut are reached the long way round the ring
    # (1.8x the median at 19:00 with the indoor users served from their facades, 2.2x before)
    assert cut.steps[19].kpis["latency_p50_ms"] > 1.5 * base.steps[19].kpis["latency_p50_ms"]
    assert cut.steps[18].events == ["fiber_cut F-01"] and cut.steps[22].events == ["restore F-01"]


def test_site_outage_moves_users_to_neighbours(helsinki):
    scene, res = helsinki
    out, base = res["site_outage"], res["baseline_day"]
    j = out.site_ids.index("HEL-05")
    assert [s.site_state[j] for s in out.steps[18:24]] == ["up", "down", "down", "down", "down", "up"]
    assert out.steps[19].radio_key != base.steps[19].radio_key
    assert len(out.radio_maps) == 2
    s, b = out.steps[21], base.steps[21]
    assert s.site_power_w[j] == 0.0 and s.site_load_bps[j] == 0.0
    # the site drew between EARTH's idle and full macro power before it failed
    assert 780.0 < b.site_power_w[j] < 1344.0
    assert s.kpis["energy_w"] < b.kpis["energy_w"]
    assert s.kpis["coverage_pct"] < b.kpis["coverage_pct"]
    assert s.kpis["failed_elements"] == 1
    # its spur goes dark and its fixed lines are lost with it
    assert load(s, out, "F-11") == 0.0
    assert s.kpis["dropped_bps"] - b.kpis["dropped_bps"] >= fixed_bps(scene)["HEL-05"] * profile_factor(21)
    assert out.steps[23].kpis == base.steps[23].kpis


def test_stadium_surge_adds_the_crowd(helsinki_38901):
    scene, res = helsinki_38901
    surge, base = res["stadium_surge"], res["baseline_day"]
    for t in (19, 20, 21):
        extra = surge.steps[t].kpis["offered_bps"] - base.steps[t].kpis["offered_bps"]
        assert extra == pytest.approx(1.5e9 * profile_factor(t), rel=1e-9)
        assert surge.steps[t].kpis["dropped_bps"] > base.steps[t].kpis["dropped_bps"]
        # the square is HEL-05's: what its cells serve more crosses its 1G spur
        j = surge.site_ids.index("HEL-05")
        more = surge.steps[t].site_load_bps[j] - base.steps[t].site_load_bps[j]
        # its cells saturate: they carry a fraction of the crowd, the rest is dropped
        assert 0.1e9 < more < 0.5 * extra
        # (neighbours' cells at the square's edge serve some too)
        served = surge.steps[t].kpis["served_bps"] - base.steps[t].kpis["served_bps"]
        assert more < served < 0.5 * extra
        assert load(surge.steps[t], surge, "F-11") - load(base.steps[t], base, "F-11") \
            == pytest.approx(more)
    assert util(surge.steps[21], surge, "F-11") > 0.8 > util(base.steps[21], base, "F-11")
    assert surge.steps[22].kpis == base.steps[22].kpis


def test_ddos_saturates_the_core_links(helsinki):
    _, res = helsinki
    ddos, base = res["ddos_core"], res["baseline_day"]
    s = ddos.steps[20]
    assert s.kpis["offered_bps"] == pytest.approx(base.steps[20].kpis["offered_bps"] + 11e9)
    # 11 Gbit/s from the 10 other sites: 1.1 Gbit/s up each 1G spur, past its capacity
    for lid in ("F-08", "F-09", "F-10", "F-11"):
        assert util(s, ddos, lid) == pytest.approx(11e9 / 10 / 1e9)
    assert s.kpis["util_max"] == pytest.approx(1.1) and s.kpis["dropped_bps"] > 0.3e9
    assert s.kpis["latency_p95_ms"] >= 50.0 > base.steps[20].kpis["latency_p95_ms"]
    assert s.waves == []                     # 1.1 stays under the 1.2 trip threshold
    assert ddos.steps[22].kpis == base.steps[22].kpis


def test_night_energy_saving_keeps_coverage(helsinki_38901):
    _, res = helsinki_38901
    night, base = res["night_energy_saving"], res["baseline_day"]
    asleep = [night.site_ids.index(s) for s in ("HEL-05", "HEL-07", "HEL-08")]
    co = night.site_ids.index("CO-1")
    for t in range(6):
        s = night.steps[t]
        # EARTH macro sleep: 6 TRX x 75 W; the central office has no radio energy model
        np.testing.assert_array_equal(s.site_power_w[asleep], 450.0)
        assert np.isnan(s.site_power_w[co]) and s.kpis["energy_w"] == pytest.approx(np.nansum(s.site_power_w))
        assert night.steps[t].kpis["energy_w"] < 0.9 * base.steps[t].kpis["energy_w"]
        # the night trough: the fibre runs at the profile's share of its busy-hour load
        assert s.kpis["util_max"] < 1.1 * profile_factor(t) * base.steps[21].kpis["util_max"]
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
