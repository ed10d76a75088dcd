"""Source fixes: each finding's fix as a verified edit of the user's file (`--diff`, `--fix`)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from shapecheck.repair import edits
from shapecheck.repair.run import apply_fixes, find_fixes

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


@pytest.fixture
def copy_of(tmp_path, monkeypatch):
    """Copy example files into a temporary folder and work there (the repo stays pristine)."""
    def copy(*names: str) -> Path:
        for name in names:
            shutil.copy(EXAMPLES / name, tmp_path / name)
        monkeypatch.chdir(tmp_path)
        monkeypatch.syspath_prepend(str(tmp_path))
        for module in ("keras_resnext", "keras_resnext_buggy"):  # import the copies, not the repo's
            sys.modules.pop(module, None)
        return tmp_path
    return copy


def fixes_of(spec: str):
    return [(f.finding.code, f.finding.module, f.kind, f.applicability, f.description)
            for f in find_fixes([spec]).fixes]


def changed_lines(diff: str) -> list[str]:
    return [line for line in diff.splitlines()
            if line[:1] in "+-" and not line.startswith(("+++", "---"))]


def test_keras_port_two_findings_two_call_site_edits(copy_of):
    copy_of("keras_resnext.py", "keras_resnext_buggy.py")
    found = find_fixes(["keras_resnext_buggy.py:build"]).fixes
    assert [(f.finding.code, f.finding.module, f.kind) for f in found] == [
        ("SC101", "stack2.0", "call-argument"), ("SC102", "stack4.3", "call-argument")]
    assert [changed_lines(f.diff) for f in found] == [
        ["-    layers = [Block(in_channels, filters, strides=strides, groups=groups, "
         "conv_shortcut=False)]",
         "+    layers = [Block(in_channels, filters, strides=strides, groups=groups, "
         "conv_shortcut=True)]"],
        ["-    s.append(Block(filters * 2, filters, strides=2, groups=groups, "
         "conv_shortcut=False))",
         "+    s.append(Block(filters * 2, filters, strides=2, groups=groups, "
         "conv_shortcut=True))"]]
    assert {f.applicability for f in found} == {"unsafe"}  # a projection adds parameters


def test_fix_with_unsafe_fixes_makes_the_copy_clean_and_runnable(copy_of):
    folder = copy_of("keras_resnext.py", "keras_resnext_buggy.py")
    spec = "keras_resnext_buggy.py:build"
    safe_only = apply_fixes(find_fixes([spec]), [spec])
    assert safe_only.written == []  # no safe fix exists: --fix alone writes nothing
    done = apply_fixes(find_fixes([spec]), [spec], unsafe=True)
    assert [Path(p).name for p in done.written] == ["keras_resnext_buggy.py"]
    assert find_fixes([spec]).fixes == []  # nothing left to fix
    run = subprocess.run(
        [sys.executable, "-c", "import torch, keras_resnext_buggy as m; "
         "print(tuple(m.build().eval()(torch.zeros(1, 3, 64, 64)).shape))"],
        cwd=folder, capture_output=True, text=True, timeout=300)
    assert run.stdout.strip() == "(1, 1000)", run.stderr
    assert (folder / "keras_resnext.py").read_text() == (EXAMPLES / "keras_resnext.py").read_text()


def test_interview_first_block_flag_is_fixed_at_its_call(copy_of):
    copy_of("interview_resnet.py")
    assert fixes_of("interview_resnet.py:resnet18_misplaced_first_block") == [
        ("SC101", "b3.0", "call-argument", "unsafe",
         "first_block=True -> first_block=False in the call at interview_resnet.py:113")]


def test_d2l_missing_projection_flag_is_added_at_its_call(copy_of):
    copy_of("d2l_resnext.py")
    [fix] = find_fixes(["d2l_resnext.py:residual_stride2_no_projection"]).fixes
    assert (fix.finding.code, fix.kind) == ("SC102", "call-argument")
    assert fix.description.startswith("use_1x1conv (default False) -> use_1x1conv=True")
    [removed, added] = changed_lines(fix.diff)
    assert added == removed.replace(")", ", use_1x1conv=True)", 1).replace("-", "+", 1)


def test_cifar_resnext_projection_rule_gets_the_stride(copy_of):
    copy_of("cifar_resnext.py")
    [fix] = find_fixes(["cifar_resnext.py:cifar_resnext_equal_width_stride2"]).fixes
    assert fix.kind == "builder-condition"
    assert changed_lines(fix.diff) == ["-        if in_channels != out_channels:",
                                       "+        if stride != 1 or in_channels != out_channels:"]


def test_every_diff_applies_to_a_pristine_copy(copy_of, tmp_path):
    copy_of("keras_resnext.py", "keras_resnext_buggy.py", "interview_resnet.py",
            "cifar_resnext.py")
    diffs = [f.diff for spec in ("keras_resnext_buggy.py:build",
                                 "interview_resnet.py:resnet18_misplaced_first_block",
                                 "cifar_resnext.py:cifar_resnext_equal_width_stride2")
             for f in find_fixes([spec]).fixes]
    assert len(diffs) == 4
    for diff in diffs:
        check = subprocess.run(["git", "apply", "--check", "-p1", "-"], input=diff, text=True,
                               cwd=tmp_path, capture_output=True)
        assert check.returncode == 0, check.stderr


def test_a_correct_model_gets_no_fix():
    assert find_fixes([str(EXAMPLES.parent / "models" / "resnet.py") + ":resnet18"]).fixes == []


def test_cli_diff_keeps_the_exit_status_and_prints_the_edit(copy_of, capsys):
    from shapecheck import cli

    copy_of("interview_resnet.py")
    status = cli.main(["--no-config", "interview_resnet.py:resnet18_misplaced_first_block",
                       "--diff"])
    out, err = capsys.readouterr()
    assert status == 1
    assert "+        resnet_block(64, 128, 2, first_block=False),  # bug: copied from the " \
           "line above" in out
    assert "[*] 0 fixable with --fix; 1 more with --unsafe-fixes" in err


def test_edits_keep_comments_and_formatting():
    source = "net = Block(64,   128,  # widths\n            use=False)  # keep\n"
    assert edits.set_argument(source, 1, 6, "use", "True") == \
        "net = Block(64,   128,  # widths\n            use=True)  # keep\n"
    with pytest.raises(edits.EditError):
        edits.widen_condition("x = 1\n", 1, "stride != 1")


def test_verification_never_writes_the_users_file(copy_of):
    folder = copy_of("interview_resnet.py")
    before = (folder / "interview_resnet.py").read_text()
    assert find_fixes(["interview_resnet.py:resnet18_misplaced_first_block"]).fixes
    assert (folder / "interview_resnet.py").read_text() == before
    assert torch.zeros(1).device.type == "cpu"  # nothing moved torch's default device
