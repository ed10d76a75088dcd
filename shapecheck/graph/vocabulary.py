"""The fx vocabulary every stage shares: which nodes are adds, their operands, what a node
calls and which module it runs. One table of add operators, read by tracing, residual
discovery, propagation and diagnosis alike.
"""

from __future__ import annotations

import operator
from typing import Any, Optional

import torch
import torch.fx as fx
import torch.nn as nn

ADD_FUNCTIONS = frozenset({operator.add, operator.iadd, torch.add, torch.Tensor.add,
                           torch.Tensor.add_, torch.Tensor.__add__, torch.Tensor.__iadd__})
ADD_METHODS = frozenset({"add", "add_", "__add__", "__iadd__", "__radd__"})
# eager-quantized models add through QFunctional: torch.ops.quantized.add / add_relu
# (FloatFunctional, before conversion, calls torch.add and is covered above)
ADD_FUNCTIONS = ADD_FUNCTIONS | frozenset(
    getattr(torch.ops.quantized, name) for name in ("add", "add_relu"))


def is_add(node: fx.Node) -> bool:
    """True for `a + b`, `a += b`, `torch.add`, `Tensor.add`, `Tensor.add_` and quantized
    (`QFunctional.add`, `add_relu`) add nodes."""
    if node.op == "call_function":
        return node.target in ADD_FUNCTIONS
    return node.op == "call_method" and node.target in ADD_METHODS


def add_operands(node: fx.Node) -> Optional[tuple[fx.Node, fx.Node]]:
    """The two node operands of an add, or None when one is a constant.

    Keyword operands count too: `torch.add(input=a, other=b)`, `a.add(other=b)`.

    >>> gm = fx.symbolic_trace(lambda x: torch.add(input=x, other=x.relu()))
    >>> [n.name for n in add_operands([n for n in gm.graph.nodes if is_add(n)][0])]
    ['x', 'relu']
    """
    if not is_add(node):
        return None
    operands = add_operand_values(node.args, node.kwargs)
    if operands is None:
        return None
    a, b = operands
    if isinstance(a, fx.Node) and isinstance(b, fx.Node):
        return a, b
    return None


def add_operand_values(args: tuple, kwargs: dict) -> Optional[tuple[Any, Any]]:
    """The two operands of an add call from its arguments, positional or keyword
    (`input`/`self` and `other`); None when there are fewer than two.

    >>> add_operand_values((1,), {"other": 2}), add_operand_values((), {"input": 1})
    ((1, 2), None)
    """
    values = list(args[:2])
    for key in ("input", "self", "other"):
        if len(values) < 2 and key in kwargs:
            values.append(kwargs[key])
    return (values[0], values[1]) if len(values) == 2 else None


def module_of(gm: Optional[fx.GraphModule], node: fx.Node) -> Optional[nn.Module]:
    """The module a `call_module` node calls, or None (another op, or not in `gm`).

    >>> gm = fx.symbolic_trace(nn.Sequential(nn.ReLU()))
    >>> [type(module_of(gm, n)).__name__ for n in gm.graph.nodes]
    ['NoneType', 'ReLU', 'NoneType']
    """
    if gm is None or node.op != "call_module":
        return None
    try:
        return gm.get_submodule(node.target)
    except AttributeError:
        return None


def call_name(node: fx.Node) -> str:
    """The name of the function or method a node calls ("add", "transpose", "conv2d").

    >>> gm = fx.symbolic_trace(lambda x: x.transpose(0, 1) + 1)
    >>> [call_name(n) for n in gm.graph.nodes if n.op.startswith("call")]
    ['transpose', 'add']
    """
    target = node.target
    return target if isinstance(target, str) else getattr(target, "__name__", str(target))


def positional_adds(gm: fx.GraphModule) -> fx.GraphModule:
    """Rewrite keyword adds (`torch.add(input=a, other=b)`) in place to the positional form
    every stage reads (`torch.add(a, b)`); other keywords (`alpha=`) stay. Returns `gm`.

    >>> gm = positional_adds(fx.symbolic_trace(lambda x: torch.add(input=x, other=x)))
    >>> [(n.args, dict(n.kwargs)) for n in gm.graph.nodes if is_add(n)]
    [((x, x), {})]
    """
    changed = False
    for node in gm.graph.nodes:
        if not is_add(node) or len(node.args) >= 2:
            continue
        operands = add_operand_values(node.args, node.kwargs)
        if operands is None:
            continue
        node.args = tuple(operands)
        node.kwargs = {k: v for k, v in node.kwargs.items() if k not in ("input", "self", "other")}
        changed = True
    if changed:
        gm.recompile()
    return gm
