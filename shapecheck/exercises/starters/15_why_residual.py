"""Exercise 15: the interview's two questions, why deep plain nets failed and why shortcuts help.

练习 15：面试中的两个概念题：为什么很深的普通网络训练不好，捷径为什么有助于梯度传播。

The interview page 【CV面试必会】深度学习网络之Resnet asks two questions without numbers.
Answer each with one letter below, then check:

    shapecheck exercises check 15 THIS_FILE.py

The model is there to measure what you answer: `Stack(residual=False)` is the same stack
of layers without its shortcuts, and the checker compares the gradient that reaches the
first layer in both.

面试页面《【CV面试必会】深度学习网络之Resnet》提了两个没有数字的问题。请在下面各用一个字母
作答，然后判分。`Stack(residual=False)` 是去掉捷径的同一组层，判分程序会比较两者传到第一层
的梯度。
"""

import torch
from torch import nn

INPUT_SHAPE = (8, 64)
WIDTH, DEPTH = 64, 32

# Q1. Before ResNet, a plain network of 56 layers trained worse than one of 20. Why?
#     问题 1：在 ResNet 之前，56 层的普通网络比 20 层的训练得更差。为什么？
#   a) over-fitting: the deeper net memorises the training set and generalises worse
#      过拟合：更深的网络记住了训练集，泛化变差
#   b) degradation: its *training* error is higher too, although it could copy the shallower
#      net and make its extra layers identities; the solver does not find that solution
#      退化：它连训练误差都更高，尽管它本可以复制浅层网络、把多出的层设为恒等映射；
#      优化器找不到这个解
#   c) its parameters no longer fit in the GPU's memory
#      参数太多，GPU 显存放不下
#   d) a deeper net needs more training images than ImageNet has
#      更深的网络需要比 ImageNet 更多的训练图像
DEEP_PLAIN_NETS = None

# Q2. Why does a shortcut help the gradient reach the early layers?
#     问题 2：为什么捷径能帮助梯度传到前面的层？
#   a) it doubles the learning rate of the layers it skips
#      它让被跳过的层的学习率加倍
#   b) it makes BatchNorm unnecessary, and BatchNorm was what blocked the gradient
#      它使 BatchNorm 变得多余，而挡住梯度的正是 BatchNorm
#   c) with y = x + F(x), dy/dx = I + dF/dx: the gradient always has a path through the
#      identity, so it is not only a product of many small factors
#      y = x + F(x) 时 dy/dx = I + dF/dx：梯度总有一条经过恒等映射的通路，
#      不再只是许多小因子的乘积
#   d) it lets back-propagation skip the layers in between, so they are not trained
#      它让反向传播跳过中间的层，这些层就不再训练
SHORTCUTS_HELP = None


class Stack(nn.Module):
    """DEPTH layers of Linear + tanh at WIDTH features, each with an identity shortcut when
    `residual` (the shortcuts are all that differs)."""

    def __init__(self, residual=True):
        super().__init__()
        self.residual = residual
        self.layers = nn.ModuleList(nn.Sequential(nn.Linear(WIDTH, WIDTH), nn.Tanh())
                                    for _ in range(DEPTH))

    def forward(self, x):
        for layer in self.layers:
            x = x + layer(x) if self.residual else layer(x)
        return x


def build():
    return Stack(residual=True)


if __name__ == "__main__":
    print(build().eval()(torch.randn(INPUT_SHAPE)).shape)
