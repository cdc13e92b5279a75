"""Write a file so that a reader never sees half of it: a temporary file, then ``os.replace``.

Examples
--------
>>> import tempfile
>>> p = Path(tempfile.mkdtemp()) / "r.txt"
>>> with atomic_path(p) as tmp:
...     _ = tmp.write_text("done")
>>> p.read_text()
'done'
"""

from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

__all__ = ["atomic_path"]


@contextmanager
def atomic_path(path: str | Path, suffix: str = ".tmp") -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it replaces ``path``.

    The temporary file gets the permissions of a plain ``open`` under the
    process's umask (``mkstemp`` makes it private). On any error it is
    removed and ``path`` is left as it was.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix, dir=path.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
