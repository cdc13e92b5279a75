"""Optional ray-traced radio maps with Sionna RT (the ``[rt]`` extra).

The twin's buildings and a ground plane are written as a Mitsuba scene of
PLY meshes with ITU radio materials (:mod:`twin3d.rt.export`), and Sionna
RT's radio-map solver computes each cell's path gain on the twin's grid
(:mod:`twin3d.rt.solver`). Ray-traced reference maps for the tests and
benchmarks are made and read by :mod:`twin3d.rt.references`, their
unreached points traced again by Sionna's path solver in
:mod:`twin3d.rt.complete`.

Nothing here imports Sionna, Mitsuba or Dr.Jit at import time: only the
solver does, when it runs. :func:`problem` says, without importing them,
why the backend cannot run (the extra missing, or no LLVM 19+ for Dr.Jit's
CPU backend), so a scene asking for ``[radio] engine = "sionna"`` fails at
load with one clear line.

Install::

    pip install "twin3d[rt]"          # sionna-rt (Mitsuba 3, Dr.Jit)
    apt-get install libllvm19         # Dr.Jit's CPU backend needs LLVM >= 19
    export DRJIT_LIBLLVM_PATH=/usr/lib/x86_64-linux-gnu/libLLVM.so.19.1   # if not found

Examples
--------
>>> from twin3d import rt
>>> rt.problem() is None or rt.problem().startswith("the Sionna RT backend")
True
"""

from .env import INSTALL_HINT, find_libllvm, problem

__all__ = ["INSTALL_HINT", "find_libllvm", "problem"]
