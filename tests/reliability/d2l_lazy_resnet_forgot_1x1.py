"""d2l's ResNet-18 whose stages forget the 1x1 convolution (use_1x1conv=False)."""
from _d2l_lazy import ResNet18


def build():
    return ResNet18(use_1x1conv=False)


INPUT_SHAPE = (2, 1, 96, 96)
