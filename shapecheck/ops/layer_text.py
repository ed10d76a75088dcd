"""How each layer family names itself: a short graph label ("conv 3x3/2, 128->128, g=32")
and the longer description a finding's message uses ("Conv2d 3x3/2, 128->128, groups=32").

Read from the module's attributes only, never by calling it.
"""

from __future__ import annotations

from typing import Any

import torch.nn as nn

_BATCH_NORMS = {"BatchNorm1d", "BatchNorm2d", "BatchNorm3d", "SyncBatchNorm"}
_INSTANCE_NORMS = {"InstanceNorm1d", "InstanceNorm2d", "InstanceNorm3d"}


def _dims(value: Any) -> tuple[int, ...]:
    return tuple(value) if isinstance(value, (tuple, list)) else (value,)


def _spatial_dims(module: nn.Module) -> int:
    # MaxPool2d(3) keeps kernel_size=3: its class name says how many dims it spans
    name = type(module).__name__
    return int(name[-2]) if name[-2:] in ("1d", "2d", "3d") else 1


def window(kernel: Any, stride: Any, dims: int = 1) -> str:
    """(3, 3), (2, 2) -> "3x3/2"; a stride of 1 is left out.

    >>> window((3, 3), (2, 2)), window(3, 1, dims=2)
    ('3x3/2', '3x3')
    """
    kernels = _dims(kernel)
    if len(kernels) == 1:
        kernels = kernels * dims
    text = "x".join(str(k) for k in kernels)
    strides = _dims(stride if stride is not None else 1)
    if any(s != 1 for s in strides):
        text += "/" + (str(strides[0]) if len(set(strides)) == 1 else "x".join(map(str, strides)))
    return text


def plain_label(module: nn.Module) -> str:
    return type(module).__name__.lower()


def plain_description(module: nn.Module) -> str:
    return type(module).__name__


def conv_label(module: nn.Module) -> str:
    """conv, kernel/stride, in->out channels, groups (dw when depthwise), dilation.

    >>> conv_label(nn.Conv2d(128, 128, 3, stride=2, padding=1, groups=32))
    'conv 3x3/2, 128->128, g=32'
    """
    kind = "convT" if module.transposed else "conv"
    dims = len(_dims(module.kernel_size))
    if dims != 2:
        kind += f"{dims}d"
    text = f"{kind} {window(module.kernel_size, module.stride)}, "
    text += f"{module.in_channels}->{module.out_channels}"
    if module.groups > 1:
        depthwise = module.groups == module.in_channels == module.out_channels
        text += ", dw" if depthwise else f", g={module.groups}"
    if any(d != 1 for d in _dims(module.dilation)):
        text += f", d={_dims(module.dilation)[0]}"
    return text


def conv_description(module: nn.Module) -> str:
    """Conv2d 3x3/2, 64->128 (groups when more than one).

    >>> conv_description(nn.Conv2d(64, 128, 3, stride=2))
    'Conv2d 3x3/2, 64->128'
    """
    k = "x".join(str(v) for v in module.kernel_size)
    s = module.stride[0] if len(set(module.stride)) == 1 else module.stride
    groups = f", groups={module.groups}" if module.groups > 1 else ""
    return f"{type(module).__name__} {k}/{s}, {module.in_channels}->{module.out_channels}{groups}"


def linear_label(module: nn.Module) -> str:
    return f"fc {module.in_features}->{module.out_features}"


def linear_description(module: nn.Module) -> str:
    return f"{type(module).__name__} {module.in_features}->{module.out_features}"


def batch_norm_label(module: nn.Module) -> str:
    # subclasses (timm's BatchNormAct2d) keep their own name: they do more than normalise
    return "bn" if type(module).__name__ in _BATCH_NORMS else plain_label(module)


def instance_norm_label(module: nn.Module) -> str:
    return "in" if type(module).__name__ in _INSTANCE_NORMS else plain_label(module)


def layer_norm_label(module: nn.Module) -> str:
    return "ln" if type(module).__name__ == "LayerNorm" else plain_label(module)


def rms_norm_label(module: nn.Module) -> str:
    return "rms" if type(module).__name__ == "RMSNorm" else plain_label(module)


def group_norm_label(module: nn.Module) -> str:
    return f"gn {module.num_groups}"


def pool_label(module: nn.Module) -> str:
    """maxpool or avgpool with its window.

    >>> pool_label(nn.MaxPool2d(3, 2))
    'maxpool 3x3/2'
    """
    kind = "maxpool" if isinstance(module, nn.modules.pooling._MaxPoolNd) else "avgpool"
    return f"{kind} {window(module.kernel_size, module.stride, _spatial_dims(module))}"


def adaptive_pool_label(module: nn.Module) -> str:
    kind = "avgpool" if "Avg" in type(module).__name__ else "maxpool"
    sizes = _dims(module.output_size)
    if all(s == 1 for s in sizes):
        return f"global {kind}"
    return f"{kind} ->" + "x".join("*" if s is None else str(s) for s in sizes)


def dropout_label(module: nn.Module) -> str:
    return f"dropout {module.p:g}"
