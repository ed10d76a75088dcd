"""Evaluate a traced graph's shapes at many sizes of one input axis at once, by formula.

Every tensor dimension is a `Dim`: its size at each evaluated input size (a numpy array,
or an int where it does not depend on the axis), its *slope* (how much it moves per unit of
input size, above the threshold where every layer is in its regular regime) and the input
axes it derives from. Layers are torch's exact integer formulas (`ops/axis_formulas.py`);
nothing is allocated, no tensor runs. The pass also records, in graph order, every check
torch would make (a residual add's operands agree, a layer gets its channels, a window
fits), the regime conditions the proof needs (lower bounds on sizes), and the strides
that fix the period. An operation without a formula stops the pass with `Unprovable`.
"""

from __future__ import annotations

import math
import operator
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Optional, Union

import numpy as np
import torch
import torch.fx as fx
import torch.nn as nn
import torch.nn.functional as F

from shapecheck.graph.vocabulary import call_name, is_add
from shapecheck.ops import axis_formulas as af

Sizes = Union[int, np.ndarray]
ZERO = Fraction(0)


@dataclass(frozen=True)
class Dim:
    """One dimension: sizes at the evaluated points, slope, and the input axes behind it."""

    size: Sizes
    slope: Fraction = ZERO
    axes: frozenset = frozenset()

    @property
    def varies(self) -> bool:
        return self.slope != 0


@dataclass(frozen=True)
class Dims:
    """A tensor's shape as Dims."""

    dims: tuple[Dim, ...]


def const(value: int) -> Dim:
    return Dim(int(value))


class Unprovable(Exception):
    """The pass cannot go on: an operation has no size formula, or is not periodic."""

    def __init__(self, node: fx.Node, reason: str):
        super().__init__(reason)
        self.node, self.reason = node, reason


@dataclass
class Check:
    """One kind of failure at one node; `fails` marks the points where torch raises."""

    node: fx.Node
    kind: str  # add, broadcast, layer, window, op
    fails: Sizes = False
    linear: list[tuple[Sizes, Fraction]] = field(default_factory=list)  # (a - b, slope of a - b)
    operands: tuple[Any, ...] = ()
    detail: str = ""


# --- module families -------------------------------------------------------------------
_POOLS = (nn.MaxPool1d, nn.MaxPool2d, nn.MaxPool3d, nn.AvgPool1d, nn.AvgPool2d, nn.AvgPool3d)
_ADAPTIVE = (nn.AdaptiveAvgPool1d, nn.AdaptiveAvgPool2d, nn.AdaptiveAvgPool3d,
             nn.AdaptiveMaxPool1d, nn.AdaptiveMaxPool2d, nn.AdaptiveMaxPool3d)
_PRESERVING = (nn.Identity, nn.Dropout, nn.Dropout1d, nn.Dropout2d, nn.Dropout3d,
               nn.AlphaDropout, nn.LocalResponseNorm, nn.Softmax, nn.LogSoftmax, nn.Softmax2d)
_NOT_ELEMENTWISE = (nn.MultiheadAttention, nn.GLU)
_PRESERVING_CALLS = {"relu", "relu_", "relu6", "gelu", "silu", "sigmoid", "sigmoid_", "tanh",
                     "hardswish", "hardsigmoid", "leaky_relu", "elu", "mish", "softplus",
                     "dropout", "dropout2d", "softmax", "log_softmax", "contiguous", "clone",
                     "detach", "float", "half", "double", "to", "type_as", "abs", "exp",
                     "sqrt", "rsqrt", "neg", "identity", "hardtanh", "clamp", "clamp_min",
                     "sigmoid_", "tanh_", "square", "pow", "erf", "batch_norm",
                     "layer_norm_unchecked", "silu_", "gelu_", "requires_grad_"}
_BINARY_CALLS = {"add", "iadd", "__add__", "__iadd__", "__radd__", "add_", "mul", "imul",
                 "__mul__", "__rmul__", "mul_", "sub", "isub", "__sub__", "sub_", "truediv",
                 "div", "div_", "__truediv__", "maximum", "minimum", "where_binary"}
_REDUCE_CALLS = {"mean", "sum", "amax", "amin", "std", "var", "logsumexp"}


class AxisEvaluator:
    """One pass over `gm` with input axis `axis` taking the sizes `points`.

    Args:
        gm: the traced graph; prop: its propagation at the example (for constants).
        residual: names of residual adds -> index of the operand the pass continues with.
        axis: the varied dimension of the single input; points: its sizes (1-D array).
        trusted_literals: False for graphs recorded at one size, whose literal sizes may
            have been computed from that size.

    Example:
        >>> import torch.fx as fx
        >>> from shapecheck.analysis.propagate import propagate_shapes
        >>> gm = fx.symbolic_trace(nn.Sequential(nn.Conv2d(3, 4, 3, stride=2), nn.ReLU()))
        >>> prop = propagate_shapes(gm, [torch.empty(1, 3, 9, 9)])
        >>> ev = AxisEvaluator(gm, prop, {}, 2, np.arange(3, 8)).run()
        >>> ev.outputs[0].dims[2].size.tolist(), ev.outputs[0].dims[2].slope
        ([1, 1, 2, 2, 3], Fraction(1, 2))
    """

    def __init__(self, gm: fx.GraphModule, prop, residual: dict[str, int], axis: int,
                 points: np.ndarray, trusted_literals: bool = True):
        self.gm, self.prop, self.residual = gm, prop, residual
        self.axis, self.points = axis, np.asarray(points, dtype=np.int64)
        self.trusted = trusted_literals
        self.env: dict[fx.Node, Any] = {}
        self.derived: set[fx.Node] = set()
        self.checks: dict[tuple[str, str], Check] = {}
        self.regular: Sizes = np.ones(len(self.points), dtype=bool)
        self.requirements: list[tuple[Fraction, int]] = []
        self.mixes_axes: Optional[fx.Node] = None
        self.stopped: Optional[Unprovable] = None
        self.outputs: list[Any] = []
        self.node: Optional[fx.Node] = None

    # -- driving -------------------------------------------------------------------------
    def run(self) -> "AxisEvaluator":
        """Evaluate every node in graph order; stop (recording why) at the first one
        that has no formula."""
        for node in self.gm.graph.nodes:
            self.node = node
            try:
                self.env[node] = self._evaluate(node)
            except Unprovable as stop:
                self.stopped = stop
                break
        return self

    def _evaluate(self, node: fx.Node) -> Any:
        if node.op == "placeholder":
            return self._input(node)
        if node.op == "output":
            self.outputs = [v for v in _flatten(self._resolve(node.args)) if isinstance(v, Dims)]
            return None
        if not any(n in self.derived for n in node.all_input_nodes):
            return self._constant(node)
        self.derived.add(node)
        args, kwargs = self._resolve(node.args), self._resolve(node.kwargs)
        if node.op == "call_module":
            return self._module(self.gm.get_submodule(node.target), args, kwargs)
        if node.op in ("call_function", "call_method"):
            return self._call(call_name(node), node.op == "call_method", node.target, args, kwargs)
        raise Unprovable(node, f"no size formula for {node.op} {node.target}")

    def _input(self, node: fx.Node) -> Any:
        shape = self.prop.shape(node.name)
        if shape is None:
            return None
        self.derived.add(node)
        dims = [Dim(self.points, Fraction(1), frozenset({d})) if d == self.axis
                else Dim(s, ZERO, frozenset({d}) if d >= 2 else frozenset())
                for d, s in enumerate(shape)]
        return Dims(tuple(dims))

    def _constant(self, node: fx.Node) -> Any:
        result = self.prop.results.get(node.name)
        if result is not None and result.known and result.shapes:
            shapes = [Dims(tuple(const(s) for s in shape)) for shape in result.shapes]
            return shapes[0] if len(shapes) == 1 else tuple(shapes)
        if node.op == "get_attr":
            value = getattr(self.gm, node.target, None) if "." not in node.target else None
            if isinstance(value, (int, float, bool)):
                return value
        return _Opaque(node)

    def _resolve(self, value: Any) -> Any:
        if isinstance(value, fx.Node):
            resolved = self.env.get(value)
            if isinstance(resolved, _Opaque):
                raise Unprovable(self.node, f"a value from {value.name} is not known statically")
            return resolved
        if isinstance(value, (tuple, list)):
            return type(value)(self._resolve(v) for v in value)
        if isinstance(value, slice):  # x[:, :n]: a bound may come from another tensor
            return slice(*(self._resolve(v) for v in (value.start, value.stop, value.step)))
        if isinstance(value, dict):
            return {k: self._resolve(v) for k, v in value.items()}
        return value

    # -- recording -----------------------------------------------------------------------
    def fail(self, kind: str, fails: Sizes, operands: tuple = (), detail: str = "") -> Check:
        key = (self.node.name, kind)
        check = self.checks.get(key)
        if check is None:
            check = self.checks[key] = Check(self.node, kind, False, [], operands, detail)
        check.fails = check.fails | fails
        return check

    def equal(self, kind: str, a: Dim, b: Dim, operands: tuple = (), detail: str = "",
              broadcast: bool = False) -> None:
        """Record that torch needs a == b (or, with broadcast, a size 1 on either side)."""
        if not a.varies and not b.varies and isinstance(a.size, int) and isinstance(b.size, int):
            if a.size == b.size or (broadcast and 1 in (a.size, b.size)):
                return
        if broadcast and any(not d.varies and isinstance(d.size, int) and d.size == 1
                             for d in (a, b)):
            return  # a side that is 1 at every size broadcasts against anything
        ok = a.size == b.size
        if broadcast:
            ok = ok | (a.size == 1) | (b.size == 1)
        check = self.fail(kind, ~np.asarray(ok), operands, detail)
        if a.slope != b.slope:
            check.linear.append((np.asarray(a.size) - np.asarray(b.size), a.slope - b.slope))
        self.at_least(a, 2)
        self.at_least(b, 2)

    def at_least(self, dim: Dim, minimum: int) -> None:
        """A regime condition: above the threshold, this varying size is >= minimum."""
        if dim.varies:
            self.regular = self.regular & (np.asarray(dim.size) >= minimum)

    def regime(self, ok: Sizes) -> None:
        self.regular = self.regular & np.asarray(ok)

    def require(self, slope: Fraction, modulus: int) -> None:
        """The period must move a size of this slope by a multiple of `modulus`."""
        if slope != 0:
            self.requirements.append((slope, modulus))

    def literal(self, value: Any, what: str) -> Dim:
        """An int argument as a Dim; literals of a size-specialised graph are not trusted."""
        if isinstance(value, Dim):
            return value
        if not isinstance(value, int) or isinstance(value, bool):
            raise Unprovable(self.node, f"{what} is not an integer")
        return const(value)

    # -- modules -------------------------------------------------------------------------
    def _module(self, module: nn.Module, args: tuple, kwargs: dict) -> Any:
        if kwargs or len(args) != 1 or not isinstance(args[0], Dims):
            raise Unprovable(self.node, f"no size formula for {type(module).__name__} "
                                        f"called this way")
        x = args[0]
        if type(module) is nn.Sequential:
            for child in module:
                x = self._module(child, (x,), {})
            return x
        if type(module).__module__.split(".")[0] != "torch":
            raise Unprovable(self.node, f"no size formula for {type(module).__name__}")
        if isinstance(module, nn.modules.conv._ConvTransposeNd):
            return self._transposed(module, x)
        if isinstance(module, nn.modules.conv._ConvNd) and not isinstance(
                module, nn.modules.lazy.LazyModuleMixin):
            return self._conv(module, x)
        if type(module) in _POOLS:
            spatial = len(x.dims) - 2
            return self._pool(x, af.as_tuple(module.kernel_size, spatial),
                              af.as_tuple(module.stride or module.kernel_size, spatial),
                              af.as_tuple(module.padding, spatial),
                              af.as_tuple(getattr(module, "dilation", 1), spatial),
                              module.ceil_mode, type(module).__name__)
        if isinstance(module, _ADAPTIVE):
            return self._adaptive(x, module.output_size)
        if isinstance(module, nn.modules.batchnorm._NormBase):
            if x.dims and len(x.dims) >= 2:
                self.equal("layer", x.dims[1], const(module.num_features), (x,),
                           f"{type(module).__name__}({module.num_features})")
            return x
        if isinstance(module, nn.GroupNorm):
            self.equal("layer", x.dims[1], const(module.num_channels), (x,), "GroupNorm")
            return x
        if isinstance(module, nn.LayerNorm):
            return self._layer_norm(x, tuple(module.normalized_shape))
        if isinstance(module, nn.Linear) and not isinstance(module, nn.LazyLinear):
            return self._linear(x, module.in_features, module.out_features)
        if isinstance(module, nn.Flatten):
            return self._flatten(x, module.start_dim, module.end_dim)
        if isinstance(module, nn.Upsample):
            return self._interpolate(x, module.size, module.scale_factor)
        if isinstance(module, (nn.ZeroPad2d, nn.ConstantPad1d, nn.ConstantPad2d,
                               nn.ConstantPad3d, nn.ReflectionPad2d, nn.ReplicationPad2d)):
            return self._pad(x, module.padding, reflect=isinstance(module, nn.ReflectionPad2d))
        if isinstance(module, _PRESERVING) or (
                type(module).__module__ == "torch.nn.modules.activation"
                and not isinstance(module, _NOT_ELEMENTWISE)):
            return x
        raise Unprovable(self.node, f"no size formula for {type(module).__name__}")

    def _conv(self, module: nn.modules.conv._ConvNd, x: Dims) -> Dims:
        spatial = len(module.kernel_size)
        if len(x.dims) != spatial + 2:
            raise Unprovable(self.node, "an unbatched convolution")
        self.equal("layer", x.dims[1], const(module.in_channels), (x,),
                   f"{type(module).__name__}({module.in_channels}, ...)")
        dims = [x.dims[0], const(module.out_channels)]
        for i, n in enumerate(x.dims[2:]):
            if module.padding == "same":
                dims.append(n)
                continue
            pad = 0 if module.padding == "valid" else module.padding[i]
            if module.padding_mode != "zeros" and pad:
                # reflect/circular padding needs the input longer than the padding
                self._window_check(n.size > pad if module.padding_mode != "replicate"
                                   else n.size >= 1, x, f"{module.padding_mode} padding {pad}")
            out, ok = af.conv_output(n.size, module.kernel_size[i], module.stride[i], pad,
                                     module.dilation[i])
            dims.append(self._windowed(n, out, ok, module.stride[i], x,
                                       f"{type(module).__name__}(kernel {module.kernel_size[i]}, "
                                       f"padding {pad}, dilation {module.dilation[i]})"))
        return Dims(tuple(dims))

    def _transposed(self, module, x: Dims) -> Dims:
        spatial = len(module.kernel_size)
        if len(x.dims) != spatial + 2 or module.padding_mode != "zeros":
            raise Unprovable(self.node, "no size formula for this transposed convolution")
        self.equal("layer", x.dims[1], const(module.in_channels), (x,),
                   type(module).__name__)
        dims = [x.dims[0], const(module.out_channels)]
        for i, n in enumerate(x.dims[2:]):
            out, ok = af.transposed_output(n.size, module.kernel_size[i], module.stride[i],
                                           module.padding[i], module.dilation[i],
                                           module.output_padding[i])
            self._window_check(ok, x, type(module).__name__)
            dims.append(Dim(_squeeze(out), n.slope * module.stride[i], n.axes))
        return Dims(tuple(dims))

    def _pool(self, x: Dims, kernel, stride, padding, dilation, ceil_mode: bool,
              name: str) -> Dims:
        spatial = len(kernel)
        if len(x.dims) != spatial + 2:
            raise Unprovable(self.node, "an unbatched pooling")
        dims = list(x.dims[:2])
        for i, n in enumerate(x.dims[2:]):
            mode = ", ceil_mode" if ceil_mode else ""
            if not af.pool_padding_ok(kernel[i], padding[i]):
                raise Unprovable(self.node, f"{name} padding {padding[i]} is above half its "
                                            f"kernel {kernel[i]}: torch refuses it at any size")
            out, ok = af.pool_output(n.size, kernel[i], stride[i], padding[i], dilation[i],
                                     ceil_mode)
            dims.append(self._windowed(n, out, ok, stride[i], x,
                                       f"{name}(kernel {kernel[i]}, stride {stride[i]}, "
                                       f"padding {padding[i]}{mode})"))
        return Dims(tuple(dims))

    def _windowed(self, n: Dim, out, ok, stride: int, x: Dims, detail: str) -> Dim:
        self._window_check(ok, x, detail)
        self.require(n.slope, stride)
        return Dim(_squeeze(out), n.slope / stride, n.axes)

    def _window_check(self, ok, x: Dims, detail: str) -> None:
        ok = np.asarray(ok)
        if ok.ndim == 0 and bool(ok):
            return
        self.fail("window", ~ok, (x,), detail)
        self.regime(ok)

    def _adaptive(self, x: Dims, output_size) -> Dims:
        spatial = len(x.dims) - 2
        sizes = af.as_tuple(output_size, spatial)
        return Dims(tuple(x.dims[:2]) + tuple(n if s is None else const(s)
                                             for n, s in zip(x.dims[2:], sizes)))

    def _layer_norm(self, x: Dims, normalized: tuple[int, ...]) -> Dims:
        for dim, want in zip(x.dims[len(x.dims) - len(normalized):], normalized):
            self.equal("layer", dim, const(want), (x,), f"LayerNorm({list(normalized)})")
        return x

    def _linear(self, x: Dims, in_features: int, out_features: int) -> Dims:
        if not x.dims:
            raise Unprovable(self.node, "a linear layer on a scalar")
        self.equal("layer", x.dims[-1], const(in_features), (x,),
                   f"Linear({in_features}, {out_features})")
        return Dims(x.dims[:-1] + (const(out_features),))

    def _flatten(self, x: Dims, start: int, end: int) -> Dims:
        rank = len(x.dims)
        if rank == 0:
            return Dims((const(1),))
        start, end = start % rank, end % rank
        merged = self.product(x.dims[start:end + 1])
        return Dims(x.dims[:start] + (merged,) + x.dims[end + 1:])

    def _interpolate(self, x: Dims, size, scale) -> Dims:
        spatial = len(x.dims) - 2
        dims = list(x.dims[:2])
        if size is not None:
            sizes = size if isinstance(size, (tuple, list)) else (size,) * spatial
            for n, s in zip(x.dims[2:], sizes):
                if not isinstance(s, Dim) and n.varies and not self.trusted:
                    raise Unprovable(self.node, "interpolate(size=...) with a size recorded "
                                                "at the example input")
                dims.append(self.literal(s, "an interpolation size"))
            return Dims(tuple(dims))
        scales = scale if isinstance(scale, (tuple, list)) else (scale,) * spatial
        for n, s in zip(x.dims[2:], scales):
            exact = Fraction(float(s))
            if exact.denominator > 1024:
                raise Unprovable(self.node, f"scale factor {s} has no short exact period")
            self.require(n.slope, exact.denominator)
            dims.append(Dim(_squeeze(af.scaled_output(n.size, exact)), n.slope * exact, n.axes))
        return Dims(tuple(dims))

    def _pad(self, x: Dims, pad, reflect: bool = False) -> Dims:
        pad = list(pad)
        dims = list(x.dims)
        for i in range(len(pad) // 2):
            index = len(dims) - 1 - i
            n, before, after = dims[index], pad[2 * i], pad[2 * i + 1]
            if n.varies and not self.trusted:
                raise Unprovable(self.node, "padding recorded at the example input")
            if reflect:
                self._window_check(n.size > max(before, after), x, f"reflection padding")
            out = n.size + before + after
            self._window_check(np.asarray(out) >= 1, x, "padding")
            dims[index] = Dim(out, n.slope, n.axes)
        return Dims(tuple(dims))

    # -- arithmetic on dims ------------------------------------------------------------
    def product(self, dims) -> Dim:
        """The product of dims; more than one varying factor is not periodic."""
        varying = [d for d in dims if d.varies]
        if len(varying) > 1:
            raise Unprovable(self.node, "a size that is a product of two varying sizes")
        axes = frozenset().union(*[d.axes for d in dims]) if dims else frozenset()
        if varying and len(axes) > 1 and self.mixes_axes is None:
            self.mixes_axes = self.node
        size: Sizes = 1
        rest: Sizes = 1
        for d in dims:
            size = size * d.size
            if not d.varies:
                rest = rest * d.size
        slope = varying[0].slope * self.steady(rest) if varying else ZERO
        return Dim(_squeeze(size), slope, axes)

    def steady(self, value: Sizes) -> int:
        """The value a size without slope takes in the regular regime (it is constant there)."""
        array = np.asarray(value)
        if array.ndim == 0:
            return int(array)
        regular = np.broadcast_to(np.asarray(self.regular), array.shape)
        values = np.unique(array[regular] if regular.any() else array[-1:])
        if len(values) != 1:
            raise Unprovable(self.node, "a size that is not linear in the input size")
        return int(values[0])

    # -- calls ---------------------------------------------------------------------------
    def _call(self, name: str, method: bool, target: Any, args: tuple, kwargs: dict) -> Any:
        if name in ("getattr",):
            return self._getattr(args[0], args[1])
        if name == "getitem":
            return self._getitem(args[0], args[1])
        if name in ("size",) and method:
            shape = args[0].dims
            dim = args[1] if len(args) > 1 else kwargs.get("dim")
            return tuple(shape) if dim is None else shape[dim]
        if name == "dim" and method:
            return len(args[0].dims)
        if args and not isinstance(args[0], Dims) and any(isinstance(a, Dim) for a in args[:2]):
            return self._int_arithmetic(name, args)
        if name in ("cat", "concat"):
            return self._cat(args[0], args[1] if len(args) > 1 else kwargs.get("dim", 0))
        if name == "stack":
            return self._stack(args[0], args[1] if len(args) > 1 else kwargs.get("dim", 0))
        if name in ("flatten",):
            start = args[1] if len(args) > 1 else kwargs.get("start_dim", 0)
            end = args[2] if len(args) > 2 else kwargs.get("end_dim", -1)
            return self._flatten(args[0], start, end)
        if name in ("view", "reshape"):
            sizes = args[1:] if len(args) > 2 or not isinstance(args[1], (tuple, list)) \
                else args[1]
            return self._view(args[0], list(sizes))
        if name in ("permute",):
            order = args[1:] if len(args) > 2 or not isinstance(args[1], (tuple, list)) \
                else args[1]
            return Dims(tuple(args[0].dims[i] for i in order))
        if name in ("transpose", "swapaxes"):
            dims = list(args[0].dims)
            a, b = args[1] % len(dims), args[2] % len(dims)
            dims[a], dims[b] = dims[b], dims[a]
            return Dims(tuple(dims))
        if name == "unsqueeze":
            dims = list(args[0].dims)
            dims.insert(args[1] % (len(dims) + 1), const(1))
            return Dims(tuple(dims))
        if name in ("adaptive_avg_pool2d", "adaptive_max_pool2d", "adaptive_avg_pool1d"):
            return self._adaptive(args[0], args[1] if len(args) > 1 else kwargs["output_size"])
        if name in ("avg_pool2d", "max_pool2d", "avg_pool1d", "max_pool1d"):
            return self._functional_pool(name, args, kwargs)
        if name == "interpolate" and not method:
            return self._interpolate(args[0], kwargs.get("size", args[1] if len(args) > 1 else None),
                                     kwargs.get("scale_factor", args[2] if len(args) > 2 else None))
        if name == "pad" and not method:
            return self._pad(args[0], args[1] if len(args) > 1 else kwargs["pad"])
        if name in ("matmul", "bmm") or target is operator.matmul:
            return self._matmul(args[0], args[1])
        if name in _REDUCE_CALLS:
            return self._reduce(args, kwargs)
        if name in ("chunk", "split") and isinstance(args[0], Dims):
            return self._chunk(name, args, kwargs)
        if name in ("expand_as",):
            return self._broadcast(args[0], args[1], residual=False, expand=True)
        if name in ("linear",) and not method:
            weight = args[1] if len(args) > 1 else kwargs["weight"]
            return self._linear(args[0], weight.dims[1].size, weight.dims[0].size)
        if name in ("layer_norm", "group_norm") and not method:
            if name == "layer_norm":
                shape = args[1] if len(args) > 1 else kwargs["normalized_shape"]
                return self._layer_norm(args[0], tuple(int(s) for s in shape))
            return args[0]
        if name in _BINARY_CALLS or target in (operator.add, operator.mul, operator.sub,
                                                operator.truediv, operator.iadd):
            tensors = [a for a in args[:2] if isinstance(a, Dims)]
            if len(tensors) == 1:
                return tensors[0]
            return self._broadcast(tensors[0], tensors[1], residual=self.node.name in self.residual)
        if name in _PRESERVING_CALLS and isinstance(args[0], Dims):
            return args[0]
        raise Unprovable(self.node, f"no size formula for {name}")

    def _getattr(self, value: Any, attribute: str) -> Any:
        if isinstance(value, Dims) and attribute == "shape":
            return tuple(value.dims)
        if isinstance(value, Dims) and attribute == "ndim":
            return len(value.dims)
        if isinstance(value, Dims) and attribute in ("dtype", "device", "T"):
            if attribute == "T":
                return Dims(tuple(reversed(value.dims)))
            return _Opaque(self.node)
        raise Unprovable(self.node, f"no size formula for .{attribute}")

    def _getitem(self, value: Any, index: Any) -> Any:
        if isinstance(value, (tuple, list)):
            if isinstance(index, int):
                return value[index]
            if isinstance(index, slice):
                return tuple(value[index])
        if isinstance(value, Dims):
            return self._index(value, index if isinstance(index, tuple) else (index,))
        raise Unprovable(self.node, "indexing that has no size formula")

    def _index(self, x: Dims, index: tuple) -> Dims:
        dims, out, position = list(x.dims), [], 0
        if Ellipsis in index:
            at = index.index(Ellipsis)
            fill = len(dims) - (len([i for i in index if i is not None]) - 1)
            index = index[:at] + (slice(None),) * fill + index[at + 1:]
        for item in index:
            if item is None:
                out.append(const(1))
                continue
            dim = dims[position]
            position += 1
            if isinstance(item, slice):
                out.append(self._slice(dim, item, x))
            elif isinstance(item, int):
                if dim.varies or dim.size <= (item if item >= 0 else -item - 1):
                    self._window_check(np.asarray(dim.size) > (item if item >= 0 else -item - 1),
                                       x, f"index {item}")
            else:
                raise Unprovable(self.node, "indexing with a tensor")
        return Dims(tuple(out + dims[position:]))

    def _slice(self, dim: Dim, item: slice, x: Dims) -> Dim:
        if item == slice(None):
            return dim
        fixed = [b.size if isinstance(b, Dim) and not b.varies and isinstance(b.size, int)
                 else b for b in (item.start, item.stop, item.step)]
        item = slice(*fixed)
        step = item.step or 1
        bounds = (item.start, item.stop)
        if not isinstance(step, int) or step < 1 or any(isinstance(b, Dim) for b in bounds):
            raise Unprovable(self.node, "a slice with varying bounds")
        if not dim.varies:
            return Dim(int(af.slice_length(dim.size, item.start, item.stop, step)), ZERO, dim.axes)
        if not self.trusted:
            raise Unprovable(self.node, "a slice recorded at the example input")
        size = af.slice_length(dim.size, item.start, item.stop, step)
        start, stop = item.start or 0, item.stop
        if stop is not None and stop >= 0:
            # a fixed window of the axis: constant once the axis reaches `stop`
            self.at_least(dim, stop)
            return Dim(size, ZERO, dim.axes)
        # open or negative end: the slice moves with the axis
        self.at_least(dim, max(abs(start), abs(stop or 0)) + 1)
        self.require(dim.slope, step)
        return Dim(size, dim.slope / step, dim.axes)

    def _int_arithmetic(self, name: str, args: tuple) -> Dim:
        a, b = (self.literal(v, "an operand") for v in args[:2])
        if name in ("mul", "__mul__"):
            return self.product([a, b])
        if name in ("add", "__add__", "iadd", "sub", "__sub__"):
            sign = -1 if "sub" in name else 1
            return Dim(a.size + sign * b.size, a.slope + sign * b.slope, a.axes | b.axes)
        if name in ("floordiv", "__floordiv__") and not b.varies and b.size > 0:
            self.require(a.slope, b.size)
            return Dim(a.size // b.size, a.slope / b.size, a.axes)
        raise Unprovable(self.node, f"no size formula for {name} on sizes")

    def _broadcast(self, a: Dims, b: Dims, residual: bool, expand: bool = False) -> Dims:
        rank = max(len(a.dims), len(b.dims))
        pad = lambda d: (const(1),) * (rank - len(d.dims)) + d.dims  # noqa: E731
        left, right = pad(a), pad(b)
        keep = self.residual.get(self.node.name, 0)
        out = []
        for index, (x, y) in enumerate(zip(left, right)):
            if expand:
                self.equal("op", x, y, (a, b), "expand_as", broadcast=True)
                out.append(y)
                continue
            if residual:
                self._residual_dim(index, x, y, (a, b) if keep == 0 else (b, a))
                out.append((x, y)[keep])
                continue
            self.equal("op", x, y, (a, b), "broadcast", broadcast=True)
            out.append(y if (not x.varies and x.size == 1) else x)
        return Dims(tuple(out))

    def _residual_dim(self, index: int, x: Dim, y: Dim, operands: tuple) -> None:
        # a side that is 1 at every size (a pooled context) broadcasts by design; a side
        # that is 1 only at some sizes makes the add run by accident
        if (not x.varies and x.size == 1) or (not y.varies and y.size == 1):
            return
        self.equal("add", x, y, operands, "")
        if not x.varies and not y.varies:
            return
        silent = (np.asarray(x.size) != np.asarray(y.size)) & (
            (np.asarray(x.size) == 1) | (np.asarray(y.size) == 1))
        check = self.checks[(self.node.name, "add")]
        check.fails = check.fails & ~silent
        self.fail("broadcast", silent, operands, "")

    def _cat(self, tensors, dim: int) -> Dims:
        tensors = list(tensors)
        rank = len(tensors[0].dims)
        dim %= rank
        first = tensors[0]
        for other in tensors[1:]:
            for d in range(rank):
                if d != dim:
                    self.equal("op", first.dims[d], other.dims[d], (first, other), "cat")
        parts = [t.dims[dim] for t in tensors]
        total = Dim(sum(p.size for p in parts), sum((p.slope for p in parts), ZERO),
                    frozenset().union(*[p.axes for p in parts]))
        return Dims(first.dims[:dim] + (total,) + first.dims[dim + 1:])

    def _stack(self, tensors, dim: int) -> Dims:
        tensors = list(tensors)
        first = tensors[0]
        for other in tensors[1:]:
            for x, y in zip(first.dims, other.dims):
                self.equal("op", x, y, (first, other), "stack")
        dims = list(first.dims)
        dims.insert(dim % (len(dims) + 1), const(len(tensors)))
        return Dims(tuple(dims))

    def _view(self, x: Dims, sizes: list) -> Dims:
        total = self.product(x.dims)
        wanted = []
        for position, s in enumerate(sizes):
            if isinstance(s, int) and s != -1 and not self.trusted and total.varies and not (
                    position < len(x.dims) and not x.dims[position].varies
                    and x.dims[position].size == s):
                raise Unprovable(self.node, "view/reshape with sizes recorded at the example "
                                            "input")
            wanted.append(None if s == -1 else self.literal(s, "a view size"))
        known = self.product([d for d in wanted if d is not None])
        if None not in wanted:
            self.equal("op", total, known, (x,), f"view to {len(wanted)} dims")
            return Dims(tuple(wanted))
        inferred_size = np.asarray(total.size) // np.maximum(np.asarray(known.size), 1)
        self.fail("op", np.asarray(total.size) % np.maximum(np.asarray(known.size), 1) != 0,
                  (x,), "view with -1")
        if known.varies:
            value = self.steady(inferred_size)
            if total.slope != known.slope * value:
                raise Unprovable(self.node, "a view whose inferred size is not linear")
            inferred = Dim(_squeeze(inferred_size), ZERO, total.axes)
        else:
            self.require(total.slope, max(int(known.size), 1))
            inferred = Dim(_squeeze(inferred_size), total.slope / max(int(known.size), 1),
                           total.axes)
        return Dims(tuple(inferred if d is None else d for d in wanted))

    def _matmul(self, a: Dims, b: Dims) -> Dims:
        if len(a.dims) < 2 or len(b.dims) < 2:
            raise Unprovable(self.node, "a matmul with a vector")
        self.equal("op", a.dims[-1], b.dims[-2], (a, b), "matmul")
        batch = self._broadcast(Dims(a.dims[:-2]), Dims(b.dims[:-2]), residual=False)
        return Dims(batch.dims + (a.dims[-2], b.dims[-1]))

    def _reduce(self, args: tuple, kwargs: dict) -> Dims:
        x = args[0]
        dims = args[1] if len(args) > 1 else kwargs.get("dim")
        keepdim = args[2] if len(args) > 2 else kwargs.get("keepdim", False)
        if dims is None:
            return Dims(())
        chosen = {d % len(x.dims) for d in (dims if isinstance(dims, (tuple, list)) else (dims,))}
        return Dims(tuple(const(1) if i in chosen else d for i, d in enumerate(x.dims)
                          if keepdim or i not in chosen))

    def _chunk(self, name: str, args: tuple, kwargs: dict) -> tuple:
        x = args[0]
        dim = args[2] if len(args) > 2 else kwargs.get("dim", 0)
        dim %= len(x.dims)
        along = x.dims[dim]
        if along.varies or not isinstance(along.size, int):
            raise Unprovable(self.node, f"{name} along a varying axis")
        size = along.size
        if name == "chunk":
            count = args[1] if len(args) > 1 else kwargs["chunks"]
            step = max(1, math.ceil(size / count))
            lengths = [min(step, size - s) for s in range(0, size, step)]
        else:
            split = args[1] if len(args) > 1 else kwargs["split_size_or_sections"]
            lengths = list(split) if isinstance(split, (tuple, list)) else [
                min(split, size - s) for s in range(0, size, split)]
        return tuple(Dims(x.dims[:dim] + (const(n),) + x.dims[dim + 1:]) for n in lengths)

    def _functional_pool(self, name: str, args: tuple, kwargs: dict) -> Dims:
        x = args[0]
        spatial = len(x.dims) - 2
        names = ["kernel_size", "stride", "padding"] + (
            ["dilation", "ceil_mode"] if name.startswith("max") else ["ceil_mode"])
        values = dict(zip(names, args[1:]))
        values.update({k: v for k, v in kwargs.items() if k in names})
        kernel = af.as_tuple(values["kernel_size"], spatial)
        stride = values.get("stride") or kernel
        return self._pool(x, kernel, af.as_tuple(stride, spatial),
                          af.as_tuple(values.get("padding", 0), spatial),
                          af.as_tuple(values.get("dilation", 1), spatial),
                          bool(values.get("ceil_mode", False)), name)


class _Opaque:
    """A value the pass does not know (a dtype, a non-tensor constant)."""

    def __init__(self, node: fx.Node):
        self.node = node


def _flatten(value: Any) -> list:
    if isinstance(value, (tuple, list)):
        return [v for item in value for v in _flatten(item)]
    return [value]


def _squeeze(value: Sizes) -> Sizes:
    array = np.asarray(value)
    return int(array) if array.ndim == 0 else array


def shape_at(value: Any, index: int) -> Optional[tuple[int, ...]]:
    """The concrete shape of a Dims at evaluation point `index`."""
    if not isinstance(value, Dims):
        return None
    return tuple(int(d.size) if isinstance(d.size, int) else int(np.asarray(d.size)[index])
                 for d in value.dims)


__all__ = ["AxisEvaluator", "Dim", "Dims", "Check", "Unprovable", "shape_at"]
