"""What every reporter shares: target names split into file and model, paths relative to
the repository, and the one-line texts of shapes, fixes, findings and target errors.
"""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath
from typing import Optional

from shapecheck.codes import shape_labels
from shapecheck.load.targets import parse_target
from shapecheck.report import Finding, Fix, Location, Report, format_shape


def split_target(target: str) -> tuple[str, Optional[str]]:
    """`path.py:NAME` -> (path, NAME); a bare path or model name -> (target, None).

    Example:
        >>> split_target("models/resnet.py:resnet50")
        ('models/resnet.py', 'resnet50')
        >>> split_target("C:/models/resnet.py")
        ('C:/models/resnet.py', None)
    """
    path, name = parse_target(target)
    return (path, name) if path.endswith(".py") else (target, None)


def default_root() -> str:
    """The directory reported paths are relative to: the GitHub workspace, else the cwd."""
    return os.environ.get("GITHUB_WORKSPACE") or os.getcwd()


def relative_path(path: str, root: Optional[str] = None) -> Optional[str]:
    """`path` (absolute, or relative to the cwd) as a POSIX path relative to `root`.

    None when the file lies outside `root`.

    Example:
        >>> relative_path("/repo/models/resnet.py", root="/repo")
        'models/resnet.py'
        >>> relative_path("/elsewhere/resnet.py", root="/repo") is None
        True
    """
    root = os.path.abspath(root or default_root())
    absolute = os.path.abspath(path)
    if absolute != root and not absolute.startswith(root.rstrip(os.sep) + os.sep):
        return None
    return PurePosixPath(*Path(os.path.relpath(absolute, root)).parts).as_posix()


def shapes_text(finding: Finding) -> str:
    """"main branch 1x512x28x28, shortcut 1x256x56x56" (empty when there are no shapes).

    Example:
        >>> f = Finding("SC101", "channel_mismatch", "error", "...", "layer2.0", None,
        ...             ((1, 512, 28, 28), (1, 256, 56, 56)))
        >>> shapes_text(f)
        'main branch 1x512x28x28, shortcut 1x256x56x56'
    """
    labels = shape_labels(finding.code, len(finding.shapes))
    return ", ".join(f"{label} {format_shape(shape)}"
                     for label, shape in zip(labels, finding.shapes))


def fix_text(fix: Optional[Fix]) -> str:
    """The proposed layer and whether it was proven on the traced graph ("" without a fix)."""
    if fix is None:
        return ""
    proof = "verified on the traced graph" if fix.verified else "not verified"
    return f"{fix.code} ({proof})"


def finding_text(finding: Finding) -> str:
    """The full one-paragraph message of a finding: message, shapes, causes and fix.

    Example:
        >>> f = Finding("SC201", "layer_mismatch", "error", "fc expects 512 features",
        ...             "", None, ((1, 256), (1, 512)))
        >>> finding_text(f)
        'fc expects 512 features. Shapes: received 1x256, expected 1x512.'
    """
    parts = [finding.message.rstrip(".") + "."]
    shapes = shapes_text(finding)
    if shapes:
        parts.append(f"Shapes: {shapes}.")
    if finding.causes:
        parts.append("Why: " + "; ".join(finding.causes) + ".")
    if finding.fix is not None:
        how = "use the shortcut" if finding.fix.on_shortcut else "change the main branch:"
        parts.append(f"Fix: {how} {fix_text(finding.fix)}.")
    return " ".join(parts)


def target_error_text(report: Report) -> str:
    """The message of an SC001 result: which target, which step failed, and why."""
    error = report.error
    assert error is not None
    return f"shapecheck could not analyse {report.target} ({error.kind} error): {error.message}"


def target_error_location(report: Report) -> Optional[Location]:
    """Where a target failed: the error's own location, else line 1 of the target's file."""
    error = report.error
    if error is not None and error.location is not None:
        return error.location
    return target_file_location(report)


def target_file_location(report: Report) -> Optional[Location]:
    """Line 1 of the report's file, for what has no line of its own (None without a file).

    GitHub shows a result only where it has a file, so a finding without a location is
    pinned to its model's file rather than dropped.
    """
    path, _ = split_target(report.target)
    return Location(path, 1) if path.endswith(".py") else None
