"""Per-cell path-gain maps kept on disk, so a scene's radio maps are paid once.

The geometric model (and ray tracing far more) costs seconds per cell on a
city grid; the maps depend only on the engine and its settings, the
buildings, the grid, the UE height and the cell's parameters. With the
environment variable :data:`ENV_VAR` naming a folder, the simulator wraps
its engine in :class:`DiskCachedEngine`: each cell's map is one ``.npy``
file there, named by a hash of all of that (and of the source code of the
engine and of :mod:`twin3d.physics`, so an edited model never reads a
stale map). Later runs, other processes (``twin3d build``, ``view``, the
environments' workers, the test suite) read it back. Nothing is ever
deleted: remove the folder to reclaim the space (0.9 MB per cell of a
117k-point grid: float64, so a map read back is the map computed, bit for
bit).

Examples
--------
>>> import numpy as np, tempfile
>>> from twin3d.physics.grid import Grid
>>> class Flat:                                     # a stand-in engine: 0 dB everywhere
...     calls = 0
...     def key(self): return ("flat", 1)
...     def path_gain_db(self, buildings, grid, specs, ue_height_m):
...         Flat.calls += 1
...         return np.zeros((len(specs),) + grid.shape)
>>> from twin3d.model import Buildings
>>> eng = DiskCachedEngine(Flat(), tempfile.mkdtemp())
>>> b = Buildings([], np.array([], object), np.zeros(0), np.zeros(0), [], [])
>>> g = Grid(0.0, 0.0, 5.0, 3, 2)
>>> _ = eng.path_gain_db(b, g, ["cell-a"], 1.5); _ = eng.path_gain_db(b, g, ["cell-a"], 1.5)
>>> Flat.calls, eng.hits, eng.misses
(1, 1, 1)
"""

from __future__ import annotations

import hashlib
import inspect
import os
import threading
import warnings
from functools import lru_cache
from pathlib import Path

import numpy as np

from .atomic import atomic_path
from .physics.cellmaps import buildings_digest

__all__ = ["ENV_VAR", "DiskCachedEngine", "disk_cached"]

#: Environment variable naming the folder of the on-disk radio-map cache (unset: no cache).
ENV_VAR = "TWIN3D_RADIO_CACHE"
_PHYSICS = Path(__file__).resolve().parent / "physics"


@lru_cache(maxsize=None)
def _code_digest(folder: Path) -> str:
    """sha256 of the ``.py`` files of ``folder`` and of twin3d.physics (sorted by name)."""
    h = hashlib.sha256()
    for f in sorted({*folder.glob("*.py"), *_PHYSICS.glob("*.py")}):
        h.update(f.name.encode())
        h.update(f.read_bytes())
    return h.hexdigest()


class DiskCachedEngine:
    """A path-gain engine whose per-cell maps are read from and written to a folder.

    Parameters
    ----------
    engine : object
        ``path_gain_db(buildings, grid, specs, ue_height_m)`` and ``key()``
        (:class:`~twin3d.physics.geometric.model.GeometricEngine`,
        :class:`~twin3d.rt.solver.SionnaEngine`).
    folder : str or Path
        Where the maps live (created at the first write).

    Attributes
    ----------
    hits, misses : int
        Cell maps read from the folder / computed by the engine.

    Notes
    -----
    Same key as ``engine``: the cache is transparent to the in-memory
    :class:`~twin3d.physics.cellmaps.CellMapCache`. Maps are kept as
    float64, the values the engine gave. A folder that cannot be written warns once
    and the maps are computed as without it.
    """

    def __init__(self, engine, folder) -> None:
        self.engine, self.folder = engine, Path(folder)
        self.hits = self.misses = 0
        self._code = _code_digest(Path(inspect.getfile(type(engine))).resolve().parent)
        self._digests: dict[int, tuple] = {}
        self._lock = threading.Lock()
        self._warned = False

    def key(self) -> tuple:
        return self.engine.key()

    @property
    def line_of_sight(self):
        """The engine's own LOS test (not cached on disk), or None when it has none."""
        return getattr(self.engine, "line_of_sight", None)

    def _digest(self, buildings) -> str:
        got = self._digests.get(id(buildings))
        if got is None or got[0] is not buildings:       # the object is held: its id stays its own
            got = self._digests[id(buildings)] = (buildings, buildings_digest(buildings))
        return got[1]

    def file_of(self, buildings, grid, spec, ue_height_m: float) -> Path:
        """The file of one cell's map."""
        what = repr((self.engine.key(), self._code, self._digest(buildings), grid,
                     float(ue_height_m), spec))
        return self.folder / (hashlib.sha256(what.encode()).hexdigest()[:40] + ".npy")

    def path_gain_db(self, buildings, grid, specs, ue_height_m: float) -> np.ndarray:
        """The engine's (n_cells, ny, nx) path gain, dB, float64: read, or computed and written."""
        specs = list(specs)
        files = [self.file_of(buildings, grid, s, ue_height_m) for s in specs]
        out = np.empty((len(specs),) + tuple(grid.shape), np.float64)
        missing = []
        for i, f in enumerate(files):
            try:
                m = np.load(f, allow_pickle=False)
            except (OSError, ValueError):
                missing.append(i)
                continue
            if m.shape != out.shape[1:]:
                missing.append(i)
                continue
            out[i] = m
        with self._lock:
            self.hits += len(specs) - len(missing)
            self.misses += len(missing)
        if missing:
            pg = self.engine.path_gain_db(buildings, grid, [specs[i] for i in missing], ue_height_m)
            for row, i in enumerate(missing):
                out[i] = pg[row]
                self._write(files[i], out[i])
        return out

    def _write(self, path: Path, m: np.ndarray) -> None:
        try:
            with atomic_path(path, suffix=".npy") as tmp:
                np.save(tmp, m, allow_pickle=False)
        except OSError as exc:
            if not self._warned:
                self._warned = True
                warnings.warn(f"{ENV_VAR}: cannot write radio maps to {self.folder}: {exc}",
                              RuntimeWarning, stacklevel=3)


def disk_cached(engine, folder=None):
    """``engine`` wrapped in a :class:`DiskCachedEngine` on ``folder`` (default: the
    folder :data:`ENV_VAR` names); ``engine`` itself when there is none."""
    folder = folder if folder is not None else os.environ.get(ENV_VAR, "").strip()
    return DiskCachedEngine(engine, folder) if folder else engine
