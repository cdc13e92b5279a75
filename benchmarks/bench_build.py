"""The README's Helsinki figures: build time and peak memory, validation, steps per second.

Every figure of the README's performance table about the Helsinki scene is
printed here, measured in this run:

* ``twin3d build scenes/helsinki.toml`` in a subprocess, with and without
  ``--no-validate`` (wall time; peak resident memory of the child from
  ``resource.getrusage(RUSAGE_CHILDREN)``; output size, signal layer and
  scenario layers), best of ``--repeat`` runs each. The difference is what
  the default validation of the root stage costs.
* ``twin3d validate`` of one scenario stage (``OUT/scenarios/<name>.usda``)
  in a subprocess: wall time, rules, errors, warnings.
* ``Simulator.run`` over every Helsinki scenario in this process:
  ``Simulator(scene)`` (router, the baseline radio map) plus every step
  of every scenario (radio maps of changed site sets included), steps/s.

Peak RSS of a child is its own ``ru_maxrss``: each build runs in a fresh
``python3 -m twin3d`` process, measured before and after with
``RUSAGE_CHILDREN`` (Linux reports kilobytes; the largest child so far is
reported, so the build runs first, before any smaller child).

Usage::

    python3 benchmarks/bench_build.py [--scene scenes/helsinki.toml --repeat 2]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _env() -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    return env


def run_twin3d(*args: str) -> tuple[float, float, subprocess.CompletedProcess]:
    """Run ``python3 -m twin3d ARGS``; (wall s, peak RSS MB of the child so far, result)."""
    t0 = time.perf_counter()
    res = subprocess.run([sys.executable, "-m", "twin3d", *args], cwd=ROOT, env=_env(),
                         capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if res.returncode not in (0, 1):
        raise SystemExit(f"twin3d {' '.join(args)} failed ({res.returncode}):\n{res.stderr}")
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return wall, peak_mb, res


def folder_mb(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 1e6


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scene", default=str(ROOT / "scenes" / "helsinki.toml"))
    ap.add_argument("--repeat", type=int, default=2, help="builds of each kind (best is shown)")
    args = ap.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="bench-build-") as tmp:
        out = Path(tmp) / "out"
        # the validated build first: its child is the largest, so ru_maxrss is its own
        runs = {"validated": [], "no-validate": []}
        peak_mb = 0.0
        for _ in range(args.repeat):
            wall, peak_mb, res = run_twin3d("build", args.scene, "-o", str(out))
            runs["validated"].append(wall)
            validated_line = next((l for l in res.stdout.splitlines() if l.startswith("validated")), "")
        for _ in range(args.repeat):
            wall, _, _ = run_twin3d("build", args.scene, "-o", str(out), "--no-validate")
            runs["no-validate"].append(wall)
        t_val, t_novalid = min(runs["validated"]), min(runs["no-validate"])
        summary = json.loads((out / "summary.json").read_text())
        kpis = json.loads((out / "kpis.json").read_text())
        n_steps = sum(len(s["steps"]) for s in kpis["scenarios"].values())
        layers = out / "layers"
        scen = sorted((layers / "scenarios").glob("*.usdc"), key=lambda p: -p.stat().st_size)
        print(f"scene {summary['scene']}: {summary['buildings']} buildings, {summary['streets']} streets, "
              f"{summary['sites']} sites, {summary['cells']} cells, {len(kpis['scenarios'])} scenarios, "
              f"{n_steps} steps")
        print(f"twin3d build (validates twin.usda): {t_val:.2f} s wall (best of {args.repeat}); "
              f"peak RSS {peak_mb:.0f} MB; {validated_line.strip()}")
        print(f"twin3d build --no-validate: {t_novalid:.2f} s wall (best of {args.repeat}); "
              f"validation adds {t_val - t_novalid:.2f} s ({t_val / t_novalid:.2f}x the build)")
        sig = layers / "signal.usdc"
        print(f"output {folder_mb(out):.1f} MB (signal layer {sig.stat().st_size / 1e6 if sig.exists() else 0:.1f} MB; "
              "scenario layers " + ", ".join(f"{p.stem} {p.stat().st_size / 1e6:.2f} MB" for p in scen) + ")")

        stage = out / "scenarios" / f"{next(iter(kpis['scenarios']))}.usda"
        wall, _, res = run_twin3d("validate", str(stage))
        print(f"twin3d validate {stage.relative_to(out)}: {wall:.2f} s wall (exit {res.returncode}); "
              f"{res.stdout.strip().splitlines()[-1]}")

    import twin3d
    from twin3d.sim.engine import Simulator
    scene = twin3d.load_scene(args.scene)
    t0 = time.perf_counter()
    sim = Simulator(scene)
    t_init = time.perf_counter() - t0
    results = [sim.run(s) for s in scene.spec.scenarios]
    t_all = time.perf_counter() - t0
    steps = sum(len(r.steps) for r in results)
    print(f"Simulator.run over all {len(results)} scenarios: {steps} steps in {t_all:.2f} s "
          f"(Simulator(scene) {t_init:.2f} s of it; {len(sim._maps)} radio maps): "
          f"{steps / t_all:.0f} steps/s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
