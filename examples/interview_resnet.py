"""ResNet basics from the interview-preparation page (the interview page 【CV面试必会】深度学习网络之Resnet), in the d2l style it uses.

`Residual(input_channels, num_channels, use_1x1conv, strides)` is the basic two-conv block;
its shortcut is the input itself unless `use_1x1conv` adds a 1x1 conv (with the block's
stride). `resnet_block()` builds one stage: its first block projects and halves the size,
except for the stage marked `first_block=True` (the one right after the stem, whose input
already has the stage's width and size). The residual add is the line `Y += X`.

- `resnet18()`: correct. The d2l ResNet-18 for 1x96x96 images and 10 classes; stage
  outputs (1,64,24,24) after the stem, then (1,64,24,24), (1,128,12,12), (1,256,6,6),
  (1,512,3,3), and (1,10).
- `resnet18_misplaced_first_block()`: buggy. Stage `b3` is built with `first_block=True`,
  a copy-paste of `b2`'s call. Its first block is then `Residual(128, 128)` with an identity
  shortcut, but it receives 64 channels: `b3.0.conv1` raises (it expects 128 input
  channels), and even with that conv fixed the add `Y += X` in `b3.0` is 128 + 64 channels.
"""

from __future__ import annotations

from collections import OrderedDict

import torch
from torch import nn

INPUT_SHAPE = (1, 1, 96, 96)


class Residual(nn.Module):
    """Basic residual block: conv3x3(stride)-BN-ReLU, conv3x3-BN, add the shortcut, ReLU.

    Args:
        input_channels: channels of the input.
        num_channels: channels of both convs and of the output.
        use_1x1conv: project the shortcut with a 1x1 conv (needed when the width or the
            stride changes); otherwise the input is added unchanged.
        strides: stride of the first conv and of the projection.
    """

    def __init__(self, input_channels: int, num_channels: int, use_1x1conv: bool = False,
                 strides: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(input_channels, num_channels, kernel_size=3, padding=1, stride=strides)
        self.conv2 = nn.Conv2d(num_channels, num_channels, kernel_size=3, padding=1)
        self.conv3 = (nn.Conv2d(input_channels, num_channels, kernel_size=1, stride=strides)
                      if use_1x1conv else None)
        self.bn1 = nn.BatchNorm2d(num_channels)
        self.bn2 = nn.BatchNorm2d(num_channels)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        Y = self.relu(self.bn1(self.conv1(X)))
        Y = self.bn2(self.conv2(Y))
        if self.conv3 is not None:
            X = self.conv3(X)
        Y += X
        return self.relu(Y)


def resnet_block(input_channels: int, num_channels: int, num_residuals: int,
                 first_block: bool = False) -> list[nn.Module]:
    """One stage of `num_residuals` blocks; all but the `first_block` stage downsample first.

    >>> [type(b).__name__ for b in resnet_block(64, 128, 2)]
    ['Residual', 'Residual']
    """
    blk: list[nn.Module] = []
    for i in range(num_residuals):
        if i == 0 and not first_block:
            blk.append(Residual(input_channels, num_channels, use_1x1conv=True, strides=2))
        else:
            blk.append(Residual(num_channels, num_channels))
    return blk


class InterviewResNet(nn.Sequential):
    """Stem `b1`, the given stages `b2`..`b5`, global average pool, linear classifier.

    Args:
        stages: four lists of blocks, as `resnet_block()` returns them.
        in_channels: image channels (1 for Fashion-MNIST).
        num_classes: classifier outputs.
    """

    def __init__(self, stages: list[list[nn.Module]], in_channels: int = 1, num_classes: int = 10) -> None:
        b1 = nn.Sequential(
            nn.Conv2d(in_channels, 64, kernel_size=7, stride=2, padding=3),
            nn.BatchNorm2d(64), nn.ReLU(),
            nn.MaxPool2d(kernel_size=3, stride=2, padding=1),
        )
        layers: OrderedDict[str, nn.Module] = OrderedDict(b1=b1)
        for i, blocks in enumerate(stages, start=2):
            layers[f"b{i}"] = nn.Sequential(*blocks)
        layers["pool"] = nn.AdaptiveAvgPool2d((1, 1))
        layers["flatten"] = nn.Flatten()
        layers["fc"] = nn.Linear(stages[-1][-1].conv2.out_channels, num_classes)
        super().__init__(layers)


def resnet18() -> nn.Module:
    """d2l's ResNet-18: stages (64, 64, 128, 256, 512) x 2 blocks; correct."""
    return InterviewResNet([
        resnet_block(64, 64, 2, first_block=True),
        resnet_block(64, 128, 2),
        resnet_block(128, 256, 2),
        resnet_block(256, 512, 2),
    ])


def resnet18_misplaced_first_block() -> nn.Module:
    """Buggy: `b3` marked `first_block=True`, so `b3.0` neither projects nor downsamples."""
    return InterviewResNet([
        resnet_block(64, 64, 2, first_block=True),
        resnet_block(64, 128, 2, first_block=True),  # bug: copied from the line above
        resnet_block(128, 256, 2),
        resnet_block(256, 512, 2),
    ])
