"""The recombination's shortcuts give the plain computations' bits: numpy's power of a
base array (``recombine.tens``) against the scalar base, and the mapper's memoized cell
specs against :meth:`CellSpec.of`."""

import numpy as np

from twin3d.physics.cellmaps import CellSpec
from twin3d.physics.recombine import spectral_efficiency as _spectral_efficiency, tens as _tens
from twin3d.physics.coverage import RadioMapper
from twin3d.physics.radio import spectral_efficiency
from twin3d.model import Cell, Site


def test_power_of_base_array_is_the_scalar_base_bit_for_bit():
    rng = np.random.default_rng(5)
    t = np.concatenate([rng.normal(0.0, 1.0, 200_000), rng.uniform(-330.0, 310.0, 50_000),
                        rng.normal(0.0, 1e-8, 1000),
                        [np.inf, -np.inf, np.nan, 0.0, -0.0, 308.25, 308.26, -323.3, -324.0]])
    for n in (t.size, 1, 7, 9, 17, 1023):                    # SIMD tails
        x = t[-n:]
        with np.errstate(all="ignore"):
            want, got = np.power(10.0, x), np.power(_tens(n), x)
        assert np.array_equal(want.view(np.int64), got.view(np.int64)), n
    assert not _tens(5).flags.writeable and (_tens(5) == 10.0).all()


def test_spectral_efficiency_equals_the_reference_bit_for_bit():
    rng = np.random.default_rng(6)
    sinr_db = np.concatenate([rng.normal(3.0, 12.0, 100_000), [-np.inf, np.inf, np.nan, -10.0,
                                                              -10.000001, 27.6, 60.0]])
    with np.errstate(all="ignore"):
        want = spectral_efficiency(sinr_db)
        got = _spectral_efficiency(sinr_db.copy())
    assert np.array_equal(want, got, equal_nan=True)
    assert np.array_equal(np.signbit(want), np.signbit(got))


def _site(xyz, height, cells):
    return Site("S", "macro", 0.0, 0.0, 0.0, height, np.asarray(xyz, float), cells=cells)


def test_memoized_specs_follow_the_cells_values():
    c = Cell("S/1", "S", 30.0, 6.0, 46.0, 3.5e9, 100e6, 65.0, 17.0)
    s = _site([10.0, -5.0, 2.0], 25.0, [c])
    m = RadioMapper.__new__(RadioMapper)          # only the memo: no grid or maps needed
    m._specs = {}
    a = m._spec_of(c, s, 0.0)
    assert a == CellSpec.of(c, s, 0.0)
    assert m._spec_of(c, s, np.float64(0.0)) is a            # the same values: the same object
    assert m._spec_of(c, s, -3.0) == CellSpec.of(c, s, -3.0) != a
    c.tilt_deg = 8.0                                         # a cell changed in place
    assert m._spec_of(c, s, 0.0) == CellSpec.of(c, s, 0.0) != a
    s.xyz_m[2] = 4.0                                         # the site moved in place
    assert m._spec_of(c, s, 0.0) == CellSpec.of(c, s, 0.0)
    assert m._spec_of(c, s, 0.0).antenna_xyz_m == (10.0, -5.0, 29.0)
