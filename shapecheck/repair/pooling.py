"""Candidate edits for a spatial mismatch that depends on rounding: `ceil_mode=True`.

A strided 3x3 conv with padding 1 rounds up (`ceil(n / 2)`), a 2x2 pool rounds down
(`floor(n / 2)`): the two branches of a downsampling block agree at even sizes only. The
weight-keeping fix is to let the pool round up too. It changes no parameter, so once
verified it is a `safe` fix: pretrained weights still load.
"""

from __future__ import annotations

from typing import Optional

from shapecheck.load.frames import display_path
from shapecheck.load.provenance import Origin
from shapecheck.repair import edits
from shapecheck.repair.candidates import Candidate, editable
from shapecheck.report import Finding, Report

_POOLS = ("MaxPool1d", "MaxPool2d", "MaxPool3d", "AvgPool1d", "AvgPool2d", "AvgPool3d")


def ceil_mode_candidates(finding: Finding, report: Report,
                         origins: dict[str, Origin]) -> list[Candidate]:
    """`ceil_mode=True` on each rounding-down pool of the failing block's branches.

    Example:
        >>> import torch.nn as nn, shapecheck
        >>> class Down(nn.Module):
        ...     def __init__(self):
        ...         super().__init__()
        ...         self.conv = nn.Conv2d(4, 4, 3, stride=2, padding=1)
        ...         self.pool = nn.AvgPool2d(2)
        ...     def forward(self, x):
        ...         return self.conv(x) + self.pool(x)
        >>> report = shapecheck.check(Down(), (1, 4, 9, 9))
        >>> ceil_mode_candidates(report.findings[0], report, {})  # no recorded origins
        []
    """
    block = next((b for b in report.blocks if b.add == finding.node), None)
    if block is None:
        return []
    found = []
    for name in block.shortcut_branch + block.main_branch:
        info = report.nodes.get(name)
        if info is None or info.layer_type not in _POOLS or info.layer_args.get("ceil_mode"):
            continue
        candidate = _ceil_mode(origins.get(info.module))
        if candidate is not None:
            found.append(candidate)
    return found


def _ceil_mode(origin: Optional[Origin]) -> Optional[Candidate]:
    if origin is None or not origin.calls:
        return None
    call = origin.calls[0]  # the pool's own constructor call, in the user's code
    if not editable(call.span.path):
        return None
    where = f"{display_path(call.span.path)}:{call.span.line}"
    return Candidate(call.span.path, call.span.line, "pool-rounding",
                     f"`ceil_mode=True` on the pool at {where} (it rounds down where the "
                     f"other branch rounds up)",
                     lambda source, span=call.span: edits.set_argument(
                         source, span.line, span.column, "ceil_mode", "True"))
