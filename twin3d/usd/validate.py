"""Validate a stage with OpenUSD's and NVIDIA's validators.

:func:`validate_stage` runs

1. every validator that ``pxr.UsdValidation`` registers (usd-core's own:
   stage metadata, composition, shading, geometry subsets, physics,
   skeleton, packaging), in one ``UsdValidation.ValidationContext`` over the
   opened stage; and
2. every rule that ``usd-validation-nvidia`` (``omni.asset_validator``)
   enables by default, through its ``ValidationEngine`` on the root layer
   file, as ``omni_asset_validate`` does (extents, subdivision scheme,
   normals, topology, kinds, materials, layer format, units).

No rule is disabled: each one applies to the stages twin3d writes. The
writer is fixed when a rule fails, not the rule.

Both report into one :class:`ValidationReport`. NVIDIA's FAILURE and ERROR
severities (a rule's verdict, or a rule that crashed) both count as errors.

Examples
--------
>>> import tempfile
>>> from twin3d.geo.frame import LocalFrame
>>> from twin3d.geo.records import SourceData, SiteRecord
>>> from twin3d.model import build_twin
>>> from twin3d.usd.stage import write_stage
>>> twin = build_twin(SourceData(sites=[SiteRecord("S1", 24.94, 60.17)]), LocalFrame(24.94, 60.17))
>>> report = validate_stage(write_stage(twin, Path(tempfile.mkdtemp())))
>>> report.errors
[]
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pxr import Tf, Usd, UsdValidation

from ..errors import InputError

__all__ = ["StageIssue", "ValidationReport", "validate_stage", "run_usd_validation",
           "run_nvidia_validation"]

_USD_SEVERITY = {
    UsdValidation.ValidationErrorType.Error: "error",
    UsdValidation.ValidationErrorType.Warn: "warning",
    UsdValidation.ValidationErrorType.Info: "info",
}


@dataclass(frozen=True)
class StageIssue:
    """One finding: ``severity`` is "error", "warning" or "info"; ``source``
    the validator suite ("usd" or "nvidia")."""

    severity: str
    rule: str
    path: str
    message: str
    source: str

    def __str__(self) -> str:
        where = f" {self.path}" if self.path else ""
        return f"{self.severity}: [{self.source}:{self.rule}]{where}: {self.message}"


@dataclass
class ValidationReport:
    """Every issue found and every rule run, for one stage."""

    stage: str
    issues: list[StageIssue] = field(default_factory=list)
    rules: list[str] = field(default_factory=list)

    @property
    def errors(self) -> list[StageIssue]:
        """Issues of severity error."""
        return [i for i in self.issues if i.severity == "error"]

    @property
    def warnings(self) -> list[StageIssue]:
        """Issues of severity warning."""
        return [i for i in self.issues if i.severity == "warning"]

    @property
    def ok(self) -> bool:
        """True when no validator reported an error."""
        return not self.errors

    def __str__(self) -> str:
        head = (f"{self.stage}: {len(self.rules)} rules, {len(self.errors)} errors, "
                f"{len(self.warnings)} warnings")
        return "\n".join([head, *map(str, self.issues)])


def _usd_site_path(error: Any) -> str:
    for site in error.GetSites():
        if site.IsPrim() or site.IsProperty():
            prop = site.GetProperty() if site.IsProperty() else None
            return str(prop.GetPath() if prop else site.GetPrim().GetPath())
        if site.GetLayer():
            return site.GetLayer().identifier
    return ""


def run_usd_validation(stage: Usd.Stage) -> tuple[list[StageIssue], list[str]]:
    """Run every registered ``pxr.UsdValidation`` validator over ``stage``.

    Returns
    -------
    (issues, rules)
        The findings and the names of the validators run.
    """
    validators = UsdValidation.ValidationRegistry().GetOrLoadAllValidators()
    context = UsdValidation.ValidationContext(validators)
    issues = [StageIssue(_USD_SEVERITY.get(e.GetType(), "info"),
                         e.GetValidator().GetMetadata().name if e.GetValidator() else e.GetName(),
                         _usd_site_path(e), e.GetMessage(), "usd")
              for e in context.Validate(stage) if not e.HasNoError()]
    return issues, sorted(v.GetMetadata().name for v in validators)


def _nvidia_path(at: Any) -> str:
    """Prim or property path of an asset-validator location, else its text."""
    if at is None:
        return ""
    if isinstance(at, (list, tuple)):
        return ", ".join(_nvidia_path(a) for a in at)
    path = getattr(at, "path", None)
    if path is None and hasattr(at, "prim_id"):
        path = getattr(at.prim_id, "path", None)
    if path is not None:
        name = getattr(at, "name", None)
        path = str(path)
        # a property location's path may already end in its name
        if isinstance(name, str) and name and not path.endswith(f".{name}"):
            return f"{path}.{name}"
        return path
    as_str = getattr(at, "as_str", None)
    return as_str() if callable(as_str) else str(at)


def run_nvidia_validation(root: Path) -> tuple[list[StageIssue], list[str]]:
    """Run usd-validation-nvidia's default rules on the root layer file.

    Returns
    -------
    (issues, rules)
        The findings and the names of the rules run.
    """
    import omni.asset_validator as av   # heavy import: only when asked

    severity = {av.IssueSeverity.ERROR: "error", av.IssueSeverity.FAILURE: "error",
                av.IssueSeverity.WARNING: "warning", av.IssueSeverity.INFO: "info"}
    engine = av.ValidationEngine()
    rules = sorted(r.__name__ for r in engine.rules)
    # The engine logs each issue as it finds it; the report carries them.
    logger = logging.getLogger("usd_validation_nvidia")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        results = engine.validate(str(root))
    finally:
        logger.setLevel(level)
    issues = []
    for issue in results.issues():
        sev = severity.get(issue.severity)
        if sev is None:
            continue
        rule = issue.rule.__name__ if issue.rule is not None else "engine"
        issues.append(StageIssue(sev, rule, _nvidia_path(issue.at), str(issue.message), "nvidia"))
    return issues, rules


def _open(path: Path) -> Usd.Stage:
    try:
        stage = Usd.Stage.Open(str(path))
    except Tf.ErrorException as exc:
        # Each Tf error reads "Error in '<function>' at line N in file F : '<what>'".
        what = [m.group(1).strip() for a in exc.args
                if (m := re.search(r" : '(.*)'\s*$", str(a), re.S))]
        raise InputError(path, "USD cannot open it as a stage: "
                         + ("; ".join(what) or "unknown error")) from None
    if stage is None:   # pragma: no cover - Usd raises first in practice
        raise InputError(path, "USD cannot open it as a stage")
    return stage


def validate_stage(path: str | Path, *, usd: bool = True, nvidia: bool = True) -> ValidationReport:
    """Validate the stage rooted at ``path`` with both validator suites.

    Parameters
    ----------
    path : str or Path
        The root layer (``twin.usda``).
    usd, nvidia : bool
        Which suites to run (both by default).

    Returns
    -------
    ValidationReport
        ``report.errors`` is empty for a clean stage; ``report.rules`` lists
        the rules run, prefixed by suite.

    Raises
    ------
    InputError
        ``path`` is not a file, or USD cannot open it as a stage.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "no such USD file")
    report = ValidationReport(str(path))
    stage = _open(path)
    if usd:
        issues, rules = run_usd_validation(stage)
        report.issues += issues
        report.rules += [f"usd:{r}" for r in rules]
    if nvidia:
        issues, rules = run_nvidia_validation(path)
        report.issues += issues
        report.rules += [f"nvidia:{r}" for r in rules]
    return report
