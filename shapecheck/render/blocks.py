"""The block graph: a `networkx.DiGraph` drawn from a Report, at one of three levels.

- `blocks` (default): stem, one node per residual block (main branch summary, `in -> out`
  shapes), its shortcut (an edge for identity, a box for a projection), the add as its
  own node, the head; stage clusters; runs of identical blocks folded into one "×N" node.
  A model without residual adds is drawn layer by layer instead.
- `layers`: every layer, labelled with its hyper-parameters, inside its block's cluster.
- `ops`: every traced node, by its fx name.

The graph is framework-neutral (hiddenlayer's idea) and `render.dot.to_dot` draws it.
Node attributes: `kind`, `title`, `lines`, `notes` (finding texts), `error`, `warning`,
`cluster`, `tooltip`. Edge attributes: `kind` (flow, shortcut, identity, fix), `label`,
`error`, `warning`. Graph attributes: `title`, `lines`, `clusters` (id -> label, parent,
kind), `detail`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable

import networkx as nx

from shapecheck.analysis.size_sets import valid_size_lines
from shapecheck.render.detail import layers_level, ops_level
from shapecheck.render.folding import find_runs, fold_blocks, run_tooltip
from shapecheck.render.labels import chain_text
from shapecheck.render.nodes import node_graph
from shapecheck.render.structure import (BlockView, Structure, finding_text, read_structure,
                                         shape_text, stage_cluster)
from shapecheck.render.transforms import contract
from shapecheck.report import Report

LEVELS = ("blocks", "layers", "ops")
# Labels that say what a block's main branch does; norms and activations are left out.
_SUMMARY_PREFIXES = ("conv", "fc", "maxpool", "avgpool", "linear", "matmul", "bmm")
# Where a block's parts sit: graphviz puts nodes listed first on the left, so the main
# branch is listed before its shortcut box and the suggested fix.
_DRAW_ORDER = {"projection": 1, "fix": 2}


def block_graph(report: Report, detail: str = "blocks", *, min_repeat: int = 3) -> nx.DiGraph:
    """The annotated block graph of `report`, ready for `render.dot.to_dot`.

    Args:
        report: an analysis result; only its fields are read, nothing is traced again.
        detail: "blocks", "layers" or "ops" (see the module docstring).
        min_repeat: fold runs of at least this many identical blocks (blocks and layers).

    Returns:
        A DiGraph whose node, edge and graph attributes are described above.

    Raises:
        ValueError: `detail` is not one of `LEVELS`.

    Example:
        >>> import torch, shapecheck
        >>> report = shapecheck.check(torch.nn.Conv2d(3, 8, 3), (1, 3, 32, 32))
        >>> g = block_graph(report)
        >>> [(g.nodes[n]["kind"], g.nodes[n]["title"]) for n in g]
        [('input', 'input input_1'), ('layer', 'conv 3x3, 3->8')]
    """
    if detail not in LEVELS:
        raise ValueError(f"detail must be one of {', '.join(LEVELS)}, not {detail!r}")
    structure = read_structure(report)
    ir = node_graph(report, structure)
    clusters: dict[str, dict[str, Any]] = {}
    if detail == "ops":
        graph = ops_level(report, structure, ir, clusters)
    elif detail == "layers" or not structure.blocks:
        graph = layers_level(report, structure, ir, clusters, min_repeat)
    else:
        graph = _blocks_level(report, structure, ir, clusters, min_repeat)
    graph.graph.update(detail=detail, clusters=clusters, **_caption(report))
    return graph


class _Groups:
    """Node groups of the blocks level: which traced nodes one drawn node stands for."""

    def __init__(self, ir: nx.DiGraph, order: dict[str, int]) -> None:
        self.ir, self.order = ir, order
        self.group_of: dict[str, str] = {}
        self.attrs: dict[str, dict[str, Any]] = {}

    def add(self, names: Iterable[str], gid: str, **values: Any) -> None:
        names = sorted(names, key=self.order.get)
        if not names:
            return
        members = [self.ir.nodes[n] for n in names]
        for name in names:
            self.group_of[name] = gid
        attrs: dict[str, Any] = dict(
            title="", lines=[], cluster=None, tooltip="",
            notes=[note for m in members for note in m["notes"]],
            error=any(m["error"] for m in members),
            warning=any(m.get("warning") for m in members))
        self.attrs[gid] = {**attrs, **values}

    def pieces(self, names: Iterable[str]) -> list[list[str]]:
        """`names` split into connected pieces, in graph order. One box for an outer
        block's main branch around an inner block would draw a false cycle; each piece
        gets a box of its own."""
        found = nx.weakly_connected_components(self.ir.subgraph(names))
        pieces = [sorted(p, key=self.order.get) for p in found]
        return sorted(pieces, key=lambda piece: self.order[piece[0]])

    def chain(self, names: Iterable[str], width: int = 44) -> list[str]:
        """The titles of the layers among `names` for a box listing them; parameters and
        shape arithmetic (x.size(0)) are not layers."""
        ir = self.ir
        return chain_text([ir.nodes[n]["title"] for n in sorted(names, key=self.order.get)
                           if ir.nodes[n]["kind"] != "param" and ir.nodes[n]["tensor"]], width)

    def summary(self, names: Iterable[str]) -> list[str]:
        """A main branch in words: its convs, linears and pools in order; identical
        parallel ones (a grouped conv written as N convs) as "N × ... (parallel)"."""
        ir = self.ir
        layers = [n for n in sorted(names, key=self.order.get)
                  if ir.nodes[n]["kind"] != "param" and ir.nodes[n]["tensor"]]
        picked = [n for n in layers if ir.nodes[n]["title"].startswith(_SUMMARY_PREFIXES)] or layers
        words: list[list[Any]] = []  # [title, count, first node]
        for name in picked:
            title = ir.nodes[name]["title"]
            if words and words[-1][0] == title and not nx.has_path(ir, words[-1][2], name):
                words[-1][1] += 1
            else:
                words.append([title, 1, name])
        return chain_text([t if n == 1 else f"{n} × {t} (parallel)" for t, n, _ in words])


def _blocks_level(report: Report, structure: Structure, ir: nx.DiGraph,
                  clusters: dict[str, dict[str, Any]], min_repeat: int) -> nx.DiGraph:
    runs, runs_at = find_runs(report, structure, ir, min_repeat)
    folded = {v.index for run in runs for v in run[1:]}
    groups = _Groups(ir, structure.order)
    for part in ("stem", "head"):
        names = [n for n, r in structure.role.items() if r == part]
        groups.add(names, part, kind=part, title=part, lines=groups.chain(names))
    for view in structure.blocks:
        if view.index not in folded:
            _group_block(report, structure, groups, view, runs_at.get(view.index, [view]),
                         stage_cluster(clusters, structure, view))
    # nodes of folded blocks first become their counterparts in the run's first block
    base = fold_blocks(ir, structure, runs)
    group_of = {n: g for n, g in groups.group_of.items() if n in base}
    return _main_first(contract(base, group_of, groups.attrs))


def _group_block(report: Report, structure: Structure, groups: _Groups, view: BlockView,
                 run: list[BlockView], stage: str | None) -> None:
    """Main branch box (or ×N box), shortcut box, add circle and glue of one block."""
    cls = view.module_type
    shapes = f"{shape_text(view.input_shape)} -> {shape_text(view.output_shape)}"
    # an outer block around inner ones draws only its own nodes: the inner blocks draw theirs
    main = [n for n in view.main if structure.owner.get(n) == view.index]
    shortcut = [n for n in view.shortcut if structure.owner.get(n) == view.index]
    pieces = groups.pieces(main)
    for i, piece in enumerate(pieces[1:], start=2):
        groups.add(piece, f"{view.add}_main_{i}", kind="block", cluster=stage,
                   title=f"{view.name} (part {i})", lines=groups.summary(piece),
                   tooltip=_block_tooltip(view))
    main = pieces[0] if pieces else []
    summary = groups.summary(main)
    if len(run) > 1:
        what = ("identical blocks" if not cls else f"identical {cls}s"
                if cls.lower().endswith("block") else f"identical {cls} blocks")
        groups.add(main, f"{view.add}_main", kind="fold", cluster=stage,
                   title=f"{run[0].name} … {run[-1].name}",
                   lines=[f"×{len(run)} {what}", *summary, shapes],
                   tooltip=f"{run_tooltip(run)}\neach like {_block_tooltip(view)}")
    else:
        groups.add(main, f"{view.add}_main", kind="block", cluster=stage,
                   title=f"{view.name} · {cls}" if cls else view.name,
                   lines=[*summary, shapes], tooltip=_block_tooltip(view))
    groups.add(shortcut, f"{view.add}_shortcut", kind="projection", cluster=stage,
               title=view.shortcut_kind.replace("_", " "), lines=groups.chain(shortcut))
    trivial = _is_trivial_glue(report, view)
    tooltip = run_tooltip(run) if len(run) > 1 else groups.ir.nodes[view.add]["tooltip"]
    # a ReLU after the add is listed under the "+"; real work between blocks gets a box
    groups.add([view.add, *(view.glue if trivial else ())], view.add, kind="add", title="+",
               lines=groups.chain(view.glue) if trivial else [], cluster=stage, tooltip=tooltip)
    if view.glue and not trivial:
        blocks = structure.blocks
        same_stage = view.index + 1 < len(blocks) and blocks[view.index + 1].stage == view.stage
        groups.add(view.glue, f"{view.add}_glue", kind="glue", title="between blocks",
                   lines=groups.chain(view.glue), cluster=stage if same_stage else None)
    if f"{view.add}_fix" in groups.ir:
        groups.ir.nodes[f"{view.add}_fix"]["cluster"] = stage


def _block_tooltip(view: BlockView) -> str:
    """Teaching facts for hovering: what the block costs, where its add is."""
    text = view.name
    if view.block is not None:
        macs = view.block.macs / 1e6
        text += f": {view.block.params:,} parameters, {macs:,.1f}M multiply-adds"
    location = view.residual.location if view.residual else None
    if location is not None:
        text += f"\nadd at {Path(location.path).name}:{location.line}"
    return text


def _is_trivial_glue(report: Report, view: BlockView) -> bool:
    """No weights and no shape change after the add (a ReLU): drawn on the add itself."""
    nodes = report.nodes
    return all(nodes[n].params == 0 and nodes[n].shape in (None, view.output_shape)
               and not nodes[n].error for n in view.glue)


def _main_first(graph: nx.DiGraph) -> nx.DiGraph:
    """The same graph with main-branch nodes and flow edges listed before shortcut ones,
    so that every block reads the same way: main branch left, shortcut right."""
    position = {n: i for i, n in enumerate(graph)}
    anchor: dict[str, int] = {}
    for node in graph:  # a shortcut box or a fix is listed with the add it feeds
        succ = [position[s] for s in graph.successors(node)]
        side = graph.nodes[node]["kind"] in _DRAW_ORDER and succ
        anchor[node] = min(succ) if side else position[node]
    nodes = sorted(graph, key=lambda n: (anchor[n], _DRAW_ORDER.get(graph.nodes[n]["kind"], 0),
                                         position[n]))
    rank = {n: i for i, n in enumerate(nodes)}
    out = nx.DiGraph(**graph.graph)
    out.add_nodes_from((n, graph.nodes[n]) for n in nodes)
    out.add_edges_from(sorted(graph.edges(data=True), key=lambda e: (
        rank[e[0]], e[2].get("kind", "flow") != "flow", rank[e[1]])))
    return out


def _caption(report: Report) -> dict[str, Any]:
    """The graph's title and the line of facts under it."""
    title = report.target or "model"
    if report.error is not None:
        error = report.error
        return {"title": title, "lines": [f"not analysed ({error.kind}): {error.message}"]}

    def count(n: int, what: str) -> str:
        return f"{n} {what}{'s' if n != 1 else ''}"

    inputs = ", ".join(shape_text(s) if len(s) > 1 else str(s) for s in report.input_shapes)
    adds, errors = len(report.residual_adds), len(report.errors)
    warnings = len(report.findings) - errors
    facts = [f"input {inputs}" if inputs else "",
             f"{report.parameters:,} parameters" if report.parameters else "",
             count(adds, "residual add") if adds else "no residual adds",
             count(errors, "error") if errors else "no errors",
             count(warnings, "warning") if warnings else ""]
    lines = [" · ".join(f for f in facts if f)] + valid_size_lines(report.sizes)
    # findings with no node in the drawing are listed under the title, so none is lost
    lines += [finding_text(f).replace("\n", ": ") for f in report.findings
              if f.node not in report.nodes]
    return {"title": title, "lines": lines}
