"""Which side of a mismatched add is wrong: the layers after the add decide, and a main
branch that comes back at the wrong width is fixed where it is wrong, without cascades."""

from __future__ import annotations

from collections import OrderedDict

import torch
import torch.nn as nn

import shapecheck
from shapecheck.analysis.fix import apply_fixes
from shapecheck.render.structure import read_structure


class Attention(nn.Module):
    """Heads re-view the tokens (`x.shape`, view, transpose), as timm's Attention does."""

    def __init__(self, dim, heads=4, head_dim=32):
        super().__init__()
        self.heads, self.head_dim = heads, head_dim
        inner = heads * head_dim
        self.qkv = nn.Linear(dim, 3 * inner)
        self.proj = nn.Linear(inner, inner)  # the bug: should map back to `dim`

    def forward(self, x):
        b, t, _ = x.shape
        q, k, v = self.qkv(x).chunk(3, dim=-1)
        q, k, v = (z.view(b, t, self.heads, self.head_dim).transpose(1, 2) for z in (q, k, v))
        out = torch.softmax(q @ k.transpose(-2, -1), dim=-1) @ v
        return self.proj(out.transpose(1, 2).reshape(b, t, self.heads * self.head_dim))


class Layer(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.norm1, self.attn = nn.LayerNorm(dim), Attention(dim)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, 2 * dim), nn.GELU(), nn.Linear(2 * dim, dim))

    def forward(self, x):
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


def transformer(dim=96) -> nn.Module:
    return nn.Sequential(OrderedDict(layer1=Layer(dim), layer2=Layer(dim)))


def test_branch_at_the_wrong_width_is_one_finding_per_layer_fixed_in_the_branch():
    report = shapecheck.check(transformer(), (1, 16, 96), group=False)
    assert [(f.kind, f.module, f.shapes) for f in report.findings] == [
        ("channel_mismatch", "layer1", ((1, 16, 128), (1, 16, 96))),
        ("channel_mismatch", "layer2", ((1, 16, 128), (1, 16, 96))),
    ]  # no LayerNorm or later add fails in consequence
    assert [a.ok for a in report.residual_adds] == [False, True, False, True]
    fixes = [f.fix for f in report.findings]
    assert [(x.kind, x.layers, x.code, x.in_channels, x.out_channels, x.verified)
            for x in fixes] == [
        ("resize", ("layer1.attn.proj",), "layer1.attn.proj = nn.Linear(128, 96)", 128, 96, True),
        ("resize", ("layer2.attn.proj",), "layer2.attn.proj = nn.Linear(128, 96)", 128, 96, True),
    ]
    assert report.output_shapes == [(1, 16, 96)]


def test_the_resized_branch_runs_for_real():
    model = transformer().eval()
    report = shapecheck.check(model, (1, 16, 96))
    fixed = apply_fixes(report.graph_module, report)
    for name, module in fixed.named_children():
        if name.startswith("shapecheck_fix_"):
            fixed.add_module(name, nn.Linear(module.in_features, module.out_features))
    with torch.no_grad():
        assert fixed(torch.randn(1, 16, 96)).shape == (1, 16, 96)


def test_causes_name_the_layer_that_set_the_width_not_the_reshapes():
    report = shapecheck.check(transformer(), (1, 16, 96), group=False)
    causes = report.findings[0].causes
    assert causes[0] == "attn.proj (Linear 128->128) gives the main branch 128 features"
    assert causes[-1].startswith("the layers after the add expect 96 features (layer1.norm2: "
                                 "LayerNorm)")
    assert not any("transpose" in c or "matmul" in c for c in causes)


class Bottleneck(nn.Module):
    def __init__(self, cin, planes, expansion=4, project=True):
        super().__init__()
        self.conv1, self.bn1 = nn.Conv2d(cin, planes, 1, bias=False), nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, planes * expansion, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * expansion)
        self.downsample = nn.Sequential(nn.Conv2d(cin, planes * 4, 1, bias=False),
                                        nn.BatchNorm2d(planes * 4)) if project else None

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = torch.relu(self.bn1(self.conv1(x)))
        out = torch.relu(self.bn2(self.conv2(out)))
        return torch.relu(self.bn3(self.conv3(out)) + identity)


def test_bottleneck_expanding_too_little_is_fixed_in_its_last_conv_and_norm():
    model = nn.Sequential(OrderedDict(layer1_0=Bottleneck(64, 64, expansion=2),
                                      layer1_1=Bottleneck(256, 64, project=False)))
    report = shapecheck.check(model, (1, 64, 16, 16))
    [finding] = report.findings
    assert (finding.module, finding.shapes) == ("layer1_0", ((1, 128, 16, 16), (1, 256, 16, 16)))
    assert finding.fix.kind == "resize" and finding.fix.verified
    assert finding.fix.layers == ("layer1_0.conv3", "layer1_0.bn3")
    assert finding.fix.code == ("layer1_0.conv3 = nn.Conv2d(64, 256, kernel_size=1, bias=False); "
                                "layer1_0.bn3 = nn.BatchNorm2d(256)")
    assert "layer1_1.conv1: Conv2d" in finding.causes[-1]


def test_missing_projection_is_still_fixed_on_the_shortcut():
    # the next block is built for the main branch's 256 channels: the shortcut is wrong
    model = nn.Sequential(OrderedDict(layer1_0=Bottleneck(64, 64, project=False),
                                      layer1_1=Bottleneck(256, 64, project=False)))
    report = shapecheck.check(model, (1, 64, 16, 16))
    [finding] = report.findings
    assert (finding.fix.kind, finding.fix.in_channels, finding.fix.out_channels,
            finding.fix.verified) == ("projection", 64, 256, True)


def test_shape_values_taken_in_a_block_are_drawn_inside_it():
    structure = read_structure(shapecheck.check(transformer(), (1, 16, 96)))
    assert "stem" not in structure.role.values()
    assert [v.name for v in structure.blocks] == ["layer1 · attn", "layer1 · mlp",
                                                  "layer2 · attn", "layer2 · mlp"]


class Basic(nn.Module):
    def __init__(self, channels, out=None):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels)
        self.conv2 = nn.Conv2d(channels, out or channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(out or channels)

    def forward(self, x):
        out = torch.relu(self.bn1(self.conv1(x)))
        return torch.relu(self.bn2(self.conv2(out)) + x)


class LastBlockNarrow(nn.Module):
    """The last block's conv2 halves the width; the classifier is built for the full one."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 64, 3, padding=1)
        self.layer = nn.Sequential(Basic(64), Basic(64, out=32))
        self.pool, self.fc = nn.AdaptiveAvgPool2d(1), nn.Linear(64, 10)

    def forward(self, x):
        return self.fc(torch.flatten(self.pool(self.layer(self.stem(x))), 1))


def test_the_classifier_after_pool_and_flatten_decides_the_width():
    report = shapecheck.check(LastBlockNarrow(), (1, 3, 16, 16))
    [finding] = report.findings  # the fc does not fail in consequence
    assert (finding.module, finding.shapes) == ("layer.1", ((1, 32, 16, 16), (1, 64, 16, 16)))
    assert finding.fix.code == ("layer.1.conv2 = nn.Conv2d(64, 64, kernel_size=3, padding=1, "
                                "bias=False); layer.1.bn2 = nn.BatchNorm2d(64)")
    assert finding.fix.verified and "fc: Linear" in finding.causes[-1]
    assert report.output_shapes == [(1, 10)]


class FunctionalNorm(nn.Module):
    """A norm written with F.batch_norm on its own tensors (as timm's norm-act layers are
    traced): the width it expects is read off its running mean."""

    def __init__(self, channels):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))
        self.register_buffer("running_mean", torch.zeros(channels))
        self.register_buffer("running_var", torch.ones(channels))

    def forward(self, x):
        return torch.nn.functional.batch_norm(x, self.running_mean, self.running_var,
                                              self.weight, self.bias)


class PreAct(nn.Module):
    def __init__(self, channels, out=None):
        super().__init__()
        self.norm = FunctionalNorm(channels)
        self.conv = nn.Conv2d(channels, out or channels, 3, padding=1, bias=False)

    def forward(self, x):
        return x + self.conv(torch.relu(self.norm(x)))


def test_a_functional_norm_after_the_add_is_evidence_too():
    model = nn.Sequential(PreAct(16, out=8), PreAct(16))
    report = shapecheck.check(model, (1, 16, 8, 8))
    [finding] = report.findings  # the functional norm of block 1 does not fail in consequence
    assert finding.module == "0" and finding.fix.code == (
        "0.conv = nn.Conv2d(16, 16, kernel_size=3, padding=1, bias=False)")
    assert finding.fix.verified
    assert "1.norm: batch_norm" in finding.causes[-1]


class FlattenHead(nn.Module):
    """The width after the add is lost in a flatten that merges channels and space, so no
    layer tells which side is meant; the classifier is built for the shortcut's 16."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(16, 32, 3, padding=1)
        self.fc = nn.Linear(16 * 4 * 4, 10)

    def forward(self, x):
        return self.fc(torch.flatten(self.conv(x) + x, 1))


def test_a_fix_is_verified_only_when_everything_after_it_propagates():
    report = shapecheck.check(FlattenHead(), (1, 16, 4, 4))
    add, layer = report.findings
    assert (add.kind, layer.kind, layer.module) == ("channel_mismatch", "layer_mismatch", "fc")
    # the projection makes the add itself clean, but the classifier still fails after it
    assert add.fix.kind == "projection" and not add.fix.verified
