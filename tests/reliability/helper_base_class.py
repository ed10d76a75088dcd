"""A helper base class without forward, and the real model built on it."""
import torch.nn as nn


class Base(nn.Module):
    def __init__(self, width=8):
        super().__init__()
        self.stem = nn.Linear(width, width)


class Net(Base):
    def forward(self, x):
        return self.stem(x) + x


INPUT_SHAPE = (2, 8)
