"""What the bundled Helsinki scene's scenarios do to its ``[sla]``, per scenario.

Prints the coverage with every cell awake (indoor and outdoor points, and
by demand), then runs every scenario of ``scenes/helsinki.toml`` (or ``--scene``) with the
scene's radio model and prints, per scenario: the steps that violate
``[sla]``, the coverage (least over the day), the dropped share of the
offered traffic (least and most), the demand-weighted throughput p5 (most),
the busiest link (most) and the latency p95 (most), against the scene's
bounds; then the link utilization (busiest and mean) at 21:00 and 03:00 and
the radio energy at 03:00.
The scene's ``[sla]`` comment and the README quote these figures.

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
from twin3d.errors import InputError  # noqa: E402
from twin3d.sim.engine import Simulator  # noqa: E402
from twin3d.sim.radio_serving import RSRP_MIN_DBM, SINR_MIN_DB  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scene", default=str(ROOT / "scenes" / "helsinki.toml"))
    args = ap.parse_args()
    try:
        scene = twin3d.load_scene(args.scene)
    except InputError as e:                    # a user's scene: one message, exit 2
        print(f"error: {e}", file=sys.stderr)
        return 2
    sla = scene.spec.sla
    print(f"scene {scene.spec.name}, radio model {scene.spec.radio.model}; [sla] coverage >= "
          f"{sla.coverage_pct_min} %, dropped <= {100 * sla.dropped_fraction_max:.2f} %, throughput "
          f"p5 >= {sla.throughput_p5_bps_min / 1e6:g} Mbit/s, util <= {sla.util_max}, latency p95 "
          f"<= {sla.latency_p95_ms} ms")
    sim = Simulator(scene)
    rm = sim.baseline_map                     # every cell awake
    cov = rm.covered(RSRP_MIN_DBM, SINR_MIN_DB)
    ind, w = rm.indoor, sim.weights
    print(f"every cell awake: {100 * cov.mean():.1f} % of the grid covered; indoor points "
          f"{100 * cov[ind].mean():.1f} %, outdoor {100 * cov[~ind].mean():.1f} %; "
          f"{100 * (w * cov).sum() / w.sum():.1f} % of the demand ({100 * w[ind].sum() / w.sum():.0f} % "
          "of it indoors)")
    print(f"{'scenario':26s} {'violating':>9s} {'cover % min':>11s} {'dropped % min/max':>17s} "
          f"{'thr p5 Mb/s max':>15s} {'util max':>8s} {'lat p95 ms max':>14s}")
    at = {}
    for spec in scene.spec.scenarios:
        steps = sim.run(spec).steps
        k = [s.kpis for s in steps]
        at[spec.name] = {round(s.hour) % 24: s.kpis for s in steps}
        drop = [100 * x["dropped_bps"] / x["offered_bps"] for x in k if x["offered_bps"] > 0]
        viol = sum(bool(x.get("sla_violated")) for x in k)
        print(f"{spec.name:26s} {viol:>4d} / {len(k):<2d} {min(x['coverage_pct'] for x in k):11.2f} "
              f"{min(drop):8.2f} / {max(drop):6.2f} "
              f"{max(x['throughput_p5_bps'] for x in k) / 1e6:15.2f} "
              f"{max(x['util_max'] for x in k):8.2f} {max(x['latency_p95_ms'] for x in k):14.2f}")
    print(f"{'scenario':26s} {'util max/mean 21:00':>19s} {'util max/mean 03:00':>19s} "
          f"{'energy kW 03:00':>15s}")
    for name, by_hour in at.items():
        cells = [f"{by_hour[h]['util_max']:.2f} / {by_hour[h]['util_mean']:.2f}" if h in by_hour
                 else "-" for h in (21, 3)]
        kw = f"{by_hour[3]['energy_w'] / 1e3:.2f}" if 3 in by_hour else "-"
        print(f"{name:26s} {cells[0]:>19s} {cells[1]:>19s} {kw:>15s}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
