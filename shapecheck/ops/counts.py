"""Parameter and multiply-accumulate counts per node, computed from propagated shapes."""

from __future__ import annotations

import math
from typing import Optional

import torch
import torch.fx as fx
import torch.nn as nn
import torch.nn.functional as F

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

    Convolutions: output elements x (in_channels / groups) x kernel area; linear layers and
    matmuls: output elements x the contracted size.
    """
    if out is None:
        return 0
    elements = math.prod(out)
    if isinstance(module, nn.modules.conv._ConvNd):
        per_output = module.in_channels // module.groups * math.prod(module.kernel_size)
        if isinstance(module, nn.modules.conv._ConvTransposeNd):
            first = input_shapes[0] if input_shapes else None
            return math.prod(first) * module.out_channels // module.groups * math.prod(
                module.kernel_size) if first else 0
        return elements * per_output
    if isinstance(module, nn.Linear):
        return elements * module.in_features
    if node.op in ("call_function", "call_method"):
        target = node.target
        if target in (F.linear,) and len(input_shapes) > 1 and input_shapes[1]:
            return elements * input_shapes[1][-1]
        if (target in _MATMULS or target == "matmul" or getattr(target, "__name__", "") == "matmul") \
                and input_shapes and input_shapes[0]:
            return elements * input_shapes[0][-1]
        if target in (F.conv1d, F.conv2d, F.conv3d) and len(input_shapes) > 1 and input_shapes[1]:
            weight = input_shapes[1]
            return elements * math.prod(weight[1:])
    return 0


def parameter_count(model: nn.Module) -> int:
    """Parameters of `model`, lazy (not yet sized) ones left out.

    >>> parameter_count(nn.Linear(4, 2))
    10
    """
    return sum(p.numel() for p in model.parameters()
               if not isinstance(p, nn.parameter.UninitializedParameter))
