"""Block graphs: structure, golden DOT files, SVG rendering, atomic writes, no-`dot` fallback.

Golden files live in tests/golden/*.dot; after an intended change to the drawing, run
`SHAPECHECK_REGEN_GOLDEN=1 pytest tests/test_render.py` and review the diff.
"""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
from pathlib import Path

import networkx as nx
import pytest

import shapecheck
from conftest import build_meta, load_file
from shapecheck.render import block_graph, report_to_dot, to_dot, write_graph
from shapecheck.render import write as write_module
from shapecheck.render.dot import ERROR_RED, WARNING_AMBER
from shapecheck.report import Finding, Fix, Location, NodeInfo, Report, ResidualAdd

GOLDEN = Path(__file__).resolve().parent / "golden"
REGEN = os.environ.get("SHAPECHECK_REGEN_GOLDEN") == "1"
HAS_DOT = shutil.which("dot") is not None
needs_dot = pytest.mark.skipif(not HAS_DOT, reason="graphviz 'dot' is not installed")

nets = load_file("tests/golden/render_nets.py")


# --- reports ---------------------------------------------------------------------------------

_CACHE: dict[str, Report] = {}


def report_of(name: str) -> Report:
    """The engine's report for a named test network (computed once per session)."""
    if name not in _CACHE:
        if name == "resnet18":
            resnet = load_file("models/resnet.py")
            _CACHE[name] = shapecheck.check(build_meta(resnet.resnet18), resnet.INPUT_SHAPE)
        elif name == "keras_tiny_buggy":
            keras = load_file("examples/keras_resnext_buggy.py")
            model = build_meta(keras.build_tiny_stride2_identity)
            shape = keras.INPUT_SHAPES["build_tiny_stride2_identity"]
            _CACHE[name] = shapecheck.check(model, shape)
        else:
            _CACHE[name] = shapecheck.check(getattr(nets, name)(), nets.INPUT_SHAPE)
    return _CACHE[name]


def _node(name, op, target, inputs, shape, module="", error=None):
    return NodeInfo(name, op, target, module, Location("net.py", 10), tuple(inputs), shape,
                    error=error)


def hand_report() -> Report:
    """A one-block net with a channel mismatch, written out by hand: no graph module, no
    model, so the drawing can only use the Report's fields."""
    nodes = [
        _node("x", "placeholder", "x", [], (1, 8, 16, 16)),
        _node("conv1", "call_module", "block.conv1", ["x"], (1, 16, 8, 8), "block.conv1"),
        _node("relu", "call_function", "relu", ["conv1"], (1, 16, 8, 8), "block"),
        _node("add", "call_function", "add", ["relu", "x"], (1, 16, 8, 8), "block",
              error="The size of tensor a (16) must match the size of tensor b (8)"),
        _node("fc", "call_module", "fc", ["add"], (1, 10), "fc"),
    ]
    fix = Fix("projection", 8, 16, 2, "nn.Sequential(nn.Conv2d(8, 16, 1, stride=2, bias=False), "
                                      "nn.BatchNorm2d(16))", verified=True)
    shapes = ((1, 16, 8, 8), (1, 8, 16, 16))
    finding = Finding("SC101", "channel_mismatch", "error",
                      "residual add in block: 16 vs 8 channels", "block", Location("net.py", 12),
                      shapes, fix, node="add")
    residual = ResidualAdd("add", "block", Location("net.py", 12), shapes, (1, 16, 8, 8),
                           "identity", False, "x", 0, ("conv1", "relu"), ())
    return Report("hand", input_shapes=[(1, 8, 16, 16)], residual_adds=[residual],
                  findings=[finding], nodes={n.name: n for n in nodes})


# --- structure -------------------------------------------------------------------------------

def _by_kind(graph: nx.DiGraph, kind: str) -> list[str]:
    return [n for n, k in graph.nodes(data="kind") if k == kind]


def test_blocks_level_has_stem_stages_blocks_adds_and_head():
    report = report_of("tiny_ok")
    graph = block_graph(report)
    assert _by_kind(graph, "stem") == ["stem"] and _by_kind(graph, "head") == ["head"]
    assert sorted(_by_kind(graph, "add")) == sorted(a.node for a in report.residual_adds)
    assert len(_by_kind(graph, "block")) == len(report.blocks) == 3
    assert len(_by_kind(graph, "projection")) == 1
    clusters = graph.graph["clusters"].values()
    stages = {c["label"].split(" ·")[0] for c in clusters if c["kind"] == "stage"}
    assert stages == {"layer1", "layer2"}
    # every block node says its shapes: in -> out, without the batch dimension
    block = graph.nodes[f"{report.blocks[1].add}_main"]
    assert "8x16x16 -> 16x8x8" in block["lines"] and block["title"] == "layer2.0 · Basic"
    kinds = {graph.edges[e]["kind"] for e in graph.in_edges(report.blocks[0].add)}
    assert kinds == {"flow", "identity"}


def test_mismatched_add_is_red_with_its_finding_and_a_dashed_verified_fix():
    report = report_of("tiny_buggy")
    (finding,) = report.findings
    graph = block_graph(report)
    assert graph.nodes[finding.node]["error"]
    red = [(u, v, d) for u, v, d in graph.edges(data=True) if d.get("error")]
    assert len(red) == 1 and red[0][1] == finding.node
    assert red[0][2]["kind"] == "identity"
    assert red[0][2]["label"] == "SC101 channel_mismatch\nmain 16x8x8 vs shortcut 8x16x16"
    fix = f"{finding.node}_fix"
    assert graph.nodes[fix]["lines"] == ["conv1x1/2 8->16 + BN, verified"]
    fix_edges = [*graph.in_edges(fix), *graph.out_edges(fix)]
    assert {graph.edges[e]["kind"] for e in fix_edges} == {"fix"}
    assert graph.has_edge(fix, finding.node) and graph.has_edge(red[0][0], fix)


def test_identical_blocks_fold_into_one_node_and_never_hide_a_problem():
    report = report_of("tiny_deep")
    graph = block_graph(report)
    (fold,) = _by_kind(graph, "fold")
    assert graph.nodes[fold]["title"] == "layer2.1 … layer2.4"
    assert graph.nodes[fold]["lines"][0] == "×4 identical Basic blocks"
    # the folded adds stay findable (SVG tooltips), and the graph is still a DAG
    assert all(a.node in graph.nodes[fold]["tooltip"] for a in report.residual_adds[2:])
    assert nx.is_directed_acyclic_graph(graph)
    assert len(_by_kind(graph, "add")) == 3
    unfolded = block_graph(report, min_repeat=5)
    assert not _by_kind(unfolded, "fold") and len(_by_kind(unfolded, "add")) == 6


def test_outer_block_around_an_inner_one_draws_without_false_cycles():
    report = shapecheck.check(nets.Nested(), nets.INPUT_SHAPE)
    outer, inner = sorted(report.blocks, key=lambda b: -len(b.nodes))
    graph = block_graph(report)
    assert nx.is_directed_acyclic_graph(graph)
    assert {inner.add, outer.add} <= set(_by_kind(graph, "add"))
    # the outer main branch is drawn as two boxes, before and after the inner block
    assert nx.has_path(graph, f"{outer.add}_main", f"{inner.add}_main")
    assert nx.has_path(graph, inner.add, f"{outer.add}_main_2")
    assert graph.has_edge(f"{outer.add}_main_2", outer.add)


def test_a_warning_is_amber_not_red():
    report = hand_report()
    finding = report.findings[0]
    report.findings = [Finding("SC104", "suspicious_broadcast", "warning", "pooled context?",
                               finding.module, finding.location, finding.shapes, None, "add")]
    report.residual_adds = [dataclasses.replace(report.residual_adds[0], ok=True)]
    report.nodes["add"] = dataclasses.replace(report.nodes["add"], error=None)
    graph = block_graph(report)
    edge = graph.edges["x", "add"]
    assert edge["warning"] and not edge["error"] and edge["label"].startswith("SC104")
    assert graph.nodes["add"]["warning"] and not graph.nodes["add"]["error"]
    source = to_dot(graph).source
    assert WARNING_AMBER in source and ERROR_RED not in source


def test_layers_level_labels_layers_inside_block_clusters():
    report = report_of("tiny_ok")
    graph = block_graph(report, detail="layers")
    titles = {graph.nodes[n]["title"] for n in graph}
    assert {"conv 3x3/2, 8->16 · bn · relu", "conv 1x1/2, 8->16 · bn", "fc 16->10"} <= titles
    clusters = graph.graph["clusters"]
    blocks = [c for c in clusters.values() if c["kind"] == "block"]
    assert len(blocks) == 3 and all(clusters[b["parent"]]["kind"] == "stage" for b in blocks)
    projection = next(n for n in graph if graph.nodes[n]["title"] == "conv 1x1/2, 8->16 · bn")
    assert graph.nodes[projection]["kind"] == "shortcut"
    assert clusters[graph.nodes[projection]["cluster"]]["label"].startswith("layer2.0 · Basic")


def test_ops_level_draws_every_traced_node():
    report = report_of("tiny_buggy")
    graph = block_graph(report, detail="ops")
    assert set(report.nodes) <= set(graph)
    assert all(graph.has_edge(i, n) for n, info in report.nodes.items() for i in info.inputs)


def test_grouped_conv_written_as_parallel_convs_is_drawn_once():
    report = report_of("keras_tiny_buggy")
    layers = block_graph(report, detail="layers")
    parallel = [n for n in layers if layers.nodes[n].get("repeat") == 4]
    assert parallel and all(layers.nodes[n]["title"].startswith("conv 3x3") for n in parallel)
    blocks = block_graph(report)
    lines = [line for n in _by_kind(blocks, "block") for line in blocks.nodes[n]["lines"]]
    assert any(line.startswith("4 × conv 3x3") and line.endswith("(parallel)") for line in lines)


def test_model_without_residual_adds_draws_its_layers():
    report = report_of("tiny_plain")
    graph = block_graph(report)
    assert not _by_kind(graph, "add") and not graph.graph["clusters"]
    assert "no residual adds" in graph.graph["lines"][0]
    assert [graph.nodes[n]["title"] for n in graph][-1] == "fc 16->10"
    assert to_dot(graph).source.count("->") >= len(graph) - 1


def test_hand_built_report_renders_from_its_fields_alone():
    graph = block_graph(hand_report())
    assert graph.nodes["add"]["error"] and graph.edges["x", "add"]["error"]
    assert graph.nodes["add_fix"]["lines"] == ["conv1x1/2 8->16 + BN, verified"]
    assert graph.nodes["head"]["lines"] == ["fc"]  # no module to read: the target's name
    with pytest.raises(ValueError, match="detail"):
        block_graph(hand_report(), detail="everything")


def test_to_dot_is_pure_and_uses_the_style_tables():
    graph = block_graph(report_of("tiny_buggy"))
    before = (nx.node_link_data(graph, edges="edges"), dict(graph.graph))
    source = to_dot(graph).source
    assert (nx.node_link_data(graph, edges="edges"), dict(graph.graph)) == before
    assert to_dot(graph).source == source
    assert 'shape=circle' in source and 'style="rounded,dashed,filled"' in source
    assert "subgraph cluster_stage_layer2" in source


# --- golden DOT files ------------------------------------------------------------------------

GOLDEN_CASES = [
    ("tiny_ok", "blocks"),
    ("tiny_buggy", "blocks"),
    ("tiny_buggy", "layers"),
    ("tiny_deep", "blocks"),
    ("tiny_plain", "blocks"),
    ("resnet18", "blocks"),
    ("keras_tiny_buggy", "blocks"),
]


def _check_golden(name: str, source: str) -> None:
    path = GOLDEN / f"{name}.dot"
    if REGEN:
        path.write_text(source)
    assert path.exists(), f"missing {path}; run with SHAPECHECK_REGEN_GOLDEN=1 to create it"
    assert source == path.read_text(), (
        f"{path.name} differs; if the change is intended, regenerate with "
        "SHAPECHECK_REGEN_GOLDEN=1")


@pytest.mark.parametrize("net,detail", GOLDEN_CASES)
def test_golden_dot(net, detail):
    _check_golden(f"{net}_{detail}", report_to_dot(report_of(net), detail=detail).source)


def test_golden_dot_keras_resnext_buggy():
    """The README's picture: the full buggy Keras-style ResNeXt-50 (1,289 traced nodes)."""
    keras = load_file("examples/keras_resnext_buggy.py")
    report = shapecheck.check(build_meta(keras.build), keras.INPUT_SHAPES["build"])
    assert [f.code for f in report.findings] == ["SC101", "SC102"]
    _check_golden("keras_resnext_buggy_blocks", report_to_dot(report).source)


def test_golden_dot_hand_built_ops():
    _check_golden("hand_ops", report_to_dot(hand_report(), detail="ops").source)


# --- rendering with graphviz -----------------------------------------------------------------

@needs_dot
@pytest.mark.parametrize("net", ["tiny_buggy", "tiny_deep", "keras_tiny_buggy", "resnet18"])
def test_svg_names_every_residual_add_and_every_finding(net, tmp_path):
    report = report_of(net)
    message = write_graph(report, tmp_path / "g.svg")
    svg = (tmp_path / "g.svg").read_text()
    assert message == f"wrote {tmp_path / 'g.svg'} (SVG, blocks level)"
    assert svg.lstrip().startswith("<?xml") and svg.rstrip().endswith("</svg>")
    for add in report.residual_adds:
        assert re.search(rf"\b{re.escape(add.node)}\b", svg), add.node
    for finding in report.findings:
        assert finding.code in svg and finding.kind in svg


@needs_dot
@pytest.mark.parametrize("suffix,magic", [(".png", b"\x89PNG"), (".pdf", b"%PDF")])
def test_binary_formats(suffix, magic, tmp_path):
    write_graph(report_of("tiny_ok"), tmp_path / f"g{suffix}", detail="layers")
    assert (tmp_path / f"g{suffix}").read_bytes().startswith(magic)


# --- writing files ---------------------------------------------------------------------------

def test_write_dot_is_the_source_and_leaves_no_temporary_file(tmp_path):
    report = report_of("tiny_ok")
    target = tmp_path / "sub" / "g.gv"
    assert write_graph(report, target).startswith(f"wrote {target}")
    assert target.read_text() == report_to_dot(report).source
    assert [p.name for p in target.parent.iterdir()] == ["g.gv"]


def test_a_failed_write_keeps_the_old_file_whole(tmp_path, monkeypatch):
    target = tmp_path / "g.dot"
    target.write_text("old graph")

    def crash(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(write_module.os, "replace", crash)
    with pytest.raises(OSError, match="disk full"):
        write_graph(report_of("tiny_ok"), target)
    assert target.read_text() == "old graph"
    assert [p.name for p in tmp_path.iterdir()] == ["g.dot"]


@needs_dot
def test_a_failing_dot_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.setattr(write_module, "render_source", _raise_graphviz_error)
    with pytest.raises(write_module.GraphvizError):
        write_graph(report_of("tiny_ok"), tmp_path / "g.svg")
    assert list(tmp_path.iterdir()) == []


def _raise_graphviz_error(source, fmt, program):
    raise write_module.GraphvizError("dot -Tsvg failed: syntax error")


def test_without_dot_an_image_request_writes_dot_source_and_says_how(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))  # no `dot` anywhere on PATH
    report = report_of("tiny_buggy")
    message = write_graph(report, tmp_path / "graph.svg")
    assert not (tmp_path / "graph.svg").exists()
    assert (tmp_path / "graph.dot").read_text() == report_to_dot(report).source
    assert "\n" not in message
    for hint in ("apt-get install graphviz", "brew install graphviz",
                 f"dot -Tsvg {tmp_path / 'graph.dot'} -o {tmp_path / 'graph.svg'}"):
        assert hint in message


def test_unknown_suffix_is_refused(tmp_path):
    with pytest.raises(ValueError, match=r"\.svg"):
        write_graph(report_of("tiny_ok"), tmp_path / "g.jpeg")
    assert list(tmp_path.iterdir()) == []
