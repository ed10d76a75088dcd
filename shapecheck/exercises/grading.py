"""Grading a learner's file: shapecheck's static analysis, a small real forward pass on CPU,
then the exercise's own criteria.

An `Attempt` is one model file analysed for one exercise; `grade()` turns it into a
`Grade` (solved or not, what is still wrong, and why it works). Nothing here prints.

    >>> from shapecheck.exercises.catalog import find
    >>> exercise = find("first-block")
    >>> grade(exercise, str(exercise.solution_path), "en").solved  # doctest: +SKIP
    True

Exit statuses follow the CLI contract: 0 solved, 1 not solved (the model is wrong, even if
it cannot be built), 2 the file cannot be loaded (syntax or import error, no factory).
"""

from __future__ import annotations

import contextlib
import os
import types
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator, Optional

import torch

from shapecheck.load.build import build_model
from shapecheck.exercises.catalog import Exercise
from shapecheck.exercises.text import Text, ui
from shapecheck.load import (LoadedTarget, describe_exception, exception_location, import_file,
                             load_targets)
from shapecheck.exercises.describe import error_message, shown_location
from shapecheck.load.notebook import is_notebook, notebook_source
from shapecheck.report import Block, Location, Report, ResidualAdd, Shape, TargetError
from shapecheck.runner import check_target

MISSING = object()


@dataclass
class RunResult:
    """A real forward pass: output shapes, or the error and the user's line where it rose."""

    input_shapes: list[Shape]
    output_shapes: list[Shape] = field(default_factory=list)
    error: Optional[str] = None
    location: Optional[Location] = None
    exception: Optional[BaseException] = field(default=None, repr=False)

    @property
    def ok(self) -> bool:
        return self.error is None


@contextlib.contextmanager
def single_thread() -> Iterator[None]:
    """Run torch on one thread: exercise models are many tiny convs, and on a busy machine
    the intra-op threads' spinning costs a hundred times the work."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def run_forward(factory: Any, input_shapes: list[Shape], path: str, seed: int = 0) -> RunResult:
    """Build the model with real weights on CPU and run it once, in eval mode, without grad.

    eval(): a BatchNorm in training mode rejects a batch of one 1x1 map, which small
    exercise models reach on purpose. The input is seeded noise, so runs are reproducible.

    Example:
        >>> run_forward(lambda: torch.nn.Conv2d(3, 4, 3), [(1, 3, 8, 8)], "x.py").output_shapes
        [(1, 4, 6, 6)]
    """
    result = RunResult(input_shapes=list(input_shapes))
    try:
        torch.manual_seed(seed)
        model = build_model(factory, device="cpu").eval()
        inputs = [torch.randn(shape) for shape in input_shapes]
        with torch.no_grad(), single_thread():
            out = model(*inputs)
    except Exception as exc:  # the learner's model may raise anything; that is the lesson
        result.error = describe_exception(exc)
        result.location = exception_location(exc, path)
        result.exception = exc
        return result
    outputs = out if isinstance(out, (tuple, list)) else [out]
    result.output_shapes = [tuple(t.shape) for t in outputs if isinstance(t, torch.Tensor)]
    return result


class Attempt:
    """One file analysed for one exercise: its module, Report and real run, plus helpers
    that criteria and explanations use. Further analyses (another factory, another input)
    are computed on demand and cached.

    Attributes:
        exercise, path, lang: what is graded, where, and in which language to speak.
        source: the file analysed (the path as given; shipped starters and solutions are
            analysed where they lie, since they count as user code for source lines).
        load_error: set when the file cannot be loaded (then nothing else is).
        module: the learner's imported module (for answer constants and helper functions).
        report: shapecheck's Report on the exercise's factory at the file's input.
        run: the real forward pass on CPU at the same input (None when it cannot be built).
    """

    def __init__(self, exercise: Exercise, path: str, lang: str) -> None:
        self.exercise, self.path, self.lang = exercise, path, lang
        self.source = path
        self.load_error: Optional[TargetError] = None
        self.module: Optional[types.ModuleType] = None
        self.report: Optional[Report] = None
        self.run: Optional[RunResult] = None
        self._reports: dict[tuple, Report] = {}
        self._runs: dict[tuple, RunResult] = {}
        self._targets: dict[tuple, LoadedTarget] = {}
        target = self.target()
        if target.error is not None and target.error.kind in ("load", "input"):
            self.load_error = target.error
            return
        self.module = import_file(self.source)
        self.report = self.analyse()
        # a model that cannot be built, or has no input to run on, cannot run for real either
        if self.report.input_shapes and (self.report.error is None
                                         or self.report.error.kind != "build"):
            self.run = self.forward()

    # -- analyses, cached ------------------------------------------------------------------

    def target(self, factory: Optional[str] = None,
               inputs: Optional[list[Shape]] = None) -> LoadedTarget:
        key = (factory or self.exercise.factory, _key(inputs))
        if key not in self._targets:
            spec = f"{self.source}:{key[0]}"
            given = [list(s) for s in inputs] if inputs else None
            self._targets[key] = load_targets(spec, inputs=given)[0]
        return self._targets[key]

    def analyse(self, factory: Optional[str] = None,
                inputs: Optional[list[Shape]] = None) -> Report:
        """shapecheck's Report on `factory()` (default: the exercise's) at `inputs`."""
        key = (factory or self.exercise.factory, _key(inputs))
        if key not in self._reports:
            target = self.target(factory, inputs)
            checked = check_target(target, lang=self.lang)
            self._reports[key] = checked.report if checked is not None else Report(target.name)
        return self._reports[key]

    def forward(self, factory: Optional[str] = None,
                inputs: Optional[list[Shape]] = None) -> RunResult:
        """A real CPU forward pass of `factory()` at `inputs` (default: the analysed ones)."""
        key = (factory or self.exercise.factory, _key(inputs))
        if key not in self._runs:
            report = self.analyse(factory, inputs)
            shapes = list(inputs or report.input_shapes)
            self._runs[key] = run_forward(self.target(factory, inputs).factory, shapes, self.source)
        return self._runs[key]

    def build(self, factory: Optional[str] = None) -> torch.nn.Module:
        """A fresh model with real weights on CPU, in eval mode (for numeric checks)."""
        return build_model(self.target(factory).factory, device="cpu").eval()

    # -- reading the results ---------------------------------------------------------------

    def source_text(self) -> str:
        """The learner's Python source (a notebook's code cells, joined)."""
        if is_notebook(self.source):
            return notebook_source(self.source).text
        with open(self.source, encoding="utf-8") as f:
            return f.read()

    def answer(self, name: str) -> Any:
        """The learner's module-level constant `name`, or MISSING."""
        return getattr(self.module, name, MISSING) if self.module is not None else MISSING

    def block(self, module: str, report: Optional[Report] = None) -> Optional[Block]:
        """The residual block whose add sits in `module` (first one), if any."""
        report = report or self.report
        return next((b for b in report.blocks if b.module == module), None) if report else None

    def add(self, module: str, report: Optional[Report] = None) -> Optional[ResidualAdd]:
        report = report or self.report
        if report is None:
            return None
        return next((a for a in report.residual_adds if a.module == module), None)

    def layer(self, path: str, report: Optional[Report] = None) -> Optional[torch.nn.Module]:
        """The module `path` of the analysed (meta) model, None if it has none."""
        report = report or self.report
        try:
            return report.model.get_submodule(path) if report and report.model is not None else None
        except AttributeError:
            return None

    def starter(self) -> "Attempt":
        """The shipped starter of this exercise, analysed (once per process and language)."""
        return shipped_attempt(self.exercise, "starter", self.lang)

    def reference(self) -> "Attempt":
        """The shipped reference solution, analysed (once per process and language)."""
        return shipped_attempt(self.exercise, "solution", self.lang)

    @property
    def analysed(self) -> bool:
        return self.report is not None and self.report.error is None


def _key(inputs: Optional[list[Shape]]) -> Optional[tuple]:
    return tuple(tuple(s) for s in inputs) if inputs else None


_SHIPPED: dict[tuple, Attempt] = {}


def shipped_attempt(exercise: Exercise, which: str, lang: str) -> Attempt:
    """The starter or the solution file of `exercise`, analysed; cached per file version."""
    path = exercise.starter_path if which == "starter" else exercise.solution_path
    stat = os.stat(path)
    key = (str(path), stat.st_mtime_ns, lang)
    if key not in _SHIPPED:
        _SHIPPED[key] = Attempt(exercise, str(path), lang)
    return _SHIPPED[key]


class Problem(str):
    """One thing still wrong: the sentence a learner reads, plus what tests and autograders
    compare: `key` (which property failed), `module` and `shapes` where they apply.

    It is a `str`, so a list of problems prints and joins as sentences.

    >>> p = Problem("the shortcut of b3.0 is identity", "shortcut.kind", module="b3.0")
    >>> p.key, p.module, p.startswith("the shortcut")
    ('shortcut.kind', 'b3.0', True)
    """

    key: str
    module: Optional[str]
    shapes: tuple

    def __new__(cls, text: str, key: str, module: Optional[str] = None,
                shapes: tuple = ()) -> "Problem":
        self = super().__new__(cls, text)
        self.key, self.module, self.shapes = key, module, tuple(shapes)
        return self


def as_problems(items: Iterable[str], key: str) -> list[Problem]:
    """Sentences as Problems; a sentence that already is one keeps its key."""
    return [item if isinstance(item, Problem) else Problem(item, key) for item in items]


class LearnerCodeError(Exception):
    """Learner code that a criterion called (a helper such as map_weights) raised."""

    def __init__(self, what: str, exc: BaseException) -> None:
        super().__init__(f"{what}: {describe_exception(exc)}")
        self.what, self.original = what, exc


def call_learner(what: str, function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Call learner code from a criterion; what it raises becomes a LearnerCodeError, which
    `grade` reports as the learner's problem (with their line), not as a grading error.

    >>> call_learner("f()", lambda: 1 // 0)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    shapecheck.exercises.grading.LearnerCodeError: f(): ZeroDivisionError: ...
    """
    try:
        return function(*args, **kwargs)
    except Exception as exc:
        raise LearnerCodeError(what, exc) from exc


@dataclass
class Grade:
    """The verdict on one attempt: `problems` (localised sentences, each a `Problem` with
    a key) is empty when solved; `explanation` is filled once solved; `notes` are remarks
    on an accepted answer (an alternative that is right but not the book's); `internal`
    is set when the grader itself failed (then the exit status is 2)."""

    attempt: Attempt
    problems: list[Problem]
    explanation: str = ""
    notes: list[str] = field(default_factory=list)
    internal: Optional[str] = None

    @property
    def solved(self) -> bool:
        return self.attempt.load_error is None and self.internal is None and not self.problems

    @property
    def keys(self) -> list[str]:
        """The keys of the problems, in order (what a test or an autograder compares)."""
        return [getattr(p, "key", "") for p in self.problems]

    @property
    def exit_status(self) -> int:
        if self.attempt.load_error is not None or self.internal is not None:
            return 2
        return 0 if self.solved else 1


INTERNAL = Text("Sorry: the grader itself failed on this file ({error}); this is a bug in "
                "shapecheck's exercise {n}, not in your answer. Please report it.",
                "抱歉：判分程序本身在处理这个文件时出错（{error}）；这是 shapecheck 练习 {n} "
                "的缺陷，不是你的答案有问题，请反馈给我们。")
LEARNER_CODE = Text("your code raised while being checked, in {what}{where}",
                    "检查时你的代码抛出了异常，出自 {what}{where}")


def grade(exercise: Exercise, path: str, lang: str = "en") -> Grade:
    """Analyse `path` for `exercise` and decide whether it is solved.

    Every exercise requires: the file loads, the model builds, shapecheck reports no
    error, and the real forward pass runs. Then the exercise's own criteria are checked.
    Learner code that a criterion calls and that raises is the learner's problem, with
    their line; any other exception inside a criterion is the grader's own failure:
    `Grade.internal` is set, with an apology, and the exit status is 2.
    """
    attempt = Attempt(exercise, path, lang)
    if attempt.load_error is not None:
        return Grade(attempt, [Problem(load_message(attempt), "load")])
    problems = as_problems(basic_problems(attempt), "basic")
    notes: list[str] = []
    if attempt.analysed:
        for criterion in exercise.criteria:
            try:
                found = list(criterion(attempt))
            except LearnerCodeError as exc:
                location = exception_location(exc.original, attempt.source)
                where = ui("check.at", lang, where=shown_location(location)) if location else ""
                problems.append(Problem(LEARNER_CODE(lang, what=str(exc), where=where),
                                        "learner_code"))
                continue
            except Exception as exc:  # the grader's own bug: never blame the learner
                error = f"{type(exc).__name__}: {exc}"
                return Grade(attempt, problems, internal=INTERNAL(lang, error=error,
                                                                  n=exercise.number))
            for item in found:
                if isinstance(item, Note):
                    notes.append(str(item))
                else:
                    problems.append(item if isinstance(item, Problem)
                                    else Problem(item, getattr(criterion, "key", "criterion")))
    result = Grade(attempt, problems, notes=notes)
    if result.solved:
        try:
            result.explanation = exercise.explain(attempt)
        except Exception as exc:  # an explanation that fails is the grader's bug too
            result.internal = INTERNAL(lang, error=f"{type(exc).__name__}: {exc}",
                                       n=exercise.number)
    return result


class Note(str):
    """A remark a criterion makes on an answer it accepts (not a problem)."""


def basic_problems(attempt: Attempt) -> list[Problem]:
    """What every exercise requires: analysed, no error findings, a clean real run."""
    lang, report = attempt.lang, attempt.report
    if report.error is not None:
        where = ui("check.at", lang, where=shown_location(report.error.location)) \
            if report.error.location else ""
        key = "check.build_error" if report.error.kind == "build" else "check.no_report"
        return [Problem(ui(key, lang, message=error_message(report.error, lang), where=where),
                        "basic.build" if report.error.kind == "build" else "basic.analysis")]
    problems = []
    if report.errors:
        first = report.errors[0]
        problems.append(Problem(ui("check.errors_left", lang, n=len(report.errors)),
                                "basic.findings", module=first.module, shapes=first.shapes))
    if attempt.run is not None and not attempt.run.ok:
        where = ui("check.at", lang, where=shown_location(attempt.run.location)) \
            if attempt.run.location else ""
        problems.append(Problem(ui("check.forward_error", lang, message=attempt.run.error,
                                   where=where), "basic.forward"))
    return problems


def load_message(attempt: Attempt) -> str:
    """One paragraph naming the file and line for a file that cannot be loaded."""
    error = attempt.load_error
    message = ui("check.cannot_load", attempt.lang, path=attempt.path, message=error.message)
    if error.location is not None:
        message += ui("check.at", attempt.lang, where=shown_location(error.location))
    return message


def error_sentence(key: str, exc: BaseException, path: str, lang: str) -> str:
    location = exception_location(exc, path)
    where = ui("check.at", lang, where=shown_location(location)) if location else ""
    return ui(key, lang, message=describe_exception(exc), where=where)


def answer_problem(attempt: Attempt, name: str, expected: Any, what: str,
                   same: Optional[Callable[[Any, Any], bool]] = None) -> list[str]:
    """A problem when the learner's constant `name` is unset or differs from `expected`.

    `expected` is computed by the caller from the tool's output, never typed in; `what`
    says in the attempt's language what the constant should hold.
    """
    given = attempt.answer(name)
    if given is MISSING or given is None:
        return [Problem(ui("check.missing_answer", attempt.lang, name=name, what=what),
                        "answer.missing", module=name)]
    equal = same or (lambda a, b: a == b)
    try:
        if equal(given, expected):
            return []
    except Exception:  # a learner's value of the wrong type is simply wrong
        pass
    wrong = ui("check.wrong_answer", attempt.lang, name=name, given=repr(given))
    text = f"{wrong}（{what}）" if attempt.lang == "zh" else f"{wrong} ({what})"
    return [Problem(text, "answer.wrong", module=name)]


def close_to(tolerance: float = 0.05) -> Callable[[Any, Any], bool]:
    """A comparison for computed ratios: equal within `tolerance` (relative)."""
    def same(given: Any, expected: Any) -> bool:
        return abs(float(given) - float(expected)) <= tolerance * abs(float(expected))

    return same
