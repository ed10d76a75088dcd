"""One table of layer families (ops/families.py): every stage reads the same row.

The probe: a branch that comes back at the wrong width is told from a shortcut that was not
projected by the norm after the add. That must hold for every norm users meet, in module
form and in the functional form timm's layers trace into, and adding a layer is one row.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn as nn

import shapecheck
from shapecheck.graph.residual import find_residual_adds
from shapecheck.load.thirdparty import import_timm
from shapecheck.ops import families
from shapecheck.ops.families import LayerFamily, family_of
from shapecheck.ops.labels import module_label

timm = import_timm()
needs_timm = pytest.mark.skipif(timm is None, reason="timm is not installed")


def _summary(report):
    """(code, kind, module, fix kind, fix code, layers, verified) per finding."""
    return [(f.code, f.kind, f.module, f.fix and f.fix.kind, f.fix and f.fix.code,
             f.fix and f.fix.layers, f.fix and f.fix.verified) for f in report.findings]


class TokenBlock(nn.Module):
    """`proj` widens 96 -> 128 on the main branch; the norm after the add wants 96."""

    def __init__(self, norm: nn.Module):
        super().__init__()
        self.proj, self.norm = nn.Linear(96, 128), norm

    def forward(self, x):
        return self.norm(x + self.proj(x))


RESIZE_PROJ = [("SC101", "channel_mismatch", "", "resize", "proj = nn.Linear(96, 96)",
                ("proj",), True)]


@pytest.mark.parametrize("norm", [nn.LayerNorm(96), nn.RMSNorm(96)], ids=["LayerNorm", "RMSNorm"])
def test_a_norm_after_the_add_decides_the_side_for_tokens(norm):
    report = shapecheck.check(TokenBlock(norm), (2, 5, 96))
    assert _summary(report) == RESIZE_PROJ


class ChannelsLast(nn.Module):
    """ConvNeXt's norm: permute to N,H,W,C, LayerNorm over C, permute back."""

    def __init__(self, channels: int):
        super().__init__()
        self.ln = nn.LayerNorm(channels)

    def forward(self, x):
        return self.ln(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)


class ConvBlock(nn.Module):
    """`conv` widens 96 -> 128 on the main branch; the norm after the add wants 96."""

    def __init__(self, norm: nn.Module):
        super().__init__()
        self.conv, self.norm = nn.Conv2d(96, 128, 1), norm

    def forward(self, x):
        return self.norm(x + self.conv(x))


RESIZE_CONV = [("SC101", "channel_mismatch", "", "resize",
                "conv = nn.Conv2d(96, 96, kernel_size=1)", ("conv",), True)]
TORCH_CHANNEL_NORMS = {
    "BatchNorm2d": lambda: nn.BatchNorm2d(96),
    "GroupNorm": lambda: nn.GroupNorm(8, 96),
    "InstanceNorm2d": lambda: nn.InstanceNorm2d(96, affine=True),
    "channels-last LayerNorm": lambda: ChannelsLast(96),
}
TIMM_CHANNEL_NORMS = ["LayerNorm2d", "BatchNormAct2d", "GroupNormAct", "LayerNormAct2d"]


def _timm_norm(name: str, channels: int) -> nn.Module:
    kind = getattr(timm.layers, name)
    return kind(channels, 8) if name == "GroupNormAct" else kind(channels)


@pytest.mark.parametrize("name", list(TORCH_CHANNEL_NORMS))
def test_a_norm_after_the_add_decides_the_side_for_feature_maps(name):
    report = shapecheck.check(ConvBlock(TORCH_CHANNEL_NORMS[name]()), (2, 96, 8, 8))
    assert _summary(report) == RESIZE_CONV


@needs_timm
@pytest.mark.parametrize("name", TIMM_CHANNEL_NORMS)
def test_timm_norms_after_the_add_are_read_in_their_functional_form(name):
    report = shapecheck.check(ConvBlock(_timm_norm(name, 96)), (2, 96, 8, 8))
    # fx inlines them (F.batch_norm, F.group_norm, permute + F.layer_norm): their width is
    # read off their weights, through the permute for the channels-last ones
    assert report.tracer == "fx"
    assert not any(n.op == "call_module" and n.target == "norm"
                   for n in report.graph_module.graph.nodes)
    assert _summary(report) == RESIZE_CONV


class WideBranch(nn.Module):
    """The main branch ends in a norm built for its wrong width; the next layer wants 96."""

    def __init__(self, setter: nn.Module, norm: nn.Module, after: nn.Module):
        super().__init__()
        self.setter, self.branch_norm, self.after = setter, norm, after

    def forward(self, x):
        return self.after(x + self.branch_norm(self.setter(x)))


@pytest.mark.parametrize("norm, code, shape", [
    (nn.RMSNorm(128), "branch_norm = nn.RMSNorm(96)", (2, 5, 96)),
    (nn.LayerNorm(128), "branch_norm = nn.LayerNorm(96)", (2, 5, 96)),
    (nn.GroupNorm(8, 128), "branch_norm = nn.GroupNorm(8, 96)", (2, 96, 4, 4)),
    (nn.InstanceNorm2d(128, affine=True), "branch_norm = nn.InstanceNorm2d(96, affine=True)",
     (2, 96, 4, 4)),
    (nn.BatchNorm2d(128), "branch_norm = nn.BatchNorm2d(96)", (2, 96, 4, 4)),
], ids=["RMSNorm", "LayerNorm", "GroupNorm", "InstanceNorm2d", "BatchNorm2d"])
def test_the_norms_on_a_resized_branch_are_rebuilt_with_it(norm, code, shape):
    tokens = len(shape) == 3
    setter = nn.Linear(96, 128) if tokens else nn.Conv2d(96, 128, 1, bias=False)
    after = nn.Linear(96, 10) if tokens else nn.Conv2d(96, 10, 1)
    report = shapecheck.check(WideBranch(setter, norm, after), shape)
    first = "setter = nn.Linear(96, 96)" if tokens else (
        "setter = nn.Conv2d(96, 96, kernel_size=1, bias=False)")
    assert _summary(report) == [("SC101", "channel_mismatch", "", "resize", f"{first}; {code}",
                                 ("setter", "branch_norm"), True)]


@needs_timm
def test_a_timm_norm_act_on_a_resized_branch_needs_its_module():
    model = WideBranch(nn.Conv2d(96, 128, 1), timm.layers.BatchNormAct2d(128), nn.BatchNorm2d(96))
    # traced by fx, BatchNormAct2d is F.batch_norm on tensors of a module the graph no longer
    # holds: nothing can rebuild it, so no fix is offered rather than one that cannot verify
    inlined = shapecheck.check(model, (2, 96, 4, 4))
    assert [(f.kind, f.fix) for f in inlined.findings] == [("channel_mismatch", None)]
    # kept as a leaf module, its row rebuilds it at the new width, activation and all
    leaf = shapecheck.check(model, (2, 96, 4, 4), leaf_modules=(timm.layers.BatchNormAct2d,))
    assert _summary(leaf) == [("SC101", "channel_mismatch", "", "resize",
                               "setter = nn.Conv2d(96, 96, kernel_size=1); "
                               "branch_norm = BatchNormAct2d(96)",
                               ("setter", "branch_norm"), True)]


class Projected(nn.Module):
    """A bottleneck-like main branch (five steps), so the given shortcut is the shorter."""

    def __init__(self, shortcut: nn.Module):
        super().__init__()
        self.main = nn.Sequential(nn.Conv2d(16, 8, 1), nn.BatchNorm2d(8), nn.ReLU(),
                                  nn.Conv2d(8, 32, 3, stride=2, padding=1), nn.BatchNorm2d(32))
        self.shortcut = shortcut

    def forward(self, x):
        return self.main(x) + self.shortcut(x)


@pytest.mark.parametrize("shortcut, kind", [
    (nn.Sequential(nn.Conv2d(16, 32, 1, stride=2), nn.BatchNorm2d(32)), "projection"),
    (nn.Sequential(nn.Conv2d(16, 32, 1, stride=2), nn.GroupNorm(4, 32)), "projection"),
    (nn.Sequential(nn.AvgPool2d(2), nn.Conv2d(16, 32, 1), nn.RMSNorm([32, 8, 8])),
     "pooled_projection"),
    (nn.Sequential(nn.Identity(), nn.Dropout(0.1), nn.GroupNorm(4, 16)), "identity"),
    (nn.Sequential(nn.MaxPool2d(2), nn.BatchNorm2d(16)), "other"),
    (nn.Sequential(nn.ReLU(), nn.Conv2d(16, 32, 1, stride=2)), "other"),
], ids=["conv+bn", "conv+gn", "pool+conv+rms", "norm only", "pool+norm", "relu"])
def test_shortcut_kinds_read_each_layers_role(shortcut, kind):
    gm = torch.fx.symbolic_trace(Projected(shortcut))
    [structure] = find_residual_adds(gm)
    assert structure.shortcut == kind


def test_every_stage_reads_the_row():
    conv = nn.Conv2d(64, 128, 3, stride=2, padding=1, groups=4, bias=False)
    row = family_of(conv)
    x = torch.empty(1, 64, 8, 8, device="meta")
    assert (row.name, row.role, row.expects(conv, x).size, row.out_width(conv)) == (
        "conv", "projection", 64, 128)
    assert row.rebuild(conv, 256)[1] == (
        "nn.Conv2d(64, 256, kernel_size=3, stride=2, padding=1, groups=4, bias=False)")
    assert row.macs(conv, (1, 128, 4, 4), [(1, 64, 8, 8)]) == 128 * 16 * 16 * 9
    assert (module_label(conv), row.describe(conv)) == (
        "conv 3x3/2, 64->128, g=4", "Conv2d 3x3/2, 64->128, groups=4")
    rms = nn.RMSNorm(96)
    assert (family_of(rms).role, module_label(rms), family_of(rms).rebuild(rms, 64)[1]) == (
        "norm", "rms", "nn.RMSNorm(64)")


class ScaleNorm(nn.Module):
    """A norm of the user's own: scales by the feature norm, with one learnt gain per feature."""

    def __init__(self, dim: int):
        super().__init__()
        self.dim = dim
        self.gain = nn.Parameter(torch.ones(dim))

    def forward(self, x):
        return x / x.norm(dim=-1, keepdim=True) * self.gain


def test_a_new_layer_is_one_row(monkeypatch):
    # a user's own layer is a leaf (fx would trace through it), and without a row its
    # width is unknown: the side is guessed wrong and the norm fails in consequence
    check = lambda: shapecheck.check(TokenBlock(ScaleNorm(96)), (2, 5, 96),  # noqa: E731
                                     leaf_modules=(ScaleNorm,))
    before = check()
    assert [(f.kind, f.fix and f.fix.kind) for f in before.findings] == [
        ("channel_mismatch", "linear"), ("op_failure", None)]
    row = LayerFamily(
        "scale_norm", (ScaleNorm,), role="norm",
        expects=lambda m, x: families.Expectation(x.dim() - 1, m.dim, "features"),
        rebuild=lambda m, width: (ScaleNorm(width), f"ScaleNorm({width})"))
    monkeypatch.setattr(families, "FAMILIES", (row,) + families.FAMILIES)
    monkeypatch.setattr(families, "_BY_TYPE", {})
    assert _summary(check()) == RESIZE_PROJ


@needs_timm
def test_rebuilt_norms_run_for_real():
    from shapecheck.analysis.fix import apply_fixes
    from shapecheck.confirm.run import init_weights

    model = WideBranch(nn.Conv2d(96, 128, 1), timm.layers.BatchNormAct2d(128), nn.BatchNorm2d(96))
    report = shapecheck.check(model, (2, 96, 4, 4), leaf_modules=(timm.layers.BatchNormAct2d,))
    fixed = apply_fixes(report.graph_module, report).to_empty(device="cpu")
    init_weights(fixed)
    with torch.no_grad():
        assert fixed.eval()(torch.randn(2, 96, 4, 4)).shape == (2, 96, 4, 4)
