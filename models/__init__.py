"""Reference residual networks: correct, readable, and checked against torchvision.

Each file is also a standalone ``shapecheck`` target (``shapecheck models/resnet.py``)
with its own ``INPUT_SHAPE``. This package lists the no-argument factories for tests
and benchmarks.

Example:
    >>> sorted(MODELS)[:3]
    ['d2l_resnet18', 'preact_resnet18', 'resnet101']
    >>> INPUT_SHAPES["d2l_resnet18"]
    (1, 1, 96, 96)
"""

from __future__ import annotations

import sys
from typing import Callable

from torch import nn

from . import d2l_resnet, preact_resnet, resnet

__all__ = ["MODELS", "INPUT_SHAPES"]

MODELS: dict[str, Callable[[], nn.Module]] = {
    "resnet18": resnet.resnet18,
    "resnet34": resnet.resnet34,
    "resnet50": resnet.resnet50,
    "resnet101": resnet.resnet101,
    "resnet152": resnet.resnet152,
    "resnext50_32x4d": resnet.resnext50_32x4d,
    "resnext101_32x8d": resnet.resnext101_32x8d,
    "wide_resnet50_2": resnet.wide_resnet50_2,
    "preact_resnet18": preact_resnet.preact_resnet18,
    "d2l_resnet18": d2l_resnet.d2l_resnet18,
}

# each factory's own file declares the input it is checked with
INPUT_SHAPES: dict[str, tuple[int, ...]] = {
    name: sys.modules[factory.__module__].INPUT_SHAPE for name, factory in MODELS.items()
}
