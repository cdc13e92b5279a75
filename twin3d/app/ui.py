"""The page: a 3D view and a drawer (vuetify3).

Toolbar: the scenario and step shown, and the session: every tab of one
server shares it, so it says "shared session: N viewers" (live) and which
viewer this tab is. Drawer, top to bottom: scenario, layers (radio map
RSRP/SINR/best server or off; links and sites coloured by state or, with a criticality
layer, by traffic or SLA minutes lost; one switch per stage group), time slider with
play/pause and the step's events and cascade waves, the timeline of every
step with events or waves, legends, KPI charts, the capex ranking when the
build has one (an expansion panel), inspector of the picked
element with its what-if actions (a progress bar while one runs), the
labelled what-ifs made so far with the KPI change of the one shown, find
box, USDZ export. Elements carry ``id``s the end-to-end tests use.
"""

from __future__ import annotations

from trame.ui.vuetify3 import SinglePageWithDrawerLayout
from trame.widgets import client, html
from trame.widgets import vuetify3 as v3
from trame_pyvista.widgets import PyVistaLocalView

__all__ = ["build_ui"]

_COMPACT = {"density": "compact", "hide_details": True}


def _section(title: str) -> None:
    html.Div(title, classes="text-overline mt-2", style="line-height: 1.6")


def build_ui(server, engine):
    """Lay out the page; returns the 3D view widget."""
    state, ctrl = server.state, server.controller
    state.trame__title = "twin3d viewer"
    with SinglePageWithDrawerLayout(server, theme=("theme", "dark")) as layout:
        layout.title.set_text("twin3d")
        with layout.toolbar:
            v3.VSpacer()
            html.Div("{{ scenario }} · step {{ step }}{{ hour_label }}", id="status",
                     classes="text-body-2 mr-4")
            client.ClientTriggers(mounted="trigger('viewer_number').then(n => set('my_viewer', n))")
            v3.VChip("shared session: {{ viewers }} viewer{{ viewers === 1 ? '' : 's' }}"
                     "{{ my_viewer ? ' · you are viewer ' + my_viewer : '' }}", id="session",
                     size="small", variant="outlined", classes="mr-2", prepend_icon="mdi-account-multiple",
                     title="Every tab open on this server shows the same scenario, step and what-ifs.")
            html.Span("{{ frame }}", id="frame", style="display: none")
            with v3.VBtn(icon=True, click=ctrl.home_camera, id="home-btn", **{"title": "home view"}):
                v3.VIcon("mdi-home")

        with layout.drawer as drawer:
            drawer.width = 340
            with html.Div(classes="px-3 pb-6"):
                _section("Scenario")
                v3.VSelect(v_model=("scenario",), items=("scenario_names",), id="scenario-select",
                           **_COMPACT, variant="outlined")
                html.Div("{{ scenario_description }}", classes="text-caption mt-1")

                _section("Layers")
                with v3.VBtnToggle(v_model=("signal",), mandatory=True, density="compact",
                                   divided=True, variant="outlined", id="signal-toggle"):
                    v3.VBtn("off", value="off", size="small")
                    v3.VBtn("{{ v }}", v_for="v in signal_names", key="v", value=("v",), size="small")
                with html.Div(v_if="color_modes.length", classes="mt-1"):
                    html.Div("Colour links and sites by", classes="text-caption")
                    with v3.VBtnToggle(v_model=("color_mode",), mandatory=True, density="compact",
                                       divided=True, variant="outlined", id="color-mode-toggle"):
                        v3.VBtn("{{ m.title }}", v_for="m in color_modes", key="m.value",
                                value=("m.value",), size="small", id=("'color-mode-' + m.value",))
                with html.Div(classes="d-flex flex-wrap"):
                    v3.VCheckbox(v_for="g in group_names", key="g", label=("g",),
                                 v_model=("layers[g]",), **_COMPACT,
                                 update_modelValue="flushState('layers')")

                _section("Time")
                with html.Div(classes="d-flex align-center"):
                    with v3.VBtn(icon=True, size="small", variant="text", id="play-btn",
                                 click="playing = !playing"):
                        v3.VIcon("{{ playing ? 'mdi-pause' : 'mdi-play' }}")
                    v3.VSlider(v_model_number=("step",), min=("step_min",), max=("step_max",), step=1,
                               id="step-slider", **_COMPACT, classes="mx-2")
                    html.Div("{{ step }}", classes="text-body-2", style="min-width: 2em")
                html.Div("{{ step_events }}", classes="text-caption text-orange", id="step-events")

                _section("Timeline: events and cascade waves")
                html.Div("No events in this scenario.", v_if="!story.length", classes="text-caption")
                with html.Div(id="timeline", style="max-height: 160px; overflow-y: auto"):
                    with html.Div(v_for="r in story", key="r.t", click="step = r.t",
                                  classes=("['text-caption', 'px-1', "
                                           "r.t === step ? 'bg-grey-darken-3' : '']",),
                                  style="cursor: pointer", id=("'story-' + r.t",)):
                        html.B("step {{ r.t }}{{ r.hour ? ' · ' + r.hour : '' }}: ")
                        html.Span("{{ r.events.join('; ') }}")
                        html.Div("{{ w }}", v_for="w in r.waves", key="w", classes="ml-3 text-orange")

                _section("Legend")
                with html.Div(v_for="lg in legends", key="lg.title", classes="mb-1"):
                    html.Div("{{ lg.title }} {{ lg.units ? '(' + lg.units + ')' : '' }}",
                             classes="text-caption")
                    html.Div(v_if="lg.gradient !== 'none'", style=("{ height: '10px', background: lg.gradient }",))
                    with html.Div(v_if="lg.labels.length", classes="d-flex justify-space-between text-caption"):
                        html.Span("{{ l }}", v_for="l in lg.labels", key="l")
                    with html.Div(classes="d-flex flex-wrap"):
                        with html.Span(v_for="s in lg.swatches", key="s.name", classes="mr-2 text-caption"):
                            html.Span(style=("{ display: 'inline-block', width: '10px', height: '10px', "
                                             "background: s.color }",))
                            html.Span(" {{ s.name }}")

                _section("KPIs")
                html.Div(v_html=("kpi_svg",), id="kpi-charts")
                # the capex ranking (twin3d capex --stage BUILD): the SVG's texts are escaped server-side
                with v3.VExpansionPanels(v_if="capex_svg", id="capex-panel", classes="mt-1",
                                         variant="accordion"):
                    with v3.VExpansionPanel(title="Capex: candidates ranked", value="capex"):
                        with v3.VExpansionPanelText():
                            html.Div("{{ capex_title }}", classes="text-caption mb-1")
                            html.Div(v_html=("capex_svg",), id="capex-chart")

                _section("Inspector")
                html.Div("Click a link or a site in the view.", v_if="!picked", classes="text-caption")
                with html.Div(v_if="picked", id="inspector"):
                    with v3.VTable(density="compact"):
                        with html.Tbody():
                            with html.Tr(v_for="r in picked.rows", key="r[0]"):
                                html.Td("{{ r[0] }}", classes="text-caption")
                                html.Td("{{ r[1] }}", classes="text-caption")
                    with html.Div(classes="d-flex flex-wrap mt-1", v_if="whatif_enabled"):
                        v3.VBtn("Cut link", v_if="picked.type === 'link'", id="whatif-cut", size="small",
                                color="red", classes="mr-1 mb-1", click=(ctrl.whatif, "['cut']"),
                                loading=("busy",))
                        v3.VBtn("Fail site", v_if="picked.type === 'site'", id="whatif-fail",
                                size="small", color="red", classes="mr-1 mb-1",
                                click=(ctrl.whatif, "['fail']"), loading=("busy",))
                        v3.VBtn("Surge here", v_if="picked.type === 'site'", id="whatif-surge",
                                size="small", color="orange", classes="mr-1 mb-1",
                                click=(ctrl.whatif, "['surge']"), loading=("busy",))
                    html.Div("What-if needs the scene file (view a scene, not a stage).",
                             v_if="!whatif_enabled", classes="text-caption")
                with html.Div(v_if="busy", id="whatif-progress", classes="mt-1"):
                    v3.VProgressLinear(indeterminate=True, color="orange")
                    html.Div("{{ whatif_progress }}", classes="text-caption")
                with html.Div(v_if="whatif_log.length", id="whatif-log", classes="mt-2"):
                    html.Div("What-ifs (shared by every viewer)", classes="text-caption")
                    with html.Div(v_for="w in whatif_log", key="w.name", click="scenario = w.name",
                                  classes=("['text-caption', 'px-1', w.name === scenario ? "
                                           "'bg-grey-darken-3' : '']",), style="cursor: pointer"):
                        html.Span("#{{ w.n }} {{ w.label }} · {{ w.seconds }}")
                with html.Div(v_if="kpi_delta.length", id="kpi-delta", classes="mt-2"):
                    html.Div("{{ kpi_delta_title }}", classes="text-caption")
                    with v3.VTable(density="compact"):
                        with html.Thead():
                            with html.Tr():
                                for h in ("KPI", "before", "after", "change"):
                                    html.Th(h, classes="text-caption")
                        with html.Tbody():
                            with html.Tr(v_for="r in kpi_delta", key="r.kpi", id=("'delta-' + r.kpi",)):
                                html.Td("{{ r.kpi }} {{ r.unit ? '(' + r.unit + ')' : '' }}",
                                        classes="text-caption")
                                html.Td("{{ r.before }}", classes="text-caption")
                                html.Td("{{ r.after }}", classes="text-caption")
                                html.Td("{{ r.delta }}", classes="text-caption delta")

                _section("Find")
                v3.VAutocomplete(v_model=("find", None), items=("element_items",), id="find-box",
                                 placeholder="link or site id", clearable=True, **_COMPACT,
                                 variant="outlined")

                _section("Export")
                v3.VBtn("Download USDZ", id="export-btn", prepend_icon="mdi-download", size="small",
                        block=True,
                        click="utils.download(export_name, trigger('export_usdz'), 'model/vnd.usdz+zip')")
                html.Div("{{ message }}", classes="text-caption mt-2", id="message")

        with layout.content:
            with v3.VContainer(fluid=True, classes="pa-0 fill-height"):
                view = PyVistaLocalView(engine.plotter, id="view3d",
                                        picking_modes=("picking_modes", ["click"]),
                                        click=(ctrl.on_pick, "[$event]"))
    return view
