"""SARIF and GitHub-annotation output: schema-valid, right rules, paths, lines and escaping."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import jsonschema
import pytest

from shapecheck.api import check
from shapecheck.codes import CODES
from shapecheck.report import Finding, Fix, Location, Report, TargetError
from shapecheck.reporters.github import escape_data, escape_property, github_annotations
from shapecheck.reporters.sarif import (FINGERPRINT_KEY, SRCROOT, TARGET_ERROR,
                                        sarif_document)

SCHEMA = json.loads((Path(__file__).parent / "data" / "sarif-schema-2.1.0.json").read_text())
FIX = Fix("projection", 256, 512, 2,
          "nn.Sequential(nn.Conv2d(256, 512, kernel_size=1, stride=2, bias=False), "
          "nn.BatchNorm2d(512))", verified=True)


def channel_finding(path: str = "models/net.py", line: int = 42, module: str = "layer2.0",
                    code_line: str = "out += identity") -> Finding:
    return Finding("SC101", "channel_mismatch", "error",
                   f"residual add in {module}: main branch has 512 channels at 28x28, identity "
                   "shortcut has 256 channels at 56x56", module,
                   Location(path, line, "forward", code_line),
                   ((1, 512, 28, 28), (1, 256, 56, 56)), FIX, node="add_3")


def reports(root: Path) -> list[Report]:
    """A mix: an error with a fix, a warning, a layer error without location, two failures."""
    warning = Finding("SC104", "suspicious_broadcast", "warning", "could not tell", "layer3.1",
                      Location(str(root / "models" / "net.py"), 77), ((1, 64, 1, 1), (1, 64, 8, 8)))
    layer = Finding("SC201", "layer_mismatch", "error", "fc expects 512 features but receives 256",
                    "", None, ((1, 256), (1, 512)))
    return [
        Report("models/net.py:Net", findings=[channel_finding(), warning]),
        Report("models/other.py:Other", findings=[layer]),
        Report("models/broken.py:Broken", error=TargetError(
            "build", "Broken.__init__ raised ValueError: bad width",
            Location("models/broken.py", 12))),
        Report("models/empty.py", error=TargetError("load", "no model found in models/empty.py")),
    ]


@pytest.fixture(autouse=True)
def in_tmp_path(tmp_path, monkeypatch):
    """Locations are relative to the working directory, as the engine reports them."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("GITHUB_WORKSPACE", raising=False)


def validate(document: dict) -> None:
    jsonschema.Draft4Validator(SCHEMA).validate(document)


def test_vendored_schema_is_the_official_sarif_2_1_0_schema():
    jsonschema.Draft4Validator.check_schema(SCHEMA)
    assert SCHEMA["id"].endswith("/sarif-schema-2.1.0.json")
    assert SCHEMA["properties"]["version"]["enum"] == ["2.1.0"]
    with pytest.raises(jsonschema.ValidationError):  # the schema has teeth
        validate({"version": "2.1.0", "runs": [{"tool": {"driver": {}}}]})


def test_sarif_document_validates_and_round_trips_as_json(tmp_path):
    document = sarif_document(reports(tmp_path), root=str(tmp_path))
    validate(document)
    validate(json.loads(json.dumps(document)))
    assert document["version"] == "2.1.0" and document["$schema"].startswith("https://")
    driver = document["runs"][0]["tool"]["driver"]
    assert driver["name"] == "shapecheck" and driver["informationUri"].startswith("https://")


def test_rules_come_from_the_code_registry_plus_the_target_error_rule(tmp_path):
    rules = sarif_document([], root=str(tmp_path))["runs"][0]["tool"]["driver"]["rules"]
    registry = [c.code for c in CODES]
    extra = [] if TARGET_ERROR.code in registry else [TARGET_ERROR.code]
    assert [r["id"] for r in rules] == extra + registry
    by_id = {r["id"]: r for r in rules}
    for code in CODES:
        rule = by_id[code.code]
        assert rule["shortDescription"]["text"] == code.title
        assert rule["fullDescription"]["text"] == code.description
        level = {"error": "error", "warning": "warning"}.get(code.severity, "note")
        assert rule["defaultConfiguration"]["level"] == level
        assert code.description in rule["help"]["text"]
        assert f"--ignore {code.code}" in rule["help"]["text"]
    assert by_id[TARGET_ERROR.code]["defaultConfiguration"]["level"] == "error"
    assert "--ignore" not in by_id[TARGET_ERROR.code]["help"]["text"]


def test_results_carry_rule_level_path_line_module_and_fingerprint(tmp_path):
    run = sarif_document(reports(tmp_path), root=str(tmp_path))["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    by_rule = {}
    for result in run["results"]:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
        assert result["partialFingerprints"][FINGERPRINT_KEY]
        by_rule.setdefault(result["ruleId"], []).append(result)
    assert sorted(by_rule) == ["SC001", "SC101", "SC104", "SC201"]

    (sc101,) = by_rule["SC101"]
    assert sc101["level"] == "error"
    location = sc101["locations"][0]
    assert location["physicalLocation"] == {
        "artifactLocation": {"uri": "models/net.py", "uriBaseId": SRCROOT},
        "region": {"startLine": 42}}
    assert location["logicalLocations"][0]["fullyQualifiedName"] == "Net.layer2.0"
    text = sc101["message"]["text"]
    assert "1x512x28x28" in text and "1x256x56x56" in text and FIX.code in text
    assert text.endswith("Model: models/net.py:Net.")
    assert sc101["properties"]["shapes"] == [[1, 512, 28, 28], [1, 256, 56, 56]]
    assert sc101["properties"]["fix"]["out_channels"] == 512

    (sc104,) = by_rule["SC104"]  # an absolute path under the root becomes relative
    assert sc104["level"] == "warning"
    assert sc104["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "models/net.py"
    assert sc104["locations"][0]["physicalLocation"]["region"]["startLine"] == 77

    (sc201,) = by_rule["SC201"]  # no location of its own: line 1 of its model's file
    assert sc201["locations"][0]["physicalLocation"] == {
        "artifactLocation": {"uri": "models/other.py", "uriBaseId": SRCROOT},
        "region": {"startLine": 1}}
    assert sc201["locations"][0]["logicalLocations"][0]["fullyQualifiedName"] == "Other"
    assert "received 1x256, expected 1x512" in sc201["message"]["text"]


def test_target_errors_are_results_and_notifications(tmp_path):
    run = sarif_document(reports(tmp_path), root=str(tmp_path))["runs"][0]
    failed = [r for r in run["results"] if r["ruleId"] == "SC001"]
    assert [r["level"] for r in failed] == ["error", "error"]
    places = [r["locations"][0]["physicalLocation"] for r in failed]
    assert places[0]["artifactLocation"]["uri"] == "models/broken.py"
    assert places[0]["region"]["startLine"] == 12
    assert places[1]["artifactLocation"]["uri"] == "models/empty.py"  # the target's file
    assert "bad width" in failed[0]["message"]["text"]
    invocation = run["invocations"][0]
    assert invocation["executionSuccessful"] is False
    assert len(invocation["toolExecutionNotifications"]) == 2
    clean = sarif_document([Report("m.py:M")], root=str(tmp_path))["runs"][0]
    assert clean["invocations"][0]["executionSuccessful"] is True and clean["results"] == []


def test_fingerprints_survive_line_moves_but_separate_distinct_findings(tmp_path):
    def fingerprint(finding: Finding, target: str = "models/net.py:Net") -> str:
        doc = sarif_document([Report(target, findings=[finding])], root=str(tmp_path))
        return doc["runs"][0]["results"][0]["partialFingerprints"][FINGERPRINT_KEY]

    base = fingerprint(channel_finding(line=42))
    assert fingerprint(channel_finding(line=50)) == base
    assert fingerprint(channel_finding(path=str(tmp_path / "models" / "net.py"))) == base
    assert fingerprint(channel_finding(module="layer3.0")) != base
    assert fingerprint(channel_finding(code_line="out = out + identity")) != base
    assert fingerprint(channel_finding(), target="models/net.py:Other") != base


def test_paths_outside_the_root_and_odd_names_stay_valid_uris(tmp_path):
    inside = channel_finding(path=str(tmp_path / "my models" / "net 50%.py"))
    outside = channel_finding(path="/somewhere/else/net.py")
    document = sarif_document([Report("x.py:X", findings=[inside, outside])], root=str(tmp_path))
    validate(document)
    first, second = (r["locations"][0]["physicalLocation"]["artifactLocation"]
                     for r in document["runs"][0]["results"])
    assert first == {"uri": "my%20models/net%2050%25.py", "uriBaseId": SRCROOT}
    assert second == {"uri": "file:///somewhere/else/net.py"}


def test_unknown_codes_get_a_rule_of_their_own(tmp_path):
    finding = Finding("SC999", "future_kind", "warning", "new check", "", Location("a.py", 1))
    run = sarif_document([Report("a.py:A", findings=[finding])], root=str(tmp_path))["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    assert rules[run["results"][0]["ruleIndex"]]["id"] == "SC999"


def test_github_annotation_per_finding_with_file_line_and_title(tmp_path):
    lines = github_annotations(reports(tmp_path), root=str(tmp_path)).splitlines()
    assert lines[0].startswith(
        "::error file=models/net.py,line=42,title=SC101 channel_mismatch::residual add in "
        "layer2.0")
    assert "%0Ashapes: main branch 1x512x28x28, shortcut 1x256x56x56%0Afix: " in lines[0]
    assert lines[1].startswith("::warning file=models/net.py,line=77,title=SC104 "
                               "suspicious_broadcast::")
    assert lines[2].startswith("::error file=models/other.py,line=1,title=SC201 layer_mismatch::"
                               "fc expects 512")
    assert lines[3].startswith("::error file=models/broken.py,line=12,title=SC001 target_error::")
    assert lines[4].startswith("::error file=models/empty.py,line=1,title=SC001 target_error::")
    assert lines[5] == ("::notice title=shapecheck::4 models checked: 2 errors, 1 warning; "
                        "2 targets could not be analysed")
    assert len(lines) == 6 and all(line.count("\n") == 0 for line in lines)


def test_github_escaping_of_data_and_properties():
    assert escape_data("50% a\r\nb: c, d") == "50%25 a%0D%0Ab: c, d"
    assert escape_property("50% a\r\nb: c, d") == "50%25 a%0D%0Ab%3A c%2C d"
    finding = Finding("SC202", "op_failure", "error", "cat fails: 100%\nsizes: 3, 4", "",
                      Location("dir,x/a:b.py", 3))
    (line, _) = github_annotations([Report("t.py:T", findings=[finding])],
                                   root="/nonexistent").splitlines()
    assert line.startswith("::error file=dir%2Cx/a%3Ab.py,line=3,title=SC202 op_failure::")
    assert line.endswith("::cat fails: 100%25%0Asizes: 3, 4%0Amodel: t.py:T")


# A real model, analysed by the real engine: the outputs point at the line of the add.
BUGGY = '''import torch.nn as nn


class Downsample(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(64, 128, 3, stride=2, padding=1)

    def forward(self, x):
        return self.conv(x) + x
'''


@pytest.fixture(scope="module")
def real_report(tmp_path_factory):
    directory = tmp_path_factory.mktemp("real")
    path = directory / "downsample_model.py"
    path.write_text(BUGGY)
    spec = importlib.util.spec_from_file_location("sc_sarif_downsample_model", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    report = check(module.Downsample(), (1, 64, 32, 32),
                                  target=f"{path}:Downsample")
    return directory, report


def test_real_report_in_sarif_and_annotations(real_report):
    root, report = real_report
    assert [f.code for f in report.errors] == ["SC101"]
    document = sarif_document([report], root=str(root))
    validate(document)
    (result,) = document["runs"][0]["results"]
    assert result["ruleId"] == "SC101"
    physical = result["locations"][0]["physicalLocation"]
    assert physical["artifactLocation"] == {"uri": "downsample_model.py", "uriBaseId": SRCROOT}
    assert physical["region"]["startLine"] == 10  # `return self.conv(x) + x`
    (line, notice) = github_annotations([report], root=str(root)).splitlines()
    assert line.startswith("::error file=downsample_model.py,line=10,title=SC101 "
                           "channel_mismatch::")
    assert "nn.Conv2d(64, 128, kernel_size=1, stride=2, bias=False)" in line
    assert notice.startswith("::notice title=shapecheck::1 model checked: 1 error")
