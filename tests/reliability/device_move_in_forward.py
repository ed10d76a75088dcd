"""Moves tensors to the GPU inside forward (fine on the learner's machine), and has a real
channel bug two lines later."""
import torch
import torch.nn as nn


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(16, 32, 3, padding=1)

    def forward(self, x):
        x = x.to("cuda")
        noise = torch.zeros(x.shape, device="cuda")
        out = self.conv(x + noise).cuda()
        return out + x  # 32 channels + 16 channels


INPUT_SHAPE = (2, 16, 8, 8)
