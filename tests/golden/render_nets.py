"""Tiny networks whose block graphs are kept as golden files (tests/test_render.py).

They live apart from the tests so that editing the tests does not move the source lines
that the graphs' tooltips quote. Each is small enough to check in well under a second.
"""

from __future__ import annotations

from torch import nn

INPUT_SHAPE = (1, 3, 16, 16)


class Basic(nn.Module):
    """conv3x3(stride) -> BN -> ReLU -> conv3x3 -> BN, plus a shortcut, then ReLU.

    `project` adds the 1x1 conv + BN shortcut; without it the shortcut is the input itself,
    which is wrong as soon as `stride != 1` or `cin != cout` (the bug the graphs show).
    """

    def __init__(self, cin: int, cout: int, stride: int = 1, project: bool = False) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU()
        self.shortcut = None
        if project:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False),
                                          nn.BatchNorm2d(cout))

    def forward(self, x):
        identity = x if self.shortcut is None else self.shortcut(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        out = out + identity
        return self.relu(out)


class TinyNet(nn.Module):
    """Stem, stages of `Basic` blocks, global pool, classifier."""

    def __init__(self, stages: list[list[Basic]], width: int = 8) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, width, 3, 1, 1, bias=False), nn.BatchNorm2d(width),
                                  nn.ReLU())
        for i, blocks in enumerate(stages, start=1):
            setattr(self, f"layer{i}", nn.Sequential(*blocks))
        self.stages = len(stages)
        out = stages[-1][-1].conv2.out_channels
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(out, 10)

    def forward(self, x):
        x = self.stem(x)
        for i in range(1, self.stages + 1):
            x = getattr(self, f"layer{i}")(x)
        return self.fc(self.pool(x).flatten(1))


def tiny_ok() -> nn.Module:
    """Correct: an identity block, then a stride-2 block with a projection shortcut."""
    return TinyNet([[Basic(8, 8)], [Basic(8, 16, 2, project=True), Basic(16, 16)]])


def tiny_buggy() -> nn.Module:
    """Broken: layer2.0 doubles the width and halves the size with an identity shortcut."""
    return TinyNet([[Basic(8, 8)], [Basic(8, 16, 2), Basic(16, 16)]])


def tiny_deep() -> nn.Module:
    """Correct, with repeats to fold: 1 + 4 identical blocks at 16 channels."""
    repeats = [Basic(16, 16) for _ in range(4)]
    return TinyNet([[Basic(8, 8)], [Basic(8, 16, 2, project=True), *repeats]])


class Plain(nn.Module):
    """No skip connection at all: conv, ReLU, pool, conv, ReLU, pool, classifier.

    A class with its own forward rather than an `nn.Sequential`, so that every layer's
    source line is in this file (a Sequential's layers have no line of their own).
    """

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, padding=1)
        self.pool1 = nn.MaxPool2d(2)
        self.conv2 = nn.Conv2d(8, 16, 3, padding=1)
        self.pool2 = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(16, 10)

    def forward(self, x):
        x = self.pool1(self.conv1(x).relu())
        x = self.pool2(self.conv2(x).relu())
        return self.fc(x.flatten(1))


def tiny_plain() -> nn.Module:
    """The network without residual adds."""
    return Plain()


class Nested(nn.Module):
    """A long skip around a whole stage that holds a residual block of its own:
    x + conv(block(conv(x))). The outer block's main branch runs around the inner one."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, padding=1)
        self.pre = nn.Conv2d(8, 8, 3, padding=1)
        self.inner = Basic(8, 8)
        self.post = nn.Conv2d(8, 8, 3, padding=1)

    def forward(self, x):
        x = self.stem(x)
        return x + self.post(self.inner(self.pre(x)))
