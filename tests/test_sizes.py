"""The proof of valid input sizes against brute force: torch's meta kernels at every size.

The scan runs the traced graph's generated code (fast: no interpreter) on meta tensors at
each size, with every residual add replaced by a call that records both operands' shapes.
A size fails at the first node that raises (read off the generated code's line) or at the
first residual add whose operands differ by a size-1 broadcast that is not one at every
size (a pooled context). The proof must agree at every scanned size: same valid set, same
first failing node.

Small models are scanned at every size in 8..512. For 224-input ResNets, a full scan is
minutes per model on two shared cores, so they are scanned exhaustively per class: every
size in [8, n0 + P) (below the proof's threshold, and each residue mod its period once),
the two largest sizes <= 512 of each residue class mod P, and every 11th size in 8..512.
"""

from __future__ import annotations

import linecache
import re
import sys
import time
from pathlib import Path

import pytest
import torch
import torch.fx as fx
import torch.nn as nn

from shapecheck.analysis import intent
from shapecheck.analysis.propagate import propagate_shapes
from shapecheck.analysis.size_sets import contains
from shapecheck.analysis.sizes import parse_ranges, prove_sizes
from shapecheck.graph.residual import find_residual_adds
from shapecheck.graph.trace import trace_model
from shapecheck.load.thirdparty import import_timm, import_torchvision
from shapecheck.ops.axis_formulas import pool_output
from shapecheck.ops.meta import eval_mode, meta_weights

ROOT = Path(__file__).resolve().parent.parent
LO, HI = 8, 512


# --------------------------------------------------------------------------- brute force

class _Silent(Exception):
    def __init__(self, node: str):
        self.node = node


def scan(gm: fx.GraphModule, residual: set[str], shape, axis: int, sizes) -> dict:
    """{size: None if it runs cleanly, else the name of the first failing node}."""
    recorded: dict[int, list] = {}
    names = [n.name for n in gm.graph.nodes]
    patched = fx.GraphModule(gm, _recording_graph(gm, residual))
    results: dict[int, object] = {}
    with meta_weights(patched), eval_mode(patched), torch.no_grad():
        for n in sizes:
            log = recorded[n] = []
            _LOG[:] = [log]
            dims = list(shape)
            dims[axis] = n
            try:
                patched(torch.empty(dims, device="meta"))
                results[n] = None
            except Exception as exc:  # noqa: BLE001 - any failure is a failing size
                results[n] = _failing_node(exc, patched)
    # a size-1 side broadcasts by design when it is 1 wherever the add ran
    ones: dict[tuple, set] = {}
    for rows in recorded.values():
        for name, a, b in rows:
            for i, (x, y) in enumerate(zip(a, b)):
                ones.setdefault((name, 0, i), set()).add(x)
                ones.setdefault((name, 1, i), set()).add(y)
    for n, rows in recorded.items():
        for name, a, b in rows:
            if a != b and len(a) == len(b) and all(
                    x == y or ones[(name, 0, i)] == {1} or ones[(name, 1, i)] == {1}
                    for i, (x, y) in enumerate(zip(a, b))):
                continue
            if a != b and (results[n] is None or names.index(name) < names.index(results[n])):
                results[n] = name
                break
    return results


_LOG: list = [[]]


def _checked_add(a, b, name):
    _LOG[0].append((name, tuple(a.shape), tuple(b.shape)))
    return a + b


def _recording_graph(gm: fx.GraphModule, residual: set[str]) -> fx.Graph:
    graph = fx.Graph()
    env: dict = {}
    for node in gm.graph.nodes:
        if node.name in residual:
            a, b = node.args[0], node.args[1]
            env[node] = graph.call_function(_checked_add, (env[a], env[b], node.name))
            env[node].name = node.name
        else:
            env[node] = graph.node_copy(node, lambda n: env[n])
    return graph


def _failing_node(exc: BaseException, gm: fx.GraphModule) -> str:
    frames = []
    tb = exc.__traceback__
    while tb is not None:
        frames.append(tb)
        tb = tb.tb_next
    for frame in reversed(frames):
        filename = frame.tb_frame.f_code.co_filename
        if filename.startswith("<eval_with_key>"):
            line = linecache.getline(filename, frame.tb_lineno)
            found = re.match(r"\s*(\w+) = ", line)
            if found:
                name = found.group(1)
                for node in gm.graph.nodes:
                    if node.name == name:  # a recorded residual add names its original
                        return node.args[2] if node.target is _checked_add else name
    return "?"


# --------------------------------------------------------------------------- the comparison

def analyse(model: nn.Module, shape, tracer: str = "auto"):
    model = model.eval()
    x = torch.empty(shape, device="meta")
    traced = trace_model(model, [x], tracer, ())
    gm = traced.graph_module
    structures = find_residual_adds(gm)
    kept = intent.kept_operands(structures, {})
    prop = propagate_shapes(gm, [x], kept)
    return traced, gm, structures, kept, prop


def prove(model: nn.Module, shape, ranges=None, tracer="auto"):
    traced, gm, structures, kept, prop = analyse(model, shape, tracer)
    began = time.perf_counter()
    sizes = prove_sizes(gm, prop, structures, kept, [tuple(shape)], traced.tracer,
                        ranges or {a: (LO, None) for a in ("H", "W")[:len(shape) - 2]})
    return sizes, gm, structures, time.perf_counter() - began


def outcome(axis_result: dict, n: int):
    """What the proof says of size n: None (valid), a node name, or 'unknown'."""
    if contains(axis_result["unknown"], n):
        return "unknown"
    if contains(axis_result["valid"], n):
        return None
    hits = [c["node"] for c in axis_result["failing"] if contains(c["progressions"], n)]
    assert len(hits) == 1, (n, hits)
    return hits[0]


def assert_matches_brute_force(model: nn.Module, shape, every: bool = True, tracer="auto"):
    sizes, gm, structures, _ = prove(model, shape, tracer=tracer)
    residual = {s.add.name for s in structures}
    for name, axis_result in sizes.items():
        if every:
            scanned = range(LO, HI + 1)
        else:
            top = (axis_result["threshold"] or LO) + axis_result["period"]
            scanned = set(range(LO, min(HI, top) + 1)) | set(range(LO, HI + 1, 11))
            for r in range(axis_result["period"]):
                members = [n for n in range(LO, HI + 1) if n % axis_result["period"] == r]
                scanned |= set(members[-2:])
        truth = scan(gm, residual, shape, axis_result["dim"], sorted(scanned))
        wrong = [(n, truth[n], outcome(axis_result, n)) for n in sorted(truth)
                 if outcome(axis_result, n) not in ("unknown", truth[n])]
        assert not wrong, f"{name}: (size, real, proved) {wrong[:8]}"
    return sizes


# --------------------------------------------------------------------------- hand-made nets

class Tree(nn.Module):
    """A DLA-style downsampling block: 3x3 stride-2 conv (rounds up) + MaxPool shortcut
    (rounds down)."""

    def __init__(self, channels: int, stride: int = 2):
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, stride, 1, bias=False)
        self.bn = nn.BatchNorm2d(channels)
        self.downsample = nn.MaxPool2d(stride, stride=stride)

    def forward(self, x):
        return torch.relu(self.bn(self.conv(x)) + self.downsample(x))


class DlaLike(nn.Module):
    def __init__(self, channels: int = 8, classes: int = 10):
        super().__init__()
        self.base = nn.Conv2d(3, channels, 7, 1, 3)
        self.level1 = nn.Conv2d(channels, channels, 3, 2, 1)
        self.levels = nn.Sequential(*[Tree(channels) for _ in range(4)])
        self.avgpool = nn.AvgPool2d(7)
        self.fc = nn.Conv2d(channels, classes, 1)

    def forward(self, x):
        x = self.avgpool(self.levels(self.level1(self.base(x))))
        return self.fc(x).view(x.size(0), -1)


class DownBlock(nn.Module):
    """A ResNet-D block: 3x3 stride-2 conv main branch, avg-pool + 1x1 conv shortcut."""

    def __init__(self, cin: int, cout: int, ceil_mode: bool):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, 3, 2, 1, bias=False)
        self.pool = nn.AvgPool2d(2, 2, ceil_mode=ceil_mode, count_include_pad=False)
        self.proj = nn.Conv2d(cin, cout, 1, bias=False)

    def forward(self, x):
        return torch.relu(self.conv(x) + self.proj(self.pool(x)))


class ResNetD(nn.Module):
    def __init__(self, ceil_mode: bool = False):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 8, 3, 2, 1), nn.MaxPool2d(3, 2, 1))
        self.stages = nn.Sequential(*[DownBlock(8 * 2 ** i, 16 * 2 ** i, ceil_mode)
                                      for i in range(3)])
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(64, 10)

    def forward(self, x):
        return self.fc(torch.flatten(self.pool(self.stages(self.stem(x))), 1))


class Pair(nn.Module):
    """main(x) + shortcut(x), the smallest residual add."""

    def __init__(self, main: nn.Module, shortcut: nn.Module, head: nn.Module = None):
        super().__init__()
        self.main, self.shortcut = main, shortcut
        self.head = head if head is not None else nn.Identity()

    def forward(self, x):
        return self.head(self.main(x) + self.shortcut(x))


class FixedHead(nn.Module):
    """Flatten straight into a Linear built for 16x16 maps."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, 2, 1)
        self.fc = nn.Linear(4 * 8 * 8, 10)

    def forward(self, x):
        y = self.conv(x)
        return self.fc(torch.flatten(y + y.relu(), 1))


class PositionEmbedding(nn.Module):
    """Patch tokens plus a position embedding sized for one resolution (a ViT stem)."""

    def __init__(self):
        super().__init__()
        self.patch = nn.Conv2d(3, 8, 4, 4)
        self.pos = nn.Parameter(torch.zeros(1, 16, 8))
        self.mlp = nn.Linear(8, 8)

    def forward(self, x):
        tokens = self.patch(x).flatten(2).transpose(1, 2) + self.pos
        return tokens + self.mlp(tokens)


def _conv(k, s, p, d=1, **kw):
    return nn.Conv2d(2, 2, k, s, p, dilation=d, **kw)


HAND_MADE = {
    "floor_pool_vs_ceil_conv": (Pair(_conv(3, 2, 1), nn.MaxPool2d(2, 2)), (1, 2, 32, 32)),
    "ceil_pool_vs_conv": (Pair(_conv(3, 2, 1), nn.MaxPool2d(2, 2, ceil_mode=True)), (1, 2, 32, 32)),
    "ceil_last_window": (Pair(_conv(3, 2, 1), nn.MaxPool2d(3, 2, 1, ceil_mode=True)), (1, 2, 32, 32)),
    "dilation": (Pair(_conv(3, 1, 2, d=2), _conv(5, 1, 2)), (1, 2, 32, 32)),
    "dilation_mismatch": (Pair(_conv(3, 2, 1, d=2), _conv(1, 2, 0)), (1, 2, 32, 32)),
    "even_kernel": (Pair(_conv(4, 2, 1), _conv(1, 2, 0)), (1, 2, 32, 32)),
    "padding_same": (Pair(_conv(4, 1, "same"), nn.Identity()), (1, 2, 32, 32)),
    "adaptive": (Pair(nn.AdaptiveAvgPool2d(4), nn.Sequential(_conv(3, 2, 1), nn.AdaptiveMaxPool2d(4))),
                 (1, 2, 32, 32)),
    "global_pool_before_linear": (ResNetD(ceil_mode=True), (1, 3, 64, 64)),
    "pooled_context": (Pair(_conv(3, 1, 1), nn.AdaptiveAvgPool2d(1)), (1, 2, 16, 16)),
    "fixed_linear": (FixedHead(), (1, 3, 16, 16)),
    "position_embedding": (PositionEmbedding(), (1, 3, 16, 16)),
}


@pytest.mark.parametrize("name", sorted(HAND_MADE))
def test_hand_made_nets_match_brute_force(name):
    model, shape = HAND_MADE[name]
    assert_matches_brute_force(model, shape)


def test_dla_shortcut_valid_set_is_the_issues():
    sizes = assert_matches_brute_force(DlaLike(), (1, 3, 224, 224), every=False)
    valid = {n for n in range(LO, 2049) if contains(sizes["H"]["valid"], n)}
    assert valid == {n for n in range(223, 2049) if n % 32 in (0, 31)}
    assert sizes["H"]["proved"] and sizes["H"]["period"] % 32 == 0  # 224: AvgPool2d(7) too
    assert sizes["H"]["valid"] == [[223, None, 32], [224, None, 32]]
    first = {c["node"]: c for c in sizes["H"]["failing"]}
    assert {c["module"] for c in first.values()} >= {"levels.0", "levels.1", "levels.2",
                                                     "levels.3", "avgpool"}
    example = next(c for c in sizes["H"]["failing"] if c["example"] == 225)
    assert example["module"] == "levels.0" and example["kind"] == "spatial_mismatch"


def test_resnet_d_without_ceil_mode_breaks_at_240():
    sizes = assert_matches_brute_force(ResNetD(ceil_mode=False), (1, 3, 224, 224), every=False)
    assert contains(sizes["H"]["valid"], 224) and not contains(sizes["H"]["valid"], 240)
    at_240 = next(c for c in sizes["H"]["failing"] if contains(c["progressions"], 240))
    one, other = at_240["shapes"]  # at the class's example size: ceil vs floor
    assert at_240["module"] == "stages.2" and abs(one[2] - other[2]) == 1
    fixed, *_ = prove(ResNetD(ceil_mode=True), (1, 3, 224, 224), {"H": (1, None)})
    assert fixed["H"]["valid"] == [[1, None, 1]] and fixed["H"]["proved"]


def test_ceil_mode_net_is_valid_everywhere_and_floor_twin_is_multiples():
    ceil = Pair(_conv(3, 2, 1), nn.MaxPool2d(2, 2, ceil_mode=True))
    sizes, *_ = prove(ceil, (1, 2, 32, 32), {"H": (1, None)})
    assert sizes["H"]["valid"] == [[1, None, 1]] and sizes["H"]["proved"]
    floor = Pair(_conv(3, 2, 1), nn.MaxPool2d(2, 2))
    sizes, *_ = prove(floor, (1, 2, 32, 32), {"H": (1, None)})
    assert sizes["H"]["valid"] == [[2, None, 2]]
    broadcast = [c for c in sizes["H"]["failing"] if c["broadcast"]]
    assert [c["progressions"] for c in broadcast] == [[[3, 4, 1]]]  # 2x2 + 1x1 runs silently


def test_fixed_resolution_heads_give_finite_sets():
    sizes = assert_matches_brute_force(FixedHead(), (1, 3, 16, 16))
    assert sizes["H"]["valid"] == [[15, 17, 1]] and sizes["H"]["proved"]
    sizes = assert_matches_brute_force(PositionEmbedding(), (1, 3, 16, 16))
    assert sizes["H"]["valid"] == [[16, 20, 1]]


def test_pool_formula_matches_torch():
    for kernel, stride, padding, ceil in [(3, 2, 1, True), (2, 2, 0, True), (3, 2, 0, True),
                                          (3, 3, 1, False), (2, 1, 1, True)]:
        pool = nn.MaxPool1d(kernel, stride, padding, ceil_mode=ceil)
        for n in range(1, 40):
            try:
                real = pool(torch.empty(1, 1, n, device="meta")).shape[-1]
            except RuntimeError:
                real = 0
            assert pool_output(n, kernel, stride, padding, 1, ceil)[0] == real, (kernel, n)


def test_parse_ranges():
    assert parse_ranges("H=32..512,W=64..") == {"H": (32, 512), "W": (64, None)}
    with pytest.raises(ValueError):
        parse_ranges("512..32")


# --------------------------------------------------------------------------- real models

MODEL_FILES = {
    "models/resnet.py": ["resnet18", "resnet34", "resnet50", "resnet101", "resnet152",
                         "resnext50_32x4d", "resnext101_32x8d", "wide_resnet50_2"],
    "models/preact_resnet.py": ["preact_resnet18"],
    "models/d2l_resnet.py": ["d2l_resnet18"],
    "examples/interview_resnet.py": ["resnet18", "resnet18_misplaced_first_block"],
    "examples/cifar_resnext.py": ["cifar_resnext_equal_width_stride2"],
    "examples/keras_resnext.py": ["build"],
    "examples/keras_resnext_buggy.py": ["build", "build_first_block_identity",
                                        "build_stride2_identity", "build_tiny_stride2_identity"],
    "examples/d2l_resnext.py": ["residual_keep", "residual_downsample", "resnext_block",
                                "residual_stride2_no_projection"],
}


def _reports(spec: str):
    from shapecheck.runner import check_spec
    return [r for r in check_spec(spec, fixes=False) if r.graph_module is not None]


def _brute_force_report(report, every: bool):
    gm = report.graph_module
    structures = find_residual_adds(gm)
    kept = intent.kept_operands(structures, {})
    shape = report.input_shapes[0]
    prop = propagate_shapes(gm, [torch.empty(shape, device="meta")], kept)
    if len(shape) != 4:
        return
    sizes = prove_sizes(gm, prop, structures, kept, [shape], report.tracer,
                        {"H": (LO, None), "W": (LO, None)})
    residual = {s.add.name for s in structures}
    for axis_result in sizes.values():
        if every and shape[2] <= 96:
            scanned = range(LO, HI + 1)
        else:
            top = (axis_result["threshold"] or LO) + axis_result["period"]
            scanned = set(range(LO, min(HI, top) + 1)) | set(range(LO, HI + 1, 11))
            for r in range(axis_result["period"]):
                scanned |= set([n for n in range(LO, HI + 1) if n % axis_result["period"] == r][-2:])
        truth = scan(gm, residual, shape, axis_result["dim"], sorted(scanned))
        wrong = [(n, truth[n], outcome(axis_result, n)) for n in sorted(truth)
                 if outcome(axis_result, n) not in ("unknown", truth[n])]
        assert not wrong, f"{report.target} {axis_result['axis']}: {wrong[:8]}"


SMALL_SPECS = sorted(str(p.relative_to(ROOT)) for d in ("shapecheck/exercises/starters",
                                                        "shapecheck/exercises/solutions")
                     for p in (ROOT / d).glob("*.py"))


@pytest.mark.parametrize("spec", ["shapecheck/exercises/starters/06_pool_floor.py",
                                  "shapecheck/exercises/solutions/06_pool_floor.py"])
def test_pool_floor_exercise_matches_brute_force(spec):
    for report in _reports(spec):
        _brute_force_report(report, every=False)


@pytest.mark.slow
@pytest.mark.parametrize("spec", SMALL_SPECS)
def test_exercises_match_brute_force_slow(spec):  # every size in 8..512: 15 s each
    for report in _reports(spec):
        _brute_force_report(report, every=True)


@pytest.mark.parametrize("spec", ["models/resnet.py:resnet18",
                                  "examples/interview_resnet.py:resnet18_misplaced_first_block"])
def test_models_match_brute_force(spec):
    for report in _reports(spec):
        _brute_force_report(report, every=False)


@pytest.mark.slow
@pytest.mark.parametrize("spec", [f"{path}:{name}" for path, names in MODEL_FILES.items()
                                  for name in names])
def test_models_and_seed_ports_match_brute_force_slow(spec):
    for report in _reports(spec):
        _brute_force_report(report, every=False)


tv = import_torchvision()
timm = import_timm()


@pytest.mark.slow
@pytest.mark.skipif(tv is None, reason="torchvision is not installed")
@pytest.mark.parametrize("name", ["resnet50", "resnext50_32x4d", "wide_resnet50_2"])
def test_torchvision_resnets_match_brute_force(name):
    with torch.device("meta"):
        model = getattr(tv.models, name)()
    sizes = assert_matches_brute_force(model, (1, 3, 224, 224), every=False)
    assert sizes["H"]["valid"] == [[LO, None, 1]] and sizes["H"]["proved"]


@pytest.mark.slow
@pytest.mark.skipif(timm is None, reason="timm is not installed")
@pytest.mark.parametrize("name", ["resnet26d", "seresnet50", "dla34"])
def test_timm_residual_families_match_brute_force(name):
    with torch.device("meta"):
        model = timm.create_model(name)
    sizes = assert_matches_brute_force(model, (1, 3, 224, 224), every=False)
    if name == "dla34":
        valid = {n for n in range(LO, 1025) if contains(sizes["H"]["valid"], n)}
        assert valid == {n for n in range(LO, 1025) if n % 32 in (0, 31)}
