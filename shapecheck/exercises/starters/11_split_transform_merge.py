"""Exercise 11: ResNeXt's split-transform-merge equals one bottleneck with a grouped 3x3 conv.

练习 11：ResNeXt 的“拆分-变换-合并”等价于一个带分组 3x3 卷积的瓶颈块。

The article ResNeXt与分组卷积: 32 parallel branches, each 1x1 (256->4) -> 3x3 (4->4) -> 1x1 (4->256),
summed, compute the same function as one bottleneck 1x1 (256->128) -> 3x3 with groups=32
-> 1x1 (128->256). `build()` is the 32-branch form, `build_grouped()` the grouped one.
Complete `map_weights()` so that the grouped block, given the branches' weights, produces
exactly the same outputs (the checker compares them with torch.allclose).

《ResNeXt与分组卷积》一文：32 条并行分支，每条为 1x1（256->4）-> 3x3（4->4）-> 1x1（4->256），输出相加；
它与一个瓶颈块 1x1（256->128）-> groups=32 的 3x3 -> 1x1（128->256）计算的是同一个函数。
`build()` 是 32 分支的形式，`build_grouped()` 是分组卷积的形式。请补全 `map_weights()`，
使分组卷积块拿到各分支的权重后，输出完全相同（判分程序用 torch.allclose 比较）。

    shapecheck exercises check 11 THIS_FILE.py
"""

import torch
from torch import nn

INPUT_SHAPE = (1, 256, 8, 8)
CARDINALITY, WIDTH = 32, 4  # 32 branches of 4 channels


class Branch(nn.Module):
    """One path: 1x1 (channels->width), ReLU, 3x3 (width->width), ReLU, 1x1 (width->channels)."""

    def __init__(self, channels=256, width=WIDTH):
        super().__init__()
        self.reduce = nn.Conv2d(channels, width, 1, bias=False)
        self.conv = nn.Conv2d(width, width, 3, padding=1, bias=False)
        self.expand = nn.Conv2d(width, channels, 1, bias=False)

    def forward(self, x):
        return self.expand(torch.relu(self.conv(torch.relu(self.reduce(x)))))


class Aggregated(nn.Module):
    """Split-transform-merge: ReLU(x + sum of the branches' outputs)."""

    def __init__(self, channels=256, cardinality=CARDINALITY, width=WIDTH):
        super().__init__()
        self.branches = nn.ModuleList(Branch(channels, width) for _ in range(cardinality))

    def forward(self, x):
        merged = torch.stack([branch(x) for branch in self.branches]).sum(dim=0)
        return torch.relu(x + merged)


class GroupedBottleneck(nn.Module):
    """The same block as one bottleneck: ReLU(x + 1x1(ReLU(grouped 3x3(ReLU(1x1(x))))))."""

    def __init__(self, channels=256, cardinality=CARDINALITY, width=WIDTH):
        super().__init__()
        inner = cardinality * width
        self.reduce = nn.Conv2d(channels, inner, 1, bias=False)
        self.conv = nn.Conv2d(inner, inner, 3, padding=1, groups=cardinality, bias=False)
        self.expand = nn.Conv2d(inner, channels, 1, bias=False)

    def forward(self, x):
        return torch.relu(x + self.expand(torch.relu(self.conv(torch.relu(self.reduce(x))))))


def build():
    return Aggregated()


def build_grouped():
    return GroupedBottleneck()


def map_weights(aggregated, grouped):
    """Copy the branches' weights into `grouped` so that both blocks compute the same thing."""
    branches = aggregated.branches
    with torch.no_grad():
        # reduce: branch i makes output channels 4i..4i+3 of the wide 1x1 conv
        grouped.reduce.weight.copy_(torch.cat([b.reduce.weight for b in branches], dim=0))
        # expand: branch i reads input channels 4i..4i+3; summing the branches = one wide 1x1
        grouped.expand.weight.copy_(torch.cat([b.expand.weight for b in branches], dim=1))
        # the grouped 3x3 conv: still to do (分组 3x3 卷积：尚未完成)
    return grouped


if __name__ == "__main__":
    x = torch.randn(INPUT_SHAPE)
    a, g = build(), build_grouped()
    map_weights(a, g)
    print(torch.allclose(a(x), g(x), atol=1e-5))
