"""Which dimension of a tensor holds channels and which are spatial.

Feature maps are N,C,H,W (or N,C,L / N,C,D,H,W): channels at dim 1. Token tensors
(N,L,D, as in transformers) and flat features (N,D) carry their features last.
"""

from __future__ import annotations

from dataclasses import dataclass

Shape = tuple[int, ...]


@dataclass(frozen=True)
class Layout:
    channel_dim: int
    spatial_dims: tuple[int, ...]
    name: str  # "nchw", "ncl", "ncdhw", "tokens", "features"

    def channels(self, shape: Shape) -> int:
        return shape[self.channel_dim]

    def spatial(self, shape: Shape) -> tuple[int, ...]:
        return tuple(shape[d] for d in self.spatial_dims)


def layout_of(shape: Shape, channels_first: bool = True) -> Layout:
    """The layout of a tensor of this rank; 3-D tensors are tokens unless `channels_first`.

    >>> layout_of((1, 256, 56, 56)).channel_dim, layout_of((1, 197, 768), False).channel_dim
    (1, 2)
    """
    rank = len(shape)
    if rank == 4:
        return Layout(1, (2, 3), "nchw")
    if rank == 5:
        return Layout(1, (2, 3, 4), "ncdhw")
    if rank == 3:
        return Layout(1, (2,), "ncl") if channels_first else Layout(2, (1,), "tokens")
    if rank == 2:
        return Layout(1, (), "features")
    return Layout(rank - 1, tuple(range(1, rank - 1)), "features")


def spatial_text(shape: Shape, layout: Layout, lang: str = "en") -> str:
    """"56x56" for an N,C,H,W shape; "197 tokens" for tokens; "" without spatial dims.

    >>> spatial_text((1, 197, 768), layout_of((1, 197, 768), False), "zh")
    '197 个词元'
    """
    dims = layout.spatial(shape)
    if not dims:
        return ""
    if layout.name == "tokens":
        return f"{dims[0]} 个词元" if lang == "zh" else f"{dims[0]} tokens"
    return "x".join(str(d) for d in dims)
