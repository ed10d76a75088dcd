"""Exercise 8, reference solution: convert the cardinality into d2l's group width.

练习 8 参考答案：把基数换算成 d2l 所说的“每组宽度”再传入。
"""

from collections import OrderedDict

import torch
import torch.nn.functional as F
from torch import nn

INPUT_SHAPE = (1, 128, 16, 16)
CARDINALITY = 32  # the number of paths the author wants in every 3x3 conv


class ResNeXtBlock(nn.Module):
    """d2l's ResNeXt block: 1x1 to bot_channels, grouped 3x3, 1x1 back, optional 1x1 shortcut."""

    def __init__(self, num_channels, groups, bot_mul, use_1x1conv=False, strides=1):
        super().__init__()
        bot_channels = int(round(num_channels * bot_mul))
        self.conv1 = nn.LazyConv2d(bot_channels, kernel_size=1, stride=1)
        self.conv2 = nn.LazyConv2d(bot_channels, kernel_size=3, stride=strides, padding=1,
                                   groups=bot_channels // groups)
        self.conv3 = nn.LazyConv2d(num_channels, kernel_size=1, stride=1)
        self.bn1 = nn.LazyBatchNorm2d()
        self.bn2 = nn.LazyBatchNorm2d()
        self.bn3 = nn.LazyBatchNorm2d()
        if use_1x1conv:
            self.conv4 = nn.LazyConv2d(num_channels, kernel_size=1, stride=strides)
            self.bn4 = nn.LazyBatchNorm2d()
        else:
            self.conv4 = None

    def forward(self, X):
        Y = F.relu(self.bn1(self.conv1(X)))
        Y = F.relu(self.bn2(self.conv2(Y)))
        Y = self.bn3(self.conv3(Y))
        if self.conv4:
            X = self.bn4(self.conv4(X))
        return F.relu(Y + X)


def resnext_block(num_channels, cardinality, bot_mul):
    """A d2l ResNeXtBlock asked for by its number of paths: d2l's `groups` is the width of one
    group, so pass bot_channels // cardinality."""
    bot_channels = int(round(num_channels * bot_mul))
    return ResNeXtBlock(num_channels, groups=bot_channels // cardinality, bot_mul=bot_mul)


def build():
    return nn.Sequential(OrderedDict(
        block1=resnext_block(128, CARDINALITY, bot_mul=0.5),
        block2=resnext_block(128, CARDINALITY, bot_mul=0.5),
    ))


if __name__ == "__main__":
    print(build().eval()(torch.randn(INPUT_SHAPE)).shape)
