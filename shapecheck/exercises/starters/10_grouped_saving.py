"""Exercise 10: what a grouped convolution saves, in parameters and in multiply-accumulates.

练习 10：分组卷积节省了多少参数和乘加运算。

A residual unit around one 3x3 conv at 128 channels (BatchNorm with affine=False, so the
conv holds all the parameters). d2l.ai section 8.6 says that a conv from c_i to c_o
channels in g groups costs O(c_i * c_o / g) and has g times fewer parameters. Turn the
conv into ResNeXt's grouped conv with GROUPS = 32, and write the savings you expect into
PARAM_SAVING and MAC_SAVING (how many times fewer, compared with the starter's dense block).

围绕一个 128 通道 3x3 卷积的残差单元（BatchNorm 使用 affine=False，参数全在卷积里）。
d2l.ai 第 8.6 节说：从 c_i 到 c_o 个通道、分成 g 组的卷积，计算量为
O(c_i * c_o / g)，参数量少 g 倍。请把这个卷积改成 ResNeXt 的分组卷积（GROUPS = 32），并把
你预期的节省倍数写入 PARAM_SAVING 和 MAC_SAVING（与起始文件中的普通卷积块相比少几倍）。

    shapecheck exercises check 10 THIS_FILE.py
"""

from collections import OrderedDict

import torch
from torch import nn

INPUT_SHAPE = (1, 128, 28, 28)
GROUPS = 1

PARAM_SAVING = None  # parameters of the dense block / parameters of your block
MAC_SAVING = None    # multiply-accumulates of the dense block / those of your block


class GroupedUnit(nn.Module):
    """ReLU(x + BN(conv3x3(x))), the conv split into `groups` groups."""

    def __init__(self, channels, groups):
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, padding=1, groups=groups, bias=False)
        self.bn = nn.BatchNorm2d(channels, affine=False)
        self.relu = nn.ReLU()

    def forward(self, x):
        return self.relu(x + self.bn(self.conv(x)))


def build():
    return nn.Sequential(OrderedDict(unit=GroupedUnit(INPUT_SHAPE[1], GROUPS)))


if __name__ == "__main__":
    print(build().eval()(torch.randn(INPUT_SHAPE)).shape)
