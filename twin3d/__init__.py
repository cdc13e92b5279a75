"""twin3d: an open, physics-based digital twin of a telecom network in OpenUSD.

The pipeline (DESIGN.md section 1): ``twin3d.geo`` reads sources into WGS84
records, ``twin3d.model`` builds the :class:`~twin3d.model.Twin` in a local
ENU frame, ``twin3d.usd`` writes it as an OpenUSD stage.

Examples
--------
>>> import twin3d
>>> scene = twin3d.load_scene("scenes/helsinki.toml")      # doctest: +SKIP
>>> results = twin3d.simulate(scene)                         # doctest: +SKIP
>>> root = twin3d.build(scene, "twin3d-out")                # doctest: +SKIP
"""

from .numba_cache import configure as _configure_numba_cache

_configure_numba_cache()        # before any kernel is compiled: one cache folder per source version

from .errors import InputError  # noqa: E402
from .loader import Scene, load_scene  # noqa: E402

__version__ = "0.1.0"

__all__ = ["InputError", "Scene", "load_scene", "build", "simulate", "__version__"]


def build(scene, out_dir, **kwargs):
    """Write the scene's stage into ``out_dir`` atomically; see :func:`twin3d.output.build`."""
    from .output import build as _build
    return _build(scene, out_dir, **kwargs)


def simulate(scene, scenario=None):
    """Run one scenario by name, or all; see :func:`twin3d.sim.engine.simulate`."""
    from .sim.engine import simulate as _simulate
    return _simulate(scene, scenario)
