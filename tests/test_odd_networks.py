"""Backbone shapes the bundled scenes lack, through the environments and the command line.

Topology Zoo has them all: parallel links, self loops, parts that cannot
reach each other, nodes without coordinates, and networks whose links are
all missing. The network without a link once broke three tools: its link and
node state arrays came out float, not bool (a TypeError in every simulator
step and in the red team's batch), and ``twin3d synth`` drew the secondary
fault of a compound incident from an empty pool of links.
"""

from __future__ import annotations

import warnings

import gymnasium as gym
import networkx as nx
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import twin3d.envs  # noqa: F401  (registers the environments)

SCENE = ('[scene]\nname = "{name}"\nseed = 3\n[[source]]\nkind = "graphml"\npath = "{name}.graphml"\n'
         'default_capacity_bps = 10e9\n[traffic]\nbusy_hour_bps = 20e9\nrouting = "ecmp"\n'
         'metric = "hops"\n')


def _odd() -> nx.MultiGraph:
    """Two parts: a triangle with a doubled link and a spur to a node without coordinates,
    and a pair with a self loop."""
    g = nx.MultiGraph()
    for n, (lon, lat) in enumerate([(10, 50), (11, 50.5), (12, 51), (20, 40), (21, 40.2)]):
        g.add_node(n, Longitude=lon, Latitude=lat, label=f"N{n}")
    g.add_node(5, label="no coordinates")
    g.add_edges_from([(0, 1), (1, 2), (2, 0), (0, 1), (3, 4), (4, 4), (2, 5)])
    return g


def _bare() -> nx.Graph:
    """Two nodes and no link."""
    g = nx.Graph()
    g.add_node("a", Longitude=1.0, Latitude=1.0)
    g.add_node("b", Longitude=1.2, Latitude=1.0)
    return g


@pytest.fixture(scope="module")
def odd_scenes(tmp_path_factory):
    folder = tmp_path_factory.mktemp("odd")
    for name, graph in (("odd", _odd()), ("bare", _bare())):
        nx.write_graphml(graph, folder / f"{name}.graphml")
        (folder / f"{name}.toml").write_text(SCENE.format(name=name))
    return folder


@pytest.mark.parametrize("name", ["odd", "bare"])
@pytest.mark.parametrize("env_id", ["twin3d/TrafficEngineering-v0", "twin3d/FaultRecovery-v0"])
def test_they_step_as_environments(odd_scenes, name, env_id):
    env = gym.make(env_id, scene=str(odd_scenes / f"{name}.toml"), steps=6)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check_env(env.unwrapped, skip_render_check=True)
    env.reset(seed=0)
    for _ in range(5):
        _, reward, _, _, info = env.step(env.action_space.sample())
        kpis = info["kpis"]
        assert np.isfinite(reward)
        assert kpis["served_bps"] >= 0 and kpis["dropped_bps"] >= 0
        assert kpis["served_bps"] + kpis["dropped_bps"] == pytest.approx(kpis["offered_bps"])
    if name == "bare":          # no link: nothing to weight, nothing offered, nothing dropped
        assert env.unwrapped.sim.router.nodes == ["na", "nb"]
        assert kpis["offered_bps"] == 0.0 and kpis["dropped_bps"] == 0.0
    else:                       # the two parts cannot reach each other: their demand drops
        assert kpis["dropped_bps"] > 0


@pytest.mark.parametrize("name", ["odd", "bare"])
def test_synth_rca_and_redteam_run_on_them(odd_scenes, name, cli_in_process):
    scene = odd_scenes / f"{name}.toml"
    out = odd_scenes / f"incidents-{name}"
    run = cli_in_process("synth", scene, "-o", out, "--incidents", "20")
    assert run.returncode == 0, run.stderr
    assert "20 incidents" in run.stdout
    assert {p.name for p in out.iterdir()} >= {"alarms.parquet", "labels.parquet",
                                                "manifest.json", "telemetry.parquet"}
    run = cli_in_process("rca", scene, "-t", out, "--incident", "0")
    assert run.returncode == 0, run.stderr
    run = cli_in_process("redteam", scene, "--objective", "dropped_bps", "--budget", "2")
    assert run.returncode == 0, run.stderr
    assert "exhaustive" in run.stdout
