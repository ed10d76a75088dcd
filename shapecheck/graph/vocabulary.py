"""The fx vocabulary every stage shares: which nodes are adds, their operands, what a node
calls and which module it runs. One table of add operators, read by tracing, residual
discovery, propagation and diagnosis alike.
"""

from __future__ import annotations

import operator
from typing import Optional

import torch
import torch.fx as fx
import torch.nn as nn

ADD_FUNCTIONS = frozenset({operator.add, operator.iadd, torch.add, torch.Tensor.add,
                           torch.Tensor.add_, torch.Tensor.__add__, torch.Tensor.__iadd__})
ADD_METHODS = frozenset({"add", "add_", "__add__", "__iadd__", "__radd__"})


def is_add(node: fx.Node) -> bool:
    """True for `a + b`, `a += b`, `torch.add`, `Tensor.add` and `Tensor.add_` nodes."""
    if node.op == "call_function":
        return node.target in ADD_FUNCTIONS
    return node.op == "call_method" and node.target in ADD_METHODS


def add_operands(node: fx.Node) -> Optional[tuple[fx.Node, fx.Node]]:
    """The two node operands of an add, or None when one is a constant."""
    if not is_add(node) or len(node.args) < 2:
        return None
    a, b = node.args[0], node.args[1]
    if isinstance(a, fx.Node) and isinstance(b, fx.Node):
        return a, b
    return None


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
