"""Every grader rejects its folder of wrong answers, each with the property that failed,
and accepts the legitimate alternatives (tests/data/wrong_answers/).

A wrong answer that a grader accepts teaches the wrong thing with the tool's authority, so
each case names the key of the property it must fail (`Problem.key`), and, where the
problem is about one module, that module's path.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest
import torch

from shapecheck.exercises import find, grade

DATA = Path(__file__).parent / "data" / "wrong_answers"
sys.path.insert(0, str(DATA))


def _load(path: Path):
    spec = importlib.util.spec_from_file_location(f"wrong_answers_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


FILES = sorted(DATA.glob("e[0-9][0-9]_*.py"))
WRONG = [(int(p.stem[1:3]), c) for p in FILES for c in _load(p).WRONG]
RIGHT = [(int(p.stem[1:3]), c) for p in FILES for c in _load(p).RIGHT]


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def _write(tmp_path: Path, number: int, c) -> Path:
    exercise = find(number)
    text = c.source(exercise.starter_path.read_text(encoding="utf-8"),
                    exercise.solution_path.read_text(encoding="utf-8"))
    path = tmp_path / exercise.file_name
    path.write_text(text, encoding="utf-8")
    return path


def test_every_exercise_has_a_folder_of_wrong_answers():
    from shapecheck.exercises import exercises

    counts = {e.number: sum(1 for m, _ in WRONG if m == e.number) for e in exercises()}
    assert all(count >= 4 for count in counts.values()), counts


@pytest.mark.parametrize("number,case", WRONG, ids=[f"{n:02d}-{c.name}" for n, c in WRONG])
def test_wrong_answer_is_rejected(number, case, tmp_path):
    lang = "zh" if len(case.name) % 2 else "en"
    result = grade(find(number), str(_write(tmp_path, number, case)), lang)
    assert result.internal is None, result.internal
    assert not result.solved and result.exit_status == 1
    assert case.key in result.keys, (result.keys, [str(p) for p in result.problems])
    problem = result.problems[result.keys.index(case.key)]
    assert len(problem) > 20  # a sentence that says what is still wrong
    if case.module is not None:
        assert case.module in [p.module for p in result.problems if p.key == case.key], \
            [(p.key, p.module) for p in result.problems]


@pytest.mark.parametrize("number,case", RIGHT, ids=[f"{n:02d}-{c.name}" for n, c in RIGHT])
def test_legitimate_alternative_passes(number, case, tmp_path):
    lang = "en" if len(case.name) % 2 else "zh"
    result = grade(find(number), str(_write(tmp_path, number, case)), lang)
    assert result.solved, [str(p) for p in result.problems] + [str(result.internal)]
    assert result.exit_status == 0 and result.explanation
    assert bool(result.notes) == case.note, result.notes
