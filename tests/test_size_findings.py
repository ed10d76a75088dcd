"""The all-sizes proof in the default check: SC105 at a resolution-dependent add, the
weight-keeping fix proved at every size, errors under `--sizes RANGE`, `--no-sizes`, the
config key, the block graph's title and colours."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import shapecheck
from shapecheck.analysis.size_fix import valid_after
from shapecheck.analysis.sizes import prove_sizes
from shapecheck.config import ConfigError, parse_table
from shapecheck.load.thirdparty import import_torchvision
from shapecheck.render import block_graph
from shapecheck.report import Report

NETS = Path(__file__).parent / "data" / "sizes" / "pool_nets.py"
ROOT = Path(__file__).resolve().parent.parent
SHAPE = (1, 3, 224, 224)


def _nets():
    spec = importlib.util.spec_from_file_location("pool_nets", NETS)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


nets = _nets()


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "shapecheck", *args, "--no-config",
                           "--no-color"], capture_output=True, text=True, cwd=ROOT)


def test_floor_mode_net_gets_one_warning_with_the_ceil_mode_fix_proved():
    report = shapecheck.check(nets.floor_net(), SHAPE)
    assert report.errors == []
    (finding,) = report.findings
    assert (finding.code, finding.kind, finding.severity) == \
        ("SC105", "resolution_dependent", "warning")
    assert finding.module == "blocks.0" and finding.location.line == 17  # the add
    assert finding.shapes == ((1, 16, 113, 112), (1, 16, 112, 112))  # at H=225
    assert "H mod 16 == 0" in finding.message and "H=225" in finding.message
    fix = finding.fix
    assert fix.kind == "ceil_mode" and fix.verified
    assert fix.layers == tuple(f"blocks.{i}.pool" for i in range(4))
    assert fix.code.splitlines()[0] == "blocks.0.pool = nn.MaxPool2d(2, ceil_mode=True)"
    assert fix.valid_after["H"] == {"valid": [[1, None, 1]], "proved": True,
                                    "range": [1, None], "checked_to": None}
    # the proof is kept where it found something; the add still counts as ok at 224
    assert report.sizes["H"]["valid"] == [[16, None, 16]]
    assert all(add.ok for add in report.residual_adds)
    # the model itself is untouched by the fix's proof
    assert not any(getattr(m, "ceil_mode", False) for m in report.model.modules())


def test_fix_and_valid_sizes_survive_json():
    report = shapecheck.check(nets.floor_net(), SHAPE)
    again = Report.from_json(json.loads(json.dumps(report.to_json())))
    assert again.findings[0].fix == report.findings[0].fix
    assert again.sizes == report.sizes


def test_correct_nets_have_no_finding_and_keep_no_proof():
    for model in (nets.ceil_net(), ):
        report = shapecheck.check(model, SHAPE)
        assert report.findings == [] and report.sizes is None
    torchvision = import_torchvision()
    if torchvision is None:
        pytest.skip("torchvision is not installed")
    with torch.device("meta"):
        resnet = torchvision.models.resnet50().eval()
    report = shapecheck.check(resnet, SHAPE)
    assert report.findings == [] and report.sizes is None


def test_padding_fix_where_there_is_no_pool():
    report = shapecheck.check(nets.padding_net(), (1, 4, 15, 15))
    (finding,) = report.findings
    assert finding.fix.kind == "padding" and finding.fix.layers == ("shortcut",)
    assert finding.fix.code == "shortcut = nn.Conv2d(4, 4, 3, stride=3, padding=1)"
    assert finding.fix.valid_after["H"]["valid"] == [[1, None, 1]]


def test_explicit_range_makes_every_failing_class_an_error():
    report = shapecheck.check(nets.floor_net(), SHAPE, sizes="32..512")
    assert [f.severity for f in report.findings] == ["error"] * 4
    assert [f.module for f in report.findings] == [f"blocks.{i}" for i in range(4)]
    assert report.findings[3].shapes == ((1, 16, 15, 14), (1, 16, 14, 14))  # H=232
    assert report.sizes["H"]["range"] == [32, 512]


def test_cli_warns_by_default_errors_under_a_range_and_is_quiet_with_no_sizes():
    target = f"{NETS}:floor_net"
    plain = _cli(target, "--input", "1,3,224,224")
    assert plain.returncode == 0 and "SC105 warning" in plain.stdout
    assert "after the fix: valid for every H, W >= 1 (proved)" in plain.stdout
    ranged = _cli(target, "--input", "1,3,224,224", "--sizes", "32..512", "--format", "json")
    assert ranged.returncode == 1
    result = json.loads(ranged.stdout)["results"][0]
    assert [f["code"] for f in result["findings"]] == ["SC105"] * 4
    assert result["findings"][0]["fix"]["valid_after"]["W"]["valid"] == [[32, 513, 1]]
    off = _cli(target, "--input", "1,3,224,224", "--no-sizes", "--format", "json")
    assert off.returncode == 0 and json.loads(off.stdout)["results"][0]["findings"] == []


def test_config_key_sizes():
    assert parse_table({"sizes": "H=32..512"}, "/p/pyproject.toml").sizes == "H=32..512"
    assert parse_table({"sizes": False}, "/p/pyproject.toml").sizes is False
    with pytest.raises(ConfigError, match="sizes"):
        parse_table({"sizes": "big"}, "/p/pyproject.toml")


def test_budget_stops_the_scan_with_not_proved_beyond():
    from shapecheck.analysis import intent
    from shapecheck.analysis.propagate import propagate_shapes
    from shapecheck.graph.residual import find_residual_adds
    from shapecheck.graph.trace import trace_model

    model = torch.nn.Sequential(*[torch.nn.MaxPool2d(2) for _ in range(8)])  # period 256
    x = torch.empty(1, 1, 256, 256, device="meta")
    gm = trace_model(model, [x], "fx", ()).graph_module
    structures = find_residual_adds(gm)
    kept = intent.kept_operands(structures, {})
    prop = propagate_shapes(gm, [x], kept)
    sizes = prove_sizes(gm, prop, structures, kept, [tuple(x.shape)], "fx", budget=0.0)
    axis = sizes["H"]
    assert not axis["proved"] and axis["checked_to"] == 128
    assert axis["note"].startswith("not proved beyond H=128: the time budget")


def test_valid_after_re_proves_a_patched_model():
    assert valid_after(nets.ceil_net(), SHAPE)["H"]["valid"] == [[1, None, 1]]
    assert valid_after(nets.floor_net(), SHAPE)["W"]["valid"] == [[16, None, 16]]


def test_block_graph_shows_the_valid_set_and_an_amber_add():
    report = shapecheck.check(nets.floor_net(), SHAPE)
    graph = block_graph(report)
    assert "valid input H, W: H mod 16 == 0 (proved for all H >= 1)" in graph.graph["lines"]
    add = report.findings[0].node
    edges = [graph.edges[e] for e in graph.in_edges(add) if graph.edges[e]["kind"] == "shortcut"]
    assert edges and all(e["warning"] and not e["error"] for e in edges)
    assert not graph.nodes[add]["error"]
