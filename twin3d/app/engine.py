"""The viewer's server-side model: the stage, its parts and actors, the step shown.

No trame here: :class:`ViewerEngine` loads a scene (built into a private
temporary folder) or a stage, draws it with :mod:`twin3d.viz` into an
off-screen PyVista plotter, and answers the page: switch scenario, move the
step, show a layer, pick, find, what-if, export. The trame wiring
(:mod:`app.state`) only moves values between this object and the page.

Examples
--------
>>> eng = ViewerEngine("scenes/helsinki.toml")            # doctest: +SKIP
>>> eng.set_scenario("fiber_cut_evening_peak"); eng.set_step(18)   # doctest: +SKIP
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyvista as pv
from pxr import Usd, UsdGeom
from vtkmodules.vtkCommonDataModel import vtkStaticCellLocator

from twin3d.offscreen import load_before_software_gl
from twin3d.viz import criticality as crit
from twin3d.viz.legend import basemap_legend, mesh_legend, site_state_legend, utilization_legend
from twin3d.viz.parts import Part, recolor, stage_parts
from twin3d.viz.basemap import scene_overlays
from twin3d.viz.plot import BACKGROUND, LARGE_SCENE_M, add_parts, focus_camera, home_camera
from twin3d.viz.read import plain, prim_attributes
from twin3d.viz.scenarios import ScenarioStage, find_scenarios, scenario_record, steps_of

from . import inspector as insp
from .whatif import WhatIf

__all__ = ["ViewerEngine"]

pv.OFF_SCREEN = True


class ViewerEngine:
    """Everything the page shows, held on the server.

    Parameters
    ----------
    source : str or Path, optional
        A scene TOML (built into a temporary folder; what-if enabled) or a
        stage file / twin3d output folder (what-if disabled: no simulator).
        Default: the bundled Helsinki scene.
    window_size : (int, int)
        Size of the off-screen render window (the browser draws its own).
    """

    def __init__(self, source: str | Path | None = None, window_size=(1024, 768)) -> None:
        t0 = time.perf_counter()
        self._tmp = tempfile.TemporaryDirectory(prefix="twin3d-view-")
        self.workdir = Path(self._tmp.name)
        self.scene = None
        if source is None:
            from twin3d.loader import default_scene_path
            source = default_scene_path()
        source = Path(source)
        if source.suffix.lower() == ".toml":
            from twin3d.loader import load_scene
            from twin3d.output import build
            self.scene = load_scene(source)
            stage_path = build(self.scene, self.workdir / "out").root_layer
        else:
            stage_path = source
        self.source = source
        self.scenarios: dict[str, ScenarioStage] = find_scenarios(stage_path)
        self.current = next(iter(self.scenarios))
        stage = self.scenarios[self.current].activate()
        self.steps = steps_of(stage)
        self.step = self.steps[0]
        self.parts: list[Part] = stage_parts(stage, self.step)
        self.parts += scene_overlays(self.parts, stage, self.step)
        load_before_software_gl()       # before Mesa's LLVM (see twin3d.offscreen)
        self.plotter = pv.Plotter(off_screen=True, window_size=list(window_size))
        self.plotter.background_color = BACKGROUND
        self.actors = add_parts(self.plotter, self.parts)
        self.bounds = self.plotter.bounds
        # labels are shown at home for a region, on demand for a city
        self.group_visible = {g: g != "Labels" or self.large for g in self.groups}
        vp = self.variant_part
        self.variant = vp.variants[vp.active] if vp is not None else None
        self._apply_visibility()
        self.home()
        self.whatif = WhatIf(self) if self.scene is not None else None
        self._locators: dict[str, Any] = {}
        self._kpi_cache: dict[str, list[dict]] = {}
        self.picked: dict | None = None
        self.color_mode = "state"           # or a key of twin3d.viz.criticality.MODES
        self._crit_top = 1.0
        self._crit_values: dict[tuple, dict[str, float]] = {}   # (scenario, stage, mode) -> values
        self.load_s = time.perf_counter() - t0

    # -- what is shown ---------------------------------------------------
    @property
    def stage(self) -> Usd.Stage:
        """The composed stage of the scenario shown."""
        return self.scenarios[self.current].stage

    @property
    def groups(self) -> list[str]:
        """Layer groups (top-level children of the default prim) that have geometry."""
        return list(dict.fromkeys(p.group for p in self.parts))

    @property
    def large(self) -> bool:
        """Whether the scene is wider than a city (:data:`twin3d.viz.plot.LARGE_SCENE_M`)."""
        b = self.bounds
        return max(b[1] - b[0], b[3] - b[2]) > LARGE_SCENE_M

    @property
    def variant_part(self) -> Part | None:
        """The part whose coincident meshes are shown one at a time (the signal maps)."""
        vp = [p for p in self.parts if p.variants]
        return next((p for p in vp if p.group == "Signal"), vp[0] if vp else None)

    def home(self) -> None:
        """Camera framing the whole scene."""
        net = [p.mesh for p in self.parts if p.group == "Network" and p.n_cells]
        bounds = pv.merge(net).bounds if net else self.bounds
        w, h = self.plotter.window_size
        pos, focal, up = home_camera(bounds, self.plotter.camera.view_angle, min(w / h, 1.2))
        self.plotter.camera_position = [pos, focal, up]
        dist = float(np.linalg.norm(np.subtract(pos, focal)))
        self.plotter.camera.clipping_range = (max(0.5, dist * 1e-3), dist * 4.0)

    def set_step(self, step: int) -> list[str]:
        """Show ``step``; returns the names of the parts whose colours changed."""
        step = int(min(max(int(step), self.steps[0]), self.steps[-1]))
        self.step = step
        stage = self.stage
        changed = [p.name for p in self.parts if recolor(p, stage, step)]
        if self.color_mode != "state" and changed:   # the step's colours stay under the mode's
            changed = list(dict.fromkeys(changed + self._paint_criticality()))
        return changed

    def set_scenario(self, name: str) -> list[str]:
        """Show scenario ``name`` (a key of :attr:`scenarios`) at the current step."""
        if name not in self.scenarios:      # never a path: only names the server listed
            raise KeyError(name)
        self.current = name
        stage = self.scenarios[name].activate()
        self.steps = steps_of(stage)
        self.step = min(max(self.step, self.steps[0]), self.steps[-1])
        for p in self.parts:
            if p.variants:
                p.colors.clear()
            recolor(p, stage, self.step, only_animated=False)
        if self.color_mode not in self.criticality_modes:
            self.color_mode = "state"
            crit.clear(self.parts)
        elif self.color_mode != "state":
            self._paint_criticality()
        return [p.name for p in self.parts]

    # -- criticality -------------------------------------------------------
    @property
    def criticality_modes(self) -> list[str]:
        """Colour modes the stage shown offers: ``state`` and, with a criticality layer,
        the keys of :data:`twin3d.viz.criticality.MODES`."""
        return ["state", *(crit.MODES if crit.has_criticality(self.stage) else ())]

    def _paint_criticality(self) -> list[str]:
        # the values have no time samples: read once per stage and mode, not per step
        key = (self.current, id(self.stage), self.color_mode)
        if key not in self._crit_values:
            self._crit_values[key] = crit.element_values(self.stage, self.color_mode)
        values = self._crit_values[key]
        changed, self._crit_top = crit.paint(self.parts, values)
        return changed

    def set_color_mode(self, mode: str) -> list[str]:
        """Colour links and sites by ``mode``: ``state`` (the stage's own colours:
        utilization, site state) or a criticality mode (``lost``, ``sla``).

        A mode the stage does not offer falls back to ``state``. Returns the
        names of the parts recoloured.
        """
        mode = mode if mode in self.criticality_modes else "state"
        self.color_mode = mode
        if mode != "state":
            return self._paint_criticality()
        crit.clear(self.parts)
        net = [p for p in self.parts if p.group == "Network"]
        for p in sorted(net, key=lambda p: p.source is not None):   # sources before overlays
            recolor(p, self.stage, self.step, only_animated=False)
        return [p.name for p in net]

    def set_variant(self, name: str | None) -> None:
        """Colour the variant part (RSRP/SINR/BestServer) by variant ``name``; None hides it."""
        part = self.variant_part
        if part is None:
            return
        self.variant = name if name in part.variants else None
        if self.variant is not None:
            part.active = part.variants.index(self.variant)
            recolor(part, self.stage, self.step, only_animated=True)
        self._apply_visibility()

    def set_groups(self, visible: dict[str, bool]) -> None:
        """Show or hide each group's actors (a group not named stays as it is)."""
        self.group_visible.update({g: bool(v) for g, v in visible.items()})
        self._apply_visibility()

    def _apply_visibility(self) -> None:
        vp = self.variant_part
        for part in self.parts:
            on = self.group_visible.get(part.group, True)
            if part is vp:
                on = on and self.variant is not None
            self.actors[part.name].visibility = on

    # -- legends and KPIs ------------------------------------------------
    def legends(self, variant: str | None) -> list[dict]:
        """Legends of what is shown: the signal variant, link load, site state."""
        out = []
        part = self.variant_part
        if part is not None and variant in part.variants:
            prim = self.stage.GetPrimAtPath(part.slots[part.variants.index(variant)].path)
            lg = mesh_legend(prim) if prim else None
            if lg:
                out.append(lg.as_dict())
        if self.color_mode != "state":
            out.append(crit.criticality_legend(self.color_mode, self._crit_top).as_dict())
        elif any(p.group == "Network" for p in self.parts):
            out += [utilization_legend().as_dict(), site_state_legend().as_dict()]
        if any(p.group == "Basemap" for p in self.parts):
            out.append(basemap_legend().as_dict())
        return out

    def kpi_rows(self, name: str | None = None) -> list[dict]:
        """KPI table of a scenario: one dict per step (empty when the stage has none)."""
        name = name or self.current
        if name not in self._kpi_cache:
            if self.whatif is not None and name in self.whatif.results:
                rows = self.whatif.results[name].kpi_table()
            else:
                rec = scenario_record(self.scenarios[name].stage, name)
                rows = []
                if rec.get("kpis"):
                    from twin3d.usd.scenario import kpi_rows
                    rows = kpi_rows({k: [plain(x) for x in v] for k, v in rec["kpis"].items()})
            self._kpi_cache[name] = rows
        return self._kpi_cache[name]

    def events(self, name: str | None = None) -> dict[int, list[str]]:
        """Events by step of a scenario, from its layer metadata or its run."""
        name = name or self.current
        if self.whatif is not None and name in self.whatif.results:
            return {s.t: list(s.events) for s in self.whatif.results[name].steps if s.events}
        rec = scenario_record(self.scenarios[name].stage, name)
        out = {}
        for key, evs in dict(rec.get("events", {})).items():
            try:
                out[int(str(key).lstrip("t"))] = [str(e) for e in evs]
            except ValueError:
                continue
        return out

    # -- picking -----------------------------------------------------------
    def _locator(self, part: Part):
        if part.name not in self._locators:
            loc = vtkStaticCellLocator()
            loc.SetDataSet(part.mesh)
            loc.BuildLocator()
            self._locators[part.name] = loc
        return self._locators[part.name]

    def part_of_actor_id(self, ids: dict[str, str], remote_id: str | None) -> Part | None:
        """The part whose actor has the client's ``remote_id`` (ids: part name -> id)."""
        for name, rid in ids.items():
            if rid == remote_id:
                return next(p for p in self.parts if p.name == name)
        return None

    def _nearest(self, part: Part, p: np.ndarray) -> tuple[float, int]:
        """(squared distance m^2, cell id) of the cell of ``part`` nearest to ``p``."""
        import vtkmodules.vtkCommonCore as cc
        closest = [0.0, 0.0, 0.0]
        cid, sub, d2 = cc.reference(0), cc.reference(0), cc.reference(0.0)
        self._locator(part).FindClosestPoint(list(p), closest, cid, sub, d2)
        return float(d2), int(cid)

    @property
    def snap_m(self) -> float:
        """A click this close to a link or site (metres) selects it: thin tubes are hard to hit."""
        return max(3.0, 0.004 * max(self.bounds[1] - self.bounds[0], self.bounds[3] - self.bounds[2]))

    def pick(self, position, part: Part | None = None) -> dict | None:
        """The element at a world position (metres) and the inspector record for it.

        A network element (group ``Network``) within :attr:`snap_m` wins;
        otherwise the nearest cell of ``part`` (the actor the browser hit),
        or of any shown part. Returns :func:`app.inspector.describe` or None.
        """
        p = np.asarray(position, float)[:3]
        shown = [q for q in self.parts if self.actors[q.name].visibility]
        best = None
        if part is not None and part.family in ("glyphs", "lines", "labels"):
            shown = [part]          # a screen-space mark the browser hit is what was meant
        for q in [q for q in shown if q.group == "Network"]:
            d2, cid = self._nearest(q, p)
            if cid >= 0 and d2 <= self.snap_m ** 2 and (best is None or d2 < best[0]):
                best = (d2, q, cid)
        if best is None:
            for q in ([part] if part is not None else shown):
                d2, cid = self._nearest(q, p)
                if cid >= 0 and (best is None or d2 < best[0]):
                    best = (d2, q, cid)
        if best is None or best[1].family == "basemap":
            return None
        _, q, cid = best
        k = q.active if q.variants else int(q.cell_slot[cid])
        slot = q.slots[k]
        self.picked = {"part": q.name, "path": slot.path, "element": slot.element,
                       "item": int(q.cell_item[cid]), "position": p.tolist()}
        return self.describe_picked()

    def describe_picked(self) -> dict | None:
        """Inspector record of the picked element at the current step."""
        if not self.picked:
            return None
        stage = self.stage
        elem = stage.GetPrimAtPath(self.picked["element"])
        prim = stage.GetPrimAtPath(self.picked["path"])
        if not elem:
            return None
        attrs = prim_attributes(elem, self.step)
        extra = insp.face_values(prim, self.picked["item"], self.step) if prim else {}
        return insp.describe(elem, attrs, extra)

    def elements(self) -> list[dict]:
        """Pickable network elements (links and sites) with an id: for the find box."""
        out = []
        seen = set()
        for part in self.parts:
            if part.group != "Network":
                continue
            for s in part.slots:
                if s.element in seen:
                    continue
                seen.add(s.element)
                prim = self.stage.GetPrimAtPath(s.element)
                attr = prim.GetAttribute("twin:id") if prim else None
                ident = attr.Get() if attr else None
                out.append({"title": str(ident or prim.GetName()), "value": s.element})
        return sorted(out, key=lambda e: e["title"])

    def element_point(self, element: str) -> np.ndarray | None:
        """A point on the drawn element (middle vertex of a curve, top of a site)."""
        for part in self.parts:
            for s in part.slots:
                if s.element == element and len(s.cells):
                    prim = self.stage.GetPrimAtPath(s.path)
                    if prim.IsA(UsdGeom.BasisCurves):
                        from twin3d.viz.geometry import curve_arrays
                        from twin3d.viz.read import world_matrices
                        arr = curve_arrays(prim, world_matrices(self.stage, [prim])[0])
                        if arr is not None:
                            mid = len(arr.points) // 2
                            a, b = arr.points[mid - 1], arr.points[mid]
                            return (a + b) / 2.0 + [0.0, 0.0, float(arr.radius_m[mid])]
                    cell = part.mesh.extract_cells(s.cells)
                    b = cell.bounds
                    return np.array([(b[0] + b[1]) / 2, (b[2] + b[3]) / 2, b[5]])
        return None

    def focus(self, element: str, distance_m: float = 60.0) -> bool:
        """Point the camera straight down at ``element`` from ``distance_m`` above."""
        pt = self.element_point(element)
        if pt is None:
            return False
        self.plotter.camera_position = list(focus_camera(pt, distance_m))
        self.plotter.camera.clipping_range = (0.5, 20 * max(self.bounds[1] - self.bounds[0], 1.0))
        return True

    def export_usdz(self) -> Path:
        """The scenario shown, flattened and packaged as a USDZ file in the work folder
        (coloured by criticality when the view is)."""
        from .export import export_usdz
        return export_usdz(self.scenarios[self.current], self.workdir / "exports",
                           criticality=self.color_mode != "state")

    def close(self) -> None:
        """Free the plotter and the temporary folder."""
        try:
            self.plotter.close()
        finally:
            self._tmp.cleanup()

