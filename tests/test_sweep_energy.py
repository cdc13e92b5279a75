"""``twin3d energy-sweep``: the Pareto front equals a brute-force filter, the all-awake policy
saves nothing and a sleeping cell saves the EARTH difference at the loads of the day, policy
files, the CLI, Dask equals serial."""

from __future__ import annotations

import json

import numpy as np
import pytest

from conftest import SCENES

from twin3d.cli import main
from twin3d.loader import load_scene
from twin3d.physics.energy import EARTH, TRX_PER_SECTOR, site_power_w
from twin3d.sweep.energy import (Policy, auto_policies, demand_draws, evaluate_energy,
                                 pareto_mask, policies_from_text)
from twin3d.sweep.faults import parse_growth


def _brute_front(costs: np.ndarray) -> list[bool]:
    out = []
    for i, ci in enumerate(costs):
        dominated = any(all(cj[k] <= ci[k] for k in range(len(ci))) and
                        any(cj[k] < ci[k] for k in range(len(ci)))
                        for j, cj in enumerate(costs) if j != i)
        out.append(not dominated)
    return out


@pytest.mark.parametrize("seed", range(5))
def test_pareto_front_equals_a_brute_force_non_dominated_filter(seed):
    rng = np.random.default_rng(seed)
    costs = rng.integers(0, 6, size=(40, 1 + seed % 3)).astype(float)   # many ties
    got = pareto_mask(costs)
    assert got.tolist() == _brute_front(costs)
    assert got.any()


@pytest.fixture(scope="module")
def helsinki_sim():
    from twin3d.sim.engine import Simulator
    return Simulator(load_scene(SCENES / "helsinki.toml"))


def test_all_awake_saves_nothing_and_a_sleeping_cell_saves_the_earth_difference(helsinki_sim):
    sim = helsinki_sim
    kinds = {sim.twin.sites[c.site_id].kind for c in sim.cells}
    assert kinds <= {"macro", "mast"}           # every cell is an EARTH macro sector
    cell, hours = sim.cells[4].id, (2, 3, 4)
    pols = [Policy("all awake", (), ()), Policy("one cell", (cell,), hours)]
    factors = demand_draws(9, 2, parse_growth("lognormal:0,0.2"))
    res = evaluate_energy(sim, pols, factors)
    awake, one = res["policies"]
    assert awake["energy_saved_kwh_day"] == 0.0 and awake["energy_kwh_day"] > 0
    macro = {k: EARTH["macro"][k] for k in ("p_max_w", "p0_w", "delta_p", "p_sleep_w")}
    asleep = np.array([c.id == cell for c in sim.cells])
    saved = []
    for ref, mine in zip(res["awake"], res["rows"]["one cell"]):
        kwh = 0.0
        for h in range(24):
            load_ref = np.clip(ref["cell_load"][h], 0, 1)
            load_mine = np.clip(mine["cell_load"][h], 0, 1)
            w_ref = site_power_w(load_ref, n_trx=TRX_PER_SECTOR, **macro).sum()
            w_mine = site_power_w(load_mine, n_trx=TRX_PER_SECTOR, sleeping=asleep & (h in hours),
                                  **macro).sum()
            assert ref["energy_w"][h] == pytest.approx(w_ref, rel=1e-12)
            assert mine["energy_w"][h] == pytest.approx(w_mine, rel=1e-12)
            if h not in hours:                  # awake hours: the same day to the bit
                assert mine["energy_w"][h] == ref["energy_w"][h]
            kwh += (w_ref - w_mine) / 1000.0
        saved.append(kwh)
    assert one["energy_saved_kwh_day"] == pytest.approx(float(np.mean(saved)), rel=1e-9)
    # at least the sleeping cell's own idle-minus-sleep power, for its hours
    p = EARTH["macro"]
    own_kwh = len(hours) * TRX_PER_SECTOR * (p["p0_w"] - p["p_sleep_w"]) / 1000
    assert one["energy_saved_kwh_day"] > 0.5 * own_kwh


def test_auto_family_sleeps_the_least_loaded_cells_and_shares_the_draws(helsinki_sim):
    sim = helsinki_sim
    pols = auto_policies(sim, (1, 2), [0, 2, 5])
    assert [len(p.cells) for p in pols] == [0, 2, 5] and pols[0].hours == ()
    assert pols[1].cells == pols[2].cells[:2] and pols[2].hours == (1, 2)
    res = evaluate_energy(sim, pols, [1.0, 1.1])
    assert res["factors"] == [1.0, 1.1]
    saved = [p["energy_saved_kwh_day"] for p in res["policies"]]
    assert saved[0] == 0.0 and 0 < saved[1] < saved[2]


def test_policies_file_errors_name_the_policy_and_field(helsinki_sim):
    twin = helsinki_sim.twin
    for text, where in (('[[policy]]\nname = "p"\ncells = ["HEL-01/9"]\nhours = [1]\n',
                         "[[policy]] 1 (p): field 'cells'"),
                        ('[[policy]]\nname = "p"\ncells = ["HEL-01/1"]\nhours = [25]\n',
                         "[[policy]] 1 (p): field 'hours'"),
                        ('[[policy]]\nname = "p"\nsites = ["CO-1"]\nhours = [1]\n',
                         "[[policy]] 1 (p): field 'sites'"),
                        ('[[policy]]\nname = "p"\ncells = ["HEL-01/1"]\nwhen = 3\n',
                         "[[policy]] 1 (p): field 'when'")):
        with pytest.raises(Exception) as exc:
            policies_from_text(text, twin, "pol.toml")
        assert str(exc.value).startswith("pol.toml: " + where), str(exc.value)
    got = policies_from_text('[[policy]]\nname = "n"\nsites = ["HEL-02"]\nfrom_hour = 22\n'
                             'to_hour = 2\n', twin)
    assert got[0].cells == ("HEL-02/1", "HEL-02/2", "HEL-02/3") and got[0].hours == (0, 1, 22, 23)


def test_energy_sweep_on_a_scene_without_cells_exits_2_with_one_line(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["energy-sweep", str(SCENES / "nordic_backbone.toml"), "--auto"])
    assert exc.value.code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and "no radio cells" in lines[0] and "nordic_backbone.toml" in lines[0]


@pytest.mark.slow
def test_energy_sweep_on_a_two_worker_local_cluster_equals_the_serial_run(helsinki_sim):
    sim = helsinki_sim
    pols = [Policy("all awake", (), ()), Policy("two cells", (sim.cells[0].id, sim.cells[7].id),
                                                (1, 2, 3))]
    dask = evaluate_energy(sim, pols, [1.0, 1.3], workers=2)
    serial = evaluate_energy(sim, pols, [1.0, 1.3])
    assert dask["complete"] and dask["policies"] == serial["policies"]
    for name in ("all awake", "two cells"):
        for a, b in zip(dask["rows"][name], serial["rows"][name]):
            assert a["energy_w"] == b["energy_w"]
            assert a["sla_violation_steps"] == b["sla_violation_steps"]


POLICIES = """
[[policy]]
name = "all awake"
[[policy]]
name = "HEL-03 sleeps at night"
sites = ["HEL-03"]
from_hour = 1
to_hour = 5
[[policy]]
name = "two cells"
cells = ["cell:HEL-01/1", "HEL-08/2"]
hours = [2, 3]
"""


def test_energy_sweep_cli_writes_the_front_with_provenance(tmp_path, capsys):
    pol = tmp_path / "pol.toml"
    pol.write_text(POLICIES)
    out_json, out_png = tmp_path / "e.json", tmp_path / "e.png"
    with pytest.raises(SystemExit) as exc:
        main(["energy-sweep", str(SCENES / "helsinki.toml"), "--policies", str(pol), "--samples",
              "2", "-o", str(out_json), "--plot", str(out_png)])
    assert exc.value.code == 0
    doc = json.loads(out_json.read_text())
    assert doc["provenance"]["scene_file"] == "helsinki.toml" and len(doc["demand_factors"]) == 2
    rows = {r["name"]: r for r in doc["policies"]}
    assert rows["all awake"]["energy_saved_kwh_day"] == 0.0
    assert rows["HEL-03 sleeps at night"]["energy_saved_kwh_day"] > 0
    costs = [[-r["energy_saved_kwh_day"], r["sla_violation_steps"], r["dropped_bps"]]
             for r in doc["policies"]]
    front = [r["name"] for r, on in zip(doc["policies"], _brute_front(np.array(costs))) if on]
    assert doc["pareto_front"] == front
    assert out_png.read_bytes()[:4] == b"\x89PNG"
    assert "HEL-03 sleeps at night" in capsys.readouterr().out


def test_a_policies_file_that_is_not_utf8_is_one_line(helsinki_sim, tmp_path):
    from twin3d.errors import InputError
    from twin3d.sweep.energy import parse_policies
    bad = tmp_path / "pol.toml"
    bad.write_bytes(b"\xff\xfe[[policy]]\n")
    with pytest.raises(InputError) as exc:
        parse_policies(bad, helsinki_sim.twin)
    assert str(exc.value).startswith(f"{bad}: not UTF-8 text")
    with pytest.raises(InputError, match="policies file not found"):
        parse_policies(tmp_path / "missing.toml", helsinki_sim.twin)
