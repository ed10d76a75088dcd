"""Exercise 2, reference solution: every stack is the homework's `stack()`, whose first block
projects to filters * 2 channels with the stack's stride; Add never pads.

练习 2 参考答案：每个 stack 都用作业代码的 `stack()`，其第一个块用带步幅的 1x1 卷积投影到
filters * 2 个通道；Add 从不补零。
"""

from collections import OrderedDict

import torch
from torch import nn

INPUT_SHAPE = (1, 3, 64, 64)

# False: an add never pads, and broadcasting only stretches a dimension of size 1; a
# 64-channel shortcut added to a 128-channel main branch raises.
# 错：加法从不补零，广播只会拉伸大小为 1 的维度；64 通道的捷径加到 128 通道的主分支上会报错。
ADD_PADS_OR_BROADCASTS = False


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


def build():
    return nn.Sequential(OrderedDict(
        stem=nn.Sequential(nn.Conv2d(3, 32, kernel_size=3, stride=2, padding=1, bias=False),
                           nn.BatchNorm2d(32, eps=1.001e-5), nn.ReLU()),
        stack1=stack(32, 32, 1, strides=1, groups=8),             # 32 -> 64 channels
        stack2=stack(64, 64, 1, strides=2, groups=8),             # 64 -> 128 channels, /2
        stack3=stack(128, 128, 1, strides=2, groups=8),           # 128 -> 256 channels, /2
        pool=nn.AdaptiveAvgPool2d(1),
        flatten=nn.Flatten(),
        fc=nn.Linear(256, 10),
    ))


if __name__ == "__main__":
    print(build().eval()(torch.randn(INPUT_SHAPE)).shape)
