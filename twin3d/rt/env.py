"""Whether the Sionna RT backend can run here, found without importing it.

Importing Dr.Jit with an LLVM older than 19 can crash the interpreter, so
the checks look for the packages (``importlib.util.find_spec``) and for the
LLVM library file, and never import them.
"""

from __future__ import annotations

import glob
import importlib.util
import os
import re

__all__ = ["INSTALL_HINT", "MIN_LLVM_MAJOR", "find_libllvm", "problem"]

#: Oldest LLVM major version Dr.Jit's CPU backend works with (LLVM 15 crashes).
MIN_LLVM_MAJOR = 19
#: What to do, in one line.
INSTALL_HINT = ('pip install "twin3d[rt]"; apt-get install libllvm19 and, if it is not found, '
                "set DRJIT_LIBLLVM_PATH to its libLLVM.so.19.1")
# Where distributions put libLLVM (Debian/Ubuntu multiarch, Fedora, Homebrew).
_LLVM_GLOBS = ("/usr/lib/x86_64-linux-gnu/libLLVM*.so*", "/usr/lib/aarch64-linux-gnu/libLLVM*.so*",
               "/usr/lib/llvm-*/lib/libLLVM*.so*", "/usr/lib64/libLLVM*.so*",
               "/usr/lib/libLLVM*.so*", "/opt/homebrew/opt/llvm/lib/libLLVM*.dylib",
               "/usr/local/opt/llvm/lib/libLLVM*.dylib")


def _llvm_major(path: str) -> int | None:
    """Major version in a libLLVM file name (libLLVM.so.19.1, libLLVM-19.so), or None."""
    m = re.search(r"libLLVM[-.]?(?:so\.)?(\d+)", os.path.basename(path))
    return int(m.group(1)) if m else None


def find_libllvm() -> str | None:
    """Path of an LLVM >= 19 shared library for Dr.Jit, or None.

    ``DRJIT_LIBLLVM_PATH`` wins when set (it must name an existing file);
    otherwise the newest libLLVM of version 19 or later in the usual
    system directories.

    Examples
    --------
    >>> p = find_libllvm(); p is None or "LLVM" in p
    True
    """
    env = os.environ.get("DRJIT_LIBLLVM_PATH")
    if env:
        return env if os.path.isfile(env) else None
    found = []
    for pattern in _LLVM_GLOBS:
        for path in glob.glob(pattern):
            major = _llvm_major(path)
            if major is not None and major >= MIN_LLVM_MAJOR and os.path.isfile(path):
                found.append((major, path))
    return max(found)[1] if found else None


def problem() -> str | None:
    """Why the Sionna RT backend cannot run here (one sentence), or None if it can.

    Looks for the ``sionna`` (with ``sionna.rt``), ``mitsuba`` and
    ``drjit`` packages and for LLVM >= 19, importing none of them.

    Examples
    --------
    >>> why = problem(); why is None or 'pip install "twin3d[rt]"' in why
    True
    """
    missing = [name for name in ("sionna", "mitsuba", "drjit") if _spec(name) is None]
    if not missing:
        spec = _spec("sionna")
        locs = list(spec.submodule_search_locations or ())
        if not any(os.path.isdir(os.path.join(d, "rt")) for d in locs):
            missing = ["sionna.rt"]
    if missing:
        return (f"the Sionna RT backend needs the package(s) {', '.join(missing)}, "
                f"not installed: {INSTALL_HINT}")
    env = os.environ.get("DRJIT_LIBLLVM_PATH")
    if env and not os.path.isfile(env):
        return (f"the Sionna RT backend: DRJIT_LIBLLVM_PATH names {env}, which does not exist: "
                f"{INSTALL_HINT}")
    if find_libllvm() is None:
        return (f"the Sionna RT backend needs LLVM >= {MIN_LLVM_MAJOR} for Dr.Jit on the CPU "
                f"and none was found: {INSTALL_HINT}")
    return None


def _spec(name: str):
    # a module set to None in sys.modules (tests simulating a missing extra) counts as absent
    try:
        return importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return None
