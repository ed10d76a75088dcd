"""Static shapes are fine, but a buffer of channel indices points past the last channel:
only the real run can see that (meta tensors hold no values)."""
import torch
import torch.nn as nn


class Shuffle(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(4, 4, 3, padding=1)
        self.register_buffer("order", torch.tensor([3, 2, 1, 7]))

    def forward(self, x):
        return self.conv(x)[:, self.order] + x


INPUT_SHAPE = (2, 4, 8, 8)
