"""Issue 8, colours that carry meaning: distinct ramps, fibre over the map,
named best-server swatches without the red of "down", linear displayColor
shown as sRGB, and one utilization unit (percent) in the CLI and the legend.
"""

from __future__ import annotations

import colorsys

import numpy as np
import pytest
import pyvista as pv
from pxr import Usd, UsdGeom  # noqa: E402

from twin3d.usd.colors import (CATEGORY_HUES_DEG, RSRP_MAP, SINR_MAP, SITE_STATE_COLORS,  # noqa: E402
                               UTILIZATION_MAP, category_colors, linear_to_srgb, matplotlib_stops,
                               srgb_to_linear)
from twin3d.viz.legend import mesh_legend, utilization_legend  # noqa: E402
from twin3d.viz.parts import RGB, stage_parts  # noqa: E402


def _hue_deg(rgb) -> np.ndarray:
    return np.array([360.0 * colorsys.rgb_to_hsv(*c)[0] for c in np.asarray(rgb, float)])


def test_rsrp_and_sinr_use_different_ramps_from_matplotlib():
    assert RSRP_MAP.name != SINR_MAP.name
    assert np.abs(RSRP_MAP.colors - SINR_MAP.colors).max() > 0.2
    np.testing.assert_allclose(RSRP_MAP.colors, matplotlib_stops("Blues_r", 9, 0.0, 0.6))
    np.testing.assert_allclose(SINR_MAP.colors, matplotlib_stops("Purples_r", 9, 0.0, 0.6))


def test_fibre_colours_stand_apart_from_the_coverage_map():
    """Link utilization (green-yellow-red) drawn over RSRP/SINR must not vanish into them."""
    util = UTILIZATION_MAP.display(np.linspace(0.0, 120.0, 49))
    for cmap in (RSRP_MAP, SINR_MAP):
        cover = cmap.display(np.linspace(cmap.vmin, cmap.vmax, 61))
        gap = np.linalg.norm(util[:, None, :] - cover[None, :, :], axis=2).min()
        assert gap > 0.3, f"{cmap.name}: a link colour is within {gap:.2f} of a map colour"


def test_best_server_palette_avoids_the_red_of_down():
    pal = category_colors(40)
    hue = _hue_deg(pal)
    assert hue.min() >= CATEGORY_HUES_DEG[0] - 1e-3 and hue.max() <= CATEGORY_HUES_DEG[1] + 1e-3
    down = np.asarray(SITE_STATE_COLORS["down"])
    assert np.linalg.norm(pal - down, axis=1).min() > 0.25
    assert np.all(np.abs(pal[1:] - pal[:-1]).max(axis=1) > 0.2)        # neighbours differ


def test_best_server_legend_names_each_cell(tmp_path):
    from twin3d.usd.signal import write_signal_layer
    from test_usd_signal import hand_map, small_twin
    rm = hand_map([[-80.0, -90.0]], [[5.0, 6.0]], [[0, 1]], cell_ids=("HEL-01/1", "HEL-01/2"))
    stage = Usd.Stage.Open(str(write_signal_layer(small_twin(), rm, tmp_path / "s.usdc")))
    lg = mesh_legend(stage.GetPrimAtPath("/World/Signal/BestServer"))
    names = [n for n, _ in lg.swatches]
    assert names == ["HEL-01/1", "HEL-01/2", "no server"]
    # the swatch shows the colour the map shows: sRGB of the authored linear colour
    np.testing.assert_allclose(lg.swatches[0][1], category_colors(2)[0], atol=1e-5)


def test_display_color_is_linear_and_shown_as_srgb():
    assert float(srgb_to_linear(0.5)) == pytest.approx(0.214, abs=1e-3)
    np.testing.assert_allclose(linear_to_srgb(srgb_to_linear(np.linspace(0, 1, 11))),
                               np.linspace(0, 1, 11), atol=1e-6)
    stage = Usd.Stage.CreateInMemory()
    m = UsdGeom.Mesh.Define(stage, "/W/G/Tri")
    m.CreatePointsAttr([(0, 0, 0), (1, 0, 0), (0, 1, 0)])
    m.CreateFaceVertexCountsAttr([3])
    m.CreateFaceVertexIndicesAttr([0, 1, 2])
    m.CreateDisplayColorAttr([tuple(float(c) for c in srgb_to_linear([0.5, 0.25, 1.0]))])
    rgb = np.asarray(stage_parts(stage)[0].mesh.cell_data[RGB])
    assert rgb.tolist() == [[128, 64, 255]]


def test_utilization_in_percent_in_legend_and_cli():
    from twin3d.cli import _KPI_COLUMNS
    lg = utilization_legend().as_dict()
    assert lg["units"] == "%" and lg["labels"] == ["0", "50", "100"]
    key, _, scale, fmt = next(c for c in _KPI_COLUMNS if c[0] == "util_max")
    assert format(0.402 * scale, fmt) == "40.2%"          # the simulator's fraction, shown in %
