"""A correct residual block, checked after a target that fails."""
import torch.nn as nn


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(8, 8, 3, padding=1)

    def forward(self, x):
        return self.conv(x) + x


INPUT_SHAPE = (2, 8, 16, 16)
