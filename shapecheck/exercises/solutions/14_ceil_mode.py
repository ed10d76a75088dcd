"""Exercise 14: a max-pool shortcut that works at 224 and breaks at 240.

练习 14：在 224 时正常、在 240 时出错的最大池化捷径。

A DLA-style network: each downsampling block halves the map with a stride-2 3x3 conv on
the main branch and a 2x2 max pool on the (weight-free) shortcut. It runs at 224x224.
Fine-tuned at 240x240 it raises "The size of tensor a (8) must match the size of tensor b
(7)". Make it run at 240 (and at any size) without changing a single weight: the
pretrained checkpoint must still load.

一个 DLA 风格的网络：每个下采样块在主分支上用步幅为 2 的 3x3 卷积把特征图减半，在（没有
权重的）捷径上用 2x2 最大池化减半。它在 224x224 时可以运行；改用 240x240 微调时却报错
"The size of tensor a (8) must match the size of tensor b (7)"。请让它在 240（以及任何尺寸）
下都能运行，且不改动任何一个权重：预训练的检查点必须仍能加载。

    shapecheck exercises check 14 THIS_FILE.py
"""

from collections import OrderedDict

import torch
from torch import nn

INPUT_SHAPE = (1, 3, 224, 224)


class Down(nn.Module):
    """Halve the map: a stride-2 conv on the main branch, a max pool on the shortcut."""

    def __init__(self, channels):
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, stride=2, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(channels)
        self.relu = nn.ReLU(inplace=True)
        self.pool = nn.MaxPool2d(2, stride=2, ceil_mode=True)

    def forward(self, x):
        return self.relu(self.bn(self.conv(x)) + self.pool(x))


def build():
    return nn.Sequential(OrderedDict(
        stem=nn.Sequential(nn.Conv2d(3, 32, 3, stride=2, padding=1, bias=False),
                           nn.BatchNorm2d(32), nn.ReLU(inplace=True)),
        down1=Down(32),
        down2=Down(32),
        down3=Down(32),
        down4=Down(32),
        pool=nn.AdaptiveAvgPool2d(1),
        flatten=nn.Flatten(),
        fc=nn.Linear(32, 10),
    ))


if __name__ == "__main__":
    print(build().eval()(torch.randn(INPUT_SHAPE)).shape)
