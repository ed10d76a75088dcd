"""The Keras ResNeXt residual unit from the boot-camp homework (the 365天深度学习训练营 J6/J7 ResNeXt homework and its two answer pages), in PyTorch.

The homework asks why `x = Add()([x, shortcut])` does not fail when `conv_shortcut=False`
although the channel counts "differ". The first answer page answers that the add zero-pads or broadcasts
the smaller tensor; that is wrong (neither Keras `Add` nor PyTorch `+` ever pads). The real
answer is in `stack`: its first block always projects to `filters * 2` channels with the
stack's stride, so every later block receives exactly `filters * 2` channels at an unchanged
size and its identity add matches. This file is that system, used as the seed uses it, and
it is correct: a ResNeXt-50 (32x4d) whose 16 residual adds all have equal operand shapes.
`keras_resnext_buggy.py` shows the misuses where `conv_shortcut=False` does break.

Ported faithfully, including two quirks of the seed:
- `stack(..., blocks, ...)` builds `blocks + 1` blocks (one projection block, then
  `for i in range(blocks)` identity blocks), so ResNeXt-50's 3/4/6/3 blocks per stack are
  requested as `blocks` = 2/3/5/2.
- The grouped 3x3 convolution is written Keras-style: split the channels into `groups`
  slices, convolve each slice with its own conv, concatenate. Iterating over
  `torch.chunk(...)` defeats `torch.fx.symbolic_trace` on purpose, so shapecheck has to use
  its fallback tracer on this model.

Keras' `padding='same'` equals PyTorch `padding=k // 2` here: for odd kernels and these
strides both give `ceil(size / stride)`. The residual add is the line `x = x + shortcut` in
`Block.forward`; findings on networks built from these blocks point at it.
"""

from __future__ import annotations

from collections import OrderedDict

import torch
from torch import nn

INPUT_SHAPE = (1, 3, 224, 224)

# Keras' BatchNormalization(epsilon=1.001e-5) from the seed.
BN_EPS = 1.001e-5


class GroupedConvBlock(nn.Module):
    """Keras-style grouped 3x3 conv: split into `groups` slices, conv each, concat, BN, ReLU.

    Equivalent to one `nn.Conv2d(channels, channels, 3, strides, 1, groups=groups)` (the
    split-transform-merge view of ResNeXt), written the long way as the homework does.

    Args:
        channels: input and output channels (`groups * g_channels`).
        strides: stride of every per-group conv.
        groups: number of slices (the cardinality).
        g_channels: channels per slice.
    """

    def __init__(self, channels: int, strides: int, groups: int, g_channels: int) -> None:
        super().__init__()
        self.groups = groups
        self.convs = nn.ModuleList(
            nn.Conv2d(g_channels, g_channels, kernel_size=3, stride=strides, padding=1, bias=False)
            for _ in range(groups)
        )
        self.bn = nn.BatchNorm2d(channels, eps=BN_EPS)
        self.relu = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # Iterating over the chunks is what makes symbolic tracing fail (a Proxy cannot be
        # iterated); kept on purpose, it is how the Keras code reads.
        outs = [conv(chunk) for conv, chunk in zip(self.convs, torch.chunk(x, self.groups, dim=1))]
        return self.relu(self.bn(torch.cat(outs, dim=1)))


class Block(nn.Module):
    """The seed's `block()`: ResNeXt bottleneck with a projection or an identity shortcut.

    Main branch: 1x1 conv to `filters` + BN + ReLU, grouped 3x3 conv (stride `strides`),
    1x1 conv to `filters * 2` + BN. Shortcut: 1x1 conv to `filters * 2` (stride `strides`)
    + BN when `conv_shortcut`, else the input itself. Output: ReLU(main + shortcut).

    Args:
        in_channels: channels of the input (Keras infers them; PyTorch needs them).
        filters: bottleneck width; the block outputs `filters * 2` channels.
        strides: stride of the grouped conv and of the projection.
        groups: cardinality; each group has `filters // groups` channels.
        conv_shortcut: project the shortcut (True) or add the input unchanged (False).
    """

    def __init__(self, in_channels: int, filters: int, strides: int = 1, groups: int = 32,
                 conv_shortcut: bool = True) -> None:
        super().__init__()
        self.out_channels = filters * 2
        # None rather than nn.Identity: the seed's `shortcut = x`, and no placeholder node.
        self.shortcut: nn.Module | None = None
        if conv_shortcut:
            self.shortcut = nn.Sequential(OrderedDict(
                conv=nn.Conv2d(in_channels, filters * 2, kernel_size=1, stride=strides, bias=False),
                bn=nn.BatchNorm2d(filters * 2, eps=BN_EPS),
            ))
        self.conv1 = nn.Conv2d(in_channels, filters, kernel_size=1, bias=False)
        self.bn1 = nn.BatchNorm2d(filters, eps=BN_EPS)
        self.relu1 = nn.ReLU()
        g_channels = int(filters / groups)
        self.grouped = GroupedConvBlock(filters, strides, groups, g_channels)
        self.conv3 = nn.Conv2d(filters, filters * 2, kernel_size=1, bias=False)
        self.bn3 = nn.BatchNorm2d(filters * 2, eps=BN_EPS)
        self.relu3 = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shortcut = x if self.shortcut is None else self.shortcut(x)
        x = self.relu1(self.bn1(self.conv1(x)))
        x = self.grouped(x)
        x = self.bn3(self.conv3(x))
        x = x + shortcut  # the residual add (Keras: Add()([x, shortcut]))
        return self.relu3(x)


def stack(in_channels: int, filters: int, blocks: int, strides: int, groups: int = 32) -> nn.Sequential:
    """The seed's `stack()`: one projection block, then `blocks` identity blocks.

    The first block raises the width to `filters * 2` and applies the stride, which is why
    the identity blocks after it always match. Note the seed's quirk: `blocks + 1` blocks.

    >>> len(stack(64, 128, 2, 1))
    3
    """
    layers = [Block(in_channels, filters, strides=strides, groups=groups)]
    for _ in range(blocks):
        layers.append(Block(filters * 2, filters, groups=groups, conv_shortcut=False))
    return nn.Sequential(*layers)


class ResNeXtNet(nn.Sequential):
    """Stem, the given stacks (named `stack1`, `stack2`, ...), global average pool, classifier.

    Stem as in Keras ResNet/ResNeXt: 7x7/2 conv to `stem_channels` + BN + ReLU + 3x3/2
    max pool. The classifier's input width is the last block's `out_channels`.

    Args:
        stacks: the stacks in order, each an `nn.Sequential` of `Block`s.
        stem_channels: output channels of the stem conv.
        num_classes: classifier outputs.
    """

    def __init__(self, stacks: list[nn.Sequential], stem_channels: int = 64, num_classes: int = 1000) -> None:
        stem = nn.Sequential(OrderedDict(
            conv=nn.Conv2d(3, stem_channels, kernel_size=7, stride=2, padding=3, bias=False),
            bn=nn.BatchNorm2d(stem_channels, eps=BN_EPS),
            relu=nn.ReLU(),
            pool=nn.MaxPool2d(kernel_size=3, stride=2, padding=1),
        ))
        layers: OrderedDict[str, nn.Module] = OrderedDict(stem=stem)
        for i, s in enumerate(stacks, start=1):
            layers[f"stack{i}"] = s
        layers["pool"] = nn.AdaptiveAvgPool2d(1)
        layers["flatten"] = nn.Flatten()
        layers["fc"] = nn.Linear(stacks[-1][-1].out_channels, num_classes)
        super().__init__(layers)


# (filters, blocks as the seed's stack() counts them, strides) of ResNeXt-50 32x4d.
RESNEXT50_STACKS = ((128, 2, 1), (256, 3, 2), (512, 5, 2), (1024, 2, 2))


def resnext_stacks(specs: tuple[tuple[int, int, int], ...], in_channels: int = 64,
                   groups: int = 32) -> list[nn.Sequential]:
    """Chain `stack()` calls, feeding each stack's `filters * 2` outputs into the next."""
    stacks = []
    for filters, blocks, strides in specs:
        stacks.append(stack(in_channels, filters, blocks, strides, groups))
        in_channels = filters * 2
    return stacks


def build() -> nn.Module:
    """ResNeXt-50 32x4d from the seed's `stack()`: 3/4/6/3 blocks, 2048 features, 1000 classes.

    Correct: every one of its 16 residual adds has equal operand shapes.
    """
    return ResNeXtNet(resnext_stacks(RESNEXT50_STACKS))
