"""For teachers: a folder of learner files graded in one run (one row per file, bad files are
rows with an error), a teacher's own exercise folder (the worked example of
docs/exercises.md), difficulty and prerequisites in `list`, and exercises as notebooks
graded the same way as .py files."""

from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path

import nbformat
import pytest
import torch

from shapecheck.exercises import find, grade
from shapecheck.exercises.catalog import FolderError, load_folder
from shapecheck.exercises.cli import main

ROOT = Path(__file__).resolve().parent.parent
TEACHER = ROOT / "examples" / "teacher_exercises"


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def _classroom(tmp_path: Path) -> Path:
    """Four learners on exercise 9: one solved, one not, one syntax error, one unnamed."""
    exercise = find(9)
    room = tmp_path / "room"
    (room / "bob").mkdir(parents=True)
    shutil.copyfile(exercise.solution_path, room / "09_alice.py")
    shutil.copyfile(exercise.starter_path, room / "bob" / "09_bob.py")
    (room / "09_carol.py").write_text("def build(:\n", encoding="utf-8")
    shutil.copyfile(exercise.solution_path, room / "dave.py")
    (room / ".ipynb_checkpoints").mkdir()
    shutil.copyfile(exercise.starter_path, room / ".ipynb_checkpoints" / "09_x.py")
    return room


def test_grade_folder_as_json_one_row_per_file(tmp_path, capsys):
    room = _classroom(tmp_path)
    status = main(["exercises", "grade", str(room), "--format", "json", "--lang", "en"])
    rows = {r["file"]: r for r in json.loads(capsys.readouterr().out)}
    assert status == 1  # not every file is solved
    assert sorted(rows) == ["09_alice.py", "09_carol.py", "bob/09_bob.py", "dave.py"]
    assert rows["09_alice.py"]["solved"] and rows["09_alice.py"]["status"] == 0
    bob = rows["bob/09_bob.py"]
    assert not bob["solved"] and bob["status"] == 1 and bob["error"] is None
    assert "basic.findings" in [p["key"] for p in bob["problems"]]
    assert {"key": "answer.missing", "module": "BASIC_PARAMS"}.items() <= \
        next(p for p in bob["problems"] if p["module"] == "BASIC_PARAMS").items()
    carol = rows["09_carol.py"]
    assert carol["status"] == 2 and "09_carol.py" in carol["error"] and carol["problems"] == []
    assert rows["dave.py"]["exercise"] is None and "--exercise" in rows["dave.py"]["error"]


def test_grade_folder_as_csv_with_one_exercise_for_all(tmp_path, capsys):
    room = _classroom(tmp_path)
    status = main(["exercises", "grade", str(room), "--exercise", "9", "--format", "csv",
                   "--lang", "zh"])
    rows = {r["file"]: r for r in csv.DictReader(io.StringIO(capsys.readouterr().out))}
    assert status == 1
    assert rows["dave.py"]["solved"] == "True" and rows["dave.py"]["exercise"] == "9"
    assert rows["bob/09_bob.py"]["solved"] == "False"
    assert "BASIC_PARAMS" in rows["bob/09_bob.py"]["still_wrong"]
    assert rows["09_carol.py"]["status"] == "2" and rows["09_carol.py"]["error"]


def test_grade_folder_usage_errors(tmp_path, capsys):
    assert main(["exercises", "grade", str(tmp_path / "none")]) == 2
    assert main(["exercises", "grade", str(tmp_path), "--exercise", "99"]) == 2
    assert "99" in capsys.readouterr().err


def test_list_shows_difficulty_and_prerequisites(capsys):
    assert main(["exercises", "list", "--lang", "en"]) == 0
    lines = capsys.readouterr().out.splitlines()[2:]
    rows = {line.split()[1]: line.split()[2:4] for line in lines}
    assert rows["first-block"] == ["★☆☆", "-"]
    assert rows["resnet-table1"] == ["★★★", "1,9"]
    assert all(level.count("★") + level.count("☆") == 3 for level, _ in rows.values())


def test_teacher_folder_worked_example(tmp_path, capsys):
    """The folder docs/exercises.md walks through: listed, graded, solved."""
    folder = ["--exercises", str(TEACHER)]
    assert main(["exercises", "list", *folder]) == 0
    assert "downsample-shortcut" in capsys.readouterr().out
    assert main(["exercises", "start", "1", str(tmp_path), *folder]) == 0
    learner = tmp_path / "01_downsample_shortcut.py"
    assert main(["exercises", "check", "1", str(learner), *folder]) == 1
    out = capsys.readouterr().out
    assert "shortcut of block is the identity" in out
    solution = TEACHER / "solutions" / "01_downsample_shortcut.py"
    assert main(["exercises", "check", "1", str(solution), *folder, "--lang", "zh"]) == 0
    assert "通过" in capsys.readouterr().out


def test_teacher_folder_errors_name_the_file(tmp_path, capsys):
    broken = tmp_path / "course"
    shutil.copytree(TEACHER, broken)
    (broken / "solutions" / "01_downsample_shortcut.py").unlink()
    with pytest.raises(FolderError, match="01_downsample_shortcut.py"):
        load_folder(broken)
    item = broken / "items" / "e01_downsample_shortcut.py"
    item.write_text(item.read_text(encoding="utf-8") + "\nraise ValueError('typo')\n",
                    encoding="utf-8")
    assert main(["exercises", "list", "--exercises", str(broken)]) == 2
    err = capsys.readouterr().err
    assert "e01_downsample_shortcut.py:" in err and "ValueError: typo" in err


def test_notebook_starter_is_graded_like_the_file(tmp_path, capsys):
    exercise = find(9)
    assert main(["exercises", "start", "9", str(tmp_path), "--notebook"]) == 0
    path = tmp_path / "09_bottleneck_params.ipynb"
    notebook = nbformat.read(str(path), as_version=4)
    nbformat.validate(notebook)
    assert notebook.cells[0].cell_type == "markdown"
    assert exercise.question("en")[:40] in notebook.cells[0].source
    as_notebook = grade(exercise, str(path), "en")
    as_file = grade(exercise, str(exercise.starter_path), "en")
    assert as_notebook.exit_status == as_file.exit_status == 1
    assert as_notebook.keys == as_file.keys
    finding = as_notebook.attempt.report.errors[0]
    assert finding.module == as_file.attempt.report.errors[0].module == "bottleneck"


def test_solution_notebook_is_solved(tmp_path):
    """The reference solution, cut into cells the same way, passes every criterion (the
    definitions it keeps are compared through the notebook's joined code)."""
    from shapecheck.exercises.notebook import code_cells

    exercise = find(17)
    cells = code_cells(exercise.solution_path.read_text(encoding="utf-8"))
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    path = tmp_path / exercise.file_name.replace(".py", ".ipynb")
    nbformat.write(notebook, str(path))
    result = grade(exercise, str(path), "zh")
    assert result.solved, [str(p) for p in result.problems]
