"""Rules that turn propagated shapes into findings.

Residual adds are compared shape against shape, never by waiting for an exception: a
stride-2 identity on a 2x2 map computes `[1,16,1,1] + [1,16,2,2]` without error. Spatial
broadcasts that are by design (a pooled `[N,C,1,1]` context added back, relative-position
terms that expand on both sides) are told apart from accidents by a probe at twice the
input size: by design the size-1 operand stays size 1; by accident the add breaks.
"""

from __future__ import annotations

import re

from dataclasses import dataclass, field
from typing import Callable, Optional

import torch.fx as fx
import torch.nn as nn

from shapecheck.codes import code_for
from shapecheck.analysis.batch_merge import merged_batch_hint
from shapecheck.analysis.input_rank import rank_hint
from shapecheck.analysis.intent import Consumer, width_setters
from shapecheck.ops.families import family_of
from shapecheck.ops.layout import Layout, layout_of, spatial_text
from shapecheck.messages import text
from shapecheck.analysis.propagate import Propagation
from shapecheck.report import Finding, Location, format_shape
from shapecheck.graph.residual import ResidualStructure, channels_first
from shapecheck.graph.vocabulary import add_operands, call_name, module_of
from shapecheck.graph.source import layer_path, node_location, owner_module

Shape = tuple[int, ...]


@dataclass
class Context:
    """What the rules read: the graph, its shapes, and a lazily computed probe pass."""

    gm: fx.GraphModule
    prop: Propagation
    probe: Callable[[], Optional[Propagation]]
    lang: str = "en"
    # failed adds whose later layers expect the shortcut's width (intent.py), with them
    wrong_branch: dict[str, list[Consumer]] = field(default_factory=dict)

    def shape(self, node: fx.Node) -> Optional[Shape]:
        return self.prop.shape(node.name)

    def module(self, node: fx.Node) -> Optional[nn.Module]:
        return module_of(self.gm, node)

    def text(self, key: str, **values) -> str:
        return text(key, self.lang, **values)

    def where(self, shape: Shape, layout: Layout) -> str:
        """The spatial size of `shape` in words ("56x56", "197 tokens")."""
        return spatial_text(shape, layout, self.lang)


def _finding(kind: str, message: str, node: fx.Node, module: str, shapes, causes=()) -> Finding:
    code = code_for(kind)
    return Finding(code.code, kind, code.severity, message, module, node_location(node),
                   tuple(shapes), None, node.name, tuple(causes))


def check_residual_add(ctx: Context, s: ResidualStructure) -> Optional[Finding]:
    """The finding for one residual add, or None when its operands agree (or by design)."""
    main_node, short_node = _operands(s)
    main, short = ctx.shape(main_node), ctx.shape(short_node)
    if main is None or short is None or main == short:
        return None
    if len(main) != len(short):
        return _rank_mismatch(ctx, s, main, short)
    layout = layout_of(main, channels_first(ctx.gm, s))
    module = owner_module(s.add)
    failure = ctx.prop.results[s.add.name].failure
    raised = failure is not None and failure.kind == "add"
    main_channels, shortcut_channels = layout.channels(main), layout.channels(short)
    causes = explain(ctx, s, layout)
    kind_word = ctx.text(f"kind.{s.shortcut}")
    unit_key = "channels" if layout.name not in ("tokens", "features") else "features"
    unit = ctx.text(f"unit.{unit_key}")
    where = module or ctx.text("top")
    if main_channels != shortcut_channels:
        if 1 in (main_channels, shortcut_channels) and not raised:
            side = "main" if main_channels == 1 else "shortcut"
            message = ctx.text("add.broadcast", module=where, side=ctx.text(f"side.{side}"),
                            other=ctx.text("side.shortcut" if side == "main" else "side.main"),
                            unit_one=ctx.text(f"unit.{unit_key[:-1]}"), n=max(main_channels, shortcut_channels), unit=unit,
                            main_shape=format_shape(main), shortcut_shape=format_shape(short))
            return _finding("broadcast", message, s.add, module, (main, short), causes)
        key = "add.channel" if layout.spatial_dims else "add.channel_flat"
        message = ctx.text(key, module=where, main_channels=main_channels,
                           shortcut_channels=shortcut_channels, unit=unit, kind=kind_word,
                           main_size=ctx.where(main, layout), shortcut_size=ctx.where(short, layout))
        return _finding("channel_mismatch", message, s.add, module, (main, short), causes)
    if raised:
        message = ctx.text("add.spatial", module=where, main_size=ctx.where(main, layout),
                           shortcut_size=ctx.where(short, layout), kind=kind_word,
                           main_channels=main_channels, unit=unit)
        return _finding("spatial_mismatch", message, s.add, module, (main, short), causes)
    return _check_spatial_broadcast(ctx, s, layout, main, short, where, module, kind_word, causes)


def _rank_mismatch(ctx: Context, s: ResidualStructure, main: Shape,
                   short: Shape) -> Optional[Finding]:
    """Operands of different ranks (an N x C context added to an N x C x H x W map): a
    finding when the add raises; a silent broadcast between ranks is left alone."""
    failure = ctx.prop.results[s.add.name].failure
    if failure is None or failure.kind != "add":
        return None
    module = owner_module(s.add)
    low, high = sorted((main, short), key=len)
    same_channels = len(low) >= 2 and len(high) >= 2 and low[1] == high[1]
    hint = ""
    if same_channels and len(high) > len(low):
        index = "[" + ", ".join([":"] * len(low) + ["None"] * (len(high) - len(low))) + "]"
        hint = f"; to add a per-channel vector to a feature map, index it as x{index}"
    message = (f"residual add in {module or ctx.text('top')}: the main branch is "
               f"{len(main)}-d ({format_shape(main)}) but the shortcut is {len(short)}-d "
               f"({format_shape(short)}), and the add raises{hint}")
    kind = "spatial_mismatch" if same_channels else "channel_mismatch"
    return _finding(kind, message, s.add, module, (main, short))


def _check_spatial_broadcast(ctx, s, layout: Layout, main, short, where, module, kind_word,
                             causes) -> Optional[Finding]:
    main_ones = [d for d in layout.spatial_dims if main[d] == 1 and short[d] != 1]
    short_ones = [d for d in layout.spatial_dims if short[d] == 1 and main[d] != 1]
    if not main_ones and not short_ones:
        return None  # only the batch dim differs
    if main_ones and short_ones:
        return None  # both sides expand: an outer sum (relative-position terms)
    probe = ctx.probe()
    main_node, short_node = _operands(s)
    probe_main = probe.shape(main_node.name) if probe else None
    probe_short = probe.shape(short_node.name) if probe else None
    probe_failed_before = probe is not None and _failed_before(ctx, probe, s.add)
    if probe_main is not None and probe_short is not None and not probe_failed_before:
        small = probe_main if main_ones else probe_short
        ones = main_ones or short_ones
        if all(small[d] == 1 for d in ones):
            return None  # stays size 1 at any size: a pooled context, by design
        message = ctx.text("add.spatial_silent", module=where, main_size=ctx.where(main, layout),
                           shortcut_size=ctx.where(short, layout), kind=kind_word,
                           probe_main=format_shape(probe_main),
                           probe_shortcut=format_shape(probe_short))
        return _finding("spatial_mismatch", message, s.add, module, (main, short), causes)
    side = "main" if main_ones else "shortcut"
    small, big = (main, short) if main_ones else (short, main)
    message = ctx.text("add.suspicious", module=where, side=ctx.text(f"side.{side}"),
                    small=format_shape(small), big=format_shape(big))
    return _finding("suspicious_broadcast", message, s.add, module, (main, short), causes)


def _failed_before(ctx: Context, probe: Propagation, add: fx.Node) -> bool:
    """A probe failure upstream of `add` (other than a residual add) voids its verdict."""
    for node in ctx.gm.graph.nodes:
        if node is add:
            return False
        failure = probe.results.get(node.name)
        if failure is not None and failure.failure is not None and failure.failure.kind != "add":
            return True
    return False


def _operands(s: ResidualStructure) -> tuple[fx.Node, fx.Node]:
    a, b = add_operands(s.add)  # type: ignore[misc]
    return (a, b) if s.main_operand == 0 else (b, a)


def explain(ctx: Context, s: ResidualStructure, layout: Layout) -> list[str]:
    """Which layers changed the shape on each branch, relative to the block's module."""
    prefix = owner_module(s.add)
    unit = ctx.text("unit.channels" if layout.name not in ("tokens", "features") else "unit.features")
    main_node = _operands(s)[0]
    rank = len(ctx.shape(main_node) or ())
    fork_shape = ctx.shape(s.fork)
    notes = _main_branch_changes(ctx, s, prefix, layout, unit, rank)
    if not s.shortcut_branch and fork_shape is not None and len(fork_shape) == rank:
        notes.append(ctx.text("cause.identity", c=layout.channels(fork_shape), unit=unit,
                           s=ctx.where(fork_shape, layout) or "-"))
    else:
        changes = collapse_repeats([text for _, text in _branch_changes(
            ctx, s.shortcut_branch, prefix, layout, unit, rank)])
        if not changes and fork_shape is not None and len(fork_shape) == len(layout.spatial_dims) + (
                2 if layout.name != "features" else 1):
            notes.append(ctx.text("cause.shortcut_keeps", c=layout.channels(fork_shape), unit=unit,
                               s=ctx.where(fork_shape, layout) or "-"))
        notes.extend(changes)
    later = ctx.wrong_branch.get(s.add.name)
    if later:
        names = ", ".join(f"{layer_path(c.node)}: " + (type(c.module).__name__ if c.module else
                                                         call_name(c.node)) for c in later[:3])
        notes.append(ctx.text("cause.consumers", c=later[0].width, unit=unit, layers=names))
    elif s.add.name in ctx.wrong_branch and fork_shape is not None:
        notes.append(ctx.text("cause.narrowed", c=layout.channels(fork_shape), unit=unit))
    return notes


def _main_branch_changes(ctx: Context, s: ResidualStructure, prefix: str, layout: Layout,
                         unit: str, rank: int) -> list[str]:
    """The main branch's changes; where its channel changes do not add up to its final
    width (attention re-views its tensors), the layer that set that width instead."""
    changes = _branch_changes(ctx, s.main_branch, prefix, layout, unit, rank)
    main_node = _operands(s)[0]
    final = ctx.shape(main_node)
    widths = [width for width, _ in changes if width is not None]
    if final is not None and widths and widths[-1] != layout.channels(final):
        setters = width_setters(ctx.gm, main_node, ctx.shape, layout.channel_dim)
        if setters:
            layer = setters[-1]
            changes = [c for c in changes if c[0] is None]
            changes.append((None, ctx.text("cause.setter", layer=_relative(layer_path(layer), prefix),
                                        type=_describe(ctx.module(layer)), unit=unit,
                                        c=layout.channels(final))))
    return collapse_repeats([text for _, text in changes])


# Steps that only rearrange or re-view a tensor: their dims do not mean channels or space.
_REARRANGE = frozenset({
    "transpose", "permute", "view", "reshape", "flatten", "unflatten", "contiguous", "squeeze",
    "unsqueeze", "expand", "expand_as", "repeat", "movedim", "moveaxis", "swapaxes", "swapdims",
    "t", "chunk", "split", "tensor_split", "split_with_sizes", "getitem", "narrow", "select",
    "unbind", "view_as", "reshape_as"})


def _branch_changes(ctx: Context, branch, prefix: str, layout: Layout, unit: str,
                    rank: int) -> list[tuple[Optional[int], str]]:
    """(new channel count or None, note) for each step of `branch` that changes the
    channels or the spatial size of a tensor of the add's rank."""
    notes: list[tuple[Optional[int], str]] = []
    for node in branch:
        if node.op not in ("call_module", "call_function", "call_method"):
            continue
        if node.op != "call_module" and call_name(node) in _REARRANGE:
            continue
        out = ctx.shape(node)
        inputs = [n for n in node.all_input_nodes if ctx.shape(n) is not None]
        if out is None or not inputs:
            continue
        before = ctx.shape(inputs[0])
        if before is None or len(before) != rank or len(out) != rank or max(
                layout.spatial_dims + (layout.channel_dim,)) >= len(out):
            continue
        name = _relative(layer_path(node) if node.op == "call_module" else node.name, prefix)
        merges = node.op == "call_function" and call_name(node) in ("cat", "concat", "stack")
        built_for = _expected_channels(ctx, node, layout)
        if built_for is not None and built_for != layout.channels(before):
            # a layer built for other inputs does not "change" the channels: it receives
            # the wrong number, and saying so points at the layer to fix
            notes.append((layout.channels(out), ctx.text(
                "cause.receives", layer=name, unit=unit, a=layout.channels(before),
                want=built_for, b=layout.channels(out))))
        elif layout.channels(before) != layout.channels(out) and not merges:
            notes.append((layout.channels(out), ctx.text(
                "cause.channels", layer=name, unit=unit, a=layout.channels(before),
                b=layout.channels(out))))
        sb, so = layout.spatial(before), layout.spatial(out)
        if sb != so:
            key = "cause.stride" if all(a >= b for a, b in zip(sb, so)) else "cause.upsample"
            notes.append((None, ctx.text(key, layer=name, a=ctx.where(before, layout),
                                      b=ctx.where(out, layout))))
    return notes


def _expected_channels(ctx: Context, node: fx.Node, layout: Layout) -> Optional[int]:
    """The input channels a layer that failed on its input was built for, else None."""
    result = ctx.prop.results.get(node.name)
    failure = result.failure if result is not None else None
    if failure is None or failure.kind != "layer" or failure.expectation is None:
        return None
    want = failure.expectation
    return want.size if want.dim == layout.channel_dim else None


def collapse_repeats(notes: list[str]) -> list[str]:
    """Fold runs of notes that differ only in a layer index ("convs.0" ... "convs.31").

    >>> collapse_repeats(["g.convs.0 downsamples 4x4 -> 2x2", "g.convs.1 downsamples 4x4 -> 2x2"])
    ['g.convs.0-1 downsamples 4x4 -> 2x2']
    """
    folded: list[str] = []
    run: list[tuple[str, int, str]] = []

    def flush() -> None:
        if len(run) > 1:
            head, first, rest = run[0]
            folded.append(f"{head}{first}-{run[-1][1]}{rest}")
        elif run:
            folded.append(f"{run[0][0]}{run[0][1]}{run[0][2]}")
        run.clear()

    for note in notes:
        match = _INDEXED.match(note)
        if match is None:
            flush()
            folded.append(note)
            continue
        item = (match.group(1), int(match.group(2)), match.group(3))
        if run and (run[-1][0], run[-1][2]) == (item[0], item[2]) and run[-1][1] + 1 == item[1]:
            run.append(item)
        else:
            flush()
            run.append(item)
    flush()
    return folded


_INDEXED = re.compile(r"^(\S*?\.)(\d+)(\s.*)$")


def _relative(path: str, prefix: str) -> str:
    if prefix and path.startswith(prefix + "."):
        return path[len(prefix) + 1:]
    return path


def check_failures(ctx: Context, residual_adds: set[str]) -> list[Finding]:
    """Findings for layers and operations that failed during propagation.

    Residual adds are judged by `check_residual_add`; cascades ("skipped") are not
    findings of their own.
    """
    findings = []
    for node in ctx.gm.graph.nodes:
        result = ctx.prop.results.get(node.name)
        failure = result.failure if result else None
        if failure is None or failure.kind in ("skipped", "unsupported") or node.name in residual_adds:
            continue
        if failure.kind == "layer" and failure.expectation is not None:
            module = ctx.module(node)
            want = failure.expectation
            got = failure.operand_shapes[0]
            expected = list(got)
            expected[want.dim] = want.size
            message = ctx.text("layer", layer=layer_path(node), type=_describe(module),
                            want=want.size, what=ctx.text(f"unit.{want.what}"),
                            got=got[want.dim], shape=format_shape(got))
            hint = merged_batch_hint(node, got, ctx.lang)
            message = message if hint is None else f"{message}; {hint}"
            findings.append(_finding("layer_mismatch", message, node, layer_path(node),
                                     (got, tuple(expected))))
            continue
        module = owner_module(node)
        message = ctx.text("op", op=_op_name(node), module=module or ctx.text("top"),
                        error=failure.message)
        findings.append(_finding("op_failure", message, node, module, failure.operand_shapes))
    return findings


def _describe(module: Optional[nn.Module]) -> str:
    # the layer as its family describes it (ops/families.py): "Conv2d 3x3/2, 64->128"
    if module is None:
        return "?"
    family = family_of(module)
    return family.describe(module) if family is not None else type(module).__name__


def _op_name(node: fx.Node) -> str:
    target = node.target
    name = target if isinstance(target, str) else getattr(target, "__name__", str(target))
    return f"{name} ({node.name})"


def input_error(ctx: Context, findings: list[Finding]) -> Optional[Finding]:
    """The first error on a layer fed directly by a model input: the input is what is wrong.

    A channel count that does not fit arrives as a layer mismatch; a wrong rank (a 5-d
    tensor for a Conv2d) as an operation failure on that layer. Both are the input's fault.
    """
    nodes = {n.name: n for n in ctx.gm.graph.nodes}
    for finding in findings:
        node = nodes.get(finding.node or "")
        if node is None or node.op != "call_module" or finding.kind not in (
                "layer_mismatch", "op_failure"):
            continue
        if any(n.op == "placeholder" for n in node.all_input_nodes):
            return finding
    return None


def input_message(ctx: Context, finding: Finding) -> str:
    """The one-paragraph text of an input that does not fit the first layer."""
    node = next(n for n in ctx.gm.graph.nodes if n.name == finding.node)
    failure = ctx.prop.results[node.name].failure
    want = failure.expectation
    got = failure.operand_shapes[0] if failure.operand_shapes else None
    hint = rank_hint(ctx.module(node), got, ctx.lang)  # a dimension missing or extra
    if want is None or got is None:
        message = ctx.text("input_other", shape=format_shape(got), layer=layer_path(node),
                           type=_describe(ctx.module(node)), error=failure.message)
    else:
        message = ctx.text("input", shape=format_shape(got), layer=layer_path(node),
                           type=_describe(ctx.module(node)), want=want.size,
                           what=ctx.text(f"unit.{want.what}"), dim=want.dim, got=got[want.dim])
    return message if hint is None else f"{message}; {hint}"


def residual_rule(ctx: Context, structures: list[ResidualStructure]) -> list[Finding]:
    """Rule: each residual add whose operands disagree (or broadcast by accident)."""
    return [f for f in (check_residual_add(ctx, s) for s in structures) if f is not None]


def failure_rule(ctx: Context, structures: list[ResidualStructure]) -> list[Finding]:
    """Rule: each other layer or operation that failed during propagation."""
    return check_failures(ctx, {s.add.name for s in structures})


# The rules `check` runs, in order; a new finding kind adds its rule here.
RULES = (residual_rule, failure_rule)


def in_graph_order(gm: fx.GraphModule, findings: list[Finding]) -> list[Finding]:
    """Findings sorted by where their node sits in the graph (stable for equals)."""
    order = {n.name: i for i, n in enumerate(gm.graph.nodes)}
    return sorted(findings, key=lambda f: order.get(f.node or "", -1))


def unsupported_note(prop: Propagation) -> Optional[str]:
    """The note for operations that need real tensor values (None when there are none)."""
    unsupported = [n for n, f in prop.failures.items() if f.kind == "unsupported"]
    if not unsupported:
        return None
    return (f"{len(unsupported)} operation(s) need real tensor values and were not evaluated "
            f"(first: {unsupported[0]}: {prop.failures[unsupported[0]].message}); shapes after "
            f"them are unknown")


__all__ = ["Context", "RULES", "in_graph_order", "unsupported_note", "check_residual_add", "check_failures", "explain", "input_error",
           "input_message", "Location"]
