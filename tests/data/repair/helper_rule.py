"""A constant-width ResNet whose projection rule lives in a helper and forgets the stride.

Written for shapecheck's tests: `shortcut_for` projects only when the width changes, so
the stride-2 blocks (same width) keep an identity shortcut and their adds fail.
"""

import torch.nn as nn


def shortcut_for(in_channels, out_channels, stride):
    if in_channels != out_channels:
        return nn.Sequential(nn.Conv2d(in_channels, out_channels, 1, stride=stride,
                                       bias=False), nn.BatchNorm2d(out_channels))
    return nn.Identity()


class Block(nn.Module):
    def __init__(self, in_channels, out_channels, stride=1):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.relu = nn.ReLU()
        self.shortcut = shortcut_for(in_channels, out_channels, stride)

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        return self.relu(self.bn2(self.conv2(out)) + self.shortcut(x))


def net():
    return nn.Sequential(nn.Conv2d(3, 32, 3, padding=1), Block(32, 32), Block(32, 32, 2),
                         Block(32, 64, 2), Block(64, 64, 2))


INPUT_SHAPE = (2, 3, 32, 32)
