"""Plain-text pieces that cite the tool's output: findings, runs, shapes, residual adds.

The check output and every exercise explanation are built from these, so what a learner
reads is what shapecheck computed for their file, in their language.

    >>> shape((1, 256, 56, 56))
    '1x256x56x56'
    >>> number(1179648)
    '1,179,648'
"""

from __future__ import annotations

import re
from typing import Iterable, Optional

from shapecheck.exercises.text import ui
from shapecheck.load.frames import display_path
from shapecheck.load.notebook import NotebookLocation, relocate
from shapecheck.messages import shortcut_word
from shapecheck.report import (Finding, Location, Report, ResidualAdd, Shape, TargetError,
                               format_shape)

MAX_CAUSES = 4  # long cause lists (attention reshapes) drown the one that matters


def shape(value: Optional[Shape]) -> str:
    """A shape as shapecheck prints it: 1x256x56x56."""
    return format_shape(value)


def shapes(values: Iterable[Optional[Shape]]) -> str:
    return ", ".join(shape(v) for v in values)


def number(value: int) -> str:
    """An integer with thousands separators, as the source pages write them."""
    return f"{int(value):,}"


def shown_location(location: Location) -> str:
    """`path:line` of a `Location`, the path as the learner knows it (relative when below
    the working directory).

    >>> shown_location(Location("model.py", 12))
    'model.py:12'
    """
    location = relocate(location)  # a notebook's joined line as its cell and line
    if isinstance(location, NotebookLocation):
        return f"{display_path(location.path)}:cell {location.cell}:line {location.line}"
    return f"{display_path(location.path)}:{location.line}"


def where(location: Optional[Location], lang: str) -> str:
    """`path:line` as the learner knows the file, or "unknown line"."""
    return shown_location(location) if location is not None else ui("finding.unknown_line", lang)


_BUILD = re.compile(r"building (\S+) raised (.*)", re.S)


def error_message(error: TargetError, lang: str) -> str:
    """A Report's error in the learner's language: the tool's own words translated, the
    exception it quotes (the learner's, or PyTorch's) as raised.

    >>> error_message(TargetError("build", "building build() raised ValueError: bad"), "zh")
    '调用 build() 构建模型时抛出 ValueError: bad'
    """
    match = _BUILD.fullmatch(error.message)
    if lang == "zh" and error.kind == "build" and match:
        return f"调用 {match.group(1)} 构建模型时抛出 {match.group(2)}"
    return error.message


def shortcut_kind(kind: str, lang: str) -> str:
    """A shortcut kind in words: "projection", or "投影" in Chinese."""
    return shortcut_word(kind, lang)


def module_name(module: str, lang: str) -> str:
    """A module path, or "the top-level module" for ""."""
    return module or ui("finding.top", lang)


def finding_lines(finding: Finding, lang: str) -> list[str]:
    """A finding as indented lines: code, kind, module, line, source, both shapes, fix."""
    severity = finding.severity
    if severity in ("error", "warning"):
        severity = ui(f"severity.{severity}", lang)
    lines = [ui("finding.head", lang, severity=severity, code=finding.code, kind=finding.kind,
                module=module_name(finding.module, lang), where=where(finding.location, lang))]
    if finding.location is not None and finding.location.code:
        lines.append(f"    {finding.location.code}")
    lines.append(f"  {finding.message}")
    if len(finding.shapes) == 2:
        main, short = finding.shapes
        key = "finding.layer_shapes" if finding.kind == "layer_mismatch" else "finding.shapes"
        values = {"got": shape(main), "want": shape(short)} if finding.kind == "layer_mismatch" \
            else {"main": shape(main), "short": shape(short)}
        lines.append("  " + ui(key, lang, **values))
    if finding.causes:
        causes = list(finding.causes[:MAX_CAUSES])
        if len(finding.causes) > MAX_CAUSES:
            causes.append("…")
        joined = ("；" if lang == "zh" else "; ").join(causes)
        lines.append("  " + ui("finding.because", lang, causes=joined))
    if finding.fix is not None:
        state = ui("finding.verified" if finding.fix.verified else "finding.unverified", lang)
        lines.append("  " + ui("finding.fix", lang, state=state, code=finding.fix.code))
    return lines


def first_error(report: Optional[Report]) -> Optional[Finding]:
    """The report's first finding of severity error (None for a clean or failed report)."""
    return next(iter(report.errors), None) if report is not None else None


def finding_sentence(finding: Optional[Finding], lang: str) -> str:
    """A finding in one line, for explanations: message, line and fix."""
    if finding is None:
        return ui("none", lang)
    text = f"{finding.code} {finding.message}"
    if finding.location is not None:
        place = shown_location(finding.location)
        text += f"（{place}）" if lang == "zh" else f" ({place})"
    if finding.fix is not None:
        text += ("；" if lang == "zh" else "; ") + ui("finding.fix", lang, state=ui(
            "finding.verified" if finding.fix.verified else "finding.unverified", lang),
            code=finding.fix.code)
    return text


def add_line(add: ResidualAdd, lang: str) -> str:
    """A residual add as `module: main + shortcut (kind)`."""
    main, short = shape(add.shapes[0]), shape(add.shapes[1])
    kind = shortcut_kind(add.shortcut, lang)
    return f"{add.module or '<top>'}: {main} + {short}" + parenthesised(kind, lang)


def adds_lines(report: Report, lang: str, prefix: str = "") -> list[str]:
    """Every residual add of `report` whose module starts with `prefix`, one per line."""
    return ["  " + add_line(a, lang) for a in report.residual_adds if a.module.startswith(prefix)]


def parenthesised(text: str, lang: str) -> str:
    """`text` in brackets of the language's width: "(x)", or "（x）" in Chinese."""
    return f"（{text}）" if lang == "zh" else f" ({text})"


def sep(lang: str) -> str:
    """The separator of a list in running text: "、" in Chinese, ", " in English."""
    return "、" if lang == "zh" else ", "
