"""Time ``twin3d.guard.check`` on the 100-node backbone (Deltacom), without and with n1.

Targets (issue 11): under 1 s without ``n1``, under 10 s with it, all
ordered pairs. The scene is written to a temporary folder from
shared/data/topologyzoo/Deltacom.graphml (10 Gbit/s links, a gravity
demand of ``--busy-bps`` at the busy hour, ECMP by hops). The change is a
static route at the best-connected site toward the site farthest from it
(in hops), via its neighbour on no shortest path, plus a link weight on one
of its links: the kernel's costly case, the overrides touch a destination.
The simulator is built once (its time is printed apart) and warmed up, so
the figures are what a repeated check costs.

With ``--fuzz N``, N random changes (static routes, drops, ACLs, weights,
cut links, down sites; tests/guard_walk.py) on each bundled backbone
(scenes/topologyzoo/*.toml) and Deltacom: the guard's loop and black-hole
pairs against an independent networkx walk, and the disagreements counted
(the target is zero).

With ``--redteam`` (issue 11, part 5): ``redteam --budget 3 --objective
dropped_bps`` on Deltacom loaded to ``--redteam-busy-bps`` (default 40e9,
the twin's default busy hour), timed from a built simulator, against the
best of ``--random`` (default 10,000) uniformly drawn failure sets of 1-3
links or sites, scored by the same batched evaluator at the same busy hour;
the best random set is replayed through ``Simulator.run`` as a check. The
target: redteam's damage >= the best random damage, within 60 s.

Usage::

    python3 benchmarks/bench_guard.py [--busy-bps 2e9] [--repeat 3] [--fuzz 1000] [--no-redteam]
    python3 benchmarks/bench_guard.py --redteam [--redteam-busy-bps 40e9] [--random 10000]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import networkx as nx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))      # the independent walk of the property test

from twin3d.guard import changes_from_text, check  # noqa: E402
from twin3d.loader import load_scene  # noqa: E402
from twin3d.sim.engine import Simulator  # noqa: E402
from zoo_scene import scene_text, shared_graphml  # noqa: E402



def _change(scene) -> str:
    g = nx.Graph(scene.twin.graph)
    hub = max(g, key=lambda n: (g.degree(n), n))
    dist = nx.single_source_shortest_path_length(g, hub)
    far = max(dist, key=lambda n: (dist[n], n))
    to_far = nx.single_source_shortest_path_length(g, far)
    off = max(g[hub], key=lambda n: (to_far[n], n))     # the neighbour farthest from far
    link = next(iter(scene.twin.graph[hub][off]))
    return (f'[[change]]\nkind = "static_route"\nat = "{hub}"\ndst = "{far}"\nnext_hop = "{off}"\n'
            f'[[change]]\nkind = "link_weight"\nlink = "{link}"\nweight = 3\n')


def fuzz(scene_path: Path, n: int, seed: int = 7) -> tuple[int, int, float]:
    """(cases, disagreements, seconds) of ``n`` random changes on one scene."""
    import numpy as np
    from guard_walk import expected_pairs, random_changes
    scene = load_scene(scene_path)
    sim = Simulator(scene)
    nodes = [str(x) for x in sim.router.nodes]
    links = [(lid, l.a, l.b) for lid, l in scene.twin.links.items()]
    base = {lid: float(w) for lid, w in zip(sim.link_ids, sim.link_weight)}
    rng = np.random.default_rng(seed)
    bad, t = 0, time.perf_counter()
    for _ in range(n):
        changes = changes_from_text(random_changes(rng, nodes, links), scene)
        r = check(sim, changes, n1=False)
        got = ({(v["src"], v["dst"]) for v in r["checks"]["loop"]["violations"]},
               {(v["src"], v["dst"]) for v in r["checks"]["black_hole"]["violations"]})
        bad += got != expected_pairs(changes, nodes, links, base)
    return n, bad, time.perf_counter() - t


def bench_redteam(graphml: Path, busy_bps: float, n_random: int, seed: int = 7) -> None:
    """redteam --budget 3 on Deltacom against the best of ``n_random`` random failure sets."""
    import numpy as np
    from twin3d.guard import redteam
    from twin3d.guard.attacks import DamageEvaluator, attack_menu
    from twin3d.guard.search import random_sets
    from twin3d.guard.state import busy_hour_scenario, with_events
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "deltacom_redteam.toml"
        path.write_text(scene_text("deltacom", graphml, busy_bps))
        t = time.perf_counter()
        sim = Simulator(load_scene(path))
        build_s = time.perf_counter() - t
        redteam(sim, budget=1, max_evals=1)                 # warm up the compiled step
        t = time.perf_counter()
        r = redteam(sim, budget=3, objective="dropped_bps", seed=seed)
        rt_s = time.perf_counter() - t
        w = r["without_change"]
        attacks = attack_menu(sim)
        ev = DamageEvaluator(sim, busy_hour_scenario(), [], attacks, "dropped_bps")
        t = time.perf_counter()
        sets = random_sets(len(attacks), 3, n_random, np.random.default_rng(seed))
        scores = ev(sets)
        rand_s = time.perf_counter() - t
        best = int(np.argmax(scores.damage))
        replay = sim.run(with_events(busy_hour_scenario(), [attacks[i].event for i in sets[best]]))
        rand = float(replay.steps[0].kpis["dropped_bps"])
        offered = w["offered_bps"]
        ok = w["damage"] >= rand and rt_s <= 60.0
        print(f"redteam Deltacom ({sim.router.n_nodes} nodes, {len(sim.link_ids)} links, "
              f"{len(attacks)} attacks, busy hour {busy_bps / 1e9:g} Gbit/s offered; simulator "
              f"{build_s:.2f} s): budget 3, {w['method']}, {w['evaluations']} sets of "
              f"{w['sets']}, {rt_s:.2f} s")
        print(f"  redteam worst: {w['damage'] / 1e9:.4f} Gbit/s dropped ({w['damage'] / offered:.1%}): "
              + ", ".join(a["element"] for a in w["worst"]))
        print(f"  best of {n_random} random sets: {rand / 1e9:.4f} Gbit/s dropped "
              f"({rand / offered:.1%}) in {rand_s:.2f} s: "
              + ", ".join(attacks[i].element for i in sets[best]))
        print(f"  redteam >= best random and <= 60 s: {'MET' if ok else 'MISSED'} "
              f"(ratio {w['damage'] / rand if rand else float('inf'):.3f}, "
              f"{rand_s / rt_s:.1f}x the redteam time for the random sets)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--busy-bps", type=float, default=2e9)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--fuzz", type=int, default=0, help="random changes per backbone (0: none)")
    ap.add_argument("--redteam", action="store_true", help="only the redteam benchmark")
    ap.add_argument("--no-redteam", action="store_true", help="skip the redteam benchmark")
    ap.add_argument("--redteam-busy-bps", type=float, default=40e9)
    ap.add_argument("--random", type=int, default=10_000, help="random failure sets (redteam)")
    args = ap.parse_args()
    graphml = shared_graphml("Deltacom")
    if graphml is None:
        sys.exit("Deltacom.graphml not found in shared/data/topologyzoo")
    if args.redteam:
        bench_redteam(graphml, args.redteam_busy_bps, args.random)
        return
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "deltacom.toml"
        path.write_text(scene_text("deltacom", graphml, args.busy_bps))
        t = time.perf_counter()
        scene = load_scene(path)
        sim = Simulator(scene)
        build_s = time.perf_counter() - t
        changes = changes_from_text(_change(scene), scene)
        check(sim, changes, n1=True)                       # warm up (numba caches, demand arrays)
        print(f"Deltacom: {sim.router.n_nodes} nodes, {len(sim.link_ids)} links; "
              f"load + simulator {build_s:.2f} s; changes: "
              + "; ".join(f"{c.kind} {c.fields}" for c in changes))
        for n1, target in ((False, 1.0), (True, 10.0)):
            times = []
            for _ in range(args.repeat):
                t = time.perf_counter()
                r = check(sim, changes, n1=n1)
                times.append(time.perf_counter() - t)
            counts = ", ".join(f"{k} {sum(v.get('new', True) for v in c['violations'])}/"
                               f"{len(c['violations'])}" for k, c in r["checks"].items())
            extra = (f"; n1: {r['checks']['n1']['failures']} failures, "
                     f"{r['checks']['n1']['survived_before']} survived before") if n1 else ""
            print(f"check {'with' if n1 else 'without'} n1: best {min(times):.3f} s of {args.repeat} "
                  f"(target < {target:g} s: {'met' if min(times) < target else 'MISSED'}); "
                  f"verdict {r['verdict']}; violations new/all: {counts}{extra}")
        if args.fuzz:
            for p in [*sorted((ROOT / "scenes" / "topologyzoo").glob("*.toml")), path]:
                n, bad, secs = fuzz(p, args.fuzz)
                print(f"fuzz {p.stem}: {n} random changes, {bad} disagreements with the "
                      f"independent walk ({secs:.1f} s)")
    if not args.no_redteam:
        bench_redteam(graphml, args.redteam_busy_bps, args.random)


if __name__ == "__main__":
    main()
