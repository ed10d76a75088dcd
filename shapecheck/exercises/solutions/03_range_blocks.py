"""Exercise 3, reference solution: `stack(..., blocks)` builds exactly `blocks` blocks.

练习 3 参考答案：`stack(..., blocks)` 恰好构建 `blocks` 个块。
"""

from collections import OrderedDict

import torch
from torch import nn

INPUT_SHAPE = (1, 3, 32, 32)
BLOCKS_PER_STACK = 2

# How many residual blocks does the homework's stack(x, filters, blocks=3, strides) build?
# 作业代码的 stack(x, filters, blocks=3, strides) 会构建多少个残差块？
SEED_STACK_BLOCKS_FOR_3 = 4  # one projection block + range(3) identity blocks


class Block(nn.Module):
    """The homework's block(): 1x1, grouped 3x3 (stride), 1x1 to filters * 2; projection or identity."""

    def __init__(self, in_channels, filters, strides=1, groups=32, conv_shortcut=True):
        super().__init__()
        self.shortcut = None
        if conv_shortcut:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_channels, filters * 2, kernel_size=1, stride=strides, bias=False),
                nn.BatchNorm2d(filters * 2))
        self.conv1 = nn.Conv2d(in_channels, filters, kernel_size=1, bias=False)
        self.bn1 = nn.BatchNorm2d(filters)
        self.grouped = nn.Conv2d(filters, filters, kernel_size=3, stride=strides, padding=1,
                                 groups=groups, bias=False)
        self.bn2 = nn.BatchNorm2d(filters)
        self.conv3 = nn.Conv2d(filters, filters * 2, kernel_size=1, bias=False)
        self.bn3 = nn.BatchNorm2d(filters * 2)
        self.relu = nn.ReLU()

    def forward(self, x):
        shortcut = x if self.shortcut is None else self.shortcut(x)
        x = self.relu(self.bn1(self.conv1(x)))
        x = self.relu(self.bn2(self.grouped(x)))
        x = self.bn3(self.conv3(x))
        return self.relu(x + shortcut)


def stack(in_channels, filters, blocks, strides, groups=32):
    """`blocks` residual blocks: one projection block, then `blocks - 1` identity blocks.

    The seed loops over `range(blocks)` after the projection block, which builds
    `blocks + 1` blocks.
    """
    layers = [Block(in_channels, filters, strides=strides, groups=groups)]
    for _ in range(blocks - 1):
        layers.append(Block(filters * 2, filters, groups=groups, conv_shortcut=False))
    return nn.Sequential(*layers)


def build():
    return nn.Sequential(OrderedDict(
        stem=nn.Sequential(nn.Conv2d(3, 16, kernel_size=3, padding=1, bias=False),
                           nn.BatchNorm2d(16), nn.ReLU()),
        stack1=stack(16, 16, BLOCKS_PER_STACK, strides=1, groups=4),
        stack2=stack(32, 32, BLOCKS_PER_STACK, strides=2, groups=4),
        stack3=stack(64, 64, BLOCKS_PER_STACK, strides=2, groups=4),
        pool=nn.AdaptiveAvgPool2d(1),
        flatten=nn.Flatten(),
        fc=nn.Linear(128, 10),
    ))


if __name__ == "__main__":
    print(build().eval()(torch.randn(INPUT_SHAPE)).shape)
