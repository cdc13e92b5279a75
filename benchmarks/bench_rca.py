"""Root-cause accuracy and speed on held-out synthetic incidents (issue 10's targets).

For each scene: ``twin3d synth``'s generator writes N incidents with a seed
never used while building RCA and the default noise of SANDBOX.md section 6;
RCA reads them back as ``twin3d rca`` does (telemetry, alarms, manifest;
never labels) and ranks causes. Printed per scene: AC@1 and AC@3 (the
element matches; ``none`` matches the empty element), fault-kind accuracy
at top 1, specificity on ``none`` incidents (top 1 is ``none``), the same
for the alarm-count correlation baseline, and seconds per incident.

Run by hand: ``python3 benchmarks/bench_rca.py [--incidents 200] [--scenes ...]``.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

import twin3d
from twin3d.incidents.batch import synth_to_dir
from twin3d.incidents.rca import RcaSettings, correlation_baseline, rank_root_causes
from twin3d.incidents.tables import read_incident_tables
from twin3d.sim.engine import Simulator

ROOT = Path(__file__).resolve().parents[1]
SCENES = {"helsinki": ROOT / "scenes" / "helsinki.toml",
          "nordic_backbone": ROOT / "scenes" / "nordic_backbone.toml",
          "Geant2012": ROOT / "scenes" / "topologyzoo" / "Geant2012.toml",
          "Garr201201": ROOT / "scenes" / "topologyzoo" / "Garr201201.toml"}
#: Never used while RCA was built or tuned.
HELD_OUT_SEED = 2_026_120_117


def _score(ranked: list[dict], element: str, k: int) -> bool:
    return element in [c["element"] for c in ranked[:k]]


def bench_scene(name: str, path: Path, n: int, seed: int) -> dict:
    sim = Simulator(twin3d.load_scene(path))
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "inc"
        t0 = time.perf_counter()
        synth_to_dir(sim, out, n, seed)
        synth_s = time.perf_counter() - t0
        labels = pq.read_table(out / "labels.parquet").to_pylist()
        observed = read_incident_tables(out, sim)
        noise = json.loads((out / "manifest.json").read_text())["noise"]
    settings = RcaSettings(rel_noise=max(0.005, float(noise["measurement"])),
                           alarm_delay_steps=int(noise["alarm_delay_max_steps"]))
    rows, times = [], []
    for lab in labels:
        window, obs = observed[lab["incident_id"]]
        t0 = time.perf_counter()
        ranked = rank_root_causes(sim, window, obs, settings)
        times.append(time.perf_counter() - t0)
        corr = correlation_baseline(obs)
        rows.append((lab, ranked, corr))
    kinds = Counter(lab["fault_kind"] for lab, _, _ in rows)
    ac1 = np.mean([_score(r, lab["root_element"], 1) for lab, r, _ in rows])
    ac3 = np.mean([_score(r, lab["root_element"], 3) for lab, r, _ in rows])
    kind1 = np.mean([r[0]["fault_kind"] == lab["fault_kind"] for lab, r, _ in rows])
    none = [(r, c) for lab, r, c in rows if lab["fault_kind"] == "none"]
    spec = np.mean([r[0]["fault_kind"] == "none" for r, _ in none]) if none else float("nan")
    c1 = np.mean([_score(c, lab["root_element"], 1) for lab, _, c in rows])
    c3 = np.mean([_score(c, lab["root_element"], 3) for lab, _, c in rows])
    cspec = np.mean([c[0]["element"] == "" for _, c in none]) if none else float("nan")
    per_kind = {k: float(np.mean([_score(r, lab["root_element"], 1) for lab, r, _ in rows
                                  if lab["fault_kind"] == k])) for k in sorted(kinds)}
    compound = [(lab, r) for lab, r, _ in rows if lab["secondary"]]
    return {"scene": name, "incidents": len(rows), "kinds": dict(kinds), "synth_s": synth_s,
            "ac1": ac1, "ac3": ac3, "kind_acc1": kind1, "specificity": spec,
            "corr_ac1": c1, "corr_ac3": c3, "corr_specificity": cspec,
            "rca_s_mean": float(np.mean(times)), "rca_s_p95": float(np.percentile(times, 95)),
            "rca_s_max": float(np.max(times)), "per_kind_ac1": per_kind,
            "compound": len(compound),
            "compound_ac1": float(np.mean([_score(r, lab["root_element"], 1) for lab, r in compound]))
            if compound else float("nan")}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--incidents", type=int, default=200)
    ap.add_argument("--seed", type=int, default=HELD_OUT_SEED)
    ap.add_argument("--scenes", nargs="*", default=list(SCENES))
    args = ap.parse_args()
    for name in args.scenes:
        r = bench_scene(name, SCENES[name], args.incidents, args.seed)
        print(f"{name}: {r['incidents']} incidents (seed {args.seed}; {r['compound']} compound), "
              f"synth {r['synth_s']:.1f} s")
        print(f"  twin RCA:    AC@1 {100 * r['ac1']:.1f} %  AC@3 {100 * r['ac3']:.1f} %  "
              f"kind@1 {100 * r['kind_acc1']:.1f} %  specificity on none {100 * r['specificity']:.1f} %  "
              f"compound AC@1 {100 * r['compound_ac1']:.1f} %")
        print(f"  correlation: AC@1 {100 * r['corr_ac1']:.1f} %  AC@3 {100 * r['corr_ac3']:.1f} %  "
              f"specificity on none {100 * r['corr_specificity']:.1f} %")
        print(f"  RCA time per incident: mean {r['rca_s_mean']:.2f} s, p95 {r['rca_s_p95']:.2f} s, "
              f"max {r['rca_s_max']:.2f} s")
        print("  AC@1 per kind: " + ", ".join(f"{k} {100 * v:.0f} %" for k, v in r["per_kind_ac1"].items()),
              flush=True)


if __name__ == "__main__":
    main()
