"""GitHub Actions workflow commands: one annotation per finding, then a summary notice.

    ::error file=models/net.py,line=42,title=SC101 channel_mismatch::residual add in ...

GitHub shows each annotation on the run's summary page and, for files in the pull request,
on the diff at that line. Errors become `::error`, warnings `::warning`, anything milder
`::notice`; a target that could not be analysed is an `::error` titled `SC001
target_error` at the line where it failed. Paths are relative to `$GITHUB_WORKSPACE` (else
the working directory), which is how GitHub matches them to the checkout.

Escaping follows the workflow-command rules (`@actions/core`): in the message, `%`, CR and
LF become `%25`, `%0D`, `%0A`; in a property value `:` and `,` also become `%3A`, `%2C`.
"""

from __future__ import annotations

from typing import Optional

from shapecheck.report import Finding, Location, Report
from shapecheck.codes import TARGET_ERROR
from shapecheck.reporters.common import (default_root, fix_text, relative_path, shapes_text,
                                         target_error_location, target_error_text,
                                         target_file_location)

_COMMANDS = {"error": "error", "warning": "warning"}  # anything else is a notice


def escape_data(text: str) -> str:
    """Escape a command's message.

    Example:
        >>> escape_data("100% sure\\nnext line")
        '100%25 sure%0Anext line'
    """
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """Escape a command property's value (file, title).

    Example:
        >>> escape_property("SC101: a, b")
        'SC101%3A a%2C b'
    """
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def annotation(command: str, message: str, *, file: Optional[str] = None,
               line: Optional[int] = None, title: Optional[str] = None) -> str:
    """One workflow command line: `::command prop=value,...::message`.

    Example:
        >>> annotation("error", "bad add", file="m.py", line=3, title="SC101 channel_mismatch")
        '::error file=m.py,line=3,title=SC101 channel_mismatch::bad add'
    """
    props = []
    if file:
        props.append(f"file={escape_property(file)}")
        if line is not None:
            props.append(f"line={int(line)}")
    if title:
        props.append(f"title={escape_property(title)}")
    head = f"::{command} {','.join(props)}" if props else f"::{command}"
    return f"{head}::{escape_data(message)}"


def github_annotations(reports: list[Report], *, root: Optional[str] = None) -> str:
    """The workflow commands for `reports`, one per line, ending with a `::notice` summary.

    Args:
        reports: one Report per model, as `check_spec` returns them.
        root: the checkout that paths are made relative to (default: `$GITHUB_WORKSPACE`,
            else the working directory).

    Example:
        >>> from shapecheck.report import Location
        >>> f = Finding("SC101", "channel_mismatch", "error", "channels differ", "layer2.0",
        ...             Location("models/net.py", 42), ((1, 512, 28, 28), (1, 256, 56, 56)))
        >>> print(github_annotations([Report("models/net.py:Net", findings=[f])], root="."), end="")
        ::error file=models/net.py,line=42,title=SC101 channel_mismatch::channels differ%0Ashapes: main branch 1x512x28x28, shortcut 1x256x56x56%0Amodel: models/net.py:Net
        ::notice title=shapecheck::1 model checked: 1 error, 0 warnings
    """
    root = root or default_root()
    lines = []
    for report in reports:
        if report.error is not None:
            lines.append(_target_error(report, root))
        lines += [_finding(report, finding, root) for finding in report.findings]
    lines.append(annotation("notice", summary(reports), title="shapecheck"))
    return "\n".join(lines) + "\n"


def summary(reports: list[Report]) -> str:
    """"3 models checked: 2 errors, 1 warning; 1 target could not be analysed".

    Example:
        >>> summary([Report("a.py:A"), Report("b.py:B")])
        '2 models checked: 0 errors, 0 warnings'
    """
    findings = [f for r in reports for f in r.findings]
    errors = sum(1 for f in findings if f.is_error)
    warnings = sum(1 for f in findings if f.severity == "warning")
    failed = sum(1 for r in reports if r.error is not None)
    text = (f"{_count(len(reports), 'model')} checked: {_count(errors, 'error')}, "
            f"{_count(warnings, 'warning')}")
    if failed:
        verb = "target could" if failed == 1 else "targets could"
        text += f"; {failed} {verb} not be analysed"
    return text


def _finding(report: Report, finding: Finding, root: str) -> str:
    parts = [finding.message]  # the message already names the module
    shapes = shapes_text(finding)
    if shapes:
        parts.append(f"shapes: {shapes}")
    if finding.fix is not None:
        parts.append(f"fix: {fix_text(finding.fix)}")
    parts.append(f"model: {report.target}")  # several models of a file may share a line
    file, line = _where(finding.location, report, root)
    return annotation(_COMMANDS.get(finding.severity, "notice"), "\n".join(parts),
                      file=file, line=line, title=f"{finding.code} {finding.kind}")


def _target_error(report: Report, root: str) -> str:
    file, line = _where(target_error_location(report), report, root)
    return annotation("error", target_error_text(report), file=file, line=line,
                      title=f"{TARGET_ERROR.code} {TARGET_ERROR.kind}")


def _where(location: Optional[Location], report: Report,
           root: str) -> tuple[Optional[str], Optional[int]]:
    """File (relative to the checkout when inside it) and line; the target's file if unknown."""
    location = location or target_file_location(report)
    if location is None:
        return None, None
    return relative_path(location.path, root) or location.path, max(1, int(location.line))


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def render_github(reports, *, tracebacks=None) -> str:
    """The workflow commands as one document (tracebacks stay in the job log, not here).

    >>> render_github([Report("a.py:A")]).startswith("::notice")
    True
    """
    text = github_annotations(list(reports))
    return text if not text or text.endswith("\n") else text + "\n"
