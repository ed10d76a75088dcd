"""Exercise 16, reference solution: Table 1's blocks per stage, expansion 4, and a projection
wherever a block changes the shape (the first block of ResNet-50's conv2_x included).

练习 16 参考答案：按表 1 设定各阶段块数，扩展倍数为 4，凡改变形状的块都用投影（包括
ResNet-50 中 conv2_x 的第一个块）。
"""

import torch
from torch import nn

INPUT_SHAPE = (1, 3, 224, 224)

# blocks per stage (conv2_x, conv3_x, conv4_x, conv5_x), Table 1
LAYERS_34 = (3, 4, 6, 3)
LAYERS_50 = (3, 4, 6, 3)


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

    expansion = 4

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
    # a bottleneck stage widens even at stride 1 (64 -> 256 in conv2_x): project then too
    project = stride != 1 or in_planes != planes * block.expansion
    layers = [block(in_planes, planes, stride, project=project)]
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
    """ResNet-34: 16 basic blocks."""
    return ResNet(BasicBlock, LAYERS_34)


def build_resnet50():
    """ResNet-50: 16 bottlenecks."""
    return ResNet(Bottleneck, LAYERS_50)


if __name__ == "__main__":
    for factory in (build, build_resnet50):
        model = factory().eval()
        print(factory.__name__, model(torch.randn(INPUT_SHAPE)).shape,
              sum(p.numel() for p in model.parameters()))
