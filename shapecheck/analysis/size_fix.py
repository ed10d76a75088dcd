"""The weight-keeping fix for a resolution-dependent residual add, proved at every size.

A residual add that works at one input size and fails at others has branches that round
differently: typically a floor-mode pool on the shortcut against a padded strided conv on
the main branch (which rounds up). Rounding the same way needs no new weights: the pool
gets `ceil_mode=True` (an average pool also `count_include_pad=False`, as timm's ResNet-D
shortcut has it), or a strided conv's padding changes. Each candidate is applied to the
graph's layers for the length of one proof (`prove_sizes`) and undone; the one that leaves
no residual add failing at any size, with the most valid sizes, is proposed. A projection
(new weights) is only the fallback, and is not proposed here.

`valid_after` re-proves a whole (patched) model: what the source-level repair calls.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Iterator, Optional, Sequence

import torch.fx as fx
import torch.nn as nn

from shapecheck.analysis.size_sets import contains
from shapecheck.analysis.sizes import prove_sizes
from shapecheck.graph.residual import ResidualStructure

_POOLS = (nn.MaxPool1d, nn.MaxPool2d, nn.MaxPool3d, nn.AvgPool1d, nn.AvgPool2d, nn.AvgPool3d)
_CONVS = (nn.Conv1d, nn.Conv2d, nn.Conv3d)
_SCORED = 2048  # sizes above the range's start counted to rank candidates
_PADDING_TRIES = 6  # one proof each: the convs nearest the failing adds' forks first


@dataclass(frozen=True)
class SizeFix:
    """A change of layer settings (`changes`: module path -> {attribute: value}) and the
    valid sizes it gives, per axis, as `prove_sizes` returns them."""

    kind: str  # "ceil_mode" or "padding"
    changes: dict
    code: str
    sizes: dict

    @property
    def layers(self) -> tuple[str, ...]:
        return tuple(self.changes)


def failing_adds(sizes: dict, residual: set[str]) -> list[dict]:
    """The failing classes of `prove_sizes` output whose first failure is a residual add.

    >>> failing_adds({"H": {"failing": [{"node": "add", "kind": "spatial_mismatch"},
    ...                                 {"node": "fc", "kind": "layer_mismatch"}]}}, {"add"})
    [{'node': 'add', 'kind': 'spatial_mismatch'}]
    """
    return [c for axis in sizes.values() if isinstance(axis, dict)
            for c in axis.get("failing", []) if c["node"] in residual]


def propose_size_fix(gm: fx.GraphModule, prop, structures: Sequence[ResidualStructure],
                     kept: dict[str, int], input_shapes, tracer: Optional[str],
                     sizes: dict, ranges: Optional[dict] = None,
                     budget: Optional[float] = None) -> Optional[SizeFix]:
    """The weight-keeping change after which no residual add fails at any size, or None.

    Example:
        >>> import torch, torch.nn as nn, torch.fx as fx
        >>> from shapecheck.analysis.propagate import propagate_shapes
        >>> from shapecheck.graph.residual import find_residual_adds
        >>> class Net(nn.Module):
        ...     def __init__(self):
        ...         super().__init__()
        ...         self.conv = nn.Conv2d(4, 4, 3, stride=2, padding=1)
        ...         self.pool = nn.MaxPool2d(2, stride=2)
        ...     def forward(self, x):
        ...         return self.conv(x) + self.pool(x)
        >>> gm = fx.symbolic_trace(Net())
        >>> prop = propagate_shapes(gm, [torch.empty(1, 4, 16, 16)])
        >>> s = find_residual_adds(gm)
        >>> kept = {a.add.name: a.main_operand for a in s}
        >>> before = prove_sizes(gm, prop, s, kept, [(1, 4, 16, 16)], "fx")
        >>> fix = propose_size_fix(gm, prop, s, kept, [(1, 4, 16, 16)], "fx", before)
        >>> fix.kind, fix.code, fix.sizes["H"]["valid"], gm.pool.ceil_mode
        ('ceil_mode', 'pool = nn.MaxPool2d(2, ceil_mode=True)', [[1, None, 1]], False)
    """
    by_add = {s.add.name: s for s in structures}
    bad = failing_adds(sizes, set(by_add))
    if not bad:
        return None
    branches = [n for c in bad for s in [by_add[c["node"]]]
                for n in s.main_branch + s.shortcut_branch]
    baseline = _score(sizes, set(by_add))
    best: Optional[tuple] = None
    for kind, changes in _candidates(gm, branches):
        if best is not None and kind != best[1]:
            break  # a pool that rounds up is the change to propose; paddings only without
        with _applied(gm, changes):
            after = prove_sizes(gm, prop, structures, kept, input_shapes, tracer, ranges,
                                budget)
        score = _score(after, set(by_add))
        if score[0] and score > baseline and (best is None or score > best[0]):
            best = (score, kind, changes, after)
    if best is None:
        return None
    _, kind, changes, after = best
    code = "\n".join(f"{path} = {_constructor(gm.get_submodule(path), change)}"
                     for path, change in changes.items())
    return SizeFix(kind, changes, code, after)


def valid_after(model: nn.Module, inputs: Any, ranges: Optional[dict] = None,
                tracer: str = "auto") -> dict:
    """The valid input sizes of a (patched) model, proved: `prove_sizes` after tracing and
    propagating it at the example `inputs` (a shape or tensors); no budget.

    Example:
        >>> import torch.nn as nn
        >>> net = nn.Sequential(nn.Conv2d(3, 8, 3, stride=2, padding=1), nn.MaxPool2d(2))
        >>> valid_after(net, (1, 3, 32, 32))["H"]["valid"]
        [[3, None, 1]]
    """
    from shapecheck.analysis import intent
    from shapecheck.analysis.propagate import propagate_shapes
    from shapecheck.graph.residual import find_residual_adds
    from shapecheck.graph.trace import trace_model
    from shapecheck.load.inputs import example_tensors

    tensors, _ = example_tensors(model, inputs)
    traced = trace_model(model, tensors, tracer, ())
    gm = traced.graph_module
    structures = find_residual_adds(gm)
    prop = propagate_shapes(gm, tensors, intent.kept_operands(structures, {}))
    kept = intent.kept_operands(structures, intent.choose_sides(gm, structures, prop))
    prop = propagate_shapes(gm, tensors, kept)
    return prove_sizes(gm, prop, structures, kept, [tuple(t.shape) for t in tensors],
                       traced.tracer, ranges)


def _candidates(gm: fx.GraphModule, branches: Sequence[fx.Node]) -> Iterator[tuple[str, dict]]:
    """Pools first: a floor-mode pool configuration met in the failing branches, changed
    wherever the graph has it (one constructor line in the source usually makes them all,
    shortcuts and the branches feeding a concatenation alike); then strided convs'
    paddings, one conv at a time."""
    signatures: list[tuple] = []
    convs: dict[str, nn.Module] = {}
    for node in branches:
        if node.op != "call_module":
            continue
        module = gm.get_submodule(node.target)
        if type(module) in _POOLS and not module.ceil_mode:
            if _signature(module) not in signatures:
                signatures.append(_signature(module))
        elif type(module) in _CONVS and isinstance(module.padding, tuple) and \
                max(module.stride) > 1:
            convs[str(node.target)] = module
    for signature in signatures:
        changes = {}
        for node in gm.graph.nodes:
            module = gm.get_submodule(node.target) if node.op == "call_module" else None
            if type(module) in _POOLS and not module.ceil_mode and \
                    _signature(module) == signature:
                change = {"ceil_mode": True}
                if isinstance(module, (nn.AvgPool1d, nn.AvgPool2d, nn.AvgPool3d)):
                    change["count_include_pad"] = False
                changes[str(node.target)] = change
        yield "ceil_mode", changes
    tried = 0
    for path, conv in convs.items():
        for delta in (1, -1):
            padding = tuple(max(0, p + delta) for p in conv.padding)
            if padding != conv.padding and tried < _PADDING_TRIES:
                tried += 1
                yield "padding", {path: {"padding": padding}}


def _signature(module: nn.Module) -> tuple:
    return (type(module), module.kernel_size, module.stride, module.padding,
            getattr(module, "dilation", 1))


@contextmanager
def _applied(gm: fx.GraphModule, changes: dict) -> Iterator[None]:
    """The layer settings changed in place for the length of one proof, then restored."""
    saved = []
    try:
        for path, change in changes.items():
            module = gm.get_submodule(path)
            for name, value in change.items():
                saved.append((module, name, getattr(module, name)))
                setattr(module, name, value)
        yield
    finally:
        for module, name, value in reversed(saved):
            setattr(module, name, value)


def _score(sizes: dict, residual: set[str]) -> tuple[bool, int]:
    """(no residual add fails at any size, valid sizes among the first few thousand)."""
    axes = [a for a in sizes.values() if isinstance(a, dict)]
    count = 0
    for axis in axes:
        lo, hi = axis["range"]
        top = lo + _SCORED if hi is None else min(hi + 1, lo + _SCORED)
        count += sum(contains(axis["valid"], n) for n in range(lo, top))
    return not failing_adds(sizes, residual) and bool(axes), count


def _constructor(module: nn.Module, change: dict) -> str:
    """The layer's constructor call with the change, arguments at their defaults left out."""
    name = type(module).__name__
    if type(module) in _POOLS:
        args = [_plain(module.kernel_size)]
        stride = module.stride or module.kernel_size
        if stride != module.kernel_size:
            args.append(f"stride={_plain(stride)}")
        if _plain(module.padding) != "0":
            args.append(f"padding={_plain(module.padding)}")
        if _plain(getattr(module, "dilation", 1)) != "1":
            args.append(f"dilation={_plain(module.dilation)}")
        settings = {"ceil_mode": module.ceil_mode,
                    "count_include_pad": getattr(module, "count_include_pad", True), **change}
        if settings["ceil_mode"]:
            args.append("ceil_mode=True")
        if isinstance(module, (nn.AvgPool1d, nn.AvgPool2d, nn.AvgPool3d)) and \
                not settings["count_include_pad"]:
            args.append("count_include_pad=False")
        return f"nn.{name}({', '.join(args)})"
    padding = change.get("padding", module.padding)
    args = [str(module.in_channels), str(module.out_channels), _plain(module.kernel_size),
            f"stride={_plain(module.stride)}", f"padding={_plain(padding)}"]
    if _plain(module.dilation) != "1":
        args.append(f"dilation={_plain(module.dilation)}")
    if module.groups != 1:
        args.append(f"groups={module.groups}")
    if module.bias is None:
        args.append("bias=False")
    return f"nn.{name}({', '.join(args)})"


def _plain(value: Any) -> str:
    """An int-or-tuple argument as written: 2 for (2, 2)."""
    if isinstance(value, (tuple, list)):
        return str(value[0]) if len(set(value)) == 1 else str(tuple(value))
    return str(value)


__all__ = ["SizeFix", "propose_size_fix", "valid_after", "failing_adds"]
