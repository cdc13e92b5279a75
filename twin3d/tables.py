"""Typed access to one TOML table, with errors that name the file, the table and the key.

The one reader of scene files, change files, candidate files and
calibration files: every user mistake in them becomes one
:class:`twin3d.errors.InputError` line.

Examples
--------
>>> from pathlib import Path
>>> t = Table(Path("scene.toml"), "[radio]", {"grid_m": 5}, ("grid_m", "model"))
>>> t.num("grid_m", 10.0, 0.5), t.choice("model", ("UMa", "geometric"), "geometric")
(5.0, 'geometric')
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from .errors import InputError

__all__ = ["Table"]


class Table:
    """Typed access to one TOML table, with errors that name file and table."""

    def __init__(self, file: Path, where: str, data: Any, allowed: tuple[str, ...]):
        if not isinstance(data, dict):
            raise InputError(file, f"must be a table, got {type(data).__name__}", where)
        unknown = sorted(set(data) - set(allowed))
        if unknown:
            raise InputError(file, f"unknown key (allowed: {', '.join(allowed)})", where, unknown[0])
        self.file, self.where, self.data = file, where, data

    def err(self, key: str, problem: str) -> InputError:
        return InputError(self.file, problem, self.where, key)

    def get(self, key: str, kind: type | tuple[type, ...], default: Any = None,
            required: bool = False) -> Any:
        if key not in self.data:
            if required:
                raise self.err(key, "is missing")
            return default
        v = self.data[key]
        kinds = kind if isinstance(kind, tuple) else (kind,)
        if float in kinds and isinstance(v, int) and not isinstance(v, bool):
            v = float(v)
        if isinstance(v, bool) and bool not in kinds or not isinstance(v, kinds):
            names = " or ".join(k.__name__ for k in kinds)
            raise self.err(key, f"must be {names}, got {type(v).__name__} {v!r}")
        return v

    def num(self, key: str, default: float | None, lo: float | None = None,
            hi: float | None = None, strict: bool = False, required: bool = False) -> float | None:
        v = self.get(key, float, default, required)
        if v is None:
            return None
        if not math.isfinite(v):
            raise self.err(key, f"must be finite, got {v}")
        if lo is not None and (v < lo or (strict and v == lo)):
            raise self.err(key, f"must be {'>' if strict else '>='} {lo:g}, got {v:g}")
        if hi is not None and v > hi:
            raise self.err(key, f"must be <= {hi:g}, got {v:g}")
        return v

    def choice(self, key: str, choices: tuple[str, ...], default: str | None) -> str | None:
        v = self.get(key, str, default)
        if v is not None and v not in choices:
            raise self.err(key, f"must be one of {', '.join(choices)}, got {v!r}")
        return v
