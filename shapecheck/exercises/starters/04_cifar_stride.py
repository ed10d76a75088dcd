"""Exercise 4: the CIFAR ResNeXt bottleneck that projects only when the widths differ.

练习 4：只在通道数不同时才投影的 CIFAR ResNeXt 瓶颈块。

`ResNeXtBottleneck` from the grouped-convolution page (the article ResNeXt与分组卷积). Its shortcut is a
strided 1x1 conv only `if in_channels != out_channels`. This network keeps 128 channels
from stage_1 to stage_2 while stage_2 still halves the size. Find what breaks and fix the
rule, keeping the network's widths and strides.

分组卷积页面（《ResNeXt与分组卷积》一文）中的 `ResNeXtBottleneck`。它只在 `in_channels != out_channels`
时才使用带步幅的 1x1 卷积捷径。这个网络从 stage_1 到 stage_2 保持 128 个通道，而 stage_2
仍然把尺寸减半。找出问题并修正这条规则，网络的通道数和步幅保持不变。

    shapecheck exercises check 4 THIS_FILE.py
"""

import torch
import torch.nn.functional as F
from torch import nn

INPUT_SHAPE = (1, 3, 32, 32)


class ResNeXtBottleneck(nn.Module):
    """1x1 reduce to D, grouped 3x3 (stride), 1x1 expand; the page's projection rule."""

    def __init__(self, in_channels, out_channels, stride, cardinality, base_width, widen_factor):
        super().__init__()
        width_ratio = out_channels / (widen_factor * 64.)
        D = cardinality * int(base_width * width_ratio)
        self.conv_reduce = nn.Conv2d(in_channels, D, 1, 1, 0, bias=False)
        self.bn_reduce = nn.BatchNorm2d(D)
        self.conv_conv = nn.Conv2d(D, D, 3, stride, 1, groups=cardinality, bias=False)
        self.bn = nn.BatchNorm2d(D)
        self.conv_expand = nn.Conv2d(D, out_channels, 1, 1, 0, bias=False)
        self.bn_expand = nn.BatchNorm2d(out_channels)
        self.shortcut = nn.Sequential()
        if in_channels != out_channels:
            self.shortcut.add_module("shortcut_conv",
                                     nn.Conv2d(in_channels, out_channels, 1, stride, 0, bias=False))
            self.shortcut.add_module("shortcut_bn", nn.BatchNorm2d(out_channels))

    def forward(self, x):
        bottleneck = F.relu(self.bn_reduce(self.conv_reduce(x)), inplace=True)
        bottleneck = F.relu(self.bn(self.conv_conv(bottleneck)), inplace=True)
        bottleneck = self.bn_expand(self.conv_expand(bottleneck))
        residual = self.shortcut(x)
        return F.relu(residual + bottleneck, inplace=True)


class CifarResNeXt(nn.Module):
    """3x3 stem, three stages of `(depth - 2) // 9` bottlenecks, global pool, classifier."""

    def __init__(self, cardinality=8, depth=20, num_classes=10, base_width=4, widen_factor=2,
                 stages=(32, 128, 128, 256)):
        super().__init__()
        self.cardinality, self.base_width, self.widen_factor = cardinality, base_width, widen_factor
        self.block_depth = (depth - 2) // 9
        self.stages = stages
        self.conv_1_3x3 = nn.Conv2d(3, stages[0], 3, 1, 1, bias=False)
        self.bn_1 = nn.BatchNorm2d(stages[0])
        self.stage_1 = self.block("stage_1", stages[0], stages[1], 1)
        self.stage_2 = self.block("stage_2", stages[1], stages[2], 2)
        self.stage_3 = self.block("stage_3", stages[2], stages[3], 2)
        self.classifier = nn.Linear(stages[3], num_classes)

    def block(self, name, in_channels, out_channels, pool_stride=2):
        stage = nn.Sequential()
        for i in range(self.block_depth):
            if i == 0:
                unit = ResNeXtBottleneck(in_channels, out_channels, pool_stride, self.cardinality,
                                         self.base_width, self.widen_factor)
            else:
                unit = ResNeXtBottleneck(out_channels, out_channels, 1, self.cardinality,
                                         self.base_width, self.widen_factor)
            stage.add_module(f"{name}_bottleneck_{i}", unit)
        return stage

    def forward(self, x):
        x = F.relu(self.bn_1(self.conv_1_3x3(x)), inplace=True)
        x = self.stage_3(self.stage_2(self.stage_1(x)))
        x = F.adaptive_avg_pool2d(x, 1).flatten(1)
        return self.classifier(x)


def build():
    return CifarResNeXt()


if __name__ == "__main__":
    print(build().eval()(torch.randn(INPUT_SHAPE)).shape)
