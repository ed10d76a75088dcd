"""The `shapecheck` command: exit codes, JSON contract, failures as readable paragraphs.

Most checks run the real command in a subprocess (`python -m shapecheck`); each start costs a
few seconds (torch), so every call checks a batch of targets. Option handling that needs no
fresh process runs `cli.main()` in process.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from shapecheck import cli
from shapecheck.codes import CODES

FIXTURES = Path(__file__).parent / "fixtures" / "cli"

# target -> (error kind, file, line) for every way a target can fail
BROKEN = {
    "syntax_error.py": ("load", "syntax_error.py", 7),
    "import_error.py": ("load", "import_error.py", 3),
    "ctor_raises.py:build": ("build", "ctor_raises.py", 8),
    "no_model.py": ("load", "no_model.py", 8),
    "several.py:not_there": ("load", "several.py", 1),
    "untraceable.py:build": ("trace", "untraceable.py", 11),
    "wrong_inputs.py:wrong_channels": ("input", "wrong_inputs.py", 14),
    "wrong_inputs.py:wrong_rank": ("input", "wrong_inputs.py", 14),
    "bad_input_shape.py:build": ("input", "bad_input_shape.py", 3),
}
HEALTHY = ["tiny_resnet.py:build", "noisy.py"]

RESULT_FIELDS = {"target", "input_shapes", "output_shapes", "parameters", "tracer", "error",
                 "residual_adds", "findings"}
ADD_FIELDS = {"node", "module", "location", "shapes", "shortcut", "ok"}
FINDING_FIELDS = {"code", "kind", "severity", "message", "module", "location", "shapes", "fix"}
FIX_FIELDS = {"kind", "in_channels", "out_channels", "stride", "code", "verified"}


def run_cli(*args: str, cwd: Path = FIXTURES) -> subprocess.CompletedProcess:
    """`python -m shapecheck ARGS` in the fixtures directory, ignoring any pyproject config."""
    env = dict(os.environ, PYTHONWARNINGS="ignore", SHAPECHECK_LANG="en")
    env.pop("FORCE_COLOR", None)
    return subprocess.run([sys.executable, "-m", "shapecheck", "--no-config", *args], cwd=cwd,
                          capture_output=True, text=True, env=env, timeout=300)


@pytest.fixture(scope="module")
def json_run() -> subprocess.CompletedProcess:
    return run_cli("--format", "json", *HEALTHY, *BROKEN)


@pytest.fixture(scope="module")
def text_run() -> subprocess.CompletedProcess:
    return run_cli(*HEALTHY, *BROKEN)


def by_target(document: dict) -> dict[str, dict]:
    return {result["target"]: result for result in document["results"]}


# ---------------------------------------------------------------------------- exit codes


def test_exit_0_on_correct_models():
    result = run_cli("tiny_resnet.py", "several.py:mlp")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.splitlines()[-1] == "no errors in 3 models"


def test_exit_1_on_a_buggy_model_and_json_written_to_a_file(tmp_path):
    out = tmp_path / "report.json"
    result = run_cli("buggy_block.py:build_net", "--format", "json", "--output", str(out))
    assert result.returncode == 1, result.stderr
    assert result.stdout == ""
    (report,) = json.loads(out.read_text())["results"]
    (finding,) = report["findings"]
    assert FINDING_FIELDS <= set(finding) and FIX_FIELDS <= set(finding["fix"])
    assert (finding["code"], finding["kind"], finding["severity"], finding["module"],
            finding["location"], finding["shapes"]) == (
        "SC101", "channel_mismatch", "error", "1", {"path": "buggy_block.py", "line": 17},
        [[1, 32, 16, 16], [1, 16, 16, 16]])
    assert (finding["fix"]["kind"], finding["fix"]["in_channels"],
            finding["fix"]["out_channels"], finding["fix"]["stride"]) == ("projection", 16, 32, 1)
    (add,) = report["residual_adds"]
    assert ADD_FIELDS <= set(add)
    assert (add["ok"], add["shortcut"], add["location"]["line"]) == (False, "identity", 17)


def test_exit_2_when_any_target_fails(json_run, text_run):
    assert json_run.returncode == 2
    assert text_run.returncode == 2


# ---------------------------------------------------------------------------- JSON contract


def test_json_is_one_document_with_every_contract_field(json_run):
    document = json.loads(json_run.stdout)  # the whole stdout, nothing else
    assert set(document) == {"shapecheck", "results"}
    assert re.fullmatch(r"\d+\.\d+\.\d+.*", document["shapecheck"])
    for result in document["results"]:
        assert RESULT_FIELDS <= set(result), result["target"]
    # the noisy model's prints, Python-level and straight to descriptor 1, went to stderr
    assert "hello from module level" in json_run.stderr
    assert "written straight to file descriptor 1" in json_run.stderr


def test_json_results_in_a_stable_order(json_run):
    targets = [r["target"] for r in json.loads(json_run.stdout)["results"]]
    assert targets == ["tiny_resnet.py:build", "noisy.py:build", *BROKEN]


def test_json_healthy_results_are_complete(json_run):
    results = by_target(json.loads(json_run.stdout))
    tiny = results["tiny_resnet.py:build"]
    assert (tiny["error"], tiny["input_shapes"], tiny["output_shapes"], tiny["tracer"],
            tiny["findings"]) == (None, [[1, 3, 32, 32]], [[1, 10]], "fx", [])
    assert tiny["parameters"] == 19_962  # conv, BN and fc weights of TinyResNet
    assert [a["shortcut"] for a in tiny["residual_adds"]] == ["identity", "projection"]


def test_json_each_failure_has_kind_file_and_line(json_run):
    results = by_target(json.loads(json_run.stdout))
    for target, (kind, path, line) in BROKEN.items():
        error = results[target]["error"]
        assert (error["kind"], error["location"]) == (kind, {"path": path, "line": line}), target
        assert "Traceback" not in error["message"] and "\n" not in error["message"]


# ---------------------------------------------------------------------------- text output


def test_text_failures_are_one_paragraph_with_file_and_line(text_run):
    output = text_run.stdout + text_run.stderr
    assert "Traceback" not in output
    for target, (kind, path, line) in BROKEN.items():
        assert f"{path}:{line}: error [{kind}]:" in text_run.stdout, target
    assert text_run.stdout.splitlines()[-1] == (
        "no errors in 2 models; 9 models could not be analysed")




def test_malformed_input_flag():
    result = run_cli("tiny_resnet.py:build", "--input", "1,a,32")
    assert result.returncode == 2
    assert "tiny_resnet.py:build: error [input]: --input '1,a,32' is not a shape" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr


def test_output_in_a_missing_directory_writes_nothing(tmp_path):
    out = tmp_path / "missing" / "report.json"
    result = run_cli("tiny_resnet.py:build", "--format", "json", "--output", str(out))
    assert result.returncode == 2
    assert "does not exist" in result.stderr and result.stdout == ""
    assert not out.parent.exists()


# ---------------------------------------------------------------------------- in process


def main_in(monkeypatch, directory: Path, *args: str) -> int:
    monkeypatch.chdir(directory)
    return cli.main(list(args))


def test_verbose_shows_the_traceback(monkeypatch, capsys):
    assert main_in(monkeypatch, FIXTURES, "--no-config", "ctor_raises.py:build", "-v") == 2
    out = capsys.readouterr().out
    assert "ctor_raises.py:8: error [build]" in out
    assert "Traceback (most recent call last)" in out and "divisible by groups" in out


def test_an_analysis_crash_leaves_no_partial_file(tmp_path, monkeypatch, capsys):
    out = tmp_path / "report.json"
    out.write_text("previous\n")

    def crash(*args, **kwargs):
        raise RuntimeError("reporter bug")

    monkeypatch.setattr("shapecheck.reporters.render", crash)
    status = main_in(monkeypatch, FIXTURES, "--no-config", "tiny_resnet.py:build",
                     "--format", "json", "--output", str(out))
    assert status == 2
    assert "internal error: RuntimeError: reporter bug" in capsys.readouterr().err
    assert out.read_text() == "previous\n" and os.listdir(tmp_path) == ["report.json"]


def test_select_ignore_and_unknown_codes(monkeypatch, capsys):
    assert main_in(monkeypatch, FIXTURES, "--no-config", "buggy_block.py:build_net",
                   "--ignore", "SC101") == 0
    assert main_in(monkeypatch, FIXTURES, "--no-config", "buggy_block.py:build_net",
                   "--select", "SC1,SC2") == 1
    assert main_in(monkeypatch, FIXTURES, "--no-config", "buggy_block.py:build_net",
                   "--select", "SC9") == 2
    assert "--select SC9: no such code" in capsys.readouterr().err


@pytest.mark.parametrize("fmt", ["sarif", "github"])
def test_other_formats(fmt, monkeypatch, capsys):
    status = main_in(monkeypatch, FIXTURES, "--no-config", "buggy_block.py:build_net",
                     "--format", fmt)
    out = capsys.readouterr().out
    assert status == 1
    if fmt == "sarif":
        (run,) = json.loads(out)["runs"]
        assert [r["ruleId"] for r in run["results"]] == ["SC101"]
    else:
        assert out.startswith("::error file=buggy_block.py,line=17")


def test_confirm_on_cpu_adds_the_real_run(monkeypatch, capsys):
    status = main_in(monkeypatch, FIXTURES, "--no-config", "buggy_block.py:build_net",
                     "--confirm", "--device", "cpu", "--format", "json")
    (result,) = json.loads(capsys.readouterr().out)["results"]
    assert status == 1
    confirm = result["confirm"]
    assert (confirm["predicted_errors"], confirm["errors_confirmed"],
            confirm["nodes_compared"] == confirm["nodes_agree"]) == (1, 1, True)


def test_config_supplies_targets_and_format(tmp_path, monkeypatch, capsys):
    (tmp_path / "model.py").write_text(textwrap.dedent("""
        from torch import nn
        INPUT_SHAPE = (1, 4)
        def build() -> nn.Module:
            return nn.Linear(4, 2)
        """))
    (tmp_path / "pyproject.toml").write_text(textwrap.dedent("""
        [tool.shapecheck]
        targets = ["model.py"]
        format = "json"
        input = "2,4"
        """))
    assert main_in(monkeypatch, tmp_path) == 0
    (result,) = json.loads(capsys.readouterr().out)["results"]
    assert (result["target"], result["input_shapes"]) == ("model.py:build", [[2, 4]])
    assert main_in(monkeypatch, tmp_path, "--format", "text", "--input", "3,4") == 0
    assert capsys.readouterr().out.startswith("ok   model.py:build  3x4 -> 3x2")


def test_usage_errors(tmp_path, monkeypatch, capsys):
    assert main_in(monkeypatch, tmp_path, "--no-config") == 2
    assert "no TARGET given" in capsys.readouterr().err
    assert main_in(monkeypatch, tmp_path, "--format", "xml", "m.py") == 2
    assert main_in(monkeypatch, FIXTURES, "--no-config", "tiny_resnet.py", "--confirm",
                   "--device", "tpu") == 2
    assert "--device tpu" in capsys.readouterr().err


def test_list_codes_and_version(monkeypatch, capsys):
    assert main_in(monkeypatch, FIXTURES, "--list-codes") == 0
    listed = [line.split()[0] for line in capsys.readouterr().out.splitlines()]
    assert listed == [c.code for c in CODES]
    assert main_in(monkeypatch, FIXTURES, "--list-codes", "--format", "json") == 0
    assert [c["code"] for c in json.loads(capsys.readouterr().out)["codes"]] == listed
    assert main_in(monkeypatch, FIXTURES, "--version") == 0
    assert capsys.readouterr().out.startswith("shapecheck 0.1.0 (torch ")


def test_graphs_get_one_file_per_model(tmp_path, monkeypatch, capsys):
    assert cli.graph_paths("g.svg", ["a/x.py:build"]) == ["g.svg"]
    assert cli.graph_paths("out/g.dot", ["a/x.py:Net", "b/x.py:Net", "y.py"]) == [
        "out/g-x-Net.dot", "out/g-x-Net-2.dot", "out/g-y.dot"]
    graph = tmp_path / "g.dot"
    status = main_in(monkeypatch, FIXTURES, "--no-config", "several.py:mlp",
                     "several.py:make_model_small", "--graph", str(graph))
    assert status == 0
    assert sorted(os.listdir(tmp_path)) == ["g-several-make_model_small.dot", "g-several-mlp.dot"]
    assert all((tmp_path / name).read_text().lstrip().startswith("digraph")
               for name in os.listdir(tmp_path))


def test_subcommand_dispatch(monkeypatch, capsys):
    called = []

    class FakeExercises:
        @staticmethod
        def main(argv):
            called.append(argv)
            return 0

    monkeypatch.setitem(sys.modules, "shapecheck.exercises.cli", FakeExercises)
    assert cli.main(["quiz", "--list"]) == 0
    assert called == [["quiz", "--list"]]
    monkeypatch.setitem(sys.modules, "shapecheck.exercises.cli", None)
    assert cli.main(["exercises"]) == 2
    assert "not available" in capsys.readouterr().err
