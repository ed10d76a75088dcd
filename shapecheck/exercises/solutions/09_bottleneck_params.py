"""Exercise 9, reference solution: the last 1x1 conv expands back to 256 channels.

练习 9 参考答案：最后一个 1x1 卷积把通道数恢复到 256。
"""

from collections import OrderedDict

import torch
from torch import nn

INPUT_SHAPE = (1, 256, 14, 14)

BASIC_PARAMS = 3 * 3 * 256 * 256 * 2                     # 1,179,648
BOTTLENECK_PARAMS = 1 * 1 * 256 * 64 + 3 * 3 * 64 * 64 + 1 * 1 * 64 * 256  # 69,632


def conv(in_channels, out_channels, kernel_size):
    return nn.Conv2d(in_channels, out_channels, kernel_size, padding=kernel_size // 2, bias=False)


def norm(channels):
    return nn.BatchNorm2d(channels, affine=False)  # no parameters


class BasicBlock(nn.Module):
    """Two 3x3 convs at `channels` channels, identity shortcut."""

    def __init__(self, channels):
        super().__init__()
        self.conv1, self.bn1 = conv(channels, channels, 3), norm(channels)
        self.conv2, self.bn2 = conv(channels, channels, 3), norm(channels)
        self.relu = nn.ReLU()

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + x)


class Bottleneck(nn.Module):
    """1x1 down to `reduced` channels, 3x3 at `reduced`, 1x1 back up; identity shortcut."""

    def __init__(self, channels, reduced):
        super().__init__()
        self.reduce, self.bn1 = conv(channels, reduced, 1), norm(reduced)
        self.conv, self.bn2 = conv(reduced, reduced, 3), norm(reduced)
        # expand back to the block's width, or the add meets `reduced` vs `channels` channels
        self.expand, self.bn3 = conv(reduced, channels, 1), norm(channels)
        self.relu = nn.ReLU()

    def forward(self, x):
        out = self.relu(self.bn1(self.reduce(x)))
        out = self.relu(self.bn2(self.conv(out)))
        out = self.bn3(self.expand(out))
        return self.relu(out + x)


def build():
    return nn.Sequential(OrderedDict(basic=BasicBlock(256), bottleneck=Bottleneck(256, 64)))


if __name__ == "__main__":
    print(build().eval()(torch.randn(INPUT_SHAPE)).shape)
