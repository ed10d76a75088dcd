"""What `shapecheck exercises ...` prints, as strings: listing, question, hints, verdicts.

Only formatting lives here; `cli.py` decides what to print and where.

    >>> from shapecheck.exercises.catalog import find
    >>> print(hints_text(find("first-block"), 1, "en").splitlines()[0])  # doctest: +ELLIPSIS
    Hint 1/3: Read the first finding: ...
"""

from __future__ import annotations

import re
import unicodedata
from typing import Optional, Sequence

from shapecheck.exercises import describe as d
from shapecheck.exercises.catalog import Exercise, exercises
from shapecheck.exercises.grading import Grade
from shapecheck.exercises.describe import shown_location
from shapecheck.exercises.text import ui

WIDTH = 92
ENDINGS = (".", ":", ";", "!", "?", "。", "：", "；", "！", "？")
# An ASCII word with its trailing spaces, or one wide character; opening brackets stay with
# what follows them and closing punctuation with what precedes it, so neither ends or
# starts a line alone.
TOKENS = re.compile(r"[（“《【「]*[\x00-\x7f]+?(?:\s+|$|(?=[^\x00-\x7f]))[，。：；、！？）”》】」]*"
                    r"|[（“《【「]*[^\x00-\x7f][，。：；、！？）”》】」]*")


def wrap(text: str, indent: str = "") -> str:
    """Wrap prose to WIDTH terminal columns; lines that start with a space (code, shapes)
    are kept as they are. Chinese characters count two columns and may break anywhere.

    >>> print(wrap("aaa bbb ccc", ""))
    aaa bbb ccc
    """
    out = []
    for line in reflow(text).splitlines():
        if line.startswith(" ") or columns(indent + line) <= WIDTH:
            out.append(indent + line)
            continue
        current, used = indent, columns(indent)
        for token in TOKENS.findall(line):
            size = columns(token.rstrip())
            # never start a line with punctuation such as "，" or "："
            if used + size > WIDTH and current.strip() and not _punctuation(token):
                out.append(current.rstrip())
                current, used = indent, columns(indent)
                token = token.lstrip()
            current += token
            used += columns(token)
        if current.strip():
            out.append(current.rstrip())
    return "\n".join(out)


def reflow(text: str) -> str:
    """Join the lines of a paragraph that a template broke for readability in the source.

    A line continues on the next unless it ends a sentence or a label (. : ; and their
    Chinese forms) or the next line is indented (a cited shape or code line).

    >>> reflow("the first block\\nprojects.\\n  1x64x8x8")
    'the first block projects.\\n  1x64x8x8'
    """
    lines = text.splitlines()
    out: list[str] = []
    for line in lines:
        if out and out[-1] and line and not line.startswith(" ") and not out[-1].startswith(" ") \
                and not out[-1].rstrip().endswith(ENDINGS):
            # Chinese joins without a space, but keeps one next to Latin words and numbers
            before, after = out[-1].rstrip()[-1], line[0]
            tight = (_wide(before) and _wide(after)) or _cjk_punctuation(before) \
                or _cjk_punctuation(after)
            joiner = "" if tight else " "
            out[-1] = out[-1].rstrip() + joiner + line.lstrip()
        else:
            out.append(line)
    return "\n".join(out)


def _cjk_punctuation(ch: str) -> bool:
    return _wide(ch) and unicodedata.category(ch).startswith("P")


def _wide(ch: str) -> bool:
    return unicodedata.east_asian_width(ch) in "WF"


def _punctuation(token: str) -> bool:
    return len(token) == 1 and unicodedata.category(token).startswith("P")


def columns(text: str) -> int:
    """Terminal columns of `text`: wide (CJK) characters take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def list_text(lang: str, catalog: Optional[Sequence[Exercise]] = None) -> str:
    """The exercises with their difficulty (1 gentle .. 3 hard, as stars) and the exercises
    worth doing first.

    >>> print(list_text("en").splitlines()[2])  # doctest: +ELLIPSIS
      1  first-block              ★☆☆    -         The interview ResNet: ...
    """
    catalog = exercises() if catalog is None else catalog
    rows = [ui("list.header", lang, n=len(catalog)), ui("list.columns", lang)]
    for e in catalog:
        level = ("★" * e.difficulty + "☆" * (3 - e.difficulty)) if e.difficulty else "-"
        after = ",".join(str(n) for n in e.prerequisites) or ui("list.none", lang)
        rows.append(f"{e.number:3d}  {e.slug:<24} {level:<6} {after:<9} {e.title(lang)}")
    return "\n".join(rows) + "\n"


def show_text(exercise: Exercise, lang: str) -> str:
    n = exercise.number
    parts = [
        ui("check.header", lang, n=n, title=exercise.title(lang)),
        ui("show.source", lang, source=exercise.source(lang)),
        "",
        ui("show.question", lang),
        wrap(exercise.question(lang), "  "),
        "",
        ui("show.starter", lang, path=exercise.starter_path),
        wrap(ui("show.next", lang, n=n, file=exercise.file_name, levels=len(exercise.hints))),
    ]
    return "\n".join(parts) + "\n"


def hints_text(exercise: Exercise, level: int, lang: str) -> str:
    total = len(exercise.hints)
    level = max(1, min(level, total))
    lines = [wrap(ui("hint.line", lang, k=k, total=total, text=hint(lang)))
             for k, hint in enumerate(exercise.hints[:level], start=1)]
    if level < total:
        lines.append(ui("hint.more", lang, n=exercise.number, k=level + 1))
    else:
        lines.append(ui("hint.all_shown", lang, n=exercise.number))
    return "\n".join(lines) + "\n"


def grade_text(grade: Grade) -> str:
    """The verdict of `check`: static findings, the real run, what is wrong or why it works."""
    attempt = grade.attempt
    lang, exercise = attempt.lang, attempt.exercise
    lines = [ui("check.header", lang, n=exercise.number, title=exercise.title(lang))]
    if attempt.load_error is not None:
        lines += [wrap(grade.problems[0]), ""]
        return "\n".join(lines)
    report = attempt.report
    declared = attempt.target().inputs
    shape = d.shapes(report.input_shapes) if report.input_shapes else (
        d.shapes(declared) if isinstance(declared, list) else "?")
    lines.append(ui("check.file", lang, path=attempt.path, factory=exercise.factory, shape=shape))
    lines.append("")
    lines.append(ui("check.static", lang))
    if report.error is not None:
        where = ui("check.at", lang, where=shown_location(report.error.location)) \
            if report.error.location else ""
        lines.append("  " + ui("check.static_failed", lang, message=d.error_message(report.error, lang) + where))
    elif not report.findings:
        lines.append("  " + ui("check.static_ok", lang, adds=len(report.residual_adds)))
    for finding in report.findings:
        lines += ["  " + line for line in d.finding_lines(finding, lang)]
    run = attempt.run
    if run is not None:
        lines.append(ui("check.forward", lang, shape=d.shapes(run.input_shapes)))
        if run.ok:
            lines.append("  " + ui("check.forward_ok", lang, shape=d.shapes(run.output_shapes)))
        else:
            where = f" ({shown_location(run.location)})" if run.location else ""
            lines.append("  " + run.error + where)
    lines.append("")
    if grade.internal is not None:
        lines.append(wrap(grade.internal))
        return "\n".join(lines) + "\n"
    if grade.solved:
        lines.append(ui("check.solved", lang))
        for note in grade.notes:
            lines.append(wrap(ui("check.note", lang, text=note), "  "))
        lines.append(ui("check.why", lang))
        lines.append(wrap(grade.explanation, "  "))
    else:
        lines.append(ui("check.not_solved", lang))
        for i, problem in enumerate(grade.problems, start=1):
            lines.append(wrap(f"{i}. {problem}", "  "))
        lines.append(ui("check.hint", lang, n=exercise.number))
    return "\n".join(lines) + "\n"
