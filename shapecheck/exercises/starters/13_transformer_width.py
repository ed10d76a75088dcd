"""Exercise 13: a transformer residual whose attention projects to the wrong width.

练习 13：注意力输出投影到错误宽度的 Transformer 残差连接。

Residual adds are not only for CNNs: a transformer layer computes x + attn(norm(x)) and
x + mlp(norm(x)) on tokens of width `dim`. Here the attention works in heads * head_dim =
128 dimensions while the model's width is 96, and its output projection keeps the 128.
Check it, then fix it so that the residual stream keeps its width (no projection on the
shortcut: in a transformer the shortcut must stay the identity).

残差连接不只用于 CNN：Transformer 层在宽度为 `dim` 的 token 上计算 x + attn(norm(x)) 和
x + mlp(norm(x))。这里的注意力在 heads * head_dim = 128 维上计算，而模型宽度是 96，输出
投影却仍保持 128 维。检查它，然后修正，使残差流保持原有宽度（不要在捷径上加投影：
Transformer 的捷径必须保持恒等）。

    shapecheck exercises check 13 THIS_FILE.py
"""

from collections import OrderedDict

import torch
from torch import nn

INPUT_SHAPE = (1, 16, 96)  # batch, tokens, dim


class Attention(nn.Module):
    """Multi-head self-attention computed in heads * head_dim dimensions."""

    def __init__(self, dim, heads=4, head_dim=32):
        super().__init__()
        self.heads, self.head_dim = heads, head_dim
        inner = heads * head_dim
        self.qkv = nn.Linear(dim, inner * 3)
        self.proj = nn.Linear(inner, inner)

    def forward(self, x):
        b, t, _ = x.shape
        q, k, v = self.qkv(x).chunk(3, dim=-1)
        q, k, v = (z.view(b, t, self.heads, self.head_dim).transpose(1, 2) for z in (q, k, v))
        weights = (q @ k.transpose(-2, -1) * self.head_dim ** -0.5).softmax(dim=-1)
        out = (weights @ v).transpose(1, 2).reshape(b, t, self.heads * self.head_dim)
        return self.proj(out)


class TransformerLayer(nn.Module):
    """Pre-norm transformer layer: x + attn(norm1(x)), then x + mlp(norm2(x))."""

    def __init__(self, dim):
        super().__init__()
        self.norm1, self.attn = nn.LayerNorm(dim), Attention(dim)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, 4 * dim), nn.GELU(), nn.Linear(4 * dim, dim))

    def forward(self, x):
        x = x + self.attn(self.norm1(x))
        x = x + self.mlp(self.norm2(x))
        return x


def build():
    dim = INPUT_SHAPE[-1]
    return nn.Sequential(OrderedDict(layer1=TransformerLayer(dim), layer2=TransformerLayer(dim)))


if __name__ == "__main__":
    print(build().eval()(torch.randn(INPUT_SHAPE)).shape)
