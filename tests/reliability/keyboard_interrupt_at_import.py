"""A script that stops itself with KeyboardInterrupt at import."""
import torch.nn as nn

raise KeyboardInterrupt


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(8, 8)
