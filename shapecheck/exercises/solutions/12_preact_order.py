"""Exercise 12, reference solution: BN -> ReLU -> conv twice, then a bare add.

练习 12 参考答案：两次 BN -> ReLU -> 卷积，然后直接相加。
"""

from collections import OrderedDict

import torch
import torch.nn.functional as F
from torch import nn

INPUT_SHAPE = (1, 3, 32, 32)


class PreActBlock(nn.Module):
    """Full pre-activation unit: BN-ReLU-conv3x3(stride), BN-ReLU-conv3x3, add; nothing after.

    The normalisations now come before the convs, so `bn1` sees the block's input
    (`in_planes` channels). A projection, where needed, is applied to the pre-activated
    input, as in the paper.
    """

    def __init__(self, in_planes, planes, stride=1):
        super().__init__()
        self.bn1 = nn.BatchNorm2d(in_planes)
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.shortcut = None
        if stride != 1 or in_planes != planes:
            self.shortcut = nn.Conv2d(in_planes, planes, 1, stride, bias=False)

    def forward(self, x):
        out = F.relu(self.bn1(x))
        shortcut = x if self.shortcut is None else self.shortcut(out)
        out = self.conv1(out)
        out = self.conv2(F.relu(self.bn2(out)))
        return out + shortcut  # no ReLU: the identity path stays clean


def build():
    return nn.Sequential(OrderedDict(
        stem=nn.Conv2d(3, 32, 3, padding=1, bias=False),
        layer1=nn.Sequential(PreActBlock(32, 32), PreActBlock(32, 32)),
        layer2=nn.Sequential(PreActBlock(32, 64, stride=2), PreActBlock(64, 64)),
        bn=nn.BatchNorm2d(64),  # the last add is not activated: a final BN-ReLU
        relu=nn.ReLU(),
        pool=nn.AdaptiveAvgPool2d(1),
        flatten=nn.Flatten(),
        fc=nn.Linear(64, 10),
    ))


if __name__ == "__main__":
    print(build().eval()(torch.randn(INPUT_SHAPE)).shape)
