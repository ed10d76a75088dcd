"""Hand-made nets for the all-sizes proof: one pooled shortcut per block against a
stride-2 3x3 conv. `ceil_net` rounds both branches up (valid at every size);
`floor_net`, its twin, pools in floor mode (valid only at multiples of 16);
`padding_net` has a stride-3 3x3 conv without padding on the shortcut (a padding fix)."""

import torch.nn as nn


class Block(nn.Module):
    def __init__(self, channels, ceil_mode):
        super().__init__()
        self.conv = nn.Sequential(nn.Conv2d(channels, channels, 3, stride=2, padding=1),
                                  nn.BatchNorm2d(channels), nn.ReLU())
        self.pool = nn.MaxPool2d(2, stride=2, ceil_mode=ceil_mode)

    def forward(self, x):
        return self.conv(x) + self.pool(x)


class Net(nn.Module):
    def __init__(self, ceil_mode=True):
        super().__init__()
        self.stem = nn.Conv2d(3, 16, 3, padding=1)
        self.blocks = nn.Sequential(*[Block(16, ceil_mode) for _ in range(4)])
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(16, 10))

    def forward(self, x):
        return self.head(self.blocks(self.stem(x)))


class PaddingNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.main = nn.Conv2d(4, 4, 3, stride=3, padding=1)  # ceil(n / 3)
        self.shortcut = nn.Conv2d(4, 4, 3, stride=3)  # floor(n / 3)

    def forward(self, x):
        return self.main(x) + self.shortcut(x)


def ceil_net():
    return Net(ceil_mode=True)


def floor_net():
    return Net(ceil_mode=False)


def padding_net():
    return PaddingNet()
