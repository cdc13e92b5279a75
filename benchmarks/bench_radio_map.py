"""Time twin3d's radio map on the Helsinki scene against plain references.

``radio_map`` (raster + one radial viewshed per site, vectorized path loss,
antenna, O2I and SINR; a fresh per-cell cache) is timed on the whole
Helsinki scene at 5 m, on the grid the simulator really uses: ``Simulator(scene).radio``'s
bounds (radio sites and buildings plus a 200 m margin, ``RADIO_MARGIN_M``)
and the scene's ``[radio]`` settings. Two references run in the same
process:

* plain per-point LOS: for a seeded subsample of (site, grid point) pairs,
  the segment antenna -> point is intersected with the true footprints
  (shapely, one pair at a time) and checked against each crossed building's
  roof; the time is extrapolated to every pair of the map. The same
  subsample gives the viewshed's agreement with this exact test (outdoor
  points; indoor points are judged at the wall by design);
* a no-LOS map: FSPL with no buildings, the floor of what a radio map costs.

Then the recombination of SANDBOX.md section 9, in the same run: the
simulator's radio map for an active set it has not seen (one or two sites
off), from the per-cell maps it caches, against the full ``radio_map``
above (and checked equal to a fresh one); and one cell re-tilted (that
cell recomputed, then the combine).

Usage::

    python3 benchmarks/bench_radio_map.py [--grid 5 --pairs 3000 --repeat 5]
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path

import numpy as np
import shapely

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import twin3d  # noqa: E402
from twin3d.physics.coverage import radio_map  # noqa: E402
from twin3d.physics.los import ground_z_m  # noqa: E402
from twin3d.physics.radio import fspl_db  # noqa: E402
from twin3d.sim.engine import RADIO_MARGIN_M, Simulator  # noqa: E402


def exact_los_pair(buildings, tops, antenna, x, y, z) -> bool:
    """Segment antenna -> (x, y, z) against every footprint it crosses."""
    ax, ay, az = antenna
    line = shapely.LineString([(ax, ay), (x, y)])
    d = float(np.hypot(x - ax, y - ay))
    for b in buildings.tree.query(line, predicate="intersects"):
        c = shapely.get_coordinates(shapely.intersection(line, buildings.footprints[b]))
        if len(c) == 0:
            continue
        t = np.hypot(c[:, 0] - ax, c[:, 1] - ay)
        if tops[b] > (az + (z - az) * t / d).min() + 1e-9:
            return False
    return True


def fspl_map(twin, grid) -> np.ndarray:
    """Plain no-LOS map: per cell FSPL + gain-free EIRP, best server power."""
    xs, ys = grid.centers()
    gx, gy = np.meshgrid(xs, ys)
    best = np.full(gx.shape, -np.inf)
    for c in twin.cells:
        a = twin.sites[c.site_id].antenna_xyz_m
        d = np.sqrt((gx - a[0]) ** 2 + (gy - a[1]) ** 2 + (a[2] - 1.5) ** 2)
        best = np.maximum(best, c.p_tx_dbm - fspl_db(d, c.f_hz))
    return best


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scene", default=str(ROOT / "scenes" / "helsinki.toml"))
    ap.add_argument("--grid", type=float, default=None,
                    help="grid step, metres (default: the scene's [radio] grid_m)")
    ap.add_argument("--pairs", type=int, default=3000, help="(site, point) pairs for the per-point reference")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args(argv)

    scene = twin3d.load_scene(args.scene)
    if args.grid is not None:
        scene.spec = dataclasses.replace(scene.spec, radio=dataclasses.replace(scene.spec.radio,
                                                                               grid_m=args.grid))
    args.grid = scene.spec.radio.grid_m
    twin = scene.twin
    sim = Simulator(scene)                                 # computes the baseline map: warm-up
    active = np.array([twin.sites[c.site_id].state == "up" for c in sim.cells])
    r = scene.spec.radio
    times = []
    for _ in range(args.repeat):                           # a full map: fresh per-cell cache
        t0 = time.perf_counter()
        rm = radio_map(twin, model=r.model, grid_m=r.grid_m, ue_height_m=r.ue_height_m,
                       noise_figure_db=r.noise_figure_db, cell_active=active, bounds=sim.radio_bounds)
        times.append(time.perf_counter() - t0)
    t_map = float(np.median(times))
    n_pts = rm.grid.nx * rm.grid.ny
    sites = [s for s in twin.sites.values() if s.cells and s.state == "up"]
    n_pairs = n_pts * len(sites)
    print(f"scene {twin.name}: {len(twin.buildings)} buildings, {len(sites)} radiating sites, "
          f"{len(twin.cells)} cells; the simulator's grid (sites and buildings + {RADIO_MARGIN_M:g} m): "
          f"{rm.grid.nx} x {rm.grid.ny} = {n_pts:,} points at {args.grid:g} m")
    print(f"radio_map: median {t_map:.3f} s over {args.repeat} runs (min {min(times):.3f} s); "
          f"{n_pts / t_map:,.0f} points/s, {n_pts * len(twin.cells) / t_map:,.0f} point-cells/s; "
          f"target < 2 s: {'met' if t_map < 2.0 else 'MISSED'}")

    # Recombination (SANDBOX.md section 9): a new active set from the cached per-cell maps.
    up_sites = [s.id for s in twin.sites.values() if s.cells and s.state == "up"]
    cell_site = np.array([c.site_id for c in sim.cells])
    t_re, misses0 = [], sim.mapper.cache.misses
    for k in range(max(args.repeat, 5)):                  # each set new to the simulator
        down = {up_sites[k % len(up_sites)], up_sites[(3 * k + 1) % len(up_sites)]}
        new_active = active & ~np.isin(cell_site, list(down))
        sim._maps.pop(np.packbits(new_active).tobytes(), None)
        t0 = time.perf_counter()
        sim.radio(new_active)
        t_re.append(time.perf_counter() - t0)
    t_recomb = float(np.median(t_re))
    recomputed = sim.mapper.cache.misses - misses0
    check = sim.radio(new_active)
    fresh = radio_map(twin, model=r.model, grid_m=r.grid_m, ue_height_m=r.ue_height_m,
                      noise_figure_db=r.noise_figure_db, cell_active=new_active, bounds=sim.radio_bounds)
    same = all(np.array_equal(getattr(check, f), getattr(fresh, f))
               for f in ("rsrp_dbm", "sinr_db", "best_server", "los", "throughput_bps"))
    print(f"recombination for a new active set (Simulator.radio, 1-2 sites off, cached per-cell maps): "
          f"median {t_recomb * 1e3:.0f} ms over {len(t_re)} sets (min {min(t_re) * 1e3:.0f} ms), "
          f"{recomputed} cells recomputed; full radio_map {t_map:.3f} s in the same run: "
          f"**{t_map / t_recomb:.0f}x faster**; equal to a fresh radio_map: {'yes' if same else 'NO'}")
    c0 = sim.cells[0]
    tilt0, t_tilt = c0.tilt_deg, []
    try:
        for k in range(max(args.repeat, 5)):             # one cell re-tilted: that cell + the combine
            c0.tilt_deg = tilt0 + 0.5 * (k + 1)
            t0 = time.perf_counter()
            sim.mapper.radio_map(cell_active=active)
            t_tilt.append(time.perf_counter() - t0)
    finally:
        c0.tilt_deg = tilt0
    t_one = float(np.median(t_tilt))
    st = sim.mapper.cache.stats()
    print(f"one cell re-tilted (RadioMapper.radio_map, 1 cell recomputed): median {t_one * 1e3:.0f} ms, "
          f"{t_map / t_one:.0f}x faster than a full map; cache {st['entries']} arrays (rx dBm, mW, site LOS), "
          f"{st['nbytes'] / 1e6:.1f} MB, {st['hits']} hits / {st['misses']} misses")

    # Plain per-point LOS on a subsample, extrapolated to every (site, point) pair.
    rng = np.random.default_rng(args.seed)
    xs, ys = rm.grid.centers()
    gx, gy = (a.ravel() for a in np.meshgrid(xs, ys))
    indoor = rm.indoor.ravel()
    tops = np.asarray(twin.buildings.base_z_m) + np.asarray(twin.buildings.heights_m)
    pick_site = rng.integers(0, len(sites), args.pairs)
    pick_pt = rng.choice(np.flatnonzero(~indoor), args.pairs)
    from twin3d.physics import rasterize_buildings, viewshed_los
    raster = rasterize_buildings(twin.buildings, rm.grid.expanded_to(
        [s.xyz_m[0] for s in sites], [s.xyz_m[1] for s in sites]))
    ue_z = ground_z_m(gx, gy) + 1.5
    agree = 0
    t_ref = 0.0
    for si, s in enumerate(sites):
        m = pick_pt[pick_site == si]
        if len(m) == 0:
            continue
        a = s.antenna_xyz_m
        t0 = time.perf_counter()
        ref = np.array([exact_los_pair(twin.buildings, tops, a, gx[p], gy[p], ue_z[p]) for p in m])
        t_ref += time.perf_counter() - t0
        got = viewshed_los(raster, a, gx, gy, ue_z, indoor)[m]
        agree += int(np.sum(got == ref))
    t_ref_full = t_ref / args.pairs * n_pairs
    print(f"plain per-point LOS (shapely segment vs footprints): {args.pairs} pairs in {t_ref:.2f} s "
          f"-> {t_ref_full:.1f} s extrapolated to {n_pairs:,} pairs (LOS only); "
          f"radio_map is {t_ref_full / t_map:.0f}x faster for the whole map")
    print(f"viewshed vs exact segment LOS on those outdoor pairs: {agree / args.pairs:.1%} agree")

    t0 = time.perf_counter()
    for _ in range(args.repeat):
        fspl_map(twin, rm.grid)
    t_fspl = (time.perf_counter() - t0) / args.repeat
    print(f"plain no-LOS FSPL map (no buildings, antenna, O2I or SINR): {t_fspl:.3f} s; "
          f"radio_map costs {t_map / t_fspl:.1f}x that")

    cov = rm.coverage_fraction()
    p = np.percentile(rm.sinr_db, [5, 10, 50, 90, 95])
    print(f"coverage (RSRP >= -110 dBm and SINR >= -6 dB): {cov:.1%}; indoor points {rm.indoor.mean():.1%}; "
          f"LOS to best server {rm.los.mean():.1%}")
    print("SINR dB p5/p10/p50/p90/p95: " + " / ".join(f"{v:.1f}" for v in p))
    print("RSRP dBm p5/p50/p95: " + " / ".join(f"{v:.1f}" for v in np.percentile(rm.rsrp_dbm, [5, 50, 95])))
    print(f"single-UE throughput Mbit/s p5/p50/p95: "
          + " / ".join(f"{v / 1e6:.0f}" for v in np.percentile(rm.throughput_bps, [5, 50, 95])))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
