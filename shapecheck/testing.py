"""Assertions for a project's own tests: keep its models free of shape bugs.

    from shapecheck.testing import assert_no_shape_errors

    def test_resnet_shapes():
        assert_no_shape_errors(MyResNet(), (1, 3, 224, 224))

`assert_no_shape_errors` fails with every error finding listed (file:line, module, both
shapes, the proposed fix); `assert_finding` checks that a report has a given finding, for
tests of deliberately broken models (exercises, regression tests of shapecheck itself).
"""

from __future__ import annotations

from typing import Any, Optional, Union

from shapecheck.report import Finding, Report
from shapecheck.reporters.common import fix_text, shapes_text

__all__ = ["assert_no_shape_errors", "assert_finding", "format_finding", "format_report"]


def assert_no_shape_errors(model: Any, inputs: Any = None,
                           **options: Any) -> Union[Report, list[Report]]:
    """Analyse `model` and raise AssertionError if it has a shape error.

    Returns the Report (for a target string: the list of Reports, one per model), so that a
    test can go on to check shapes or warnings.

    Args:
        model: an `nn.Module`, or a target string `path.py[:NAME]` (every model it names).
        inputs: example input shape(s) or tensor(s), as `shapecheck.check` takes them.
        **options: passed on to `shapecheck.check` (or `check_spec` for a target string).

    Example:
        >>> import torch.nn as nn
        >>> class Block(nn.Module):
        ...     def __init__(self):
        ...         super().__init__()
        ...         self.conv = nn.Conv2d(64, 128, 3, stride=2, padding=1)
        ...     def forward(self, x):
        ...         return self.conv(x) + x
        >>> assert_no_shape_errors(Block(), (1, 64, 56, 56))  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        AssertionError: shapecheck found 1 shape error in Block:
          ...: SC101 channel_mismatch in the top-level module: residual add ...
            shapes: main branch 1x128x28x28, shortcut 1x64x56x56
            fix: nn.Sequential(nn.Conv2d(64, 128, kernel_size=1, stride=2, bias=False), ...
    """
    __tracebackhide__ = True  # pytest: show the caller's line, not this one
    reports = _check(model, inputs, options)
    failing = [r for r in reports if not r.ok]
    if failing:
        raise AssertionError("\n".join(_failure_text(r) for r in failing))
    return reports if isinstance(model, str) else reports[0]


def assert_finding(report: Report, kind: Optional[str] = None, module: Optional[str] = None,
                   line: Optional[int] = None, *, severity: Optional[str] = None) -> Finding:
    """Return the first finding of `report` that matches; raise AssertionError if none does.

    Args:
        report: a Report from `shapecheck.check` or `check_spec`.
        kind: a finding kind ("channel_mismatch") or code ("SC101"); None matches any.
        module: the module path as `named_modules()` spells it ("" is the top level).
        line: the line of the operation in the user's source.
        severity: "error", "warning", ...

    Example:
        >>> from shapecheck.report import Location
        >>> report = Report("net.py:Net", findings=[Finding(
        ...     "SC101", "channel_mismatch", "error", "channels differ", "layer2.0",
        ...     Location("net.py", 42), ((1, 512, 28, 28), (1, 256, 56, 56)))])
        >>> assert_finding(report, kind="channel_mismatch", module="layer2.0", line=42).code
        'SC101'
        >>> assert_finding(report, kind="spatial_mismatch")
        Traceback (most recent call last):
        AssertionError: no finding with kind='spatial_mismatch' in net.py:Net; it has:
          net.py:42: SC101 channel_mismatch in layer2.0: channels differ
            shapes: main branch 1x512x28x28, shortcut 1x256x56x56
    """
    __tracebackhide__ = True
    for finding in report.findings:
        if kind is not None and kind not in (finding.kind, finding.code):
            continue
        if module is not None and finding.module != module:
            continue
        if line is not None and (finding.location is None or finding.location.line != line):
            continue
        if severity is not None and finding.severity != severity:
            continue
        return finding
    wanted = ", ".join(f"{name}={value!r}" for name, value in
                       (("kind", kind), ("module", module), ("line", line),
                        ("severity", severity)) if value is not None)
    has = "\n".join(format_finding(f) for f in report.findings) or "  (no findings)"
    if report.error is not None:
        has += f"\n  (the target was not analysed: {report.error.kind} error: " \
               f"{report.error.message})"
    raise AssertionError(f"no finding with {wanted or 'any property'} in {report.target}; "
                         f"it has:\n{has}")


def format_finding(finding: Finding, indent: str = "  ") -> str:
    """`path:line: CODE kind in module: message`, then its shapes and fix, one per line.

    Example:
        >>> print(format_finding(Finding("SC201", "layer_mismatch", "error",
        ...       "fc expects 512 features but receives 256", "", None, ((1, 256), (1, 512)))))
          <unknown>: SC201 layer_mismatch in the top-level module: fc expects 512 features but receives 256
            shapes: received 1x256, expected 1x512
    """
    where = str(finding.location) if finding.location is not None else "<unknown>"
    module = finding.module or "the top-level module"
    lines = [f"{indent}{where}: {finding.code} {finding.kind} in {module}: {finding.message}"]
    shapes = shapes_text(finding)
    if shapes:
        lines.append(f"{indent}  shapes: {shapes}")
    if finding.fix is not None:
        lines.append(f"{indent}  fix: {fix_text(finding.fix)}")
    return "\n".join(lines)


def format_report(report: Report) -> str:
    """A compact plain-text account of one report: its target error, or its findings.

    Example:
        >>> print(format_report(Report("net.py:Net")))
        net.py:Net: no shape problems
    """
    if report.error is not None:
        error = report.error
        where = f" at {error.location}" if error.location is not None else ""
        return f"{report.target}: could not be analysed ({error.kind} error){where}: " \
               f"{error.message}"
    if not report.findings:
        return f"{report.target}: no shape problems"
    errors = len(report.errors)
    others = len(report.findings) - errors
    head = f"{report.target}: {_count(errors, 'shape error')}"
    if others:
        head += f", {_count(others, 'warning')}"
    return "\n".join([head + ":"] + [format_finding(f) for f in report.findings])


def _failure_text(report: Report) -> str:
    if report.error is not None:
        return "shapecheck " + format_report(report)
    errors = report.errors
    listed = "\n".join(format_finding(f) for f in errors)
    return f"shapecheck found {_count(len(errors), 'shape error')} in {report.target}:\n{listed}"


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def _check(model: Any, inputs: Any, options: dict[str, Any]) -> list[Report]:
    if isinstance(model, str):
        from shapecheck.runner import check_spec

        return check_spec(model, inputs, **options)
    from shapecheck.api import check

    return [check(model, inputs, **options)]

