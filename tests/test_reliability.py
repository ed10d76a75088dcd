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
    # better defaults: a batch of 2, the size the model was built for, a missing dimension
    Case(("flatten_without_start_dim.py",), 1, "fc (Linear 64->10) expects 64 input features "
         "but receives 128 (input 128); torch.flatten(x) without start_dim flattens the batch "
         "too: write torch.flatten(x, 1)"),
    Case(("cifar_without_input.py",), 0, "no input shape given: checked at 32x32, the size "
         "the classifier was built for; pass --input to choose"),
    Case(("mnist_view_without_input.py",), 0, "mnist_view_without_input.py:Net  2x1x28x28 -> "
         "2x10  residual adds 1/1 ok"),
    Case(("mnist_view_without_input.py",), 0, "checked at 28x28, the size the model was built "
         "for; pass --input to choose (at the default 224x224, the output has 128 rows for a "
         "batch of 2"),
    Case(("cifar_buggy_without_input.py",), 1, "main branch has 32 channels at 32x32, identity "
         "shortcut has 16 channels at 32x32"),
    Case(("input_missing_a_dimension.py",), 2, "1x3x224 looks like N,C,H: W is missing "
         "(--input 1,3,224,224); PyTorch reads 3 dimensions as one unbatched C,H,W image "
         "instead", ("--input", "1,3,224")),
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


@pytest.mark.parametrize("run_all", [(), ("--exec",)], ids=["definitions", "exec"])
def test_chdir_at_import_moves_neither_the_report_nor_the_next_target(run_all, tmp_path, capsys,
                                                                      monkeypatch):
    for name in ("chdir_at_import.py", "clean_block.py"):
        shutil.copy(os.path.join(CASES_DIR, name), tmp_path)
    monkeypatch.chdir(tmp_path)
    status, _ = _run(capsys, [*run_all, "--format", "json", "-o", "report.json",
                              "chdir_at_import.py", "clean_block.py"])
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


def test_default_input_has_a_batch_of_two():
    [report] = check_spec(os.path.join(CASES_DIR, "flatten_without_start_dim.py"))
    assert (report.input_shapes, [(f.code, f.module, f.shapes) for f in report.findings]) == (
        [(2, 3, 224, 224)], [("SC201", "fc", ((128,), (64,)))])


def test_a_model_buggy_at_every_size_keeps_its_finding_at_its_built_size():
    [report] = check_spec(os.path.join(CASES_DIR, "cifar_buggy_without_input.py"))
    assert (report.input_shapes, [(f.code, f.module, f.location.line) for f in report.findings]
            ) == ([(2, 3, 32, 32)], [("SC101", "block2", 15)])
    assert report.notes[0].startswith("no input shape given: checked at 32x32")


def test_a_classifier_wrong_at_every_size_is_reported_at_the_default_size(tmp_path):
    with open(os.path.join(CASES_DIR, "cifar_without_input.py")) as case:
        source = case.read()
    (tmp_path / "wrong_classifier.py").write_text(
        source.replace("nn.Linear(64 * 4, num_classes)", "nn.Linear(63, num_classes)"))
    [report] = check_spec(str(tmp_path / "wrong_classifier.py"))
    assert (report.input_shapes, [(f.code, f.module) for f in report.findings]) == (
        [(2, 3, 224, 224)], [("SC201", "linear")])
    assert report.notes == ["no input shape given: assumed (2, 3, 224, 224) from the first layer"]


def test_an_explicit_input_is_never_replaced():
    [report] = check_spec(os.path.join(CASES_DIR, "cifar_without_input.py"), inputs="2,3,64,64")
    assert (report.input_shapes, [(f.code, f.module) for f in report.findings]) == (
        [(2, 3, 64, 64)], [("SC201", "linear")])


def test_the_suite_leaves_no_file_process_timer_or_partial_output(tmp_path, capsys,
                                                                  monkeypatch):
    """Every case again, with its report written by -o: nothing appears outside tmp_path
    (the user files' tempfile calls land there too), no child process or alarm is left,
    and every report is whole JSON with no temporary file beside it."""
    import signal
    import tempfile

    repo = os.path.dirname(HERE)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    work, out = tmp_path / "work", tmp_path / "out"
    work.mkdir()
    out.mkdir()
    monkeypatch.chdir(work)
    before = _tree(repo), _children(), signal.getsignal(signal.SIGALRM)
    runs = [(c.files, c.args) for c in CASES] + [
        (("train_at_top_level.py",), ("--exec",)), (("chdir_at_import.py",), ("--exec",))]
    for number, (files, args) in enumerate(runs):
        _run(capsys, [*args, "--format", "json", "-o", str(out / f"{number}.json"),
                      *(os.path.join(CASES_DIR, f) for f in files)])
        assert os.getcwd() == str(work)
    assert (_tree(repo), _children(), signal.getsignal(signal.SIGALRM)) == before
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)
    assert sorted(os.listdir(out)) == sorted(f"{n}.json" for n in range(len(runs)))
    for number, (files, _) in enumerate(runs):
        document = json.loads((out / f"{number}.json").read_text())
        assert len(document["results"]) >= len(files)


def _tree(repo: str) -> set[str]:
    """Where a run could write beside the user: the case and corpus folders (all of them)
    and the repository's top level (the cwd of the other tests). Not the whole tree: other
    work may change it meanwhile."""
    files = {os.path.join(repo, name) for name in os.listdir(repo)}
    for root in (CASES_DIR, CORPUS):
        files |= {os.path.join(folder, name) for folder, dirs, names in os.walk(root)
                  for name in dirs + names}
    return files


def _children() -> set[int]:
    """The processes whose parent is this one, zombies included (from /proc)."""
    pids = set()
    for entry in os.listdir("/proc") if os.path.isdir("/proc") else ():
        try:
            with open(f"/proc/{entry}/stat") as stat:
                parent = int(stat.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        if parent == os.getpid():
            pids.add(int(entry))
    return pids


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


@pytest.mark.parametrize("inputs", ["2,3,32,32", None], ids=["input", "no-input"])
@pytest.mark.parametrize("path", sorted(CORPUS_MODELS))
def test_corpus_has_no_false_error_and_exact_adds(path, inputs):
    """Also without --input: every corpus model is a CIFAR one, found to be built for 32."""
    expected = CORPUS_MODELS[path]
    seen = {}
    for name, adds in expected.items():
        [report] = check_spec(f"{os.path.join(CORPUS, path)}:{name}", inputs=inputs)
        seen[name] = (report.error, [f.code for f in report.errors], len(report.residual_adds),
                      report.input_shapes)
    assert seen == {name: (None, [], adds, [(2, 3, 32, 32)]) for name, adds in expected.items()}


def test_a_cifar_model_checked_without_input_is_clean_at_32():
    """The issue's case: kuangliu's ResNet18 without --input was SC201 at 224x224."""
    [report] = check_spec(os.path.join(CORPUS, "kuangliu-pytorch-cifar", "resnet.py:ResNet18"))
    assert (report.error, report.findings, report.input_shapes, len(report.residual_adds)) == (
        None, [], [(2, 3, 32, 32)], 8)
    assert report.notes[0].startswith(
        "no input shape given: checked at 32x32, the size the classifier was built for; "
        "pass --input to choose (at the default 224x224, linear fails: it expects 512 input "
        "features but receives 25088)")


def test_corpus_files_keep_their_licence():
    for folder in {p.split("/")[0] for p in CORPUS_MODELS}:
        assert os.path.isfile(os.path.join(CORPUS, folder, "LICENSE"))
