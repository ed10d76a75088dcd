"""Annotated block graphs of a Report: `report_to_dot` and `write_graph`.

    >>> import torch, shapecheck
    >>> from shapecheck.render import report_to_dot
    >>> report = shapecheck.check(torch.nn.Conv2d(3, 8, 3), (1, 3, 32, 32))
    >>> report_to_dot(report).source.startswith("digraph")
    True
"""

from __future__ import annotations

import graphviz

from shapecheck.render.blocks import LEVELS, block_graph
from shapecheck.render.dot import to_dot
from shapecheck.render.write import FORMATS, write_graph
from shapecheck.report import Report

__all__ = ["report_to_dot", "write_graph", "block_graph", "to_dot", "LEVELS", "FORMATS"]


def report_to_dot(report: Report, detail: str = "blocks") -> graphviz.Digraph:
    """The annotated block graph of `report` as a `graphviz.Digraph`.

    Args:
        report: the analysis result (only its fields are read).
        detail: "blocks" (default), "layers" or "ops".

    Example:
        >>> import torch, shapecheck
        >>> report = shapecheck.check(torch.nn.Conv2d(3, 8, 3), (1, 3, 32, 32))
        >>> dot = report_to_dot(report, detail="layers")
        >>> "conv 3x3, 3-&gt;8" in dot.source
        True
    """
    return to_dot(block_graph(report, detail=detail))
