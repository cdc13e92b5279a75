"""Issue 8 on a country-wide scene: home framing, site glyphs, links, basemap, labels.

The FUNET backbone (scenes/nordic_backbone.toml: 24 PoPs across Finland)
is built and opened in the viewer's engine (off screen, no browser). The
home view is checked with VTK's own camera projection: every site and
every link vertex must land inside the view.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import pyvista as pv

from twin3d.viz.basemap import BASEMAP_RGB, load_basemap  # noqa: E402
from twin3d.viz.overlay import LABEL_RGB, label_part  # noqa: E402
from twin3d.viz.parts import RGB, recolor  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def backbone():
    from twin3d.app.engine import ViewerEngine
    eng = ViewerEngine(ROOT / "scenes" / "nordic_backbone.toml")
    yield eng
    eng.close()


def _part(eng, name):
    return next(p for p in eng.parts if p.name == name)


def _ndc(plotter, points: np.ndarray) -> np.ndarray:
    """Normalized device coordinates (x, y in -1..1 when on screen) of world points."""
    ren = plotter.renderer
    w, h = plotter.window_size
    m = ren.GetActiveCamera().GetCompositeProjectionTransformMatrix(w / h, -1.0, 1.0)
    mat = np.array([[m.GetElement(i, j) for j in range(4)] for i in range(4)])
    hom = np.column_stack([points, np.ones(len(points))]) @ mat.T
    return hom[:, :3] / hom[:, 3:4]


def test_home_view_frames_every_site_and_link_vertex(backbone):
    eng = backbone
    eng.home()
    sites = np.asarray(_part(eng, "Network:shapes").mesh.points)
    links = np.asarray(_part(eng, "Network:curves").centerline.points)
    for what, pts in (("site", sites), ("link vertex", links)):
        ndc = _ndc(eng.plotter, pts)
        out = np.flatnonzero(np.abs(ndc[:, :2]).max(axis=1) > 1.0)
        assert not len(out), f"{len(out)} {what}s outside the home view, e.g. {pts[out[0]]}"
    # and the network fills the view, not a corner of it
    ndc = _ndc(eng.plotter, links)
    assert np.ptp(ndc[:, 1]) > 1.2


def test_one_glyph_per_site_picked_as_that_site(backbone):
    eng = backbone
    glyphs = _part(eng, "Network:glyphs")
    ids = {str(eng.stage.GetPrimAtPath(s.element).GetAttribute("twin:id").Get()) for s in glyphs.slots}
    assert glyphs.mesh.n_cells == glyphs.mesh.n_points == len(ids) == 24
    assert "Helsinki" in ids and "Rovaniemi" in ids
    k = next(i for i, s in enumerate(glyphs.slots) if s.element.endswith("/Oulu"))
    p = np.asarray(glyphs.mesh.points)[k]
    # the browser reports the actor it hit and the world position of the pixel
    info = eng.pick(p + [500.0, 0.0, 0.0], glyphs)
    assert info is not None and info["id"] == "Oulu" and info["type"] == "site"
    # screen-space marks are drawn as points and lines, a few pixels wide at every zoom
    actor = eng.actors["Network:glyphs"]
    assert actor.prop.style == "Points" and actor.prop.point_size >= 10
    assert eng.actors["Network:lines"].prop.line_width >= 2
    assert len(eng.actors) < 20


def test_link_line_and_label_picks(backbone):
    eng = backbone
    lines = _part(eng, "Network:lines")
    k = next(i for i, s in enumerate(lines.slots) if s.element.endswith("/Oulu__Kokkola"))
    cell = lines.mesh.extract_cells(lines.slots[k].cells)
    mid = np.asarray(cell.points).mean(axis=0)
    info = eng.pick(mid + [0.0, 0.0, 300.0], lines)
    assert info is not None and info["type"] == "link" and info["id"] == "Oulu--Kokkola"
    labels = _part(eng, "Labels:text")
    j = next(i for i, s in enumerate(labels.slots) if s.element.endswith("/Tampere"))
    c = np.asarray(labels.mesh.extract_cells(labels.slots[j].cells).points).mean(axis=0)
    info = eng.pick(c, labels)
    assert info is not None and info["id"] == "Tampere"


def test_link_lines_follow_the_link_colours(backbone):
    eng = backbone
    tubes, lines = _part(eng, "Network:curves"), _part(eng, "Network:lines")
    stage = eng.scenarios["link_failure_cascade"].activate()
    for part in (tubes, lines):
        recolor(part, stage, 22, only_animated=False)
    k = next(i for i, s in enumerate(lines.slots) if "Oulu" in s.element and "Kokkola" in s.element)
    line_rgb = np.asarray(lines.mesh.cell_data[RGB])[lines.slots[k].cells]
    tube_rgb = np.asarray(tubes.mesh.cell_data[RGB])[tubes.slots[k].cells]
    assert (line_rgb == tube_rgb[0]).all()


def test_a_step_reads_each_animated_prim_once(backbone, monkeypatch):
    """Glyphs and link lines copy the colours of the parts they mark (Part.source): a time step
    reads every animated prim's displayColor once, not once per part drawing it."""
    from twin3d.viz import parts as parts_mod
    eng = backbone
    first = eng.current
    eng.set_scenario("link_failure_cascade")
    reads: list[str] = []
    real = parts_mod.face_colors

    def counting(prim, *args, **kwargs):
        reads.append(str(prim.GetPath()))
        return real(prim, *args, **kwargs)

    monkeypatch.setattr(parts_mod, "face_colors", counting)
    try:
        for step in eng.steps[1:6]:
            reads.clear()
            changed = eng.set_step(step)
            assert reads and len(reads) == len(set(reads)), "a prim's colours were read twice in one step"
            assert "Network:curves" in changed and "Network:lines" in changed
            for name in ("Network:glyphs", "Network:lines"):
                part = _part(eng, name)
                assert part.source is not None
                got = np.asarray(part.mesh.cell_data[RGB])
                for k, slot in enumerate(part.slots):       # what reading the stage would give
                    want = parts_mod.slot_cell_colors(part, k, eng.stage, eng.step)
                    assert (got[slot.cells] == want).all(), (name, slot.element, step)
    finally:
        monkeypatch.undo()
        eng.set_scenario(first)
        eng.set_step(eng.steps[0])


def test_basemap_under_a_country_wide_scene(backbone):
    eng = backbone
    bm = _part(eng, "Basemap:lines")
    rgb = np.asarray(bm.mesh.cell_data[RGB])
    assert {tuple(c) for c in np.unique(rgb, axis=0)} == set(BASEMAP_RGB.values())
    net = pv.merge([p.mesh for p in eng.parts if p.group == "Network"]).bounds
    b = bm.mesh.bounds
    width = max(net[1] - net[0], net[3] - net[2])
    # clipped to the scene plus a margin
    assert b[0] >= net[0] - 0.3 * width and b[1] <= net[1] + 0.3 * width
    # Helsinki lies on the coast: a coast vertex within 15 km of the Helsinki PoP
    hel = next(s for s in _part(eng, "Network:glyphs").slots if s.element.endswith("/Helsinki"))
    p = np.asarray(_part(eng, "Network:glyphs").mesh.points)[hel.cells[0]]
    coast = np.asarray(bm.mesh.extract_cells(bm.slots[1].cells).points)
    near = np.hypot(*(coast[:, :2] - p[:2]).T) < 15_000
    assert near.any()
    # on the earth's curve in ENU, under the network's marks there
    assert coast[near, 2].max() < p[2] and coast[near, 2].min() > p[2] - 3_000
    assert eng.group_visible["Labels"] and eng.group_visible["Basemap"]
    # credited where it is shown
    assert any("Natural Earth" in lg["title"] for lg in eng.legends(None))


def test_bundled_basemap_has_coast_and_borders():
    data = load_basemap()
    assert set(data) == {"coast", "border"}
    ll = data["coast"][0]
    assert 1e4 < len(ll) < 5e5 and ll[:, 0].min() >= -25 and ll[:, 1].max() <= 72


def test_labels_are_one_mesh_of_fixed_colour():
    part = label_part(["HEL-01", "Oulu"], np.array([[0.0, 0.0, 0.0], [100.0, 0.0, 5.0]]),
                      ["/W/A", "/W/B"], 10.0)
    assert part.mesh.n_cells > 10 and part.fixed
    assert (np.asarray(part.mesh.cell_data[RGB]) == LABEL_RGB).all()
    b = part.mesh.extract_cells(part.slots[1].cells).bounds
    assert b[0] > 100.0 and b[4] == pytest.approx(5.0) and 8.0 < b[3] - b[2] < 16.0
