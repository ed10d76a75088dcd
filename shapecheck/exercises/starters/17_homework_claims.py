"""Exercise 17: the second answer to the ResNeXt homework, judged claim by claim.

练习 17：逐条评判 ResNeXt 作业的第二篇解答。

The 365天深度学习训练营 J6/J7 ResNeXt homework asks why `x = Add()([x, shortcut])` raises no
error when `conv_shortcut=False`, although the channel counts "differ". Its second answer
page offers three possible reasons and advises always projecting. Below is the homework's
ResNeXt-50 in PyTorch; judge each claim on it with shapecheck, then check:

    shapecheck exercises check 17 THIS_FILE.py

365天深度学习训练营 J6/J7 的 ResNeXt 作业问：`conv_shortcut=False` 时通道数“不同”，
`x = Add()([x, shortcut])` 为什么不报错？第二篇解答给出了三个可能的原因，并建议总是做投影。
下面是作业中 ResNeXt-50 的 PyTorch 版本；请用 shapecheck 逐条评判，然后判分。
"""

from collections import OrderedDict

import torch
from torch import nn

INPUT_SHAPE = (1, 3, 64, 64)

# True or False, judged on resnext50() below (True / False):
# (a) "the identity branch (conv_shortcut=False) is never reached"
#     “恒等分支（conv_shortcut=False）根本不会被执行到”
CLAIM_A_BRANCH_NEVER_REACHED = None
# (b) "the input channels equal filters * 2 wherever the identity shortcut is used"
#     “凡是使用恒等捷径的地方，输入通道数都等于 filters * 2”
CLAIM_B_INPUT_EQUALS_FILTERS_X2 = None
# (c) "the grouped convolution block changes the number of channels"
#     “分组卷积模块改变了通道数”
CLAIM_C_GROUPED_CHANGES_CHANNELS = None

# The advice "always project": give every block a 1x1 conv + BN shortcut. How many
# parameters does that add to resnext50(), and what percentage of its parameters is that?
# 建议“总是投影”：给每个块都加上 1x1 卷积 + BN 捷径。这会给 resnext50() 增加多少个参数？
# 占它原有参数量的百分之几？
ALWAYS_PROJECT_EXTRA_PARAMS = None
ALWAYS_PROJECT_PERCENT = None


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
