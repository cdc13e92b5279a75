"""Field checks shared by the readers: one clear InputError per bad value."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from ..errors import InputError

__all__ = ["feature_label", "number", "text", "check_lonlat", "read_text_file"]


def feature_label(index: int, fid: Any = None, noun: str = "feature") -> str:
    """``"feature 3 (id 'S3')"``: how messages name a feature (1-based)."""
    return f"{noun} {index + 1}" + (f" (id '{fid}')" if fid not in (None, "") else "")


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or value == ""


def number(value: Any, file: str, feature: str, field: str, *, default: float | None = None,
           min_value: float | None = None, max_value: float | None = None,
           required: bool = False, strict_min: bool = False) -> float | None:
    """A finite float within bounds, or ``default`` when absent.

    Raises
    ------
    InputError
        The value is not a number, not finite, out of range, or absent
        while required.

    Examples
    --------
    >>> number("12.5", "s.csv", "row 2", "height_m", min_value=0)
    12.5
    """
    if _missing(value):
        if required:
            raise InputError(file, "is missing", feature, field)
        return default
    if isinstance(value, bool):
        raise InputError(file, f"must be a number, got {value!r}", feature, field)
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise InputError(file, f"must be a number, got {value!r}", feature, field) from None
    if not math.isfinite(v):
        raise InputError(file, f"must be finite, got {value!r}", feature, field)
    if min_value is not None and (v < min_value or (strict_min and v == min_value)):
        op = ">" if strict_min else ">="
        raise InputError(file, f"must be {op} {min_value:g}, got {v:g}", feature, field)
    if max_value is not None and v > max_value:
        raise InputError(file, f"must be <= {max_value:g}, got {v:g}", feature, field)
    return v


def text(value: Any, file: str, feature: str, field: str, *, default: str | None = None,
         required: bool = False, choices: tuple[str, ...] | None = None) -> str | None:
    """A non-empty string (numbers are turned into text), or ``default``."""
    if _missing(value):
        if required:
            raise InputError(file, "is missing", feature, field)
        return default
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, (str, int)) or isinstance(value, bool):
        raise InputError(file, f"must be text, got {value!r}", feature, field)
    s = str(value).strip()
    if choices is not None and s not in choices:
        raise InputError(file, f"must be one of {', '.join(choices)}, got {s!r}", feature, field)
    return s


def check_lonlat(lon: float, lat: float, file: str, feature: str) -> None:
    """Reject NaN or out-of-range WGS84 coordinates."""
    if not (math.isfinite(lon) and math.isfinite(lat)):
        raise InputError(file, f"coordinates must be finite, got ({lon}, {lat})", feature, "geometry")
    if not -180.0 <= lon <= 180.0:
        raise InputError(file, f"longitude must be in [-180, 180], got {lon:g}", feature, "geometry")
    if not -90.0 <= lat <= 90.0:
        raise InputError(file, f"latitude must be in [-90, 90], got {lat:g}", feature, "geometry")


def read_text_file(path: str | Path, encoding: str = "utf-8") -> str:
    """The text of a user's file, or an InputError saying why it cannot be read.

    ``encoding="utf-8-sig"`` also accepts a byte-order mark.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "file not found" if not path.exists() else "is not a file")
    try:
        return path.read_text(encoding=encoding)
    except UnicodeDecodeError as exc:
        raise InputError(path, f"is not UTF-8 text (byte {exc.start}: {exc.reason})") from None
    except OSError as exc:
        raise InputError(path, f"cannot be read: {exc.strerror or exc}") from None
