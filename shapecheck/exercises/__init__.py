"""Graded teaching and interview exercises on residual-network shapes, in English and Chinese.

Each exercise is a small model file with a bug from the four source pages (or a question to answer
in the file), a question, graded hints, a reference solution and a criterion on shapecheck's
Report plus a real forward pass. The quiz asks shape questions about real models.

    >>> from shapecheck.exercises import exercises, find, grade
    >>> len(exercises()) >= 12
    True
    >>> exercise = find("keras-shortcut")
    >>> grade(exercise, str(exercise.solution_path), "zh").solved  # doctest: +SKIP
    True

Command line: `shapecheck exercises list|show|hint|check|solution|start` and
`shapecheck quiz` (see `shapecheck.exercises.cli`).
"""

from shapecheck.exercises.catalog import Exercise, exercises, find
from shapecheck.exercises.grading import Attempt, Grade, grade

__all__ = ["Exercise", "exercises", "find", "grade", "Attempt", "Grade"]
