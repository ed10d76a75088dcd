"""Grading a folder of learners' files at once, for teachers: one row per file.

`shapecheck exercises grade DIR [--exercise N] --format json|csv` grades every `.py` and
`.ipynb` file under DIR; without `--exercise`, each file's exercise is the number its name
starts with (`02_keras_shortcut.py`, `alice_02.py` does not count). A file that cannot be
graded (no exercise, cannot be loaded, the grader failed) is a row with an `error`, never a
crash of the whole run.

    >>> row = Row("a.py", 1, False, 2, error="cannot load a.py")
    >>> csv_text([row]).splitlines()[1]
    'a.py,1,False,2,,cannot load a.py'
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Optional

from shapecheck.exercises.catalog import Exercise, find
from shapecheck.exercises.text import Text

NO_EXERCISE = Text("the file name does not start with an exercise number (NN_...); pass "
                   "--exercise N", "文件名没有以练习编号开头（NN_...）；请用 --exercise N 指定")
UNKNOWN = Text("no exercise {n}", "没有练习 {n}")
CRASHED = Text("grading stopped: {error}", "判分中止：{error}")
SOLVED = Text("solved", "通过")
NOT_SOLVED = Text("not solved", "未通过")
ERROR = Text("error: {error}", "错误：{error}")


@dataclass
class Row:
    """One learner file's verdict: solved, the exit status `check` would give, what is
    still wrong (key, module, sentence), remarks on an accepted answer, or an error."""

    file: str
    exercise: Optional[int]
    solved: bool
    status: int
    problems: list[dict] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    error: Optional[str] = None


def learner_files(directory: Path) -> list[Path]:
    """The .py and .ipynb files under `directory`, sorted; checkpoints and hidden folders
    are not learners' work."""
    found = [p for p in directory.rglob("*") if p.suffix in (".py", ".ipynb") and p.is_file()]
    return sorted(p for p in found if not any(part.startswith(".") or part == "__pycache__"
                                                for part in p.relative_to(directory).parts))


def exercise_of(path: Path, folder: Optional[str]) -> Optional[Exercise]:
    """The exercise whose number `path`'s name starts with ("02_keras_shortcut.py")."""
    match = re.match(r"(\d+)_", path.name)
    return find(match.group(1), folder) if match else None


def grade_file(path: Path, exercise: Optional[Exercise], lang: str, shown: str) -> Row:
    """The row of one file; whatever goes wrong is the row's error."""
    from shapecheck.exercises.grading import grade

    if exercise is None:
        return Row(shown, None, False, 2, error=NO_EXERCISE(lang))
    try:
        result = grade(exercise, str(path), lang)
    except (Exception, SystemExit) as exc:  # learner code that escapes the loader's guards
        return Row(shown, exercise.number, False, 2,
                   error=CRASHED(lang, error=f"{type(exc).__name__}: {exc}"))
    error = result.internal
    if result.attempt.load_error is not None:
        error = str(result.problems[0])
    problems = [] if error else [{"key": getattr(p, "key", ""), "module": getattr(p, "module", None),
                                  "text": str(p)} for p in result.problems]
    return Row(shown, exercise.number, result.solved, result.exit_status, problems,
               list(result.notes), error)


def grade_folder(directory: Path, exercise: Optional[Exercise], lang: str,
                 folder: Optional[str] = None) -> list[Row]:
    """One row per learner file under `directory`, for `exercise` (else by file name)."""
    rows = []
    for path in learner_files(directory):
        chosen = exercise or exercise_of(path, folder)
        rows.append(grade_file(path, chosen, lang, str(path.relative_to(directory))))
    return rows


def json_text(rows: list[Row]) -> str:
    """The rows as a JSON array, one object per file."""
    return json.dumps([asdict(r) for r in rows], ensure_ascii=False, indent=2) + "\n"


def csv_text(rows: list[Row]) -> str:
    """The rows as CSV: file, exercise, solved, status, still_wrong (sentences joined by
    " | "), error."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["file", "exercise", "solved", "status", "still_wrong", "error"])
    for r in rows:
        writer.writerow([r.file, "" if r.exercise is None else r.exercise, r.solved, r.status,
                         " | ".join(p["text"] for p in r.problems), r.error or ""])
    return buffer.getvalue()


def text_table(rows: list[Row], lang: str) -> str:
    """The rows for a terminal: one line per file, then what is still wrong, indented."""
    out = []
    for r in rows:
        verdict = ERROR(lang, error=r.error) if r.error else (
            SOLVED(lang) if r.solved else NOT_SOLVED(lang))
        out.append(f"{r.file}  #{r.exercise if r.exercise is not None else '?'}  {verdict}")
        out += [f"    - {p['text']}" for p in r.problems]
    return "\n".join(out) + "\n"
