"""d2l's test of the Residual block, with the seed bug: 6 channels out, no 1x1 conv, 3 in."""
from torch import nn

from _d2l_lazy import Residual


def build():
    return nn.Sequential(nn.LazyConv2d(3, kernel_size=1), Residual(6))


INPUT_SHAPE = (4, 3, 6, 6)
