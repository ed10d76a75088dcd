"""Exercise 9: bottleneck arithmetic, two 3x3 convs at 256 channels vs 1x1-3x3-1x1.

练习 9：瓶颈结构的参数计算，256 通道的两个 3x3 卷积与 1x1-3x3-1x1 的对比。

The interview page 【CV面试必会】深度学习网络之Resnet says that two 3x3 convs at 256 channels have
3*3*256*256*2 weights while the bottleneck 1x1 (256->64), 3x3 (64->64), 1x1 (64->256) has
3*3*64*64 + 1*1*256*64*2, about 16.9x fewer. The bottleneck below has a bug; fix it, then
work out both counts and write them into BASIC_PARAMS and BOTTLENECK_PARAMS.
BatchNorm is built with affine=False, so it has no parameters: the counts are the conv
weights, as the page counts them.

面试页面《【CV面试必会】深度学习网络之Resnet》说：256 通道的两个 3x3 卷积有 3*3*256*256*2 个权重，而瓶颈结构
1x1（256->64）、3x3（64->64）、1x1（64->256）只有 3*3*64*64 + 1*1*256*64*2 个，约少 16.9
倍。下面的瓶颈块有一个错误；修正它，再算出两个参数量，填入 BASIC_PARAMS 和
BOTTLENECK_PARAMS。BatchNorm 使用 affine=False，没有参数：与页面一样，只统计卷积权重。

    shapecheck exercises check 9 THIS_FILE.py
"""

from collections import OrderedDict

import torch
from torch import nn

INPUT_SHAPE = (1, 256, 14, 14)

BASIC_PARAMS = None       # parameters of the block `basic`
BOTTLENECK_PARAMS = None  # parameters of the block `bottleneck`


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
        self.expand, self.bn3 = conv(reduced, reduced, 1), norm(reduced)
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
