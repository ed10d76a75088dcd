"""The CIFAR ResNeXt bottleneck from the grouped-convolution page (the article ResNeXt与分组卷积), in full.

`ResNeXtBottleneck` reduces with a 1x1 conv to `D = cardinality * int(base_width *
width_ratio)` channels, applies a 3x3 conv with `groups=cardinality` (the only grouped
layer: 32 parallel 4-channel paths summed equal one grouped conv) and expands back with a
1x1 conv. Its shortcut is an empty `nn.Sequential` (the identity) unless the channel counts
differ, in which case it is a strided 1x1 conv + BN. The add puts the shortcut FIRST:
`out = residual + bottleneck`.

- `cifar_resnext29()`: correct. ResNeXt-29 (8x64d) for 32x32 CIFAR images: 3x3 stem to 64
  channels, stages of 256/512/1024 channels with strides 1/2/2 and 3 blocks each, 8x8
  average pool, 10 classes.
- `cifar_resnext_equal_width_stride2()`: buggy. The latent bug of the page's rule
  "project only when `in_channels != out_channels`": `stage_2` keeps 256 channels but still
  has stride 2, so its first block adds a full-resolution identity shortcut
  [1, 256, 32, 32] to the half-resolution main branch [1, 256, 16, 16] (spatial mismatch at
  `stage_2.stage_2_bottleneck_0`). The rule needs `or stride != 1`.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

INPUT_SHAPE = (1, 3, 32, 32)


class ResNeXtBottleneck(nn.Module):
    """ResNeXt bottleneck: 1x1 reduce, grouped 3x3 (stride), 1x1 expand; projection if widths differ.

    Args:
        in_channels: input channels.
        out_channels: output channels.
        stride: stride of the grouped conv (and of the projection, when there is one).
        cardinality: number of groups of the 3x3 conv.
        base_width: channels per group at the first stage's width.
        widen_factor: ratio of the first stage's width to 64; scales the group width.
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int, cardinality: int,
                 base_width: int, widen_factor: int) -> None:
        super().__init__()
        width_ratio = out_channels / (widen_factor * 64.0)
        D = cardinality * int(base_width * width_ratio)
        self.conv_reduce = nn.Conv2d(in_channels, D, kernel_size=1, stride=1, padding=0, bias=False)
        self.bn_reduce = nn.BatchNorm2d(D)
        self.conv_conv = nn.Conv2d(D, D, kernel_size=3, stride=stride, padding=1, groups=cardinality,
                                   bias=False)
        self.bn = nn.BatchNorm2d(D)
        self.conv_expand = nn.Conv2d(D, out_channels, kernel_size=1, stride=1, padding=0, bias=False)
        self.bn_expand = nn.BatchNorm2d(out_channels)
        self.shortcut = nn.Sequential()
        # The page's rule, kept as is: it ignores the stride (the latent bug).
        if in_channels != out_channels:
            self.shortcut.add_module("shortcut_conv", nn.Conv2d(in_channels, out_channels, kernel_size=1,
                                                                stride=stride, padding=0, bias=False))
            self.shortcut.add_module("shortcut_bn", nn.BatchNorm2d(out_channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        bottleneck = F.relu(self.bn_reduce(self.conv_reduce(x)), inplace=True)
        bottleneck = F.relu(self.bn(self.conv_conv(bottleneck)), inplace=True)
        bottleneck = self.bn_expand(self.conv_expand(bottleneck))
        residual = self.shortcut(x)
        out = residual + bottleneck  # shortcut first: the main branch is the second operand
        return F.relu(out, inplace=True)


class CifarResNeXt(nn.Module):
    """ResNeXt for 32x32 inputs: 3x3 stem, three stages, 8x8 average pool, linear classifier.

    Args:
        cardinality: groups of every 3x3 conv.
        depth: 9 * blocks per stage + 2 (29 gives 3 blocks per stage).
        num_classes: classifier outputs.
        base_width: channels per group at the first stage.
        widen_factor: first stage width / 64.
        stages: channel widths (stem, stage 1, stage 2, stage 3); by default
            `(64, 64 * widen_factor, 128 * widen_factor, 256 * widen_factor)`.
    """

    def __init__(self, cardinality: int, depth: int, num_classes: int, base_width: int,
                 widen_factor: int = 4, stages: tuple[int, int, int, int] | None = None) -> None:
        super().__init__()
        self.cardinality = cardinality
        self.base_width = base_width
        self.widen_factor = widen_factor
        self.block_depth = (depth - 2) // 9
        self.stages = stages or (64, 64 * widen_factor, 128 * widen_factor, 256 * widen_factor)
        self.conv_1_3x3 = nn.Conv2d(3, self.stages[0], kernel_size=3, stride=1, padding=1, bias=False)
        self.bn_1 = nn.BatchNorm2d(self.stages[0])
        self.stage_1 = self.block("stage_1", self.stages[0], self.stages[1], 1)
        self.stage_2 = self.block("stage_2", self.stages[1], self.stages[2], 2)
        self.stage_3 = self.block("stage_3", self.stages[2], self.stages[3], 2)
        self.classifier = nn.Linear(self.stages[3], num_classes)

    def block(self, name: str, in_channels: int, out_channels: int, pool_stride: int = 2) -> nn.Sequential:
        """One stage: the first bottleneck takes the stride and the width change, the rest keep them."""
        stage = nn.Sequential()
        for i in range(self.block_depth):
            if i == 0:
                unit = ResNeXtBottleneck(in_channels, out_channels, pool_stride, self.cardinality,
                                         self.base_width, self.widen_factor)
            else:
                unit = ResNeXtBottleneck(out_channels, out_channels, 1, self.cardinality,
                                         self.base_width, self.widen_factor)
            stage.add_module(f"{name}_bottleneck_{i}", unit)
        return stage

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.bn_1(self.conv_1_3x3(x)), inplace=True)
        x = self.stage_1(x)
        x = self.stage_2(x)
        x = self.stage_3(x)
        x = F.avg_pool2d(x, 8, 1)
        x = x.view(-1, self.stages[3])
        return self.classifier(x)


def cifar_resnext29() -> nn.Module:
    """ResNeXt-29 (8x64d) for CIFAR-10; correct."""
    return CifarResNeXt(cardinality=8, depth=29, num_classes=10, base_width=64, widen_factor=4)


def cifar_resnext_equal_width_stride2() -> nn.Module:
    """Buggy: stage 2 keeps 256 channels with stride 2, so its first shortcut is a
    full-resolution identity (spatial mismatch at `stage_2.stage_2_bottleneck_0`)."""
    return CifarResNeXt(cardinality=8, depth=29, num_classes=10, base_width=64, widen_factor=4,
                        stages=(64, 256, 256, 1024))
