"""forward looks up a branch under a name that does not exist: a bug in the code."""
import torch.nn as nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.branches = {"main": nn.Linear(8, 8)}
        self.main = self.branches["main"]

    def forward(self, x):
        return self.branches["mian"](x) + x


INPUT_SHAPE = (2, 8)
