"""Folding runs of identical residual blocks into one "×N" mark.

ResNet-152 has 36 blocks in its third stage, 35 of them identical; drawn one by one the
graph is unreadable. A run is folded when its blocks are chained one after the other,
have one shortcut kind, one input and one output shape, the same layers, and no finding:
a block with a problem is never folded away.
"""

from __future__ import annotations

from typing import Callable, Hashable

import networkx as nx

from shapecheck.render.structure import BlockView, Structure, fold_runs
from shapecheck.render.transforms import contract
from shapecheck.report import Report

Runs = list[list[BlockView]]


def block_signature(report: Report, structure: Structure,
                    graph: nx.DiGraph) -> Callable[[BlockView], Hashable]:
    """What two blocks must share to fold: stage, shortcut, shapes, layer titles, no problem.

    `graph` is the node graph of `render.nodes`, whose titles name the layers.
    """
    def titles(names) -> tuple[str, ...]:
        return tuple(graph.nodes[n]["title"] for n in sorted(names, key=structure.order.get))

    def signature(view: BlockView) -> Hashable:
        clean = view.ok and not any(structure.findings.get(n) or report.nodes[n].error
                                    for n in (*view.nodes, *view.glue))
        # an unclean block's signature is unique (its index), so it never joins a run
        return (view.stage, view.shortcut_kind, view.input_shape, view.output_shape,
                titles(view.main), titles(view.shortcut), titles(view.glue),
                True if clean else view.index)

    return signature


def find_runs(report: Report, structure: Structure, graph: nx.DiGraph,
              min_repeat: int) -> tuple[Runs, dict[int, list[BlockView]]]:
    """The runs to fold, and each run by the index of its first block.

    Example:
        >>> from shapecheck.render.structure import read_structure
        >>> report = Report("empty")
        >>> find_runs(report, read_structure(report), nx.DiGraph(), 3)
        ([], {})
    """
    runs = fold_runs(structure, block_signature(report, structure, graph), min_repeat)
    return runs, {run[0].index: run for run in runs}


def _segment(structure: Structure, view: BlockView) -> list[str]:
    return sorted([*view.nodes, *view.glue], key=structure.order.get)


def fold_mapping(structure: Structure, runs: Runs) -> dict[str, str]:
    """Each node of a folded block -> its counterpart in the run's first block.

    Equal signatures mean equal layer lists, so the blocks' nodes pair up in graph order.
    """
    mapping: dict[str, str] = {}
    for run in runs:
        kept = _segment(structure, run[0])
        for view in run[1:]:
            mapping.update(zip(_segment(structure, view), kept))
    return mapping


def fold_blocks(graph: nx.DiGraph, structure: Structure, runs: Runs) -> nx.DiGraph:
    """`graph` with each run drawn once.

    Folded blocks become their counterparts in the run's first block, and the edges that
    would lead from a block back into the one before it (block k+1 drawn onto block 1)
    are dropped, so the result stays acyclic.
    """
    mapping = {k: v for k, v in fold_mapping(structure, runs).items() if k in graph}
    folded = contract(graph, mapping)
    order = structure.order
    # traced graphs are in topological order: an edge against it comes only from folding
    back = [(u, v) for u, v in folded.edges if u in order and v in order and order[u] > order[v]]
    folded.remove_edges_from(back)
    return folded


def run_tooltip(run: list[BlockView]) -> str:
    """Names every add of a run, so a folded add can still be found in an SVG.

    >>> view = lambda add: BlockView(0, "b", "b", add, "x", frozenset(), frozenset(),
    ...                              None, None, "identity", True)
    >>> run_tooltip([view("add_2"), view("add_3")])
    'folded residual adds: add_2, add_3'
    """
    return "folded residual adds: " + ", ".join(v.add for v in run)
