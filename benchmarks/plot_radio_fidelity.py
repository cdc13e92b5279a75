"""Picture of the geometric model against a held-out ray-traced reference (issue 13).

Three panels per stored Sionna RT reference (``tests/data/rt/``, made
by ``benchmarks/make_rt_references.py``; macro_hel02 and small_west were not
used to tune the model): the geometric model's best-server path gain, the
ray tracer's, and their difference (model minus reference, less the mean
offset over outdoor points), each with the buildings drawn and a colour bar
in dB. Best-server path gain is the maximum over the sectors of the path
gain at 0 dBm (antenna gain minus path loss), both maps clipped at -160 dB,
as in ``benchmarks/bench_radio_fidelity.py``. It prints the scores of that
benchmark for each reference (Spearman and RMSE after the offset, per 5 m
cell and in 15 m bins) so a caption can quote them.

Usage::

    python3 benchmarks/plot_radio_fidelity.py            # macro_hel02 and small_west, 3.5 GHz
    python3 benchmarks/plot_radio_fidelity.py --reference small_west_3500mhz -o west.png

Writes ``docs/images/radio_fidelity.png`` by default (atomically).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import shapely

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from twin3d.atomic import atomic_path  # noqa: E402
from twin3d.physics.geometric.model import geometric_path_gain_db  # noqa: E402
from twin3d.rt.compare import agreement, best_server_db, outdoor_mask  # noqa: E402
from twin3d.rt.references import geometric_terms_of, load_reference  # noqa: E402

REFS = ROOT / "tests" / "data" / "rt"
OUT = ROOT / "docs" / "images" / "radio_fidelity.png"
#: The held-out references drawn by default (one row each): a rooftop macro, street small cells.
DEFAULT_REFS = ("macro_hel02_3500mhz", "small_west_3500mhz")
#: Colour range of the path-gain panels, dB, and half the range of the difference panel.
GAIN_RANGE_DB = (-140.0, -50.0)
DIFF_DB = 20.0


def _draw_buildings(ax, buildings) -> None:
    for fp in buildings.footprints:
        for poly in getattr(fp, "geoms", [fp]):
            x, y = np.asarray(poly.exterior.coords).T
            ax.fill(x, y, facecolor="#d9d9d9", edgecolor="#404040", linewidth=0.4, zorder=2)


def _rays(n) -> str:
    return f"{float(n):.0e}".replace("e+0", "e").replace("e+", "e")


def plot(rows, out: Path) -> None:
    """Write one row of three panels per ``(reference, model map, scores)`` to ``out`` (PNG)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=(16.5, 5.6 * len(rows)), layout="constrained")
    for sub, (ref, model_db, scores) in zip(np.atleast_1d(fig.subfigures(len(rows), 1)), rows):
        _row(sub, sub.subplots(1, 3), ref, model_db, scores)
    with atomic_path(out, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=100)
    plt.close(fig)


def _row(fig, axes, ref, model_db, scores) -> None:
    mask = outdoor_mask(ref.buildings, ref.grid)
    ours, theirs = best_server_db(model_db), best_server_db(ref.path_gain_db)
    diff = ours - theirs
    diff = np.where(mask, diff - diff[mask].mean(), np.nan)
    x0, y0, x1, y1 = ref.grid.bounds_m
    extent = (x0, x1, y0, y1)
    sites = np.unique(np.array([s.antenna_xyz_m[:2] for s in ref.specs]), axis=0)
    panels = (
        (ours, "geometric model", "viridis", GAIN_RANGE_DB, "best-server path gain, dB"),
        (theirs, f"Sionna RT ({_rays(ref.meta.get('samples_per_tx', 0))} rays per sector)",
         "viridis", GAIN_RANGE_DB, "best-server path gain, dB"),
        (diff, "model - ray tracer, mean offset removed", "RdBu_r", (-DIFF_DB, DIFF_DB),
         "difference, dB (outdoor points)"),
    )
    for ax, (img, title, cmap, (lo, hi), label) in zip(axes, panels):
        im = ax.imshow(img, origin="lower", extent=extent, cmap=cmap, vmin=lo, vmax=hi,
                       interpolation="nearest", zorder=1)
        _draw_buildings(ax, ref.buildings)
        ax.plot(sites[:, 0], sites[:, 1], marker="^", color="red", markeredgecolor="black",
                linestyle="none", markersize=9, zorder=3)
        ax.set_xlim(x0, x1)
        ax.set_ylim(y0, y1)
        ax.set_aspect("equal")
        ax.set_title(title, fontsize=11)
        ax.set_xlabel("east, m")
        fig.colorbar(im, ax=ax, shrink=0.85, label=label)
    f_ghz = ref.specs[0].f_hz / 1e9
    axes[0].set_ylabel("north, m")
    fig.suptitle(f"{ref.name} ({ref.meta['kind']}: {len(ref.specs)} sectors at {f_ghz:g} GHz, "
                 f"held out from tuning). Per {ref.grid.step_m:g} m cell: Spearman "
                 f"{scores['spearman']:.2f}, RMSE {scores['rmse_db']:.1f} dB; in "
                 f"{scores['bin_m']:g} m bins: {scores['bin_spearman']:.2f}, "
                 f"{scores['bin_rmse_db']:.1f} dB", fontsize=12)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--reference", action="append", default=None,
                   help="a reference under tests/data/rt (name without .npz), one row each; "
                        f"default: {', '.join(DEFAULT_REFS)}")
    p.add_argument("-o", "--out", type=Path, default=OUT, help="the PNG to write")
    args = p.parse_args(argv)
    rows = []
    for name in args.reference or DEFAULT_REFS:
        path = REFS / f"{name}.npz"
        if not path.is_file():
            names = ", ".join(sorted(q.stem for q in REFS.glob("*.npz")))
            print(f"{path}: no such reference (stored: {names})", file=sys.stderr)
            return 2
        ref = load_reference(path)
        t0 = time.perf_counter()
        ours = geometric_path_gain_db(ref.buildings, ref.grid, ref.specs, ref.ue_height_m,
                                      **geometric_terms_of(ref))
        dt = time.perf_counter() - t0
        got = agreement(ours, ref.path_gain_db, ref.buildings, ref.grid, ref.meta["kind"])
        print(f"{ref.name} ({ref.meta['kind']}, {len(ref.specs)} sectors, "
              f"{ref.grid.nx} x {ref.grid.ny} points at {ref.grid.step_m:g} m; model {dt:.1f} s)")
        print(f"  per cell:       Spearman {got['spearman']:.3f}  RMSE {got['rmse_db']:.2f} dB  "
              f"(offset {got['offset_db']:+.2f} dB, {got['n']} outdoor points)")
        print(f"  {got['bin_m']:g} m bins:     Spearman {got['bin_spearman']:.3f}  "
              f"RMSE {got['bin_rmse_db']:.2f} dB  ({got['bin_n']} bins)")
        print(f"  reached points: Spearman {got['reached_spearman']:.3f}  RMSE "
              f"{got['reached_rmse_db']:.2f} dB  ({got['reached_fraction']:.0%} of outdoor points)")
        rows.append((ref, ours, got))
    plot(rows, args.out)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
