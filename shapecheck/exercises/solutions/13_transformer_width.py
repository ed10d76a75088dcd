"""Exercise 13, reference solution: the attention's output projection maps the heads'
inner width back to the model's width.

练习 13 参考答案：注意力的输出投影把多头的内部宽度映射回模型宽度。
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
        # back to the model's width: the result is added to the residual stream
        self.proj = nn.Linear(inner, dim)

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
