"""Asks a question at import; run with --exec, input() meets an empty standard input."""
import torch.nn as nn

width = int(input("width? "))


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(width, width)

    def forward(self, x):
        return self.fc(x) + x
