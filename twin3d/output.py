"""Build a scene's outputs into a folder, atomically.

Everything is written into a temporary folder beside the target and moved
into place only when complete, so a failure never leaves half a stage.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections import Counter
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Iterator

from .errors import InputError
from .loader import Scene

__all__ = ["BuildResult", "atomic_dir", "build", "scene_summary", "scene_provenance", "export_scene"]


@dataclass
class BuildResult:
    """Where a build wrote its stage, and what it holds."""

    out_dir: Path
    root_layer: Path
    summary: dict


@contextmanager
def atomic_dir(out_dir: str | Path) -> Iterator[Path]:
    """Yield a fresh temporary folder that replaces ``out_dir`` on success.

    On an exception the temporary folder is removed and ``out_dir`` is left
    as it was.
    """
    out = Path(out_dir).resolve()
    if out.exists() and not out.is_dir():
        raise InputError(out, "output path exists and is not a folder")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o777 & ~umask)   # mkdtemp makes 0700; the output is an ordinary folder
    try:
        yield tmp
        old = None
        if out.exists():
            old = out.parent / f".{out.name}.old-{os.getpid()}"
            os.replace(out, old)
        os.replace(tmp, out)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def scene_summary(scene: Scene) -> dict:
    """Counts of what the twin holds and what was skipped, JSON-ready.

    A scene with cells also records its ``[radio]`` model and engine.
    """
    twin = scene.twin
    skipped = [s for s in twin.skipped if s.action == "skipped"]
    repaired = [s for s in twin.skipped if s.action == "repaired"]
    return {
        "scene": scene.name,
        "origin": {"lon_deg": twin.frame.lon0, "lat_deg": twin.frame.lat0, "h_m": twin.frame.h0_m},
        "sites": len(twin.sites),
        "sites_by_kind": dict(sorted(Counter(s.kind for s in twin.sites.values()).items())),
        "cells": len(twin.cells),
        "links": len(twin.links),
        "links_length_m": round(sum(l.length_m for l in twin.links.values()), 1),
        "buildings": len(twin.buildings),
        "streets": len(twin.streets),
        "demands": len(twin.demands),
        "scenarios": [s.name for s in scene.spec.scenarios],
        **({"radio": {"model": scene.spec.radio.model, "engine": scene.spec.radio.engine}}
           if twin.cells else {}),
        "skipped": [asdict(s) for s in skipped],
        "repaired": [asdict(s) for s in repaired],
    }


def scene_provenance(scene: Scene) -> dict:
    """The scene's provenance (recorded when it was loaded; computed now otherwise)."""
    from .provenance import provenance
    return dict(scene.twin.meta.get("provenance") or provenance(scene.spec.path, scene.seed))


def build(scene: Scene, out_dir: str | Path,
          progress: Callable[[str], None] | None = None) -> BuildResult:
    """Write the scene's OpenUSD stage and a summary into ``out_dir``.

    Runs every scenario, then writes ``OUT/twin.usda`` (the root stage over
    the base and signal layers), ``OUT/scenarios/<name>.usda`` (one root
    stage per scenario), their layers under ``OUT/layers/``,
    ``OUT/kpis.json`` and ``OUT/summary.json``; all or nothing. Each of
    them, and every layer, records the scene's provenance
    (:mod:`twin3d.provenance`).

    Parameters
    ----------
    scene : Scene
        A loaded scene (:func:`twin3d.load_scene`).
    out_dir : str or Path
        The output folder; replaced as a whole when the build succeeds.

    Returns
    -------
    BuildResult

    Examples
    --------
    >>> result = build(load_scene("scenes/helsinki.toml"), "twin3d-out")   # doctest: +SKIP
    >>> result.root_layer.name                                               # doctest: +SKIP
    'twin.usda'
    """
    from .sim.engine import Simulator
    from .usd.stage import write_stage

    summary = scene_summary(scene)
    if progress:
        progress("simulating")
    sim = Simulator(scene)
    results = [sim.run(s) for s in scene.spec.scenarios]
    with atomic_dir(out_dir) as tmp:
        if progress:
            progress("writing the USD stage")
        write_stage(scene.twin, tmp, radio_map=sim.baseline_map, radio_key=sim.baseline_key,
                    scenarios=results)
        prov = {"provenance": scene_provenance(scene)}
        (tmp / "summary.json").write_text(json.dumps({**summary, **prov}, indent=2) + "\n",
                                          encoding="utf-8")
        kpis = {"scene": scene.name, **prov,
                "scenarios": {r.name: r.kpi_json() for r in results}}
        (tmp / "kpis.json").write_text(json.dumps(kpis, indent=1, allow_nan=False) + "\n",
                                       encoding="utf-8")
    out = Path(out_dir).resolve()
    return BuildResult(out_dir=out, root_layer=out / "twin.usda", summary=summary)


def export_scene(scene: Scene, out: str | Path, fmt: str | None = None,
                 scenario: str | None = None, all_: bool = False) -> list[Path]:
    """Build a scene in a temporary folder and export its scenarios.

    Parameters
    ----------
    scene : Scene
        A loaded scene with at least one ``[[scenario]]``.
    out : str or Path
        The file to write (one scenario), or the folder (``all_``).
    fmt : {"usdz", "usdc", "usda"}, optional
        Default: the suffix of ``out``, or usdz for a folder.
    scenario : str, optional
        The scenario to export; default the scene's first.
    all_ : bool
        Export every scenario into ``out/<scenario>.<fmt>``.

    Returns
    -------
    list of Path
        The files written.

    Raises
    ------
    InputError
        The scene has no scenarios, or names no such scenario.
    """
    from .usd.export import export_all, export_scenario
    from .usd.layers import scenario_paths

    names = [s.name for s in scene.spec.scenarios]
    if not names:
        raise InputError(scene.spec.path, "the scene has no [[scenario]] to export")
    if scenario is not None and scenario not in names:
        raise InputError(scene.spec.path, f"unknown scenario '{scenario}' (the scene has: "
                         f"{', '.join(names)})", field="scenario")
    with tempfile.TemporaryDirectory(prefix="twin3d-export-") as tmp:
        result = build(scene, Path(tmp) / "out")
        if all_:
            return export_all(result.out_dir, out, fmt or "usdz")
        root, _ = scenario_paths(result.out_dir, scenario or names[0])
        return [export_scenario(root, out, fmt)]
