"""Exercise 7, reference solution: width = cardinality x group width (32 x 4 = 128).

练习 7 参考答案：宽度 = 基数 x 每组宽度（32 x 4 = 128）。
"""

from collections import OrderedDict

import torch
from torch import nn

INPUT_SHAPE = (1, 96, 16, 16)
CARDINALITY = 32
GROUP_WIDTH = 4  # channels per path: the "4d" of 32x4d


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
    # ResNeXt's template: the bottleneck width is cardinality x group width, so it always
    # divides into whole paths (channels // 2 = 48 does not split into 32 groups).
    width = CARDINALITY * GROUP_WIDTH
    return nn.Sequential(OrderedDict(
        block1=ResNeXtBlock(channels, CARDINALITY, width=width),
        block2=ResNeXtBlock(channels, CARDINALITY, width=width),
    ))


if __name__ == "__main__":
    print(build().eval()(torch.randn(INPUT_SHAPE)).shape)
