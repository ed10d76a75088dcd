"""Exercise 7: a cardinality that does not divide the bottleneck width.

练习 7：基数（cardinality）无法整除瓶颈宽度。

A ResNeXt block (the article ResNeXt与分组卷积): 1x1 conv down to `width` channels, a 3x3 conv split into
`cardinality` groups, 1x1 conv back. The author wanted 32 paths and "half the channels in
the bottleneck". The file does not even build; read why, then build the blocks the
ResNeXt way: 32 paths of 4 channels each (the "32x4d" template).

一个 ResNeXt 块（《ResNeXt与分组卷积》一文）：1x1 卷积降到 `width` 个通道，3x3 卷积分成 `cardinality`
组，再用 1x1 卷积升回。作者想要 32 条路径，并且“瓶颈取一半通道”。这个文件连模型都构建
不了；读懂原因，再按 ResNeXt 的方式构建：32 条路径，每条 4 个通道（即“32x4d”模板）。

    shapecheck exercises check 7 THIS_FILE.py
"""

from collections import OrderedDict

import torch
from torch import nn

INPUT_SHAPE = (1, 96, 16, 16)
CARDINALITY = 32


class ResNeXtBlock(nn.Module):
    """x + BN(1x1(ReLU(BN(grouped 3x3(ReLU(BN(1x1(x)))))))), then ReLU."""

    def __init__(self, channels, cardinality, width):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, width, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, width, 3, padding=1, groups=cardinality, bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = nn.Conv2d(width, channels, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(channels)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + x)


def build():
    channels = INPUT_SHAPE[1]
    return nn.Sequential(OrderedDict(
        block1=ResNeXtBlock(channels, CARDINALITY, width=channels // 2),
        block2=ResNeXtBlock(channels, CARDINALITY, width=channels // 2),
    ))


if __name__ == "__main__":
    print(build().eval()(torch.randn(INPUT_SHAPE)).shape)
