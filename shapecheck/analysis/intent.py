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
from shapecheck.ops.families import family_of, family_of_call
from shapecheck.ops.layers import expectation
from shapecheck.ops.layout import layout_of
from shapecheck.graph.vocabulary import is_add, module_of

Shape = tuple[int, ...]
ShapeOf = Callable[[fx.Node], Optional[Shape]]

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
            moved = _permuted_dim(user, node, dim, len(shape))
            if moved is not None:  # channels-last norms: x.permute(0, 2, 3, 1), then norm
                queue.append((user, moved))
            elif len(after) == len(shape) and after[dim] == shape[dim]:
                queue.append((user, dim))
            elif len(after) == 2 and after[1] == shape[dim]:
                queue.append((user, 1))
    return found


def _permuted_dim(node: fx.Node, source: fx.Node, dim: int, rank: int) -> Optional[int]:
    """Where dimension `dim` of `source` lands when `node` permutes it, else None."""
    if node.op == "call_method" and node.target == "permute":
        dims = node.args[1:]
    elif node.op == "call_function" and node.target is torch.permute:
        dims = node.args[1:] or (node.kwargs.get("dims"),)
    else:
        return None
    if not node.args or node.args[0] is not source:
        return None
    if len(dims) == 1 and isinstance(dims[0], (tuple, list)):
        dims = tuple(dims[0])
    if len(dims) != rank or not all(isinstance(d, int) for d in dims):
        return None
    order = [d % rank for d in dims]
    return order.index(dim) if dim in order else None


def functional_expectation(node: fx.Node, shape_of: ShapeOf,
                           rank: int) -> Optional[tuple[int, int]]:
    """(dim, size) that a functional layer (`F.conv2d`, `F.batch_norm`, `F.group_norm`,
    `F.layer_norm`, `F.rms_norm`, `F.linear`, ...: each family's `call_expects`) expects of
    its input, read off its weight's shape. Layers traced into their functional form (timm's
    BatchNormAct2d, LayerNorm2d, StdConv2d) are seen so.

    Example:
        >>> gm = fx.symbolic_trace(lambda x, w: F.linear(x, w))
        >>> call = next(n for n in gm.graph.nodes if n.op == "call_function")
        >>> functional_expectation(call, lambda n: (3, 5) if n.name == "w" else None, 2)
        (1, 5)
    """
    family = family_of_call(node.target)
    if family is None or family.call_expects is None:
        return None

    def arg(index: int, name: str):
        return node.args[index] if len(node.args) > index else node.kwargs.get(name)

    def width(value, axis: int) -> Optional[int]:
        shape = shape_of(value) if isinstance(value, fx.Node) else None
        return shape[axis] if shape else None

    return family.call_expects(arg, width, rank)


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
    collects norms on the way, up to the conv or linear layer that set the width (each
    layer's family says which it is). None when something else (a concatenation, a
    reshape, an unknown module, a norm in functional form) set it or sits on the way.

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
        family = family_of(module)
        if family is not None and family.out_width is not None:
            return chain + [node] if family.out_width(module) == width else None
        if family is not None and family.role == "norm":
            chain.append(node)
        if module is None and getattr(family_of_call(node.target), "role", None) == "norm":
            # a norm traced into F.batch_norm & co (timm's norm-act layers under fx): its
            # width is in tensors of a module the graph no longer holds, so nothing can
            # rebuild it, and resizing the layers before it alone would not verify
            return None
        previous = _same_shape_input(node, shape_of)
        if previous is None:
            return None
        node = previous
    return None


def resized(module: nn.Module, width: int) -> Optional[tuple[nn.Module, str]]:
    """`module` rebuilt on meta with output width `width`, and its constructor as code, as
    its family's `rebuild` says (None when it cannot be: see ops/rebuild.py).

    >>> resized(nn.Linear(128, 128), 96)[1]
    'nn.Linear(128, 96)'
    >>> resized(nn.RMSNorm(128), 96)[1]
    'nn.RMSNorm(96)'
    """
    family = family_of(module)
    if family is None or family.rebuild is None:
        return None
    return family.rebuild(module, width)


def _same_shape_input(node: fx.Node, shape_of: ShapeOf) -> Optional[fx.Node]:
    """The input of `node` that has the shape of its output (its data path), if any."""
    out = shape_of(node)
    for source in node.all_input_nodes:
        if out is not None and shape_of(source) == out:
            return source
    return None


def choose_sides(gm: fx.GraphModule, structures, prop) -> dict[str, list[Consumer]]:
    """Failed adds whose later layers expect the shortcut's width (or whose main branch
    narrows an identity block: see `narrowed_block`), with those layers.

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
        # with no later layer to ask, a block that narrows its identity input is the clue
        if shortcut_is_intended(later, main[dim], short[dim]) or (
                not later and narrowed_block(s.shortcut, main[dim], short[dim])):
            found[s.add.name] = later
    return found


def narrowed_block(shortcut: str, main_width: int, shortcut_width: int) -> bool:
    """True when the main branch comes back narrower than the block's own input.

    Networks widen as they deepen; a block whose identity shortcut is wider than its main
    branch has a main branch that forgot to widen again (a bottleneck's expand conv left at
    the reduced width). Projecting the shortcut down would shrink the network instead, so
    when no later layer says which width it wants, the main branch is the side to fix.

    >>> narrowed_block("identity", 64, 256), narrowed_block("identity", 256, 64)
    (True, False)
    """
    return shortcut == "identity" and main_width < shortcut_width


def kept_operands(structures, wrong_branch: dict[str, list[Consumer]]) -> dict[str, int]:
    """Per residual add, the operand propagation continues with when the add fails."""
    return {s.add.name: (1 - s.main_operand if s.add.name in wrong_branch else s.main_operand)
            for s in structures}
