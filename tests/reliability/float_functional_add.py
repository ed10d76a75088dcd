"""An eager-mode quantization-ready block: the shortcut add goes through FloatFunctional,
and the main branch is one channel short."""
import torch.nn as nn
from torch.ao.nn.quantized import FloatFunctional


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(16, 15, 3, padding=1)
        self.skip_add = FloatFunctional()

    def forward(self, x):
        return self.skip_add.add_relu(self.conv(x), x)


INPUT_SHAPE = (2, 16, 8, 8)
