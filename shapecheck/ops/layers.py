"""What a layer expects to receive, and a plausible output when it receives something else.

Used by both tracers' tolerant execution and by shape propagation: when a layer gets the
wrong channel count, the finding is recorded and the layer is re-run on an input with the
channel count it was built for, so that everything after it is still analysed.
"""

from __future__ import annotations

from typing import Optional

import torch
import torch.nn as nn

from shapecheck.ops.families import family_of
from shapecheck.ops.widths import Expectation

__all__ = ["Expectation", "expectation", "first_tensor", "mismatch", "corrected_input",
           "run_with_corrected_input"]


def expectation(module: nn.Module, x: torch.Tensor) -> Optional[Expectation]:
    """The input dimension `module` was built for, if its family (families.py) has one.

    >>> expectation(nn.Conv2d(3, 8, 3), torch.empty(1, 3, 8, 8, device="meta"))
    Expectation(dim=1, size=3, what='channels')
    """
    family = family_of(module)
    return family.expects(module, x) if family is not None and family.expects else None


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
