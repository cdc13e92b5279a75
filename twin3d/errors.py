"""Errors raised for a user's bad input.

Every reader and validator raises :class:`InputError` for a problem in the
user's data. The command line turns it into one line on stderr and exit
status 2; nothing else in twin3d prints tracebacks for a user's mistake.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["InputError", "read_user_text"]


class InputError(ValueError):
    """A problem in a user's input, located by file, feature and field.

    Parameters
    ----------
    file : str or Path
        The file that holds the problem.
    problem : str
        What is wrong, in plain words.
    feature : str, optional
        The feature, record or table that holds it (``"feature 3 (id 'S1')"``,
        ``"[[source]] 2"``).
    field : str, optional
        The key, property or column (``"capacity_bps"``).

    Examples
    --------
    >>> str(InputError("sites.geojson", "must be >= 0", "feature 2 (id 'S2')", "height_m"))
    "sites.geojson: feature 2 (id 'S2'): field 'height_m': must be >= 0"
    """

    def __init__(self, file: str | Path, problem: str, feature: str | None = None,
                 field: str | None = None) -> None:
        self.file = str(file)
        self.problem = problem
        self.feature = feature
        self.field = field
        super().__init__(self.message)

    @property
    def message(self) -> str:
        parts = [self.file]
        if self.feature:
            parts.append(self.feature)
        if self.field:
            parts.append(f"field '{self.field}'")
        parts.append(self.problem)
        return ": ".join(parts)

    def __str__(self) -> str:
        return self.message


def read_user_text(path: str | Path, what: str) -> tuple[Path, str]:
    """(path, text) of a user's UTF-8 data file; InputError when missing or not UTF-8.

    ``what`` names the file in the message ("change file", "candidates file").

    Examples
    --------
    >>> read_user_text("no/such.toml", "change file")
    Traceback (most recent call last):
    ...
    twin3d.errors.InputError: no/such.toml: change file not found
    """
    file = Path(path)
    if not file.is_file():
        raise InputError(file, f"{what} not found")
    try:
        return file, file.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(file, f"not UTF-8 text: {exc}") from None
