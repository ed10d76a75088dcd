"""The pytest plugin (`pytest --shapecheck`) and the `shapecheck.testing` assertions."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import sys

import pytest

# The engine is imported here, before any pytester snapshot of sys.modules: a test using
# pytester drops the modules first imported during it, and torch cannot be imported twice.
import shapecheck.runner  # noqa: F401
from shapecheck.api import check
from shapecheck.report import Finding, Location, Report, TargetError
from shapecheck.testing import assert_finding, assert_no_shape_errors, format_report

pytest_plugins = ["pytester"]
HOMEWORK = os.path.join(os.path.dirname(__file__), "reliability", "homework.ipynb")

GOOD = '''import torch.nn as nn

INPUT_SHAPE = (1, 16, 8, 8)


class GoodBlock(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(16, 32, 3, stride=2, padding=1)
        self.shortcut = nn.Conv2d(16, 32, 1, stride=2)

    def forward(self, x):
        return self.conv(x) + self.shortcut(x)
'''

BUGGY = '''from torch import nn

INPUT_SHAPE = (1, 16, 8, 8)


class BuggyBlock(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(16, 32, 3, stride=2, padding=1)

    def forward(self, x):
        return self.conv(x) + x
'''

BROKEN = '''import torch.nn as nn


class Broken(nn.Module):
    def __init__(self):
        super().__init__()
        raise ValueError("width must be positive")
'''


HELPERS = '''import torch.nn as nn


class ConvBN(nn.Sequential):
    def __init__(self, cin: int, cout: int):
        super().__init__(nn.Conv2d(cin, cout, 3, padding=1), nn.BatchNorm2d(cout))
'''


@pytest.fixture
def model_dir(pytester):
    pytester.makepyfile(good_model=GOOD, buggy_model=BUGGY)
    pytester.makepyfile(helpers="def add(a, b):\n    return a + b\n")  # no torch.nn
    pytester.makepyfile(test_plain="def test_one():\n    assert True\n")
    return pytester


def test_nothing_is_collected_without_the_flag(model_dir):
    result = model_dir.runpytest("--collect-only", "-q")
    result.stdout.no_fnmatch_line("*::shapecheck*")
    result.stdout.fnmatch_lines(["test_plain.py::test_one"])


def test_flag_collects_one_item_per_model_file(model_dir):
    result = model_dir.runpytest("--shapecheck", "--collect-only", "-q")
    result.stdout.fnmatch_lines_random(["buggy_model.py::shapecheck", "good_model.py::shapecheck",
                                        "test_plain.py::test_one"])
    result.stdout.no_fnmatch_line("helpers.py*")
    result.stdout.no_fnmatch_line("test_plain.py::shapecheck")


def test_notebooks_are_collected_when_their_code_uses_torch_nn(model_dir):
    shutil.copy(HOMEWORK, model_dir.path / "homework.ipynb")
    (model_dir.path / "notes.ipynb").write_text(json.dumps(
        {"cells": [{"cell_type": "code", "source": "print(1)", "metadata": {}, "outputs": []}],
         "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    result = model_dir.runpytest("--shapecheck", "--collect-only", "-q")
    result.stdout.fnmatch_lines(["homework.ipynb::shapecheck"])
    result.stdout.no_fnmatch_line("notes.ipynb*")


def test_patterns_ini_option_narrows_the_files(model_dir):
    model_dir.makeini("[pytest]\nshapecheck_patterns = good_*.py\n")
    result = model_dir.runpytest("--shapecheck", "--collect-only", "-q")
    result.stdout.fnmatch_lines(["good_model.py::shapecheck"])
    result.stdout.no_fnmatch_line("buggy_model.py*")


def test_correct_model_passes_buggy_and_broken_models_fail_with_their_findings(model_dir):
    model_dir.makepyfile(broken_model=BROKEN, layers=HELPERS)
    # A subprocess: an in-process run would drop the torch modules it imports afterwards.
    result = model_dir.runpytest_subprocess("--shapecheck", "-p", "no:cacheprovider", "-rfs")
    result.assert_outcomes(passed=2, failed=2, skipped=1)
    result.stdout.fnmatch_lines(["SKIPPED*no model in layers.py (a helper file)*"])
    result.stdout.fnmatch_lines([
        "*_ shapecheck broken_model.py _*",
        "*broken_model.py:7*width must be positive*",
        "*_ shapecheck buggy_model.py _*",
        "*buggy_model.py:12: SC101*channel_mismatch*",
        "*main branch 1x32x4x4*shortcut 1x16x8x8*",
        "*nn.Conv2d(16, 32, kernel_size=1, stride=2, bias=False)*",
    ])
    result.stdout.fnmatch_lines_random(["FAILED broken_model.py::shapecheck*",
                                        "FAILED buggy_model.py::shapecheck*"])
    result.stdout.no_fnmatch_line("FAILED good_model.py*")
    result.stdout.no_fnmatch_line("*Traceback*")


def test_marker_selects_only_shapecheck_items(model_dir):
    result = model_dir.runpytest("--shapecheck", "-m", "not shapecheck", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, deselected=2)


# shapecheck.testing -----------------------------------------------------------------------

def _import(path, name):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def blocks(tmp_path_factory):
    directory = tmp_path_factory.mktemp("blocks")
    (directory / "sc_good_block.py").write_text(GOOD)
    (directory / "sc_buggy_block.py").write_text(BUGGY)
    good = _import(directory / "sc_good_block.py", "sc_testing_good_block")
    buggy = _import(directory / "sc_buggy_block.py", "sc_testing_buggy_block")
    return good.GoodBlock, buggy.BuggyBlock


def test_assert_no_shape_errors_returns_the_report_of_a_correct_model(blocks):
    good, _ = blocks
    report = assert_no_shape_errors(good(), (1, 16, 8, 8))
    assert report.ok and report.output_shapes == [(1, 32, 4, 4)]


def test_assert_no_shape_errors_lists_each_error_with_place_shapes_and_fix(blocks):
    _, buggy = blocks
    with pytest.raises(AssertionError) as raised:
        assert_no_shape_errors(buggy(), (1, 16, 8, 8))
    text = str(raised.value)
    assert text.startswith("shapecheck found 1 shape error in BuggyBlock:")
    assert "sc_buggy_block.py:12: SC101 channel_mismatch in the top-level module" in text
    assert "shapes: main branch 1x32x4x4, shortcut 1x16x8x8" in text
    assert "nn.Conv2d(16, 32, kernel_size=1, stride=2, bias=False)" in text


def test_assert_no_shape_errors_on_a_target_string(tmp_path):
    (tmp_path / "two_blocks.py").write_text(GOOD + BUGGY.replace("from torch import nn\n", ""))
    with pytest.raises(AssertionError, match="SC101 channel_mismatch"):
        assert_no_shape_errors(str(tmp_path / "two_blocks.py"))
    reports = assert_no_shape_errors(f"{tmp_path / 'two_blocks.py'}:GoodBlock")
    assert [r.ok for r in reports] == [True]


def test_assert_finding_matches_kind_code_module_and_line(blocks):
    _, buggy = blocks
    report = check(buggy(), (1, 16, 8, 8))
    finding = assert_finding(report, kind="channel_mismatch", module="", line=12)
    assert finding.code == "SC101" and finding.shapes == ((1, 32, 4, 4), (1, 16, 8, 8))
    assert assert_finding(report, "SC101") is finding
    with pytest.raises(AssertionError, match="no finding with kind='spatial_mismatch'"):
        assert_finding(report, kind="spatial_mismatch")
    with pytest.raises(AssertionError, match="line=13"):
        assert_finding(report, kind="channel_mismatch", line=13)


def test_assert_finding_explains_a_target_that_was_not_analysed():
    report = Report("m.py:Net", error=TargetError("build", "constructor raised"))
    with pytest.raises(AssertionError, match="not analysed: build error: constructor raised"):
        assert_finding(report, kind="channel_mismatch")


def test_format_report_counts_errors_and_warnings():
    warning = Finding("SC104", "suspicious_broadcast", "warning", "maybe", "b", Location("m.py", 3))
    error = Finding("SC101", "channel_mismatch", "error", "bad", "a", Location("m.py", 2))
    text = format_report(Report("m.py:Net", findings=[error, warning]))
    assert text.splitlines()[0] == "m.py:Net: 1 shape error, 1 warning:"
    assert "  m.py:2: SC101 channel_mismatch in a: bad" in text
