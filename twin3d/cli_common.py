"""What every ``twin3d`` command shares: the consoles, a spinner, loading a scene.

Command modules (:mod:`twin3d.cli`, :mod:`twin3d.cli_view`,
:mod:`twin3d.cli_export`) import from here, never from each other.
"""

from __future__ import annotations

import json
import math
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Optional

from rich.console import Console

from .atomic import atomic_path

__all__ = ["out", "err", "status", "load_with_status", "validate_written", "write_json_atomic",
           "write_text_atomic"]

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


def validate_written(path: Path) -> bool:
    """Run both validator suites on a file twin3d just wrote; True when it passed.

    Prints one summary line; on errors, each failing rule and one
    ``error:`` line on stderr saying the file failed (the file is kept).
    """
    from .usd.validate import validate_stage
    with status(f"validating {path.name}"):
        report = validate_stage(path)
    n_err = len(report.errors)
    out.print(f"validated {path}: {len(report.rules)} rules, {n_err} errors, "
              f"{len(report.warnings)} warnings", markup=False, highlight=False, soft_wrap=True)
    for issue in report.errors:
        out.print(f"  {issue}", markup=False, highlight=False, soft_wrap=True)
    if n_err:
        rules = sorted({f"{i.source}:{i.rule}" for i in report.errors})
        err.print(f"error: {path}: failed validation ({n_err} errors: {', '.join(rules)}); "
                  "the file is kept for inspection", markup=False, highlight=False, soft_wrap=True)
    return n_err == 0


def write_json_atomic(path: Path, data: dict) -> None:
    """Write ``data`` as JSON to ``path`` through a temporary file in the same folder.

    Examples
    --------
    >>> import tempfile, json
    >>> p = Path(tempfile.mkdtemp()) / "r.json"
    >>> write_json_atomic(p, {"verdict": "pass", "loss": float("nan")})
    >>> json.loads(p.read_text())
    {'verdict': 'pass', 'loss': None}
    """
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8") as f:
        json.dump(_finite(data), f, indent=1, allow_nan=False, default=_jsonable)
        f.write("\n")


def write_text_atomic(path: Path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` through a temporary file in the same folder.

    Examples
    --------
    >>> import tempfile
    >>> p = Path(tempfile.mkdtemp()) / "s.toml"
    >>> write_text_atomic(p, "[scene]\\n")
    >>> p.read_text()
    '[scene]\\n'
    """
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8", newline="") as f:
        f.write(text)


def _finite(x):
    """``x`` with NaN and infinities as None (null): strict JSON, as kpis.json writes them."""
    if isinstance(x, dict):
        return {k: _finite(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_finite(v) for v in x]
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x


def _jsonable(x):
    """numpy scalars as Python numbers."""
    if hasattr(x, "item"):
        return x.item()
    raise TypeError(f"not JSON serializable: {type(x).__name__}")
