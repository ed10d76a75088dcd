"""Exercise 11, reference solution: the branches' 3x3 kernels, stacked along the output
dimension, are the grouped conv's weight.

练习 11 参考答案：把各分支的 3x3 卷积核沿输出维度拼接，就是分组卷积的权重。
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
        # grouped 3x3: group i maps channels 4i..4i+3 to 4i..4i+3 with branch i's kernels;
        # a grouped weight is [out, in / groups, 3, 3], so the kernels stack along dim 0
        grouped.conv.weight.copy_(torch.cat([b.conv.weight for b in branches], dim=0))
    return grouped


if __name__ == "__main__":
    x = torch.randn(INPUT_SHAPE)
    a, g = build(), build_grouped()
    map_weights(a, g)
    print(torch.allclose(a(x), g(x), atol=1e-5))
