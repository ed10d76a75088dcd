"""The grader's own contract: structured problems, grader errors reported as such (exit 2,
an apology, never blamed on the learner), shipped files analysed where they lie."""

from __future__ import annotations

import dataclasses
import os

import torch

from shapecheck.exercises import find, grade
from shapecheck.exercises.grading import Attempt, Problem
from shapecheck.exercises.present import grade_text


def test_a_criterion_that_raises_is_an_internal_error():
    def broken(attempt):
        raise KeyError("the grader's own bug")

    exercise = dataclasses.replace(find(4), criteria=(broken,))
    result = grade(exercise, str(exercise.solution_path), "en")
    assert result.internal is not None and "KeyError" in result.internal
    assert not result.solved and result.exit_status == 2
    text = grade_text(result)
    assert "Sorry: the grader itself failed" in text
    assert "forward pass on CPU fails" not in text and "Solved" not in text
    zh = grade(exercise, str(exercise.solution_path), "zh")
    assert zh.exit_status == 2 and zh.internal.startswith("抱歉")


def test_an_explanation_that_raises_is_an_internal_error_too():
    def explain(attempt):
        return {}["missing"]

    exercise = dataclasses.replace(find(10), explain=explain)
    result = grade(exercise, str(exercise.solution_path), "en")
    assert result.exit_status == 2 and "KeyError" in result.internal


def test_problems_are_structured():
    result = grade(find(1), str(find(1).starter_path), "en")
    assert all(isinstance(p, Problem) for p in result.problems)
    assert result.keys[0] == "basic.findings"
    assert result.problems[0].module == "b3.0.conv1"  # the first finding: conv1 gets 64 channels


def test_shipped_starters_are_analysed_in_place():
    attempt = Attempt(find(2), str(find(2).starter_path), "en")
    location = attempt.report.errors[0].location
    assert os.path.samefile(location.path, find(2).starter_path)
    assert attempt.source == str(find(2).starter_path)


def test_map_weights_cannot_leave_torch_patched(tmp_path):
    """A map_weights() that swaps a torch function is caught, and the swap undone."""
    exercise = find(11)
    source = exercise.starter_path.read_text(encoding="utf-8").replace(
        "    return grouped\n\n\nif __name__",
        "    torch.relu = lambda x: x * 0\n    return grouped\n\n\nif __name__")
    path = tmp_path / exercise.file_name
    path.write_text(source, encoding="utf-8")
    original = torch.relu
    result = grade(exercise, str(path), "en")
    assert "equivalence.tampered" in result.keys and torch.relu is original
