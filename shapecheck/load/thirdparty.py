"""Importing torchvision and timm beside a CPU build of torch.

The torchvision 0.28.0 wheel is a CUDA build; on CPU torch its import fails with
"operator torchvision::nms does not exist" until those op schemas exist. Defining the two
schemas (no kernels) is enough for every model builder, which never calls them.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Optional

_SCHEMAS = {
    "nms": "nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
    "qnms": "qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
}
_library = None  # keep the torch.library.Library alive, or its definitions vanish


def _define_torchvision_schemas() -> None:
    global _library
    import torch

    missing = [n for n in _SCHEMAS if not _has_schema(f"torchvision::{n}")]
    if not missing or _library is not None:
        return
    _library = torch.library.Library("torchvision", "FRAGMENT")
    for name in missing:
        _library.define(_SCHEMAS[name])


def _has_schema(qualname: str) -> bool:
    import torch

    try:
        torch._C._get_schema(qualname, "")
        return True
    except RuntimeError:
        return False


def prepare_torchvision() -> None:
    """Make `import torchvision` work on CPU torch (see the module docstring), without
    importing it; nothing happens when torchvision is not installed.

    >>> prepare_torchvision()
    """
    if importlib.util.find_spec("torchvision") is not None:
        _define_torchvision_schemas()


def import_torchvision() -> Optional[ModuleType]:
    """torchvision, importable on CPU torch, or None when it is not installed.

    >>> tv = import_torchvision()
    >>> tv is None or hasattr(tv.models, "resnet50")
    True
    """
    if importlib.util.find_spec("torchvision") is None:
        return None
    _define_torchvision_schemas()
    try:
        return importlib.import_module("torchvision")
    except Exception:  # a broken install counts as absent: callers skip
        return None


def import_timm() -> Optional[ModuleType]:
    """timm (which imports torchvision), or None when either is unavailable."""
    if importlib.util.find_spec("timm") is None or import_torchvision() is None:
        return None
    try:
        return importlib.import_module("timm")
    except Exception:
        return None
