"""What a layer expects to receive, and a plausible output when it receives something else.

Used by both tracers' tolerant execution and by shape propagation: when a layer gets the
wrong channel count, the finding is recorded and the layer is re-run on an input with the
channel count it was built for, so that everything after it is still analysed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import torch
import torch.nn as nn


@dataclass(frozen=True)
class Expectation:
    """The layer wants `size` at dimension `dim` of its first input (`what` names it)."""

    dim: int
    size: int
    what: str  # "channels" | "features"


_CHANNEL_LAYERS = (nn.modules.conv._ConvNd, nn.modules.batchnorm._NormBase, nn.GroupNorm)


def expectation(module: nn.Module, x: torch.Tensor) -> Optional[Expectation]:
    """The input dimension `module` was built for, if it is a conv, norm or linear layer.

    >>> expectation(nn.Conv2d(3, 8, 3), torch.empty(1, 3, 8, 8, device="meta"))
    Expectation(dim=1, size=3, what='channels')
    """
    if isinstance(module, nn.modules.conv._ConvNd):
        # an unbatched conv input has its channels first
        dims = len(getattr(module, "kernel_size", ())) or 1
        dim = 0 if x.dim() == dims + 1 else 1
        return Expectation(dim, module.in_channels, "channels")
    if isinstance(module, nn.modules.batchnorm._NormBase):
        if module.num_features is None:
            return None
        return Expectation(1 if x.dim() > 1 else 0, module.num_features, "channels")
    if isinstance(module, nn.GroupNorm):
        return Expectation(1 if x.dim() > 1 else 0, module.num_channels, "channels")
    if isinstance(module, nn.Linear) and not isinstance(module, nn.LazyLinear):
        return Expectation(x.dim() - 1, module.in_features, "features")
    if isinstance(module, nn.LayerNorm) and len(module.normalized_shape) == 1:
        return Expectation(x.dim() - 1, module.normalized_shape[0], "features")
    return None


def first_tensor(values) -> Optional[torch.Tensor]:
    """The first tensor among positional arguments (flattening lists and tuples)."""
    for value in values:
        if isinstance(value, torch.Tensor):
            return value
        if isinstance(value, (list, tuple)):
            found = first_tensor(value)
            if found is not None:
                return found
    return None


def mismatch(module: nn.Module, args) -> Optional[tuple[torch.Tensor, Expectation]]:
    """(received input, expectation) when `module` gets the wrong channel/feature count."""
    x = first_tensor(args)
    if x is None or x.dim() == 0:
        return None
    want = expectation(module, x)
    if want is None or want.dim >= x.dim() or x.shape[want.dim] == want.size:
        return None
    return x, want


def corrected_input(x: torch.Tensor, want: Expectation) -> torch.Tensor:
    """`x` with its channel/feature dimension resized to what the layer expects."""
    shape = list(x.shape)
    shape[want.dim] = want.size
    return torch.empty(shape, dtype=x.dtype, device=x.device)


def run_with_corrected_input(module: nn.Module, args, kwargs) -> Optional[torch.Tensor]:
    """Run `module` on a corrected input; None when it does not help (or is not a layer)."""
    found = mismatch(module, args)
    if found is None:
        return None
    x, want = found
    fixed = corrected_input(x, want)
    new_args = tuple(fixed if a is x else a for a in args)
    try:
        return module(*new_args, **kwargs)
    except Exception:
        return None
