"""What the bundled Helsinki scene's scenarios do to its ``[sla]``, per scenario.

Runs every scenario of ``scenes/helsinki.toml`` (or ``--scene``) with the
scene's radio model and prints, per scenario: the steps that violate
``[sla]``, the coverage (least over the day), the dropped share of the
offered traffic (least and most), the demand-weighted throughput p5 (most),
the busiest link (most) and the latency p95 (most), against the scene's
bounds. The scene's ``[sla]`` comment quotes these figures.

Usage::

    python3 benchmarks/helsinki_sla.py [--scene scenes/helsinki.toml]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import twin3d  # noqa: E402
from twin3d.sim.engine import Simulator  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scene", default=str(ROOT / "scenes" / "helsinki.toml"))
    args = ap.parse_args()
    scene = twin3d.load_scene(args.scene)
    sla = scene.spec.sla
    print(f"scene {scene.spec.name}, radio model {scene.spec.radio.model}; [sla] coverage >= "
          f"{sla.coverage_pct_min} %, dropped <= {100 * sla.dropped_fraction_max:.2f} %, throughput "
          f"p5 >= {sla.throughput_p5_bps_min / 1e6:g} Mbit/s, util <= {sla.util_max}, latency p95 "
          f"<= {sla.latency_p95_ms} ms")
    sim = Simulator(scene)
    print(f"{'scenario':26s} {'violating':>9s} {'cover % min':>11s} {'dropped % min/max':>17s} "
          f"{'thr p5 Mb/s max':>15s} {'util max':>8s} {'lat p95 ms max':>14s}")
    for spec in scene.spec.scenarios:
        k = [s.kpis for s in sim.run(spec).steps]
        drop = [100 * x["dropped_bps"] / x["offered_bps"] for x in k if x["offered_bps"] > 0]
        viol = sum(bool(x.get("sla_violated")) for x in k)
        print(f"{spec.name:26s} {viol:>4d} / {len(k):<2d} {min(x['coverage_pct'] for x in k):11.2f} "
              f"{min(drop):8.2f} / {max(drop):6.2f} "
              f"{max(x['throughput_p5_bps'] for x in k) / 1e6:15.2f} "
              f"{max(x['util_max'] for x in k):8.2f} {max(x['latency_p95_ms'] for x in k):14.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
