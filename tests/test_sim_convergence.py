"""Every iteration limit says when it is hit: the cascade is exact, the
tail-drop fixed point reports whether it converged."""

from __future__ import annotations

import warnings

import networkx as nx
import numpy as np
import pytest

from twin3d.physics.routing import ConvergenceWarning, lossy_delivery, route_arrays
from twin3d.physics.transport import Router
from twin3d.sim.cascade import route_with_cascade


def test_cascade_runs_every_wave_however_many():
    # 150 parallel A-B links of rising weight, each too small for the demand:
    # the cheapest trips in every wave, so the cascade takes 150 waves
    n = 150
    g = nx.MultiGraph()
    for k in range(n):
        g.add_edge("A", "B", key=f"L{k:03d}", weight=float(k + 1))
    r = Router(g, metric="weight")
    c = route_with_cascade(r, {("A", "B"): 2e9}, np.ones(n, bool), np.ones(2, bool),
                           np.full(n, 1e9), 1.2, mode="spf")
    assert len(c.waves) == n
    assert [w.tripped for w in c.waves] == [[f"L{k:03d}"] for k in range(n)]
    assert not c.link_up.any() and not c.routing.routable.any()


def _mesh(seed: int = 59):
    """A 12-node small world with every pair talking, several links overloaded."""
    rng = np.random.default_rng(seed)
    g = nx.connected_watts_strogatz_graph(12, 4, 0.3, seed=seed)
    for u, v in g.edges:
        g.edges[u, v]["capacity_bps"] = float(rng.uniform(1, 5)) * 1e9
    r = Router(g)
    d = {(a, b): float(rng.uniform(0, 1)) * 1e9 for a in r.nodes for b in r.nodes if a != b}
    return r, d


def test_tail_drop_fixed_point_is_self_consistent():
    r, d = _mesh()
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        res = r.route(d, capacity_bps=r.capacity_bps, latency=False)
    assert res.converged and 1 < res.drop_rounds < 500
    assert (res.load_bps > r.capacity_bps).sum() >= 3          # the case is not trivial
    assert np.all(res.carried_bps <= r.capacity_bps * (1 + 1e-9))
    assert np.all(res.carried_bps <= res.load_bps * (1 + 1e-9))
    assert res.delivered_bps.sum() < res.demand_bps.sum()


def test_tail_drop_round_limit_warns_and_reports():
    r, d = _mesh()
    src, dst, bps = r.demand_arrays(d)
    up = np.ones(r.n_edges, bool)
    _, routable, blocks = route_arrays(r.n_nodes, r.u, r.v, r.weight, up, src, dst, bps,
                                       np.ones(r.n_nodes, bool), keep_blocks=True,
                                       unweighted=True)
    with pytest.warns(ConvergenceWarning, match="not converged after 2 rounds"):
        out = lossy_delivery(blocks, r.capacity_bps, r.n_nodes, r.n_edges, src, bps, routable,
                             max_iter=2)
    assert out.converged is False and out.rounds == 2
    full = lossy_delivery(blocks, r.capacity_bps, r.n_nodes, r.n_edges, src, bps, routable)
    assert full.converged and full.rounds > 2
    # the converged pass fractions are the fixed point of p = min(1, cap / offered(p))
    np.testing.assert_allclose(full.pass_fraction,
                               np.minimum(1.0, r.capacity_bps / np.maximum(full.offered_bps, 1e-300)),
                               atol=1e-8)


def test_step_kpi_converged(tmp_path, monkeypatch):
    import functools
    import json

    import twin3d
    import twin3d.physics.transport as transport
    from twin3d.sim.engine import simulate
    from twin3d.sim.kpi import KPI_UNITS

    from conftest import write_cascade_scene

    path = write_cascade_scene(tmp_path)
    path.write_text(path.read_text().replace("trip_utilization = 1.2", "trip_utilization = 1.6"))
    scene = twin3d.load_scene(path)
    res = simulate(scene)["cut"]
    assert KPI_UNITS["converged"] == "bool"
    assert [s.kpis["converged"] for s in res.steps] == [True] * 4
    assert json.loads(json.dumps(res.kpi_json()))["steps"][1]["converged"] is True
    # one round cannot settle the drops of step 1 (A-D drops, so D-B sees less)
    monkeypatch.setattr(transport, "lossy_delivery",
                        functools.partial(transport.lossy_delivery, max_iter=1))
    import twin3d.physics.batch_step as batch_step       # the compiled step of the base pairs
    monkeypatch.setattr(batch_step, "MAX_DROP_ROUNDS", 1)
    with pytest.warns(ConvergenceWarning):
        res = simulate(scene)["cut"]
    assert [s.kpis["converged"] for s in res.steps] == [True, False, False, True]
