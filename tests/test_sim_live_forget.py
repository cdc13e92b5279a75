"""A live timeline forgets the cuts and trips a past restore ended (its replay stays
short over a long episode) and still gives every state a full replay of its log gives."""

from __future__ import annotations

import numpy as np
import pytest

from twin3d.scene import EventSpec, ScenarioSpec
from twin3d.sim.events import Timeline
from twin3d.sim.kpi import weighted_percentiles
from twin3d.sim.live import LiveTimeline


def _cut_restore_episode(seed: int, steps: int, links, sites):
    """Cuts restored a few steps later, restores told ahead (as the opponent does),
    trips now and then, and a site outage restored (a site id is never forgotten)."""
    rng = np.random.default_rng(seed)
    live = LiveTimeline(ScenarioSpec("x", steps=steps + 8), links, sites)
    states, trips = [], []
    for t in range(steps):
        evs = []
        if rng.random() < 0.6:
            l = links[rng.integers(len(links))]
            evs += [EventSpec(t, "fiber_cut", l), EventSpec(t + int(rng.integers(1, 4)), "restore", l)]
        if rng.random() < 0.2:
            s = sites[rng.integers(len(sites))]
            evs += [EventSpec(t, "site_outage", s), EventSpec(t + 2, "restore", s)]
        if rng.random() < 0.3:          # an operator's restore at the step itself
            evs.append(EventSpec(t, "restore", links[rng.integers(len(links))]))
        live.add(evs)
        states.append(live.state(t))
        if rng.random() < 0.4:
            tripped = [links[rng.integers(len(links))]]
            live.trip(tripped, t)
            trips.append((tripped, t))
    return live, states, trips


@pytest.mark.parametrize("seed", range(4))
def test_forgetting_keeps_every_state_of_the_full_replay(seed):
    links, sites = ["L1", "L2", "L3", "L4"], ["S1", "S2"]
    live, states, trips = _cut_restore_episode(seed, 120, links, sites)
    full = Timeline(live.scenario_spec, links, sites)
    for tripped, t in trips:          # the trips as recorded, not the live timeline's sets
        full.trip(tripped, t)
    assert sum(e.kind == "fiber_cut" for e in live.log) > 40
    for t, s in enumerate(states):
        ref = full.state(t)
        assert s.link_state == ref.link_state, t
        assert s.site_state == ref.site_state, t
        assert s.events == ref.events, t
    # the replay keeps the link events of the last few steps only, not every cut of the
    # episode (a site's outage and restore stay: restores act on sites too)
    assert sum(e.kind in ("fiber_cut", "restore") and e.target in links for e in live._events) < 12
    assert sum(e.kind == "site_outage" for e in live._events) == sum(
        e.kind == "site_outage" for e in live.log)
    assert {l: sorted(v) for l, v in live._trips.items()} == {
        l: sorted({t for tr, t in trips if l in tr}) for l in {l for tr, _ in trips for l in tr}}


def test_forked_timeline_forgets_on_its_own():
    live = LiveTimeline(ScenarioSpec("x", steps=10), ["L1", "L2"], ["S1"])
    live.add([EventSpec(0, "fiber_cut", "L1"), EventSpec(2, "restore", "L1")])
    for t in range(3):
        live.state(t)
    live.trip(["L2"], 2)
    fork = live.fork()
    fork.add([EventSpec(3, "restore", "L2"), EventSpec(3, "fiber_cut", "L1")])
    assert fork.state(3).link_state == {"L1": "cut", "L2": "up"}
    assert fork.state(4).link_state == {"L1": "cut", "L2": "up"}
    # the original never saw the fork's events: L2's trip holds, L1 stays restored
    assert live.state(4).link_state == {"L1": "up", "L2": "tripped"}
    assert live._trips == {"L2": {2}} and fork._trips == {"L2": {2}}


def test_percentile_lists_kept_give_the_sort_answers():
    # the same list asked again (kept fractions) and a list outside [0, 100] (the sort)
    rng = np.random.default_rng(3)
    v, w = rng.random(500), rng.random(500)
    order = np.argsort(v, kind="stable")
    cw = np.cumsum(w[order])
    ref = [float(v[order[np.searchsorted(cw, q / 100 * cw[-1])]]) for q in (50, 95)]
    for _ in range(3):
        assert weighted_percentiles(v, [50, 95], w) == pytest.approx(ref, rel=0, abs=0)
    assert weighted_percentiles(v, (50.0, 95.0), w) == weighted_percentiles(v, [50, 95], w)
    out = weighted_percentiles(np.arange(100.0), [150])
    assert out == weighted_percentiles(np.arange(100.0), [150])
