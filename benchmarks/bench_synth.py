"""Synthetic incidents per second (``twin3d synth``) on the Topology Zoo backbones.

Timed on Abilene, Garr201201 and Geant2012, for N incidents with the
defaults (balanced kinds, 12 steps of 300 s, 10 % compound, SANDBOX noise):

* ``simulate``: sampling and simulating the incidents only (one process,
  one ``Simulator``, no noise, no files);
* ``end to end``: :func:`twin3d.incidents.batch.synth_to_dir`, with noise
  and the four files written, in one process and with ``--workers 2``.

Scene loading and the first incidents (JIT warm-up) are not timed. The
issue's target (at least 100 incidents/s on a backbone) is printed with MET
or MISSED for each figure.

Usage::

    python3 benchmarks/bench_synth.py [--incidents 500] [--workers 2]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import twin3d  # noqa: E402
from twin3d.incidents.batch import synth_chunk, synth_to_dir  # noqa: E402
from twin3d.incidents.noise import NoiseSpec  # noqa: E402
from twin3d.incidents.synth import SynthPlan, synth_incident  # noqa: E402
from twin3d.sim.engine import Simulator  # noqa: E402

TARGET = 100.0      # incidents/s on a backbone (issue 10)
SCENES = ["Abilene", "Garr201201", "Geant2012"]
PROV = {"twin3d_version": twin3d.__version__, "scene_file": "", "scene_sha256": "", "seed": 1,
        "command": "bench_synth"}


def verdict(rate: float) -> str:
    return f"{'MET' if rate >= TARGET else 'MISSED'} (target {TARGET:.0f}/s)"


def bench(name: str, n: int, workers: int) -> None:
    sim = Simulator(twin3d.load_scene(ROOT / "scenes" / "topologyzoo" / f"{name}.toml"))
    plan = SynthPlan.build(sim)
    synth_chunk(sim, plan, 1, range(10), NoiseSpec())           # warm-up (JIT, caches)
    t = time.perf_counter()
    for i in range(n):
        synth_incident(sim, plan, 1, i)
    sim_rate = n / (time.perf_counter() - t)
    rates = {}
    with tempfile.TemporaryDirectory() as tmp:
        for w in sorted({1, workers}):
            t = time.perf_counter()
            synth_to_dir(sim, Path(tmp) / f"w{w}", n, seed=1, workers=w, provenance=PROV)
            rates[w] = n / (time.perf_counter() - t)
        size = sum(p.stat().st_size for p in (Path(tmp) / "w1").iterdir()) / 1e6
    print(f"{name:12s} {len(sim.site_ids):3d} sites {len(sim.link_ids):3d} links | "
          f"simulate {sim_rate:6.1f}/s {verdict(sim_rate)}")
    for w, r in rates.items():
        print(f"{'':33s}| end to end, {w} worker(s) {r:6.1f}/s {verdict(r)}  ({size:.1f} MB for {n})")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--incidents", type=int, default=500)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    print(f"twin3d synth: {args.incidents} incidents per scene, defaults (12 x 300 s, SANDBOX noise)")
    for name in SCENES:
        bench(name, args.incidents, args.workers)


if __name__ == "__main__":
    main()
