"""Where an output came from: twin3d version, scene file hash, seed, command line.

Every output twin3d writes records :func:`provenance` (SANDBOX.md section
4): ``kpis.json`` and ``summary.json`` under ``"provenance"``, every stage
layer in ``customLayerData["twin3d"]["provenance"]``, and exported files
(which add ``export_command``, the command that exported them).

Examples
--------
>>> import tempfile, hashlib
>>> from pathlib import Path
>>> scene = Path(tempfile.mkdtemp()) / "s.toml"
>>> _ = scene.write_text('[scene]\\nname = "s"\\n')
>>> p = provenance(scene, 7, argv=["twin3d", "build", "my scene.toml"])
>>> p["scene_sha256"] == hashlib.sha256(scene.read_bytes()).hexdigest(), p["seed"]
(True, 7)
>>> p["command"]
"twin3d build 'my scene.toml'"
"""

from __future__ import annotations

import hashlib
import shlex
import sys
from pathlib import Path
from typing import Sequence

__all__ = ["provenance", "twin3d_version", "command_line", "file_sha256"]


def twin3d_version() -> str:
    """The installed distribution's version, else ``twin3d.__version__``."""
    try:
        from importlib.metadata import PackageNotFoundError, version
        return version("twin3d")
    except (ImportError, PackageNotFoundError):
        from . import __version__
        return __version__


def command_line(argv: Sequence[str] | None = None) -> str:
    """``argv`` (default :data:`sys.argv`) joined as a shell would quote it."""
    return shlex.join(str(a) for a in (sys.argv if argv is None else argv))


def file_sha256(path: str | Path) -> str:
    """Hex sha256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def provenance(scene_path: str | Path | None, seed: int,
               argv: Sequence[str] | None = None) -> dict[str, str | int]:
    """The provenance record of an output.

    Parameters
    ----------
    scene_path : str or Path, optional
        The scene file; None when the twin was not built from one (its
        hash is then the empty string).
    seed : int
        The seed of everything random (``[scene] seed``).
    argv : sequence of str, optional
        The command line; default :data:`sys.argv`.

    Returns
    -------
    dict
        ``twin3d_version``, ``scene_file`` (the file name), ``scene_sha256``,
        ``seed`` and ``command``; JSON- and USD-dictionary-ready.
    """
    return {
        "twin3d_version": twin3d_version(),
        "scene_file": "" if scene_path is None else Path(scene_path).name,
        "scene_sha256": "" if scene_path is None else file_sha256(scene_path),
        "seed": int(seed),
        "command": command_line(argv),
    }
