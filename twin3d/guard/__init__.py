"""The change guard: check a proposed change in the twin before it ships (issue 11).

``twin3d.guard.check(scene, changes)`` returns the verdict report of
:mod:`twin3d.guard.check`; :func:`parse_changes` reads a change file
(:mod:`twin3d.guard.changes`). The command is ``twin3d check``.
:func:`action_mask` is the fast forwarding-only verdict for RL safety layers.
:func:`redteam` searches the failure sets of up to K elements that do the
most damage, with and without a change (``twin3d redteam``).

Examples
--------
>>> from twin3d.guard import check, parse_changes
>>> report = check(scene, parse_changes("change.toml", scene))   # doctest: +SKIP
>>> report["verdict"]                                           # doctest: +SKIP
'pass'
"""

from __future__ import annotations

from .changes import CHANGE_KINDS, Change, changes_from_text, parse_changes
from .check import CHECKS, check
from .redteam import OBJECTIVES, redteam
from .safety import action_mask, forwarding_safe

__all__ = ["check", "CHECKS", "Change", "CHANGE_KINDS", "parse_changes", "changes_from_text",
           "forwarding_safe", "action_mask", "redteam", "OBJECTIVES"]
