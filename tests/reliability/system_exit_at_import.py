"""Refuses to run without a GPU, at import."""
import torch
import torch.nn as nn

if not torch.cuda.is_available():
    raise SystemExit("this notebook needs a GPU")


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(8, 8)

    def forward(self, x):
        return self.fc(x) + x
