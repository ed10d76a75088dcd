"""Exercise 12: the pre-activation order, BN -> ReLU -> conv (He et al. 2016).

练习 12：预激活顺序，BN -> ReLU -> 卷积（He 等人，2016）。

d2l.ai section 8.6 asks for the pre-activation residual unit of "Identity Mappings in
Deep Residual Networks" (He et al., ECCV 2016): BN, ReLU, conv, twice, then a bare add with
nothing after it. `PreActBlock` below was meant to be that unit but is written in the
original order (conv -> BN -> ReLU, and a ReLU after the add). Rewrite it; the network's
shapes must stay the same.

d2l.ai 第 8.6 节的练习要求实现《Identity Mappings in Deep Residual Networks》（He 等，
ECCV 2016）中的预激活残差单元：BN、ReLU、卷积，重复两次，然后直接相加，相加之后不再接任何
操作。下面的 `PreActBlock` 本应是这样的单元，却写成了原始顺序（卷积 -> BN -> ReLU，相加后
还有 ReLU）。请改写它；网络的各处形状须保持不变。

    shapecheck exercises check 12 THIS_FILE.py
"""

from collections import OrderedDict

import torch
import torch.nn.functional as F
from torch import nn

INPUT_SHAPE = (1, 3, 32, 32)


class PreActBlock(nn.Module):
    """Meant to be the full pre-activation unit; written in the post-activation order."""

    def __init__(self, in_planes, planes, stride=1):
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.shortcut = None
        if stride != 1 or in_planes != planes:
            self.shortcut = nn.Conv2d(in_planes, planes, 1, stride, bias=False)

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        shortcut = x if self.shortcut is None else self.shortcut(x)
        return F.relu(out + shortcut)


def build():
    return nn.Sequential(OrderedDict(
        stem=nn.Conv2d(3, 32, 3, padding=1, bias=False),
        layer1=nn.Sequential(PreActBlock(32, 32), PreActBlock(32, 32)),
        layer2=nn.Sequential(PreActBlock(32, 64, stride=2), PreActBlock(64, 64)),
        bn=nn.BatchNorm2d(64),
        relu=nn.ReLU(),
        pool=nn.AdaptiveAvgPool2d(1),
        flatten=nn.Flatten(),
        fc=nn.Linear(64, 10),
    ))


if __name__ == "__main__":
    print(build().eval()(torch.randn(INPUT_SHAPE)).shape)
