"""Findings from the proof of valid input sizes (SC105 `resolution_dependent`).

By default the proof runs over [1, inf) and speaks only when the example size works but a
class of sizes fails at a residual add: one warning, at the first such add in graph order,
naming the valid set and the weight-keeping fix (`size_fix.py`) proved at every size.
Under an explicit range (`--sizes 32..512`) every failing class inside it is an error, one
finding per class (the class holding the example size is already reported by the
example-size analysis). Failures that are not at an add (a map too small for a fixed
pooling window, a Linear built for one resolution) are the model's design, not a warning.
"""

from __future__ import annotations

from typing import Optional, Sequence

import torch.fx as fx

from shapecheck.analysis.size_fix import SizeFix, failing_adds
from shapecheck.analysis.size_sets import AXIS_WORDS, contains, describe_sizes, proof_words
from shapecheck.codes import RESOLUTION_DEPENDENT
from shapecheck.graph.residual import ResidualStructure
from shapecheck.messages import text
from shapecheck.report import Finding, Fix, Location

CODE = "SC105"


def resolution_findings(gm: fx.GraphModule, sizes: dict, structures: Sequence[ResidualStructure],
                        lang: str, strict: bool = False,
                        fix: Optional[SizeFix] = None) -> list[Finding]:
    """SC105 findings for the proof's output `sizes` (see the module docstring).

    Example:
        >>> import torch, torch.nn as nn
        >>> import shapecheck
        >>> class Net(nn.Module):
        ...     def __init__(self):
        ...         super().__init__()
        ...         self.conv = nn.Conv2d(4, 4, 3, stride=2, padding=1)
        ...         self.pool = nn.MaxPool2d(2)
        ...     def forward(self, x):
        ...         return self.conv(x) + self.pool(x)
        >>> (finding,) = shapecheck.check(Net(), (1, 4, 16, 16)).findings  # via check
        >>> finding.code, finding.severity, finding.fix.code
        ('SC105', 'warning', 'pool = nn.MaxPool2d(2, ceil_mode=True)')
        >>> finding.fix.valid_after["H"]["valid"]
        [[1, None, 1]]
    """
    residual = {s.add.name for s in structures}
    axes = [a for a in sizes.values() if isinstance(a, dict)]
    if strict:
        classes = [(axis, c) for axis in axes for c in axis["failing"]
                   if not contains(c["progressions"], axis["example"])]
    else:
        if any(not contains(a["valid"], a["example"]) for a in axes):
            return []  # the example fails: the example-size findings say why
        classes = [(axis, c) for axis in axes for c in axis["failing"] if c["node"] in residual]
    if not classes:
        return []
    order = {node.name: i for i, node in enumerate(gm.graph.nodes)}
    # the first add in graph order; at it, a real mismatch nearest the example size
    classes.sort(key=lambda ac: (order.get(ac[1]["node"], 0), ac[1]["broadcast"],
                                 abs(ac[1]["example"] - ac[0]["example"]),
                                 ac[1]["progressions"][0][0]))
    if not strict:
        classes = classes[:1]
    findings, seen = [], set()
    for axis, failing in classes:
        key = (failing["node"], str(failing["progressions"]))
        if key in seen:  # H and W of a square model fail the same way: one finding
            continue
        seen.add(key)
        findings.append(_finding(axis, failing, sizes, lang, strict, residual, fix))
    return findings


def _finding(axis: dict, failing: dict, sizes: dict, lang: str, strict: bool,
             residual: set[str], fix: Optional[SizeFix]) -> Finding:
    name = axis["axis"]
    lo = axis["range"][0]
    words = _words(axis, sizes, lang)
    values = dict(module=failing["module"] or text("top", lang), axis=name,
                  example=axis["example"],
                  which=describe_sizes(failing["progressions"], name, lo, lang),
                  size=failing["example"], valid=describe_sizes(axis["valid"], name, lo, lang),
                  proof=proof_words(axis, lang), words=words, detail=failing["detail"])
    shapes = [tuple(s) for s in failing["shapes"]]
    at_add = failing["node"] in residual
    if at_add and len(shapes) == 2:
        key = "sizes.broadcast" if failing["broadcast"] else "sizes.add"
        values.update(main=_spatial(shapes[0]), shortcut=_spatial(shapes[1]))
    else:
        key = "sizes.layer"
    where = failing["location"]
    location = Location(where["path"], where["line"]) if where else None
    return Finding(CODE, RESOLUTION_DEPENDENT, "error" if strict else "warning",
                   text(key, lang, **values), failing["module"] or "", location,
                   tuple(shapes), _fix(fix, lang) if at_add else None, failing["node"])


def _words(axis: dict, sizes: dict, lang: str) -> str:
    others = [a for a in sizes.values() if isinstance(a, dict) and a is not axis]
    names = [axis["axis"]] + [a["axis"] for a in others if a["valid"] == axis["valid"]]
    return " / ".join(text(f"words.{AXIS_WORDS.get(n, 'lengths')}", lang) for n in names)


def _fix(fix: Optional[SizeFix], lang: str) -> Optional[Fix]:
    if fix is None:
        return None
    after = {name: {"valid": axis["valid"], "proved": axis["proved"], "range": axis["range"],
                    "checked_to": axis.get("checked_to")}
             for name, axis in fix.sizes.items() if isinstance(axis, dict)}
    return Fix(fix.kind, 0, 0, 1, fix.code, verified=True, layers=fix.layers,
               valid_after=after)


def after_text(fix: Fix, lang: str = "en") -> str:
    """The valid sizes after a weight-keeping fix, in words ("" for other fixes).

    >>> after_text(Fix("ceil_mode", 0, 0, 1, "pool = ...", True, ("pool",),
    ...                {"H": {"valid": [[193, None, 1]], "proved": True, "range": [1, None]}}))
    'after the fix: valid for every H >= 193 (proved)'
    >>> every = {"valid": [[1, None, 1]], "proved": True, "range": [1, None]}
    >>> after_text(Fix("ceil_mode", 0, 0, 1, "pool = ...", True, ("pool",),
    ...                {"H": every, "W": every}), "zh")
    '修复之后：所有 H, W >= 1 时均有效（已证明）'
    """
    if not fix.valid_after:
        return ""
    axes = list(fix.valid_after.items())
    if len({str(axis) for _, axis in axes}) == 1:  # H and W alike: say it once
        axes = [(", ".join(name for name, _ in axes), axes[0][1])]
    parts = []
    for name, axis in axes:
        valid = describe_sizes(axis["valid"], name, axis["range"][0], lang)
        if valid.startswith(f"{name} >= "):
            valid = ("所有 " if lang == "zh" else "every ") + valid
        proof = text("sizes.proved", lang) if axis["proved"] else proof_words(
            {"axis": name, **axis}, lang)
        parts.append(text("sizes.after", lang, valid=valid, proof=proof))
    return "; ".join(parts)


def _spatial(shape: tuple) -> str:
    return "x".join(str(d) for d in (shape[2:] if len(shape) > 2 else shape[1:])) or "scalar"


__all__ = ["resolution_findings", "after_text", "CODE"]
