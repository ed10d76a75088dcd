"""Residual discovery in linear time finds exactly what the per-add graph searches found.

The reference below is the straightforward implementation: a networkx DAG of the
input-derived nodes, networkx's immediate dominators, and each branch as the ancestors of
its operand that descend from the fork. The linear one (`shapecheck.graph.residual`) must
agree with it on every add, fork, main operand, branch (in graph order) and shortcut kind,
on the reference zoo, transformer, dense and nested blocks, recorded graphs and
torchvision. A deterministic measure (Python calls per node) shows the cost is linear.
"""

from __future__ import annotations

import cProfile
import pstats

import networkx as nx
import pytest
import torch
import torch.fx as fx
import torch.nn as nn
import torch.nn.functional as F

from models import INPUT_SHAPES, MODELS
from shapecheck.graph.residual import (classify_shortcut, dataflow, find_residual_adds,
                                       immediate_dominators, structure_of)
from shapecheck.graph.trace import trace_model
from shapecheck.graph.vocabulary import add_operands
from shapecheck.load.build import build_model
from shapecheck.load.thirdparty import import_torchvision
from tests.conftest import load_file

_ROOT = "__inputs__"


# -- the reference: networkx searches, one per add ---------------------------------------

def reference_adds(gm: fx.GraphModule) -> list[tuple]:
    """(add, fork, main operand, main branch, shortcut branch, kind) per residual add."""
    derived: set[fx.Node] = set()
    dag = nx.DiGraph()
    dag.add_node(_ROOT)
    for node in gm.graph.nodes:
        if node.op == "placeholder":
            derived.add(node)
            dag.add_edge(_ROOT, node)
        elif node.op != "output":
            sources = [n for n in node.all_input_nodes if n in derived]
            if sources:
                derived.add(node)
                dag.add_edges_from((s, node) for s in sources)
    order = {node: i for i, node in enumerate(gm.graph.nodes)}
    idom = nx.immediate_dominators(dag, _ROOT)
    found = []
    for add in gm.graph.nodes:
        ops = add_operands(add)
        if not ops or ops[0] not in derived or ops[1] not in derived or ops[0] is ops[1]:
            continue
        fork = idom[add]
        if fork == _ROOT:
            continue
        below = nx.descendants(dag, fork)
        branches = [() if op is fork else tuple(sorted(
            (nx.ancestors(dag, op) & below) | {op}, key=order.__getitem__)) for op in ops]
        work = [sum(n.op.startswith("call_") for n in b) for b in branches]
        main = 1 if work[1] > work[0] else 0
        found.append(_named(add, fork, main, branches[main], branches[1 - main],
                            classify_shortcut(gm, branches[1 - main])))
    return found


def _named(add, fork, main, main_branch, shortcut_branch, kind) -> tuple:
    return (add.name, fork.name, main, tuple(n.name for n in main_branch),
            tuple(n.name for n in shortcut_branch), kind)


def linear_adds(gm: fx.GraphModule) -> list[tuple]:
    return [_named(s.add, s.fork, s.main_operand, s.main_branch, s.shortcut_branch, s.shortcut)
            for s in find_residual_adds(gm)]


def assert_same_as_reference(gm: fx.GraphModule, adds: int) -> None:
    found = linear_adds(gm)
    assert found == reference_adds(gm)
    assert len(found) == adds


def traced(model: nn.Module, shape) -> fx.GraphModule:
    return trace_model(model, [torch.empty(shape, device="meta")]).graph_module


# -- models --------------------------------------------------------------------------------

@pytest.mark.parametrize("name,adds", [("resnet18", 8), ("resnet50", 16),
                                       ("resnext50_32x4d", 16), ("preact_resnet18", 8),
                                       ("d2l_resnet18", 8)])
def test_reference_zoo(name, adds):
    assert_same_as_reference(traced(build_model(MODELS[name]), INPUT_SHAPES[name]), adds)


class Attention(nn.Module):
    def __init__(self, dim: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, t, c = x.shape
        q, k, v = self.qkv(x).reshape(n, t, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        attn = (q @ k.transpose(-2, -1) * (c // self.heads) ** -0.5).softmax(dim=-1)
        return self.proj((attn @ v).transpose(1, 2).reshape(n, t, c))


class TransformerBlock(nn.Module):
    """Pre-norm attention and MLP, each added back: `x = x + f(norm(x))`."""

    def __init__(self, dim: int = 32, heads: int = 4) -> None:
        super().__init__()
        self.norm1, self.norm2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.attn = Attention(dim, heads)
        self.mlp = nn.Sequential(nn.Linear(dim, 4 * dim), nn.GELU(), nn.Linear(4 * dim, dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


def test_transformer_blocks():
    model = nn.Sequential(nn.Linear(16, 32), *[TransformerBlock() for _ in range(3)])
    assert_same_as_reference(traced(model, (2, 10, 16)), 6)


class DenseBlock(nn.Module):
    """DenseNet layers concatenating every earlier output, then a residual around them."""

    def __init__(self, channels: int = 8, growth: int = 4, layers: int = 4) -> None:
        super().__init__()
        self.layers = nn.ModuleList(
            nn.Sequential(nn.BatchNorm2d(channels + i * growth), nn.ReLU(),
                          nn.Conv2d(channels + i * growth, growth, 3, padding=1))
            for i in range(layers))
        self.squeeze = nn.Conv2d(channels + layers * growth, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = [x]
        for layer in self.layers:
            features.append(layer(torch.cat(features, 1)))
        return x + self.squeeze(torch.cat(features, 1))


def test_dense_concat_blocks():
    model = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), DenseBlock(), DenseBlock())
    assert_same_as_reference(traced(model, (1, 3, 16, 16)), 2)


class Nested(nn.Module):
    """An outer residual around two inner ones, a projected shortcut and an in-place add."""

    def __init__(self, c: int = 8) -> None:
        super().__init__()
        self.a = nn.Conv2d(c, c, 3, padding=1)
        self.b = nn.Conv2d(c, c, 3, padding=1)
        self.wide = nn.Conv2d(c, 2 * c, 3, stride=2, padding=1)
        self.project = nn.Sequential(nn.Conv2d(c, 2 * c, 1, stride=2), nn.BatchNorm2d(2 * c))
        self.pool = nn.AvgPool2d(2)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        inner = x + self.a(x)
        inner = torch.add(inner, self.b(inner))
        outer = inner + x                      # the outer residual spans both inner ones
        wide = self.wide(outer)
        wide += self.project(outer)            # in-place add, projection shortcut
        pooled = wide + F.interpolate(self.pool(wide), scale_factor=2.0)
        return pooled.mean() + y.mean() + (x + x).mean()  # two inputs summed; x + x: not residual


def test_nested_residuals_and_non_residual_adds():
    gm = fx.symbolic_trace(Nested())
    assert_same_as_reference(gm, 5)
    forks = {add: (fork, kind) for add, fork, _, _, _, kind in linear_adds(gm)}
    assert forks["add_1"] == ("add", "identity")  # the second inner add forks at the first
    assert forks["add_2"] == ("x", "identity")  # the outer add: its shortcut is `x` itself
    assert forks["add_3"] == ("add_2", "projection")  # `+=` traces as an add


def test_structure_of_agrees_add_by_add():
    gm = fx.symbolic_trace(Nested())
    for expected in find_residual_adds(gm):
        assert structure_of(gm, expected.add) == expected
        assert structure_of(gm.graph, expected.add).main_branch == expected.main_branch


def test_dominators_match_networkx():
    gm = traced(build_model(MODELS["resnext50_32x4d"]), INPUT_SHAPES["resnext50_32x4d"])
    flow = dataflow(gm.graph)
    dag = nx.DiGraph([(_ROOT, n) for n, inputs in flow.inputs.items() if not inputs])
    dag.add_edges_from((s, n) for n, inputs in flow.inputs.items() for s in inputs)
    reference = nx.immediate_dominators(dag, _ROOT)
    ours = immediate_dominators(flow)
    assert {n: (d if d is not None else _ROOT) for n, d in ours.items()} == \
        {n: d for n, d in reference.items() if n != _ROOT}


def test_recorded_graph():
    # fx cannot trace the Keras-style port: the recording tracer builds its graph, and
    # consults structure_of at each failing add while it records
    module = load_file("examples/keras_resnext_buggy.py")
    model = build_model(module.build)
    result = trace_model(model, [torch.empty(1, 3, 224, 224, device="meta")])
    assert result.tracer == "record"
    assert_same_as_reference(result.graph_module, 17)


tv = import_torchvision()


@pytest.mark.skipif(tv is None, reason="torchvision is not installed")
@pytest.mark.parametrize("name,adds", [("resnet18", 8), ("mobilenet_v2", 10),
                                       ("efficientnet_b0", 9), ("convnext_tiny", 18),
                                       ("regnet_y_400mf", 16), ("densenet121", 0),
                                       ("vit_b_16", 24)])
def test_torchvision(name, adds):
    model = build_model(getattr(tv.models, name))
    assert_same_as_reference(traced(model, (1, 3, 224, 224)), adds)


# -- depth: same answers, linear cost ------------------------------------------------------

class Basic(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.shortcut = nn.Sequential()
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False),
                                          nn.BatchNorm2d(cout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
        return F.relu(out + self.shortcut(x))


def cifar_resnet(n: int) -> nn.Module:
    layers, cin = [nn.Conv2d(3, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16), nn.ReLU()], 16
    for stage, width in enumerate((16, 32, 64)):
        for i in range(n):
            layers.append(Basic(cin, width, 2 if stage and i == 0 else 1))
            cin = width
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, 10))


def test_deep_resnet_same_as_reference():
    with torch.device("meta"):
        model = cifar_resnet(18)
    assert_same_as_reference(traced(model, (1, 3, 32, 32)), 54)


def _calls_per_node(n: int) -> float:
    with torch.device("meta"):
        model = cifar_resnet(n)
    gm = traced(model, (1, 3, 32, 32))
    profile = cProfile.Profile()
    profile.enable()
    find_residual_adds(gm)
    profile.disable()
    return pstats.Stats(profile).total_calls / len(gm.graph.nodes)


def test_cost_per_node_does_not_grow_with_depth():
    # Python calls are a measure of work that load cannot disturb; per-add graph searches
    # made them grow with depth (8x from 9 to 162 blocks)
    shallow, deep = _calls_per_node(3), _calls_per_node(54)
    assert deep <= 1.1 * shallow, (shallow, deep)
