"""Candidate edits of a block's class body, for when every instance of the class is wrong.

Two kinds of evidence point into the class: the `expansion` attribute that the builder
uses for the shortcut's width (a `BasicBlock` that widens by 2 while declaring
`expansion = 1`), and the width arguments of the layers the graph-level resize fix
rebuilds (`self.conv2 = conv3x3(planes * 2, planes * 2)`). For the second, the new
argument is the block constructor's parameter whose value is the wanted width at every
failing instance (`planes`, never `inplanes` when the two differ somewhere), so one edit
is right for the whole class.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any, Optional

import libcst as cst
import torch.nn as nn
from libcst.metadata import MetadataWrapper, PositionProvider

from shapecheck.load.frames import class_source, display_path
from shapecheck.load.provenance import Call, Origin
from shapecheck.ops.labels import find_module
from shapecheck.repair import edits
from shapecheck.repair.candidates import Candidate, editable
from shapecheck.report import Finding


def class_body_candidates(finding: Finding, model: Optional[nn.Module],
                          origins: dict[str, Origin]) -> list[Candidate]:
    """Edits of the failing block's class: its `expansion`, then its layers' widths.

    Example:
        >>> import tempfile, pathlib
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "m.py"
        >>> _ = path.write_text("class B:\\n    expansion = 1\\n")
        >>> print(set_class_integer(path.read_text(), 1, "expansion", 2), end="")
        class B:
            expansion = 2
    """
    block = find_module([model], finding.module)
    if block is None or not finding.module or len(finding.shapes) != 2:
        return []
    span = class_source(type(block))
    if span is None or not editable(span[0]):
        return []
    return _expansion(finding, block, span) + _widths(finding, origins, span, type(block))


def set_class_integer(source: str, class_line: int, name: str, value: int) -> str:
    """`source` with the class defined at `class_line` assigning `name = value`."""
    tree = MetadataWrapper(cst.parse_module(source))
    positions = tree.resolve(PositionProvider)
    cls = next((n for n, w in positions.items()
                if isinstance(n, cst.ClassDef) and w.start.line == class_line), None)
    if cls is None:
        raise edits.EditError(f"no class at line {class_line}")
    for statement in cls.body.body:
        for small in getattr(statement, "body", ()):
            if _assigns(small, name):  # `expansion = 1` or `expansion: int = 1`
                new = small.with_changes(value=cst.Integer(str(value)))
                return tree.module.deep_replace(small, new).code
    raise edits.EditError(f"class at line {class_line} assigns no {name}")


def _assigns(statement: cst.CSTNode, name: str) -> bool:
    if isinstance(statement, cst.Assign):
        return len(statement.targets) == 1 and isinstance(
            statement.targets[0].target, cst.Name) and statement.targets[0].target.value == name
    return isinstance(statement, cst.AnnAssign) and statement.value is not None and \
        isinstance(statement.target, cst.Name) and statement.target.value == name


def _expansion(finding: Finding, block: nn.Module, span: tuple) -> list[Candidate]:
    current = getattr(type(block), "expansion", None)
    main, shortcut = finding.shapes
    if not isinstance(current, int) or not main or not shortcut or len(main) < 2:
        return []
    ratio = Fraction(main[1], shortcut[1]) * current if shortcut[1] else None
    if ratio is None or ratio.denominator != 1 or ratio == current or ratio < 1:
        return []
    path, first, _ = span
    value = int(ratio)
    where = f"{display_path(path)}:{first}"
    return [Candidate(path, first, "class-body",
                      f"`expansion = {current}` -> `expansion = {value}` in "
                      f"{type(block).__name__} ({where}): its layers widen by {value}",
                      lambda s, line=first, value=value: set_class_integer(
                          s, line, "expansion", value))]


def _widths(finding: Finding, origins: dict[str, Origin], span: tuple,
            block_class: type) -> list[Candidate]:
    fix = finding.fix
    if fix is None or fix.kind != "resize" or not fix.layers:
        return []
    wanted = _wanted_widths(finding, origins)
    parameter = _parameter_for(wanted, getattr(block_class, "expansion", None))
    if parameter is None:
        return []
    main = finding.shapes[0]
    if not main or len(main) < 2:
        return []
    steps = []
    for layer in fix.layers:
        step = _width_step(origins.get(layer), span, main[1], parameter)
        if step is None:
            return []
        steps.append(step)
    lines = sorted({s[0].span.line for s in steps})

    def apply(source: str, steps=tuple(steps)) -> str:
        for call, name, position in steps:
            source = edits.set_argument(source, call.span.line, call.span.column, name,
                                        parameter, position)
        return source

    shown = ", ".join(f"{display_path(span[0])}:{line}" for line in lines)
    return [Candidate(span[0], lines[0], "class-body",
                      f"the width of {', '.join(fix.layers)} -> `{parameter}` at {shown} "
                      f"(the width the shortcut has at every instance)", apply)]


def _wanted_widths(finding: Finding, origins: dict[str, Origin]) -> list[tuple[dict, int]]:
    """(block constructor arguments, shortcut width) at every failing add of the class."""
    adds = [(i.module, i.finding.shapes) for i in finding.instances if i.role == "add"] or [
        (finding.module, finding.shapes)]
    found = []
    for module, shapes in adds:
        origin = origins.get(module)
        if origin is None or not origin.calls or len(shapes) != 2 or not shapes[1]:
            continue
        found.append((origin.calls[0].arguments, shapes[1][1]))
    return found


def _parameter_for(wanted: list[tuple[dict, int]], expansion: Any = None) -> Optional[str]:
    """The expression of the wanted width at every instance: a constructor parameter, or
    one times the class's `expansion` (a bottleneck's `planes * self.expansion`)."""
    if not wanted:
        return None
    names = [n for n, v in wanted[0][0].items() if isinstance(v, int) and not isinstance(
        v, bool)]
    factors = [(1, "{}")] + ([(expansion, "{} * self.expansion")]
                             if isinstance(expansion, int) and expansion > 1 else [])
    for factor, template in factors:
        fits = [n for n in names
                if all(arguments.get(n) * factor == width for arguments, width in wanted)]
        if len(fits) == 1 or len(wanted) > 1 and fits:
            return template.format(fits[0])
    return None


def _width_step(origin: Optional[Origin], span: tuple, old_width: int,
                parameter: str) -> Optional[tuple[Call, str, Optional[int]]]:
    """The call on the class-body line that builds the layer, and which of its arguments
    carries the old width (the last one that does: a conv's output, not its input)."""
    if origin is None:
        return None
    path, first, last = span
    call = next((c for c in origin.calls if c.span.path == path
                 and first <= c.span.line <= last), None)
    if call is None:
        return None
    matching = [n for n, v in call.arguments.items()
                if v == old_width and not isinstance(v, bool)]
    if not matching:
        return None
    name = matching[-1]
    explicit = name in call.explicit
    position = call.positional.index(name) if name in call.positional and explicit else None
    return call, name, position
