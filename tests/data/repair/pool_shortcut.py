"""A ResNet-D-style downsampling block whose avg-pool shortcut rounds down.

Written for shapecheck's tests: the main branch's stride-2 3x3 conv (padding 1) rounds
up, the shortcut's `AvgPool2d(2)` rounds down, so the add fails at odd sizes (here 57).
"""

import torch.nn as nn


class Down(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride=2, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU()
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.shortcut = nn.Sequential(
            nn.AvgPool2d(2),  # rounds down: 57 -> 28
            nn.Conv2d(cin, cout, 1, bias=False),
            nn.BatchNorm2d(cout),
        )

    def forward(self, x):
        out = self.bn2(self.conv2(self.relu(self.bn1(self.conv1(x)))))
        return out + self.shortcut(x)


def net():
    return nn.Sequential(nn.Conv2d(3, 16, 3, padding=1), Down(16, 32), Down(32, 64))


INPUT_SHAPE = (2, 3, 57, 57)
