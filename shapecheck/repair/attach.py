"""Verified source fixes into the Reports, so that JSON (`fix.edits`) and SARIF
(`result.fixes`) carry the same edit that `--diff` prints."""

from __future__ import annotations

import dataclasses
import difflib
from typing import Optional, Sequence

from shapecheck.load.frames import display_path
from shapecheck.report import Finding, Fix, Report, SourceEdit


def line_edits(path: str, old: str, new: str, applicability: str,
               description: str = "") -> tuple[SourceEdit, ...]:
    """The changed line ranges between two texts of one file, as SourceEdits.

    Example:
        >>> [(e.start_line, e.end_line, e.replacement) for e in
        ...  line_edits("m.py", "a = 1\\nb = 2\\n", "a = 1\\nb = 3\\n", "safe")]
        [(2, 2, 'b = 3\\n')]
    """
    before, after = old.splitlines(keepends=True), new.splitlines(keepends=True)
    matcher = difflib.SequenceMatcher(a=before, b=after, autojunk=False)
    shown = display_path(path)
    return tuple(SourceEdit(shown, i1 + 1, i2, "".join(after[j1:j2]), applicability,
                            description)
                 for tag, i1, i2, j1, j2 in matcher.get_opcodes() if tag != "equal")


def with_source_fixes(reports: Sequence[Report], fixes: Sequence,
                      origins: Optional[dict[str, dict]] = None) -> list[Report]:
    """New Reports whose findings carry the edits of the verified source fixes, and where
    their modules were built (`origins`: target -> module path -> Origin).

    `fixes` are `repair.SourceFix` values; each is matched to the finding of the same code
    and module. A finding without a graph-level fix gets a Fix of kind "source".
    """
    by_finding = {(f.finding.code, f.finding.module): f for f in fixes}
    updated = []
    for report in reports:
        built = (origins or {}).get(report.target, {})
        findings = [_with_origin(_with_edits(f, by_finding.get((f.code, f.module))),
                                 built.get(f.module)) for f in report.findings]
        changed = any(a is not b for a, b in zip(findings, report.findings))
        updated.append(dataclasses.replace(report, findings=findings) if changed else report)
    return updated


def _with_origin(finding: Finding, origin) -> Finding:
    return finding if origin is None else dataclasses.replace(finding,
                                                              origin=origin.to_json())


def _with_edits(finding: Finding, source_fix) -> Finding:
    if source_fix is None:
        return finding
    with open(source_fix.path, encoding="utf-8") as handle:
        original = handle.read()
    edits = line_edits(source_fix.path, original, source_fix.new_source,
                       source_fix.applicability, source_fix.description)
    fix = finding.fix or Fix("source", 0, 0, 1, source_fix.description, verified=True)
    return dataclasses.replace(finding, fix=dataclasses.replace(fix, edits=edits))
