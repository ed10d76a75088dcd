"""Parameter and multiply-accumulate counts per node, computed from propagated shapes."""

from __future__ import annotations

import math
from typing import Optional

import torch
import torch.fx as fx
import torch.nn as nn

from shapecheck.ops.families import family_of, family_of_call

Shape = tuple[int, ...]
_MATMULS = {torch.matmul, torch.bmm, torch.mm, torch.Tensor.matmul, torch.Tensor.bmm}


def module_params(module: nn.Module) -> int:
    """Parameter count of a module, shared tensors counted once.

    >>> module_params(nn.Conv2d(256, 64, 1, bias=False))
    16384
    """
    return sum(p.numel() for p in module.parameters())


def node_macs(node: fx.Node, module: Optional[nn.Module], out: Optional[Shape],
              input_shapes: list[Optional[Shape]]) -> int:
    """Multiply-accumulates of one node for the propagated shapes (0 where not counted).

    Layers count as their family says (families.py: convolutions, linear layers, in module
    or functional form); matmuls: output elements x the contracted size.

    >>> gm = fx.symbolic_trace(nn.Sequential(nn.Linear(8, 4)))
    >>> node = next(iter(gm.graph.find_nodes(op="call_module")))
    >>> node_macs(node, gm.get_submodule("0"), (2, 4), [(2, 8)])
    64
    """
    if out is None:
        return 0
    family = family_of(module)
    if family is not None and family.macs is not None:
        return family.macs(module, out, input_shapes)
    if node.op in ("call_function", "call_method"):
        target = node.target
        called = family_of_call(target)
        if called is not None and called.call_macs is not None:
            return called.call_macs(out, input_shapes)
        if (target in _MATMULS or target == "matmul" or getattr(target, "__name__", "") == "matmul") \
                and input_shapes and input_shapes[0]:
            return math.prod(out) * input_shapes[0][-1]
    return 0


def parameter_count(model: nn.Module) -> int:
    """Parameters of `model`, lazy (not yet sized) ones left out.

    >>> parameter_count(nn.Linear(4, 2))
    10
    """
    return sum(p.numel() for p in model.parameters()
               if not isinstance(p, nn.parameter.UninitializedParameter))
