"""Ray-traced reference radio maps: small layouts, made once, kept as test data.

A reference is one layout (an area of a twin's buildings, some cells) at
one frequency, ray traced by :func:`twin3d.rt.solver.path_gain_db` and
stored as a compressed ``.npz``:

``path_gain_cdb`` (n_cells, ny, nx) int16
    Path gain at 0 dBm transmit power (antenna gain minus path loss), in
    hundredths of a dB, clipped at -160 dB (-16000).
``building_wkb``, ``building_wkb_offsets``, ``building_heights_m``, ``building_base_z_m``, ``building_ids``
    The buildings the ray tracer saw (footprints as concatenated WKB), so
    a model is scored on the same buildings however the twin's extract
    changes later.
``meta``
    JSON: layout name and kind, grid (x0_m, y0_m, step_m, nx, ny), UE
    height, frequency, the cells (:class:`~twin3d.physics.cellmaps.CellSpec`
    fields and ids), ray-tracer settings (samples, depth, seed, physics, the
    walls' scattering coefficient: absent in references traced smooth),
    versions of sionna-rt, mitsuba and drjit, seconds per map; and, once
    :mod:`twin3d.rt.complete` has traced the points the radio map left at
    the floor again, ``completed`` (solver, depth, rays, the points filled).

:data:`LAYOUTS` are cut from the bundled Helsinki scene: two rooftop macro
sites (the scene's own sectors) and two pairs of 10 m street-level small
cells (three sectors each), 300 x 300 m at 5 m, plus a macro and a
small-cell layout of a second area (macro_hel03, small_south2). ``benchmarks/make_rt_references.py``
makes them; :func:`load_reference` reads one back.

Examples
--------
>>> ref = load_reference("tests/data/rt/macro_hel05_3500mhz.npz")   # doctest: +SKIP
>>> ref.path_gain_db.shape == (len(ref.specs),) + ref.grid.shape   # doctest: +SKIP
True
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import shapely

from ..atomic import atomic_path
from ..model import Buildings
from ..physics.cellmaps import CellSpec
from ..physics.grid import Grid
from ..physics.los import ground_z_m
from .solver import DEFAULT_MAX_DEPTH, DEFAULT_SCATTERING

__all__ = ["Layout", "LAYOUTS", "FREQUENCIES_HZ", "Reference", "layout_specs", "street_point",
           "make_reference", "save_reference", "load_reference", "reference_name", "scattering_of",
           "geometric_terms_of"]

#: Carrier frequencies of the references, Hz (n1 and n78 bands).
FREQUENCIES_HZ = (2.1e9, 3.5e9)


@dataclass(frozen=True)
class Layout:
    """One reference area and its cells.

    ``kind`` "macro": the twin's own cells of ``site_id`` (a rooftop site),
    area centred on it. ``kind`` "small": masts of ``mast_height_m`` at the
    street points nearest ``mast_targets_xy_m`` (:func:`street_point`),
    each with sectors at ``mast_azimuths_deg``. Angles degrees, lengths metres;
    references are made at ``frequencies_hz``.
    """

    name: str
    kind: str
    center_xy_m: tuple[float, float]
    size_m: float = 300.0
    step_m: float = 5.0
    site_id: str | None = None
    mast_targets_xy_m: tuple[tuple[float, float], ...] = ()
    mast_height_m: float = 10.0
    mast_azimuths_deg: tuple[float, ...] = (0.0, 120.0, 240.0)
    mast_tilt_deg: float = 3.0
    mast_gain_dbi: float = 11.0
    frequencies_hz: tuple[float, ...] = FREQUENCIES_HZ


LAYOUTS = (
    Layout("macro_hel05", "macro", (87.0, -36.4), site_id="HEL-05"),
    Layout("macro_hel02", "macro", (-106.4, -356.5), site_id="HEL-02"),
    Layout("small_south", "small", (200.0, -400.0),
           mast_targets_xy_m=((150.0, -430.0), (255.0, -360.0))),
    Layout("small_west", "small", (-200.0, -100.0),
           mast_targets_xy_m=((-250.0, -130.0), (-140.0, -60.0))),
    # A second area, south of the first four (other street geometry; 3.5 GHz only).
    Layout("macro_hel03", "macro", (441.8, -682.6), site_id="HEL-03", frequencies_hz=(3.5e9,)),
    Layout("small_south2", "small", (0.0, -650.0),
           mast_targets_xy_m=((-50.0, -680.0), (60.0, -610.0)), frequencies_hz=(3.5e9,)),
)


def reference_name(layout: Layout, f_hz: float) -> str:
    """File stem of a layout's reference at a frequency (``macro_hel05_3500mhz``)."""
    return f"{layout.name}_{round(f_hz / 1e6)}mhz"


def street_point(buildings, target_xy_m, *, clearance_m: float = 4.0, search_m: float = 60.0,
                 step_m: float = 1.0) -> tuple[float, float]:
    """The outdoor point nearest a target with ``clearance_m`` to every building, metres.

    Searches a ``step_m`` lattice within ``search_m`` of the target; ties go
    to the lower x, then y (deterministic).

    Raises
    ------
    ValueError
        No such point within the search radius.
    """
    tx, ty = (float(v) for v in target_xy_m)
    r = np.arange(-search_m, search_m + step_m / 2, step_m)
    gx, gy = (a.ravel() for a in np.meshgrid(tx + r, ty + r))
    near = buildings.tree.query(shapely.box(tx - search_m - clearance_m, ty - search_m - clearance_m,
                                            tx + search_m + clearance_m, ty + search_m + clearance_m))
    blocks = shapely.union_all(buildings.footprints[near]) if len(near) else shapely.Polygon()
    d = shapely.distance(shapely.points(gx, gy), blocks) if len(near) else np.full(gx.size, np.inf)
    ok = (d >= clearance_m) & (np.hypot(gx - tx, gy - ty) <= search_m)
    if not ok.any():
        raise ValueError(f"street_point: no point {clearance_m} m from every building within "
                         f"{search_m} m of {target_xy_m}")
    dist = np.where(ok, np.hypot(gx - tx, gy - ty), np.inf)
    i = np.lexsort((gy, gx, dist))[0]
    return float(gx[i]), float(gy[i])


def layout_specs(twin, layout: Layout, f_hz: float) -> tuple[list[str], list[CellSpec]]:
    """Cell ids and specs of a layout at a frequency (p_tx 0 dBm: path gain only)."""
    if layout.kind == "macro":
        site = twin.sites[layout.site_id]
        ids = [c.id for c in site.cells]
        specs = [replace(CellSpec.of(c, site), f_hz=float(f_hz), p_tx_dbm=0.0) for c in site.cells]
        return ids, specs
    ids, specs = [], []
    for m, target in enumerate(layout.mast_targets_xy_m):
        x, y = street_point(twin.buildings, target)
        z = float(ground_z_m(x, y))
        for az in layout.mast_azimuths_deg:
            ids.append(f"{layout.name}-M{m + 1}-{round(az)}")
            specs.append(CellSpec((x, y, z + layout.mast_height_m), layout.mast_height_m,
                                  float(az), layout.mast_tilt_deg, 0.0, float(f_hz), 20e6,
                                  layout.mast_gain_dbi, 65.0))
    return ids, specs


def _area_grid(layout: Layout) -> Grid:
    cx, cy = layout.center_xy_m
    h = layout.size_m / 2
    return Grid.covering((cx - h, cy - h, cx + h, cy + h), layout.step_m)


@dataclass
class Reference:
    """A stored reference map (see the module docstring)."""

    name: str
    meta: dict
    grid: Grid
    cell_ids: list[str]
    specs: list[CellSpec]
    path_gain_db: np.ndarray
    buildings: Buildings

    @property
    def ue_height_m(self) -> float:
        return float(self.meta["ue_height_m"])


def scattering_of(ref: Reference) -> float:
    """The walls' scattering coefficient ``ref`` was traced with (0 for a reference made
    before it was recorded: smooth walls, Sionna's ITU materials as they come)."""
    return float(ref.meta.get("scattering_coefficient", 0.0))


def geometric_terms_of(ref: Reference, **terms) -> dict:
    """The geometric model's terms to compare it with ``ref``: the walls' diffuse scattering
    coefficient the reference was traced with (the same walls on both sides, as the same
    buildings), then ``terms`` (an explicit ``scattering`` wins).

    Examples
    --------
    >>> r = Reference("x", {"ue_height_m": 1.5}, None, [], [], None, None)
    >>> geometric_terms_of(r), geometric_terms_of(r, scattering=0.3, corner_weight=0.5)
    ({'scattering': 0.0}, {'scattering': 0.3, 'corner_weight': 0.5})
    """
    return {"scattering": scattering_of(ref), **terms}


def _subset(buildings: Buildings, extent_m) -> Buildings:
    idx = np.flatnonzero(shapely.intersects(buildings.footprints, shapely.box(*extent_m)))
    return Buildings([buildings.ids[i] for i in idx], buildings.footprints[idx],
                     np.asarray(buildings.heights_m, float)[idx],
                     np.asarray(buildings.base_z_m, float)[idx],
                     [buildings.kinds[i] for i in idx], [buildings.height_sources[i] for i in idx])


def make_reference(twin, layout: Layout, f_hz: float, *, samples_per_tx: int,
                   max_depth: int = DEFAULT_MAX_DEPTH,
                   seed: int = 0, ue_height_m: float = 1.5, diffraction: bool = True,
                   refraction: bool = True, scattering: float = DEFAULT_SCATTERING) -> Reference:
    """Ray trace one layout at one frequency (see :mod:`twin3d.rt.solver`)."""
    from .solver import MARGIN_M, RtSettings, path_gain_db, scene_extent, sionna_version
    from importlib.metadata import version
    grid = _area_grid(layout)
    ids, specs = layout_specs(twin, layout, f_hz)
    extent = scene_extent(grid, specs, MARGIN_M)
    buildings = _subset(twin.buildings, extent)
    settings = RtSettings(samples_per_tx, max_depth, seed, diffraction, refraction, scattering)
    t0 = time.perf_counter()
    pg = path_gain_db(buildings, grid, specs, ue_height_m=ue_height_m, settings=settings)
    seconds = time.perf_counter() - t0
    meta = {"name": reference_name(layout, f_hz), "layout": asdict(layout), "kind": layout.kind,
            "grid": [grid.x0_m, grid.y0_m, grid.step_m, grid.nx, grid.ny],
            "ue_height_m": ue_height_m, "f_hz": float(f_hz), "cell_ids": ids,
            "cells": [asdict(s) for s in specs], "samples_per_tx": samples_per_tx,
            "max_depth": max_depth, "seed": seed, "diffraction": diffraction,
            "refraction": refraction, "scattering_coefficient": settings.scattering,
            "floor_db": -160.0, "margin_m": MARGIN_M,
            "materials": {"walls_roofs": "itu_concrete", "ground": "itu_medium_dry_ground"},
            "sionna_rt": sionna_version(), "mitsuba": version("mitsuba"),
            "drjit": version("drjit"), "seconds_per_map": seconds / max(1, len(specs)),
            "source": "scenes/helsinki.toml buildings"}
    return Reference(meta["name"], meta, grid, ids, specs, pg, buildings)


def save_reference(ref: Reference, path) -> Path:
    """Write a reference as a compressed ``.npz`` (atomically)."""
    path = Path(path)
    wkb = [shapely.to_wkb(g) for g in ref.buildings.footprints]
    offsets = np.cumsum([0] + [len(w) for w in wkb]).astype(np.int64)
    cdb = np.round(np.maximum(ref.path_gain_db, -160.0) * 100.0).astype(np.int16)
    with atomic_path(path, suffix=".npz") as tmp:
        np.savez_compressed(tmp, path_gain_cdb=cdb,
                            building_wkb=np.frombuffer(b"".join(wkb), np.uint8),
                            building_wkb_offsets=offsets,
                            building_heights_m=np.asarray(ref.buildings.heights_m, float),
                            building_base_z_m=np.asarray(ref.buildings.base_z_m, float),
                            building_ids=np.array(ref.buildings.ids, dtype=str),
                            meta=np.array(json.dumps(ref.meta, sort_keys=True)))
    return path


def load_reference(path) -> Reference:
    """Read a reference written by :func:`save_reference`."""
    with np.load(path, allow_pickle=False) as z:
        meta = json.loads(str(z["meta"]))
        raw, off = z["building_wkb"].tobytes(), z["building_wkb_offsets"]
        feet = shapely.from_wkb([raw[a:b] for a, b in zip(off[:-1], off[1:])]) if len(off) > 1 \
            else np.array([], dtype=object)
        ids = [str(s) for s in z["building_ids"]]
        buildings = Buildings(ids, np.asarray(feet, dtype=object), z["building_heights_m"],
                              z["building_base_z_m"], ["building"] * len(ids), ["reference"] * len(ids))
        pg = z["path_gain_cdb"].astype(np.float32) / 100.0
    x0, y0, step, nx, ny = meta["grid"]
    specs = [CellSpec(**{**c, "antenna_xyz_m": tuple(c["antenna_xyz_m"])}) for c in meta["cells"]]
    return Reference(meta["name"], meta, Grid(x0, y0, step, int(nx), int(ny)), meta["cell_ids"],
                     specs, pg, buildings)
