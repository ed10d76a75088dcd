"""`torch.flatten(x)` without `start_dim` flattens the batch too: with one example the
classifier still gets its 64 features, with two it gets 128. No input shape is declared:
the default example batch (2) must find it."""
import torch
import torch.nn as nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 64, 3, padding=1)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(64, 10)

    def forward(self, x):
        x = self.conv(x) + x.repeat(1, 64 // 3 + 1, 1, 1)[:, :64]
        return self.fc(torch.flatten(self.pool(x)))
