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

import importlib
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
)


@dataclass(frozen=True)
class Exercise:
    """One graded exercise.

    Attributes:
        number: its number in `shapecheck exercises list` (1-based, stable).
        slug: a short name usable instead of the number ("keras-shortcut").
        title, source, question: what `show` prints; `source` names the seed page.
        hints: graded hints, gentlest first (`hint N --level K` shows the first K).
        criteria: what must hold on the learner's Report and real run, beyond "no errors
            and the forward pass runs" (which every exercise requires).
        explain: the explanation shown once solved, built from the tool's output on the
            learner's file (and on the starter, for contrast), in the attempt's language.
        factory: the no-argument factory that the learner's file must keep.
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

    @property
    def file_name(self) -> str:
        """The file name of its starter and solution: `02_keras_shortcut.py`."""
        return f"{self.number:02d}_{self.slug.replace('-', '_')}.py"

    @property
    def starter_path(self) -> Path:
        return STARTERS / self.file_name

    @property
    def solution_path(self) -> Path:
        return SOLUTIONS / self.file_name


@lru_cache(maxsize=1)
def exercises() -> tuple[Exercise, ...]:
    """Every exercise, in order; numbers are checked to follow the list."""
    found = []
    for index, name in enumerate(ITEMS, start=1):
        module = importlib.import_module(f"shapecheck.exercises.items.{name}")
        exercise = module.EXERCISE
        if exercise.number != index:
            raise RuntimeError(f"{name} declares number {exercise.number}, expected {index}")
        found.append(exercise)
    return tuple(found)


def find(ref: str | int) -> Optional[Exercise]:
    """The exercise with number or slug `ref` ("3", 3, "range-blocks"), None if none.

    >>> find("no-such-exercise") is None
    True
    """
    text = str(ref).strip().lower().replace("_", "-")
    for exercise in exercises():
        if text in (str(exercise.number), f"{exercise.number:02d}", exercise.slug):
            return exercise
    return None
