"""Indoor points of the geometric model: the outdoor path at the facade less the O2I loss."""

import numpy as np
import shapely

from twin3d.model import Buildings
from twin3d.physics.cellmaps import CellSpec
from twin3d.physics.geometric.indoor import facade_proxy
from twin3d.physics.geometric.model import geometric_path_gain_db
from twin3d.physics.grid import Grid
from twin3d.physics.radio import o2i_low_loss_db


def test_proxy_is_the_nearest_outdoor_point_by_brute_force():
    rng = np.random.default_rng(3)
    xy = rng.uniform(0, 100, (400, 2))
    indoor = rng.random(400) < 0.6
    got = facade_proxy(xy, indoor)
    out = np.flatnonzero(~indoor)
    assert np.array_equal(got[~indoor], out)                      # outdoor: itself
    for i in np.flatnonzero(indoor):
        d = np.hypot(*(xy[out] - xy[i]).T)
        assert not indoor[got[i]]
        assert np.hypot(*(xy[got[i]] - xy[i])) == d.min()


def test_proxy_without_outdoor_points_is_the_point_itself():
    xy = np.zeros((3, 2))
    assert facade_proxy(xy, [True, True, True]).tolist() == [0, 1, 2]
    assert facade_proxy(xy, [False, False, False]).tolist() == [0, 1, 2]


def one_block():
    """A 40 x 40 m, 20 m tall block east of a 25 m mast that looks east."""
    b = Buildings(["b"], np.array([shapely.box(100, -20, 140, 20)]), np.array([20.0]),
                  np.zeros(1), ["yes"], ["t"])
    spec = CellSpec((0.0, 0.0, 25.0), 25.0, 90.0, 0.0, 0.0, 3.5e9, 20e6, 8.0, 65.0)
    return b, spec


def test_room_behind_a_lit_wall_gets_the_facade_signal_less_o2i():
    b, spec = one_block()
    grid = Grid(90.0, 0.0, 5.0, 14, 1)                  # x = 92.5 .. 157.5 along y = 2.5
    pg = geometric_path_gain_db(b, grid, [spec])[0, 0]
    xs = grid.centers()[0]
    facade = np.flatnonzero(xs < 100)[-1]               # the last outdoor cell in front (97.5)
    room = np.flatnonzero(xs > 100)[0]                  # 102.5: 2.5 m inside the lit wall
    back = np.flatnonzero(xs > 140)[0]                  # 142.5: behind the block
    want = pg[facade] - float(o2i_low_loss_db(3.5e9, 2.5))
    assert abs(pg[room] - want) < 1e-9
    # in sight of the antenna the facade is ~free space: the room is 12.7 + 1.25 dB below it,
    # not behind a knife edge on its own roof (more than 20 dB)
    d = np.hypot(np.hypot(97.5, 2.5), 25.0 - 1.5)
    fs = 20 * np.log10(4 * np.pi * d * 3.5e9 / 299792458.0)
    assert abs(pg[facade] - (8.0 - fs)) < 3.0
    # deep inside, the nearest outdoor cell is the shadowed back street: a room there gets
    # that street's signal less the wall
    middle_back = np.flatnonzero(xs < 140)[-1]          # 137.5, 2.5 m from the back wall
    assert abs(pg[middle_back] - (pg[back] - float(o2i_low_loss_db(3.5e9, 2.5)))) < 1e-9
    assert pg[room] > pg[back]
    # 22.5 m from the lit wall, 17.5 m from the back one: the nearer (back) facade, O2I capped
    # at 25 m of indoor distance; the nearest facade, not the best (a known simplification)
    mid = np.flatnonzero(xs == 122.5)[0]
    assert abs(pg[mid] - (pg[back] - float(o2i_low_loss_db(3.5e9, 17.5)))) < 1e-9
