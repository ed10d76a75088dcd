"""Exact shape formulas for the layers and operations residual networks are made of.

Meta kernels are correct but not free: the first one imports torch's meta registrations
(about 2 s here), some import torch._dynamo (3 s more), and each elementwise op runs a
Python decomposition (0.5-12 ms). Convs, norms, activations, pools, adds, flatten and linear
layers make up nearly every node of a ResNet, and their output shapes are simple formulas:
computing them in Python keeps a ResNet-50 analysis in milliseconds, independent of input
size. Anything else falls back to the meta kernel. A rule raises RuntimeError exactly where
torch would, so failures are found the same way.
"""

from __future__ import annotations

import math
import operator
from typing import Any, Optional

import torch
import torch.nn as nn
import torch.nn.functional as F

from shapecheck.ops import axis_formulas
from shapecheck.ops.families import family_types
from shapecheck.ops.layers import mismatch

Shape = tuple[int, ...]
NO_RULE = object()  # "no formula for this call": run the meta kernel

_SHAPE_PRESERVING_MODULES = (
    nn.ReLU, nn.ReLU6, nn.GELU, nn.SiLU, nn.Sigmoid, nn.Tanh, nn.Hardswish, nn.Hardsigmoid,
    nn.LeakyReLU, nn.ELU, nn.Mish, nn.PReLU, nn.Identity, nn.Dropout, nn.Dropout1d,
    nn.Dropout2d, nn.Dropout3d, nn.AlphaDropout, nn.modules.batchnorm._BatchNorm,
    nn.LocalResponseNorm, nn.Softmax) + family_types("norm")
_SHAPE_PRESERVING_CALLS = {torch.relu, F.relu, torch.sigmoid, F.sigmoid, torch.tanh, F.gelu,
                           F.silu, F.hardswish, F.dropout, torch.relu_, F.relu6, F.leaky_relu}
# dtype-preserving only: .float()/.to() change the dtype, which later ops check
_SHAPE_PRESERVING_METHODS = {"relu", "relu_", "sigmoid", "sigmoid_", "tanh", "contiguous",
                             "clone", "detach"}
_BINARY_CALLS = {operator.add, operator.iadd, operator.mul, operator.imul, operator.sub,
                 operator.truediv, torch.add, torch.mul, torch.sub}
_BINARY_METHODS = {"add", "mul", "sub", "div", "add_", "mul_", "sub_", "div_", "__add__",
                   "__iadd__", "__radd__", "__mul__", "__rmul__"}


def broadcast(a: Shape, b: Shape) -> Shape:
    """numpy/torch broadcasting of two shapes; RuntimeError like torch's when impossible.

    >>> broadcast((1, 64, 56, 56), (1, 64, 1, 1))
    (1, 64, 56, 56)
    """
    rank = max(len(a), len(b))
    a_full, b_full = (1,) * (rank - len(a)) + tuple(a), (1,) * (rank - len(b)) + tuple(b)
    out = []
    for index, (x, y) in enumerate(zip(a_full, b_full)):
        if x != y and 1 not in (x, y):
            raise RuntimeError(
                f"The size of tensor a ({x}) must match the size of tensor b ({y}) at "
                f"non-singleton dimension {index}")
        out.append(y if x == 1 else x)
    return tuple(out)


def _empty(shape, like: torch.Tensor) -> torch.Tensor:
    return torch.empty(tuple(shape), dtype=like.dtype, device="meta")


def _window(size: int, kernel: int, stride: int, padding: int, dilation: int,
            ceil_mode: Optional[bool] = None) -> int:
    """One axis through a conv (ceil_mode None) or a pool, by the same formulas the size
    proof uses (`ops/axis_formulas`), raising where torch raises."""
    if ceil_mode is None:
        out, ok = axis_formulas.conv_output(size, kernel, stride, padding, dilation)
        if not ok:
            raise RuntimeError(f"Calculated padded input size per channel: "
                               f"({size + 2 * padding}). Kernel size: "
                               f"({dilation * (kernel - 1) + 1}). Kernel size can't be greater "
                               f"than actual input size")
        return int(out)
    if not axis_formulas.pool_padding_ok(kernel, padding):
        raise RuntimeError(f"pad should be at most half of effective kernel size, but got "
                           f"pad={padding}, kernel_size={kernel} and dilation={dilation}")
    out, ok = axis_formulas.pool_output(size, kernel, stride, padding, dilation, ceil_mode)
    if not ok:
        raise RuntimeError(f"Given input size: ({size}). Calculated output size: "
                           f"({int(out)}). Output size is too small")
    return int(out)


def _conv(module: nn.modules.conv._ConvNd, x: torch.Tensor):
    if isinstance(module, nn.modules.conv._ConvTransposeNd) or isinstance(
            module, nn.modules.lazy.LazyModuleMixin):
        return NO_RULE
    dims = len(module.kernel_size)
    if x.dim() != dims + 2:
        return NO_RULE  # unbatched input: let torch handle it
    if x.shape[1] != module.in_channels:
        raise RuntimeError(
            f"expected input{tuple(x.shape)} to have {module.in_channels} channels, but got "
            f"{x.shape[1]} channels instead")
    padding = module.padding
    if padding == "same":
        spatial = list(x.shape[2:])
    elif padding == "valid":
        spatial = [_window(n, k, s, 0, d) for n, k, s, d in
                   zip(x.shape[2:], module.kernel_size, module.stride, module.dilation)]
    else:
        spatial = [_window(n, k, s, p, d) for n, k, s, p, d in
                   zip(x.shape[2:], module.kernel_size, module.stride, padding, module.dilation)]
    return _empty((x.shape[0], module.out_channels, *spatial), x)


def _pool(module: nn.Module, x: torch.Tensor):
    dims = {nn.MaxPool1d: 1, nn.MaxPool2d: 2, nn.MaxPool3d: 3, nn.AvgPool1d: 1,
            nn.AvgPool2d: 2, nn.AvgPool3d: 3}[type(module)]
    if x.dim() != dims + 2 or getattr(module, "return_indices", False):
        return NO_RULE
    expand = lambda v: tuple(v) if isinstance(v, (tuple, list)) else (v,) * dims  # noqa: E731
    kernel, stride = expand(module.kernel_size), expand(module.stride or module.kernel_size)
    padding, dilation = expand(module.padding), expand(getattr(module, "dilation", 1))
    spatial = [_window(n, k, s, p, d, bool(module.ceil_mode))
               for n, k, s, p, d in zip(x.shape[2:], kernel, stride, padding, dilation)]
    return _empty((*x.shape[:2], *spatial), x)


def _adaptive(module: nn.Module, x: torch.Tensor):
    dims = 1 if isinstance(module, (nn.AdaptiveAvgPool1d, nn.AdaptiveMaxPool1d)) else (
        3 if isinstance(module, (nn.AdaptiveAvgPool3d, nn.AdaptiveMaxPool3d)) else 2)
    if x.dim() != dims + 2 or getattr(module, "return_indices", False):
        return NO_RULE
    size = module.output_size
    size = tuple(size) if isinstance(size, (tuple, list)) else (size,) * dims
    spatial = [n if s is None else s for n, s in zip(x.shape[2:], size)]
    return _empty((*x.shape[:2], *spatial), x)


def _flatten_shape(shape: Shape, start: int, end: int) -> Shape:
    rank = len(shape)
    if rank == 0:
        return (1,)
    start, end = start % rank, end % rank
    return shape[:start] + (math.prod(shape[start:end + 1]),) + shape[end + 1:]


def _cat(args: tuple, kwargs: dict) -> Any:
    tensors = args[0]
    dim = args[1] if len(args) > 1 else kwargs.get("dim", 0)
    if not isinstance(tensors, (list, tuple)) or not tensors or not all(
            isinstance(t, torch.Tensor) for t in tensors) or set(kwargs) - {"dim"}:
        return NO_RULE
    first = tensors[0]
    rank = first.dim()
    if rank == 0 or any(t.dim() != rank for t in tensors):
        return NO_RULE
    dim %= rank
    for number, t in enumerate(tensors[1:], start=1):
        for d in range(rank):
            if d != dim and t.shape[d] != first.shape[d]:
                raise RuntimeError(f"Sizes of tensors must match except in dimension {dim}. "
                                   f"Expected size {first.shape[d]} but got size {t.shape[d]} "
                                   f"for tensor number {number} in the list.")
    shape = list(first.shape)
    shape[dim] = sum(t.shape[dim] for t in tensors)
    return _empty(shape, first)


def _chunk(args: tuple, kwargs: dict) -> Any:
    x = args[0]
    chunks = args[1] if len(args) > 1 else kwargs.get("chunks")
    dim = args[2] if len(args) > 2 else kwargs.get("dim", 0)
    if not isinstance(chunks, int) or chunks < 1 or x.dim() == 0:
        return NO_RULE
    dim %= x.dim()
    size = x.shape[dim]
    step = max(1, math.ceil(size / chunks))
    pieces = []
    for start in range(0, size, step):
        shape = list(x.shape)
        shape[dim] = min(step, size - start)
        pieces.append(_empty(shape, x))
    return tuple(pieces)


def _reduce(args: tuple, kwargs: dict) -> Any:
    x = args[0]
    dims = args[1] if len(args) > 1 else kwargs.get("dim")
    keepdim = args[2] if len(args) > 2 else kwargs.get("keepdim", False)
    if dims is None or set(kwargs) - {"dim", "keepdim"} or not x.is_floating_point():
        return NO_RULE
    dims = {d % x.dim() for d in (dims if isinstance(dims, (tuple, list)) else (dims,))}
    shape = [1 if d in dims else n for d, n in enumerate(x.shape) if keepdim or d not in dims]
    return _empty(shape, x)


def module_rule(module: nn.Module, args: tuple, kwargs: dict) -> Any:
    """The output of `module(*args)` on meta, by formula, or NO_RULE.

    >>> module_rule(nn.Conv2d(3, 8, 3, stride=2, padding=1), (torch.empty(1, 3, 7, 7, device="meta"),), {}).shape
    torch.Size([1, 8, 4, 4])
    """
    if kwargs or len(args) != 1 or not isinstance(args[0], torch.Tensor):
        return NO_RULE
    if type(module).__module__.split(".")[0] != "torch":
        return NO_RULE  # a user's subclass may override forward: only torch's own classes
    x = args[0]
    if type(module) is nn.Sequential:
        for child in module:  # chain the rules; a child without one runs its kernel
            value = module_rule(child, (x,), {})
            x = child(x) if value is NO_RULE else value
        return x
    if isinstance(module, nn.modules.conv._ConvNd):
        return _conv(module, x)
    if isinstance(module, _SHAPE_PRESERVING_MODULES):
        found = mismatch(module, args)
        if found is not None:
            x, want = found
            raise RuntimeError(f"{type(module).__name__} expected {want.size} {want.what} at "
                               f"dim {want.dim}, got input of shape {tuple(x.shape)}")
        if isinstance(module, (nn.LayerNorm, nn.RMSNorm)) and tuple(x.shape[-len(
                module.normalized_shape):]) != tuple(module.normalized_shape):
            return NO_RULE
        inplace = getattr(module, "inplace", False)
        return x if inplace else _empty(x.shape, x)
    if type(module) in (nn.MaxPool1d, nn.MaxPool2d, nn.MaxPool3d, nn.AvgPool1d, nn.AvgPool2d,
                        nn.AvgPool3d):
        return _pool(module, x)
    if isinstance(module, (nn.AdaptiveAvgPool1d, nn.AdaptiveAvgPool2d, nn.AdaptiveAvgPool3d,
                           nn.AdaptiveMaxPool1d, nn.AdaptiveMaxPool2d, nn.AdaptiveMaxPool3d)):
        return _adaptive(module, x)
    if isinstance(module, nn.Linear) and not isinstance(module, nn.LazyLinear):
        if x.dim() == 0 or x.shape[-1] != module.in_features:
            raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied "
                               f"({math.prod(x.shape[:-1]) if x.dim() else 1}x"
                               f"{x.shape[-1] if x.dim() else 1} and "
                               f"{module.in_features}x{module.out_features})")
        return _empty((*x.shape[:-1], module.out_features), x)
    if isinstance(module, nn.Flatten):
        return _empty(_flatten_shape(tuple(x.shape), module.start_dim, module.end_dim), x)
    return NO_RULE


def call_rule(target: Any, method: bool, args: tuple, kwargs: dict) -> Any:
    """The output of a function or tensor-method call on meta, by formula, or NO_RULE.

    >>> call_rule(operator.add, False, (torch.empty(2, 3, device="meta"), torch.empty(1, 3, device="meta")), {}).shape
    torch.Size([2, 3])
    """
    if not method and target in (torch.cat, torch.concat) and args:
        return _cat(args, kwargs)
    if not args or not isinstance(args[0], torch.Tensor):
        return NO_RULE
    x = args[0]
    if (target in _BINARY_METHODS if method else target in _BINARY_CALLS):
        if len(args) < 2 or set(kwargs) - {"alpha"}:
            return NO_RULE
        y = args[1]
        if not isinstance(y, torch.Tensor):
            return NO_RULE
        shape = broadcast(tuple(x.shape), tuple(y.shape))
        if method and str(target).endswith("_"):
            if shape != tuple(x.shape):
                raise RuntimeError(f"output with shape {list(x.shape)} doesn't match the "
                                   f"broadcast shape {list(shape)}")
            return x
        dtype = torch.promote_types(x.dtype, y.dtype)
        return torch.empty(shape, dtype=dtype, device="meta")
    if (target in _SHAPE_PRESERVING_METHODS if method else target in _SHAPE_PRESERVING_CALLS):
        if kwargs.get("inplace") or (method and str(target).endswith("_")) or target is torch.relu_:
            return x
        return _empty(x.shape, x)
    if target == "chunk" if method else target is torch.chunk:
        return _chunk(args, kwargs)
    if (method and target in ("mean", "sum", "amax", "amin")) or (
            not method and target in (torch.mean, torch.sum, torch.amax, torch.amin)):
        return _reduce(args, kwargs)
    if not method and target is F.adaptive_avg_pool2d and x.dim() == 4 and len(args) == 2:
        size = args[1]
        size = tuple(size) if isinstance(size, (tuple, list)) else (size, size)
        return _empty((*x.shape[:2], *[n if s is None else s for n, s in zip(x.shape[2:], size)]), x)
    if not method and target is torch.flatten:
        start = args[1] if len(args) > 1 else kwargs.get("start_dim", 0)
        end = args[2] if len(args) > 2 else kwargs.get("end_dim", -1)
        return _empty(_flatten_shape(tuple(x.shape), start, end), x)
    return NO_RULE


__all__ = ["NO_RULE", "broadcast", "module_rule", "call_rule"]
