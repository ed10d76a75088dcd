"""A small ResNet-D for the source-fix mutation run (written for this benchmark).

ResNet-D (He et al., "Bag of Tricks for Image Classification with Convolutional Neural
Networks", CVPR 2019, section 4.1) downsamples the shortcut with a 2x2 average pool and then
a 1x1 conv, instead of a strided 1x1 conv. The main branch's strided 3x3 conv (padding 1)
rounds odd sizes up, so the pool must round up too (`ceil_mode=True`, as timm's
`resnet*d` do), or the add fails at every odd input size. None of the third-party files the
benchmark mutates has a pool shortcut, hence this file: `bench.source_mutate` removes the
`ceil_mode=True` and asks for a source fix. `resnet_d_constant_width` keeps 32 channels in
every stage, so that a projection rule that forgets the stride breaks it (no source above
strides without widening).

Example:
    >>> import torch
    >>> resnet_d_basic()(torch.zeros(1, 3, 33, 33)).shape
    torch.Size([1, 10])
    >>> resnet_d_constant_width()(torch.zeros(1, 3, 33, 33)).shape
    torch.Size([1, 10])
"""

from __future__ import annotations

import torch
from torch import nn

INPUT_SHAPE = (1, 3, 64, 64)
WIDTHS = (16, 32, 64)


class PoolShortcut(nn.Module):
    """Average-pool then 1x1 conv + BatchNorm: the shortcut where shape changes."""

    def __init__(self, inplanes: int, outplanes: int, stride: int) -> None:
        super().__init__()
        self.pool = (nn.AvgPool2d(2, stride=2, ceil_mode=True, count_include_pad=False)
                     if stride != 1 else nn.Identity())
        self.conv = nn.Conv2d(inplanes, outplanes, 1, bias=False)
        self.bn = nn.BatchNorm2d(outplanes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.bn(self.conv(self.pool(x)))


class BasicBlockD(nn.Module):
    """Two 3x3 convs (the first strided); a pooled shortcut where the shape changes."""

    expansion = 1

    def __init__(self, inplanes: int, planes: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.shortcut = nn.Identity()
        if stride != 1 or inplanes != planes * self.expansion:
            self.shortcut = PoolShortcut(inplanes, planes * self.expansion, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + self.shortcut(x))


class BottleneckD(nn.Module):
    """1x1 reduce, strided 3x3, 1x1 expand; the shortcut pools with a max pool instead."""

    expansion = 4

    def __init__(self, inplanes: int, planes: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, planes * self.expansion, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * self.expansion)
        self.relu = nn.ReLU(inplace=True)
        self.shortcut = nn.Identity()
        if stride != 1 or inplanes != planes * self.expansion:
            self.shortcut = nn.Sequential(
                nn.MaxPool2d(2, stride=2, ceil_mode=True) if stride != 1 else nn.Identity(),
                nn.Conv2d(inplanes, planes * self.expansion, 1, bias=False),
                nn.BatchNorm2d(planes * self.expansion))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + self.shortcut(x))


class ResNetD(nn.Module):
    """A 3x3 stem, three stages (16/32/64 `planes` by default, stride 1/2/2), pool, linear."""

    def __init__(self, block: type, per_stage: int = 2, num_classes: int = 10,
                 widths: tuple[int, ...] = WIDTHS) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, widths[0], 3, 1, 1, bias=False),
                                  nn.BatchNorm2d(widths[0]), nn.ReLU(inplace=True))
        layers, inplanes = [], widths[0]
        for index, planes in enumerate(widths):
            for i in range(per_stage):
                stride = 2 if index > 0 and i == 0 else 1
                layers.append(block(inplanes, planes, stride))
                inplanes = planes * block.expansion
        self.layers = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(inplanes, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.flatten(self.pool(self.layers(self.stem(x))), 1))


def resnet_d_basic() -> ResNetD:
    """ResNet-D with basic blocks (average-pool shortcuts)."""
    return ResNetD(BasicBlockD)


def resnet_d_bottleneck() -> ResNetD:
    """ResNet-D with bottleneck blocks (max-pool shortcuts)."""
    return ResNetD(BottleneckD)


def resnet_d_constant_width() -> ResNetD:
    """Basic blocks at 32 channels throughout: the strided blocks keep the width, so their
    shortcut projects for the stride alone (the case a width-only projection rule misses)."""
    return ResNetD(BasicBlockD, widths=(32, 32, 32))
