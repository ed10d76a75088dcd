"""One root cause, one finding.

A bug in a block's class shows at every instance of the class: each add fails the same
way, and where propagation went on with the wrong (main-branch) width, the next block's
first layers receive it too. Reported per place, one wrong line becomes fifteen findings
whose fixes disagree. This step merges them after diagnosis: the adds of blocks of one
class that fail with the same code and the same ratio between the two operands become
one finding (the first in graph order), and a layer error whose input comes straight from
a failing add, with exactly the add's wrong width where the layer wants the other
operand's, joins that add's finding. Every place stays listed in `Finding.instances`.
"""

from __future__ import annotations

import dataclasses
from fractions import Fraction
from typing import Optional, Sequence

import torch.fx as fx
import torch.nn as nn

from shapecheck.codes import LAYER_MISMATCH, SPATIAL_MISMATCH
from shapecheck.load.frames import class_source, display_path, is_user_file
from shapecheck.ops.labels import find_module
from shapecheck.report import BlockClass, Finding, Instance, Location

_PASS_THROUGH_HOPS = 4  # relu, dropout, identity... between an add and the next layer


def group_findings(findings: Sequence[Finding], gm: fx.GraphModule,
                   model: nn.Module) -> list[Finding]:
    """The findings with each root cause merged into one (see the module docstring).

    Example:
        >>> import torch.nn as nn, shapecheck
        >>> class Wide(nn.Module):  # widens to 2*width but keeps an identity shortcut
        ...     def __init__(self, width):
        ...         super().__init__()
        ...         self.conv = nn.Conv2d(width, 2 * width, 1)
        ...     def forward(self, x):
        ...         return self.conv(x) + x
        >>> net = nn.Sequential(Wide(8), nn.Conv2d(16, 8, 1), Wide(8))
        >>> [(f.code, f.module, [i.finding.module for i in f.instances])
        ...  for f in shapecheck.check(net, (1, 8, 4, 4)).findings]
        [('SC101', '0', ['0', '2'])]
    """
    add_findings = {f.node: f for f in findings if _is_add_error(f) and f.node}
    cascade_of = _cascades(findings, gm, add_findings)
    groups: dict[tuple, list[Finding]] = {}
    for finding in findings:
        if finding.node in add_findings:
            groups.setdefault(_signature(finding, model), []).append(finding)
    merged: dict[int, Finding] = {}  # id of a group's first finding -> the merged one
    absorbed: set[int] = set()
    for members in _whole_classes(groups.values(), model):
        lead = members[0]
        places = []  # in graph order, as the findings are
        for finding in findings:
            owner = cascade_of.get(id(finding))
            if any(finding is m for m in members):
                places.append(_instance(finding, "add"))
            elif owner is not None and any(owner is m for m in members):
                places.append(_instance(finding, "cascade"))
                absorbed.add(id(finding))
        if len(places) == 1:
            continue
        absorbed |= {id(f) for f in members[1:]}
        merged[id(lead)] = dataclasses.replace(
            lead, instances=tuple(places), block_class=_block_class(model, lead.module)
            if len(members) > 1 else None)
    return [merged.get(id(f), f) for f in findings if id(f) not in absorbed]


def _whole_classes(groups, model: nn.Module) -> list[list[Finding]]:
    """Groups whose class fails at every instance; where some instances are right, their
    arguments differ, and each failing one is its own cause (a flag passed at two call
    sites), so it stands alone."""
    kept = []
    for members in groups:
        block = find_module([model], members[0].module)
        count = sum(type(m) is type(block) for m in model.modules())
        kept += [members] if len(members) >= count else [[f] for f in members]
    return kept


def _is_add_error(finding: Finding) -> bool:
    return finding.is_error and finding.code.startswith("SC1") and len(finding.shapes) == 2


def _signature(finding: Finding, model: nn.Module) -> tuple:
    """What "failing the same way" means: same code, same block class, and per axis the
    same width ratio or the same direction of a size difference (a block with no class of
    its own, or the model itself, stands alone)."""
    block = find_module([model], finding.module)
    if block is None or not finding.module or type(block) in _CONTAINERS:
        return ("alone", id(finding))
    main, shortcut = finding.shapes
    if finding.kind == SPATIAL_MISMATCH:  # sizes shrink block by block: compare directions
        axes = tuple((m > s) - (m < s) if m and s else None
                     for m, s in zip(main or (), shortcut or ()))
    else:  # widths: the same factor at every instance (planes * 2 where planes is meant)
        axes = tuple(Fraction(m, s) if m and s else None
                     for m, s in zip(main or (), shortcut or ()))
    return (finding.code, type(block), axes[1:])  # the batch axis never differs


_CONTAINERS = (nn.Sequential, nn.ModuleList, nn.ModuleDict)


def _cascades(findings: Sequence[Finding], gm: fx.GraphModule,
              add_findings: dict[str, Finding]) -> dict[int, Finding]:
    """Layer errors caused by a failing add: id(layer finding) -> the add's finding."""
    nodes = {n.name: n for n in gm.graph.nodes}
    owners: dict[int, Finding] = {}
    for finding in findings:
        if finding.kind != LAYER_MISMATCH or finding.node not in nodes:
            continue
        source = _upstream_add(nodes[finding.node], add_findings)
        if source is not None and _receives_main_width(finding, source):
            owners[id(finding)] = source
    return owners


def _upstream_add(node: fx.Node, add_findings: dict[str, Finding]) -> Optional[Finding]:
    current = node
    for _ in range(_PASS_THROUGH_HOPS):
        inputs = current.all_input_nodes
        if len(inputs) != 1:
            return None
        current = inputs[0]
        if current.name in add_findings:
            return add_findings[current.name]
    return None


def _receives_main_width(layer: Finding, add: Finding) -> bool:
    """The layer got the add's main-branch channels and wants its shortcut's: had the add
    been right, the layer would have been too."""
    received = layer.shapes[0] if layer.shapes else None
    main, shortcut = add.shapes
    if not received or not main or not shortcut or len(received) < 2 or len(main) < 2:
        return False
    expected = layer.shapes[1] if len(layer.shapes) > 1 else None
    wants_shortcut = expected is None or len(expected) < 2 or expected[1] in (None, shortcut[1])
    return received[1] == main[1] != shortcut[1] and wants_shortcut


def _instance(finding: Finding, role: str) -> Instance:
    return Instance(role, finding)


def _block_class(model: nn.Module, path: str) -> Optional[BlockClass]:
    block = find_module([model], path)
    if block is None:
        return None
    cls = type(block)
    source = class_source(cls)
    if source is None or not is_user_file(source[0]):
        return BlockClass(cls.__qualname__, None)
    return BlockClass(cls.__qualname__, Location(display_path(source[0]), source[1]))
