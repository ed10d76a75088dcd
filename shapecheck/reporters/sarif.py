"""SARIF 2.1.0 output, in the subset GitHub code scanning turns into alerts.

One run; `tool.driver.rules` is generated from `shapecheck.codes.CODES` plus SC001 (a
target that could not be analysed). Every finding is a result with its rule, level, a
message naming both shapes and the proposed fix, the user's file and line (relative to
`%SRCROOT%`, so the same alert matches across runs and machines), the module path as a
logical location, and a `partialFingerprints` entry that does not depend on the line.

A target that could not be analysed is reported twice on purpose: as an SC001 *result*,
because results are what GitHub shows (an alert, and an annotation on the pull request's
diff at the failing line), and as a `toolExecutionNotifications` entry with
`executionSuccessful: false`, which is where SARIF viewers look for tool failures but which
GitHub shows at most on its tool-status page.

Helpers shared with the other reporters live in `reporters/common.py`.
"""

from __future__ import annotations

import hashlib
import json
import os
from importlib import metadata
from pathlib import Path
from typing import Any, Optional
from urllib.parse import quote

from shapecheck import __version__
from shapecheck.codes import CODES, TARGET_ERROR, Code, shape_labels
from shapecheck.report import Finding, Location, Report
from shapecheck.reporters.common import (default_root, finding_text, relative_path,
                                         split_target, target_error_location, target_error_text,
                                         target_file_location)

SARIF_VERSION = "2.1.0"
SARIF_SCHEMA = ("https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/"
                "sarif-schema-2.1.0.json")
SRCROOT = "%SRCROOT%"
FINGERPRINT_KEY = "shapecheckFinding/v1"
FALLBACK_INFORMATION_URI = "https://pypi.org/project/shapecheck/"

# Not in codes.py: it describes the tool failing on a target, not a finding in a model.
_LEVELS = {"error": "error", "warning": "warning"}  # anything else becomes "note"

def artifact_location(path: str, root: Optional[str] = None) -> dict[str, str]:
    """SARIF artifactLocation: relative to %SRCROOT% when under `root`, else a file URI.

    Example:
        >>> artifact_location("/repo/my models/net.py", root="/repo")
        {'uri': 'my%20models/net.py', 'uriBaseId': '%SRCROOT%'}
    """
    relative = relative_path(path, root)
    if relative is None:
        return {"uri": Path(os.path.abspath(path)).as_uri()}
    return {"uri": quote(relative, safe="/"), "uriBaseId": SRCROOT}


def sarif_document(reports: list[Report], *, root: Optional[str] = None,
                   information_uri: Optional[str] = None) -> dict[str, Any]:
    """The SARIF 2.1.0 log for `reports`, ready for `json.dump` and GitHub's upload-sarif.

    Args:
        reports: one Report per model, as `check_spec` returns them.
        root: the repository root that `%SRCROOT%` stands for (default: `$GITHUB_WORKSPACE`,
            else the working directory); files outside it get absolute file URIs.
        information_uri: the tool's home page (default: the package's metadata).

    Example:
        >>> from shapecheck.report import Location
        >>> f = Finding("SC101", "channel_mismatch", "error", "channels differ", "layer2.0",
        ...             Location("models/net.py", 42), ((1, 512, 28, 28), (1, 256, 56, 56)))
        >>> doc = sarif_document([Report("models/net.py:Net", findings=[f])], root=".")
        >>> result = doc["runs"][0]["results"][0]
        >>> result["ruleId"], result["locations"][0]["physicalLocation"]["region"]
        ('SC101', {'startLine': 42})
    """
    root = os.path.abspath(root or default_root())
    rules = _rules(reports)
    index = {rule["id"]: i for i, rule in enumerate(rules)}
    results: list[dict[str, Any]] = []
    notifications: list[dict[str, Any]] = []
    for report in reports:
        if report.error is not None:
            result = _target_error_result(report, index, root)
            results.append(result)
            notifications.append(_notification(result))
        results += [_finding_result(report, f, index, root) for f in report.findings]
    run: dict[str, Any] = {
        "tool": {"driver": {
            "name": "shapecheck",
            "version": __version__,
            "semanticVersion": __version__,
            "informationUri": information_uri or _information_uri(),
            "rules": rules,
        }},
        "invocations": [{
            "executionSuccessful": not notifications,
            "toolExecutionNotifications": notifications,
        }],
        "originalUriBaseIds": {SRCROOT: {"uri": Path(root).as_uri().rstrip("/") + "/"}},
        "results": results,
        "properties": {"targets": [r.target for r in reports]},
    }
    return {"$schema": SARIF_SCHEMA, "version": SARIF_VERSION, "runs": [run]}


def _rules(reports: list[Report]) -> list[dict[str, Any]]:
    """Every registry code, SC001, then any code a finding carries that the registry lacks."""
    codes = list(CODES)
    if TARGET_ERROR.code not in {c.code for c in codes}:
        codes.insert(0, TARGET_ERROR)
    known = {c.code for c in codes}
    for report in reports:
        for finding in report.findings:
            if finding.code not in known:  # robust to an engine newer than codes.py
                known.add(finding.code)
                codes.append(Code(finding.code, finding.kind, finding.severity,
                                  finding.kind.replace("_", " "), finding.kind.replace("_", " ")))
    return [_rule(code) for code in codes]


def _rule(code: Code) -> dict[str, Any]:
    advice = code.help or ("Each alert gives the shapes involved and, where one exists, "
                           "the layer that fixes it.")
    # --ignore filters findings; a target that cannot be analysed is never silenced
    suppress = ("" if code.code == TARGET_ERROR.code
                else f"To silence this rule: `shapecheck --ignore {code.code}`.")
    return {
        "id": code.code,
        "name": _pascal(code.kind),
        "shortDescription": {"text": code.title},
        "fullDescription": {"text": code.description},
        "defaultConfiguration": {"level": _level(code.severity)},
        "help": {
            "text": f"{code.description}\n\n{_plain(advice)}\n\n{_plain(suppress)}".rstrip(),
            "markdown": f"**{code.code} {code.kind}**: {code.description}\n\n"
                        f"**How to fix.** {advice}\n\n{suppress}".rstrip(),
        },
        "properties": {"tags": ["shapecheck", "correctness", "pytorch"], "kind": code.kind},
    }


def _finding_result(report: Report, finding: Finding, index: dict[str, int],
                    root: str) -> dict[str, Any]:
    result: dict[str, Any] = {
        "ruleId": finding.code,
        "ruleIndex": index[finding.code],
        "level": _level(finding.severity),
        "message": {"text": f"{finding_text(finding)} Model: {report.target}."},
        "locations": _locations(finding.location or target_file_location(report),
                                finding.module, report, root),
        "partialFingerprints": {FINGERPRINT_KEY: _fingerprint(report, finding, root)},
        "properties": {
            "target": report.target,
            "kind": finding.kind,
            "module": finding.module,
            "node": finding.node,
            "shapes": [list(s) if s is not None else None for s in finding.shapes],
            "shapeLabels": shape_labels(finding.code, len(finding.shapes)),
            "causes": list(finding.causes),
            "fix": finding.fix.to_json() if finding.fix else None,
        },
    }
    if finding.fix is not None and finding.fix.edits:
        result["fixes"] = [_sarif_fix(finding.fix.edits, root)]
    return result


def _sarif_fix(edits, root: str) -> dict[str, Any]:
    """A verified source edit as SARIF `fix` (code scanning offers it as a suggestion)."""
    changes: dict[str, list] = {}
    for edit in edits:
        region = {"startLine": edit.start_line, "startColumn": 1}
        if edit.end_line >= edit.start_line:
            region.update(endLine=edit.end_line + 1, endColumn=1)  # whole lines, newline too
        else:
            region.update(endLine=edit.start_line, endColumn=1)  # an insertion
        changes.setdefault(edit.path, []).append(
            {"deletedRegion": region, "insertedContent": {"text": edit.replacement}})
    return {"description": {"text": f"{edits[0].description} [{edits[0].applicability}]"},
            "artifactChanges": [{"artifactLocation": artifact_location(path, root),
                                 "replacements": replacements}
                                for path, replacements in changes.items()]}


def _target_error_result(report: Report, index: dict[str, int], root: str) -> dict[str, Any]:
    error = report.error
    assert error is not None
    location = target_error_location(report)
    identity = "|".join([TARGET_ERROR.code, _target_key(report, location, root), error.kind])
    return {
        "ruleId": TARGET_ERROR.code,
        "ruleIndex": index[TARGET_ERROR.code],
        "level": "error",
        "message": {"text": target_error_text(report)},
        "locations": _locations(location, None, report, root),
        "partialFingerprints": {FINGERPRINT_KEY: _digest(identity)},
        "properties": {"target": report.target, "error": error.to_json()},
    }


def _notification(result: dict[str, Any]) -> dict[str, Any]:
    note: dict[str, Any] = {
        "level": "error",
        "message": result["message"],
        "associatedRule": {"id": result["ruleId"], "index": result["ruleIndex"]},
    }
    if result["locations"]:
        note["locations"] = result["locations"]
    return note


def _locations(location: Optional[Location], module: Optional[str], report: Report,
               root: str) -> list[dict[str, Any]]:
    """One SARIF location: the file and line, plus the module path where there is one."""
    entry: dict[str, Any] = {}
    if location is not None:
        entry["physicalLocation"] = {
            "artifactLocation": artifact_location(location.path, root),
            "region": {"startLine": max(1, int(location.line))},
        }
    if module is not None:
        _, name = split_target(report.target)
        model = name or report.target
        entry["logicalLocations"] = [{
            "name": module.rsplit(".", 1)[-1] if module else model,
            "fullyQualifiedName": f"{model}.{module}" if module else model,
            "kind": "module",
        }]
    return [entry] if entry else []


def _fingerprint(report: Report, finding: Finding, root: str) -> str:
    """Stable across runs and line moves: rule, file, model, module and the line's text."""
    where = finding.location.code if finding.location and finding.location.code else None
    if where is None:  # without the line's text, the node name is the next-best anchor
        where = finding.node or (str(finding.location.line) if finding.location else "")
    parts = [finding.code, _target_key(report, finding.location, root), finding.module, where]
    return _digest("|".join(parts))


def _target_key(report: Report, location: Optional[Location], root: str) -> str:
    path = location.path if location is not None else split_target(report.target)[0]
    _, name = split_target(report.target)
    return f"{relative_path(path, root) or path}:{name or report.target}"


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def _level(severity: str) -> str:
    return _LEVELS.get(severity, "note")


def _pascal(kind: str) -> str:
    """SARIF rule names are identifiers: "channel_mismatch" -> "ChannelMismatch"."""
    return "".join(part.capitalize() for part in kind.split("_"))


def _plain(markdown: str) -> str:
    return markdown.replace("`", "")


def _information_uri() -> str:
    """The home page the package declares (Project-URL/Home-page), else its PyPI page."""
    try:
        meta = metadata.metadata("shapecheck")
    except metadata.PackageNotFoundError:
        return FALLBACK_INFORMATION_URI
    for entry in meta.get_all("Project-URL") or []:
        _, _, url = entry.partition(",")
        if url.strip().startswith("https://"):
            return url.strip()
    home = meta.get("Home-page")
    return home if home and home.startswith("https://") else FALLBACK_INFORMATION_URI


def render_sarif(reports, *, tracebacks=None) -> str:
    """The SARIF document as indented JSON text (tracebacks are not part of SARIF).

    >>> render_sarif([Report("m.py:build")]).startswith('{')
    True
    """
    return json.dumps(sarif_document(list(reports)), indent=2, ensure_ascii=False) + "\n"
