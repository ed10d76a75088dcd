"""Exercise 5, reference solution: the stride-2 block projects its shortcut (stride 2).

练习 5 参考答案：步幅为 2 的块对捷径做投影（步幅 2）。
"""

from collections import OrderedDict

import torch
from torch import nn

INPUT_SHAPE = (1, 3, 8, 8)


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
        x = x + shortcut
        return self.relu(x)


def build():
    return nn.Sequential(OrderedDict(
        stem=nn.Sequential(nn.Conv2d(3, 16, kernel_size=7, stride=2, padding=3, bias=False),
                           nn.BatchNorm2d(16), nn.ReLU(),
                           nn.MaxPool2d(kernel_size=3, stride=2, padding=1)),    # 8x8 -> 2x2
        stack1=nn.Sequential(Block(16, 8, groups=4),
                             Block(16, 8, groups=4, conv_shortcut=False)),      # 16 ch, 2x2
        # same width, but stride 2: the shortcut must be strided too, so it projects
        stack2=nn.Sequential(Block(16, 8, strides=2, groups=4, conv_shortcut=True)),
        pool=nn.AdaptiveAvgPool2d(1),
        flatten=nn.Flatten(),
        fc=nn.Linear(16, 10),
    ))


if __name__ == "__main__":
    print(build().eval()(torch.randn(INPUT_SHAPE)).shape)
