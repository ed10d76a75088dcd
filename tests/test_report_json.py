"""The Report is a value: its JSON holds everything but the live objects, reads back equal,
and draws the same block graph; the Report that `check` assembles is frozen."""

from __future__ import annotations

import dataclasses
import json

import pytest
import torch.nn.functional as F
from torch import nn

import shapecheck
from conftest import build_meta, load_file
from shapecheck.render import LEVELS, report_to_dot
from shapecheck.report import Block, Live, NodeInfo, Report, ResidualAdd


class Attention(nn.Module):
    def __init__(self, dim: int, heads: int = 4) -> None:
        super().__init__()
        self.heads = heads
        self.qkv, self.proj = nn.Linear(dim, 3 * dim), nn.Linear(dim, dim)

    def forward(self, x):
        b, t, c = x.shape
        q, k, v = self.qkv(x).reshape(b, t, 3, self.heads, c // self.heads).permute(
            2, 0, 3, 1, 4).unbind(0)
        return self.proj(F.scaled_dot_product_attention(q, k, v).transpose(1, 2).reshape(b, t, c))


class TransformerBlock(nn.Module):
    """A pre-norm transformer layer; `hidden_out` != `dim` makes its second add fail."""

    def __init__(self, dim: int = 64, hidden_out: int | None = None) -> None:
        super().__init__()
        self.norm1, self.attn = nn.LayerNorm(dim), Attention(dim)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, 4 * dim), nn.GELU(),
                                 nn.Linear(4 * dim, hidden_out or dim))

    def forward(self, x):
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


def transformer(hidden_out: int | None = None) -> nn.Module:
    return nn.Sequential(TransformerBlock(), TransformerBlock(hidden_out=hidden_out))


def _models() -> dict[str, tuple]:
    resnet = load_file("models/resnet.py")
    keras = load_file("examples/keras_resnext_buggy.py")
    buggy = load_file("tests/fixtures/cli/buggy_block.py")
    return {
        "resnet18": (build_meta(resnet.resnet18), resnet.INPUT_SHAPE),
        "resnet50": (build_meta(resnet.resnet50), resnet.INPUT_SHAPE),
        "keras_tiny_buggy": (build_meta(keras.build_tiny_stride2_identity),
                             keras.INPUT_SHAPES["build_tiny_stride2_identity"]),
        "buggy_block": (buggy.build_net(), buggy.INPUT_SHAPES["build_net"]),
        "transformer": (transformer(), (1, 16, 64)),
        "transformer_buggy": (transformer(hidden_out=96), (1, 16, 64)),
    }


_REPORTS: dict[str, Report] = {}


@pytest.fixture(scope="module")
def reports() -> dict[str, Report]:
    if not _REPORTS:
        for name, (model, shape) in _models().items():
            _REPORTS[name] = shapecheck.check(model, shape, target=name)
    return _REPORTS


def read_back(report: Report) -> Report:
    """The Report as another tool would get it: through JSON text."""
    return Report.from_json(json.loads(json.dumps(report.to_json())))


NAMES = ["resnet18", "resnet50", "keras_tiny_buggy", "buggy_block", "transformer",
         "transformer_buggy"]


@pytest.mark.parametrize("name", NAMES)
def test_a_report_read_back_from_json_draws_the_same_dot_at_every_level(reports, name):
    report = reports[name]
    again = read_back(report)
    assert again.live is None and again.model is None and again.graph_module is None
    for detail in LEVELS:
        assert report_to_dot(again, detail=detail).source == \
            report_to_dot(report, detail=detail).source, detail


@pytest.mark.parametrize("name", NAMES)
def test_json_round_trips_every_field_but_the_live_handle(reports, name):
    report = reports[name]
    again = read_back(report)
    assert again == report
    assert again.nodes == report.nodes and again.blocks == report.blocks
    assert again.residual_adds == report.residual_adds and again.findings == report.findings
    assert again.to_json() == json.loads(json.dumps(report.to_json()))


def test_the_buggy_models_carry_verified_fixes_through_json(reports):
    for name, kind in (("keras_tiny_buggy", "projection"), ("buggy_block", "projection"),
                       ("transformer_buggy", "linear")):
        fixes = [f.fix for f in read_back(reports[name]).findings if f.fix is not None]
        assert [(f.kind, f.verified) for f in fixes] == [(kind, True)], name


def test_json_nodes_list_every_node_with_its_layer_facts(reports):
    report = reports["resnet18"]
    doc = report.to_json()
    assert [n["name"] for n in doc["nodes"]] == list(report.nodes)
    fields = {f.name for f in dataclasses.fields(NodeInfo)} | {"source_line"}
    assert all(set(n) == fields for n in doc["nodes"])
    conv = next(n for n in doc["nodes"] if n["target"] == "layer2.0.conv1")
    assert (conv["layer_type"], conv["label"], conv["module"]) == (
        "Conv2d", "conv 3x3/2, 64->128", "layer2.0.conv1")
    args = conv["layer_args"]
    assert (args["in_channels"], args["out_channels"], args["kernel_size"], args["stride"],
            args["groups"], args["bias"]) == (64, 128, [3, 3], [2, 2], 1, False)
    assert conv["shape"] == [1, 128, 28, 28] and conv["params"] == 64 * 128 * 9
    add = next(n for n in doc["nodes"] if n["name"] == report.blocks[0].add)
    assert (add["label"], add["layer_type"], add["layer_args"]) == ("add", None, {})


def test_each_block_is_one_record_and_residual_adds_are_its_view(reports):
    report = reports["keras_tiny_buggy"]
    assert len(report.residual_adds) == len(report.blocks) > 0
    for block, add in zip(report.blocks, report.residual_adds):
        assert add == block.residual_add
        assert (add.node, add.module, add.fork, add.ok, add.shortcut) == (
            block.add, block.module, block.fork, block.ok, block.shortcut)
    failing = next(b for b in report.blocks if not b.ok)
    assert failing.location is not None and failing.shapes[0] != failing.shapes[1]
    # the contract's residual_adds keys are all still there
    doc = report.to_json()["residual_adds"][0]
    assert {"node", "module", "location", "shapes", "shortcut", "ok"} <= set(doc)
    assert set(doc["location"]) == {"path", "line"}  # the rest is in "source_line"
    assert doc["source_line"]["code"] == failing.location.code


def test_the_block_class_is_a_field(reports):
    block = reports["resnet18"].blocks[0]
    assert (block.module, block.module_type) == ("layer1.0", "BasicBlock")
    assert reports["transformer"].blocks[0].module_type == "TransformerBlock"


def test_an_assembled_report_is_frozen_and_replace_makes_new_values(reports):
    report = reports["buggy_block"]
    with pytest.raises(dataclasses.FrozenInstanceError):
        report.target = "other"
    with pytest.raises(dataclasses.FrozenInstanceError):
        report.residual_adds = []
    renamed = dataclasses.replace(report, target="other")
    assert (renamed.target, report.target) == ("other", "buggy_block")
    assert renamed.blocks == report.blocks and renamed.live is report.live
    with pytest.raises(dataclasses.FrozenInstanceError):
        renamed.notes = []


def test_live_objects_sit_in_one_handle_with_the_old_names_as_properties(reports):
    report = reports["buggy_block"]
    assert isinstance(report.live, Live)
    assert report.model is report.live.model and report.graph_module is report.live.graph_module
    assert report.patched_graph_module is report.live.patched_graph_module is not None
    net = nn.Linear(2, 2)
    hand = Report("hand", model=net)
    assert hand.live == Live(model=net) and hand.graph_module is None
    hand.graph_module = net  # a hand-built Report stays mutable
    assert hand.live == Live(model=net, graph_module=net)


def test_a_hand_built_report_keeps_its_old_keywords():
    add = ResidualAdd("add", "b", None, ((1, 8), (1, 4)), (1, 8), "identity", False, "x", 0,
                      ("fc",), ())
    report = Report("hand", residual_adds=[add])
    assert report.residual_adds == [add]
    assert report.blocks == [Block(0, "b", "x", "add", None, (1, 8), "identity", False,
                                   location=None, shapes=((1, 8), (1, 4)), main_branch=("fc",))]
    report.residual_adds = [dataclasses.replace(add, ok=True)]
    assert [b.ok for b in report.blocks] == [True]
    assert read_back(report) == report
