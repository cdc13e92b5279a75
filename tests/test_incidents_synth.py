"""``twin3d synth``: the sampled incidents, the noise, the files against their
schemas, same seed same bytes, and the reader that RCA uses."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import twin3d
from twin3d.errors import InputError
from twin3d.ids import parse_id
from twin3d.incidents import ALARMS, FAULT_KINDS, fault_events, run_window
from twin3d.incidents.batch import synth_to_dir
from twin3d.incidents.noise import NoiseSpec, apply_noise, element_vocabulary
from twin3d.incidents.synth import BUSY_HOUR, SynthPlan, sample_incidents, synth_incident
from twin3d.incidents.tables import FILES, read_incident_tables
from twin3d.incidents.telemetry import element_ids
from twin3d.sim.engine import Simulator

from conftest import ROOT, SCENES, feature_collection
from envs_scenes import write_ring_scene

ABILENE = SCENES / "topologyzoo" / "Abilene.toml"
PROV = {"twin3d_version": "test", "scene_file": "x", "scene_sha256": "", "seed": 3, "command": "test"}

RADIO_TOML = """
[scene]
name = "two-macro"
seed = 5
[[source]]
path = "sites.geojson"
role = "sites"
[[source]]
path = "links.geojson"
role = "links"
[radio]
grid_m = 25
[traffic]
busy_hour_bps = 3e9
core = "CO"
"""


def write_radio_scene(folder):
    """A core and two 3-sector macro sites in a triangle of 1 Gbit/s links."""
    feats = [{"type": "Feature", "geometry": {"type": "Point", "coordinates": [24.9440, 60.1700]},
              "properties": {"id": "CO", "kind": "central_office"}}]
    for sid, lon, lat in (("S1", 24.9400, 60.1710), ("S2", 24.9480, 60.1690)):
        feats.append({"type": "Feature", "geometry": {"type": "Point", "coordinates": [lon, lat]},
                      "properties": {"id": sid, "kind": "macro", "height_m": 25.0, "tilt_deg": 4.0,
                                     "sectors": [{"azimuth_deg": a} for a in (0, 120, 240)]}})
    (folder / "sites.geojson").write_text(feature_collection(feats))
    links = [("F-1", "CO", "S1"), ("F-2", "CO", "S2"), ("F-3", "S1", "S2")]
    (folder / "links.geojson").write_text(feature_collection(
        {"type": "Feature", "geometry": None, "properties": {"id": i, "a": a, "b": b, "capacity_bps": 1e9}}
        for i, a, b in links))
    (folder / "radio.toml").write_text(RADIO_TOML)
    return folder / "radio.toml"


def run_cli(*args, cwd=ROOT):
    """``python -m twin3d ARGS`` in ``cwd``, importing this checkout's twin3d."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT),
                                                                     os.environ.get("PYTHONPATH")]))}
    return subprocess.run([sys.executable, "-m", "twin3d", *map(str, args)], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def abilene():
    return Simulator(twin3d.load_scene(ABILENE))


@pytest.fixture
def ring(tmp_path):
    return write_ring_scene(tmp_path)


# -- sampling -------------------------------------------------------------------


def test_balanced_kinds_each_appear_equally_and_root_is_a_typed_id(abilene):
    plan = SynthPlan.build(abilene)
    assert "cell_sleep_stuck" not in plan.kinds and "none" in plan.kinds
    incs = sample_incidents(abilene, 2 * len(plan.kinds), seed=4)
    assert Counter(i.fault_kind for i in incs) == {k: 2 for k in plan.kinds}
    ids = {e for v in element_ids(abilene).values() for e in v}
    for i in incs:
        if i.fault_kind == "none":
            assert i.root_element == "" and i.onset_step == -1 and i.secondary == ()
            assert fault_events(list(i.faults)) == [] and json.loads(i.chain)["faults"] == []
            continue
        assert i.root_element in ids and parse_id(i.root_element)[0] in ("link", "site")
        assert i.faults[0].element == i.root_element and i.faults[0].onset == i.onset_step
        assert 2 <= i.onset_step <= 12 - 4 and i.observable
        assert json.loads(i.chain)["faults"][0]["element"] == i.root_element


def test_an_incident_is_the_same_whatever_the_order(abilene):
    plan = SynthPlan.build(abilene)
    a = [synth_incident(abilene, plan, 9, i)[0] for i in (5, 2, 7)]
    b = {i.incident_id: i for i in sample_incidents(abilene, 8, seed=9)}
    assert a == [b[5], b[2], b[7]]
    assert sample_incidents(abilene, 8, seed=10) != list(b.values())


def test_magnitudes_and_windows_are_in_their_ranges(abilene):
    incs = sample_incidents(abilene, 48, seed=1, compound_rate=0.0)
    for i in incs:
        assert 0 <= i.window.start_hour < 24 and 0.6 < i.window.demand_factor < 1.6
        f = i.faults[0] if i.faults else None
        if i.fault_kind == "surge":
            assert 3 <= f.magnitude <= 8
        elif i.fault_kind == "capacity_degradation":
            assert 0.1 <= f.magnitude <= 0.5
        elif i.fault_kind == "misconfiguration":
            w = abilene.link_weight[abilene.link_index[f.name]]
            assert f.magnitude / w in (8, 16, 32, 1 / 8)
        elif i.fault_kind == "ddos":
            assert f.magnitude > 0


def test_a_mix_is_followed_and_compounds_are_built_as_promised(abilene):
    incs = sample_incidents(abilene, 60, seed=2, mix={"fiber_cut": 3, "none": 1}, compound_rate=1.0)
    kinds = Counter(i.fault_kind for i in incs)
    assert set(kinds) == {"fiber_cut", "none"} and kinds["fiber_cut"] > kinds["none"]
    cuts = [i for i in incs if i.fault_kind == "fiber_cut"]
    assert {i.compound for i in cuts} == {"busy_hour_cut", "during_recovery"}
    for i in cuts:
        if i.compound == "busy_hour_cut":
            hour = i.window.start_hour + i.onset_step * i.window.step_s / 3600
            assert hour % 24 == pytest.approx(BUSY_HOUR) and i.secondary == ()
        else:
            sec = i.faults[1]
            assert i.secondary == (sec.element,) and sec.element != i.root_element
            assert sec.kind in ("fiber_cut", "site_outage") and sec.onset < 0
            assert i.onset_step < sec.until < 12
    plan = SynthPlan.build(abilene, {"fiber_cut": 3, "none": 1}, compound_rate=1.0)
    for tag in ("busy_hour_cut", "during_recovery"):       # the labels replay to the telemetry
        i = next(i for i in cuts if i.compound == tag)
        got = synth_incident(abilene, plan, 2, i.incident_id)[1]
        want = run_window(abilene, i.window, list(i.faults)).telemetry
        for a, x in want.alarms.items():
            assert np.array_equal(got.alarms[a], x), (tag, a)
        np.testing.assert_array_equal(got.values["link"]["load_bps"], want.values["link"]["load_bps"])


@pytest.mark.parametrize("mix, field", [({"meteor": 1}, "mix"), ({"cell_sleep_stuck": 1}, "mix"),
                                        ({"none": 0}, "mix"), ({"none": -1}, "mix")])
def test_bad_mix_is_an_input_error(abilene, mix, field):
    with pytest.raises(InputError) as exc:
        SynthPlan.build(abilene, mix)
    assert exc.value.field == field


def test_radio_scene_samples_cell_faults_and_spares_the_core(tmp_path):
    sim = Simulator(twin3d.load_scene(write_radio_scene(tmp_path)))
    plan = SynthPlan.build(sim)
    assert plan.kinds == FAULT_KINDS
    assert "site:CO" not in plan.candidates["site_outage"]
    incs = sample_incidents(sim, len(FAULT_KINDS), seed=3)
    cell = next(i for i in incs if i.fault_kind == "cell_sleep_stuck")
    assert parse_id(cell.root_element)[0] == "cell"
    assert all(i.observable for i in incs)


# -- noise ----------------------------------------------------------------------


def test_noise_free_rows_are_the_physics_and_default_noise_is_mild(abilene):
    w = sample_incidents(abilene, 1, seed=0)[0].window
    tel = run_window(abilene, w, []).telemetry
    rows, alarms = apply_noise(tel, np.random.default_rng(0), NoiseSpec.none())
    assert not np.isnan(rows.value).any()
    assert len(rows) == sum(int((~np.isnan(x)).sum()) for k in tel.values.values() for x in k.values())
    assert len(alarms) == sum(int(a.sum()) for a in tel.alarms.values())
    noisy, _ = apply_noise(tel, np.random.default_rng(0), NoiseSpec())
    assert 0.97 * len(rows) < len(noisy) < len(rows)        # about 1 % missing
    again, _ = apply_noise(tel, np.random.default_rng(0), NoiseSpec())
    assert np.array_equal(noisy.value, again.value)


def test_alarm_delay_shifts_onset_and_clear():
    from twin3d.incidents.telemetry import Telemetry
    from twin3d.incidents.telemetry import METRICS
    els = {"link": ["link:L"], "site": [], "cell": []}
    vals = {k: {m: np.zeros((10, len(els[k]))) for m in METRICS[k]} for k in els}
    al = {a: np.zeros((10, 1 if k == "link" else 0), bool) for a, k in ALARMS.items()}
    al["LOS"][3:6, 0] = True
    spec = NoiseSpec(0.0, 0.0, 2, 0.0, 0.0)
    seen = set()
    for s in range(30):
        _, rows = apply_noise(Telemetry(els, vals, al), np.random.default_rng(s), spec)
        seen.add(tuple(rows.step.tolist()))
    assert seen == {(3, 4, 5), (4, 5, 6), (5, 6, 7)}


# -- files ----------------------------------------------------------------------


def test_each_table_matches_its_schema_and_carries_provenance(ring, tmp_path):
    res = run_cli("synth", ring, "--incidents", 12, "--seed", 5, "-o", tmp_path / "out")
    assert res.returncode == 0, res.stderr
    for name, schema in FILES.items():
        t = pq.read_table(tmp_path / "out" / name)
        assert t.schema.names == schema.names, name
        for f in schema:
            got = t.schema.field(f.name).type
            assert got == f.type, (name, f.name, got)
        if "element" in schema.names:
            assert pa.types.is_string(t.schema.field("element").type.value_type)
        prov = json.loads(t.schema.metadata[b"twin3d"])["provenance"]
        assert prov["seed"] == 5 and len(prov["scene_sha256"]) == 64 and "synth" in prov["command"]
    labels = pq.read_table(tmp_path / "out" / "labels.parquet").to_pylist()
    assert [r["incident_id"] for r in labels] == list(range(12))
    man = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert man["provenance"]["seed"] == 5 and man["noise"] == NoiseSpec().as_dict()
    assert sum(man["counts"].values()) == 12 and len(man["incidents"]) == 12
    assert set(man["incidents"][0]) == {"incident_id", "start_hour", "demand_factor", "step_s", "window"}


def test_seed_defaults_to_the_scene_seed(ring, tmp_path):
    assert run_cli("synth", ring, "-n", 3, "-o", tmp_path / "o").returncode == 0
    assert json.loads((tmp_path / "o" / "manifest.json").read_text())["seed"] == 11


def test_same_seed_same_bytes_different_seed_differs(ring, tmp_path):
    for d in ("a", "b", "c"):
        (tmp_path / d).mkdir()
    for d, seed in (("a", 3), ("b", 3), ("c", 4)):       # the same command line in two folders
        res = run_cli("synth", ring, "-n", 20, "--seed", seed, "-o", "out", cwd=tmp_path / d)
        assert res.returncode == 0, res.stderr
    for name in FILES:
        a, b, c = ((tmp_path / d / "out" / name).read_bytes() for d in "abc")
        assert a == b and a != c, name


def test_workers_give_the_same_bytes(ring, tmp_path):
    sim = Simulator(twin3d.load_scene(ring))
    for d, w in (("one", 1), ("two", 2)):
        synth_to_dir(sim, tmp_path / d, 60, seed=8, workers=w, provenance=PROV)
    for name in [*FILES, "manifest.json"]:
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "two" / name).read_bytes(), name


def test_worker_processes_are_not_forked(ring, tmp_path, monkeypatch):
    # a forked worker that runs a numba parallel region (the radio kernels) after its parent
    # did is ended by numba: `twin3d synth helsinki -w 2` failed with BrokenProcessPool
    from twin3d.incidents import batch
    seen = []
    real = batch.ProcessPoolExecutor

    def spy(*args, **kwargs):
        seen.append(kwargs.get("mp_context"))
        return real(*args, **kwargs)

    monkeypatch.setattr(batch, "ProcessPoolExecutor", spy)
    sim = Simulator(twin3d.load_scene(ring))
    synth_to_dir(sim, tmp_path / "w", 60, seed=8, workers=2, provenance=PROV)
    assert len(seen) == 1 and seen[0] is not None
    assert seen[0].get_start_method() in ("forkserver", "spawn")


def test_reader_round_trips_noise_free_telemetry_without_labels(abilene, tmp_path):
    synth_to_dir(abilene, tmp_path / "o", 10, seed=6, noise=NoiseSpec.none(), provenance=PROV)
    (tmp_path / "o" / "labels.parquet").unlink()            # RCA never reads it
    got = read_incident_tables(tmp_path / "o", abilene)
    plan = SynthPlan.build(abilene)
    for iid in range(10):
        inc, want = synth_incident(abilene, plan, 6, iid)
        window, tel = got[iid]
        assert window == inc.window
        # the labels' faults replay, from step 0, to the very same telemetry
        replay = run_window(abilene, inc.window, list(inc.faults)).telemetry
        for k in want.values:
            for m, x in want.values[k].items():
                np.testing.assert_array_equal(replay.values[k][m], x, err_msg=f"{iid} {m}")
        assert tel.elements == want.elements
        for k in want.values:
            for m, x in want.values[k].items():
                np.testing.assert_array_equal(tel.values[k][m], x, err_msg=f"{iid} {m}")
        for a, x in want.alarms.items():
            assert np.array_equal(tel.alarms[a], x), (iid, a)


def test_reader_names_the_file_and_field(abilene, tmp_path):
    synth_to_dir(abilene, tmp_path / "o", 2, seed=6, provenance=PROV)
    (tmp_path / "o" / "alarms.parquet").unlink()
    with pytest.raises(InputError, match="alarms.parquet: no such file"):
        read_incident_tables(tmp_path / "o", abilene)
    synth_to_dir(abilene, tmp_path / "o", 2, seed=6, provenance=PROV)
    t = pq.read_table(tmp_path / "o" / "telemetry.parquet").drop_columns(["value"])
    pq.write_table(t, tmp_path / "o" / "telemetry.parquet")
    with pytest.raises(InputError) as exc:
        read_incident_tables(tmp_path / "o", abilene)
    assert "telemetry.parquet" in str(exc.value) and exc.value.field == "value"
    man = tmp_path / "o" / "manifest.json"
    doc = json.loads(man.read_text())
    del doc["incidents"][0]["start_hour"]
    man.write_text(json.dumps(doc))
    with pytest.raises(InputError) as exc:
        read_incident_tables(tmp_path / "o", abilene)
    assert "manifest.json" in str(exc.value) and exc.value.field == "start_hour"


def test_element_vocabulary_is_the_whole_scene(abilene):
    els = element_ids(abilene)
    assert element_vocabulary(els) == els["link"] + els["site"] + els["cell"]


# -- command line ---------------------------------------------------------------


@pytest.mark.parametrize("args, needle", [
    (["--mix", "meteor=1"], "unknown fault kind 'meteor'"),
    (["--incidents", "0"], "--incidents must be >= 1"),
    (["--window", "4"], "at least 6 steps"),
    (["--workers", "-1"], "--workers must be >= 0"),
])
def test_bad_input_exits_2_with_one_line(ring, tmp_path, cli_in_process, args, needle):
    res = cli_in_process("synth", ring, "-o", tmp_path / "o", *args)
    assert res.returncode == 2
    assert res.stderr.count("\n") == 1 and needle in res.stderr, res.stderr
    assert not (tmp_path / "o").exists()


def test_missing_scene_exits_2_with_one_line(tmp_path):
    # through python -m twin3d: the one bad-input case of synth in a process of its own
    res = run_cli("synth", tmp_path / "nope.toml", "-o", tmp_path / "o")
    assert res.returncode == 2 and res.stderr.count("\n") == 1 and "nope.toml" in res.stderr


def test_cli_on_abilene_and_a_radio_scene(tmp_path):
    res = run_cli("synth", ABILENE, "-n", 40, "--mix", "fiber_cut=1,ddos=1,none=1", "-o", tmp_path / "a")
    assert res.returncode == 0, res.stderr
    labels = pq.read_table(tmp_path / "a" / "labels.parquet").to_pylist()
    assert {r["fault_kind"] for r in labels} == {"fiber_cut", "ddos", "none"}
    res = run_cli("synth", write_radio_scene(tmp_path), "-n", 9, "-o", tmp_path / "r")
    assert res.returncode == 0, res.stderr
    labels = pq.read_table(tmp_path / "r" / "labels.parquet").to_pylist()
    assert Counter(r["fault_kind"] for r in labels) == dict.fromkeys(FAULT_KINDS, 1)
    cells = pq.read_table(tmp_path / "r" / "telemetry.parquet", filters=[("metric", "=", "prb_load")])
    v = cells.column("value").to_numpy()
    assert v.size and (v >= 0).all() and (v <= 1).all()
