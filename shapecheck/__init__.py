"""shapecheck: find shape bugs in residual networks before they run.

The pipeline, one stage per folder, data flowing one way:

    load      the user's file -> built models (meta first) and example inputs
    graph     trace (torch.fx, recording fallback) -> residual adds and their branches,
              from the graph's structure alone (no shapes needed)
    analysis  propagate shapes on meta tensors -> choose the intended side of each failed
              add -> prove every input size -> diagnose (findings) -> fix (proven by
              propagating again) -> one finding per root cause -> assemble one Report
    then      reporters (text, json, sarif, github, html), render (block graphs), repair
              (the fix as a verified edit of the user's file) and confirm (a real run)
              read the Report; none of them traces or propagates again.

`ops` holds the layer knowledge every stage shares (shape formulas, layer expectations,
layout, counts).

    >>> import torch, shapecheck
    >>> report = shapecheck.check(torch.nn.Conv2d(3, 8, 3), (1, 3, 32, 32))
    >>> report.ok
    True
"""

from shapecheck import _moved
from shapecheck.report import (Block, Confirmation, Finding, Fix, Location, NodeInfo, Report,
                               ResidualAdd, TargetError, register_view)

__version__ = "0.1.0"

_moved.install()  # old module paths (shapecheck.trace, ...) for one release

__all__ = ["check", "Report", "Finding", "Fix", "Location", "ResidualAdd", "Block", "NodeInfo",
           "TargetError", "Confirmation", "__version__"]


def check(model, inputs=None, *, confirm: bool = False, device: str = "auto", factory=None,
          backward: bool = False, **options) -> Report:
    """Analyse `model` for the example `inputs` (see `shapecheck.api.check`); with
    `confirm=True` also run it for real on `device` and compare (see `shapecheck.confirm`).
    """
    from shapecheck.api import check as _check

    report = _check(model, inputs, **options)
    if confirm:
        from shapecheck.confirm import confirmed

        report = confirmed(report, factory, device=device, backward=backward)
    return report


def _block_graph(report: Report, detail: str = "blocks"):
    from shapecheck.render import report_to_dot

    return report_to_dot(report, detail=detail)


register_view("graph", _block_graph)


def _drawn_block_graph(report: Report, detail: str = "blocks"):
    """The block graph and its Digraph, for the HTML page (reporters never import render)."""
    from shapecheck.render import block_graph, to_dot

    graph = block_graph(report, detail=detail)
    return graph, to_dot(graph)


def _html_page(report: Report, **options):
    from shapecheck.reporters.html import notebook_html

    return notebook_html(report, **options)


register_view("block_graph", _drawn_block_graph)
register_view("html", _html_page)
