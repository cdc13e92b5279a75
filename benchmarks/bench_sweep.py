"""Time ``twin3d sweep``: every single-link failure of Kdl, and busy-hour cases per second on Garr201201.

Targets (issue 12): every single-link failure of Kdl (Topology Zoo, all-pairs
gravity demand, cascades on) in under 60 s on a 2-worker LocalCluster on 2
cores, printed against the serial loop, with the scaling from 1 to 2
workers (at least 1.7x); and at least 200 busy-hour cases per second per
worker on Garr201201 (48 nodes).

Kdl is written to a temporary scene from shared/data/topologyzoo/Kdl.graphml
(10 Gbit/s links, gravity demand of ``--busy-bps`` at the busy hour, ECMP by
hops); nodes without coordinates are left out as the GraphML reader does,
so the twin has fewer nodes and links than the file. The cases are the
baseline and every link in service failed alone (sites are not failed
here). Runs, in this order, each on the same cases:

* serial: ``run_cases(workers=0)`` in this process; the simulator's build
  is timed apart (a warm-up case), so the figure is the loop;
* a LocalCluster of 1 worker, then of 2 workers: the cluster's start and
  the cases' phase (from the cluster being up to the last row, the
  workers' simulator builds included) are printed apart.

The rows of every run must be equal (checked). Garr201201 (the bundled
scene, 40 Gbit/s gravity at the busy hour): every pair of elements
(``--faults double``), serial and on 2 workers; cases per second per worker
is cases / cases' phase / workers.

Usage::

    python3 benchmarks/bench_sweep.py [--busy-bps 60e9] [--skip-kdl] [--skip-garr]
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from twin3d.loader import load_scene  # noqa: E402
from twin3d.provenance import file_sha256  # noqa: E402
from twin3d.sweep.cases import runner_for  # noqa: E402
from twin3d.sweep.faults import plan_cases  # noqa: E402
from twin3d.sweep.run import run_cases  # noqa: E402
from zoo_scene import scene_text, shared_graphml  # noqa: E402



def _same(a: list[dict], b: list[dict]) -> bool:
    def clean(rows):
        return sorted(({k: (None if isinstance(v, float) and math.isnan(v) else v)
                        for k, v in r.items()} for r in rows), key=lambda r: r["case_id"])
    return clean(a) == clean(b)


def _runs(path: Path, cases, label: str, workers_list=(1, 2)) -> dict:
    sha = file_sha256(path)
    t = time.perf_counter()
    runner_for(str(path), sha, False).run(cases[0])          # build + warm-up, timed apart
    build_s = time.perf_counter() - t
    stats0: dict = {}
    t_cpu = time.process_time()
    rows0, _ = run_cases(str(path), sha, cases, workers=0, stats=stats0)
    cpu0 = time.process_time() - t_cpu
    n = len(cases)
    print(f"{label}: {n} cases; serial: simulator build {build_s:.2f} s, loop {stats0['cases_s']:.2f} s "
          f"({n / stats0['cases_s']:.1f} cases/s, {1000 * stats0['cases_s'] / n:.1f} ms/case wall, "
          f"{1000 * cpu0 / n:.1f} ms/case CPU)", flush=True)
    out = {"serial_s": stats0["cases_s"]}
    for w in workers_list:
        st: dict = {}
        t = time.perf_counter()
        rows, complete = run_cases(str(path), sha, cases, workers=w, stats=st)
        total = time.perf_counter() - t
        assert complete and _same(rows, rows0), f"{label}: {w}-worker rows differ from the serial rows"
        rss = ", ".join(f"{b / 2**20:.0f}" for b in st["worker_rss_bytes"])
        print(f"{label}: LocalCluster {w} worker(s): total {total:.2f} s = cluster start "
              f"{st['cluster_start_s']:.2f} s + cases {st['cases_s']:.2f} s "
              f"({n / st['cases_s']:.1f} cases/s, {n / st['cases_s'] / w:.1f} per worker; "
              f"{1000 * st['worker_cpu_s'] / n:.1f} ms/case CPU in the workers; "
              f"{st['batch_cases']} cases per task; worker RSS {rss} MiB); rows equal serial",
              flush=True)
        out[w] = (total, st["cases_s"])
    if 1 in out and 2 in out:
        print(f"{label}: scaling 1 -> 2 workers: {out[1][1] / out[2][1]:.2f}x on the cases' phase, "
              f"{out[1][0] / out[2][0]:.2f}x in total; 2 workers against the serial loop: "
              f"{stats0['cases_s'] / out[2][1]:.2f}x (cases), {stats0['cases_s'] / out[2][0]:.2f}x "
              "(total)", flush=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--busy-bps", type=float, default=60e9, help="Kdl gravity demand at the busy hour")
    ap.add_argument("--skip-kdl", action="store_true")
    ap.add_argument("--skip-garr", action="store_true")
    args = ap.parse_args()
    print(f"{time.strftime('%Y-%m-%d %H:%M:%S', time.gmtime())} UTC, {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.2f}", flush=True)
    if not args.skip_garr:
        garr = ROOT / "scenes" / "topologyzoo" / "Garr201201.toml"
        sc = load_scene(garr)
        cases = plan_cases(sc.twin, list(sc.twin.links), "double", sc.seed)
        _runs(garr, cases, "Garr201201 double", workers_list=(2,))
    if not args.skip_kdl:
        graphml = shared_graphml("Kdl")
        if graphml is None:
            sys.exit("Kdl.graphml not found in shared/data/topologyzoo")
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "kdl.toml"
            path.write_text(scene_text("kdl", graphml, args.busy_bps))
            sc = load_scene(path)
            cases = [c for c in plan_cases(sc.twin, list(sc.twin.links), "single", sc.seed)
                     if not any(f.startswith("site:") for f in c.faults)]
            print(f"Kdl: {len(sc.twin.sites)} sites, {len(sc.twin.links)} links placed; "
                  f"busy hour {args.busy_bps:g} bit/s", flush=True)
            _runs(path, cases, "Kdl single-link")
    print(f"end {time.strftime('%H:%M:%S', time.gmtime())} UTC, load average "
          f"{os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
