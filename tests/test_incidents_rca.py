"""Counterfactual root cause: hand-built incidents where the answer is known."""

from __future__ import annotations

import copy
import doctest

import numpy as np
import pytest
from envs_scenes import write_ring_scene

import twin3d
from twin3d.incidents import Fault, WindowSpec, run_window
from twin3d.incidents import rca as rca_module
from twin3d.incidents import scoring, telemetry
from twin3d.incidents.hypotheses import noisy_sample_count as excess_per_step_count
from twin3d.incidents.rca import correlation_baseline, rank_root_causes
from twin3d.sim.engine import Simulator
from conftest import SCENES


@pytest.fixture(scope="module")
def ring(tmp_path_factory):
    return Simulator(twin3d.load_scene(write_ring_scene(tmp_path_factory.mktemp("ring"))))


@pytest.fixture(scope="module")
def abilene():
    return Simulator(twin3d.load_scene(SCENES / "topologyzoo" / "Abilene.toml"))


@pytest.fixture(scope="module")
def helsinki():
    return Simulator(twin3d.load_scene(SCENES / "helsinki.toml"))


def _noisy(tel, rng, rel=0.02, missing=0.01):
    """SANDBOX.md section 6's measurement noise and missing samples, and alarms 0-2 steps late."""
    t = copy.deepcopy(tel)
    for ms in t.values.values():
        for m, v in ms.items():
            if m not in scoring.EXACT:              # states are not measured with noise
                v *= 1 + rel * rng.standard_normal(v.shape)
            v[rng.random(v.shape) < missing] = np.nan
    for v in t.alarms.values():
        for i in np.flatnonzero(v.any(axis=0)):
            d = int(rng.integers(0, 3))
            s = v[:, i].copy()
            v[:, i] = False
            v[d:, i] = s[:v.shape[0] - d]
    return t


def test_ring_cut_is_named_though_the_symptom_is_elsewhere(ring):
    """A--B--C--D ring, 2 Gbit/s per ordered pair at 21:00: cutting AB puts 3.9 Gbit/s more on
    the 7 Gbit/s CD (5.85 Gbit/s, utilization 0.836 -> 1.11 with ECMP over both ways round)."""
    w = WindowSpec(start_hour=21.0, steps=8)
    run = run_window(ring, w, [Fault("fiber_cut", "link:AB", 3)])
    cd = ring.link_index["CD"]
    assert run.steps[3].link_util[cd] == pytest.approx(7.8e9 / 7e9, rel=1e-3)   # busy hour 0.99 x ...
    assert run.telemetry.alarms["HIGH_UTIL"][3:, cd].all()
    ranked = rank_root_causes(ring, w, run.telemetry)
    top = ranked[0]
    assert (top["element"], top["fault_kind"], top["onset_step"]) == ("link:AB", "fiber_cut", 3)
    assert top["verified"] is True
    assert "link:CD" in top["explanation"] and "Gbit/s" in top["explanation"]
    scores = [c["score"] for c in ranked]
    assert scores == sorted(scores, reverse=True) and sum(scores) == pytest.approx(1.0)
    # the symptom link shouts as loud as the cut one: correlation cannot tell them apart
    assert {c["element"] for c in correlation_baseline(run.telemetry)[:2]} == {"link:AB", "link:CD"}


def test_ring_degradation_trips_the_neighbour_not_itself(ring):
    """CD keeps 30 % of 7 Gbit/s: 2.1 Gbit/s against 3.9 offered trips it; its load moves on."""
    w = WindowSpec(start_hour=21.0, steps=8)
    run = run_window(ring, w, [Fault("capacity_degradation", "link:CD", 2, magnitude=0.3)])
    ranked = rank_root_causes(ring, w, _noisy(run.telemetry, np.random.default_rng(3)))
    assert (ranked[0]["element"], ranked[0]["fault_kind"]) == ("link:CD", "capacity_degradation")
    # a tripped link shows no utilization, but its operational speed (ifHighSpeed) drops
    assert ranked[0]["magnitude"] == pytest.approx(0.3, rel=1e-9)


@pytest.mark.parametrize("seed", range(4))
def test_none_is_not_blamed_on_an_element(abilene, seed):
    rng = np.random.default_rng([42, seed])
    w = WindowSpec(start_hour=float(rng.uniform(0, 24)), demand_factor=float(rng.lognormal(0, 0.1)))
    obs = _noisy(run_window(abilene, w, []).telemetry, rng)
    assert rank_root_causes(abilene, w, obs)[0]["fault_kind"] == "none"


def _transport_faults(sim):
    a = sim.link_ids[3]
    site = sim.site_ids[2]
    cap = sum(sim.link_capacity_bps[i] for i, l in enumerate(sim.link_ids)
              if site in (sim.twin.links[l].a, sim.twin.links[l].b))
    busiest = int(np.argmax(run_window(sim, WindowSpec(20.0, steps=1), []).steps[0].link_load_bps))
    return [Fault("fiber_cut", f"link:{a}", 4), Fault("site_outage", f"site:{site}", 4),
            Fault("power_outage", f"site:{site}", 4), Fault("surge", f"site:{site}", 4, magnitude=4.0),
            Fault("ddos", f"site:{site}", 4, magnitude=0.2 * cap),
            Fault("capacity_degradation", f"link:{sim.link_ids[busiest]}", 4, magnitude=0.2),
            Fault("misconfiguration", f"link:{sim.link_ids[busiest]}", 4,
                  magnitude=16 * sim.link_weight[busiest])]


@pytest.mark.parametrize("k", range(7))
def test_each_transport_fault_kind_is_top_1_without_noise(abilene, k):
    fault = _transport_faults(abilene)[k]
    w = WindowSpec(start_hour=20.0)
    run = run_window(abilene, w, [fault])
    top = rank_root_causes(abilene, w, run.telemetry)[0]
    assert (top["element"], top["fault_kind"]) == (fault.element, fault.kind)
    assert top["onset_step"] == 4


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["cell_sleep_stuck", "power_outage", "surge"])
def test_radio_fault_kinds_are_top_1_without_noise(helsinki, kind):
    cell = helsinki.cells[4]
    fault = {"cell_sleep_stuck": Fault("cell_sleep_stuck", f"cell:{cell.id}", 3),
             "power_outage": Fault("power_outage", f"site:{cell.site_id}", 3),
             "surge": Fault("surge", f"site:{cell.site_id}", 3, magnitude=5.0)}[kind]
    w = WindowSpec(start_hour=18.0, steps=8)
    run = run_window(helsinki, w, [fault])
    if kind == "power_outage":
        assert run.telemetry.alarms["POWER"][3:, helsinki.site_index[cell.site_id]].all()
        assert np.isnan(run.telemetry.values["site"]["power_w"][3:, helsinki.site_index[cell.site_id]]).all()
    top = rank_root_causes(helsinki, w, run.telemetry)[0]
    assert (top["element"], top["fault_kind"]) == (fault.element, fault.kind)


def test_a_repair_in_progress_is_kept_apart_from_the_new_fault(abilene):
    """A cut under repair when the window opens (until step 7) and a new cut at step 4."""
    links = abilene.link_ids
    old, new = Fault("fiber_cut", f"link:{links[0]}", 0, until=7), Fault("fiber_cut", f"link:{links[5]}", 4)
    w = WindowSpec(start_hour=19.0)
    run = run_window(abilene, w, [old, new])
    ranked = rank_root_causes(abilene, w, _noisy(run.telemetry, np.random.default_rng(9)))
    assert (ranked[0]["element"], ranked[0]["onset_step"]) == (new.element, 4)
    assert f"{old.element} already in progress until step 7" in ranked[0]["explanation"]


def test_loss_is_noise_sized_for_the_truth_and_large_for_a_wrong_cause(abilene):
    w = WindowSpec(start_hour=12.0)
    truth = run_window(abilene, w, [Fault("fiber_cut", f"link:{abilene.link_ids[2]}", 3)])
    wrong = run_window(abilene, w, [Fault("fiber_cut", f"link:{abilene.link_ids[7]}", 3)])
    obs = _noisy(truth.telemetry, np.random.default_rng(1), missing=0.0)
    floors = scoring.metric_floors(truth.telemetry)
    n = int(excess_per_step_count(obs).sum())
    assert scoring.telemetry_loss(obs, truth.telemetry, floors) == pytest.approx(n, rel=0.15)
    assert scoring.total_loss(obs, wrong.telemetry, floors) > n + 200


def test_alarm_delay_is_tolerated_up_to_two_steps():
    a = {name: np.zeros((10, 1 if kind == "link" else 0), bool) for name, kind in telemetry.ALARMS.items()}
    b = copy.deepcopy(a)
    a["LOS"][2:, 0] = True
    els = {"link": ["link:X"], "site": [], "cell": []}
    pred = telemetry.Telemetry(els, {}, a)
    # late by 3 or 4: the first 1 or 2 predicted steps find no observed step within 2
    for late, unmatched in ((0, 0), (1, 0), (2, 0), (3, 1), (4, 2)):
        o = copy.deepcopy(b)
        o["LOS"][2 + late:, 0] = True
        got = scoring.alarm_loss(telemetry.Telemetry(els, {}, o), pred)
        assert got == unmatched * scoring.ALARM_COST, late


def test_doctests():
    for mod in (rca_module, telemetry):
        assert doctest.testmod(mod).failed == 0


# --- twin3d rca on files twin3d synth wrote -------------------------------------------

@pytest.fixture(scope="module")
def abilene_incidents(tmp_path_factory):
    from test_incidents_synth import run_cli
    out = tmp_path_factory.mktemp("inc") / "abilene"
    res = run_cli("synth", SCENES / "topologyzoo" / "Abilene.toml", "-n", 16, "--seed", 5150, "-o", out)
    assert res.returncode == 0, res.stderr
    return out


def test_rca_cli_ranks_from_files_without_labels(abilene_incidents, tmp_path):
    import json
    import shutil

    import pyarrow.parquet as pq
    from test_incidents_synth import run_cli
    labels = pq.read_table(abilene_incidents / "labels.parquet").to_pylist()
    blind = tmp_path / "blind"
    shutil.copytree(abilene_incidents, blind)
    (blind / "labels.parquet").unlink()              # RCA never reads labels
    res = run_cli("rca", SCENES / "topologyzoo" / "Abilene.toml", "--telemetry", blind, "--all",
                  "--json", tmp_path / "rca.json")
    assert res.returncode == 0, res.stderr
    got = json.loads((tmp_path / "rca.json").read_text())
    assert sorted(got, key=int) == [str(l["incident_id"]) for l in labels]
    for cands in got.values():
        assert {"element", "fault_kind", "score", "explanation"} <= set(cands[0])
        scores = [c["score"] for c in cands]
        assert scores == sorted(scores, reverse=True)
        assert all((c["element"] == "") == (c["fault_kind"] == "none") for c in cands)
    top1 = np.mean([got[str(l["incident_id"])][0]["element"] == l["root_element"] for l in labels])
    assert top1 >= 0.8, top1                         # the default noise of SANDBOX.md section 6
    prov = json.loads((tmp_path / "rca.json.provenance.json").read_text())
    assert prov["scene_file"] == "Abilene.toml" and len(prov["scene_sha256"]) == 64


@pytest.mark.parametrize("args, needle", [
    (["--incident", "999"], "no incident 999"),
    (["--incident", "1", "--all"], "not both"),
    (["--top", "0"], "--top must be >= 1"),
])
def test_rca_cli_bad_input_is_one_line_and_exit_2(abilene_incidents, tmp_path, cli_in_process, args,
                                                  needle):
    res = cli_in_process("rca", SCENES / "topologyzoo" / "Abilene.toml", "--telemetry", abilene_incidents,
                  "--json", tmp_path / "r.json", *args)
    assert res.returncode == 2, res.stderr
    assert needle in res.stderr and len(res.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "r.json").exists()


def test_rca_cli_telemetry_of_another_scene_exit_2(abilene_incidents, cli_in_process):
    res = cli_in_process("rca", SCENES / "topologyzoo" / "Geant2012.toml", "--telemetry", abilene_incidents)
    assert res.returncode == 2
    assert "comes from scene 'abilene', not 'geant2012'" in res.stderr.lower()


def test_rca_cli_missing_folder_exit_2(tmp_path):
    # through python -m twin3d: the one bad-input case of rca in a process of its own
    from test_incidents_synth import run_cli
    res = run_cli("rca", SCENES / "topologyzoo" / "Abilene.toml", "--telemetry", tmp_path / "nope")
    assert res.returncode == 2 and "no such folder" in res.stderr


def test_an_incident_is_a_scenario_that_replays_in_the_scene_format(abilene, tmp_path):
    """SANDBOX.md section 2: each fault kind replays through its event, from a scene file."""
    import tomli_w
    faults = [f for f in _transport_faults(abilene)] + [Fault("fiber_cut", f"link:{abilene.link_ids[1]}",
                                                              0, until=5)]
    w = WindowSpec(start_hour=20.0, steps=8)
    run = run_window(abilene, w, faults)
    from twin3d.incidents.window import window_scenario
    sc = window_scenario(w, faults, "replay")
    events = []
    for e in sc.events:
        d = {k: v for k, v in vars(e).items() if v is not None}
        events.append({k: (float(v) if isinstance(v, (np.floating, float)) else v) for k, v in d.items()})
    import re
    src = (SCENES / "topologyzoo" / "Abilene.toml").read_text()
    rel = re.search(r'path = "([^"]*Abilene.graphml)"', src).group(1)     # relative to the scene
    src = src.replace(rel, ((SCENES / "topologyzoo") / rel).resolve().as_posix())
    text = src + "\n" + tomli_w.dumps({"scenario": [{"name": "replay", "steps": w.steps, "step_s": w.step_s,
                                                     "start_hour": w.start_hour, "events": events}]})
    (tmp_path / "replay.toml").write_text(text)
    scene = twin3d.load_scene(tmp_path / "replay.toml")
    assert {e.kind for e in scene.spec.scenarios[0].events} == {
        "fiber_cut", "site_outage", "power_outage", "surge", "ddos", "degrade_capacity", "set_weight",
        "restore"}
    res = Simulator(scene).run(scene.spec.scenarios[0])
    for a, b in zip(res.steps, run.steps):
        assert a.kpis["dropped_bps"] == pytest.approx(b.kpis["dropped_bps"], rel=1e-9, abs=1e-3)
        np.testing.assert_allclose(a.link_load_bps, b.link_load_bps, rtol=1e-9, atol=1e-3)
        assert a.link_state == b.link_state and a.site_state == b.site_state
