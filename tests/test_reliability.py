"""Learners' real files: never run their training, never hang, never a wrong verdict.

Each case is one small file under tests/reliability/ (a notebook for the notebook cases),
checked through the command line with the exit status and a fragment of the message
expected. A corpus of third-party model files (tests/corpus/, with their licences) must
give no false error and exactly the residual adds their code has.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass

import pytest

from shapecheck.cli import main
from shapecheck.runner import check_spec

HERE = os.path.dirname(os.path.abspath(__file__))
CASES_DIR = os.path.join(HERE, "reliability")
CORPUS = os.path.join(HERE, "corpus")


@dataclass(frozen=True)
class Case:
    files: tuple[str, ...]
    status: int
    fragment: str
    args: tuple[str, ...] = ()


CASES = [
    Case(("train_at_top_level.py",), 0,
         "skipped top-level code at lines 17-21 (a training loop, a call to save()); "
         "--exec runs the whole file"),
    Case(("argparse_at_top_level.py",), 0, "residual adds 1/1 ok"),
    Case(("argparse_required.py",), 2, "argparse's parse_args() ran at top level"),
    Case(("input_at_import.py",), 2, "it reads standard input (input())", ("--exec",)),
    Case(("input_at_import.py",), 2, "name 'width' is not defined: the name is set by "
         "top-level code that shapecheck did not run"),
    Case(("system_exit_at_import.py",), 2,
         "system_exit_at_import.py:6: error [load]: importing"),
    Case(("keyboard_interrupt_at_import.py",), 2, "it raised KeyboardInterrupt while being imported"),
    Case(("pretrained_weights.py",), 0,
         "pretrained weights were not downloaded (asked for at "),
    Case(("hub_load_at_import.py",), 2,
         "hub_load_at_import.py:4: error [load]: importing tests/reliability/hub_load_at_import.py "
         "failed: torch.hub.load('pytorch/vision') needs the network"),
    Case(("hangs_in_constructor.py", "clean_block.py"), 2,
         "did not finish within the time limit of 1 s (last line reached: "
         "tests/reliability/hangs_in_constructor.py:10)", ("--timeout", "1")),
    Case(("d2l_lazy_resnet_ok.py",), 0, "residual adds 8/8 ok"),
    Case(("d2l_lazy_resnet_forgot_1x1.py",), 1, "residual adds 5/8 ok"),
    Case(("d2l_lazy_residual_bug.py",), 1, "main branch has 6 channels at 6x6"),
    Case(("d2l_lazy_resnext_bug.py",), 1, "main branch has 64 channels at 24x24"),
    Case(("context_rank_mismatch.py",), 1, "index it as x[:, :, None, None]"),
    Case(("device_move_in_forward.py",), 1, "main branch has 32 channels at 8x8"),
    Case(("float_functional_add.py",), 1, "main branch has 15 channels at 8x8"),
    Case(("torch_add_keywords.py",), 1, "main branch has 32 channels at 4x4"),
    Case(("two_input_forward.py",), 2,
         "Fusion.forward(rgb, depth) takes 2 inputs, but 1 was given"),
    Case(("record_layer_norm.py",), 1, "main branch has 63 features at 10 tokens"),
    Case(("keyerror_in_forward.py",), 2, "forward raised KeyError: 'mian' (a bug in the model's code"),
    Case(("helper_base_class.py",), 0, "helper_base_class.py:Net"),
    Case(("parameter_free_only.py",), 2, "no model found in tests/reliability/parameter_free_only.py"),
    Case(("confirm_raises.py",), 1, "static analysis missed this: the real run on cpu raised "
         "IndexError", ("--confirm", "--device", "cpu")),
    Case(("homework.ipynb",), 1, "tests/reliability/homework.ipynb:cell 3:line 7: SC101"),
    Case(("homework.ipynb",), 1, "skipped top-level code at cell 5 lines 2-3 (a training loop)"),
    Case(("not_a_notebook.ipynb",), 2, "is not a readable Jupyter notebook"),
]


def _run(capsys, args: list[str]) -> tuple[int, str]:
    status = main(["--no-config", "--no-color", *args])
    captured = capsys.readouterr()
    return status, captured.out + captured.err


@pytest.mark.parametrize("case", CASES, ids=lambda c: "+".join(c.files) + "".join(c.args))
def test_case(case: Case, capsys, monkeypatch):
    monkeypatch.chdir(os.path.dirname(HERE))
    before = sorted(os.listdir(CASES_DIR))
    status, output = _run(capsys, [*case.args, *(os.path.join("tests", "reliability", f)
                                                   for f in case.files)])
    assert (status, case.fragment in output) == (case.status, True), output
    assert "Traceback" not in output
    assert sorted(os.listdir(CASES_DIR)) == before  # nothing written beside the files


def test_training_code_is_not_run(tmp_path, capsys, monkeypatch):
    shutil.copy(os.path.join(CASES_DIR, "train_at_top_level.py"), tmp_path)
    monkeypatch.chdir(tmp_path)
    status, output = _run(capsys, ["train_at_top_level.py:Block"])
    assert status == 0 and not (tmp_path / "net.pth").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["train_at_top_level.py"]


def test_exec_runs_the_whole_file(tmp_path, capsys, monkeypatch):
    shutil.copy(os.path.join(CASES_DIR, "train_at_top_level.py"), tmp_path)
    monkeypatch.chdir(tmp_path)
    status, output = _run(capsys, ["--exec", "train_at_top_level.py:Block"])
    assert status == 0 and (tmp_path / "net.pth").exists() and "skipped" not in output


def test_chdir_at_import_moves_neither_the_report_nor_the_next_target(tmp_path, capsys,
                                                                      monkeypatch):
    for name in ("chdir_at_import.py", "clean_block.py"):
        shutil.copy(os.path.join(CASES_DIR, name), tmp_path)
    monkeypatch.chdir(tmp_path)
    status, _ = _run(capsys, ["--format", "json", "-o", "report.json", "chdir_at_import.py",
                              "clean_block.py"])
    document = json.loads((tmp_path / "report.json").read_text())
    assert (status, os.getcwd(), [r["error"] for r in document["results"]]) == (
        0, str(tmp_path), [None, None])


def test_the_next_target_runs_after_a_timeout(capsys, monkeypatch):
    monkeypatch.chdir(os.path.dirname(HERE))
    status, output = _run(capsys, ["--timeout", "1", "--format", "json",
                                   "tests/reliability/hangs_in_constructor.py",
                                   "tests/reliability/clean_block.py"])
    results = json.loads(output[output.index("{"):])["results"]
    assert status == 2
    assert [(r["target"].split("/")[-1], r["error"] and r["error"]["kind"],
             r["error"] and r["error"]["location"]["line"]) for r in results] == [
        ("hangs_in_constructor.py:Net", "build", 10), ("clean_block.py:Block", None, None)]


def test_binary_file_is_named_not_located_in_importlib(tmp_path, capsys):
    binary = tmp_path / "weights.py"
    binary.write_bytes(b"\x80\x02PK\x00\x00torch")
    status, output = _run(capsys, [str(binary)])
    assert status == 2 and "contains binary data" in output and "<frozen" not in output


def test_timeout_in_pyproject(tmp_path, capsys, monkeypatch):
    shutil.copy(os.path.join(CASES_DIR, "hangs_in_constructor.py"), tmp_path)
    (tmp_path / "pyproject.toml").write_text("[tool.shapecheck]\ntimeout = 1\n")
    monkeypatch.chdir(tmp_path)
    status = main(["hangs_in_constructor.py"])
    assert status == 2 and "time limit of 1 s" in capsys.readouterr().out


def test_notebooks_in_a_directory_are_checked(tmp_path, capsys):
    shutil.copy(os.path.join(CASES_DIR, "homework.ipynb"), tmp_path)
    status, output = _run(capsys, ["--format", "json", str(tmp_path)])
    results = json.loads(output[output.index("{"):])["results"]
    assert status == 1
    assert {(f["code"], f["location"]["cell"], f["location"]["line"])
            for r in results for f in r["findings"]} == {("SC101", 3, 7)}


def test_d2l_lazy_models_give_findings_like_eager_ones():
    [report] = check_spec(os.path.join(CASES_DIR, "d2l_lazy_resnet_forgot_1x1.py"))
    assert [(f.kind, f.module, f.location.line) for f in report.findings] == [
        ("channel_mismatch", f"net.b{i}.0", 30) for i in (3, 4, 5)]


# ---------------------------------------------------------------------------- the corpus

# residual adds, counted by reading the code: one `out += shortcut` per block
CORPUS_MODELS = {
    "kuangliu-pytorch-cifar/resnet.py": {"ResNet18": 8, "ResNet34": 16, "ResNet50": 16,
                                         "ResNet101": 33, "ResNet152": 50},
    "kuangliu-pytorch-cifar/preact_resnet.py": {
        "PreActResNet18": 8, "PreActResNet34": 16, "PreActResNet50": 16,
        "PreActResNet101": 33, "PreActResNet152": 50},
    "kuangliu-pytorch-cifar/resnext.py": {"ResNeXt29_2x64d": 9, "ResNeXt29_4x64d": 9,
                                          "ResNeXt29_8x64d": 9, "ResNeXt29_32x4d": 9},
    "kuangliu-pytorch-cifar/senet.py": {"SENet18": 8},
    # stride-1 blocks only: 1 + 2 + 2 + 3 + 3 + 2 + 1
    "kuangliu-pytorch-cifar/mobilenetv2.py": {"MobileNetV2": 14},
}


@pytest.mark.parametrize("path", sorted(CORPUS_MODELS))
def test_corpus_has_no_false_error_and_exact_adds(path):
    expected = CORPUS_MODELS[path]
    seen = {}
    for name, adds in expected.items():
        [report] = check_spec(f"{os.path.join(CORPUS, path)}:{name}", inputs="2,3,32,32")
        seen[name] = (report.error, [f.code for f in report.errors], len(report.residual_adds))
    assert seen == {name: (None, [], adds) for name, adds in expected.items()}


def test_corpus_files_keep_their_licence():
    for folder in {p.split("/")[0] for p in CORPUS_MODELS}:
        assert os.path.isfile(os.path.join(CORPUS, folder, "LICENSE"))
