"""Source fixes: the finding's fix as an edit of the user's own file, proven by re-running it.

For each residual finding, candidate edits are derived from where its block came from
(`load.provenance`): a flag of a call that built it, or the block's projection rule. Each
is applied to the file in memory, the model rebuilt and checked; an edit is kept only when
its finding is gone and no new finding appears. Kept edits are ranked like ruff's fixes:
`safe` (verified and every parameter keeps its shape, so pretrained weights still load)
before `unsafe` (verified but parameters change), smaller diffs first.
"""

from __future__ import annotations

import difflib
import os
from dataclasses import dataclass
from typing import Optional

from shapecheck.load.frames import display_path
from shapecheck.load.provenance import Origin
from shapecheck.repair.candidates import Candidate, candidates_for
from shapecheck.repair.class_body import class_body_candidates
from shapecheck.repair.pooling import ceil_mode_candidates
from shapecheck.repair.verify import Target, check_patched, parameter_shapes
from shapecheck.report import Finding, Report


@dataclass(frozen=True)
class SourceFix:
    """A verified edit for one finding: the file, the unified diff, and how safe it is."""

    finding: Finding
    path: str
    description: str
    kind: str
    applicability: str  # "safe" or "unsafe"
    diff: str
    new_source: str
    alternatives: int = 0  # other verified candidates not chosen
    apply: object = None  # the candidate's edit, to combine several edits of one file


def source_fixes(report: Report, target: Target, origins: dict[str, Origin],
                 limit: int = 12) -> list[SourceFix]:
    """The best verified source edit for each residual error of `report`.

    Args:
        report: the original model's Report (its model is used for parameter shapes).
        target: the file and factory that built it, and the example inputs.
        origins: module path -> Origin, recorded while the model was built.
        limit: candidates tried per finding at most (each costs a build and a check).

    Example: see tests/test_repair.py (it needs a model file on disk).
    """
    before = {(f.code, f.module) for f in report.findings}
    shapes = parameter_shapes(report.model) if report.model is not None else {}
    fixes = []
    for finding in fixable(report):
        origin = origins.get(finding.module)
        if origin is None:
            continue
        verified = []
        tried = (ceil_mode_candidates(finding, report, origins) + candidates_for(origin)
                 + class_body_candidates(finding, report.model, origins))
        for candidate in tried[:limit]:
            result = _try(candidate, finding, target, before, shapes)
            if result is not None:
                verified.append(result)
        if verified:
            verified.sort(key=lambda f: (f.applicability != "safe", f.diff.count("\n")))
            best = verified[0]
            fixes.append(SourceFix(**{**best.__dict__, "alternatives": len(verified) - 1}))
    return fixes


def fixable(report: Report) -> list[Finding]:
    """The findings a source edit may fix: residual-add errors, and adds that fail at
    other input sizes (a warning at the example size).

    >>> fixable(Report("empty"))
    []
    """
    return [f for f in report.findings if f.code.startswith("SC1")
            and (f.is_error or f.kind == "resolution_dependent")]


def _try(candidate: Candidate, finding: Finding, target: Target, before: set,
         shapes: dict) -> Optional[SourceFix]:
    try:
        with open(candidate.path, encoding="utf-8") as handle:
            original = handle.read()
        patched = candidate.apply(original)
    except Exception:  # the recorded position no longer matches the file: not a fix
        return None
    if patched == original:
        return None
    outcome = check_patched(target, {candidate.path: patched})
    report = outcome.report
    if report is None or report.error is not None:
        return None
    after = {(f.code, f.module) for f in report.findings}
    if (finding.code, finding.module) in after or after - before:
        return None
    safe = report.model is not None and parameter_shapes(report.model) == shapes
    return SourceFix(finding, candidate.path, candidate.description, candidate.kind,
                     "safe" if safe else "unsafe", unified_diff(candidate.path, original,
                                                                patched), patched,
                     apply=candidate.apply)


def unified_diff(path: str, old: str, new: str) -> str:
    """A `git apply`-able diff of one file, paths relative to the working directory.

    >>> print(unified_diff("m.py", "a = 1\\n", "a = 2\\n"), end="")
    --- a/m.py
    +++ b/m.py
    @@ -1 +1 @@
    -a = 1
    +a = 2
    """
    shown = (display_path(path) if os.path.isabs(path) else path).lstrip("/")
    return "".join(difflib.unified_diff(old.splitlines(keepends=True),
                                        new.splitlines(keepends=True),
                                        fromfile=f"a/{shown}", tofile=f"b/{shown}"))


__all__ = ["SourceFix", "source_fixes", "fixable", "unified_diff", "Target"]
