"""Exercise 17, reference solution: (a) false, the identity branch runs in 12 blocks; (b) true,
by construction: each stack's first block projects to filters * 2; (c) false, the grouped
conv keeps the width and the last 1x1 conv doubles it. Always projecting adds 58%.

练习 17 参考答案：(a) 错，恒等分支在 12 个块中都会执行；(b) 对，而且是必然的：每个 stack 的
第一个块投影到 filters * 2；(c) 错，分组卷积不改变通道数，是最后的 1x1 卷积把它加倍。
总是投影会增加 58% 的参数。
"""

from collections import OrderedDict

import torch
from torch import nn

INPUT_SHAPE = (1, 3, 64, 64)

# True or False, judged on resnext50() below (True / False):
# (a) "the identity branch (conv_shortcut=False) is never reached"
#     “恒等分支（conv_shortcut=False）根本不会被执行到”
CLAIM_A_BRANCH_NEVER_REACHED = False  # it runs in every block after a stack's first
# (b) "the input channels equal filters * 2 wherever the identity shortcut is used"
#     “凡是使用恒等捷径的地方，输入通道数都等于 filters * 2”
CLAIM_B_INPUT_EQUALS_FILTERS_X2 = True  # not by chance: the first block projects
# (c) "the grouped convolution block changes the number of channels"
#     “分组卷积模块改变了通道数”
CLAIM_C_GROUPED_CHANGES_CHANNELS = False  # conv3, the last 1x1, doubles them

# The advice "always project": give every block a 1x1 conv + BN shortcut. How many
# parameters does that add to resnext50(), and what percentage of its parameters is that?
# 建议“总是投影”：给每个块都加上 1x1 卷积 + BN 捷径。这会给 resnext50() 增加多少个参数？
# 占它原有参数量的百分之几？
# one 1x1 conv (c * c) and one BN (2 * c) for each of the 2 + 3 + 5 + 2 identity blocks
ALWAYS_PROJECT_EXTRA_PARAMS = (2 * (256 * 256 + 2 * 256) + 3 * (512 * 512 + 2 * 512)
                               + 5 * (1024 * 1024 + 2 * 1024) + 2 * (2048 * 2048 + 2 * 2048))
ALWAYS_PROJECT_PERCENT = 58.2  # of 25,028,904


class Block(nn.Module):
    """The homework's block(): 1x1 conv, grouped 3x3 conv (stride), 1x1 conv to filters * 2,
    add; the shortcut is a strided 1x1 conv + BN when `conv_shortcut`, else the input."""

    def __init__(self, in_channels, filters, strides=1, groups=32, conv_shortcut=True):
        super().__init__()
        self.shortcut = None
        if conv_shortcut:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_channels, filters * 2, kernel_size=1, stride=strides, bias=False),
                nn.BatchNorm2d(filters * 2, eps=1.001e-5))
        self.conv1 = nn.Conv2d(in_channels, filters, kernel_size=1, bias=False)
        self.bn1 = nn.BatchNorm2d(filters, eps=1.001e-5)
        self.grouped = nn.Conv2d(filters, filters, kernel_size=3, stride=strides, padding=1,
                                 groups=groups, bias=False)
        self.bn2 = nn.BatchNorm2d(filters, eps=1.001e-5)
        self.conv3 = nn.Conv2d(filters, filters * 2, kernel_size=1, bias=False)
        self.bn3 = nn.BatchNorm2d(filters * 2, eps=1.001e-5)
        self.relu = nn.ReLU()

    def forward(self, x):
        shortcut = x if self.shortcut is None else self.shortcut(x)
        x = self.relu(self.bn1(self.conv1(x)))
        x = self.relu(self.bn2(self.grouped(x)))
        x = self.bn3(self.conv3(x))
        x = x + shortcut  # Keras: x = Add()([x, shortcut])
        return self.relu(x)


def stack(in_channels, filters, blocks, strides, groups=32, always_project=False):
    """The homework's stack(): the first block projects, then `blocks` blocks that keep the
    identity (or project too, with `always_project`)."""
    layers = [Block(in_channels, filters, strides=strides, groups=groups)]
    for _ in range(blocks):
        layers.append(Block(filters * 2, filters, groups=groups, conv_shortcut=always_project))
    return nn.Sequential(*layers)


def resnext50(always_project=False):
    """The homework's ResNeXt-50 (32x4d): `range(blocks)` builds blocks + 1 per stack, so the
    calls pass 2, 3, 5, 2 for ResNeXt-50's 3, 4, 6, 3 blocks."""
    p = always_project
    return nn.Sequential(OrderedDict(
        stem=nn.Sequential(nn.Conv2d(3, 64, kernel_size=7, stride=2, padding=3, bias=False),
                           nn.BatchNorm2d(64, eps=1.001e-5), nn.ReLU(),
                           nn.MaxPool2d(3, stride=2, padding=1)),
        stack1=stack(64, 128, 2, strides=1, always_project=p),      # 64 -> 256 channels
        stack2=stack(256, 256, 3, strides=2, always_project=p),     # 256 -> 512, /2
        stack3=stack(512, 512, 5, strides=2, always_project=p),     # 512 -> 1024, /2
        stack4=stack(1024, 1024, 2, strides=2, always_project=p),   # 1024 -> 2048, /2
        pool=nn.AdaptiveAvgPool2d(1),
        flatten=nn.Flatten(),
        fc=nn.Linear(2048, 1000),
    ))


def build():
    return resnext50()


if __name__ == "__main__":
    print(build().eval()(torch.randn(INPUT_SHAPE)).shape)
