"""Exercise 2: the Keras `conv_shortcut=False` homework.

练习 2：Keras 作业中的 `conv_shortcut=False` 问题。

The homework's ResNeXt `block()` and `stack()`, in PyTorch (the 365天深度学习训练营 J6/J7 ResNeXt homework and its two answer pages). The
homework asks why `x = Add()([x, shortcut])` raises no error with `conv_shortcut=False`.
The first answer page answers that Add zero-pads or broadcasts the smaller tensor, and someone believed
it: `stack_simplified()` drops every projection. Make the network work the way the homework's
`stack()` does, and decide whether the first answer page's claim is true.

作业代码中的 ResNeXt `block()` 与 `stack()`（365天深度学习训练营 J6/J7 的 ResNeXt 作业及其两篇解答）。作业问：`conv_shortcut=False`
时 `x = Add()([x, shortcut])` 为什么不报错？第一篇解答说 Add 会自动补零或广播较小的张量，
于是有人写了去掉所有投影的 `stack_simplified()`。请让网络像作业代码的 `stack()` 一样工作，
并判断第一篇解答的说法是否正确。

    shapecheck exercises check 2 THIS_FILE.py
"""

from collections import OrderedDict

import torch
from torch import nn

INPUT_SHAPE = (1, 3, 64, 64)

# The first answer page: "Add() automatically zero-pads or broadcasts the smaller tensor, so different
# channel counts are fine." True or False?
# 第一篇解答：“Add() 会自动补零或广播较小的张量，所以通道数不同也没关系。”对还是错？
ADD_PADS_OR_BROADCASTS = True


class Block(nn.Module):
    """The homework's block(): 1x1 conv, grouped 3x3 conv (stride), 1x1 conv to filters * 2, add.

    The shortcut is a strided 1x1 conv + BN to filters * 2 channels when `conv_shortcut`,
    else the input itself. (The seed splits the 3x3 conv into `groups` slices by hand; one
    conv with `groups=` computes the same thing, see exercise 11.)
    """

    def __init__(self, in_channels, filters, strides=1, groups=32, conv_shortcut=True):
        super().__init__()
        self.shortcut = None
        if conv_shortcut:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_channels, filters * 2, kernel_size=1, stride=strides, bias=False),
                nn.BatchNorm2d(filters * 2, eps=1.001e-5))
        self.conv1 = nn.Conv2d(in_channels, filters, kernel_size=1, bias=False)
        self.bn1 = nn.BatchNorm2d(filters, eps=1.001e-5)
        self.grouped = nn.Conv2d(filters, filters, kernel_size=3, stride=strides, padding=1,
                                 groups=groups, bias=False)
        self.bn2 = nn.BatchNorm2d(filters, eps=1.001e-5)
        self.conv3 = nn.Conv2d(filters, filters * 2, kernel_size=1, bias=False)
        self.bn3 = nn.BatchNorm2d(filters * 2, eps=1.001e-5)
        self.relu = nn.ReLU()

    def forward(self, x):
        shortcut = x if self.shortcut is None else self.shortcut(x)
        x = self.relu(self.bn1(self.conv1(x)))
        x = self.relu(self.bn2(self.grouped(x)))
        x = self.bn3(self.conv3(x))
        x = x + shortcut  # Keras: x = Add()([x, shortcut])
        return self.relu(x)


def stack(in_channels, filters, blocks, strides, groups=32):
    """The homework's stack(): the first block projects, then `blocks` identity blocks."""
    layers = [Block(in_channels, filters, strides=strides, groups=groups)]
    for _ in range(blocks):
        layers.append(Block(filters * 2, filters, groups=groups, conv_shortcut=False))
    return nn.Sequential(*layers)


def stack_simplified(in_channels, filters, blocks, strides, groups=32):
    """stack() "simplified" on the first answer page's belief that Add pads: no projection anywhere."""
    layers = [Block(in_channels, filters, strides=strides, groups=groups, conv_shortcut=False)]
    for _ in range(blocks):
        layers.append(Block(filters * 2, filters, groups=groups, conv_shortcut=False))
    return nn.Sequential(*layers)


def build():
    return nn.Sequential(OrderedDict(
        stem=nn.Sequential(nn.Conv2d(3, 32, kernel_size=3, stride=2, padding=1, bias=False),
                           nn.BatchNorm2d(32, eps=1.001e-5), nn.ReLU()),
        stack1=stack(32, 32, 1, strides=1, groups=8),             # 32 -> 64 channels
        stack2=stack_simplified(64, 64, 1, strides=2, groups=8),  # 64 -> 128 channels, /2
        stack3=stack(128, 128, 1, strides=2, groups=8),           # 128 -> 256 channels, /2
        pool=nn.AdaptiveAvgPool2d(1),
        flatten=nn.Flatten(),
        fc=nn.Linear(256, 10),
    ))


if __name__ == "__main__":
    print(build().eval()(torch.randn(INPUT_SHAPE)).shape)
