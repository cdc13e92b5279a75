"""Small hand-worked scenes for the environment tests."""

from __future__ import annotations

from pathlib import Path

from conftest import feature_collection

#   A ---- B        every link 10 Gbit/s but C--D, 7 Gbit/s
#   |      |        demand: 2 Gbit/s for each of the 12 ordered pairs
#   D ---- C
RING_SITES = {"A": (24.90, 60.20), "B": (25.00, 60.20), "C": (25.00, 60.15), "D": (24.90, 60.15)}
RING_LINKS = [("AB", "A", "B", 10e9), ("BC", "B", "C", 10e9), ("CD", "C", "D", 7e9),
              ("DA", "D", "A", 10e9)]
RING_PAIR_BPS = 2e9
RING_TOML = """
[scene]
name = "ring"
seed = 11
[[source]]
path = "sites.geojson"
role = "sites"
[[source]]
path = "links.geojson"
role = "links"
[[source]]
path = "demands.csv"
role = "demands"
[traffic]
demand = "file"
routing = "ecmp"
metric = "hops"
trip_utilization = 1.2
"""


def write_ring_scene(folder: Path) -> Path:
    """The 4-node ring (see RING_LINKS) in ``folder``."""
    (folder / "sites.geojson").write_text(feature_collection(
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": list(xy)},
         "properties": {"id": k, "kind": "pop"}} for k, xy in RING_SITES.items()))
    (folder / "links.geojson").write_text(feature_collection(
        {"type": "Feature", "geometry": None, "properties": {"id": i, "a": a, "b": b, "capacity_bps": c}}
        for i, a, b, c in RING_LINKS))
    rows = [f"{s},{d},{RING_PAIR_BPS:g}" for s in RING_SITES for d in RING_SITES if s != d]
    (folder / "demands.csv").write_text("src,dst,demand_bps\n" + "\n".join(rows) + "\n")
    (folder / "ring.toml").write_text(RING_TOML)
    return folder / "ring.toml"
