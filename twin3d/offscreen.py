"""Offscreen rendering in a process that also trains with torch.

VTK renders offscreen here through Mesa's software OpenGL (llvmpipe), which
loads the system's libLLVM into the process. torch imports triton, its
GPU compiler, the first time it builds an optimizer (``torch._dynamo``
asks whether triton is installed); triton's library, loaded after Mesa's
LLVM, resolves LLVM symbols to it and the process dies at that import
(segmentation fault; torch 2.14.1 with triton 3.8.0 and Debian's Mesa,
reproduced by ``tests/test_offscreen.py``). Loaded first, both work. So
twin3d imports triton, where it is installed, before its first offscreen
render; a process that rendered through VTK itself before that is not
covered.

Examples
--------
>>> load_before_software_gl()       # a no-op without triton
"""

from __future__ import annotations

import importlib.util
import sys

__all__ = ["load_before_software_gl"]


def load_before_software_gl() -> None:
    """Import triton, when it is installed and not yet imported, so that its
    LLVM is bound before Mesa's (see the module's notes). About 0.16 s, once."""
    if "triton" in sys.modules:
        return
    try:
        if importlib.util.find_spec("triton") is None:
            return
        import triton  # noqa: F401
    except ImportError:         # a broken install: torch will find it broken too
        return
