"""Fixes that repair mismatched residual adds, proven on the traced graph.

For a mismatched add, the fix usually replaces its shortcut by a projection of the block's
input (the fork): a 1x1 convolution with the stride that the main branch applied, then
batch norm (the ResNet paper's option B), or a `Linear` for token tensors. When the layers
after the add expect the shortcut's width instead (see intent.py), the main branch is what
is wrong, and the fix rebuilds its last conv/linear (and the norms after it) at that width.
Either is applied to a copy of the traced graph and shapes are propagated again; a fix is
`verified` when its add is then clean and nothing new broke.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Optional, Sequence

import torch
import torch.fx as fx
import torch.nn as nn

from shapecheck.analysis.assemble import residual_add
from shapecheck.codes import FIXABLE_KINDS
from shapecheck.analysis.intent import ShapeOf, resized, width_setters
from shapecheck.analysis.propagate import propagate_shapes
from shapecheck.graph.residual import channels_first
from shapecheck.ops.families import PROJECTION_LAYERS
from shapecheck.ops.layout import layout_of
from shapecheck.ops.meta import skip_init_on_meta
from shapecheck.report import Finding, Fix, Report, ResidualAdd

Shape = tuple[int, ...]
FIXABLE = FIXABLE_KINDS  # the registry says which kinds get a proposed layer
_CONV = PROJECTION_LAYERS  # per tensor rank: the conv and norm a projection is made of


def projection_stride(fork: tuple[int, ...], main: tuple[int, ...]):
    """The stride taking spatial size `fork` to `main` with a 1x1 conv, or None.

    A 1x1 conv with stride s gives ceil(n / s), as does a padded 3x3 conv: odd sizes work.

    >>> projection_stride((56, 56), (28, 28)), projection_stride((7, 7), (4, 4))
    (2, 2)
    """
    strides = []
    for n, m in zip(fork, main):
        if m <= 0 or m > n:
            return None
        s = max(1, round(n / m))
        if math.ceil(n / s) != m:
            return None
        strides.append(s)
    if not strides:
        return 1
    return strides[0] if len(set(strides)) == 1 else tuple(strides)


def propose_fix(finding: Finding, fork_shape: Optional[Shape], main_shape: Optional[Shape],
                tokens: bool) -> Optional[Fix]:
    """The projection that maps the block's input to the main branch's shape, unverified.

    >>> f = Finding("SC101", "channel_mismatch", "error", "", "layer2.0", None)
    >>> propose_fix(f, (1, 256, 56, 56), (1, 512, 28, 28), tokens=False).code
    'nn.Sequential(nn.Conv2d(256, 512, kernel_size=1, stride=2, bias=False), nn.BatchNorm2d(512))'
    """
    if finding.kind not in FIXABLE or fork_shape is None or main_shape is None:
        return None
    if len(fork_shape) != len(main_shape):
        return None
    layout = layout_of(main_shape, channels_first=not tokens)
    c_in, c_out = layout.channels(fork_shape), layout.channels(main_shape)
    if c_out == 1 and c_in > 1 and finding.kind == "broadcast":
        return None  # the main branch is the odd one out: no shortcut can fix that
    if layout.name in ("tokens", "features"):
        if layout.spatial(fork_shape) != layout.spatial(main_shape):
            return None
        return Fix("linear", c_in, c_out, 1, f"nn.Linear({c_in}, {c_out})")
    stride = projection_stride(layout.spatial(fork_shape), layout.spatial(main_shape))
    if stride is None or len(main_shape) not in _CONV:
        return None
    conv, norm = (cls.__name__ for cls in _CONV[len(main_shape)])
    stride_text = "" if stride == 1 else f", stride={stride}"
    code = (f"nn.Sequential(nn.{conv}({c_in}, {c_out}, kernel_size=1{stride_text}, bias=False), "
            f"nn.{norm}({c_out}))")
    return Fix("projection", c_in, c_out, stride, code)


def propose_resize(gm: fx.GraphModule, main: fx.Node, shape_of: ShapeOf, channel_dim: int,
                   width: int) -> Optional[Fix]:
    """Rebuild the layers that set the main branch's width (ending at `main`) at `width`.

    >>> class Branch(nn.Module):
    ...     def __init__(self):
    ...         super().__init__()
    ...         self.proj = nn.Linear(128, 128)
    ...     def forward(self, x):
    ...         return self.proj(x)
    >>> gm = fx.symbolic_trace(Branch())
    >>> main = next(n for n in gm.graph.nodes if n.op == "call_module")
    >>> propose_resize(gm, main, lambda n: (1, 16, 128), 2, 96).code
    'proj = nn.Linear(128, 96)'
    """
    setters = width_setters(gm, main, shape_of, channel_dim)
    if not setters:
        return None
    forward = list(reversed(setters))
    assignments = []
    for node in forward:
        rebuilt = resized(gm.get_submodule(node.target), width)
        if rebuilt is None:
            return None
        assignments.append(f"{node.target} = {rebuilt[1]}")
    layer = gm.get_submodule(forward[0].target)
    c_in = layer.in_features if isinstance(layer, nn.Linear) else layer.in_channels
    return Fix("resize", c_in, width, 1, "; ".join(assignments),
               layers=tuple(str(n.target) for n in forward))


def fix_module(fix: Fix, rank: int) -> nn.Module:
    """The fix as a module on the meta device (no memory); `rank` of the tensors it maps."""
    with torch.device("meta"), skip_init_on_meta():
        if fix.kind == "linear":
            return nn.Linear(fix.in_channels, fix.out_channels)
        conv, norm = _CONV[rank]
        return nn.Sequential(conv(fix.in_channels, fix.out_channels, kernel_size=1,
                                  stride=fix.stride, bias=False), norm(fix.out_channels))


def insert_fixes(gm: fx.GraphModule, plans: Sequence[tuple[int, Fix, ResidualAdd, int]]
                 ) -> fx.GraphModule:
    """A copy of `gm` with each planned projection feeding its add's shortcut operand.

    `plans` holds (finding index, fix, residual add, tensor rank). Submodules are shared
    with `gm`, so the copy costs no weights.
    """
    graph = fx.Graph()
    mapping: dict[fx.Node, fx.Node] = {}
    output = graph.graph_copy(gm.graph, mapping)
    graph.output(output)
    patched = fx.GraphModule(gm, graph, class_name=type(gm).__name__)
    by_name = {n.name: n for n in graph.nodes}
    for index, fix, residual, rank in plans:
        add, fork = by_name[residual.node], by_name[residual.fork]
        name = f"shapecheck_fix_{index}"
        if not fix.on_shortcut:
            _resize_main_branch(patched, by_name, name, fix, residual)
            continue
        patched.add_submodule(name, fix_module(fix, rank))
        with graph.inserting_after(fork):
            projection = graph.call_module(name, (fork,))
        projection.meta["shapecheck_fix_for"] = residual.node
        projection.meta["nn_module_stack"] = dict(add.meta.get("nn_module_stack", {}))
        shortcut_index = 1 - residual.main_operand
        args = list(add.args)
        args[shortcut_index] = projection
        add.args = tuple(args)
    graph.lint()
    patched.recompile()
    return patched


def _resize_main_branch(patched: fx.GraphModule, by_name: dict[str, fx.Node], name: str,
                        fix: Fix, residual: ResidualAdd) -> None:
    """Point the main branch's calls of `fix.layers` at rebuilt copies (shared calls
    elsewhere keep the original layer)."""
    for j, path in enumerate(fix.layers):
        rebuilt = resized(patched.get_submodule(path), fix.out_channels)
        if rebuilt is None:
            raise ValueError(f"{path} cannot be rebuilt with width {fix.out_channels}")
        patched.add_submodule(f"{name}_{j}", rebuilt[0])
        for node_name in residual.main_branch:
            node = by_name[node_name]
            if node.op == "call_module" and node.target == path:
                node.target = f"{name}_{j}"
                node.meta["shapecheck_fix_for"] = residual.node


def apply_fixes(gm: fx.GraphModule, report: Report,
                findings: Optional[Sequence[Finding]] = None) -> fx.GraphModule:
    """A copy of the traced graph with the fix of each given finding applied.

    Example:
        >>> import shapecheck
        >>> class Bad(nn.Module):
        ...     def __init__(self):
        ...         super().__init__()
        ...         self.conv = nn.Conv2d(4, 8, 3, stride=2, padding=1)
        ...     def forward(self, x):
        ...         return self.conv(x) + x
        >>> report = shapecheck.check(Bad(), (1, 4, 8, 8))
        >>> gm = apply_fixes(report.graph_module, report)
        >>> [n.target for n in gm.graph.nodes if n.op == "call_module"]
        ['shapecheck_fix_0', 'conv']
    """
    every = report.ungrouped().findings  # a grouped finding fixes each add it covers
    chosen = every if findings is None else [x for f in findings for x in f.expanded()]
    adds = {a.node: a for a in report.residual_adds}
    plans = []
    for finding in chosen:
        residual = adds.get(finding.node or "")
        if finding.fix is None or residual is None:
            continue
        index = every.index(finding)
        fork_shape = report.nodes[residual.fork].shape
        plans.append((index, finding.fix, residual, len(fork_shape or ())))
    return insert_fixes(gm, plans)


def fix_findings(ctx, tensors: Sequence[torch.Tensor], kept: dict[str, int],
                 structures, findings: list[Finding]
                 ) -> tuple[list[Finding], Optional[fx.GraphModule]]:
    """Propose a fix for each residual finding and prove it on the patched graph.

    Returns the findings with their fixes (verified or not) and the graph with every fix
    applied (None when nothing could be fixed). A fix is verified only when, after all
    fixes are applied and shapes propagated again, its add is clean and nothing computed
    from it fails.

    Example:
        >>> import shapecheck
        >>> class Bad(nn.Module):
        ...     def __init__(self):
        ...         super().__init__()
        ...         self.conv = nn.Conv2d(4, 8, 3, stride=2, padding=1)
        ...     def forward(self, x):
        ...         return self.conv(x) + x
        >>> [(f.fix.kind, f.fix.verified) for f in shapecheck.check(Bad(), (1, 4, 8, 8)).findings]
        [('projection', True)]
    """
    gm = ctx.gm
    by_add = {s.add.name: s for s in structures}
    plans, proposals = [], {}
    for index, finding in enumerate(findings):
        s = by_add.get(finding.node or "")
        if s is None:
            continue
        main_node = s.add.args[s.main_operand]
        main = ctx.shape(main_node)
        is_channels_first = channels_first(gm, s)
        if s.add.name in ctx.wrong_branch:
            short = ctx.shape(s.add.args[1 - s.main_operand])
            dim = layout_of(main, is_channels_first).channel_dim
            fix = propose_resize(gm, main_node, ctx.shape, dim, short[dim])
        else:
            fix = propose_fix(finding, ctx.shape(s.fork), main, not is_channels_first)
        if fix is None:
            continue
        proposals[index] = fix
        plans.append((index, fix, residual_add(s, ctx.prop, False), len(main)))
    if not plans:
        return findings, None
    patched = insert_fixes(gm, plans)
    after = propagate_shapes(patched, tensors, kept)
    before_failures = {name for name, f in ctx.prop.failures.items() if f.kind not in _QUIET}
    new_failures = {name for name, f in after.failures.items()
                    if f.kind not in _QUIET and name not in before_failures}
    result = list(findings)
    patched_nodes = {n.name: n for n in patched.graph.nodes}
    for index, fix in proposals.items():
        add = patched_nodes[findings[index].node]
        operands = [after.shape(a.name) for a in add.args[:2]]
        clean = (operands[0] is not None and operands[0] == operands[1]
                 and after.results[add.name].failure is None and not new_failures
                 and not _fails_after(add, after))
        result[index] = replace(findings[index], fix=replace(fix, verified=clean))
    return result, patched


# failures that are not errors: cascades after an unknown value, ops that need real values
_QUIET = ("skipped", "unsupported")


def _fails_after(add: fx.Node, prop) -> bool:
    """True when anything computed from `add` still fails: a fix is proven only when the
    rest of the graph then propagates cleanly, not merely past its own add."""
    seen, stack = {add}, list(add.users)
    while stack:
        node = stack.pop()
        if node in seen:
            continue
        seen.add(node)
        result = prop.results.get(node.name)
        if result is not None and result.failure is not None and result.failure.kind not in _QUIET:
            return True
        stack.extend(node.users)
    return False
