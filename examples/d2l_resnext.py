"""The residual and ResNeXt blocks of d2l.ai chapter 8.6 (d2l.ai section 8.6), with lazy layers as d2l writes them.

`Residual(num_channels, use_1x1conv, strides)` and `ResNeXtBlock(num_channels, groups,
bot_mul, use_1x1conv, strides)` use `nn.LazyConv2d` / `nn.LazyBatchNorm2d`: the input width
is only known at the first forward pass, so a checker must materialise them (one run on
meta tensors does) before it can read their weights. A d2l trap: `ResNeXtBlock`'s argument
`groups` is the WIDTH of each group; the conv gets `bot_channels // groups` groups.

Factories (inputs in `INPUT_SHAPES`):
- `residual_keep()`: correct; `Residual(3)` keeps (4, 3, 6, 6).
- `residual_downsample()`: correct; `Residual(6, use_1x1conv=True, strides=2)` maps
  (4, 3, 6, 6) to (4, 6, 3, 3).
- `resnext_block()`: correct; `ResNeXtBlock(32, 16, 1)` keeps (4, 32, 96, 96).
- `residual_stride2_no_projection()`: buggy. `Residual(3, strides=2)` halves the main branch
  to (4, 3, 3, 3) but adds the (4, 3, 6, 6) input unchanged: `Y += X` in the top-level
  module fails (spatial mismatch; `use_1x1conv=True` is the fix).
- `resnext_block_bad_groups()`: buggy, fails to build. `ResNeXtBlock(32, 6, 1)` asks for
  groups 6 channels wide on 32 channels: 32 // 6 = 5 groups, and 32 is not divisible by 5.
  d2l's lazy conv would only fail at its first call ("in_channels must be divisible by
  groups"); this port checks in the constructor, which raises ValueError.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

INPUT_SHAPE = (4, 3, 6, 6)
INPUT_SHAPES = {
    "residual_keep": (4, 3, 6, 6),
    "residual_downsample": (4, 3, 6, 6),
    "resnext_block": (4, 32, 96, 96),
    "residual_stride2_no_projection": (4, 3, 6, 6),
    "resnext_block_bad_groups": (4, 32, 96, 96),
}


class Residual(nn.Module):
    """d2l's residual block: conv3x3(stride)-BN-ReLU, conv3x3-BN, add shortcut, ReLU.

    Args:
        num_channels: output channels (the input width is inferred lazily).
        use_1x1conv: project the shortcut with a strided 1x1 conv.
        strides: stride of the first conv and of the projection.
    """

    def __init__(self, num_channels: int, use_1x1conv: bool = False, strides: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.LazyConv2d(num_channels, kernel_size=3, padding=1, stride=strides)
        self.conv2 = nn.LazyConv2d(num_channels, kernel_size=3, padding=1)
        self.conv3 = nn.LazyConv2d(num_channels, kernel_size=1, stride=strides) if use_1x1conv else None
        self.bn1 = nn.LazyBatchNorm2d()
        self.bn2 = nn.LazyBatchNorm2d()

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        Y = F.relu(self.bn1(self.conv1(X)))
        Y = self.bn2(self.conv2(Y))
        if self.conv3 is not None:
            X = self.conv3(X)
        Y += X
        return F.relu(Y)


class ResNeXtBlock(nn.Module):
    """d2l's ResNeXt block: 1x1 to the bottleneck, grouped 3x3 (stride), 1x1 back, add, ReLU.

    Args:
        num_channels: output channels.
        groups: channels PER GROUP (d2l's naming); the 3x3 conv has
            `bot_channels // groups` groups.
        bot_mul: bottleneck width as a fraction of `num_channels`.
        use_1x1conv: project the shortcut with a strided 1x1 conv + BN.
        strides: stride of the grouped conv and of the projection.
    """

    def __init__(self, num_channels: int, groups: int, bot_mul: float, use_1x1conv: bool = False,
                 strides: int = 1) -> None:
        super().__init__()
        bot_channels = int(round(num_channels * bot_mul))
        num_groups = bot_channels // groups
        # A lazy conv checks divisibility only at its first call; check here so the mistake
        # surfaces when the block is built, as an eager nn.Conv2d would.
        if num_groups < 1 or bot_channels % num_groups:
            raise ValueError(f"ResNeXtBlock: {bot_channels} bottleneck channels cannot be split into "
                             f"bot_channels // groups = {num_groups} conv groups (d2l's `groups` "
                             f"is the width of a group, here {groups})")
        self.conv1 = nn.LazyConv2d(bot_channels, kernel_size=1, stride=1)
        self.conv2 = nn.LazyConv2d(bot_channels, kernel_size=3, stride=strides, padding=1,
                                   groups=num_groups)
        self.conv3 = nn.LazyConv2d(num_channels, kernel_size=1, stride=1)
        self.bn1 = nn.LazyBatchNorm2d()
        self.bn2 = nn.LazyBatchNorm2d()
        self.bn3 = nn.LazyBatchNorm2d()
        if use_1x1conv:
            self.conv4 = nn.LazyConv2d(num_channels, kernel_size=1, stride=strides)
            self.bn4 = nn.LazyBatchNorm2d()
        else:
            self.conv4 = None

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        Y = F.relu(self.bn1(self.conv1(X)))
        Y = F.relu(self.bn2(self.conv2(Y)))
        Y = self.bn3(self.conv3(Y))
        if self.conv4 is not None:
            X = self.bn4(self.conv4(X))
        Y = Y + X
        return F.relu(Y)


def residual_keep() -> nn.Module:
    """`Residual(3)`: same width, stride 1, identity shortcut; correct on (4, 3, 6, 6)."""
    return Residual(3)


def residual_downsample() -> nn.Module:
    """`Residual(6, use_1x1conv=True, strides=2)`: (4, 3, 6, 6) -> (4, 6, 3, 3); correct."""
    return Residual(6, use_1x1conv=True, strides=2)


def resnext_block() -> nn.Module:
    """`ResNeXtBlock(32, 16, 1)`: 2 groups of 16 channels; keeps (4, 32, 96, 96); correct."""
    return ResNeXtBlock(32, 16, 1)


def residual_stride2_no_projection() -> nn.Module:
    """Buggy: stride 2 without the 1x1 projection; the add meets (4,3,3,3) and (4,3,6,6)."""
    return Residual(3, strides=2)


def resnext_block_bad_groups() -> nn.Module:
    """Buggy: group width 6 on 32 channels (5 groups of 6.4 channels); the constructor raises."""
    return ResNeXtBlock(32, 6, 1)
