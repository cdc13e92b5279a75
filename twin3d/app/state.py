"""State wiring: page values <-> :class:`app.engine.ViewerEngine`.

Every handler turns a page value into an engine call and pushes the changed
arrays to the browser (``view.update()``). Values from the page are looked
up, never used as paths: a scenario is a key of ``engine.scenarios``, an
element a prim path the server listed, an action a key of
:data:`app.whatif.ACTIONS`, a what-if target an id of the twin's links or
sites (:meth:`app.whatif.WhatIf.check`), whatever the page's state says.

The session is shared (:mod:`app.session`): every tab shows the same
scenario and step, ``viewers`` counts the tabs, and each what-if is listed
with what it did, on which element, at which step and by which viewer. A
what-if runs in a worker thread; the page shows its progress meanwhile.
"""

from __future__ import annotations

import asyncio
import os
import time

from trame.app import asynchronous

from twin3d.usd.layers import scenario_stem

from .capex_chart import capex_panel
from .charts import charts_html
from .engine import ViewerEngine
from .timeline import story
from .whatif import MAX_WHATIFS, WhatIfJob, WhatIfRefused, kpi_delta

__all__ = ["bind", "color_mode_items", "PLAY_STEP_S", "PROGRESS_S"]

#: Seconds per step while playing (the stage's 2 time codes per second).
PLAY_STEP_S = 0.5
#: Seconds between progress updates while a what-if runs.
PROGRESS_S = 0.25


#: Labels of the colour modes on the page.
COLOR_MODE_LABELS = {"state": "state", "lost": "traffic lost", "sla": "SLA min"}


def color_mode_items(engine: ViewerEngine) -> list[dict]:
    """The colour modes the stage shown offers, as page items (empty: no choice to make)."""
    modes = engine.criticality_modes
    return [{"title": COLOR_MODE_LABELS.get(m, m), "value": m} for m in modes] if len(modes) > 1 else []


def bind(server, engine: ViewerEngine, view) -> None:
    """Initialise the state and register the handlers on ``server``."""
    state, ctrl = server.state, server.controller
    timings: dict[str, float] = {}
    server.context.timings = timings
    viewers = getattr(server.context, "viewers", None)
    vpart = engine.variant_part
    state.update({
        "scenario": engine.current,
        "scenario_names": list(engine.scenarios),
        "signal_names": list(vpart.variants) if vpart else [],
        "signal": vpart.variants[vpart.active] if vpart else "off",
        "group_names": engine.groups,
        "layers": dict(engine.group_visible),
        "step": engine.step, "step_min": engine.steps[0], "step_max": engine.steps[-1],
        "playing": False, "picked": None, "kpi_delta": [], "kpi_delta_title": "",
        "whatif_enabled": engine.whatif is not None, "busy": False, "whatif_progress": "",
        "whatif_log": [], "story": [],
        "element_items": engine.elements(), "find": None, "message": "", "frame": 0,
        "hour_label": "", "step_events": "", "scenario_description": "",
        "export_name": f"{scenario_stem(engine.current)}.usdz",
        "color_mode": engine.color_mode, "color_modes": color_mode_items(engine),
    })
    capex = capex_panel(engine.source)      # the build's capex ranking, read once ("" when none)
    state.capex_svg, state.capex_title = capex["svg"], capex["title"]
    if "viewers" not in state:
        state.viewers = 0
    state.my_viewer = 0
    state.client_only("my_viewer")      # each tab's own number (asked once it is mounted)
    jobs: dict[str, WhatIfJob] = {}     # what-if scenario name -> its job (label, base, ...)
    running: dict[str, WhatIfJob | None] = {"job": None}
    count = {"n": 0}

    def actor_ids() -> dict[str, str]:
        return {name: view.get_scene_object_id(a) for name, a in engine.actors.items()}

    report = bool(os.environ.get("TWIN3D_VIEW_TIMINGS"))

    def clock() -> tuple[float, float]:
        """(wall, this thread's CPU) seconds: the gap between them is time spent waiting."""
        return time.perf_counter(), time.thread_time()

    def push(kind: str, t0: tuple[float, float]) -> None:
        view.update()
        timings[kind] = time.perf_counter() - t0[0]
        state.frame += 1
        if report:      # benchmarks/bench_viewer.py reads these lines
            cpu_ms = (time.thread_time() - t0[1]) * 1e3
            print(f"twin3d timing {kind} {timings[kind] * 1e3:.1f} ms cpu {cpu_ms:.1f} ms", flush=True)

    def refresh_panels() -> None:
        rows = engine.kpi_rows()
        job = jobs.get(engine.current)
        base = job.base if job is not None and job.base in engine.scenarios else None
        state.kpi_svg = charts_html(rows, engine.step, engine.kpi_rows(base) if base else None,
                                    base or "")
        row = next((r for r in rows if r.get("t") == engine.step), None)
        state.hour_label = f" · {row['hour'] % 24:04.1f} h" if row and "hour" in row else ""
        now = next((r for r in state.story or [] if r["t"] == engine.step), None)
        state.step_events = "; ".join([*now["events"], *now["waves"]]) if now else ""
        state.legends = engine.legends(None if state.signal == "off" else state.signal)
        state.picked = engine.describe_picked()

    def apply_layers() -> None:
        engine.set_groups(dict(state.layers))

    @state.change("step")
    def _on_step(step, **_):
        t0 = clock()
        try:
            engine.set_step(int(step))
        except (TypeError, ValueError):
            state.step = engine.step
            return
        push("step", t0)
        refresh_panels()

    @state.change("scenario")
    def _on_scenario(scenario, **_):
        if not isinstance(scenario, str) or scenario not in engine.scenarios:
            state.scenario = engine.current
            return
        t0 = clock()
        engine.set_scenario(scenario)
        apply_layers()
        push("scenario", t0)
        state.step_min, state.step_max = engine.steps[0], engine.steps[-1]
        state.export_name = f"{scenario_stem(scenario)}.usdz"
        rec_desc = ""
        if engine.whatif is not None and scenario in engine.whatif.specs:
            rec_desc = engine.whatif.specs[scenario].description
            engine.whatif.touch(scenario)
        state.scenario_description = rec_desc
        job = jobs.get(scenario)
        if job is not None and job.base in engine.scenarios:
            state.kpi_delta = kpi_delta(engine.kpi_rows(job.base), engine.kpi_rows(scenario), job.step)
            state.kpi_delta_title = f"what-if #{job.number}: {job.label}"
        else:
            state.kpi_delta, state.kpi_delta_title = [], ""
        state.color_modes = color_mode_items(engine)
        state.color_mode = engine.color_mode
        state.story = story(engine)
        refresh_panels()

    @state.change("color_mode")
    def _on_color_mode(color_mode, **_):
        if color_mode == engine.color_mode:
            return
        t0 = clock()
        engine.set_color_mode(color_mode if isinstance(color_mode, str) else "state")
        state.color_mode = engine.color_mode
        push("color_mode", t0)
        state.legends = engine.legends(None if state.signal == "off" else state.signal)

    @state.change("signal", "layers")
    def _on_layers(signal, layers, **_):
        t0 = clock()
        engine.set_variant(None if signal == "off" else signal)
        apply_layers()
        push("layers", t0)
        state.legends = engine.legends(None if signal == "off" else signal)

    @state.change("playing")
    def _on_play(playing, **_):
        if playing:
            asynchronous.create_task(_play())

    async def _play():
        while state.playing:
            await asyncio.sleep(PLAY_STEP_S)
            if not state.playing:
                break
            with state:
                state.step = engine.steps[0] if state.step >= engine.steps[-1] else state.step + 1

    @state.change("find")
    def _on_find(find, **_):
        if not find or find not in {e["value"] for e in state.element_items}:
            return
        if engine.focus(find):
            view.push_camera()
            view.update()

    @ctrl.set("home_camera")
    def _home():
        engine.home()
        view.push_camera()

    @ctrl.set("on_pick")
    def _on_pick(event):
        if not isinstance(event, dict) or "worldPosition" not in event:
            return
        part = engine.part_of_actor_id(actor_ids(), event.get("remoteId"))
        info = engine.pick(event["worldPosition"], part)
        state.picked = info
        state.message = f"picked {info['id']}" if info else ""

    @ctrl.set("whatif")
    def _whatif(action):
        """Check the what-if against the twin, then run it off the loop (:func:`_run_whatif`)."""
        if engine.whatif is None:
            state.message = "what-if needs the scene file (view a scene, not a stage)"
            return
        if running["job"] is not None:
            state.message = f"wait: a what-if is running ({running['job'].label})"
            return
        picked = state.picked if isinstance(state.picked, dict) else {}
        viewer = viewers.active(server) if viewers is not None else 0
        try:
            job = engine.whatif.check(action, picked.get("id"), engine.step, viewer)
        except WhatIfRefused as exc:
            state.message = str(exc)
            return
        running["job"] = job
        state.busy = True
        state.whatif_progress = f"re-simulating: {job.label}"
        state.message = ""
        asynchronous.create_task(_run_whatif(job))

    async def _run_whatif(job: WhatIfJob) -> None:
        loop = asyncio.get_running_loop()
        t0, last = time.perf_counter(), engine.whatif.last_s
        fut = loop.run_in_executor(None, engine.whatif.simulate, job)
        try:
            while not fut.done():
                await asyncio.wait({fut}, timeout=PROGRESS_S)
                took = f" (the last one took {last:.1f} s)" if last else ""
                with state:
                    state.whatif_progress = (f"re-simulating: {job.label}: "
                                             f"{time.perf_counter() - t0:.1f} s{took}")
            fut.result()
        except Exception as exc:        # a what-if the simulator refuses is shown, not fatal
            with state:
                state.message = f"what-if failed: {exc}"
                state.busy, state.whatif_progress = False, ""
            return
        finally:
            running["job"] = None
        with state:
            dropped = engine.whatif.publish(job)
            if job.name not in jobs:
                count["n"] += 1
                job.number = count["n"]
                jobs[job.name] = job
            job = jobs[job.name]
            for name in dropped:
                jobs.pop(name, None)
            state.whatif_log = [{"n": j.number, "name": j.name, "label": j.label,
                                 "seconds": f"{j.seconds:.1f} s"}
                                for j in sorted(jobs.values(), key=lambda j: -j.number)]
            state.scenario_names = list(engine.scenarios)
            state.busy, state.whatif_progress = False, ""
            state.message = (f"what-if #{job.number} re-simulated in {job.seconds:.2f} s"
                             + (f"; dropped the oldest ({len(dropped)}): at most {MAX_WHATIFS} are kept"
                                if dropped else ""))
            if state.scenario == job.name:
                _on_scenario(job.name)
            state.scenario = job.name          # the redraw runs through _on_scenario

    @ctrl.trigger("export_usdz")
    def _export():
        path = engine.export_usdz()
        state.message = f"exported {path.name} ({path.stat().st_size / 1e6:.1f} MB)"
        return server.protocol.addAttachment(path.read_bytes())

    apply_layers()
    state.story = story(engine)
    refresh_panels()
