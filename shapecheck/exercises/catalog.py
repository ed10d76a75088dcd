"""What an exercise is, and the ordered list of them.

Each exercise lives in one module of `shapecheck.exercises.items` (its texts, its criteria
and its explanation, side by side) with two model files next to the package: the learner's
starting point `starters/NN_slug.py` and the reference answer `solutions/NN_slug.py`.

    >>> from shapecheck.exercises.catalog import exercises, find
    >>> len(exercises()) >= 12
    True
    >>> find("keras-shortcut").number == find("2").number
    True
"""

from __future__ import annotations

import dataclasses
import importlib
import importlib.util
import traceback
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable, Optional

from shapecheck.exercises.text import Text

if TYPE_CHECKING:  # imported for annotations only: grading imports this module
    from shapecheck.exercises.grading import Attempt

PACKAGE_DIR = Path(__file__).resolve().parent
STARTERS = PACKAGE_DIR / "starters"
SOLUTIONS = PACKAGE_DIR / "solutions"

# A criterion looks at an analysed attempt and returns what is still wrong (empty: met).
Criterion = Callable[["Attempt"], Iterable[str]]

# The item modules, in teaching order: seed bugs first, then arithmetic, then variants.
ITEMS = (
    "e01_first_block",
    "e02_keras_shortcut",
    "e03_range_blocks",
    "e04_cifar_stride",
    "e05_tiny_broadcast",
    "e06_pool_floor",
    "e07_cardinality",
    "e08_d2l_groups",
    "e09_bottleneck_params",
    "e10_grouped_saving",
    "e11_split_transform_merge",
    "e12_preact_order",
    "e13_transformer_width",
    "e14_ceil_mode",
    "e15_why_residual",
    "e16_resnet_table1",
    "e17_homework_claims",
)

# Difficulty (1 gentle .. 3 hard) and the exercises worth doing first, by slug; an item may
# also set them itself (a teacher's own exercises do).
LEVELS: dict[str, tuple[int, tuple[int, ...]]] = {
    "first-block": (1, ()),
    "keras-shortcut": (2, (1,)),
    "range-blocks": (1, (2,)),
    "cifar-stride": (2, (1,)),
    "tiny-broadcast": (2, (2, 4)),
    "pool-floor": (3, (4,)),
    "cardinality": (2, (2,)),
    "d2l-groups": (2, (7,)),
    "bottleneck-params": (1, (1,)),
    "grouped-saving": (2, (7, 9)),
    "split-transform-merge": (3, (10,)),
    "preact-order": (2, (1,)),
    "transformer-width": (3, (9,)),
    "ceil-mode": (2, (6,)),
    "why-residual": (1, ()),
    "resnet-table1": (3, (1, 9)),
    "homework-claims": (2, (2, 3)),
}


@dataclass(frozen=True)
class Exercise:
    """One graded exercise.

    Attributes:
        number: its number in `shapecheck exercises list` (1-based, stable).
        slug: a short name usable instead of the number ("keras-shortcut").
        title, source, question: what `show` prints; `source` names the page it comes from
            (shapecheck/exercises/sources.py).
        hints: graded hints, gentlest first (`hint N --level K` shows the first K).
        criteria: what must hold on the learner's Report and real run, beyond "no errors
            and the forward pass runs" (which every exercise requires).
        explain: the explanation shown once solved, built from the tool's output on the
            learner's file (and on the starter, for contrast), in the attempt's language.
        factory: the no-argument factory that the learner's file must keep.
        difficulty, prerequisites: what `list` shows (1 gentle .. 3 hard; exercise numbers
            worth doing first).
        folder: where `starters/` and `solutions/` are (a teacher's folder, or the package).
    """

    number: int
    slug: str
    title: Text
    source: Text
    question: Text
    hints: tuple[Text, ...]
    criteria: tuple[Criterion, ...]
    explain: Callable[["Attempt"], str]
    factory: str = "build"
    difficulty: int = 0  # 1 gentle .. 3 hard; 0: not said (LEVELS may say)
    prerequisites: tuple[int, ...] = ()
    folder: Path = PACKAGE_DIR  # holds starters/ and solutions/ (a teacher's folder)

    @property
    def file_name(self) -> str:
        """The file name of its starter and solution: `02_keras_shortcut.py`."""
        return f"{self.number:02d}_{self.slug.replace('-', '_')}.py"

    @property
    def starter_path(self) -> Path:
        return self.folder / "starters" / self.file_name

    @property
    def solution_path(self) -> Path:
        return self.folder / "solutions" / self.file_name


@lru_cache(maxsize=1)
def builtin() -> tuple[Exercise, ...]:
    """The exercises shipped with shapecheck, in order."""
    modules = [importlib.import_module(f"shapecheck.exercises.items.{name}") for name in ITEMS]
    return _checked([_levelled(m.EXERCISE) for m in modules], "shapecheck.exercises.items")


def exercises(folder: Optional[str | Path] = None) -> tuple[Exercise, ...]:
    """Every exercise, in order: the built-in ones, or those of a teacher's `folder`.

    Numbers are stable and never reused: they increase along the list (an exercise being
    added elsewhere may leave a gap), and each is its file's NN.
    """
    return builtin() if folder is None else load_folder(folder)


class FolderError(Exception):
    """A teacher's exercise folder that cannot be used (the message names file and line)."""


@lru_cache(maxsize=8)
def _load_folder(folder: Path, stamp: tuple) -> tuple[Exercise, ...]:
    items = sorted((folder / "items").glob("e[0-9]*.py"))
    if not items:
        raise FolderError(f"{folder}: no exercises found; a folder holds items/eNN_slug.py "
                          f"(each defining EXERCISE), starters/NN_slug.py and "
                          f"solutions/NN_slug.py, as shapecheck/exercises/ does")
    found = []
    for path in items:
        found.append(dataclasses.replace(_import_item(path), folder=folder))
    checked = _checked(found, str(folder / "items"))
    for exercise in checked:
        for kind, path in (("starter", exercise.starter_path), ("solution", exercise.solution_path)):
            if not path.is_file():
                raise FolderError(f"{path}: exercise {exercise.number}'s {kind} file is missing")
    return checked


def load_folder(folder: str | Path) -> tuple[Exercise, ...]:
    """The exercises of a teacher's folder: `items/eNN_slug.py` modules that each define
    `EXERCISE` (as the built-in items do), with `starters/` and `solutions/` beside them.
    Loaded once per folder version; raises FolderError with the file and line at fault.

    >>> load_folder("/no/such/folder")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    shapecheck.exercises.catalog.FolderError: /no/such/folder: no exercises found; ...
    """
    path = Path(folder).resolve()
    stamp = tuple((p.name, p.stat().st_mtime_ns) for p in sorted(path.glob("*/*.py")))
    return _load_folder(path, stamp)


def _import_item(path: Path) -> Exercise:
    name = f"shapecheck_teacher_items.{path.parent.parent.name}.{path.stem}"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as exc:  # a teacher's item with a bug: say where, in one paragraph
        line = _line_in(exc, path)
        raise FolderError(f"{path}{f':{line}' if line else ''}: cannot load this exercise: "
                          f"{type(exc).__name__}: {exc}") from exc
    exercise = getattr(module, "EXERCISE", None)
    if not isinstance(exercise, Exercise):
        raise FolderError(f"{path}: defines no EXERCISE = Exercise(...)")
    return _levelled(exercise)


def _line_in(exc: BaseException, path: Path) -> Optional[int]:
    if isinstance(exc, SyntaxError) and exc.lineno:
        return exc.lineno
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if Path(f.filename) == path]
    return frames[-1].lineno if frames else None


def _levelled(exercise: Exercise) -> Exercise:
    if exercise.difficulty or exercise.slug not in LEVELS:
        return exercise
    difficulty, prerequisites = LEVELS[exercise.slug]
    return dataclasses.replace(exercise, difficulty=difficulty, prerequisites=prerequisites)


def _checked(found: list[Exercise], where: str) -> tuple[Exercise, ...]:
    numbers = [e.number for e in found]
    if numbers != sorted(set(numbers)) or numbers[0] < 1:
        raise FolderError(f"{where}: exercise numbers must increase along the list and be "
                          f"unique, found {numbers}")
    slugs = [e.slug for e in found]
    if len(set(slugs)) != len(slugs):
        raise FolderError(f"{where}: exercise names must be unique, found {slugs}")
    return tuple(found)


def find(ref: str | int, folder: Optional[str | Path] = None) -> Optional[Exercise]:
    """The exercise with number or slug `ref` ("3", 3, "range-blocks"), None if none.

    >>> find("no-such-exercise") is None
    True
    """
    text = str(ref).strip().lower().replace("_", "-")
    for exercise in exercises(folder):
        if text in (str(exercise.number), f"{exercise.number:02d}", exercise.slug):
            return exercise
    return None
