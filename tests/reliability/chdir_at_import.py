"""Moves the working directory at import (a data folder): reports must still land where asked."""
import os
import tempfile

import torch.nn as nn

os.chdir(tempfile.gettempdir())


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(8, 8)

    def forward(self, x):
        return self.fc(x) + x


INPUT_SHAPE = (2, 8)
