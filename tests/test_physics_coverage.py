"""Building LOS, indoor loss, SINR and the radio map, on hand-built twins and Helsinki."""

from __future__ import annotations

import math

import networkx as nx
import numpy as np
import pytest
import shapely

from twin3d.geo.frame import LocalFrame
from twin3d.model import Buildings, Cell, Site, Twin
from twin3d.physics import (Grid, indoor_distance_m, radio_map, rasterize_buildings,
                            viewshed_los)

from conftest import SCENES

C = 299_792_458.0


def cell(site_id, i, az_deg, f_hz=3.5e9, p_dbm=46.0, tilt_deg=0.0):
    return Cell(f"{site_id}/{i}", site_id, az_deg, tilt_deg, p_dbm, f_hz, 100e6, 65.0, 17.0)


def make_twin(sites, boxes=()):
    """sites: (id, x, y, height_m, cells); boxes: (xmin, ymin, xmax, ymax, height_m)."""
    ss = {sid: Site(sid, "macro", 0.0, 0.0, 0.0, h, np.array([x, y, 0.0]), cells=list(cells))
          for sid, x, y, h, cells in sites}
    n = len(boxes)
    fps = np.empty(n, dtype=object)
    fps[:] = [shapely.box(*b[:4]) for b in boxes]
    b = Buildings([f"b{i}" for i in range(n)], fps, np.array([b[4] for b in boxes], float),
                  np.zeros(n), ["yes"] * n, ["tag"] * n)
    return Twin("t", LocalFrame(24.94, 60.17), ss, {}, nx.MultiGraph(), b, [], {})


def exact_los(footprints, tops_z, antenna, x, y, z):
    """Independent reference: the segment antenna -> point against the true footprints."""
    ax, ay, az = antenna
    line = shapely.LineString([(ax, ay), (x, y)])
    d = math.hypot(x - ax, y - ay)
    for fp, top in zip(footprints, tops_z):
        part = shapely.intersection(line, fp)
        if part.is_empty:
            continue
        t = np.hypot(shapely.get_coordinates(part)[:, 0] - ax, shapely.get_coordinates(part)[:, 1] - ay)
        ray_z = az + (z - az) * t / d            # the ray is straight: its lowest point is an end
        if top > ray_z.min() + 1e-9:
            return False
    return True


# --- grid -------------------------------------------------------------------------------

def test_grid_covering_and_expansion():
    g = Grid.covering((-10.0, 0.0, 10.0, 4.0), 2.0)
    xs, ys = g.centers()
    assert (g.nx, g.ny) == (10, 2) and xs[0] == -9.0 and ys.tolist() == [1.0, 3.0]
    e = g.expanded_to([-15.0, 30.0], [-1.0, 2.0])
    assert (e.x0_m, e.y0_m) == (-16.0, -2.0)            # whole cells, same lattice
    assert e.x0_m + e.nx * e.step_m > 30.0 and e.ny == 3
    with pytest.raises(ValueError, match="step_m"):
        Grid.covering((0, 0, 1, 1), 0.0)
    with pytest.raises(ValueError, match="finite"):
        Grid.covering((0, 0, float("nan"), 1), 1.0)


# --- line of sight ------------------------------------------------------------------------

HAND_BOXES = [(40, -10, 60, 10, 40.0),      # tall: blocks (0,0,20) -> (100, 0)
              (40, -40, 60, -20, 6.0)]      # short: the ray to (100, -60) passes over it


def test_los_tall_building_blocks_short_one_does_not():
    t = make_twin([], HAND_BOXES)
    r = rasterize_buildings(t.buildings, Grid(-20, -100, 1.0, 160, 150))
    x = np.array([100.0, 100.0, 100.0, 30.0])
    y = np.array([0.0, 40.0, -60.0, 0.0])
    los = viewshed_los(r, (0.0, 0.0, 20.0), x, y, 1.5)
    assert los.tolist() == [False, True, True, True]
    # the short building made 15 m tall blocks the same ray (ray is ~8.9 m high over its far wall)
    t2 = make_twin([], [HAND_BOXES[0], (40, -40, 60, -20, 15.0)])
    r2 = rasterize_buildings(t2.buildings, Grid(-20, -100, 1.0, 160, 150))
    assert viewshed_los(r2, (0.0, 0.0, 20.0), x, y, 1.5).tolist() == [False, True, False, True]
    for xi, yi, li in zip(x, y, los):                     # the exact reference agrees
        assert exact_los(t.buildings.footprints, t.buildings.heights_m, (0, 0, 20), xi, yi, 1.5) == li


def test_radio_map_los_output_on_hand_twin():
    site = ("S", 0.0, 0.0, 20.0, [cell("S", 1, 90.0)])
    t = make_twin([site], HAND_BOXES)
    rm = radio_map(t, model="UMa", grid_m=2.0, bounds=(-1.0, -101.0, 121.0, 51.0))
    xs, ys = rm.grid.centers()

    def at(x, y):
        return int(np.argmin(np.abs(ys - y))), int(np.argmin(np.abs(xs - x)))

    assert not rm.los[at(100, 0)] and rm.los[at(100, 40)] and rm.los[at(100, -60)]
    # NLOS costs more than the UMa LOS formula at the same distance
    nlos_pt, los_pt = at(100, 0), at(100, 40)
    assert rm.rx_dbm[0][nlos_pt] < rm.rx_dbm[0][los_pt] - 10


def test_viewshed_agrees_with_exact_rays_on_random_city():
    rng = np.random.default_rng(11)
    boxes = []
    for _ in range(70):
        x0, y0 = rng.uniform(-200, 180, 2)
        w, h = rng.uniform(8, 30, 2)
        boxes.append((x0, y0, x0 + w, y0 + h, float(rng.uniform(5, 40))))
    t = make_twin([], boxes)
    antenna = (3.0, -7.0, 32.0)
    fps, tops = t.buildings.footprints, t.buildings.heights_m
    pts = rng.uniform(-200, 200, (600, 2))
    outdoor = ~np.any(shapely.contains_xy(fps[:, None], pts[:, 0], pts[:, 1]), axis=0)
    pts = pts[outdoor]
    r = rasterize_buildings(t.buildings, Grid(-210, -210, 2.0, 210, 210))
    got = viewshed_los(r, antenna, pts[:, 0], pts[:, 1], 1.5)
    ref = np.array([exact_los(fps, tops, antenna, x, y, 1.5) for x, y in pts])
    assert 0.2 < ref.mean() < 0.8                       # the city is neither empty nor solid
    assert np.mean(got == ref) >= 0.95


# --- indoor points ---------------------------------------------------------------------------

def test_indoor_points_get_penetration_and_indoor_loss():
    site = ("S", 0.0, 0.0, 25.0, [cell("S", 1, 90.0)])
    box = (100.0, -30.0, 160.0, 30.0, 20.0)
    bounds = (50.0, -50.0, 200.0, 50.0)
    with_b = radio_map(make_twin([site], [box]), model="FSPL", grid_m=5.0, bounds=bounds)
    without = radio_map(make_twin([site]), model="FSPL", grid_m=5.0, bounds=bounds)
    xs, ys = with_b.grid.centers()
    gx, gy = np.meshgrid(xs, ys)
    inside = (gx > 100) & (gx < 160) & (gy > -30) & (gy < 30)
    assert np.array_equal(with_b.indoor, inside) and inside.sum() == 12 * 12
    assert not without.indoor.any()
    d_in = np.minimum.reduce([gx - 100, 160 - gx, gy + 30, 30 - gy])
    fc = 3.5
    pl_tw = 5 - 10 * math.log10(0.3 * 10 ** (-(2 + 0.2 * fc) / 10) + 0.7 * 10 ** (-(5 + 4 * fc) / 10))
    expected = np.where(inside, pl_tw + 0.5 * np.minimum(d_in, 25.0), 0.0)
    loss = without.rx_dbm[0].astype(float) - with_b.rx_dbm[0].astype(float)
    np.testing.assert_allclose(loss, expected, atol=1e-3)
    assert with_b.building_height_m[inside].tolist() == [20.0] * inside.sum()
    assert not with_b.building_height_m[~inside].any()


def test_indoor_distance_to_own_footprint():
    t = make_twin([], [(0, 0, 40, 20, 10.0), (40, 0, 60, 20, 10.0)])
    d = indoor_distance_m(t.buildings, [10.0, 45.0, 100.0], [10.0, 4.0, 0.0], [0, 1, -1])
    assert d.tolist() == [10.0, 4.0, 0.0]


# --- SINR ----------------------------------------------------------------------------------

def two_facing_cells(f_b_hz=3.5e9):
    return make_twin([("A", -200.0, 0.0, 25.0, [cell("A", 1, 90.0)]),
                      ("B", 200.0, 0.0, 25.0, [cell("B", 1, 270.0, f_hz=f_b_hz)])])


LINE = (-302.5, -2.5, 302.5, 2.5)      # centres at x = -300, -295, ..., 300; y = 0


def test_sinr_between_two_co_channel_cells():
    rm = radio_map(two_facing_cells(), grid_m=5.0, bounds=LINE)
    xs, _ = rm.grid.centers()
    sinr = rm.sinr_db[0]
    mid = int(np.flatnonzero(xs == 0.0)[0])
    assert abs(sinr[mid]) < 0.01                              # equal powers: S = I (noise is ~50 dB lower)
    np.testing.assert_allclose(sinr, sinr[::-1], atol=1e-6)   # symmetric
    # rising toward each site until the vertical pattern's near-field dip (~40 m from the mast)
    toward_a = sinr[(xs >= -140) & (xs <= 0)]
    assert np.all(np.diff(toward_a) < 0)
    between_a, between_b = (xs > -200) & (xs < 0), (xs > 0) & (xs < 200)
    assert rm.best_server[0][between_a].tolist() == [0] * int(between_a.sum())
    assert rm.best_server[0][between_b].tolist() == [1] * int(between_b.sum())
    assert rm.best_server[0][xs < -200].tolist() == [1] * int((xs < -200).sum())  # A's back lobe
    # SINR from the per-cell received powers, by hand
    s, i = rm.rx_dbm[0, 0, mid - 10], rm.rx_dbm[1, 0, mid - 10]
    noise_mw = 10 ** ((-173.98 + 80 + 7) / 10)
    ref = 10 * math.log10(10 ** (s / 10) / (10 ** (i / 10) + noise_mw))
    assert sinr[mid - 10] == pytest.approx(ref, abs=1e-3)
    assert rm.throughput_bps[0, mid] == pytest.approx(0.6 * math.log2(1 + 10 ** (sinr[mid] / 10)) * 100e6,
                                                      rel=1e-6)


def test_other_frequency_does_not_interfere():
    rm = radio_map(two_facing_cells(f_b_hz=3.7e9), grid_m=5.0, bounds=LINE)
    served = rm.rx_dbm[rm.best_server[0], 0, np.arange(rm.grid.nx)].astype(float)
    np.testing.assert_allclose(rm.sinr_db[0], served - (-173.98 + 80 + 7), atol=1e-3)
    assert rm.sinr_db[0].min() > 20


def test_cell_active_and_power_offset():
    t = two_facing_cells()
    base = radio_map(t, grid_m=5.0, bounds=LINE)
    only_a = radio_map(t, grid_m=5.0, bounds=LINE, cell_active=np.array([True, False]))
    assert np.all(only_a.best_server == 0) and np.all(np.isneginf(only_a.rx_dbm[1]))
    assert np.all(only_a.sinr_db >= base.sinr_db - 1e-9)
    none = radio_map(t, grid_m=5.0, bounds=LINE, cell_active=np.array([False, False]))
    assert np.all(none.best_server == -1) and none.coverage_fraction() == 0.0
    assert np.all(none.throughput_bps == 0.0) and not none.los.any()
    up = radio_map(t, grid_m=5.0, bounds=LINE, cell_power_offset_db=np.array([3.0, 0.0]))
    np.testing.assert_allclose(up.rx_dbm[0] - base.rx_dbm[0], 3.0, atol=1e-4)
    t.sites["B"].state = "down"                                  # default: cells of "up" sites
    assert radio_map(t, grid_m=5.0, bounds=LINE).cell_active.tolist() == [True, False]


@pytest.mark.parametrize("kwargs, words", [
    ({"model": "Hata"}, ["unknown model", "Hata"]),
    ({"grid_m": 0.0}, ["step_m"]),
    ({"ue_height_m": -1.0}, ["ue_height_m"]),
    ({"cell_active": np.array([True])}, ["cell_active", "(2,)"]),
    ({"cell_power_offset_db": np.array([0.0, np.nan])}, ["cell_power_offset_db", "finite"]),
    ({"model": "RMa", "ue_height_m": 12.0}, ["site 'A'", "h_ut_m"]),
])
def test_radio_map_errors(kwargs, words):
    with pytest.raises(ValueError) as err:
        radio_map(two_facing_cells(), **{"bounds": LINE, **kwargs})
    for w in words:
        assert w in str(err.value)


# --- Helsinki ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def helsinki():
    import twin3d
    twin = twin3d.load_scene(SCENES / "helsinki.toml").twin
    return twin, radio_map(twin, model="UMa", grid_m=5.0)


def test_helsinki_radio_map(helsinki):
    twin, rm = helsinki
    ny, nx_ = rm.grid.shape
    n = len(twin.cells)
    assert n == 30 and rm.cell_ids == [c.id for c in twin.cells]
    assert rm.rx_dbm.shape == (n, ny, nx_) and rm.rx_dbm.dtype == np.float32
    for a in (rm.rsrp_dbm, rm.sinr_db, rm.best_server, rm.los, rm.indoor, rm.throughput_bps):
        assert a.shape == (ny, nx_)
    xmin, ymin, xmax, ymax = twin.bounds_xy_m()
    assert rm.grid.bounds_m[2] >= xmax and rm.grid.bounds_m[3] >= ymax
    assert rm.best_server.min() >= 0 and rm.best_server.max() < n          # every point served
    assert len(np.unique(rm.best_server)) == n                              # every cell serves some area
    rsrp_all = rm.rx_dbm.astype(float) - 10 * math.log10(12 * 273)
    np.testing.assert_array_equal(rm.best_server, np.argmax(rsrp_all, axis=0))
    cov = rm.coverage_fraction()
    assert 0.9 <= cov <= 1.0, cov                                           # dense 11-site macro grid
    assert rm.coverage_fraction(rsrp_min_dbm=-80.0) < cov
    med = float(np.median(rm.sinr_db))
    assert -3.0 < med < 15.0, med
    assert 0.2 < rm.los.mean() < 0.9
    # indoor flag = grid centres inside some footprint (independent shapely test)
    xs, ys = rm.grid.centers()
    gx, gy = np.meshgrid(xs, ys)
    inside = shapely.contains_xy(shapely.union_all(twin.buildings.footprints), gx, gy)
    assert np.mean(inside == rm.indoor) > 0.999


def test_helsinki_radio_map_is_deterministic(helsinki):
    twin, rm = helsinki
    again = radio_map(twin, model="UMa", grid_m=5.0)
    for name in ("rx_dbm", "sinr_db", "best_server", "los", "indoor", "throughput_bps"):
        np.testing.assert_array_equal(getattr(rm, name), getattr(again, name))
