"""The d2l.ai ResNet-18 for 96x96 grayscale images (Fashion-MNIST resized), 10 classes.

Reproduces the network of "Dive into Deep Learning", section 8.6 "Residual Networks
(ResNet) and ResNeXt" (Zhang, Lipton, Li & Smola), which follows He et al., "Deep
Residual Learning for Image Recognition" (CVPR 2016): a stem (7x7/2 conv with 64
channels, BatchNorm, ReLU, 3x3/2 max pool), four stages of two ``Residual`` blocks with
64, 128, 256 and 512 channels (the first stage keeps the resolution, each later one
halves it in its first block with a strided 1x1 conv on the shortcut), global average
pooling and a linear layer to 10 classes.

Differences from the book's code, none of which changes a shape or a parameter:
``nn.Conv2d``/``nn.BatchNorm2d`` with explicit input channels instead of the
``Lazy`` modules (so the model builds on the meta device and counts its parameters
before any forward), and the classifier child is named ``head`` (the book: ``last``).
The convs keep the book's default ``bias=True``.

The top-level children are ``b1``..``b5`` and ``head``, so iterating over them on a
(1, 1, 96, 96) input prints the book's layer summary: (1, 64, 24, 24), (1, 64, 24, 24),
(1, 128, 12, 12), (1, 256, 6, 6), (1, 512, 3, 3), (1, 10).

This file is a ``shapecheck`` target on its own::

    shapecheck models/d2l_resnet.py:d2l_resnet18

Example:
    >>> import torch
    >>> model = d2l_resnet18()
    >>> [tuple(s) for s in layer_summary(model, torch.zeros(INPUT_SHAPE))][-1]
    (1, 10)
"""

from __future__ import annotations

from typing import Optional, Sequence

import torch
from torch import Tensor, nn
from torch.nn import functional as F

__all__ = ["INPUT_SHAPE", "ARCH_18", "Residual", "D2LResNet", "layer_summary", "d2l_resnet18"]

INPUT_SHAPE = (1, 1, 96, 96)

ARCH_18 = ((2, 64), (2, 128), (2, 256), (2, 512))  # (blocks, channels) per stage


class Residual(nn.Module):
    """The book's residual block: conv3x3 -> BN -> ReLU -> conv3x3 -> BN, add, ReLU.

    Args:
        input_channels: Channels of the block's input.
        num_channels: Channels of both convs and of the output.
        use_1x1conv: Put a 1x1 conv (with ``strides``) on the shortcut. Needed whenever
            the block changes the channel count or the resolution.
        strides: Stride of the first conv and of the shortcut conv.

    Example:
        >>> Residual(3, 3)(torch.zeros(4, 3, 6, 6)).shape
        torch.Size([4, 3, 6, 6])
        >>> Residual(3, 6, use_1x1conv=True, strides=2)(torch.zeros(4, 3, 6, 6)).shape
        torch.Size([4, 6, 3, 3])
    """

    def __init__(self, input_channels: int, num_channels: int, use_1x1conv: bool = False,
                 strides: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(input_channels, num_channels, kernel_size=3, padding=1,
                               stride=strides)
        self.conv2 = nn.Conv2d(num_channels, num_channels, kernel_size=3, padding=1)
        self.conv3: Optional[nn.Conv2d] = None
        if use_1x1conv:
            self.conv3 = nn.Conv2d(input_channels, num_channels, kernel_size=1, stride=strides)
        self.bn1 = nn.BatchNorm2d(num_channels)
        self.bn2 = nn.BatchNorm2d(num_channels)

    def forward(self, X: Tensor) -> Tensor:
        Y = F.relu(self.bn1(self.conv1(X)))
        Y = self.bn2(self.conv2(Y))
        if self.conv3 is not None:
            X = self.conv3(X)
        Y += X
        return F.relu(Y)


def stem(input_channels: int) -> nn.Sequential:
    """The book's ``b1``: 7x7/2 conv to 64 channels, BN, ReLU, 3x3/2 max pool (stride 4).

    Example:
        >>> stem(1)(torch.zeros(1, 1, 96, 96)).shape
        torch.Size([1, 64, 24, 24])
    """
    return nn.Sequential(
        nn.Conv2d(input_channels, 64, kernel_size=7, stride=2, padding=3),
        nn.BatchNorm2d(64),
        nn.ReLU(),
        nn.MaxPool2d(kernel_size=3, stride=2, padding=1),
    )


def stage(input_channels: int, num_channels: int, num_residuals: int,
          first_block: bool = False) -> nn.Sequential:
    """One stage of ``num_residuals`` blocks; all but the first stage downsample first.

    Args:
        input_channels: Channels entering the stage.
        num_channels: Channels of every block in the stage.
        num_residuals: Number of blocks.
        first_block: The network's first stage, which keeps the stem's resolution and
            width and so needs no projection.

    Example:
        >>> stage(64, 128, 2)(torch.zeros(1, 64, 24, 24)).shape
        torch.Size([1, 128, 12, 12])
    """
    blocks = []
    for i in range(num_residuals):
        if i == 0 and not first_block:
            blocks.append(Residual(input_channels, num_channels, use_1x1conv=True, strides=2))
        else:
            blocks.append(Residual(num_channels, num_channels))
    return nn.Sequential(*blocks)


class D2LResNet(nn.Sequential):
    """``b1`` (stem), ``b2``..``b5`` (stages), ``head`` (pool, flatten, linear).

    A ``Sequential``, as in the book, so that iterating over it walks the stages.

    Args:
        arch: ``(num_residuals, num_channels)`` per stage, e.g. ``ARCH_18``. As in the
            book, the first stage has no projection, so its width must be the stem's 64.
        input_channels: Channels of the input image (1 for Fashion-MNIST).
        num_classes: Outputs of the final linear layer.

    Example:
        >>> model = D2LResNet(((1, 64), (1, 128)), input_channels=1, num_classes=5)
        >>> model(torch.zeros(2, 1, 64, 64)).shape
        torch.Size([2, 5])
    """

    def __init__(self, arch: Sequence[tuple[int, int]], input_channels: int = 1,
                 num_classes: int = 10) -> None:
        super().__init__()
        self.add_module("b1", stem(input_channels))
        channels = 64
        for index, (num_residuals, num_channels) in enumerate(arch):
            self.add_module(f"b{index + 2}",
                            stage(channels, num_channels, num_residuals, first_block=index == 0))
            channels = num_channels
        self.add_module("head", nn.Sequential(
            nn.AdaptiveAvgPool2d((1, 1)), nn.Flatten(), nn.Linear(channels, num_classes)))


def layer_summary(model: nn.Sequential, X: Tensor) -> list[torch.Size]:
    """The output shape of each top-level child, as the book's ``layer_summary`` prints.

    Args:
        model: A ``Sequential`` network such as ``D2LResNet``.
        X: An input batch.

    Returns:
        One shape per child, in order.

    Example:
        >>> layer_summary(nn.Sequential(nn.Flatten(), nn.Linear(4, 2)), torch.zeros(1, 2, 2))
        [torch.Size([1, 4]), torch.Size([1, 2])]
    """
    shapes = []
    for layer in model:
        X = layer(X)
        shapes.append(X.shape)
    return shapes


def d2l_resnet18() -> D2LResNet:
    """The book's ResNet-18 for 1x96x96 inputs and 10 classes."""
    return D2LResNet(ARCH_18, input_channels=1, num_classes=10)
