"""Exercise 8: d2l's `groups` argument is the width of a group, not the number of groups.

练习 8：d2l 的 `groups` 参数是每组的宽度，而不是组数。

d2l.ai's `ResNeXtBlock(num_channels, groups, bot_mul)` (d2l.ai section 8.6), with the book's lazy
layers. The author wanted ResNeXt blocks of 128 channels with a 64-channel bottleneck split
into 32 paths (cardinality 32) and passed `groups=32`. The model runs; is it what was meant?

d2l.ai 的 `ResNeXtBlock(num_channels, groups, bot_mul)`（d2l.ai 第 8.6 节），沿用书中的惰性
（Lazy）层。作者想要 128 通道的 ResNeXt 块，瓶颈 64 个通道分成 32 条路径（基数 32），于是
传了 `groups=32`。模型能运行；但它真的是作者想要的吗？

    shapecheck exercises check 8 THIS_FILE.py
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


def build():
    return nn.Sequential(OrderedDict(
        block1=ResNeXtBlock(128, groups=CARDINALITY, bot_mul=0.5),
        block2=ResNeXtBlock(128, groups=CARDINALITY, bot_mul=0.5),
    ))


if __name__ == "__main__":
    print(build().eval()(torch.randn(INPUT_SHAPE)).shape)
