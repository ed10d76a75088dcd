"""The teaching exercises and the quiz: every starter fails, every solution passes, the
numbers come from the tool, and both languages speak.

Each check is a static analysis plus a small real forward pass on CPU; learner files are
copies of the starters in `tmp_path`, as `shapecheck exercises start` makes them.
"""

from __future__ import annotations

import ast
import io
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from shapecheck.exercises import exercises, find, grade
from shapecheck.exercises.cli import main
from shapecheck.exercises.grading import Attempt
from shapecheck.exercises.quiz import make_quiz, modules, number, run_quiz
from shapecheck.exercises.quiz_models import find_model
from shapecheck.exercises.sources import TITLES

CJK = re.compile(r"[\u4e00-\u9fff]")
ALL = exercises()


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Tiny models: intra-op threads only cost time on a busy runner."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def starter_copy(tmp_path: Path, number: int) -> Path:
    exercise = find(number)
    path = tmp_path / exercise.file_name
    shutil.copyfile(exercise.starter_path, path)
    return path


def line_of(path: Path, text: str) -> int:
    hits = [i for i, line in enumerate(path.read_text().splitlines(), 1) if text in line]
    assert len(hits) == 1, hits
    return hits[0]


# -- the catalogue ----------------------------------------------------------------------------

def test_catalogue_is_complete_and_bilingual():
    assert len(ALL) >= 12
    numbers = [e.number for e in ALL]
    assert numbers == sorted(set(numbers)) and numbers[0] == 1  # stable, never reused
    assert len({e.slug for e in ALL}) == len(ALL)
    for e in ALL:
        for text in (e.title, e.source, e.question, *e.hints):
            english = text.en
            for title in TITLES:  # the sources' own titles are cited as they are written
                english = english.replace(title, "")
            assert english and not CJK.search(english), (e.slug, text.en)
            assert CJK.search(text.zh), (e.slug, text.zh)
        assert 2 <= len(e.hints) <= 3
        for path in (e.starter_path, e.solution_path):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            names = {t.id for node in tree.body if isinstance(node, ast.Assign)
                     for t in node.targets if isinstance(t, ast.Name)}
            functions = {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
            assert "INPUT_SHAPE" in names and e.factory in functions, path
        assert find(e.slug) is e and find(str(e.number)) is e


# -- every starter fails, every solution passes ------------------------------------------------

@pytest.mark.parametrize("exercise", ALL, ids=[e.slug for e in ALL])
def test_starter_fails_and_solution_passes(exercise, tmp_path):
    lang = "zh" if exercise.number % 2 else "en"
    starter = grade(exercise, str(starter_copy(tmp_path, exercise.number)), lang)
    assert not starter.solved and starter.exit_status == 1 and starter.problems
    solution = grade(exercise, str(exercise.solution_path), lang)
    assert solution.solved, solution.problems
    assert solution.exit_status == 0 and solution.explanation
    assert bool(CJK.search(solution.explanation)) == (lang == "zh")


# -- what the checks read from the Report --------------------------------------------------

def test_keras_shortcut_check_output_names_module_line_shapes_and_fix(tmp_path, capsys):
    path = starter_copy(tmp_path, 2)
    assert main(["exercises", "check", "2", str(path), "--lang", "en"]) == 1
    out = capsys.readouterr().out
    add_line = line_of(path, "x = x + shortcut")
    assert f"SC101 channel_mismatch in stack2.0 at {path}:{add_line}" in out
    assert "main branch 1x128x16x16   shortcut 1x64x32x32" in out
    assert "nn.Conv2d(64, 128, kernel_size=1, stride=2, bias=False)" in out
    assert "ADD_PADS_OR_BROADCASTS = True is not right" in out
    assert "RuntimeError" in out  # the real forward pass fails too


def test_keras_shortcut_explanation_runs_the_adds(tmp_path):
    result = grade(find(2), str(find(2).solution_path), "en")
    text = result.explanation
    assert "stack2.1: 1x128x16x16 + 1x128x16x16 (identity)" in text
    assert "1x128x8x8 + 1x256x8x8: RuntimeError" in text  # 128 vs 256 raises, computed
    assert "1x1x8x8 + 1x256x8x8 -> 1x256x8x8" in text  # only size 1 broadcasts


def test_range_blocks_counts_come_from_residual_adds(tmp_path):
    from shapecheck.exercises.items.e03_range_blocks import seed_stack_report

    starter = Attempt(find(3), str(starter_copy(tmp_path, 3)), "en")
    assert len(starter.report.residual_adds) == 9  # 3 stacks x (2 + 1)
    assert len(seed_stack_report(starter).residual_adds) == 4  # stack(blocks=3)
    solution = Attempt(find(3), str(find(3).solution_path), "en")
    assert [a.module for a in solution.report.residual_adds][:2] == ["stack1.0", "stack1.1"]
    assert len(solution.report.residual_adds) == 6


def test_tiny_broadcast_runs_but_is_flagged(tmp_path):
    attempt = Attempt(find(5), str(starter_copy(tmp_path, 5)), "en")
    assert attempt.run.ok and attempt.run.output_shapes == [(1, 10)]
    finding = attempt.report.errors[0]
    assert (finding.kind, finding.module) == ("spatial_mismatch", "stack2.0")
    assert finding.shapes == ((1, 16, 1, 1), (1, 16, 2, 2))
    assert not attempt.forward(inputs=[(1, 3, 16, 16)]).ok  # a larger input really raises


def test_pool_floor_depends_on_the_input_size(tmp_path):
    attempt = Attempt(find(6), str(starter_copy(tmp_path, 6)), "en")
    assert attempt.report.errors[0].shapes == ((1, 128, 4, 4), (1, 128, 3, 3))
    assert attempt.analyse(inputs=[(1, 3, 64, 64)]).ok


def test_cardinality_starter_cannot_be_built(tmp_path):
    path = starter_copy(tmp_path, 7)
    result = grade(find(7), str(path), "en")
    assert result.exit_status == 1
    assert result.attempt.report.error.kind == "build"
    assert "divisible by groups" in result.problems[0] and str(path) in result.problems[0]


def test_bottleneck_numbers_are_the_tools_block_params():
    result = grade(find(9), str(find(9).solution_path), "en")
    basic, bottleneck = result.attempt.report.blocks
    assert basic.params == 3 * 3 * 256 * 256 * 2 == 1_179_648
    assert bottleneck.params == 3 * 3 * 64 * 64 + 1 * 1 * 256 * 64 * 2 == 69_632
    assert f"{basic.params / bottleneck.params:.1f}" == "16.9"
    assert "Report: 1,179,648" in result.explanation and "Report: 69,632" in result.explanation
    assert "16.9x" in result.explanation


def test_grouped_saving_is_g_fold_in_params_and_macs():
    result = grade(find(10), str(find(10).solution_path), "en")
    mine = result.attempt.block("unit")
    dense = result.attempt.starter().block("unit")
    assert dense.params / mine.params == 32 and dense.macs / mine.macs == 32
    assert "32x params, 32x MACs" in result.explanation


def test_split_transform_merge_is_numerically_equal(tmp_path):
    from shapecheck.exercises.items.e11_split_transform_merge import _difference

    solution = Attempt(find(11), str(find(11).solution_path), "en")
    diff, close = _difference(solution)
    assert close and diff < 1e-4
    grouped = solution.analyse("build_grouped")
    assert grouped.blocks[0].params == solution.report.blocks[0].params == 70_144
    starter = Attempt(find(11), str(starter_copy(tmp_path, 11)), "en")
    assert not _difference(starter)[1]


def test_preact_order_is_read_from_the_traced_graph(tmp_path):
    result = grade(find(12), str(starter_copy(tmp_path, 12)), "en")
    assert any("followed by a ReLU" in p for p in result.problems)
    assert any("instead of ReLU(BN(...))" in p for p in result.problems)


def test_transformer_fix_must_keep_identity_shortcuts(tmp_path):
    attempt = Attempt(find(13), str(starter_copy(tmp_path, 13)), "en")
    first = attempt.report.errors[0]
    assert first.kind == "channel_mismatch" and first.shapes == ((1, 16, 128), (1, 16, 96))
    # shapecheck's own fix projects the shortcut; the exercise wants the branch fixed
    patched = tmp_path / "projected.py"
    source = (tmp_path / find(13).file_name).read_text()
    patched.write_text(source.replace(
        "        x = x + self.attn(self.norm1(x))",
        "        x = self.widen(x) + self.attn(self.norm1(x))").replace(
        "        self.norm2 = nn.LayerNorm(dim)",
        "        self.widen = nn.Linear(dim, 128)\n        self.norm2 = nn.LayerNorm(dim)"))
    assert not grade(find(13), str(patched), "en").solved


# -- the command line ----------------------------------------------------------------------

def test_commands_in_chinese(tmp_path, capsys):
    assert main(["exercises", "list", "--lang", "zh"]) == 0
    assert f"共 {len(ALL)} 道练习" in capsys.readouterr().out
    assert main(["exercises", "show", "keras-shortcut", "--lang", "zh"]) == 0
    shown = capsys.readouterr().out
    assert "题目" in shown and "ADD_PADS_OR_BROADCASTS" in shown
    assert main(["exercises", "hint", "3", "--level", "2", "--lang", "zh"]) == 0
    hints = capsys.readouterr().out
    assert "提示 1/3" in hints and "提示 2/3" in hints and "提示 3/3" not in hints
    path = starter_copy(tmp_path, 1)
    assert main(["exercises", "check", "1", str(path), "--lang", "zh"]) == 1
    out = capsys.readouterr().out
    assert "尚未通过" in out and "b3.0 中的残差相加" in out  # the engine's message in Chinese
    assert main(["exercises", "check", "1", str(find(1).solution_path), "--lang", "zh"]) == 0
    assert "通过！" in capsys.readouterr().out
    assert main(["exercises", "--help", "--lang", "zh"]) == 0
    assert "判分" in capsys.readouterr().out  # the command's own help speaks Chinese too


def test_language_defaults_to_the_environment(monkeypatch, capsys):
    monkeypatch.setenv("SHAPECHECK_LANG", "zh")
    assert main(["list"]) == 0
    assert CJK.search(capsys.readouterr().out)


def test_start_solution_and_errors(tmp_path, capsys):
    assert main(["exercises", "start", "9", str(tmp_path)]) == 0
    copied = tmp_path / find(9).file_name
    assert copied.read_text() == find(9).starter_path.read_text()
    assert main(["exercises", "start", "9", str(tmp_path)]) == 2  # no silent overwrite
    assert main(["exercises", "solution", "9", "--lang", "en"]) == 0
    assert "1,179,648" in capsys.readouterr().out
    bad = tmp_path / "bad.py"
    bad.write_text("import torch\n\ndef build(:\n    pass\n")
    assert main(["exercises", "check", "9", str(bad), "--lang", "en"]) == 2
    out = capsys.readouterr().out
    assert f"Cannot load {bad}" in out and f"{bad}:3" in out
    assert main(["exercises", "show", "99"]) == 2
    assert main(["exercises", "frobnicate"]) == 2


def test_shapecheck_cli_dispatches_here(capsys):
    from shapecheck import cli

    assert cli.main(["exercises", "hint", "1", "--lang", "en"]) == 0
    assert "Hint 1/3" in capsys.readouterr().out


def test_module_entry_point_in_a_subprocess(tmp_path):
    path = starter_copy(tmp_path, 4)
    env = dict(os.environ, SHAPECHECK_LANG="zh", PYTHONIOENCODING="utf-8")
    done = subprocess.run([sys.executable, "-m", "shapecheck.exercises", "check", "4", str(path)],
                          capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 1, done.stderr
    assert "stage_2.stage_2_bottleneck_0" in done.stdout and "尚未通过" in done.stdout


# -- the quiz ---------------------------------------------------------------------------------

def test_answer_parsing():
    assert number("69,632") == number("69632") == 69632
    assert number("1.18M") == 1_180_000 and number("118万") == 1_180_000
    assert modules("layer2.0, layer3.0，layer4.0") == {"layer2.0", "layer3.0", "layer4.0"}
    assert modules("无") == set() == modules("none")


def test_quiz_is_deterministic_and_grades_answers(tmp_path):
    first = make_quiz("ex04_cifar_resnext", seed=5, count=4, lang="en")
    again = make_quiz("ex04_cifar_resnext", seed=5, count=4, lang="en")
    assert [q.text for q in first.questions] == [q.text for q in again.questions]
    assert len({q.key for q in first.questions}) == 4
    answers = [q.answer for q in first.questions[:2]] + ["0", "banana"]
    file = tmp_path / "answers.txt"
    file.write_text("# my answers\n" + "\n".join(answers) + "\n", encoding="utf-8")
    out = io.StringIO()
    assert run_quiz("ex04_cifar_resnext", 5, 4, answers=str(file), lang="en", out=out) == 1
    text = out.getvalue()
    assert text.count("\nright\n") == 2 and "Score: 2/4" in text
    file.write_text("\n".join(q.answer for q in first.questions), encoding="utf-8")
    assert run_quiz("ex04_cifar_resnext", 5, 4, answers=str(file), lang="en",
                    out=io.StringIO()) == 0


def test_quiz_on_a_buggy_seed_port_in_chinese(tmp_path, capsys, monkeypatch):
    file = tmp_path / "answers.txt"
    quiz = make_quiz("ex02_keras_simplified", seed=1, count=3, lang="zh")
    answers = {q.kind: q.answer for q in quiz.questions}
    assert answers["failing"] == "stack2.0" and answers["fix"] == "64, 128, 2"
    file.write_text("\n".join(q.answer for q in quiz.questions), encoding="utf-8")
    assert main(["quiz", "--model", "ex02_keras_simplified", "--seed", "1", "--count", "3",
                 "--answers", str(file), "--lang", "zh"]) == 0
    out = capsys.readouterr().out
    assert "得分：3/3" in out and "残差相加" in out


@pytest.mark.skipif(find_model("resnet34") is None, reason="needs the repository's models/")
def test_quiz_questions_on_resnet34_are_answered_from_the_report():
    quiz = make_quiz("resnet34", seed=7, count=7, lang="en", input_shape="1x3x160x160")
    by_kind = {q.kind: q for q in quiz.questions}
    assert by_kind["adds"].answer == "16"
    assert by_kind["projections"].answer == "layer2.0, layer3.0, layer4.0"
    assert "output" not in by_kind  # look-ups only when the interview questions run out
    conv = by_kind["conv_size"]  # floor((n + 2p - k) / s) + 1, read off the Report
    assert conv.grade(conv.answer) and "floor((" in conv.explanation
    assert by_kind["projections"].grade("layer4.0 layer3.0 layer2.0")
