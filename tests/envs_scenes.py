"""Small hand-worked scenes for the environment tests."""

from __future__ import annotations

from pathlib import Path

from conftest import CASCADE_TOML, write_link_scene

#   A ---- B        every link 10 Gbit/s but C--D, 7 Gbit/s
#   |      |        demand: 2 Gbit/s for each of the 12 ordered pairs
#   D ---- C
RING_SITES = {"A": (24.90, 60.20), "B": (25.00, 60.20), "C": (25.00, 60.15), "D": (24.90, 60.15)}
RING_LINKS = [("AB", "A", "B", 10e9), ("BC", "B", "C", 10e9), ("CD", "C", "D", 7e9),
              ("DA", "D", "A", 10e9)]
RING_PAIR_BPS = 2e9
# the cascade scene's sources and [traffic], without its scenario
RING_TOML = CASCADE_TOML[:CASCADE_TOML.index("[[scenario]]")].replace('name = "cascade"',
                                                                       'name = "ring"\nseed = 11')


def write_ring_scene(folder: Path) -> Path:
    """The 4-node ring (see RING_LINKS) in ``folder``."""
    rows = [f"{s},{d},{RING_PAIR_BPS:g}" for s in RING_SITES for d in RING_SITES if s != d]
    return write_link_scene(folder, RING_SITES, RING_LINKS, "src,dst,demand_bps\n" + "\n".join(rows) + "\n",
                            RING_TOML, "ring.toml")
