"""Exercise 6, reference solution: the shortcut pools with `ceil_mode=True`, as timm's
ResNet-D does, so both branches give ceil(n / 2) for any size n.

练习 6 参考答案：捷径的平均池化使用 `ceil_mode=True`（与 timm 的 ResNet-D 相同），于是对
任意尺寸 n，两条分支都得到 ceil(n / 2)。
"""

from collections import OrderedDict

import torch
from torch import nn

INPUT_SHAPE = (1, 3, 56, 56)


class DownBlock(nn.Module):
    """Basic block that halves the size: 3x3 conv stride 2 on the main branch, and a pooled
    1x1 projection on the shortcut."""

    def __init__(self, in_channels, out_channels):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride=2, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = nn.Sequential(
            # ceil_mode: an odd size n pools to ceil(n / 2), as the stride-2 conv gives;
            # count_include_pad=False: the last, partial window averages only real pixels.
            nn.AvgPool2d(kernel_size=2, stride=2, ceil_mode=True, count_include_pad=False),
            nn.Conv2d(in_channels, out_channels, 1, bias=False),
            nn.BatchNorm2d(out_channels))

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + self.downsample(x))


def build():
    return nn.Sequential(OrderedDict(
        stem=nn.Sequential(nn.Conv2d(3, 16, 3, stride=2, padding=1, bias=False),
                           nn.BatchNorm2d(16), nn.ReLU(inplace=True)),
        down1=DownBlock(16, 32),
        down2=DownBlock(32, 64),
        down3=DownBlock(64, 128),
        pool=nn.AdaptiveAvgPool2d(1),
        flatten=nn.Flatten(),
        fc=nn.Linear(128, 10),
    ))


if __name__ == "__main__":
    print(build().eval()(torch.randn(INPUT_SHAPE)).shape)
