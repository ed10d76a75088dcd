"""A global context vector (N x C) added to a feature map (N x C x H x W): the classic
forgotten `[:, :, None, None]`; the real forward raises."""
import torch.nn as nn


class ContextBlock(nn.Module):
    def __init__(self, channels=32):
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, padding=1)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(channels, channels)

    def forward(self, x):
        y = self.conv(x)
        context = self.fc(self.pool(x).flatten(1))
        return y + context  # should be context[:, :, None, None]


INPUT_SHAPE = (2, 32, 16, 16)
