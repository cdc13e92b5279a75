"""Simulator.step routes the base demand pairs in one compiled call: the same steps as route_step,
cascade waves included."""

from __future__ import annotations

import numpy as np
import pytest

import twin3d
import twin3d.sim.engine as engine
from twin3d.scene import EventSpec, ScenarioSpec
from twin3d.sim.engine import Simulator

from conftest import SCENES


@pytest.mark.parametrize("name", ["Abilene", "Geant2012"])
def test_compiled_step_equals_the_python_step(name, monkeypatch):
    scene = twin3d.load_scene(SCENES / f"topologyzoo/{name}.toml")
    links = list(scene.twin.links)
    rng = np.random.default_rng(1)
    events = [EventSpec(t, "set_weight", link=links[rng.integers(len(links))], weight=float(rng.integers(1, 9)))
              for t in range(24) for _ in range(3)]
    events += [EventSpec(5, "fiber_cut", links[0]), EventSpec(9, "restore", links[0]),
               EventSpec(12, "degrade_capacity", link=links[1], factor=0.2)]
    spec = ScenarioSpec("mix", steps=24, step_s=3600.0, events=tuple(sorted(events, key=lambda e: e.t)))
    fast = Simulator(scene).run(spec)
    if name == "Geant2012":                          # its 155 Mbit/s links cascade at the peak
        assert sum(len(s.waves) for s in fast.steps) >= 2
    calls = []
    real = engine.route_step_compiled
    monkeypatch.setattr(engine, "route_step_compiled", lambda *a, **k: calls.append(1) or real(*a, **k))
    Simulator(scene).run(spec)
    assert len(calls) == 24                          # every step went through the compiled call
    monkeypatch.setattr(engine, "route_step_compiled", lambda *a, **k: None)
    slow = Simulator(scene).run(spec)
    for a, b in zip(fast.steps, slow.steps):
        for k, v in a.kpis.items():
            assert v == b.kpis[k] or (v != v and b.kpis[k] != b.kpis[k]), (a.t, k)
        for f in ("link_util", "link_load_bps", "site_load_bps"):
            np.testing.assert_array_equal(getattr(a, f), getattr(b, f))
        assert a.link_state == b.link_state and a.waves == b.waves
