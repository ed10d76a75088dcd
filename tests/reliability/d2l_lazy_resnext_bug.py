"""d2l's ResNeXt block test with the seed bug: 64 channels out, no 1x1 conv, 32 in."""
from torch import nn

from _d2l_lazy import ResNeXtBlock


def build():
    return nn.Sequential(nn.LazyConv2d(32, kernel_size=1), ResNeXtBlock(64, 16, 1))


INPUT_SHAPE = (4, 32, 24, 24)
