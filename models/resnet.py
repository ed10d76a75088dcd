"""ResNet, ResNeXt and Wide ResNet for ImageNet, written to be read.

Reproduces the architectures of Table 1 of He et al., "Deep Residual Learning for
Image Recognition" (CVPR 2016): ResNet-18/34 built from basic blocks (two 3x3 convs)
and ResNet-50/101/152 built from bottleneck blocks (1x1 reduce, 3x3, 1x1 expand), with
the stride on the 3x3 conv ("ResNet v1.5", as in torchvision). ResNeXt (Xie et al.,
"Aggregated Residual Transformations for Deep Neural Networks", CVPR 2017) and Wide
ResNet (Zagoruyko & Komodakis, "Wide Residual Networks", BMVC 2016) are the same
bottleneck with a grouped 3x3 conv or a wider one: a change of parameters, not a new
class.

Module and parameter names equal torchvision's (``conv1``, ``bn1``, ``layer1.0.conv1``,
``layer2.0.downsample.0``, ``fc``...), so a torchvision ``state_dict`` loads with
``strict=True`` and the parameter counts equal torchvision's.

This file is a ``shapecheck`` target on its own (it imports nothing from its package)::

    shapecheck models/resnet.py:resnet50

Example:
    >>> import torch
    >>> with torch.device("meta"):
    ...     model = resnet18()
    >>> model(torch.empty(INPUT_SHAPE, device="meta")).shape
    torch.Size([1, 1000])
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence, Union

import torch
from torch import Tensor, nn

__all__ = [
    "INPUT_SHAPE",
    "BasicBlock",
    "Bottleneck",
    "ResNet",
    "BlockSpec",
    "StageSpec",
    "plan_stages",
    "resnet18",
    "resnet34",
    "resnet50",
    "resnet101",
    "resnet152",
    "resnext50_32x4d",
    "resnext101_32x8d",
    "wide_resnet50_2",
]

INPUT_SHAPE = (1, 3, 224, 224)

STAGE_WIDTHS = (64, 128, 256, 512)  # `planes` of layer1..layer4 (Table 1)
STEM_CHANNELS = 64
STEM_REDUCTION = 4  # conv1 stride 2, then maxpool stride 2


def conv3x3(in_planes: int, out_planes: int, stride: int = 1, groups: int = 1) -> nn.Conv2d:
    """3x3 convolution with padding 1 and no bias (a BatchNorm follows it).

    Example:
        >>> conv3x3(64, 128, stride=2).weight.shape
        torch.Size([128, 64, 3, 3])
    """
    return nn.Conv2d(in_planes, out_planes, kernel_size=3, stride=stride, padding=1,
                     groups=groups, bias=False)


def conv1x1(in_planes: int, out_planes: int, stride: int = 1) -> nn.Conv2d:
    """1x1 convolution with no bias, used to change the width (and stride) cheaply.

    Example:
        >>> conv1x1(256, 64).weight.shape
        torch.Size([64, 256, 1, 1])
    """
    return nn.Conv2d(in_planes, out_planes, kernel_size=1, stride=stride, bias=False)


def projection_shortcut(inplanes: int, outplanes: int, stride: int) -> Optional[nn.Sequential]:
    """The shortcut a block needs: None for identity, else a strided 1x1 conv + BatchNorm.

    The rule is the one every correct residual block obeys: an identity shortcut is only
    possible when the main branch keeps both the resolution and the channel count.

    Args:
        inplanes: Channels entering the block.
        outplanes: Channels leaving the main branch (``planes * expansion``).
        stride: Stride of the main branch.

    Example:
        >>> projection_shortcut(64, 64, 1) is None
        True
        >>> projection_shortcut(64, 256, 1)[0].weight.shape
        torch.Size([256, 64, 1, 1])
    """
    if stride != 1 or inplanes != outplanes:
        return nn.Sequential(conv1x1(inplanes, outplanes, stride), nn.BatchNorm2d(outplanes))
    return None


class BasicBlock(nn.Module):
    """Two 3x3 convs and a shortcut: the block of ResNet-18 and ResNet-34.

    Args:
        inplanes: Channels of the block's input.
        planes: Channels of both convs and of the output (``expansion`` is 1).
        stride: Stride of the first conv; 2 halves the resolution.
        groups: Must be 1 (grouped basic blocks are not part of the paper).
        base_width: Must be 64 (basic blocks have no width knob).

    Example:
        >>> block = BasicBlock(64, 128, stride=2)
        >>> block(torch.zeros(1, 64, 8, 8)).shape
        torch.Size([1, 128, 4, 4])
    """

    expansion: int = 1

    def __init__(self, inplanes: int, planes: int, stride: int = 1, groups: int = 1,
                 base_width: int = 64) -> None:
        super().__init__()
        if groups != 1 or base_width != 64:
            raise ValueError("BasicBlock only supports groups=1 and base_width=64")
        self.conv1 = conv3x3(inplanes, planes, stride)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = conv3x3(planes, planes)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = projection_shortcut(inplanes, planes * self.expansion, stride)
        self.stride = stride

    def forward(self, x: Tensor) -> Tensor:
        identity = x

        out = self.conv1(x)
        out = self.bn1(out)
        out = self.relu(out)

        out = self.conv2(out)
        out = self.bn2(out)

        if self.downsample is not None:
            identity = self.downsample(x)

        out += identity
        out = self.relu(out)
        return out


class Bottleneck(nn.Module):
    """1x1 reduce, 3x3 (strided, optionally grouped), 1x1 expand, and a shortcut.

    The block of ResNet-50/101/152, ResNeXt and Wide ResNet. The inner width is
    ``int(planes * base_width / 64) * groups``: 64 for a ResNet-50 ``layer1`` block,
    128 split into 32 groups of 4 for ResNeXt-50 32x4d, 128 for Wide ResNet-50-2.
    The stride sits on the 3x3 conv (torchvision's "v1.5"), not on the first 1x1.

    Args:
        inplanes: Channels of the block's input.
        planes: Stage width; the block outputs ``planes * expansion`` channels.
        stride: Stride of the 3x3 conv; 2 halves the resolution.
        groups: Groups of the 3x3 conv (ResNeXt's cardinality).
        base_width: Channels per group at ``planes == 64`` (64 for ResNet, 4 for
            ResNeXt 32x4d, 128 for Wide ResNet-50-2).

    Example:
        >>> block = Bottleneck(256, 64)
        >>> block(torch.zeros(1, 256, 8, 8)).shape
        torch.Size([1, 256, 8, 8])
    """

    expansion: int = 4

    def __init__(self, inplanes: int, planes: int, stride: int = 1, groups: int = 1,
                 base_width: int = 64) -> None:
        super().__init__()
        width = int(planes * (base_width / 64.0)) * groups
        self.conv1 = conv1x1(inplanes, width)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = conv3x3(width, width, stride, groups)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = conv1x1(width, planes * self.expansion)
        self.bn3 = nn.BatchNorm2d(planes * self.expansion)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = projection_shortcut(inplanes, planes * self.expansion, stride)
        self.stride = stride

    def forward(self, x: Tensor) -> Tensor:
        identity = x

        out = self.conv1(x)
        out = self.bn1(out)
        out = self.relu(out)

        out = self.conv2(out)
        out = self.bn2(out)
        out = self.relu(out)

        out = self.conv3(out)
        out = self.bn3(out)

        if self.downsample is not None:
            identity = self.downsample(x)

        out += identity
        out = self.relu(out)
        return out


BlockType = Union[type[BasicBlock], type[Bottleneck]]


@dataclass(frozen=True)
class BlockSpec:
    """What one block is built with: its input channels, stage width and stride."""

    inplanes: int
    planes: int
    stride: int


@dataclass(frozen=True)
class StageSpec:
    """One stage (``layer1``..``layer4``): its blocks and the shape it produces.

    ``num_chs`` is the stage's output channel count and ``reduction`` its total stride
    relative to the input image: a ready-made shape summary (timm's ``feature_info``).
    """

    name: str
    blocks: tuple[BlockSpec, ...]
    num_chs: int
    reduction: int


def plan_stages(layers: Sequence[int], expansion: int,
                widths: Sequence[int] = STAGE_WIDTHS,
                stem_channels: int = STEM_CHANNELS,
                stem_reduction: int = STEM_REDUCTION) -> tuple[StageSpec, ...]:
    """Channel and stride bookkeeping for every block, computed without building anything.

    The first stage keeps the stem's resolution; every later stage halves it in its first
    block. Each block's input is the previous block's output (``planes * expansion``).

    Args:
        layers: Number of blocks per stage, e.g. ``(3, 4, 6, 3)`` for ResNet-50.
        expansion: The block's ``expansion`` (1 basic, 4 bottleneck).
        widths: ``planes`` of each stage.
        stem_channels: Channels produced by the stem.
        stem_reduction: Total stride of the stem.

    Returns:
        One ``StageSpec`` per stage.

    Example:
        >>> stages = plan_stages((2, 2, 2, 2), expansion=1)
        >>> [(s.num_chs, s.reduction) for s in stages]
        [(64, 4), (128, 8), (256, 16), (512, 32)]
        >>> stages[1].blocks[0]
        BlockSpec(inplanes=64, planes=128, stride=2)
    """
    if len(layers) != len(widths):
        raise ValueError(f"{len(layers)} stage depths for {len(widths)} stage widths")
    stages = []
    inplanes, reduction = stem_channels, stem_reduction
    for index, (depth, planes) in enumerate(zip(layers, widths)):
        stride = 1 if index == 0 else 2
        blocks = tuple(
            BlockSpec(inplanes if i == 0 else planes * expansion, planes, stride if i == 0 else 1)
            for i in range(depth)
        )
        inplanes, reduction = planes * expansion, reduction * stride
        stages.append(StageSpec(f"layer{index + 1}", blocks, inplanes, reduction))
    return tuple(stages)


class ResNet(nn.Module):
    """Stem, four stages of residual blocks, global average pool, linear classifier.

    Args:
        block: ``BasicBlock`` or ``Bottleneck``.
        layers: Blocks per stage (Table 1: ``(2, 2, 2, 2)`` for ResNet-18...).
        num_classes: Outputs of ``fc``.
        in_channels: Channels of the input image.
        groups: Groups of every bottleneck's 3x3 conv (ResNeXt cardinality).
        width_per_group: Bottleneck ``base_width``.
        zero_init_residual: Start each block's last BatchNorm at zero, so that every
            block begins as the identity (Goyal et al., 2017).

    Attributes:
        stage_specs: The ``plan_stages`` result the stages were built from: per stage,
            its blocks, output channels and total stride.

    Example:
        >>> model = ResNet(BasicBlock, [1, 1, 1, 1], num_classes=10)
        >>> model(torch.zeros(2, 3, 64, 64)).shape
        torch.Size([2, 10])
        >>> [(s.name, s.num_chs, s.reduction) for s in model.stage_specs][-1]
        ('layer4', 512, 32)
    """

    def __init__(self, block: BlockType, layers: Sequence[int], num_classes: int = 1000,
                 in_channels: int = 3, groups: int = 1, width_per_group: int = 64,
                 zero_init_residual: bool = False) -> None:
        super().__init__()
        self.stage_specs = plan_stages(layers, block.expansion)

        self.conv1 = nn.Conv2d(in_channels, STEM_CHANNELS, kernel_size=7, stride=2, padding=3,
                               bias=False)
        self.bn1 = nn.BatchNorm2d(STEM_CHANNELS)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = self._make_layer(block, self.stage_specs[0], groups, width_per_group)
        self.layer2 = self._make_layer(block, self.stage_specs[1], groups, width_per_group)
        self.layer3 = self._make_layer(block, self.stage_specs[2], groups, width_per_group)
        self.layer4 = self._make_layer(block, self.stage_specs[3], groups, width_per_group)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(self.stage_specs[-1].num_chs, num_classes)

        self._init_weights(zero_init_residual)

    @staticmethod
    def _make_layer(block: BlockType, stage: StageSpec, groups: int,
                    base_width: int) -> nn.Sequential:
        return nn.Sequential(*(
            block(spec.inplanes, spec.planes, spec.stride, groups, base_width)
            for spec in stage.blocks
        ))

    def _init_weights(self, zero_init_residual: bool) -> None:
        # torchvision's initialisation, so that a fresh model behaves like theirs
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.constant_(m.weight, 1)
                nn.init.constant_(m.bias, 0)
        if zero_init_residual:
            for m in self.modules():
                if isinstance(m, Bottleneck):
                    nn.init.constant_(m.bn3.weight, 0)
                elif isinstance(m, BasicBlock):
                    nn.init.constant_(m.bn2.weight, 0)

    def forward(self, x: Tensor) -> Tensor:
        x = self.conv1(x)
        x = self.bn1(x)
        x = self.relu(x)
        x = self.maxpool(x)

        x = self.layer1(x)
        x = self.layer2(x)
        x = self.layer3(x)
        x = self.layer4(x)

        x = self.avgpool(x)
        x = torch.flatten(x, 1)
        x = self.fc(x)
        return x


def resnet18() -> ResNet:
    """ResNet-18: basic blocks, ``(2, 2, 2, 2)``; 11,689,512 parameters."""
    return ResNet(BasicBlock, [2, 2, 2, 2])


def resnet34() -> ResNet:
    """ResNet-34: basic blocks, ``(3, 4, 6, 3)``; 21,797,672 parameters."""
    return ResNet(BasicBlock, [3, 4, 6, 3])


def resnet50() -> ResNet:
    """ResNet-50: bottlenecks, ``(3, 4, 6, 3)``; 25,557,032 parameters."""
    return ResNet(Bottleneck, [3, 4, 6, 3])


def resnet101() -> ResNet:
    """ResNet-101: bottlenecks, ``(3, 4, 23, 3)``; 44,549,160 parameters."""
    return ResNet(Bottleneck, [3, 4, 23, 3])


def resnet152() -> ResNet:
    """ResNet-152: bottlenecks, ``(3, 8, 36, 3)``; 60,192,808 parameters."""
    return ResNet(Bottleneck, [3, 8, 36, 3])


def resnext50_32x4d() -> ResNet:
    """ResNeXt-50 32x4d: ResNet-50 with 32 groups of 4 channels; 25,028,904 parameters."""
    return ResNet(Bottleneck, [3, 4, 6, 3], groups=32, width_per_group=4)


def resnext101_32x8d() -> ResNet:
    """ResNeXt-101 32x8d: ResNet-101 with 32 groups of 8 channels; 88,791,336 parameters."""
    return ResNet(Bottleneck, [3, 4, 23, 3], groups=32, width_per_group=8)


def wide_resnet50_2() -> ResNet:
    """Wide ResNet-50-2: ResNet-50 with bottlenecks twice as wide; 68,883,240 parameters."""
    return ResNet(Bottleneck, [3, 4, 6, 3], width_per_group=64 * 2)
