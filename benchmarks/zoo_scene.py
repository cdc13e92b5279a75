"""A Topology Zoo backbone from shared/data as a scene file, for the benchmarks.

Examples
--------
>>> graphml = shared_graphml("Deltacom")                       # doctest: +SKIP
>>> Path("deltacom.toml").write_text(scene_text("deltacom", graphml, 40e9))  # doctest: +SKIP
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: 10 Gbit/s links, gravity demand of ``busy`` bit/s at the busy hour, ECMP by hops.
SCENE = """[scene]
name = "{name}"
seed = 7
[[source]]
kind = "graphml"
path = "{path}"
default_capacity_bps = 10e9
[traffic]
busy_hour_bps = {busy:g}
routing = "ecmp"
metric = "hops"
"""


def shared_graphml(name: str) -> Path | None:
    """``<name>.graphml`` of shared/data/topologyzoo beside the checkout, or None."""
    for base in (ROOT.parent / "shared", Path("/work/shared")):
        path = base / "data" / "topologyzoo" / f"{name}.graphml"
        if path.is_file():
            return path
    return None


def scene_text(name: str, graphml: Path, busy_bps: float) -> str:
    """The scene file of ``graphml`` (an absolute path is written, so it loads from anywhere)."""
    return SCENE.format(name=name, path=graphml.resolve().as_posix(), busy=busy_bps)
