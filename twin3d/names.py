"""File names made of scenario names, and the check that they never collide.

A scenario's name becomes a file stem (``scenarios/<stem>.usda``,
``layers/scenarios/<stem>.usdc``) and the variant name on the combined
stage, so two names with the same stem would overwrite each other's files.
:func:`check_scenario_names` refuses them when the scene file is parsed.
"""

from __future__ import annotations

import re
from pathlib import Path

from .errors import InputError

__all__ = ["scenario_stem", "check_scenario_names"]


def scenario_stem(name: str) -> str:
    """A file name stem for a scenario: letters, digits, ``_ . -``; others ``_``.

    The stem names the scenario's files (``scenarios/<stem>.usda``) and its
    variant on the combined stage.

    Examples
    --------
    >>> scenario_stem("fiber_cut_evening_peak"), scenario_stem("cut F-07 / night")
    ('fiber_cut_evening_peak', 'cut_F-07___night')
    """
    stem = re.sub(r"[^A-Za-z0-9_.-]", "_", str(name)).lstrip(".")
    return stem or "_"


def check_scenario_names(file: Path, names: list[str]) -> None:
    """Raise when two scenario names are equal or give the same file name.

    Parameters
    ----------
    file : Path
        The scene file (named in the error).
    names : list of str
        The ``[[scenario]]`` names, in file order.

    Raises
    ------
    InputError
        Naming both scenarios (and their positions) and the shared file name.

    Notes
    -----
    Stems are compared ignoring case: a build copied to macOS or Windows
    must not lose a scenario's file to another's.
    """
    seen: dict[str, tuple[int, str]] = {}
    for i, name in enumerate(names):
        key = scenario_stem(name).casefold()
        if key in seen:
            j, first = seen[key]
            if first == name:
                raise InputError(file, f"duplicate scenario name '{name}' ([[scenario]] {j + 1} "
                                 f"and {i + 1})", "[[scenario]]", "name")
            raise InputError(file, f"scenario names '{first}' ([[scenario]] {j + 1}) and '{name}' "
                             f"([[scenario]] {i + 1}) both become the file name "
                             f"'{scenario_stem(name)}.usda' (characters other than letters, "
                             "digits, _ . - become _; case is ignored); rename one",
                             "[[scenario]]", "name")
        seen[key] = (i, name)
