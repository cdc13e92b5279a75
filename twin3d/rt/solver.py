"""Per-cell path gain on a twin's grid, ray traced by Sionna RT.

Each cell (sector) is one Sionna transmitter at its site's antenna position
(ENU), turned to the cell's compass azimuth, radiating the twin's own
sector pattern: the TR 38.901 Table 7.3-1 antenna of
:func:`twin3d.physics.radio.antenna_gain_db`, with the cell's gain,
horizontal beamwidth and electrical downtilt (the tilt moves the vertical
beam only, as in the twin's model), vertically polarized. With the default
65 degree beamwidth, 8 dBi and no tilt it is Sionna's ``tr38901`` pattern.
The gain travels with every ray, so a reflected path gets the gain of its
departure direction. The receiver is Sionna's ideal isotropic one.

Sionna's radio-map solver shoots ``samples_per_tx`` rays per transmitter
(line of sight, specular reflection, refraction through walls and, by
default, diffraction on building edges and diffuse scattering off rough
walls and roofs, :data:`DEFAULT_SCATTERING`, up to ``max_depth``
interactions) and averages the received power over each grid cell at the UE height. The
result is the cell's path gain including its antenna gain,

    g = p_rx / p_tx (dB) = antenna gain - path loss,

which is what :mod:`twin3d.physics.cellmaps` adds to ``p_tx_dbm`` to make
``RadioMap.rx_dbm``. Cells no ray reaches get :data:`FLOOR_DB`.

Sionna, Mitsuba and Dr.Jit are imported at the first call (see
:func:`twin3d.rt.problem` for what they need). Grid cells are the twin's:
the measurement plane is the grid's rectangle at ground + UE height, cut
in the grid's steps, so Sionna's cell centres are the grid's centres.

Examples
--------
>>> pg = sionna_radio_map(twin, grid, samples_per_tx=10**6)   # doctest: +SKIP
>>> pg.shape == (len(twin.cells), grid.ny, grid.nx)           # doctest: +SKIP
True
"""

from __future__ import annotations

import os
import tempfile
import threading
from pathlib import Path
from typing import Sequence

import numpy as np

from ..physics.cellmaps import CellSpec
from ..physics.grid import Grid
from ..physics.los import ground_z_m
from .env import find_libllvm, problem
from .export import ExportedScene, export_scene

__all__ = ["FLOOR_DB", "MARGIN_M", "DEFAULT_SCATTERING", "RtSettings", "SionnaEngine", "path_gain_db",
           "sionna_radio_map", "sionna_version", "load_sionna", "load_rt_scene", "add_sector",
           "scene_extent"]

#: Path gains are clipped here, dB (far below any usable signal).
FLOOR_DB = -160.0
#: Buildings within this distance of the grid (and of every site) are exported, metres.
MARGIN_M = 100.0
#: Mitsuba variant: CPU (LLVM), polarized, differentiable (what Sionna RT needs).
VARIANT = "llvm_ad_mono_polarized"

_lock = threading.Lock()        # Dr.Jit's scene state is not for concurrent solves

#: The walls' and roofs' diffuse scattering coefficient S by default (Sionna's ITU materials
#: have 0, smooth). Measured building facades fit S of about 0.2-0.5 (Degli-Esposti et al.,
#: IEEE Trans. Antennas Propag. 55(1), 2007); 0.3 is the middle of that range, chosen before
#: any score against it (docs/radio_fidelity.md). Lambertian lobe; the ground stays smooth.
DEFAULT_SCATTERING = 0.3

#: Interactions per path by default. Depth 3 left 9-31 % of the references' outdoor points
#: without a ray (a wall in and a wall out is already two); by depth 10 the maps stop
#: growing (macro HEL-02 at 3.5 GHz: the same map at depth 16), at about the same cost.
DEFAULT_MAX_DEPTH = 10


class RtSettings:
    """Ray-tracing settings of one map (Monte Carlo rays, interactions, physics).

    Parameters
    ----------
    samples_per_tx : int
        Rays shot per transmitter (per cell). The per-grid-cell Monte Carlo
        noise falls as 1 / sqrt(rays reaching it).
    max_depth : int
        Interactions (reflections, refractions, diffractions) per path.
    seed : int
        Sionna's sampler seed (the scene seed; cell k uses seed + k).
    diffraction, refraction : bool
        Edge diffraction on the buildings; transmission through walls.
    scattering : float
        The walls' and roofs' diffuse scattering coefficient S, 0-1 (0:
        smooth, specular only; otherwise a fraction S**2 of the reflected
        power is scattered in a Lambertian lobe and the specular field is
        scaled by sqrt(1 - S**2)). Default :data:`DEFAULT_SCATTERING`.
    """

    __slots__ = ("samples_per_tx", "max_depth", "seed", "diffraction", "refraction", "scattering")

    def __init__(self, samples_per_tx: int = 10**7, max_depth: int = DEFAULT_MAX_DEPTH, seed: int = 0,
                 diffraction: bool = True, refraction: bool = True,
                 scattering: float = DEFAULT_SCATTERING) -> None:
        if int(samples_per_tx) < 1 or int(max_depth) < 0 or int(seed) < 0 \
                or not 0.0 <= float(scattering) <= 1.0:
            raise ValueError("RtSettings: samples_per_tx >= 1, max_depth >= 0, seed >= 0 and "
                             f"0 <= scattering <= 1 (got {samples_per_tx}, {max_depth}, {seed}, "
                             f"{scattering})")
        self.samples_per_tx, self.max_depth, self.seed = int(samples_per_tx), int(max_depth), int(seed)
        self.diffraction, self.refraction = bool(diffraction), bool(refraction)
        self.scattering = float(scattering)

    def key(self) -> tuple:
        return (self.samples_per_tx, self.max_depth, self.seed, self.diffraction, self.refraction,
                self.scattering)

    def __repr__(self) -> str:
        return "RtSettings(" + ", ".join(f"{k}={getattr(self, k)!r}" for k in self.__slots__) + ")"


def load_sionna():
    """Import Mitsuba (LLVM variant) and ``sionna.rt``; returns ``(mi, dr, rt)``.

    Raises
    ------
    RuntimeError
        The backend cannot run here (:func:`twin3d.rt.problem` says why).
    """
    why = problem()
    if why is not None:
        raise RuntimeError(why)
    # Dr.Jit reads the variable when it is imported: point it at LLVM >= 19
    os.environ.setdefault("DRJIT_LIBLLVM_PATH", find_libllvm())
    import drjit as dr
    import mitsuba as mi
    if mi.variant() != VARIANT:
        mi.set_variant(VARIANT)
    import sionna.rt as rt
    return mi, dr, rt


def sionna_version() -> str:
    """Version of the installed sionna-rt (without importing it)."""
    from importlib.metadata import version
    return version("sionna-rt")


def _pattern(mi, dr, rt, gain_dbi: float, beamwidth_deg: float, tilt_deg: float):
    """The twin's sector pattern (:func:`twin3d.physics.radio.antenna_gain_db`) for Sionna."""
    phi_3db = np.radians(beamwidth_deg)
    theta_3db = np.radians(65.0)
    tilt = np.radians(tilt_deg)

    def v_pattern(theta, phi):
        phi = phi + dr.pi
        phi -= dr.floor(phi / (2.0 * dr.pi)) * 2.0 * dr.pi
        phi -= dr.pi
        a_v = -dr.minimum(12.0 * ((theta - dr.pi / 2.0 - tilt) / theta_3db) ** 2, 30.0)
        a_h = -dr.minimum(12.0 * (phi / phi_3db) ** 2, 30.0)
        a_db = gain_dbi - dr.minimum(-(a_v + a_h), 30.0)
        return mi.Complex2f(dr.sqrt(dr.power(10.0, a_db / 10.0)), 0.0)

    pattern = rt.PolarizedAntennaPattern(v_pattern=v_pattern, polarization="V")
    return rt.AntennaArray(pattern, mi.Point3f(0.0, 0.0, 0.0))


def scene_extent(grid: Grid, specs: Sequence[CellSpec], margin_m: float) -> tuple:
    """(x0, y0, x1, y1) m: the grid and every antenna, plus ``margin_m``."""
    x0, y0, x1, y1 = grid.bounds_m
    xs = [x0, x1] + [s.antenna_xyz_m[0] for s in specs]
    ys = [y0, y1] + [s.antenna_xyz_m[1] for s in specs]
    return (min(xs) - margin_m, min(ys) - margin_m, max(xs) + margin_m, max(ys) + margin_m)


def path_gain_db(buildings, grid: Grid, specs: Sequence[CellSpec], *, ue_height_m: float = 1.5,
                 settings: RtSettings | None = None, margin_m: float = MARGIN_M,
                 ground: bool = True, scene_dir=None) -> np.ndarray:
    """Each cell's path gain (antenna gain included) over the grid, ray traced, dB.

    Parameters
    ----------
    buildings : twin3d.model.Buildings
    grid : Grid
        The twin's grid; the map is computed at its cell centres.
    specs : sequence of CellSpec
        The cells (position, height, azimuth, tilt, frequency, gain, beamwidth).
    ue_height_m : float
        Receiver height above the ground, metres.
    settings : RtSettings, optional
    margin_m : float
        Buildings this far beyond the grid and the sites are in the scene, metres.
    ground : bool
        Include the ground plane (False with no buildings: free space).
    scene_dir : path, optional
        Where to write the exported scene (default: a temporary directory,
        removed afterwards).

    Returns
    -------
    (n_cells, ny, nx) float32
        Path gain, dB, clipped below at :data:`FLOOR_DB`.
    """
    settings = settings or RtSettings()
    specs = list(specs)
    if not specs:
        return np.zeros((0,) + grid.shape, np.float32)
    mi, dr, rt = load_sionna()
    with tempfile.TemporaryDirectory(prefix="twin3d-rt-") as tmp:
        ex = export_scene(buildings, scene_extent(grid, specs, margin_m),
                          Path(scene_dir) if scene_dir is not None else tmp, ground=ground)
        with _lock:
            return _solve(mi, dr, rt, ex, grid, specs, ue_height_m, settings)


def load_rt_scene(rt, ex: ExportedScene, scattering: float = 0.0):
    """The exported scene loaded in Sionna, with the twin's receiver (isotropic, V) and the
    walls' and roofs' (``itu_concrete``) scattering coefficient set to ``scattering``."""
    scene = rt.load_scene(str(ex.xml_path), merge_shapes=True)
    for obj in scene.objects.values():
        if obj.radio_material.name == "itu_concrete":
            obj.radio_material.scattering_coefficient = float(scattering)
    scene.rx_array = rt.PlanarArray(num_rows=1, num_cols=1, pattern="iso", polarization="V")
    return scene


def add_sector(mi, dr, rt, scene, k: int, spec: CellSpec) -> str:
    """Put cell ``spec`` in ``scene`` as transmitter ``tx<k>`` at 0 dBm (its frequency
    and pattern set on the scene); returns the name to remove it by."""
    scene.frequency = spec.f_hz
    scene.tx_array = _pattern(mi, dr, rt, spec.gain_dbi, spec.beamwidth_deg, spec.tilt_deg)
    # Sionna's yaw turns the boresight from +x (east) counter-clockwise; azimuth is from north
    yaw = np.radians(90.0 - spec.azimuth_deg)
    scene.add(rt.Transmitter(f"tx{k}", position=mi.Point3f(*map(float, spec.antenna_xyz_m)),
                             orientation=mi.Point3f(float(yaw), 0.0, 0.0), power_dbm=0.0))
    return f"tx{k}"


def _solve(mi, dr, rt, ex: ExportedScene, grid: Grid, specs, ue_height_m,
           settings: RtSettings) -> np.ndarray:
    scene = load_rt_scene(rt, ex, settings.scattering)
    x0, y0, x1, y1 = grid.bounds_m
    cx, cy = 0.5 * (x0 + x1), 0.5 * (y0 + y1)
    z = float(ground_z_m(cx, cy)) + ue_height_m
    solver = rt.RadioMapSolver()
    out = np.empty((len(specs),) + grid.shape, np.float32)
    for k, s in enumerate(specs):
        tx = add_sector(mi, dr, rt, scene, k, s)
        try:
            rm = solver(scene, center=mi.Point3f(cx, cy, z), orientation=mi.Point3f(0, 0, 0),
                        size=mi.Point2f(x1 - x0, y1 - y0),
                        cell_size=mi.Point2f(grid.step_m, grid.step_m),
                        samples_per_tx=settings.samples_per_tx, max_depth=settings.max_depth,
                        los=True, specular_reflection=True, refraction=settings.refraction,
                        diffuse_reflection=settings.scattering > 0,
                        diffraction=settings.diffraction, seed=settings.seed + k)
            g = np.asarray(rm.path_gain.numpy(), np.float64)[0]
        finally:
            scene.remove(tx)
        if g.shape != grid.shape:
            raise RuntimeError(f"Sionna radio map is {g.shape}, the grid {grid.shape}")
        with np.errstate(divide="ignore"):
            out[k] = np.maximum(10.0 * np.log10(g), FLOOR_DB)
    return out


class SionnaEngine:
    """Per-cell path gain for :class:`twin3d.physics.coverage.RadioMapper` by ray tracing.

    What ``[radio] engine = "sionna"`` plugs into the radio map: the twin's
    per-cell cache then holds ray-traced maps, paid once per cell.

    Examples
    --------
    >>> RadioMapper(twin, engine=SionnaEngine(RtSettings(10**7, seed=7)))   # doctest: +SKIP
    """

    def __init__(self, settings: RtSettings | None = None, margin_m: float = MARGIN_M) -> None:
        self.settings, self.margin_m = settings or RtSettings(), float(margin_m)

    def key(self) -> tuple:
        return ("sionna", sionna_version(), self.margin_m) + self.settings.key()

    def path_gain_db(self, buildings, grid: Grid, specs, ue_height_m: float) -> np.ndarray:
        return path_gain_db(buildings, grid, specs, ue_height_m=ue_height_m,
                            settings=self.settings, margin_m=self.margin_m)


def sionna_radio_map(twin, grid: Grid, cells=None, *, samples_per_tx: int = 10**7,
                     max_depth: int = DEFAULT_MAX_DEPTH, seed: int = 0, ue_height_m: float = 1.5,
                     diffraction: bool = True, refraction: bool = True,
                     scattering: float = DEFAULT_SCATTERING,
                     margin_m: float = MARGIN_M) -> np.ndarray:
    """Ray-traced path gain of a twin's cells on a grid, shaped like ``RadioMap.rx_dbm``.

    Parameters
    ----------
    twin : twin3d.model.Twin
    grid : Grid
    cells : sequence of str, optional
        Cell ids, in order (default: every cell of the twin).
    samples_per_tx, max_depth, seed, diffraction, refraction, scattering
        See :class:`RtSettings`.
    ue_height_m : float
        Receiver height, metres.
    margin_m : float
        See :func:`path_gain_db`.

    Returns
    -------
    (n_cells, ny, nx) float32
        Path gain at 0 dBm transmit power (antenna gain minus path loss),
        dB, clipped at :data:`FLOOR_DB`; add ``p_tx_dbm`` for ``rx_dbm``.
    """
    by_id = {c.id: c for c in twin.cells}
    ids = [c.id for c in twin.cells] if cells is None else list(cells)
    unknown = [c for c in ids if c not in by_id]
    if unknown:
        raise ValueError(f"sionna_radio_map: unknown cell(s) {', '.join(unknown)}")
    specs = [CellSpec.of(by_id[c], twin.sites[by_id[c].site_id]) for c in ids]
    return path_gain_db(twin.buildings, grid, specs, ue_height_m=ue_height_m, margin_m=margin_m,
                        settings=RtSettings(samples_per_tx, max_depth, seed, diffraction, refraction,
                                            scattering))
