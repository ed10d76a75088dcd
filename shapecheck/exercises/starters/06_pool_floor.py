"""Exercise 6: an average-pooling shortcut that floors odd sizes.

练习 6：对奇数尺寸向下取整的平均池化捷径。

A small ResNet whose downsampling blocks use a "pooled projection" shortcut (ResNet-D
style: 2x2 average pooling, then a 1x1 conv) while the main branch uses a stride-2 3x3
conv. It works at 64x64. Check it at its declared 56x56 input, find out why the size
matters, and make it correct at any input size.

一个小型 ResNet，下采样块使用“池化投影”捷径（ResNet-D 风格：先 2x2 平均池化，再 1x1
卷积），主分支则用步幅为 2 的 3x3 卷积。它在 64x64 时能正常工作。请在它声明的 56x56 输入
下检查，弄清楚为什么尺寸有影响，并让它在任何输入尺寸下都正确。

    shapecheck exercises check 6 THIS_FILE.py
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
            nn.AvgPool2d(kernel_size=2, stride=2),
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
