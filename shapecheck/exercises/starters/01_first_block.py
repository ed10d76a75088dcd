"""Exercise 1: the interview ResNet with a misplaced `first_block=True`.

练习 1：面试题 ResNet，`first_block=True` 放错了位置。

d2l's ResNet-18 for 1x96x96 images, as the interview page 【CV面试必会】深度学习网络之Resnet
builds it. Stage `b3` was copied from the line above it, `first_block=True` included. Check it, then fix it:

    shapecheck exercises check 1 THIS_FILE.py

面试页面《【CV面试必会】深度学习网络之Resnet》中的 d2l 版 ResNet-18（输入 1x96x96）。阶段 `b3` 是从上一行复制来的，连 `first_block=True`
也一起抄了。先检查，再修正。
"""

from collections import OrderedDict

import torch
from torch import nn

INPUT_SHAPE = (1, 1, 96, 96)


class Residual(nn.Module):
    """conv3x3(stride)-BN-ReLU, conv3x3-BN, add the shortcut, ReLU; optional 1x1 projection."""

    def __init__(self, input_channels, num_channels, use_1x1conv=False, strides=1):
        super().__init__()
        self.conv1 = nn.Conv2d(input_channels, num_channels, kernel_size=3, padding=1,
                               stride=strides)
        self.conv2 = nn.Conv2d(num_channels, num_channels, kernel_size=3, padding=1)
        self.conv3 = (nn.Conv2d(input_channels, num_channels, kernel_size=1, stride=strides)
                      if use_1x1conv else None)
        self.bn1 = nn.BatchNorm2d(num_channels)
        self.bn2 = nn.BatchNorm2d(num_channels)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, X):
        Y = self.relu(self.bn1(self.conv1(X)))
        Y = self.bn2(self.conv2(Y))
        if self.conv3 is not None:
            X = self.conv3(X)
        Y += X
        return self.relu(Y)


def resnet_block(input_channels, num_channels, num_residuals, first_block=False):
    """One stage: the first block projects and halves the size, unless `first_block`."""
    blk = []
    for i in range(num_residuals):
        if i == 0 and not first_block:
            blk.append(Residual(input_channels, num_channels, use_1x1conv=True, strides=2))
        else:
            blk.append(Residual(num_channels, num_channels))
    return blk


def build():
    b1 = nn.Sequential(nn.Conv2d(1, 64, kernel_size=7, stride=2, padding=3),
                       nn.BatchNorm2d(64), nn.ReLU(),
                       nn.MaxPool2d(kernel_size=3, stride=2, padding=1))
    return nn.Sequential(OrderedDict(
        b1=b1,
        b2=nn.Sequential(*resnet_block(64, 64, 2, first_block=True)),
        b3=nn.Sequential(*resnet_block(64, 128, 2, first_block=True)),
        b4=nn.Sequential(*resnet_block(128, 256, 2)),
        b5=nn.Sequential(*resnet_block(256, 512, 2)),
        pool=nn.AdaptiveAvgPool2d((1, 1)),
        flatten=nn.Flatten(),
        fc=nn.Linear(512, 10),
    ))


if __name__ == "__main__":
    print(build().eval()(torch.randn(INPUT_SHAPE)).shape)
