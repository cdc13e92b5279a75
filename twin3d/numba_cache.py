"""Where numba keeps twin3d's compiled kernels: one folder per version of the sources.

numba's file cache checks a cached kernel against its own source file only.
A kernel that calls a kernel of another file has that callee's machine code
inside its own; after the other file changes (an update, a ``git pull``),
the cached caller still runs the old callee: wrong numbers at best, a
segmentation fault at worst (measured here: exit status 139 after a merge
changed a callee's arguments). So :func:`configure`, run by ``import
twin3d``, points numba at a folder named by a digest of every twin3d
source file: new sources, a new folder, every kernel compiled afresh once.
An explicit ``NUMBA_CACHE_DIR`` is left alone. Folders of other versions
unused for :data:`KEEP_DAYS` days are removed.

Processes that compile at once (pytest's workers, a Dask cluster, a CLI run
by a test) share the folder, and numba's own save is not safe for that: it
numbers a function's data files 1, 2, ... from the index it read, so two
processes compiling two signatures both write ``.1.nbc``, and the index of
one can end up naming the code of the other (measured here: a segmentation
fault in every later run of ``twin3d simulate``, until the folder was
cleared). :func:`harden_numba_cache` makes each signature's data file its
own (named by a digest of its key) and writes it before the index names it:
a lost race then costs a compilation, never wrong code.

Examples
--------
>>> from pathlib import Path
>>> root = Path(__file__).parent
>>> len(source_digest(root)) == 16 and source_digest(root) == source_digest(root)
True
"""

from __future__ import annotations

import hashlib
import os
import pickle
import shutil
import sys
import time
from pathlib import Path

__all__ = ["KEEP_DAYS", "cache_base", "configure", "harden_numba_cache", "source_digest"]

#: Days after which another version's folder is removed (no process of it is running then).
KEEP_DAYS = 14
#: The package's own folder.
PACKAGE_ROOT = Path(__file__).resolve().parent


def source_digest(root: Path = PACKAGE_ROOT) -> str:
    """A 16-hex-digit digest of every ``*.py`` under ``root``: their paths and bytes."""
    h = hashlib.blake2b(digest_size=8)
    for path in sorted(root.rglob("*.py")):
        h.update(str(path.relative_to(root)).encode() + b"\0")
        h.update(path.read_bytes())
        h.update(b"\0")
    return h.hexdigest()


def cache_base() -> Path:
    """``$XDG_CACHE_HOME/twin3d/numba``, else ``~/.cache/twin3d/numba``."""
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg) if xdg else Path.home() / ".cache"
    return base / "twin3d" / "numba"


def configure(root: Path = PACKAGE_ROOT, base: Path | None = None) -> str | None:
    """Set ``NUMBA_CACHE_DIR`` (and numba's setting, if numba is loaded) to
    ``base / source_digest(root)``, unless it is set already; returns the
    folder in use (None: numba's default, when no folder can be made).

    numba falls back to its own places (``__pycache__`` beside the sources)
    if the folder turns out unwritable.
    """
    harden_numba_cache()
    given = os.environ.get("NUMBA_CACHE_DIR")
    if given:
        return given
    try:
        folder = (base or cache_base()) / source_digest(root)
        folder.mkdir(parents=True, exist_ok=True)
        os.utime(folder)                    # in use: kept by the clean-up below
    except (OSError, RuntimeError):         # no home, a read-only disk: numba's default
        return None
    _remove_stale(folder)
    os.environ["NUMBA_CACHE_DIR"] = str(folder)       # also for the processes it starts
    numba = sys.modules.get("numba")
    if numba is not None:                   # loaded before twin3d: its setting is read already
        numba.config.CACHE_DIR = str(folder)
    return str(folder)


def _remove_stale(current: Path) -> None:
    """Remove the sibling folders unused for :data:`KEEP_DAYS` days."""
    cutoff = time.time() - KEEP_DAYS * 86400
    try:
        siblings = list(current.parent.iterdir())
    except OSError:
        return
    for other in siblings:
        try:
            if other != current and other.is_dir() and other.stat().st_mtime < cutoff:
                shutil.rmtree(other, ignore_errors=True)
        except OSError:
            continue


def _keyed_save(self, key, data) -> None:
    """``IndexDataCacheFile.save``: the data file named by a digest of ``key``, written
    (atomically, by numba's own writer) before the index names it."""
    digest = hashlib.sha1(pickle.dumps(key, protocol=4)).hexdigest()[:20]
    name = f"{self._index_name[:-len('.nbi')]}.{digest}.nbc"
    self._save_data(name, data)
    overloads = self._load_index()
    if overloads.get(key) != name:
        overloads[key] = name
        self._save_index(overloads)


_keyed_save.twin3d = True


def harden_numba_cache() -> bool:
    """Make numba's file cache safe for processes that compile at once (see the module
    docstring); True when numba's cache is the one this was written for (numba 0.60+)."""
    try:
        from numba.core import caching
    except ImportError:                     # pragma: no cover - numba is a dependency
        return False
    cls = getattr(caching, "IndexDataCacheFile", None)
    if cls is None or not all(hasattr(cls, m) for m in ("save", "_load_index", "_save_index",
                                                         "_save_data")):
        return False                        # pragma: no cover - another numba
    if not getattr(cls.save, "twin3d", False):
        global numba_save
        numba_save = cls.save
        cls.save = _keyed_save
    return True


#: numba's own ``IndexDataCacheFile.save``, once :func:`harden_numba_cache` has replaced it.
numba_save = None
