"""Pre-activation ResNet-18 for ImageNet, written to be read.

Reproduces the "full pre-activation" residual unit of He et al., "Identity Mappings in
Deep Residual Networks" (ECCV 2016), Fig. 4(e): each block runs BatchNorm -> ReLU ->
conv twice, and adds its input to the result with nothing after the add, so the
shortcut path from any block to any later one is a pure identity. The network keeps
the ImageNet layout of the original ResNet-18 (7x7/2 conv stem, 3x3/2 max pool, stages
of widths 64/128/256/512 with two blocks each, global average pool, 1000-way linear)
and the two boundary rules of the paper's Section 4.1: the first block's activation
sits right after conv1, before the split into two paths (so the stem is conv-BN-ReLU
and ``layer1.0`` has no ``bn1``), and the last block's add is followed by an extra
BatchNorm + ReLU before the pooling.

Where a block changes width or stride, its shortcut is a bare strided 1x1 conv applied
to the *pre-activated* input (no BatchNorm of its own: the block's ``bn1`` already
normalised what it sees), as in the paper's released code.

This file is a ``shapecheck`` target on its own (it imports nothing from its package)::

    shapecheck models/preact_resnet.py:preact_resnet18

Example:
    >>> import torch
    >>> with torch.device("meta"):
    ...     model = preact_resnet18()
    >>> model(torch.empty(INPUT_SHAPE, device="meta")).shape
    torch.Size([1, 1000])
"""

from __future__ import annotations

from typing import NamedTuple, Optional, Sequence

import torch
from torch import Tensor, nn

__all__ = ["INPUT_SHAPE", "PreActBasicBlock", "PreActResNet", "PreActBlockSpec",
           "plan_preact_stages", "preact_resnet18"]

INPUT_SHAPE = (1, 3, 224, 224)

STAGE_WIDTHS = (64, 128, 256, 512)
STEM_CHANNELS = 64


def conv3x3(in_planes: int, out_planes: int, stride: int = 1) -> nn.Conv2d:
    """3x3 convolution with padding 1 and no bias.

    Example:
        >>> conv3x3(64, 64).weight.shape
        torch.Size([64, 64, 3, 3])
    """
    return nn.Conv2d(in_planes, out_planes, kernel_size=3, stride=stride, padding=1, bias=False)


def conv1x1(in_planes: int, out_planes: int, stride: int = 1) -> nn.Conv2d:
    """1x1 convolution with no bias.

    Example:
        >>> conv1x1(64, 128, stride=2).stride
        (2, 2)
    """
    return nn.Conv2d(in_planes, out_planes, kernel_size=1, stride=stride, bias=False)


class PreActBasicBlock(nn.Module):
    """BN -> ReLU -> conv3x3 -> BN -> ReLU -> conv3x3, plus the input; no ReLU after the add.

    Args:
        inplanes: Channels of the block's input.
        planes: Channels of both convs and of the output.
        stride: Stride of the first conv; 2 halves the resolution.
        preactivate: Apply BN-ReLU to the input. False for the network's first block,
            whose input the stem has already normalised and activated.

    Example:
        >>> block = PreActBasicBlock(64, 128, stride=2)
        >>> block(torch.zeros(1, 64, 8, 8)).shape
        torch.Size([1, 128, 4, 4])
    """

    expansion: int = 1

    def __init__(self, inplanes: int, planes: int, stride: int = 1,
                 preactivate: bool = True) -> None:
        super().__init__()
        self.bn1: Optional[nn.BatchNorm2d] = nn.BatchNorm2d(inplanes) if preactivate else None
        self.relu = nn.ReLU(inplace=True)
        self.conv1 = conv3x3(inplanes, planes, stride)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv2 = conv3x3(planes, planes)
        self.downsample: Optional[nn.Conv2d] = None
        if stride != 1 or inplanes != planes * self.expansion:
            self.downsample = conv1x1(inplanes, planes * self.expansion, stride)

    def forward(self, x: Tensor) -> Tensor:
        identity = x

        out = x
        if self.bn1 is not None:
            # bn1 returns a new tensor, so the in-place ReLU leaves `x` (the identity) intact
            out = self.bn1(x)
            out = self.relu(out)
        if self.downsample is not None:
            identity = self.downsample(out)

        out = self.conv1(out)
        out = self.bn2(out)
        out = self.relu(out)
        out = self.conv2(out)

        out += identity
        return out


class PreActBlockSpec(NamedTuple):
    """What one block is built with: input channels, width, stride, own pre-activation."""

    inplanes: int
    planes: int
    stride: int
    preactivate: bool


def plan_preact_stages(layers: Sequence[int], widths: Sequence[int] = STAGE_WIDTHS,
                       stem_channels: int = STEM_CHANNELS) -> list[list[PreActBlockSpec]]:
    """Per-stage block specs; the first stage keeps the resolution, later ones halve it.

    Every block pre-activates its input except the very first, which follows the stem's
    BN-ReLU.

    Args:
        layers: Number of blocks per stage.
        widths: Channels of each stage.
        stem_channels: Channels produced by the stem.

    Returns:
        One list of ``PreActBlockSpec`` per stage.

    Example:
        >>> first, second = plan_preact_stages((2, 2), widths=(64, 128))
        >>> first[0]
        PreActBlockSpec(inplanes=64, planes=64, stride=1, preactivate=False)
        >>> second[0]
        PreActBlockSpec(inplanes=64, planes=128, stride=2, preactivate=True)
    """
    if len(layers) != len(widths):
        raise ValueError(f"{len(layers)} stage depths for {len(widths)} stage widths")
    stages = []
    inplanes = stem_channels
    for index, (depth, planes) in enumerate(zip(layers, widths)):
        stride = 1 if index == 0 else 2
        stages.append([
            PreActBlockSpec(inplanes if i == 0 else planes, planes, stride if i == 0 else 1,
                            preactivate=index > 0 or i > 0)
            for i in range(depth)
        ])
        inplanes = planes * PreActBasicBlock.expansion
    return stages


class PreActResNet(nn.Module):
    """Conv-BN-ReLU stem, four stages of pre-activation blocks, final BN-ReLU, classifier.

    Args:
        layers: Blocks per stage, ``(2, 2, 2, 2)`` for ResNet-18.
        num_classes: Outputs of ``fc``.
        in_channels: Channels of the input image.

    Example:
        >>> model = PreActResNet([1, 1, 1, 1], num_classes=10)
        >>> model(torch.zeros(2, 3, 64, 64)).shape
        torch.Size([2, 10])
    """

    def __init__(self, layers: Sequence[int], num_classes: int = 1000,
                 in_channels: int = 3) -> None:
        super().__init__()
        stages = plan_preact_stages(layers)
        final_channels = STAGE_WIDTHS[-1] * PreActBasicBlock.expansion

        self.conv1 = nn.Conv2d(in_channels, STEM_CHANNELS, kernel_size=7, stride=2, padding=3,
                               bias=False)
        self.bn1 = nn.BatchNorm2d(STEM_CHANNELS)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = self._make_layer(stages[0])
        self.layer2 = self._make_layer(stages[1])
        self.layer3 = self._make_layer(stages[2])
        self.layer4 = self._make_layer(stages[3])
        # the last block ends in a bare add: normalise and activate before pooling
        self.final_bn = nn.BatchNorm2d(final_channels)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(final_channels, num_classes)

        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    @staticmethod
    def _make_layer(specs: Sequence[PreActBlockSpec]) -> nn.Sequential:
        return nn.Sequential(*(PreActBasicBlock(*spec) for spec in specs))

    def forward(self, x: Tensor) -> Tensor:
        x = self.conv1(x)
        x = self.bn1(x)
        x = self.relu(x)
        x = self.maxpool(x)

        x = self.layer1(x)
        x = self.layer2(x)
        x = self.layer3(x)
        x = self.layer4(x)

        x = self.final_bn(x)
        x = self.relu(x)
        x = self.avgpool(x)
        x = torch.flatten(x, 1)
        x = self.fc(x)
        return x


def preact_resnet18() -> PreActResNet:
    """Pre-activation ResNet-18 for 224x224 RGB images and 1000 classes."""
    return PreActResNet([2, 2, 2, 2])
