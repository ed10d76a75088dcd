"""Multiply-accumulates per layer family, from the shapes propagation found.

Convolutions: output elements x (in_channels / groups) x kernel area (a transposed conv
spreads each input element over out_channels / groups x kernel area); linear layers:
output elements x the contracted size. Norms, pools and activations are not counted.
"""

from __future__ import annotations

import math
from typing import Optional

import torch.nn as nn

Shape = tuple[int, ...]


def conv_macs(module: nn.Module, out: Shape, inputs: list[Optional[Shape]]) -> int:
    """A conv layer's MACs (transposed convs counted from their input).

    >>> conv_macs(nn.Conv2d(64, 64, 3, padding=1), (1, 64, 56, 56), [(1, 64, 56, 56)])
    115605504
    """
    kernel = math.prod(module.kernel_size)
    if isinstance(module, nn.modules.conv._ConvTransposeNd):
        first = inputs[0] if inputs else None
        return math.prod(first) * module.out_channels // module.groups * kernel if first else 0
    return math.prod(out) * (module.in_channels // module.groups * kernel)


def linear_macs(module: nn.Module, out: Shape, inputs: list[Optional[Shape]]) -> int:
    return math.prod(out) * module.in_features


def conv_call_macs(out: Shape, inputs: list[Optional[Shape]]) -> int:
    """`F.conv2d(x, weight)`: the weight is out x in/groups x kernel."""
    if len(inputs) > 1 and inputs[1]:
        return math.prod(out) * math.prod(inputs[1][1:])
    return 0


def linear_call_macs(out: Shape, inputs: list[Optional[Shape]]) -> int:
    """`F.linear(x, weight)`: the weight is out x in."""
    if len(inputs) > 1 and inputs[1]:
        return math.prod(out) * inputs[1][-1]
    return 0
