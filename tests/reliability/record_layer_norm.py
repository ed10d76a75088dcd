"""A transformer block that fx cannot trace (shape-dependent branch), whose attention
projection comes back one feature short: the add is a finding, and the functional
layer_norm after it must not stop the recording tracer."""
import torch.nn as nn
import torch.nn.functional as F


class Block(nn.Module):
    def __init__(self, dim=64):
        super().__init__()
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim - 1)
        self.dim = dim
        self.weight = nn.Parameter(F.pad(nn.Linear(1, dim).weight.detach()[:, 0], (0, 0)))

    def forward(self, x):
        if x.shape[-1] != self.dim:
            raise ValueError("wrong width")
        q, k, v = self.qkv(x).chunk(3, dim=-1)
        attn = (q @ k.transpose(-2, -1)).softmax(-1) @ v
        x = x + self.proj(attn)
        return F.layer_norm(x, (self.dim,), self.weight)


INPUT_SHAPE = (2, 10, 64)
