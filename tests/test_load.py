"""Loading targets, building on meta, the runner, config and the reporters, in process."""

from __future__ import annotations

import json
import os
import textwrap
from pathlib import Path

import pytest
import torch
from torch import nn

from shapecheck.load.build import NotAModuleError, build_model
from shapecheck.config import ConfigError, load_config, parse_table
from shapecheck.load import (InputSpecError, LoadedTarget, discover, exception_location,
                             import_file, load_targets, normalize_inputs, parse_shape,
                             parse_target, top_level_definitions)
from shapecheck.report import Finding, Fix, Location, Report, ResidualAdd, TargetError
from shapecheck.reporters import render, write_atomically
from shapecheck.reporters.json_report import json_document
from shapecheck.reporters.text import human_count, render_text, summary_line
from shapecheck.runner import check_spec, check_target, exit_status

FIXTURES = Path(__file__).parent / "fixtures" / "cli"


def fixture(name: str) -> str:
    """A fixture's path relative to the working directory, as a user would type it."""
    return os.path.relpath(FIXTURES / name)


def write(directory: Path, name: str, source: str) -> str:
    path = directory / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(source))
    return str(path)


# ---------------------------------------------------------------------------- targets, shapes


@pytest.mark.parametrize("spec, expected", [
    ("examples/x.py:build", ("examples/x.py", "build")),
    ("x.py", ("x.py", None)),
    ("x.py:Net.small", ("x.py", "Net.small")),
    ("C:\\models\\x.py", ("C:\\models\\x.py", None)),
])
def test_parse_target(spec, expected):
    assert parse_target(spec) == expected


@pytest.mark.parametrize("text, shape", [
    ("1,3,224,224", (1, 3, 224, 224)),
    ("1x3x224x224", (1, 3, 224, 224)),
    ("(1, 3, 32, 32)", (1, 3, 32, 32)),
    ("[2,10]", (2, 10)),
    ("7", (7,)),
])
def test_parse_shape(text, shape):
    assert parse_shape(text) == shape


def test_parse_shape_with_dtype_gives_a_meta_tensor():
    tensor = parse_shape("1x128:long")
    assert (tuple(tensor.shape), tensor.dtype, tensor.device.type) == ((1, 128), torch.long, "meta")


@pytest.mark.parametrize("text", ["1,a", "", "1,,3", "1,0,3", "1x3:complex", "-1,3"])
def test_malformed_shapes_are_rejected(text):
    with pytest.raises(InputSpecError):
        parse_shape(text)


def test_normalize_inputs_spellings():
    assert normalize_inputs((1, 3, 8, 8), "x") == [(1, 3, 8, 8)]
    assert normalize_inputs(((1, 3, 8, 8), (1, 10)), "x") == [(1, 3, 8, 8), (1, 10)]
    assert normalize_inputs(["1x3x8x8", "1,10"], "x") == [(1, 3, 8, 8), (1, 10)]
    assert normalize_inputs(torch.Size([2, 4]), "x") == [(2, 4)]
    mixed = normalize_inputs(["1x4", "1x8:long"], "x")
    assert [(tuple(t.shape), t.dtype) for t in mixed] == [((1, 4), torch.float32),
                                                        ((1, 8), torch.long)]
    with pytest.raises(InputSpecError):
        normalize_inputs((1, "three"), "INPUT_SHAPE")


# ---------------------------------------------------------------------------- import, discovery


def test_discovery_order_kinds_and_inputs():
    targets = load_targets(fixture("several.py"))
    found = [(t.attr, t.kind, t.input_source, t.inputs) for t in targets]
    assert found == [
        ("Residual", "class", None, None),
        ("mlp", "instance", "INPUT_SHAPES", [(2, 20)]),
        ("make_model_small", "function", "INPUT_SHAPES", [(1, 3, 8, 8)]),
        ("Swish", "class", None, None),
    ]
    assert all(t.name == f"{fixture('several.py')}:{t.attr}" for t in targets)


def test_given_inputs_override_the_file():
    (target,) = load_targets(fixture("tiny_resnet.py") + ":build", ["1,3,64,64"])
    assert (target.inputs, target.input_source) == ([(1, 3, 64, 64)], "--input")


def test_example_inputs_function_is_used():
    (target,) = load_targets(fixture("example_inputs_model.py"))
    assert target.input_source == "example_inputs()"
    assert [tuple(t.shape) for t in target.inputs] == [(4, 8), (4, 8)]


def test_discovery_rules(tmp_path):
    path = write(tmp_path, "rules.py", """
        from torch import nn
        import torch.nn as tnn
        from collections import OrderedDict  # imported: never a target

        def make_model_v2():
            return nn.Linear(2, 2)

        def anything() -> nn.Module:
            return nn.Linear(2, 2)

        def sequential() -> "nn.Sequential":
            return nn.Sequential(nn.Linear(2, 2))

        def helper():
            return nn.Linear(2, 2)

        def build(width=4):
            return nn.Linear(width, width)

        def _build_private():
            return nn.Linear(2, 2)

        imported_class = tnn.Linear
        """)
    module = import_file(path)
    assert [t.attr for t in discover(module, path)] == [
        "make_model_v2", "anything", "sequential", "build"]
    assert module.__name__ != "__main__"


def test_shapecheck_targets_list_replaces_discovery(tmp_path):
    path = write(tmp_path, "explicit.py", """
        from torch import nn
        SHAPECHECK_TARGETS = ["small"]
        def build() -> nn.Module:
            return nn.Linear(2, 2)
        def small():
            return nn.Linear(3, 3)
        """)
    assert [t.attr for t in load_targets(path)] == ["small"]


def test_main_block_does_not_run_and_directory_is_on_sys_path(tmp_path):
    write(tmp_path, "helpers.py", """
        from torch import nn
        def make():
            return nn.Conv2d(3, 8, 3)
        """)
    path = write(tmp_path, "uses_helper.py", """
        import helpers
        def build():
            return helpers.make()
        if __name__ == "__main__":
            raise SystemExit("the main block ran")
        """)
    (target,) = load_targets(path)
    assert target.error is None and target.attr == "build"


def test_file_in_a_package_can_use_relative_imports(tmp_path):
    write(tmp_path, "zoo_pkg_for_test/__init__.py", "")
    write(tmp_path, "zoo_pkg_for_test/blocks.py", """
        from torch import nn
        def conv():
            return nn.Conv2d(3, 4, 3)
        """)
    path = write(tmp_path, "zoo_pkg_for_test/net.py", """
        from .blocks import conv
        def build():
            return conv()
        """)
    (target,) = load_targets(path)
    assert target.error is None
    assert import_file(path).__name__ == "zoo_pkg_for_test.net"


def test_directory_target_skips_files_without_models(tmp_path):
    write(tmp_path, "a.py", "from torch import nn\nmodel = nn.Linear(2, 2)\n")
    write(tmp_path, "util.py", "def helper():\n    return 1\n")
    write(tmp_path, "test_a.py", "raise SystemExit('a test file was imported')\n")
    write(tmp_path, "sub/b.py", "from torch import nn\ndef build():\n    return nn.Linear(2, 2)\n")
    targets = load_targets(str(tmp_path))
    assert [(Path(t.path).name, t.attr) for t in targets] == [("a.py", "model"), ("b.py", "build")]


def test_top_level_definitions_lines():
    definitions = top_level_definitions(fixture("buggy_block.py"))
    assert (definitions["WideningBlock"].kind, definitions["WideningBlock"].line) == ("class", 6)
    assert (definitions["INPUT_SHAPES"].kind, definitions["INPUT_SHAPES"].line) == ("assign", 25)


# ---------------------------------------------------------------------------- load failures


def error_of(spec: str, inputs=None) -> TargetError:
    (target,) = load_targets(spec, inputs)
    assert target.error is not None
    return target.error


def test_syntax_error_names_the_line():
    error = error_of(fixture("syntax_error.py"))
    assert (error.kind, error.location.path, error.location.line) == (
        "load", fixture("syntax_error.py"), 7)
    assert "SyntaxError" in error.message


def test_import_error_names_the_import_line():
    error = error_of(fixture("import_error.py"))
    assert (error.kind, error.location.line) == ("load", 3)
    assert "ModuleNotFoundError" in error.message


def test_no_model_found_points_at_the_class_that_needs_arguments():
    error = error_of(fixture("no_model.py"))
    assert (error.kind, error.location.line) == ("load", 8)
    assert error.message.startswith("no model found")


def test_missing_name_suggests_a_close_one():
    error = error_of(fixture("several.py") + ":mlpp")
    assert error.kind == "load" and "'mlp'" in error.message


@pytest.mark.parametrize("name, line", [("build_with_required", 33), ("not_a_factory", 29)])
def test_name_that_needs_arguments(name, line):
    error = error_of(fixture("several.py") + f":{name}")
    assert (error.kind, error.location.line) == ("load", line)
    assert "arguments" in error.message


def test_malformed_input_shape_in_the_file_names_its_line():
    error = error_of(fixture("bad_input_shape.py"))
    assert (error.kind, error.location.line) == ("input", 3)


def test_malformed_given_input():
    error = error_of(fixture("tiny_resnet.py"), ["1,a"])
    assert error.kind == "input" and "'1,a'" in error.message


def test_missing_file_and_empty_directory(tmp_path):
    assert error_of(str(tmp_path / "nope.py")).kind == "load"
    assert error_of(str(tmp_path)).kind == "load"


def test_exception_location_prefers_the_innermost_user_frame(tmp_path):
    path = write(tmp_path, "deep.py", """
        def outer():
            return inner()
        def inner():
            return int("x")
        """)
    module = import_file(path)
    with pytest.raises(ValueError) as info:
        module.outer()
    location = exception_location(info.value, path)
    assert (location.path, location.line, location.function) == (path, 5, "inner")


# ---------------------------------------------------------------------------- build


def test_build_on_meta_allocates_nothing():
    model = build_model(lambda: nn.Linear(8192, 8192))
    assert (model.weight.device.type, model.shapecheck_build) == ("meta", "meta")


def test_build_falls_back_to_empty_init():
    (target,) = load_targets(fixture("empty_init.py"))
    model = build_model(target.factory)
    assert model.shapecheck_build == "empty-init"
    assert {p.device.type for p in model.parameters()} == {"meta"}


def test_build_falls_back_to_cpu():
    class ReadsItsWeights(nn.Module):
        def __init__(self):
            super().__init__()
            self.scale = nn.Parameter(torch.ones(2))
            self.width = int(self.scale.sum().item())  # needs real values, even after register

    model = build_model(ReadsItsWeights)
    assert (model.shapecheck_build, model.width) == ("cpu", 2)


def test_runner_notes_a_cpu_build():
    class ReadsItsWeights(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(2, 2)
            self.checked = bool(self.fc.weight.abs().sum().item() >= 0)

        def forward(self, x):
            return x + self.fc(x)

    target = LoadedTarget("m.py:ReadsItsWeights", "m.py", "ReadsItsWeights", ReadsItsWeights,
                          inputs=[(1, 2)], kind="class")
    report = check_target(target).report
    assert report.ok and any("real weights on the CPU" in note for note in report.notes)


def test_build_raises_the_users_error():
    (target,) = load_targets(fixture("ctor_raises.py") + ":build")
    with pytest.raises(ValueError, match="divisible by groups"):
        build_model(target.factory)


def test_build_rejects_non_modules_and_builds_real_weights():
    with pytest.raises(NotAModuleError):
        build_model(lambda: 42)
    model = build_model(lambda: nn.Linear(2, 2), device="cpu")
    assert model.weight.device.type == "cpu" and torch.isfinite(model.weight).all()


# ---------------------------------------------------------------------------- runner


def test_runner_finds_the_residual_channel_mismatch():
    (report,) = check_spec(fixture("buggy_block.py") + ":build_net")
    assert report.error is None
    assert [(f.code, f.kind, f.module, f.location.path, f.location.line, f.shapes)
            for f in report.findings] == [
        ("SC101", "channel_mismatch", "1", fixture("buggy_block.py"), 17,
         ((1, 32, 16, 16), (1, 16, 16, 16)))]
    assert (report.findings[0].fix.in_channels, report.findings[0].fix.out_channels) == (16, 32)
    assert report.target == f"{fixture('buggy_block.py')}:build_net"
    assert exit_status([report]) == 1


def test_runner_clean_model_and_select_ignore():
    (clean,) = check_spec(fixture("tiny_resnet.py") + ":build")
    assert (clean.ok, clean.output_shapes, len(clean.residual_adds)) == (True, [(1, 10)], 2)
    (ignored,) = check_spec(fixture("buggy_block.py") + ":build_net", ignore=["SC1"])
    (selected,) = check_spec(fixture("buggy_block.py") + ":build_net", select=["SC2"])
    assert ignored.findings == [] and selected.findings == []
    assert exit_status([clean, ignored]) == 0


def test_runner_reports_build_trace_and_input_errors_with_user_lines():
    reports = check_spec(fixture("ctor_raises.py") + ":build") \
        + check_spec(fixture("untraceable.py") + ":build") \
        + check_spec(fixture("tiny_resnet.py") + ":build", "1,1,32,32")
    assert [(r.error.kind, r.error.location.path, r.error.location.line) for r in reports] == [
        ("build", fixture("ctor_raises.py"), 8),
        ("trace", fixture("untraceable.py"), 11),
        ("input", fixture("tiny_resnet.py"), 39),
    ]
    assert exit_status(reports) == 2


def test_runner_skips_discovered_parameterless_classes():
    targets = [r.target.rsplit(":", 1)[1] for r in check_spec(fixture("several.py"))]
    assert targets == ["Residual", "mlp", "make_model_small"]


def test_runner_keeps_the_traceback_for_verbose():
    (target,) = load_targets(fixture("ctor_raises.py") + ":build")
    checked = check_target(target)
    assert checked.report.error.kind == "build"
    assert "Traceback" in checked.traceback and "divisible by groups" in checked.traceback


# ---------------------------------------------------------------------------- config


def test_config_table(tmp_path, monkeypatch):
    (tmp_path / "pyproject.toml").write_text(textwrap.dedent("""
        [tool.shapecheck]
        targets = ["models/a.py:build", "b.py"]
        input = ["1,3,32,32"]
        select = "SC1, SC201"
        format = "json"
        colour = "yes"
        """))
    sub = tmp_path / "sub"
    sub.mkdir()
    monkeypatch.chdir(sub)
    config = load_config()
    assert (config.targets, config.input, config.select, config.format) == (
        [os.path.join("..", "models", "a.py") + ":build", os.path.join("..", "b.py")],
        ["1,3,32,32"], ["SC1", "SC201"], "json")
    assert len(config.warnings) == 1 and "colour" in config.warnings[0]


def test_config_errors(tmp_path, monkeypatch):
    with pytest.raises(ConfigError):
        parse_table({"format": "xml"}, str(tmp_path / "pyproject.toml"))
    with pytest.raises(ConfigError):
        parse_table({"targets": [1, 2]}, str(tmp_path / "pyproject.toml"))
    (tmp_path / "pyproject.toml").write_text("[tool.shapecheck\n")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError):
        load_config()


def test_no_table_means_empty_config(tmp_path, monkeypatch):
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    monkeypatch.chdir(tmp_path)
    config = load_config()
    assert (config.targets, config.format) == ([], None)


# ---------------------------------------------------------------------------- reporters


def sample_report() -> Report:
    where = Location("m.py", 42, "forward", "out += identity")
    fix = Fix("projection", 256, 512, 2, "nn.Sequential(nn.Conv2d(256, 512, kernel_size=1, "
              "stride=2, bias=False), nn.BatchNorm2d(512))", verified=True)
    finding = Finding("SC101", "channel_mismatch", "error", "residual add in layer2.0: ...",
                      "layer2.0", where, ((1, 512, 28, 28), (1, 256, 56, 56)), fix, "add_3",
                      ("conv2 downsamples 56x56 -> 28x28",))
    add = ResidualAdd("add_3", "layer2.0", where, ((1, 512, 28, 28), (1, 256, 56, 56)), None,
                      "identity", False, "relu_2", 0)
    return Report("m.py:build", [(1, 3, 224, 224)], [(1, 1000)], 25_000_000, tracer="fx",
                  residual_adds=[add], findings=[finding], timings={"total": 0.5})


def test_text_report_shows_location_shapes_causes_and_fix():
    lines = render_text([sample_report(), Report("n.py:Net", error=TargetError(
        "build", "building Net() raised ValueError: bad", Location("n.py", 7)))]).splitlines()
    assert lines[0].split() == ["FAIL", "m.py:build", "1x3x224x224", "->", "1x1000", "residual",
                                "adds", "0/1", "ok", "params", "25.0M", "fx", "0.50", "s"]
    body = "\n".join(lines)
    for expected in ("m.py:42: SC101 error (channel_mismatch) in layer2.0", "out += identity",
                     "main branch 1x512x28x28  vs  shortcut 1x256x56x56",
                     "because: conv2 downsamples", "fix (verified):",
                     "n.py:7: error [build]: building Net() raised ValueError: bad"):
        assert expected in body
    assert lines[-1] == "1 error in 1 of 1 model; 1 model could not be analysed"
    assert "\x1b[" not in body


def test_quiet_text_report_has_findings_only():
    text = render_text([sample_report(), Report("ok.py:Net", tracer="fx")], quiet=True)
    assert text.splitlines()[0].startswith("m.py:42: SC101")
    assert "ok.py" not in text and "models" not in text


def test_verbose_text_report_has_the_block_table_and_colour_works():
    from shapecheck.report import Block

    report = sample_report()
    report.blocks = [Block(0, "layer2.0", "relu_2", "add_3", (1, 256, 56, 56), (1, 512, 28, 28),
                           "identity", False, 1_200_000, 3_000_000_000)]
    plain = render_text([report], verbose=1)
    row = next(line for line in plain.splitlines() if "layer2.0" in line and "|" in line)
    assert [cell.strip() for cell in row.split("|")] == [
        "0", "layer2.0", "1x256x56x56 -> 1x512x28x28", "identity", "FAIL", "1.2M", "3.0G"]
    assert "\x1b[" in render_text([report], verbose=1, color=True)


def test_summary_lines_and_counts():
    assert summary_line([]) == "no models checked"
    assert summary_line([Report("a")]) == "no errors in 1 model"
    assert human_count(12_345) == "12.3k" and human_count(7) == "7"


def test_json_document_is_the_contract():
    report = sample_report()
    document = json.loads(render([report], "json"))
    assert list(document) == ["shapecheck", "results"]
    assert document["results"] == [json.loads(json.dumps(report.to_json()))]
    failed = Report("x.py", error=TargetError("load", "boom"))
    assert json_document([failed], {"x.py": "Traceback ..."})["results"][0]["error"][
        "traceback"] == "Traceback ..."


def test_write_atomically_never_leaves_a_partial_file(tmp_path, monkeypatch):
    target = tmp_path / "report.json"
    write_atomically(str(target), "first\n")
    assert target.read_text() == "first\n"

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError):
        write_atomically(str(target), "second\n")
    assert target.read_text() == "first\n"
    assert os.listdir(tmp_path) == ["report.json"]
    with pytest.raises(OSError):
        write_atomically(str(tmp_path / "missing" / "r.json"), "x")
