"""The width a layer is built for, and the width it gives its output, per layer family.

One function per family; `families.py` puts them in its table. A module form reads the
layer's attributes; a functional form (`F.conv2d`, `F.batch_norm`, as timm's norm-act
layers trace) reads its weight's shape through two accessors, so nothing here needs fx.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Optional

import torch
import torch.nn as nn

Arg = Callable[[int, str], Any]  # (position, keyword) -> the call's argument
Width = Callable[[Any, int], Optional[int]]  # (argument, axis) -> its size there, if a tensor


@dataclass(frozen=True)
class Expectation:
    """The layer wants `size` at dimension `dim` of its first input (`what` names it)."""

    dim: int
    size: int
    what: str  # "channels" | "features"


def conv_expects(module: nn.Module, x: torch.Tensor) -> Expectation:
    """Channels at dim 1 (dim 0 for an unbatched input).

    >>> conv_expects(nn.Conv2d(3, 8, 3), torch.empty(3, 8, 8, device="meta"))
    Expectation(dim=0, size=3, what='channels')
    """
    dims = len(getattr(module, "kernel_size", ())) or 1
    dim = 0 if x.dim() == dims + 1 else 1
    return Expectation(dim, module.in_channels, "channels")


def linear_expects(module: nn.Module, x: torch.Tensor) -> Optional[Expectation]:
    """Features last; a lazy linear layer expects whatever it first receives."""
    if isinstance(module, nn.LazyLinear):
        return None
    return Expectation(x.dim() - 1, module.in_features, "features")


def channel_norm_expects(module: nn.Module, x: torch.Tensor) -> Optional[Expectation]:
    """Batch, instance and group norms: channels at dim 1 (dim 0 unbatched)."""
    size = getattr(module, "num_features", None) or getattr(module, "num_channels", None)
    return None if size is None else Expectation(1 if x.dim() > 1 else 0, size, "channels")


def last_dim_norm_expects(module: nn.Module, x: torch.Tensor) -> Optional[Expectation]:
    """LayerNorm and RMSNorm over one trailing dimension: features last.

    >>> last_dim_norm_expects(nn.RMSNorm(96), torch.empty(2, 5, 128, device="meta"))
    Expectation(dim=2, size=96, what='features')
    """
    shape = module.normalized_shape
    return Expectation(x.dim() - 1, shape[0], "features") if len(shape) == 1 else None


def channels_first_norm_expects(module: nn.Module, x: torch.Tensor) -> Optional[Expectation]:
    """A layer norm over the channels of an N,C,H,W map (timm's LayerNorm2d)."""
    shape = module.normalized_shape
    return Expectation(1, shape[0], "channels") if len(shape) == 1 and x.dim() > 1 else None


def conv_out_width(module: nn.Module) -> int:
    return module.out_channels


def linear_out_width(module: nn.Module) -> int:
    return module.out_features


def conv_call_expects(arg: Arg, width: Width, rank: int) -> Optional[tuple[int, int]]:
    """`F.conv2d(x, weight, bias, stride, padding, dilation, groups)`: weight is
    out x in/groups x kernel."""
    w, groups = width(arg(1, "weight"), 1), arg(6, "groups") or 1
    return (1, w * groups) if w is not None and isinstance(groups, int) else None


def linear_call_expects(arg: Arg, width: Width, rank: int) -> Optional[tuple[int, int]]:
    w = width(arg(1, "weight"), 1)
    return (rank - 1, w) if w is not None else None


def batch_norm_call_expects(arg: Arg, width: Width, rank: int) -> Optional[tuple[int, int]]:
    """`F.batch_norm(x, running_mean, running_var, weight, bias, ...)`."""
    w = width(arg(1, "running_mean"), 0) or width(arg(3, "weight"), 0)
    return (1, w) if w is not None else None


def instance_norm_call_expects(arg: Arg, width: Width, rank: int) -> Optional[tuple[int, int]]:
    """`F.instance_norm(x, running_mean, running_var, weight, bias, ...)`: without running
    statistics or affine weights it normalises any channel count."""
    w = width(arg(1, "running_mean"), 0) or width(arg(3, "weight"), 0)
    return (1, w) if w is not None else None


def group_norm_call_expects(arg: Arg, width: Width, rank: int) -> Optional[tuple[int, int]]:
    """`F.group_norm(x, num_groups, weight, bias, eps)`."""
    w = width(arg(2, "weight"), 0)
    return (1, w) if w is not None else None


def last_dim_norm_call_expects(arg: Arg, width: Width, rank: int) -> Optional[tuple[int, int]]:
    """`F.layer_norm` / `F.rms_norm(x, normalized_shape, ...)` over one trailing dim."""
    normalized = arg(1, "normalized_shape")
    if isinstance(normalized, (tuple, list)) and len(normalized) == 1 and isinstance(
            normalized[0], int):
        return rank - 1, normalized[0]
    return None
