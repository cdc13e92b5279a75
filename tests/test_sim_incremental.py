"""Simulator(scene, incremental=True) against the full routing of every step.

A 60-node random geometric backbone with gravity demand on the diurnal
profile (the demand changes every step), fibre cuts, restores, a weight
change and links loaded enough to trip in a cascade and to drop traffic:
every step's KPIs, link states, loads and cascade waves must match the
simulator that routes each step from scratch (to 1e-9 relative).
"""

from __future__ import annotations

import networkx as nx
import numpy as np

import twin3d
from twin3d.sim.engine import Simulator

from conftest import write_link_scene


def _scene(folder, busy_bps: float):
    g = nx.random_geometric_graph(60, 0.25, seed=3)
    g = g.subgraph(max(nx.connected_components(g), key=len)).copy()
    pos = nx.get_node_attributes(g, "pos")
    sites = {f"N{n}": (24.0 + pos[n][0], 60.0 + pos[n][1] / 2) for n in g}
    edges = list(g.edges)
    links = [(f"L{i}", f"N{a}", f"N{b}", 10e9) for i, (a, b) in enumerate(edges)]
    rng = np.random.default_rng(3)
    cuts = rng.choice(len(edges), size=6, replace=False)
    ev = [f'{{ t = {t + 1}, kind = "fiber_cut", target = "L{c}" }}' for t, c in enumerate(cuts)]
    ev += [f'{{ t = 7, kind = "restore", target = "L{cuts[1]}" }}',
           f'{{ t = 8, kind = "set_weight", link = "L{cuts[5] + 1}", weight = 3.0 }}',
           f'{{ t = 9, kind = "restore", target = "L{cuts[0]}" }}']
    toml = f"""
[scene]
name = "rgg"
[[source]]
path = "sites.geojson"
role = "sites"
[[source]]
path = "links.geojson"
role = "links"
[traffic]
demand = "gravity"
busy_hour_bps = {busy_bps!r}
routing = "ecmp"
metric = "hops"
trip_utilization = 1.3
[[scenario]]
name = "cuts"
steps = 11
start_hour = 14
profile = "diurnal"
events = [{", ".join(ev)}]
"""
    return twin3d.load_scene(write_link_scene(folder, sites, links, "src,dst,demand_bps\n", toml, "g.toml"))


def test_incremental_simulator_matches_the_full_one(tmp_path):
    for busy in (2e11, 2e12):                     # light; overloaded (cascades, tail drop)
        scene = _scene(tmp_path, busy)
        spec = scene.spec.scenarios[0]
        full = Simulator(scene).run(spec)
        sim = Simulator(scene, incremental=True)
        inc = sim.run(spec)
        assert sim._cache is not None                  # the steps were routed by the cache
        for a, b in zip(full.steps, inc.steps):
            assert a.link_state == b.link_state and a.waves == b.waves
            np.testing.assert_allclose(a.link_load_bps, b.link_load_bps, rtol=1e-9, atol=1e-3)
            np.testing.assert_allclose(a.site_load_bps, b.site_load_bps, rtol=1e-9, atol=1e-3)
            assert a.kpis.keys() == b.kpis.keys()
            for k in a.kpis:
                np.testing.assert_allclose(a.kpis[k], b.kpis[k], rtol=1e-9, atol=1e-9, err_msg=k)
    assert any(s.waves for s in full.steps)       # the loaded case did cascade
