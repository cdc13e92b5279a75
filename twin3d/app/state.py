"""State wiring: page values <-> :class:`app.engine.ViewerEngine`.

Every handler turns a page value into an engine call and pushes the changed
arrays to the browser (``view.update()``). Values from the page are looked
up, never used as paths: a scenario is a key of ``engine.scenarios``, an
element a prim path the server listed, an action a key of
:data:`app.whatif.ACTIONS`.
"""

from __future__ import annotations

import asyncio
import os
import time

from trame.app import asynchronous

from twin3d.usd.layers import scenario_stem

from .charts import charts_html
from .engine import ViewerEngine
from .whatif import ACTIONS, kpi_delta

__all__ = ["bind", "PLAY_STEP_S"]

#: Seconds per step while playing (the stage's 2 time codes per second).
PLAY_STEP_S = 0.5


def bind(server, engine: ViewerEngine, view) -> None:
    """Initialise the state and register the handlers on ``server``."""
    state, ctrl = server.state, server.controller
    timings: dict[str, float] = {}
    server.context.timings = timings
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
        "whatif_enabled": engine.whatif is not None, "busy": False,
        "element_items": engine.elements(), "find": None, "message": "", "frame": 0,
        "hour_label": "", "step_events": "", "scenario_description": "",
        "export_name": f"{scenario_stem(engine.current)}.usdz",
    })

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
        state.kpi_svg = charts_html(rows, engine.step)
        row = next((r for r in rows if r.get("t") == engine.step), None)
        state.hour_label = f" · {row['hour'] % 24:04.1f} h" if row and "hour" in row else ""
        evs = engine.events().get(engine.step, [])
        state.step_events = ("events: " + "; ".join(evs)) if evs else ""
        state.legends = engine.legends(None if state.signal == "off" else state.signal)
        state.picked = engine.describe_picked()

    def apply_layers() -> None:
        engine.set_groups(dict(state.layers))

    @state.change("step")
    def _on_step(step, **_):
        t0 = clock()
        engine.set_step(int(step))
        push("step", t0)
        refresh_panels()

    @state.change("scenario")
    def _on_scenario(scenario, **_):
        if scenario not in engine.scenarios:
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
        state.scenario_description = rec_desc
        refresh_panels()

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
        if not event or "worldPosition" not in event:
            return
        part = engine.part_of_actor_id(actor_ids(), event.get("remoteId"))
        info = engine.pick(event["worldPosition"], part)
        state.picked = info
        state.message = f"picked {info['id']}" if info else ""

    @ctrl.set("whatif")
    def _whatif(action):
        if engine.whatif is None or action not in ACTIONS or not state.picked:
            return
        want = ACTIONS[action][0]
        if state.picked.get("type") != want:
            return
        state.busy = True
        state.flush()
        base = engine.current
        try:
            name = engine.whatif.run(action, state.picked["id"], engine.step)
        except Exception as exc:        # a what-if the simulator refuses is shown, not fatal
            state.message = f"what-if failed: {exc}"
            state.busy = False
            return
        before, after = engine.kpi_rows(base), engine.kpi_rows(name)
        state.kpi_delta = kpi_delta(before, after, engine.step)
        state.kpi_delta_title = f"{name} vs {base}, step {engine.step}"
        state.scenario_names = list(engine.scenarios)
        state.scenario = name          # triggers the redraw through _on_scenario
        state.busy = False
        state.message = f"re-simulated in {engine.whatif.last_s:.2f} s"

    @ctrl.trigger("export_usdz")
    def _export():
        path = engine.export_usdz()
        state.message = f"exported {path.name} ({path.stat().st_size / 1e6:.1f} MB)"
        return server.protocol.addAttachment(path.read_bytes())

    apply_layers()
    refresh_panels()
