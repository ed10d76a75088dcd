"""The reference model zoo: parameter counts, torchvision parity, fx round-trips, d2l shapes."""

from __future__ import annotations

import inspect
import operator
import sys
import typing
from pathlib import Path

import pytest
import torch
import torch.fx
from torch import nn

# `models/` lives at the repository root, outside the installed package
REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from models import INPUT_SHAPES, MODELS  # noqa: E402
from models import d2l_resnet, preact_resnet, resnet  # noqa: E402
import shapecheck  # noqa: E402
from shapecheck.load.thirdparty import import_torchvision  # noqa: E402

# torchvision's published parameter counts (ResNet paper, Table 1 architectures)
TORCHVISION_PARAMETERS = {
    "resnet18": 11_689_512,
    "resnet34": 21_797_672,
    "resnet50": 25_557_032,
    "resnet101": 44_549_160,
    "resnet152": 60_192_808,
    "resnext50_32x4d": 25_028_904,
    "resnext101_32x8d": 88_791_336,
    "wide_resnet50_2": 68_883_240,
}
# the biggest models cost seconds per real build and forward: slow-marked
SLOW_MODELS = {"resnet34", "resnet101", "resnet152", "resnext101_32x8d", "wide_resnet50_2"}

MODEL_FILES = (resnet, preact_resnet, d2l_resnet)


def _params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def _marked(names: typing.Iterable[str]) -> list:
    return [pytest.param(n, marks=pytest.mark.slow) if n in SLOW_MODELS else n for n in names]


def _build_on_meta(name: str) -> nn.Module:
    with torch.device("meta"):
        return MODELS[name]()


def _conv(cin: int, cout: int, k: int, bias: bool) -> int:
    return cin * cout * k * k + (cout if bias else 0)


def _bn(channels: int) -> int:
    return 2 * channels  # weight and bias; running stats are buffers


# --- parameter counts -------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(TORCHVISION_PARAMETERS))
def test_parameter_count_equals_torchvision(name: str) -> None:
    model = _build_on_meta(name)
    assert all(p.device.type == "meta" for p in model.parameters())
    assert _params(model) == TORCHVISION_PARAMETERS[name]


def test_preact_resnet18_parameter_count_from_layer_arithmetic() -> None:
    expected = _conv(3, 64, 7, bias=False) + _bn(64)  # stem conv-BN
    inplanes = 64
    for stage_index, width in enumerate((64, 128, 256, 512)):
        for block_index in range(2):
            first_of_net = stage_index == 0 and block_index == 0
            expected += 0 if first_of_net else _bn(inplanes)  # the block's own pre-activation
            expected += _conv(inplanes, width, 3, False) + _bn(width)
            expected += _conv(width, width, 3, False)
            if inplanes != width:
                expected += _conv(inplanes, width, 1, False)  # bare 1x1 projection, no BN
            inplanes = width
    expected += _bn(512) + 512 * 1000 + 1000  # final BN, fc
    with torch.device("meta"):
        model = preact_resnet.preact_resnet18()
    assert _params(model) == expected


def test_d2l_resnet18_parameter_count_from_layer_arithmetic() -> None:
    expected = _conv(1, 64, 7, bias=True) + _bn(64)  # b1
    inplanes = 64
    for width in (64, 128, 256, 512):
        for block_index in range(2):
            expected += _conv(inplanes, width, 3, True) + _conv(width, width, 3, True)
            expected += 2 * _bn(width)
            if block_index == 0 and width != 64:
                expected += _conv(inplanes, width, 1, True)  # use_1x1conv shortcut
            inplanes = width
    expected += 512 * 10 + 10
    with torch.device("meta"):
        model = d2l_resnet.d2l_resnet18()
    assert _params(model) == expected


# --- seeds.md section 2 and 4 arithmetic -------------------------------------------------


def _conv_weights(module: nn.Module) -> int:
    return sum(m.weight.numel() for m in module.modules() if isinstance(m, nn.Conv2d))


def test_bottleneck_needs_16_9x_fewer_conv_weights_than_basic_pair() -> None:
    with torch.device("meta"):
        basic_pair = resnet.BasicBlock(256, 256)  # two 3x3 convs at 256 channels
        bottleneck = resnet.Bottleneck(256, 64)  # 1x1 256->64, 3x3 64->64, 1x1 64->256
    assert basic_pair.downsample is None and bottleneck.downsample is None
    assert all(m.bias is None for m in bottleneck.modules() if isinstance(m, nn.Conv2d))
    assert _conv_weights(basic_pair) == 3 * 3 * 256 * 256 * 2 == 1_179_648
    assert _conv_weights(bottleneck) == 3 * 3 * 64 * 64 + 1 * 1 * 256 * 64 * 2 == 69_632
    assert round(_conv_weights(basic_pair) / _conv_weights(bottleneck), 1) == 16.9


def test_grouped_conv_has_groups_times_fewer_weights() -> None:
    with torch.device("meta"):
        dense = resnet.Bottleneck(256, 64, groups=1, base_width=128)  # inner width 128
        grouped = resnet.Bottleneck(256, 64, groups=32, base_width=4)  # 32 groups x 4
    assert dense.conv2.weight.shape == (128, 128, 3, 3)
    assert grouped.conv2.weight.shape == (128, 4, 3, 3)
    assert dense.conv2.weight.numel() == 32 * grouped.conv2.weight.numel()
    # only the 3x3 conv is grouped: the 1x1 convs are the same size
    assert dense.conv1.weight.shape == grouped.conv1.weight.shape
    assert dense.conv3.weight.shape == grouped.conv3.weight.shape


def test_basic_block_rejects_resnext_parameters() -> None:
    with pytest.raises(ValueError):
        resnet.BasicBlock(64, 64, groups=32, base_width=4)


def test_d2l_residual_shapes_from_the_book() -> None:
    X = torch.zeros(4, 3, 6, 6)
    assert d2l_resnet.Residual(3, 3)(X).shape == (4, 3, 6, 6)
    assert d2l_resnet.Residual(3, 6, use_1x1conv=True, strides=2)(X).shape == (4, 6, 3, 3)


# --- structure --------------------------------------------------------------------------


def test_d2l_layer_summary_matches_the_book() -> None:
    model = _build_on_meta("d2l_resnet18")
    assert [name for name, _ in model.named_children()] == ["b1", "b2", "b3", "b4", "b5", "head"]
    shapes = d2l_resnet.layer_summary(model, torch.empty(1, 1, 96, 96, device="meta"))
    assert [tuple(s) for s in shapes] == [
        (1, 64, 24, 24), (1, 64, 24, 24), (1, 128, 12, 12), (1, 256, 6, 6), (1, 512, 3, 3), (1, 10)]


@pytest.mark.parametrize("name", ["resnet18", "resnet50", "resnext50_32x4d", "wide_resnet50_2",
                                  "resnet152"])
def test_stage_plan_matches_propagated_shapes(name: str) -> None:
    model = _build_on_meta(name)
    outputs: dict[str, torch.Size] = {}
    for stage in model.stage_specs:
        getattr(model, stage.name).register_forward_hook(
            lambda mod, args, out, key=stage.name: outputs.__setitem__(key, out.shape))
    model(torch.empty(INPUT_SHAPES[name], device="meta"))
    side = INPUT_SHAPES[name][-1]
    assert {key: tuple(shape) for key, shape in outputs.items()} == {
        s.name: (1, s.num_chs, side // s.reduction, side // s.reduction) for s in model.stage_specs}


def test_stage_plan_is_pure_and_leaves_no_running_counter() -> None:
    first = resnet.plan_stages((3, 4, 6, 3), expansion=4)
    assert first == resnet.plan_stages((3, 4, 6, 3), expansion=4)
    assert [b.inplanes for b in first[1].blocks] == [256, 512, 512, 512]
    assert not hasattr(_build_on_meta("resnet50"), "inplanes")


# (blocks, blocks with a projection shortcut); see facts.md for the fx-counted adds
RESIDUAL_BLOCKS = {
    "resnet18": (8, 3), "resnet34": (16, 3), "resnet50": (16, 4), "resnet101": (33, 4),
    "resnet152": (50, 4), "resnext50_32x4d": (16, 4), "resnext101_32x8d": (33, 4),
    "wide_resnet50_2": (16, 4), "preact_resnet18": (8, 3), "d2l_resnet18": (8, 3),
}
BLOCK_TYPES = (resnet.BasicBlock, resnet.Bottleneck, preact_resnet.PreActBasicBlock,
               d2l_resnet.Residual)


def _shortcut(block: nn.Module) -> nn.Module | None:
    return block.conv3 if isinstance(block, d2l_resnet.Residual) else block.downsample


@pytest.mark.parametrize("name", sorted(MODELS))
def test_blocks_and_projections(name: str) -> None:
    model = _build_on_meta(name)
    blocks = [m for m in model.modules() if isinstance(m, BLOCK_TYPES)]
    projected = [b for b in blocks if _shortcut(b) is not None]
    assert (len(blocks), len(projected)) == RESIDUAL_BLOCKS[name]
    assert not any(isinstance(m, nn.Identity) for m in model.modules())


@pytest.mark.parametrize("name", sorted(MODELS))
def test_fx_graph_has_one_add_per_block(name: str) -> None:
    model = _build_on_meta(name)
    graph = torch.fx.symbolic_trace(model).graph
    # fx records `out += identity` as operator.add
    adds = [n for n in graph.nodes if n.op == "call_function" and n.target is operator.add]
    assert len(adds) == RESIDUAL_BLOCKS[name][0]


def test_preact_block_normalises_and_activates_before_each_conv() -> None:
    block = preact_resnet.PreActBasicBlock(64, 128, stride=2)
    graph = torch.fx.symbolic_trace(block).graph
    ops = [n.target if n.op == "call_module" else n.target.__name__
           for n in graph.nodes if n.op in ("call_module", "call_function")]
    assert ops == ["bn1", "relu", "downsample", "conv1", "bn2", "relu", "conv2", "add"]


def test_preact_first_block_reuses_the_stem_activation() -> None:
    model = _build_on_meta("preact_resnet18")
    assert model.layer1[0].bn1 is None
    assert all(block.bn1 is not None for layer in (model.layer1[1:], model.layer2, model.layer3,
                                                   model.layer4) for block in layer)


# --- the files as shapecheck targets ----------------------------------------------------


@pytest.mark.parametrize("name", sorted(MODELS))
def test_factory_is_a_shapecheck_target(name: str) -> None:
    factory = MODELS[name]
    source = sys.modules[factory.__module__]
    assert isinstance(source.INPUT_SHAPE, tuple) and len(source.INPUT_SHAPE) == 4
    assert factory.__name__ == name
    assert not inspect.signature(factory).parameters
    returned = typing.get_type_hints(factory)["return"]
    assert issubclass(returned, nn.Module)
    assert isinstance(_build_on_meta(name), returned)


def test_no_other_no_argument_module_in_the_files() -> None:
    # a file checked without `:NAME` should offer exactly its factories
    offered = set()
    for source in MODEL_FILES:
        for attr, value in vars(source).items():
            is_local = getattr(value, "__module__", None) == source.__name__
            if not is_local or not callable(value) or attr.startswith("_"):
                continue
            if inspect.isclass(value) and not issubclass(value, nn.Module):
                continue
            required = [p for p in inspect.signature(value).parameters.values()
                        if p.default is p.empty and p.kind in (p.POSITIONAL_OR_KEYWORD,
                                                               p.POSITIONAL_ONLY, p.KEYWORD_ONLY)]
            if not required:
                offered.add(attr)
    assert offered == set(MODELS)


@pytest.mark.parametrize("name", _marked(sorted(MODELS)))
def test_shapecheck_finds_every_block_and_no_error(name: str) -> None:
    model = _build_on_meta(name)
    report = shapecheck.check(model, [INPUT_SHAPES[name]])
    assert report.error is None and report.ok
    assert [f for f in report.findings if f.severity == "error"] == []
    assert report.parameters == _params(model)
    expected = {(path, "identity" if _shortcut(block) is None else "projection")
                for path, block in model.named_modules() if isinstance(block, BLOCK_TYPES)}
    assert {(add.module, add.shortcut) for add in report.residual_adds} == expected
    assert all(add.ok for add in report.residual_adds)


# --- fx round-trip and torchvision parity (real compute) --------------------------------


def _small_input(name: str) -> torch.Tensor:
    # 32x32 still leaves layer4 a 1x1 map: every layer runs, at a fiftieth of 224's cost
    channels = INPUT_SHAPES[name][1]
    return torch.randn(2, channels, 32, 32, generator=torch.Generator().manual_seed(0))


@pytest.mark.parametrize("name", _marked(sorted(MODELS)))
def test_fx_round_trip_matches_eager(name: str) -> None:
    torch.manual_seed(0)
    model = MODELS[name]().eval()
    traced = torch.fx.symbolic_trace(model)
    x = _small_input(name)
    with torch.no_grad():
        eager, replayed = model(x), traced(x)
    assert replayed.shape == eager.shape
    torch.testing.assert_close(replayed, eager, rtol=0, atol=0)


@pytest.mark.parametrize("name", _marked(sorted(TORCHVISION_PARAMETERS)))
def test_torchvision_state_dict_loads_strictly_and_outputs_agree(name: str) -> None:
    torchvision = import_torchvision()
    if torchvision is None:
        pytest.skip("torchvision is not installed")
    torch.manual_seed(0)
    reference = getattr(torchvision.models, name)(weights=None).eval()
    ours = _build_on_meta(name).eval()
    # assign=True adopts the reference's tensors: ours needs no weights of its own
    ours.load_state_dict(reference.state_dict(), strict=True, assign=True)
    # same names in the same order: the module trees are built alike
    assert list(ours.state_dict()) == list(reference.state_dict())
    x = _small_input(name)
    with torch.no_grad():
        torch.testing.assert_close(ours(x), reference(x))
