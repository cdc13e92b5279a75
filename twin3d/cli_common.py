"""What every ``twin3d`` command shares: the consoles, a spinner, loading a scene.

Command modules (:mod:`twin3d.cli`, :mod:`twin3d.cli_view`,
:mod:`twin3d.cli_export`) import from here, never from each other.
"""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Optional

from rich.console import Console

__all__ = ["out", "err", "status", "load_with_status"]

#: Standard output and standard error consoles of the command.
out = Console()
err = Console(stderr=True)


@contextmanager
def status(text: str) -> Iterator:
    """A rich spinner on stderr while a long step runs; yields ``update(msg)``."""
    with err.status(text) as spinner:
        yield lambda msg: spinner.update(msg)


def load_with_status(scene: Optional[Path]):
    """Load ``scene`` (default: the bundled Helsinki scene) under a spinner."""
    from .loader import default_scene_path, load_scene
    path = scene or default_scene_path()
    with status(f"loading {path.name}") as update:
        return load_scene(path, progress=update)
