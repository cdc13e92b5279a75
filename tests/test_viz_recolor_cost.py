"""Colour conversions a time step and a scenario switch do (counted, not timed).

displayColor is linear; the viewer shows sRGB. A scenario switch re-reads
every colour, but a large slot whose colours did not change (the signal
maps: the signal layer is shared by every scenario) reuses its last
conversion, and the many small prims of a part (masts, links) are
converted in one call, not one call each.
"""

from __future__ import annotations

import numpy as np
import pytest
from pxr import Gf, Usd, UsdGeom, Vt

from twin3d.viz import parts as P


def _grid(stage, path: str, n: int, rgb) -> UsdGeom.Mesh:
    """An n x n quad grid with a uniform displayColor (one colour per face)."""
    mesh = UsdGeom.Mesh.Define(stage, path)
    pts = [Gf.Vec3f(float(x), float(y), 0.0) for y in range(n + 1) for x in range(n + 1)]
    idx = []
    for j in range(n):
        for i in range(n):
            a = j * (n + 1) + i
            idx += [a, a + 1, a + n + 2, a + n + 1]
    mesh.CreatePointsAttr(pts)
    mesh.CreateFaceVertexCountsAttr([4] * (n * n))
    mesh.CreateFaceVertexIndicesAttr(idx)
    mesh.CreateDisplayColorPrimvar(UsdGeom.Tokens.uniform).Set(Vt.Vec3fArray.FromNumpy(
        np.asarray(rgb, np.float32)))
    return mesh


@pytest.fixture
def stage():
    s = Usd.Stage.CreateInMemory()
    rng = np.random.default_rng(1)
    for name in ("RSRP", "SINR"):          # coincident: one variant part
        _grid(s, f"/World/Signal/{name}", 20, rng.random((400, 3)))
    for i in range(6):                      # small animated prims: one shapes part
        cube = UsdGeom.Cube.Define(s, f"/World/Network/Sites/S{i}")
        cube.AddTranslateOp().Set(Gf.Vec3d(3.0 * i, 0.0, 0.0))
        pv_ = cube.CreateDisplayColorPrimvar(UsdGeom.Tokens.constant)
        for t in range(3):
            pv_.Set(Vt.Vec3fArray([Gf.Vec3f(0.1 * t, 0.5, 0.02 * i)]), Usd.TimeCode(t))
    return s


def _count(monkeypatch) -> list[int]:
    calls: list[int] = []
    real = P.linear_to_srgb
    monkeypatch.setattr(P, "linear_to_srgb", lambda rgb: calls.append(len(rgb)) or real(rgb))
    return calls


def test_switch_reuses_a_large_slots_conversion_while_its_colours_are_unchanged(stage, monkeypatch):
    monkeypatch.setattr(P, "MEMO_ITEMS", 100)       # the 400-face grids count as large
    parts = P.stage_parts(stage, Usd.TimeCode(0))
    signal = next(p for p in parts if p.variants)
    shown = np.asarray(signal.mesh.cell_data[P.RGB]).copy()
    calls = _count(monkeypatch)
    signal.colors.clear()                           # what ViewerEngine.set_scenario does
    assert P.recolor(signal, stage, 1, only_animated=False)
    assert calls == []                              # same linear colours: no conversion
    assert np.array_equal(np.asarray(signal.mesh.cell_data[P.RGB]), shown)
    # another scenario colours the map differently: converted again, and shown
    prim = stage.GetPrimAtPath(signal.slots[signal.active].path)
    UsdGeom.Mesh(prim).GetDisplayColorPrimvar().Set(Vt.Vec3fArray.FromNumpy(np.full((400, 3), 0.2, np.float32)))
    signal.colors.clear()
    P.recolor(signal, stage, 1, only_animated=False)
    assert calls == [400]
    want = P.to_rgb8(P.linear_to_srgb(np.full((1, 3), 0.2)))[0]
    assert (np.asarray(signal.mesh.cell_data[P.RGB]) == want).all()


def test_a_step_converts_a_parts_small_prims_in_one_call(stage, monkeypatch):
    parts = P.stage_parts(stage, Usd.TimeCode(0))
    sites = next(p for p in parts if p.name == "Network:shapes")
    assert sum(s.animated for s in sites.slots) == 6
    calls = _count(monkeypatch)
    assert P.recolor(sites, stage, 2)               # a time step: the six animated prims
    assert len(calls) == 1
    got = np.asarray(sites.mesh.cell_data[P.RGB])
    for k, s in enumerate(sites.slots):             # the same colours as one prim at a time
        assert (got[s.cells] == P.slot_cell_colors(sites, k, stage, 2)).all()
    assert got[sites.slots[5].cells][0].tolist() != got[sites.slots[0].cells][0].tolist()
