"""Exercise 16: ResNet-34 and ResNet-50 from Table 1 of the ResNet paper.

练习 16：按 ResNet 论文表 1 搭建 ResNet-34 和 ResNet-50。

d2l.ai section 8.6 asks you to implement the variants of Table 1 of He et al. (2015). This
file builds ResNet-18 twice: `build()` with basic blocks, `build_resnet50()` with
bottlenecks whose expansion is still 1. Make `build()` ResNet-34 and `build_resnet50()`
ResNet-50, as the table has them, for 1000 classes; then check:

    shapecheck exercises check 16 THIS_FILE.py

d2l.ai 第 8.6 节的练习要求实现 He 等人（2015）论文表 1 中的各个变体。这个文件搭建了两次
ResNet-18：`build()` 用基本块，`build_resnet50()` 用扩展倍数仍为 1 的瓶颈块。请把 `build()`
改成 ResNet-34、把 `build_resnet50()` 改成 ResNet-50（与表中一致，1000 个类别），然后判分。
"""

import torch
from torch import nn

INPUT_SHAPE = (1, 3, 224, 224)

# blocks per stage (conv2_x, conv3_x, conv4_x, conv5_x); copied from ResNet-18
LAYERS_34 = (2, 2, 2, 2)
LAYERS_50 = (2, 2, 2, 2)


def conv_bn(in_planes, planes, kernel_size, stride=1):
    return nn.Sequential(nn.Conv2d(in_planes, planes, kernel_size, stride,
                                   padding=kernel_size // 2, bias=False),
                         nn.BatchNorm2d(planes))


class BasicBlock(nn.Module):
    """Two 3x3 convs (ResNet-18/34)."""

    expansion = 1

    def __init__(self, in_planes, planes, stride=1, project=False):
        super().__init__()
        self.conv1 = conv_bn(in_planes, planes, 3, stride)
        self.conv2 = conv_bn(planes, planes, 3)
        self.shortcut = conv_bn(in_planes, planes, 1, stride) if project else None
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x):
        out = self.conv2(self.relu(self.conv1(x)))
        shortcut = x if self.shortcut is None else self.shortcut(x)
        return self.relu(out + shortcut)


class Bottleneck(nn.Module):
    """1x1 down to `planes`, 3x3 (with the stride), 1x1 up to planes * expansion (ResNet-50+)."""

    expansion = 1

    def __init__(self, in_planes, planes, stride=1, project=False):
        super().__init__()
        out_planes = planes * self.expansion
        self.conv1 = conv_bn(in_planes, planes, 1)
        self.conv2 = conv_bn(planes, planes, 3, stride)
        self.conv3 = conv_bn(planes, out_planes, 1)
        self.shortcut = conv_bn(in_planes, out_planes, 1, stride) if project else None
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x):
        out = self.relu(self.conv1(x))
        out = self.relu(self.conv2(out))
        out = self.conv3(out)
        shortcut = x if self.shortcut is None else self.shortcut(x)
        return self.relu(out + shortcut)


def make_stage(block, in_planes, planes, blocks, stride):
    """One stage of `blocks` blocks; only the first may change the shape."""
    layers = [block(in_planes, planes, stride, project=stride != 1)]
    for _ in range(blocks - 1):
        layers.append(block(planes * block.expansion, planes))
    return nn.Sequential(*layers)


class ResNet(nn.Module):
    """The stem (7x7/2 conv, 3x3/2 max pool), four stages, global pool and classifier."""

    def __init__(self, block, layers, num_classes=1000):
        super().__init__()
        self.stem = nn.Sequential(conv_bn(3, 64, 7, 2), nn.ReLU(inplace=True),
                                  nn.MaxPool2d(3, 2, padding=1))
        stages, in_planes = [], 64
        for planes, blocks, stride in zip((64, 128, 256, 512), layers, (1, 2, 2, 2)):
            stages.append(make_stage(block, in_planes, planes, blocks, stride))
            in_planes = planes * block.expansion
        self.stages = nn.Sequential(*stages)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(in_planes, num_classes)

    def forward(self, x):
        x = self.stages(self.stem(x))
        return self.fc(torch.flatten(self.pool(x), 1))


def build():
    """ResNet-34 (for now ResNet-18)."""
    return ResNet(BasicBlock, LAYERS_34)


def build_resnet50():
    """ResNet-50 (for now a ResNet-18 of bottlenecks that do not expand)."""
    return ResNet(Bottleneck, LAYERS_50)


if __name__ == "__main__":
    for factory in (build, build_resnet50):
        model = factory().eval()
        print(factory.__name__, model(torch.randn(INPUT_SHAPE)).shape,
              sum(p.numel() for p in model.parameters()))
