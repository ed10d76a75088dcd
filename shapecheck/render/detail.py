"""The two detailed levels of the block graph: `layers` and `ops`.

`layers` draws every layer with its hyper-parameters inside its block's cluster (blocks
inside stage clusters). A conv and the norm and activation right after it share one node
("conv 3x3/2, 64->128 · bn · relu"), identical parallel branches (a grouped conv written
as 32 convs) are drawn once, and runs of identical blocks are folded as in `blocks`.
`ops` draws every traced node under its fx name, nothing folded.
"""

from __future__ import annotations

from typing import Any

import networkx as nx

from shapecheck.render.folding import find_runs, fold_blocks, run_tooltip
from shapecheck.render.structure import (BlockView, Structure, cluster_id, inside_module,
                                         shape_text, stage_cluster)
from shapecheck.render.transforms import bypass, fold_parallel, fuse_chains
from shapecheck.report import NodeInfo, Report

Clusters = dict[str, dict[str, Any]]

# Layers drawn inside the node of the layer before them: norms, activations, dropout.
_ABSORBED = frozenset({"bn", "ln", "in", "relu", "relu6", "gelu", "silu", "sigmoid", "tanh",
                       "elu", "hardswish", "mish", "leakyrelu", "identity"})
_ABSORBED_PREFIXES = ("gn ", "dropout ")


def layers_level(report: Report, structure: Structure, ir: nx.DiGraph, clusters: Clusters,
                 min_repeat: int) -> nx.DiGraph:
    """Every layer, labelled, in block and stage clusters (see the module docstring)."""
    # tensors only: shape arithmetic (x.size(0)), parameters and chunk[i] are not layers
    drop = [n for n, info in report.nodes.items()
            if info.op == "get_attr" or _unpacks(report, info)
            or (info.shape is None and not info.shapes and not info.error
                and structure.role.get(n) not in ("input", "output", "add"))]
    graph = bypass(ir, drop)
    runs, runs_at = find_runs(report, structure, ir, min_repeat)
    graph = fold_blocks(graph, structure, runs)
    for run in runs:
        graph.nodes[run[0].add]["tooltip"] = run_tooltip(run)
    graph = fold_parallel(graph, key=lambda n: (graph.nodes[n]["title"], graph.nodes[n]["kind"]),
                          min_repeat=min_repeat)
    graph = fuse_chains(graph, _absorber(structure, graph))
    for attrs in graph.nodes.values():
        if attrs.get("repeat"):
            attrs["lines"] = [*attrs["lines"], f"×{attrs['repeat']} in parallel"]
    folded = {v.index for run in runs for v in run[1:]}
    _block_clusters(report, structure, graph, clusters, runs_at, folded)
    return graph


def ops_level(report: Report, structure: Structure, ir: nx.DiGraph,
              clusters: Clusters) -> nx.DiGraph:
    """Every traced node under its fx name, with its opcode and target."""
    graph = ir.copy()
    for name, attrs in graph.nodes(data=True):
        if attrs["kind"] == "add":
            attrs["lines"] = [name]
        elif name in report.nodes:
            info = report.nodes[name]
            label = attrs["title"] if attrs["title"] != info.target else ""
            attrs["lines"] = [f"{info.op} {info.target}", *([label] if label else [])]
            attrs["title"] = name
    _block_clusters(report, structure, graph, clusters, {}, set())
    return graph


def _unpacks(report: Report, info: NodeInfo) -> bool:
    """True for `chunks[i]` after a split: the split's edge already says what flows."""
    if info.target != "getitem" or len(info.inputs) != 1 or info.error:
        return False
    source = report.nodes.get(info.inputs[0])
    return source is not None and source.shape is None and len(source.shapes) > 1


def _absorber(structure: Structure, graph: nx.DiGraph):
    def can_absorb(head: str, node: str) -> bool:
        h, n = graph.nodes[head], graph.nodes[node]
        title = n["title"]
        if n["error"] or n.get("warning") or n["kind"] not in ("layer", "op", "shortcut"):
            return False
        if title not in _ABSORBED and not title.startswith(_ABSORBED_PREFIXES):
            return False
        # stay inside one block, and one part of it: no cluster is crossed
        if structure.owner.get(head) != structure.owner.get(node):
            return False
        if h["kind"] == "add":  # the ReLU after the add is listed under the "+"
            return structure.role.get(node) == "glue"
        same_part = structure.role.get(head) == structure.role.get(node)
        return same_part and h["kind"] in ("layer", "op", "shortcut")

    return can_absorb


def _block_label(report: Report, view: BlockView, run: list[BlockView]) -> str:
    name = view.name
    if len(run) > 1:
        name = f"{run[0].name} … {run[-1].name} (×{len(run)} identical)"
    shapes = f"{shape_text(view.input_shape)} -> {shape_text(view.output_shape)}"
    parts = (name, view.module_type, shapes, view.shortcut_kind.replace("_", " "))
    return " · ".join(p for p in parts if p)


def _block_clusters(report: Report, structure: Structure, graph: nx.DiGraph, clusters: Clusters,
                    runs_at: dict[int, list[BlockView]], folded: set[int]) -> None:
    """Put every node in its block's cluster, blocks in stage clusters, and stem and head
    layers in clusters of their own (when there are blocks to tell them from)."""
    cluster_of_block: dict[int, str] = {}
    for view in structure.blocks:
        if view.index in folded:
            continue
        cid = cluster_id("block", view.add)
        clusters[cid] = {"label": _block_label(report, view, runs_at.get(view.index, [view])),
                         "parent": stage_cluster(clusters, structure, view), "kind": "block"}
        cluster_of_block[view.index] = cid
    for name, attrs in graph.nodes(data=True):
        role, owner = structure.role.get(name), structure.owner.get(name)
        if attrs["kind"] == "fix":  # drawn beside the add it repairs
            add = next(iter(graph.successors(name)), None)
            role, owner = "add", structure.owner.get(add)
        if role in ("stem", "head") and structure.blocks:
            clusters.setdefault(f"cluster_{role}", {"label": role, "parent": None, "kind": role})
            attrs["cluster"] = f"cluster_{role}"
        elif owner is not None and owner in cluster_of_block:
            view = structure.blocks[owner]
            block = cluster_of_block[owner]
            # glue of another module (a transition layer) sits in the stage, not the block
            inside = role != "glue" or inside_module(report.nodes[name].module, view.module)
            attrs["cluster"] = block if inside else clusters[block]["parent"]
