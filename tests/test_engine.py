"""The analysis engine on small inline models: every spelling, every kind, fixes proven."""

from __future__ import annotations

import inspect

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

import shapecheck
from shapecheck.report import Report


def _line(cls: type, text: str) -> int:
    """Line number of the line of `cls`'s source containing `text`."""
    lines, start = inspect.getsourcelines(cls)
    hits = [start + i for i, line in enumerate(lines) if text in line]
    assert len(hits) == 1, hits
    return hits[0]


def conv_bn(cin: int, cout: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout))


class PlusBlock(nn.Module):
    def __init__(self, cin=16, cout=16, stride=1):
        super().__init__()
        self.body = conv_bn(cin, cout, stride)

    def forward(self, x):
        return self.body(x) + x


class IaddBlock(PlusBlock):
    def forward(self, x):
        out = self.body(x)
        out += x
        return out


class TorchAddBlock(PlusBlock):
    def forward(self, x):
        return torch.add(self.body(x), x)


class MethodAddBlock(PlusBlock):
    def forward(self, x):
        return self.body(x).add(x)


class InplaceAddBlock(PlusBlock):
    def forward(self, x):
        return F.relu(self.body(x)).add_(x)


SPELLINGS = [PlusBlock, IaddBlock, TorchAddBlock, MethodAddBlock, InplaceAddBlock]


@pytest.mark.parametrize("cls", SPELLINGS, ids=lambda c: c.__name__)
def test_every_spelling_of_add_is_a_residual_add(cls):
    report = shapecheck.check(cls(), (1, 16, 8, 8))
    assert report.ok
    [add] = report.residual_adds
    assert (add.shortcut, add.fork, add.ok) == ("identity", "x", True)
    assert add.shapes == ((1, 16, 8, 8), (1, 16, 8, 8))


@pytest.mark.parametrize("cls", SPELLINGS, ids=lambda c: c.__name__)
def test_every_spelling_of_a_bad_add_is_found_with_its_line(cls):
    report = shapecheck.check(cls(16, 32, 2), (1, 16, 8, 8))
    [finding] = report.findings
    assert (finding.code, finding.kind, finding.module) == ("SC101", "channel_mismatch", "")
    assert finding.shapes == ((1, 32, 4, 4), (1, 16, 8, 8))
    add_text = {"PlusBlock": "+ x", "IaddBlock": "out += x", "TorchAddBlock": "torch.add",
                "MethodAddBlock": ".add(x)", "InplaceAddBlock": ".add_(x)"}[cls.__name__]
    assert finding.location.line == _line(cls, add_text)
    assert finding.location.path.endswith("test_engine.py")
    assert (finding.fix.in_channels, finding.fix.out_channels, finding.fix.stride) == (16, 32, 2)
    assert finding.fix.verified


class Stage(nn.Module):
    """Two blocks; `bad` picks which carry a bug (for the one-pass test)."""

    def __init__(self, first_bad: bool, second_bad: bool):
        super().__init__()
        self.block1 = PlusBlock(8, 16 if first_bad else 8, 1)
        self.block2 = PlusBlock(16 if first_bad else 8, 16 if first_bad else 8, 2 if second_bad else 1)

    def forward(self, x):
        return self.block2(self.block1(x))


def test_two_independent_bugs_are_found_in_one_pass():
    report = shapecheck.check(Stage(True, True), (1, 8, 16, 16))
    assert [(f.kind, f.module) for f in report.findings] == [
        ("channel_mismatch", "block1"), ("spatial_mismatch", "block2")]
    # the first bug does not hide the second: the main branch stood in for the failed add
    assert report.findings[1].shapes == ((1, 16, 8, 8), (1, 16, 16, 16))
    assert [(f.fix.in_channels, f.fix.out_channels, f.fix.stride, f.fix.verified)
            for f in report.findings] == [(8, 16, 1, True), (16, 16, 2, True)]
    assert report.output_shapes == [(1, 16, 8, 8)]
    patched = shapecheck.check(report.patched_graph_module, (1, 8, 16, 16))
    assert patched.ok and len(patched.residual_adds) == 2


def test_silent_spatial_broadcast_on_a_2x2_map_is_an_error():
    # [1,16,1,1] + [1,16,2,2] runs in eager mode; the probe at 4x4 shows it breaks
    report = shapecheck.check(PlusBlock(16, 16, 2), (1, 16, 2, 2))
    [finding] = report.findings
    assert (finding.kind, finding.severity) == ("spatial_mismatch", "error")
    assert finding.shapes == ((1, 16, 1, 1), (1, 16, 2, 2))
    assert finding.fix.stride == 2 and finding.fix.verified
    assert report.nodes[finding.node].shape == (1, 16, 2, 2)  # what eager mode really computes


class GlobalContext(nn.Module):
    """GCNet-style: a pooled [N,C,1,1] context added back to every position, by design."""

    def __init__(self, c=16):
        super().__init__()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.transform = nn.Sequential(nn.Conv2d(c, c // 4, 1), nn.ReLU(), nn.Conv2d(c // 4, c, 1))

    def forward(self, x):
        return x + self.transform(self.pool(x))


def test_pooled_context_broadcast_is_not_an_error():
    report = shapecheck.check(GlobalContext(), (1, 16, 14, 14))
    assert report.ok and report.findings == []
    [add] = report.residual_adds
    assert add.ok and sorted(add.shapes) == [(1, 16, 1, 1), (1, 16, 14, 14)]


class OuterSum(nn.Module):
    """Relative-position style term where both operands expand (SAM)."""

    def __init__(self):
        super().__init__()
        self.rows = nn.Linear(8, 8)
        self.cols = nn.Linear(8, 8)

    def forward(self, x):
        return self.rows(x).unsqueeze(-1) + self.cols(x).unsqueeze(-2)


def test_mutual_broadcast_is_by_design():
    report = shapecheck.check(OuterSum(), (2, 6, 8))
    assert report.ok and len(report.residual_adds) == 1


class OneChannelProjection(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = conv_bn(16, 16)
        self.project = nn.Conv2d(16, 1, 1)

    def forward(self, x):
        return self.body(x) + self.project(x)


def test_single_channel_shortcut_is_a_broadcast_error():
    report = shapecheck.check(OneChannelProjection(), (1, 16, 8, 8))
    [finding] = report.findings
    assert (finding.code, finding.kind) == ("SC103", "broadcast")
    assert finding.shapes == ((1, 16, 8, 8), (1, 1, 8, 8))
    assert (finding.fix.in_channels, finding.fix.out_channels, finding.fix.verified) == (16, 16, True)
    assert report.residual_adds[0].shortcut == "projection"


class Attention(nn.Module):
    def __init__(self, dim=32, out=32):
        super().__init__()
        self.norm = nn.LayerNorm(dim)
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, out)

    def forward(self, x):
        q, k, v = self.qkv(self.norm(x)).chunk(3, dim=-1)
        attn = F.scaled_dot_product_attention(q, k, v)
        return x + self.proj(attn)


def test_transformer_attention_projecting_to_the_wrong_width():
    report = shapecheck.check(Attention(32, 48), (2, 10, 32))
    [finding] = report.findings
    assert finding.kind == "channel_mismatch"
    assert finding.shapes == ((2, 10, 48), (2, 10, 32))  # the last dim is the feature dim
    assert finding.fix.kind == "linear" and finding.fix.code == "nn.Linear(32, 48)"
    assert finding.fix.verified
    assert finding.location.line == _line(Attention, "x + self.proj(attn)")


class PositionEmbedding(nn.Module):
    def __init__(self):
        super().__init__()
        self.pos = nn.Parameter(torch.zeros(1, 10, 32))
        self.block = Attention()

    def forward(self, x):
        return self.block(x + self.pos)


def test_adding_a_parameter_is_not_a_residual_add():
    report = shapecheck.check(PositionEmbedding(), (2, 10, 32))
    assert [a.module for a in report.residual_adds] == ["block"]


class ShapeDependent(nn.Module):
    """`if x.shape[1] != ...` defeats torch.fx: the recording tracer takes over."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(8, 16, 3, padding=1)
        self.widen = nn.Conv2d(8, 16, 1)

    def forward(self, x):
        out = self.conv(x)
        shortcut = self.widen(x) if x.shape[1] != out.shape[1] else x
        return out + shortcut


class ShapeDependentBuggy(ShapeDependent):
    def forward(self, x):
        out = self.conv(x)
        shortcut = x if x.shape[1] == 8 else self.widen(x)
        return out + shortcut


def test_shape_dependent_control_flow_uses_the_fallback_tracer():
    report = shapecheck.check(ShapeDependent(), (1, 8, 8, 8))
    assert report.tracer == "record" and report.ok
    assert any("torch.fx could not trace" in note for note in report.notes)
    [add] = report.residual_adds
    assert (add.shortcut, add.module) == ("projection", "")
    buggy = shapecheck.check(ShapeDependentBuggy(), (1, 8, 8, 8))
    [finding] = buggy.findings
    assert (finding.kind, finding.fix.verified) == ("channel_mismatch", True)
    assert finding.location.line == _line(ShapeDependentBuggy, "return out + shortcut")


class WrongLayer(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 32, 3, padding=1)
        self.conv2 = nn.Conv2d(16, 32, 3, padding=1)
        self.fc = nn.Linear(32, 10)

    def forward(self, x):
        x = self.conv2(self.conv1(x))
        return self.fc(x.mean((2, 3)))


def test_layer_receiving_wrong_channels_and_analysis_goes_on():
    report = shapecheck.check(WrongLayer(), (1, 3, 16, 16))
    [finding] = report.findings
    assert (finding.code, finding.kind, finding.module) == ("SC201", "layer_mismatch", "conv2")
    assert finding.shapes == ((1, 32, 16, 16), (1, 16, 16, 16))
    assert finding.location.line == _line(WrongLayer, "self.conv2(self.conv1(x))")
    assert report.output_shapes == [(1, 10)]  # the conv stood in with its intended input


def test_input_that_does_not_fit_the_first_layer_is_an_input_error():
    report = shapecheck.check(WrongLayer(), (1, 1, 16, 16))
    assert report.error is not None and report.error.kind == "input"
    assert "conv1" in report.error.message and "3" in report.error.message


def test_messages_explain_which_layer_changed_the_shape():
    report = shapecheck.check(PlusBlock(16, 32, 2), (1, 16, 8, 8))
    [finding] = report.findings
    assert finding.causes == ("body.0 changes channels 16 -> 32", "body.0 downsamples 8x8 -> 4x4",
                              "the identity shortcut keeps 16 channels at 8x8")


def test_chinese_messages():
    report = shapecheck.check(PlusBlock(16, 32, 2), (1, 16, 8, 8), lang="zh")
    assert "残差相加" in report.findings[0].message
    assert report.findings[0].kind == "channel_mismatch"


def test_cost_does_not_depend_on_weights_or_resolution():
    # a 65k x 65k linear layer would need 16 GiB of real weights; meta needs none
    with torch.device("meta"):
        huge = nn.Sequential(nn.Linear(65536, 65536), nn.ReLU())
    report = shapecheck.check(huge, (1, 65536))
    assert report.output_shapes == [(1, 65536)] and report.parameters == 65536 * 65537
    big = shapecheck.check(PlusBlock(16, 32, 2), (1, 16, 4096, 4096))
    assert big.findings[0].shapes == ((1, 32, 2048, 2048), (1, 16, 4096, 4096))


def test_model_with_real_weights_is_not_modified():
    model = PlusBlock()
    before = model.body[0].weight.clone()
    shapecheck.check(model, (1, 16, 8, 8))
    assert model.body[0].weight.device.type == "cpu" and torch.equal(model.body[0].weight, before)
    assert model.training  # eval mode was temporary


def test_report_json_has_the_contract_fields():
    report = shapecheck.check(PlusBlock(16, 32, 2), (1, 16, 8, 8), target="x.py:PlusBlock")
    doc = report.to_json()
    assert {"target", "input_shapes", "output_shapes", "parameters", "tracer", "error",
            "residual_adds", "findings"} <= set(doc)
    add = doc["residual_adds"][0]
    assert {"node", "module", "location", "shapes", "shortcut", "ok"} <= set(add)
    finding = doc["findings"][0]
    assert {"code", "kind", "severity", "message", "module", "location", "shapes", "fix"} <= set(finding)
    assert set(finding["fix"]) >= {"kind", "in_channels", "out_channels", "stride", "code", "verified"}
    assert finding["shapes"] == [[1, 32, 4, 4], [1, 16, 8, 8]]


class Bottleneck(nn.Module):
    def __init__(self):
        super().__init__()
        self.reduce = nn.Conv2d(256, 64, 1, bias=False)
        self.conv = nn.Conv2d(64, 64, 3, padding=1, bias=False)
        self.expand = nn.Conv2d(64, 256, 1, bias=False)

    def forward(self, x):
        return self.expand(self.conv(self.reduce(x))) + x


def test_block_facts_reproduce_the_bottleneck_arithmetic():
    [block] = shapecheck.check(Bottleneck(), (1, 256, 56, 56)).blocks
    assert block.params == 3 * 3 * 64 * 64 + 1 * 1 * 256 * 64 * 2
    assert block.macs == 56 * 56 * block.params  # stride 1: one MAC per weight per position
    assert (block.input_shape, block.output_shape, block.shortcut) == (
        (1, 256, 56, 56), (1, 256, 56, 56), "identity")


def test_inputs_are_inferred_when_not_given():
    report = shapecheck.check(PlusBlock())
    assert report.input_shapes == [(2, 16, 224, 224)]  # the default batch is 2
    assert any("assumed" in note for note in report.notes)


def test_report_is_a_report():
    assert isinstance(shapecheck.check(nn.Conv2d(3, 8, 3), (1, 3, 32, 32)), Report)


class ValueDependent(nn.Module):
    """`nonzero` needs real values: static analysis says so instead of reporting a bug."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)

    def forward(self, x):
        y = self.conv(x)
        return torch.relu(y) + y, torch.nonzero(y)


def test_ops_that_need_values_are_a_note_not_an_error():
    report = shapecheck.check(ValueDependent(), (1, 3, 8, 8))
    assert report.findings == [] and report.error is None
    assert any("need real tensor values" in note for note in report.notes)
    assert report.output_shapes[0] == (1, 8, 8, 8) and report.output_shapes[1] is None


class OptionalMask(nn.Module):
    """`if mask is not None:` on an unused optional input: trace the path actually taken."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 3, 3, padding=1)

    def forward(self, x, mask=None):
        if mask is not None:
            x = x * mask.view(x.shape[0], 1, 1, 1)
        return self.conv(x) + x


class LongToFloat(nn.Module):
    """`.float()` changes the dtype: the matmul after it must see float32."""

    def __init__(self):
        super().__init__()
        self.register_buffer("positions", torch.arange(8))

    def forward(self, x):
        angles = self.positions[:, None].float() @ torch.ones(1, 4)
        return x + angles.sum()


def test_optional_inputs_keep_their_defaults():
    report = shapecheck.check(OptionalMask(), (2, 3, 8, 8))
    assert report.ok and report.tracer == "fx" and len(report.residual_adds) == 1


def test_dtype_changes_are_followed():
    report = shapecheck.check(LongToFloat(), (2, 4))
    assert report.ok and report.output_shapes == [(2, 4)]
