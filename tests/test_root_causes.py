"""One root cause, one finding; and its fix as one edit of the class body or the pool."""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import torch
from torch import nn

import shapecheck
from shapecheck.cli import main
from shapecheck.load.targets import load_targets
from shapecheck.report import Report
from shapecheck.reporters.text import summary_line
from shapecheck.repair.run import apply_fixes, find_fixes

DATA = Path(__file__).resolve().parent / "data" / "repair"
SARIF_SCHEMA = json.loads((Path(__file__).parent / "data" / "sarif-schema-2.1.0.json").read_text())


@pytest.fixture
def copy_of(tmp_path, monkeypatch):
    """Copy a test model into a temporary folder and work there."""
    def copy(name: str) -> Path:
        shutil.copy(DATA / name, tmp_path / name)
        monkeypatch.chdir(tmp_path)
        return tmp_path / name
    return copy


def report_of(spec: str, **options) -> Report:
    (target,) = load_targets(spec)
    return shapecheck.check(target.factory(), target.inputs, **options)


def changed_lines(diff: str) -> list[str]:
    return [line for line in diff.splitlines()
            if line[:1] in "+-" and not line.startswith(("+++", "---"))]


def load(path: Path):
    spec = importlib.util.spec_from_file_location(f"patched_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_class_width_bug_is_one_finding_with_every_place_listed(copy_of):
    copy_of("resnext18_width.py")
    report = report_of("resnext18_width.py:resnext18")
    (finding,) = report.findings
    assert (finding.code, finding.module) == ("SC101", "layer1.0")
    assert finding.instances[0].finding == report.ungrouped().findings[0]
    adds = [(i.module, i.finding.shapes) for i in finding.instances if i.role == "add"]
    assert [m for m, _ in adds] == [f"layer{s}.{b}" for s in (1, 2, 3, 4) for b in (0, 1)]
    assert adds[2][1] == ((1, 256, 16, 16), (1, 128, 16, 16))
    cascades = [(i.finding.code, i.module) for i in finding.instances if i.role == "cascade"]
    assert cascades == [("SC201", "layer2.0.conv1"), ("SC201", "layer2.0.downsample.0"),
                        ("SC201", "layer3.0.conv1"), ("SC201", "layer3.0.downsample.0"),
                        ("SC201", "layer4.0.conv1"), ("SC201", "layer4.0.downsample.0"),
                        ("SC201", "fc")]
    assert (finding.block_class.name, finding.block_class.location.line) == ("BasicBlock", 16)
    assert summary_line([report]) == "1 error in 1 of 1 model (8 adds)"
    assert [a.ok for a in report.residual_adds] == [False] * 8  # every add still marked
    ungrouped = report_of("resnext18_width.py:resnext18", group=False)
    assert [f.code for f in ungrouped.findings] == [
        f.code for f in report.ungrouped().findings] == ["SC101"] * 2 + ["SC201", "SC201",
                                                           "SC101", "SC101"] + [
        "SC201", "SC201", "SC101", "SC101"] * 2 + ["SC201"]


def test_grouped_findings_round_trip_through_json(copy_of):
    copy_of("resnext18_width.py")
    report = report_of("resnext18_width.py:resnext18")
    back = Report.from_json(json.loads(json.dumps(report.to_json())))
    assert back.findings == report.findings
    doc = report.to_json()["findings"][0]
    assert [(i["role"], i["module"]) for i in doc["instances"]][:2] == [
        ("add", "layer1.0"), ("add", "layer1.1")]
    assert doc["block_class"]["name"] == "BasicBlock"


def test_instances_of_a_class_that_differ_by_their_arguments_stay_apart():
    class Block(nn.Module):
        def __init__(self, width, project):
            super().__init__()
            self.conv = nn.Conv2d(width, 2 * width, 3, stride=2, padding=1)
            self.short = nn.Conv2d(width, 2 * width, 1, stride=2) if project else nn.Identity()

        def forward(self, x):
            return self.conv(x) + self.short(x)

    net = nn.Sequential(Block(4, True), Block(8, False), Block(16, False))
    report = shapecheck.check(net, (1, 4, 32, 32))
    assert [(f.code, f.module, len(f.instances)) for f in report.findings] == [
        ("SC101", "1", 0), ("SC101", "2", 0)]  # each is its own call-site fix


def test_the_class_bug_is_fixed_by_one_class_body_edit(copy_of):
    path = copy_of("resnext18_width.py")
    (fix,) = find_fixes(["resnext18_width.py:resnext18"]).fixes
    assert (fix.finding.code, fix.finding.module, fix.kind) == ("SC101", "layer1.0",
                                                                "class-body")
    assert changed_lines(fix.diff) == ["-    expansion = 1", "+    expansion = 2"]
    assert fix.alternatives == 1  # the conv2/bn2 width edit verifies too, and is larger
    path.write_text(fix.new_source)
    assert report_of("resnext18_width.py:resnext18").findings == []


def test_the_floor_pool_shortcut_gets_a_safe_ceil_mode_edit(copy_of):
    path = copy_of("pool_shortcut.py")
    report = report_of("pool_shortcut.py:net")
    (finding,) = report.findings
    assert (finding.code, [i.module for i in finding.instances]) == ("SC102", ["1", "2"])
    (fix,) = find_fixes(["pool_shortcut.py:net"]).fixes
    assert (fix.kind, fix.applicability) == ("pool-rounding", "safe")
    assert changed_lines(fix.diff) == [
        "-            nn.AvgPool2d(2),  # rounds down: 57 -> 28",
        "+            nn.AvgPool2d(2, ceil_mode=True),  # rounds down: 57 -> 28"]
    before = {k: v.shape for k, v in load(path).net().state_dict().items()}
    repairs = apply_fixes(find_fixes(["pool_shortcut.py:net"]), ["pool_shortcut.py:net"])
    assert repairs.written == [str(path)]
    patched = load(path).net()
    assert {k: v.shape for k, v in patched.state_dict().items()} == before
    with torch.no_grad():  # pretrained weights would load, and it runs at the odd size
        assert patched(torch.randn(2, 3, 57, 57)).shape == (2, 64, 15, 15)


def test_json_and_sarif_carry_the_edit_that_diff_prints(copy_of, capsys):
    copy_of("pool_shortcut.py")
    assert main(["pool_shortcut.py:net", "--diff", "--format", "json"]) == 1
    out, err = capsys.readouterr()
    (edit,) = json.loads(out)["results"][0]["findings"][0]["fix"]["edits"]
    assert (edit["path"], edit["start_line"], edit["end_line"], edit["applicability"]) == (
        "pool_shortcut.py", 19, 19, "safe")
    assert edit["replacement"] == "            nn.AvgPool2d(2, ceil_mode=True),  # rounds down: 57 -> 28\n"
    assert "+            nn.AvgPool2d(2, ceil_mode=True)" in err  # the diff, off stdout
    assert main(["pool_shortcut.py:net", "--diff", "--format", "sarif"]) == 1
    document = json.loads(capsys.readouterr().out)
    jsonschema.Draft4Validator(SARIF_SCHEMA).validate(document)
    (sarif_fix,) = document["runs"][0]["results"][0]["fixes"]
    (change,) = sarif_fix["artifactChanges"]
    assert change["artifactLocation"]["uri"] == "pool_shortcut.py"
    assert change["replacements"] == [{
        "deletedRegion": {"startLine": 19, "startColumn": 1, "endLine": 20, "endColumn": 1},
        "insertedContent": {"text": edit["replacement"]}}]


@pytest.mark.parametrize("name, spec", [("resnext18_width.py", "resnext18"),
                                        ("pool_shortcut.py", "net")])
def test_edits_of_formatted_code_stay_formatted(copy_of, name, spec):
    ruff = shutil.which("ruff") or str(Path(sys.executable).with_name("ruff"))
    if not Path(ruff).exists():
        pytest.skip("ruff is not installed")
    path = copy_of(name)
    subprocess.run([ruff, "format", "--quiet", str(path)], check=True)
    (fix,) = find_fixes([f"{name}:{spec}"]).fixes
    path.write_text(fix.new_source)
    result = subprocess.run([ruff, "format", "--diff", str(path)], capture_output=True,
                            text=True)
    assert result.returncode == 0, result.stdout  # nothing for the formatter to change


def test_a_projection_rule_in_a_helper_gets_the_stride_once_for_both_findings(copy_of):
    copy_of("helper_rule.py")
    report = report_of("helper_rule.py:net")
    assert [(f.code, f.module) for f in report.findings] == [("SC102", "2"), ("SC102", "4")]
    (fix,) = find_fixes(["helper_rule.py:net"]).fixes  # the same edit fixes both: once
    assert fix.kind == "builder-condition"
    assert changed_lines(fix.diff) == ["-    if in_channels != out_channels:",
                                       "+    if stride != 1 or in_channels != out_channels:"]


def test_an_annotated_expansion_is_edited_too():
    from shapecheck.repair.class_body import set_class_integer

    source = "class B:\n    expansion: int = 1  # widens by this\n"
    assert set_class_integer(source, 1, "expansion", 4) == (
        "class B:\n    expansion: int = 4  # widens by this\n")


def test_class_body_pool_and_helper_diffs_apply_with_git(copy_of):
    folder = copy_of("resnext18_width.py").parent
    copy_of("pool_shortcut.py")
    copy_of("helper_rule.py")
    diffs = [f.diff for spec in ("resnext18_width.py:resnext18", "pool_shortcut.py:net",
                                 "helper_rule.py:net") for f in find_fixes([spec]).fixes]
    assert len(diffs) == 3
    for diff in diffs:
        check = subprocess.run(["git", "apply", "--check", "-p1", "-"], input=diff, text=True,
                               cwd=folder, capture_output=True)
        assert check.returncode == 0, check.stderr


# Wrong fixes the verifier must reject: each edit changes the file but not the bug (or
# breaks the file, or fixes one place and breaks another); none may come back as a fix.
WRONG_EDITS = {
    "resnext18_width.py:resnext18": [
        ("expansion 4", lambda s: s.replace("    expansion = 1\n", "    expansion = 4\n")),
        ("conv1 narrower only", lambda s: s.replace(
            "nn.Conv2d(inplanes, planes * 2, kernel_size=1", "nn.Conv2d(inplanes, planes, "
                                                            "kernel_size=1")),
        ("syntax error", lambda s: s.replace("    expansion = 1\n", "    expansion = = 1\n")),
    ],
    "pool_shortcut.py:net": [
        ("ceil_mode=False spelled out", lambda s: s.replace(
            "nn.AvgPool2d(2),", "nn.AvgPool2d(2, ceil_mode=False),")),
        ("a 3x3 pool", lambda s: s.replace("nn.AvgPool2d(2),", "nn.AvgPool2d(3),")),
    ],
    "helper_rule.py:net": [
        ("guard on the wrong stride", lambda s: s.replace(
            "    if in_channels != out_channels:", "    if stride != 2 or in_channels != "
                                                  "out_channels:")),
        ("never project", lambda s: s.replace("    if in_channels != out_channels:",
                                              "    if False:")),
    ],
}


@pytest.mark.parametrize("spec, name, edit", [(spec, name, edit)
                                              for spec, edits in WRONG_EDITS.items()
                                              for name, edit in edits])
def test_the_verifier_rejects_wrong_edits(copy_of, monkeypatch, spec, name, edit):
    import shapecheck.repair as repair
    from shapecheck.repair.candidates import Candidate

    path = copy_of(spec.split(":")[0])
    assert edit(path.read_text()) != path.read_text()  # the wrong edit does change the file
    wrong = [Candidate(str(path), 1, "call-argument", name, edit)]
    monkeypatch.setattr(repair, "candidates_for", lambda origin: wrong)
    monkeypatch.setattr(repair, "class_body_candidates", lambda *args: [])
    monkeypatch.setattr(repair, "ceil_mode_candidates", lambda *args: [])
    assert find_fixes([spec]).fixes == []
