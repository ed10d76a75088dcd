"""The drawing's raw material: one node per traced node, with labels, shapes and marks.

Every level of `render.blocks` starts from this graph and then groups, folds or drops
nodes. Residual structure is marked here once: the shortcut path and its edge into the
add (identity or projection), a mismatched add and its shortcut edge in red with the
finding's short text, and the suggested projection as a separate, dashed `fix` node.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import networkx as nx

from shapecheck.render.labels import node_label
from shapecheck.render.structure import BlockView, Structure, finding_text, shape_text
from shapecheck.report import Finding, Fix, NodeInfo, Report


def node_graph(report: Report, structure: Structure) -> nx.DiGraph:
    """One node per traced node, edges labelled with shapes, residual structure marked.

    Node attributes: kind, title, lines, notes, error, warning, tensor, tooltip, cluster.
    Edge attributes: kind (flow, shortcut, identity, fix), label, error, warning.

    Example:
        >>> from shapecheck.render.structure import read_structure
        >>> report = Report("empty")
        >>> len(node_graph(report, read_structure(report)))
        0
    """
    graph = nx.DiGraph()
    for name, info in report.nodes.items():
        findings = structure.findings.get(name, [])
        error = any(f.is_error for f in findings) or bool(info.error)
        graph.add_node(
            name, kind=_node_kind(report, info, structure.role.get(name, "glue")),
            title=node_label(info), lines=[], notes=[finding_text(f) for f in findings],
            error=error, warning=bool(findings) and not error,
            tensor=info.shape is not None or bool(info.shapes),
            tooltip=_tooltip(info, findings), cluster=None)
    for name, info in report.nodes.items():
        for source in info.inputs:
            if source in report.nodes and source != name:
                graph.add_edge(source, name, kind="flow", error=False, warning=False,
                               label=_edge_label(report.nodes[source]))
    for view in structure.blocks:
        _mark_residual(report, structure, graph, view)
    return graph


def _node_kind(report: Report, info: NodeInfo, role: str) -> str:
    if role in ("input", "output", "add", "shortcut"):
        return role
    if info.op == "get_attr":
        return "param"
    is_layer = info.op == "call_module" or info.params or info.layer_type is not None
    return "layer" if is_layer else "op"


def _edge_label(info: NodeInfo) -> str:
    """The tensor an edge carries, without the batch dimension."""
    if info.shape is not None:
        return shape_text(info.shape)
    if info.shapes:  # several outputs (chunk, split): how many, of which shape
        texts = {shape_text(s) for s in info.shapes}
        count = len(info.shapes)
        return f"{count} × {texts.pop()}" if len(texts) == 1 else f"{count} tensors"
    return ""


def _tooltip(info: NodeInfo, findings: list[Finding]) -> str:
    """What hovering over a node in an SVG shows: name, source line, finding messages."""
    text = f"{info.name}: {info.target}"
    location = info.location
    if location is not None and info.op != "placeholder":  # an input's "line" is the caller's
        # the file's name only: the drawing must not depend on the working directory
        code = f" `{location.code}`" if location.code else ""
        text = f"{info.name}:{code} ({Path(location.path).name}:{location.line})"
    messages = [line for f in findings
                for line in (f.message, *(f"because: {cause}" for cause in f.causes))]
    messages = messages or ([info.error] if info.error else [])
    return "\n".join([text, *messages])


def _shortcut_operand(info: NodeInfo, view: BlockView) -> Optional[str]:
    """The add's input that arrives through the shortcut (the fork itself for identity)."""
    for source in info.inputs:
        if (source == view.fork or source in view.shortcut) and source not in view.main:
            return source
    if view.residual is not None and len(info.inputs) == 2:
        return info.inputs[1 - view.residual.main_operand]
    return None


def _mark_residual(report: Report, structure: Structure, graph: nx.DiGraph,
                   view: BlockView) -> None:
    """Style the shortcut path, the add and (where proposed) the fix of one block."""
    add = graph.nodes[view.add]
    finding = next(iter(structure.findings.get(view.add, [])), None)
    add.update(kind="add", title="+", error=add["error"] or not view.ok)
    for node in view.shortcut:
        for source in graph.predecessors(node):
            if source == view.fork or source in view.shortcut:
                graph.edges[source, node]["kind"] = "shortcut"
    operand = _shortcut_operand(report.nodes[view.add], view)
    if operand is None or not graph.has_edge(operand, view.add):
        return  # no shortcut edge to draw on: the finding stays on the add node
    edge = graph.edges[operand, view.add]
    edge["kind"] = "shortcut" if view.shortcut else "identity"
    if not view.shortcut:
        edge["label"] = "identity"
    edge["error"] = not view.ok
    if finding is None:
        return
    # the finding's text goes on the shortcut edge, where the mismatch is
    edge.update(error=edge["error"] or finding.is_error, warning=not finding.is_error,
                label=finding_text(finding))
    add["notes"] = []
    if finding.fix is not None:
        fix = f"{view.add}_fix"
        graph.add_node(fix, kind="fix", title=f"suggested fix ({finding.code})",
                       lines=[fix_text(finding.fix)], notes=[], error=False, warning=False,
                       tensor=True, tooltip=finding.fix.code, cluster=None)
        # a projection feeds the add from the shortcut; resized layers replace the main
        # branch's end, so the fix comes from the main operand and has the shortcut's shape
        source, fixed = operand, 0
        if not finding.fix.on_shortcut:
            source = next((n for n in graph.predecessors(view.add) if n != operand), operand)
            fixed = 1
        out = shape_text(finding.shapes[fixed]) if len(finding.shapes) > fixed else ""
        graph.add_edge(source, fix, kind="fix", label="", error=False, warning=False)
        graph.add_edge(fix, view.add, kind="fix", label=out, error=False, warning=False)


def fix_text(fix: Fix) -> str:
    """The suggested fix in a few words.

    Example:
        >>> fix_text(Fix("projection", 256, 512, 2, "nn.Sequential(...)", verified=True))
        'conv1x1/2 256->512 + BN, verified'
        >>> fix_text(Fix("resize", 128, 96, 1, "attn.proj = nn.Linear(128, 96)",
        ...              layers=("attn.proj",)))
        'attn.proj -> 96 wide, not verified'
        >>> fix_text(Fix("ceil_mode", 0, 0, 1, "pool = nn.MaxPool2d(2, ceil_mode=True)",
        ...              verified=True, layers=("pool",)))
        'pool: ceil_mode=True, verified'
    """
    if fix.kind in ("ceil_mode", "padding"):  # a setting changed, the weights kept
        setting = "ceil_mode=True" if fix.kind == "ceil_mode" else "padding changed"
        layers = fix.layers[0] + (f" (+{len(fix.layers) - 1})" if len(fix.layers) > 1 else "")
        return f"{layers}: {setting}, {'verified' if fix.verified else 'not verified'}"
    strides = fix.stride if isinstance(fix.stride, (tuple, list)) else (fix.stride,)
    if all(s == 1 for s in strides):
        stride = ""
    elif len(set(strides)) == 1:
        stride = f"/{strides[0]}"
    else:
        stride = "/" + "x".join(str(s) for s in strides)
    if fix.kind == "resize":
        layer = f"{' + '.join(fix.layers)} -> {fix.out_channels} wide"
    elif fix.kind == "linear":
        layer = f"linear {fix.in_channels}->{fix.out_channels}"
    else:
        layer = f"conv1x1{stride} {fix.in_channels}->{fix.out_channels} + BN"
    return f"{layer}, {'verified' if fix.verified else 'not verified'}"
