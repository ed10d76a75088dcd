"""Which operand of a mismatched residual add carries the width the network means.

The usual bug is a shortcut that was not projected: the main branch changed the width on
purpose and the layers after the add expect that width. The opposite bug is a branch that
comes back at the wrong width (a transformer's attention projecting to its inner width):
then the layers after the add expect the shortcut's width, and the branch is what must
change. The layers after the add decide; with no evidence either way, the main branch wins.

For the second case `width_setters` finds the layers that give the main branch its width
(the last conv or linear, and the norms after it) and `resized` rebuilds them at the
intended width, which is the fix.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Callable, Optional

import torch
import torch.fx as fx
import torch.nn as nn
import torch.nn.functional as F

from shapecheck.graph.residual import channels_first
from shapecheck.ops.layers import expectation
from shapecheck.ops.layout import layout_of
from shapecheck.ops.meta import skip_init_on_meta
from shapecheck.graph.vocabulary import is_add, module_of

Shape = tuple[int, ...]
ShapeOf = Callable[[fx.Node], Optional[Shape]]

# Layers rebuilt at another width: exact classes only, whose constructors are known.
_SETTERS = (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.Linear)
_NORMS = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d, nn.LayerNorm, nn.GroupNorm)
_SEARCH_LIMIT = 256  # nodes visited after an add before giving up on finding its consumers


@dataclass(frozen=True)
class Consumer:
    """A layer reached from an add without a change of width, and the width it expects."""

    node: fx.Node
    module: Optional[nn.Module]  # None for a functional layer (F.batch_norm, ...)
    width: int


def consumers(gm: fx.GraphModule, add: fx.Node, shape_of: ShapeOf,
              channel_dim: int) -> list[Consumer]:
    """The conv, norm and linear layers fed by `add` through width-preserving steps.

    A step preserves the width when its output keeps the size at the channel dim of the
    tensor it received: activations, pooling, dropout, later residual adds, and flattening
    to N,C (a classifier head's avgpool -> flatten -> fc), after which the width is dim 1.

    Example:
        >>> from shapecheck.analysis.propagate import propagate_shapes
        >>> class Net(nn.Module):
        ...     def __init__(self):
        ...         super().__init__()
        ...         self.conv, self.fc = nn.Conv2d(8, 4, 1), nn.Linear(8, 2)
        ...     def forward(self, x):
        ...         return self.fc(torch.relu(self.conv(x) + x).mean((2, 3)))
        >>> gm = fx.symbolic_trace(Net())
        >>> prop = propagate_shapes(gm, [torch.empty(1, 8, 4, 4)], {"add": 0})
        >>> add = next(n for n in gm.graph.nodes if n.name == "add")
        >>> [(str(c.node.target), c.width) for c in consumers(gm, add, lambda n: prop.shape(n.name), 1)]
        [('fc', 8)]
    """
    found: list[Consumer] = []
    seen = {add}
    queue = deque([(add, channel_dim)])
    while queue and len(seen) < _SEARCH_LIMIT:
        node, dim = queue.popleft()
        shape = shape_of(node)
        if shape is None or dim >= len(shape):
            continue
        for user in node.users:
            if user in seen or user.op == "output":
                continue
            seen.add(user)
            module = module_of(gm, user)
            if module is not None and user.args and user.args[0] is node:
                want = expectation(module, torch.empty(shape, device="meta"))
                if want is not None:
                    if want.dim == dim:
                        found.append(Consumer(user, module, want.size))
                    continue
            if user.op == "call_function" and user.args and user.args[0] is node:
                wanted = functional_expectation(user, shape_of, len(shape))
                if wanted is not None:
                    if wanted[0] == dim:
                        found.append(Consumer(user, None, wanted[1]))
                    continue
            after = shape_of(user)
            if after is None:
                continue
            if len(after) == len(shape) and after[dim] == shape[dim]:
                queue.append((user, dim))
            elif len(after) == 2 and after[1] == shape[dim]:
                queue.append((user, 1))
    return found


_CONVS = frozenset({F.conv1d, F.conv2d, F.conv3d})


def functional_expectation(node: fx.Node, shape_of: ShapeOf,
                           rank: int) -> Optional[tuple[int, int]]:
    """(dim, size) that a functional layer (`F.conv2d`, `F.batch_norm`, `F.group_norm`,
    `F.layer_norm`, `F.linear`) expects of its input, read off its weight's shape. Layers
    traced into their functional form (timm's BatchNormAct2d, StdConv2d) are seen so.

    Example:
        >>> gm = fx.symbolic_trace(lambda x, w: F.linear(x, w))
        >>> call = next(n for n in gm.graph.nodes if n.op == "call_function")
        >>> functional_expectation(call, lambda n: (3, 5) if n.name == "w" else None, 2)
        (1, 5)
    """
    def arg(index: int, name: str):
        return node.args[index] if len(node.args) > index else node.kwargs.get(name)

    def width(value, axis: int) -> Optional[int]:
        shape = shape_of(value) if isinstance(value, fx.Node) else None
        return shape[axis] if shape else None

    target = node.target
    if target in _CONVS:
        w, groups = width(arg(1, "weight"), 1), arg(6, "groups") or 1
        return (1, w * groups) if w is not None and isinstance(groups, int) else None
    if target is F.batch_norm:
        w = width(arg(1, "running_mean"), 0) or width(arg(3, "weight"), 0)
        return (1, w) if w is not None else None
    if target is F.group_norm:
        w = width(arg(2, "weight"), 0)
        return (1, w) if w is not None else None
    if target is F.linear:
        w = width(arg(1, "weight"), 1)
        return (rank - 1, w) if w is not None else None
    if target is F.layer_norm:
        normalized = arg(1, "normalized_shape")
        if isinstance(normalized, (tuple, list)) and len(normalized) == 1 and isinstance(
                normalized[0], int):
            return rank - 1, normalized[0]
    return None


def shortcut_is_intended(found: list[Consumer], main_width: int, shortcut_width: int) -> bool:
    """True when the layers after the add want the shortcut's width and none the main's.

    >>> shortcut_is_intended([], 128, 96)
    False
    """
    widths = {c.width for c in found}
    return shortcut_width in widths and main_width not in widths


def width_setters(gm: fx.GraphModule, operand: fx.Node, shape_of: ShapeOf,
                  channel_dim: int) -> Optional[list[fx.Node]]:
    """The layers that give a branch ending at `operand` its width, last one first.

    Walks back through steps that keep the shape (activations, dropout, scaling) and
    collects norms on the way, up to the conv or linear layer that set the width. None when
    something else (a concatenation, a reshape, an unknown module) set it.

    Example:
        >>> gm = fx.symbolic_trace(nn.Sequential(nn.Conv2d(8, 4, 1), nn.BatchNorm2d(4), nn.ReLU()))
        >>> last = [n for n in gm.graph.nodes if n.op == "call_module"][-1]
        >>> [str(n.target) for n in width_setters(gm, last, lambda n: (1, 4, 2, 2), 1)]
        ['1', '0']
    """
    width_shape = shape_of(operand)
    if width_shape is None or channel_dim >= len(width_shape):
        return None
    width = width_shape[channel_dim]
    chain: list[fx.Node] = []
    node = operand
    for _ in range(_SEARCH_LIMIT):
        if is_add(node):
            return None
        module = module_of(gm, node)
        if type(module) in _SETTERS:
            return chain + [node] if _out_width(module) == width else None
        if type(module) in _NORMS:
            chain.append(node)
        previous = _same_shape_input(node, shape_of)
        if previous is None:
            return None
        node = previous
    return None


def resized(module: nn.Module, width: int) -> Optional[tuple[nn.Module, str]]:
    """`module` rebuilt on meta with output width `width`, and its constructor as code.

    >>> resized(nn.Linear(128, 128), 96)[1]
    'nn.Linear(128, 96)'
    >>> resized(nn.Conv2d(64, 128, 1, bias=False), 256)[1]
    'nn.Conv2d(64, 256, kernel_size=1, bias=False)'
    """
    kind = type(module)
    with torch.device("meta"), skip_init_on_meta():
        if kind is nn.Linear:
            bias = module.bias is not None
            return nn.Linear(module.in_features, width, bias=bias), (
                f"nn.Linear({module.in_features}, {width}{'' if bias else ', bias=False'})")
        if kind in (nn.Conv1d, nn.Conv2d, nn.Conv3d):
            if width % module.groups:
                return None
            args = dict(kernel_size=module.kernel_size, stride=module.stride,
                        padding=module.padding, dilation=module.dilation,
                        groups=module.groups, bias=module.bias is not None,
                        padding_mode=module.padding_mode)
            rebuilt = kind(module.in_channels, width, **args)
            return rebuilt, f"nn.{kind.__name__}({module.in_channels}, {width}{_conv_args(module)})"
        if kind in (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d):
            return kind(width, eps=module.eps, momentum=module.momentum, affine=module.affine,
                        track_running_stats=module.track_running_stats), (
                f"nn.{kind.__name__}({width})")
        if kind is nn.LayerNorm and len(module.normalized_shape) == 1:
            affine = module.elementwise_affine
            return nn.LayerNorm(width, eps=module.eps, elementwise_affine=affine), (
                f"nn.LayerNorm({width}{'' if affine else ', elementwise_affine=False'})")
        if kind is nn.GroupNorm and width % module.num_groups == 0:
            return nn.GroupNorm(module.num_groups, width, eps=module.eps,
                                affine=module.affine), f"nn.GroupNorm({module.num_groups}, {width})"
    return None


def _conv_args(conv: nn.modules.conv._ConvNd) -> str:
    """The constructor arguments of `conv` that differ from their defaults."""
    def one(value):
        return value[0] if len(set(value)) == 1 else value

    parts = [f", kernel_size={one(conv.kernel_size)}"]
    defaults = {"stride": 1, "padding": 0, "dilation": 1}
    for name, default in defaults.items():
        value = getattr(conv, name)
        value = value if isinstance(value, str) else one(value)
        if value != default:
            parts.append(f", {name}={value!r}" if isinstance(value, str) else f", {name}={value}")
    if conv.groups != 1:
        parts.append(f", groups={conv.groups}")
    if conv.bias is None:
        parts.append(", bias=False")
    return "".join(parts)


def _out_width(module: nn.Module) -> int:
    return module.out_features if isinstance(module, nn.Linear) else module.out_channels


def _same_shape_input(node: fx.Node, shape_of: ShapeOf) -> Optional[fx.Node]:
    """The input of `node` that has the shape of its output (its data path), if any."""
    out = shape_of(node)
    for source in node.all_input_nodes:
        if out is not None and shape_of(source) == out:
            return source
    return None


def choose_sides(gm: fx.GraphModule, structures, prop) -> dict[str, list[Consumer]]:
    """Failed adds whose later layers expect the shortcut's width, with those layers.

    For these adds the main branch is the wrong side: propagation continues with the
    shortcut (so nothing after the add fails in consequence) and the fix resizes the
    main branch instead of projecting the shortcut.

    Example:
        >>> import shapecheck, torch.nn as nn
        >>> class Wide(nn.Module):
        ...     def __init__(self):
        ...         super().__init__()
        ...         self.proj, self.norm = nn.Linear(96, 128), nn.LayerNorm(96)
        ...     def forward(self, x):
        ...         return self.norm(x + self.proj(x))
        >>> [f.fix.kind for f in shapecheck.check(Wide(), (2, 5, 96)).findings]
        ['resize']
    """
    found = {}
    for s in structures:
        failure = prop.results[s.add.name].failure
        if failure is None or failure.kind != "add":
            continue
        main = prop.shape(s.add.args[s.main_operand].name)
        short = prop.shape(s.add.args[1 - s.main_operand].name)
        if main is None or short is None or len(main) != len(short):
            continue
        dim = layout_of(main, channels_first(gm, s)).channel_dim
        if main[dim] == short[dim]:
            continue
        later = consumers(gm, s.add, lambda n: prop.shape(n.name), dim)
        if shortcut_is_intended(later, main[dim], short[dim]):
            found[s.add.name] = later
    return found


def kept_operands(structures, wrong_branch: dict[str, list[Consumer]]) -> dict[str, int]:
    """Per residual add, the operand propagation continues with when the add fails."""
    return {s.add.name: (1 - s.main_operand if s.add.name in wrong_branch else s.main_operand)
            for s in structures}
