"""Each layer family rebuilt at another output width, on meta, with its constructor as code.

A fix that resizes a branch rebuilds its last conv or linear layer and the norms after it.
torch's own classes are rebuilt with their constructors, so the code shown is the code to
write; a subclass may override `forward`, so it is rebuilt only where its row says how.
Every function returns None when the layer cannot take that width (groups must divide it).
"""

from __future__ import annotations

import copy
from typing import Optional

import torch
import torch.nn as nn

from shapecheck.ops.meta import skip_init_on_meta

Rebuilt = Optional[tuple[nn.Module, str]]


def conv_args(conv: nn.modules.conv._ConvNd) -> str:
    """The constructor arguments of `conv` that differ from their defaults.

    >>> conv_args(nn.Conv2d(8, 8, 3, padding=1, bias=False))
    ', kernel_size=3, padding=1, bias=False'
    """
    def one(value):
        return value[0] if len(set(value)) == 1 else value

    parts = [f", kernel_size={one(conv.kernel_size)}"]
    defaults = {"stride": 1, "padding": 0, "dilation": 1}
    for name, default in defaults.items():
        value = getattr(conv, name)
        value = value if isinstance(value, str) else one(value)
        if value != default:
            parts.append(f", {name}={value!r}" if isinstance(value, str) else f", {name}={value}")
    if conv.groups != 1:
        parts.append(f", groups={conv.groups}")
    if conv.bias is None:
        parts.append(", bias=False")
    return "".join(parts)


def rebuild_conv(module: nn.Module, width: int) -> Rebuilt:
    """torch's Conv1d/2d/3d with every setting kept (groups must divide the width).

    >>> rebuild_conv(nn.Conv2d(64, 128, 1, bias=False), 256)[1]
    'nn.Conv2d(64, 256, kernel_size=1, bias=False)'
    """
    kind = type(module)
    if kind not in (nn.Conv1d, nn.Conv2d, nn.Conv3d) or width % module.groups:
        return None
    args = dict(kernel_size=module.kernel_size, stride=module.stride, padding=module.padding,
                dilation=module.dilation, groups=module.groups, bias=module.bias is not None,
                padding_mode=module.padding_mode)
    with torch.device("meta"), skip_init_on_meta():
        rebuilt = kind(module.in_channels, width, **args)
    return rebuilt, f"nn.{kind.__name__}({module.in_channels}, {width}{conv_args(module)})"


def rebuild_linear(module: nn.Module, width: int) -> Rebuilt:
    """torch's Linear, with or without bias.

    >>> rebuild_linear(nn.Linear(128, 128), 96)[1]
    'nn.Linear(128, 96)'
    """
    if type(module) is not nn.Linear:
        return None
    bias = module.bias is not None
    with torch.device("meta"), skip_init_on_meta():
        rebuilt = nn.Linear(module.in_features, width, bias=bias)
    return rebuilt, f"nn.Linear({module.in_features}, {width}{'' if bias else ', bias=False'})"


def rebuild_batch_norm(module: nn.Module, width: int) -> Rebuilt:
    """Batch and instance norms of torch, with their settings.

    >>> rebuild_batch_norm(nn.BatchNorm2d(128), 96)[1]
    'nn.BatchNorm2d(96)'
    """
    kind = type(module)
    if kind not in (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d, nn.InstanceNorm1d,
                    nn.InstanceNorm2d, nn.InstanceNorm3d):
        return None
    with torch.device("meta"), skip_init_on_meta():
        rebuilt = kind(width, eps=module.eps, momentum=module.momentum, affine=module.affine,
                       track_running_stats=module.track_running_stats)
    return rebuilt, f"nn.{kind.__name__}({width}{_instance_args(module)})"


def _instance_args(module: nn.Module) -> str:
    # instance norms default to affine=False, batch norms to True: show what differs
    if not isinstance(module, nn.modules.instancenorm._InstanceNorm):
        return ""
    return "".join(f", {name}=True" for name in ("affine", "track_running_stats")
                   if getattr(module, name))


def rebuild_layer_norm(module: nn.Module, width: int) -> Rebuilt:
    """LayerNorm and RMSNorm over one trailing dimension.

    >>> rebuild_layer_norm(nn.RMSNorm(128, elementwise_affine=False), 96)[1]
    'nn.RMSNorm(96, elementwise_affine=False)'
    """
    kind = type(module)
    if kind not in (nn.LayerNorm, nn.RMSNorm) or len(module.normalized_shape) != 1:
        return None
    affine = module.elementwise_affine
    extra = {"bias": module.bias is not None} if kind is nn.LayerNorm else {}
    with torch.device("meta"), skip_init_on_meta():
        rebuilt = kind(width, eps=module.eps, elementwise_affine=affine, **extra)
    text = "" if affine else ", elementwise_affine=False"
    if kind is nn.LayerNorm and affine and module.bias is None:
        text = ", bias=False"
    return rebuilt, f"nn.{kind.__name__}({width}{text})"


def rebuild_group_norm(module: nn.Module, width: int) -> Rebuilt:
    """torch's GroupNorm; its groups must divide the new width.

    >>> rebuild_group_norm(nn.GroupNorm(8, 128), 96)[1]
    'nn.GroupNorm(8, 96)'
    """
    if type(module) is not nn.GroupNorm or width % module.num_groups:
        return None
    with torch.device("meta"), skip_init_on_meta():
        rebuilt = nn.GroupNorm(module.num_groups, width, eps=module.eps, affine=module.affine)
    return rebuilt, f"nn.GroupNorm({module.num_groups}, {width})"


def rebuild_width_copy(module: nn.Module, width: int) -> Rebuilt:
    """A copy of a norm (timm's LayerNorm2d, BatchNormAct2d, GroupNormAct, LayerNormAct2d)
    whose per-channel tensors and width attributes have the new width; its other settings
    and children (activation, drop) are kept, so it behaves as the original at that width.

    The code names the class and the width; the original's other arguments still apply.

    >>> rebuild_width_copy(nn.GroupNorm(4, 8), 12)[0].weight.shape
    torch.Size([12])
    """
    groups = getattr(module, "num_groups", None)
    if groups and width % groups:
        return None
    new = copy.copy(module)
    old = _width_of(module)
    new._parameters = {k: None if p is None else nn.Parameter(_resized(p, old, width),
                                                                p.requires_grad)
                       for k, p in module._parameters.items()}
    new._buffers = {k: None if b is None else _resized(b, old, width)
                    for k, b in module._buffers.items()}
    new._modules = dict(module._modules)
    for name in ("num_features", "num_channels"):
        if hasattr(module, name):
            setattr(new, name, width)
    if hasattr(module, "normalized_shape"):
        new.normalized_shape = (width,)
    group_text = f", num_groups={groups}" if groups else ""
    return new, f"{type(module).__name__}({width}{group_text})"


def _width_of(module: nn.Module) -> Optional[int]:
    for name in ("num_features", "num_channels"):
        if getattr(module, name, None):
            return getattr(module, name)
    shape = getattr(module, "normalized_shape", ())
    return shape[0] if len(shape) == 1 else None


def _resized(tensor: torch.Tensor, old: Optional[int], width: int) -> torch.Tensor:
    """A meta tensor like `tensor`, its leading dimension `width` if it was the layer's."""
    shape = list(tensor.shape)
    if shape and shape[0] == old:
        shape[0] = width
    return torch.empty(shape, dtype=tensor.dtype, device="meta")
