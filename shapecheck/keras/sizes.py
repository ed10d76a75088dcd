"""The valid input sizes of a Keras model, proved on its layer list (every H and W at once).

The argument is the one `analysis/sizes.py` makes for traced torch graphs: along one input
axis every layer is an integer function of the size (Conv/pooling with padding 'same':
ceil(n / s); 'valid': floor((n - d(k-1) - 1) / s) + 1; upsampling n*u; zero padding and
cropping n + c), each moving its output by exactly 1 when its input moves by its stride.
With P the period that moves every strided layer's input by a multiple of its stride, and
n0 the size from which every window fits and no varying map is 1 wide, a size n >= n0
behaves as n + P, so evaluating the formulas on [lo, n0 + P) decides every size. Operands
that grow at different rates agree at finitely many sizes, which are solved for exactly.
Keras layers are read from the `KerasGraph` (channels last: H is dim 1); a layer without a
formula is asked for its output shape at two sizes (Keras's own `compute_output_spec`), and
when that is not the identity the proof stops there with a note, as for PyTorch.

The result has the JSON shape of `analysis.sizes.prove_sizes` (`Report.sizes`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Optional, Sequence

import numpy as np

from shapecheck.analysis.size_sets import (contains, nearest_member, outcome_progressions,
                                           remove_size)
from shapecheck.analysis.sizes import AXIS_NAMES
from shapecheck.keras.diagnose import Shapes, location
from shapecheck.keras.graph import KerasGraph, LayerCall

_WINDOWED = ("Conv1D", "Conv2D", "Conv3D", "DepthwiseConv1D", "DepthwiseConv2D",
             "SeparableConv1D", "SeparableConv2D", "MaxPooling1D", "MaxPooling2D",
             "MaxPooling3D", "AveragePooling1D", "AveragePooling2D", "AveragePooling3D")
_ELEMENTWISE = frozenset({"Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum"})
_CONSUMING = ("GlobalAveragePooling", "GlobalMaxPooling")
# layers that keep every spatial size (they act per position, or on the channel axis)
_SAME_SIZE = frozenset({"BatchNormalization", "LayerNormalization", "GroupNormalization",
                        "ReLU", "LeakyReLU", "PReLU", "ELU", "Softmax", "Activation",
                        "Dropout", "SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D",
                        "GaussianNoise", "GaussianDropout", "Identity", "Rescaling",
                        "Normalization", "Dense", "EinsumDense"})
_CODES = {"add": ("SC102", "spatial_mismatch"), "broadcast": ("SC102", "spatial_mismatch"),
          "window": ("SC202", "op_failure"), "op": ("SC202", "op_failure")}
_LARGEST_SCAN = 1 << 14


@dataclass
class _Dim:
    """One tensor's size along the proved axis at every point, and how fast it grows."""

    size: np.ndarray
    slope: Fraction


@dataclass
class _Check:
    call: str
    kind: str
    fails: np.ndarray
    operands: tuple[str, ...]
    detail: str = ""
    linear: list[tuple[np.ndarray, Fraction]] = field(default_factory=list)


class _Stop(Exception):
    def __init__(self, call: str, reason: str):
        super().__init__(reason)
        self.call, self.reason = call, reason


class _AxisPass:
    """The formulas of every layer along the dims `axes` (moving together: a square input
    when there are two), evaluated at `points` at once."""

    def __init__(self, graph: KerasGraph, shapes: Shapes, axes: tuple[int, ...],
                 points: np.ndarray, keeps: dict):
        self.graph, self.shapes, self.axes, self.points = graph, shapes, axes, points
        self.keeps = keeps  # Keras's answers for layers without a formula, kept across passes
        # per call, one _Dim per axis; None where the axes are gone (global pooling)
        self.dims: dict[str, Optional[tuple[_Dim, ...]]] = {}
        self.checks: list[_Check] = []
        self.regular = np.ones(len(points), dtype=bool)
        self.requirements: list[tuple[Fraction, int]] = []
        self.stopped: Optional[_Stop] = None

    def run(self) -> "_AxisPass":
        try:
            for name, call in self.graph.calls.items():
                self.dims[name] = self._dims(call)
        except _Stop as stop:
            self.stopped = stop
        return self

    # -- one layer -------------------------------------------------------------------------

    def _dims(self, call: LayerCall) -> Optional[tuple[_Dim, ...]]:
        if call.is_input:
            return tuple(_Dim(self.points.copy(), Fraction(1)) for _ in self.axes)
        operands = [self.dims.get(name) for name in call.inputs]
        if all(d is None for d in operands):
            return None  # downstream of a global pooling: constant in the size
        if any(d is None for d in operands):
            raise _Stop(call.name, f"{call.kind} combines tensors with and without the axis")
        if call.kind in _ELEMENTWISE:
            return self._merge(call, operands)
        if call.kind == "Concatenate":
            return self._concatenate(call, operands)
        if len(operands) != 1:
            raise _Stop(call.name, f"{call.kind} takes {len(operands)} inputs")
        if getattr(call.layer, "data_format", "channels_last") == "channels_first":
            raise _Stop(call.name, f"{call.kind} is channels_first")
        if call.kind.startswith(_CONSUMING) and not getattr(call.layer, "keepdims", False):
            return None
        x = operands[0]
        if call.kind in _SAME_SIZE:
            return x
        if call.kind in _WINDOWED or call.kind.startswith(("UpSampling", "ZeroPadding",
                                                           "Cropping")):
            # the index of each axis in kernel_size, strides, padding, ...
            return tuple(self._formula(call, d, axis - 1) for d, axis in zip(x, self.axes))
        if self._keeps_size(call):
            return x
        raise _Stop(call.name, f"{call.kind} has no per-axis size formula and does not keep "
                               f"the size")

    def _formula(self, call: LayerCall, x: _Dim, j: int) -> _Dim:
        layer = call.layer
        if call.kind in _WINDOWED:
            return self._windowed(call, x, j)
        if call.kind.startswith("UpSampling"):
            factor = _per_axis(getattr(layer, "size", 1), j)
            return _Dim(x.size * factor, x.slope * factor)
        if call.kind.startswith("ZeroPadding"):
            before, after = _pair(_per_axis(layer.padding, j))
            return _Dim(x.size + before + after, x.slope)
        before, after = _pair(_per_axis(layer.cropping, j))
        out = x.size - before - after
        self._fail(call, "window", out < 1, f"{call.kind}(cropping {before}+{after})")
        self.regular &= out >= 1
        return _Dim(out, x.slope)

    def _windowed(self, call: LayerCall, x: _Dim, j: int) -> _Dim:
        layer = call.layer
        kernel = _per_axis(getattr(layer, "kernel_size", None) or layer.pool_size, j)
        stride = _per_axis(layer.strides if layer.strides is not None else kernel, j)
        dilation = _per_axis(getattr(layer, "dilation_rate", 1), j)
        padding = str(layer.padding).lower()
        extent = dilation * (kernel - 1) + 1
        if padding in ("same", "causal"):
            out = (x.size + stride - 1) // stride
        elif padding == "valid":
            ok = x.size >= extent
            out = np.where(ok, (x.size - extent) // stride + 1, 0)
            self._fail(call, "window", ~ok, f"{call.kind}(kernel {kernel}, stride {stride}, "
                                             f"padding 'valid', dilation {dilation})")
            self.regular &= ok
        else:
            raise _Stop(call.name, f"{call.kind} has padding {padding!r}")
        if stride != 1 and x.slope != 0:
            self.requirements.append((x.slope, stride))
        return _Dim(out, x.slope / stride)

    def _merge(self, call: LayerCall, operands: list) -> tuple[_Dim, ...]:
        mismatch, stretched = self._elsewhere(call, skip=())
        out = operands[0]
        for other in operands[1:]:
            bad = np.full(len(self.points), mismatch)
            stretch = np.full(len(self.points), stretched)
            linear = []
            for a, b in zip(out, other):
                differ = a.size != b.size
                one = (a.size == 1) | (b.size == 1)  # Keras broadcasts a 1, silently
                bad |= differ & ~one
                stretch |= differ & one
                linear.append((a, b))
                for d in (a, b):
                    if d.slope != 0:
                        self.regular &= d.size >= 2
            self._fail(call, "add", bad, detail=call.kind, linear=linear)
            self._fail(call, "broadcast", stretch, detail=call.kind)
            out = tuple(_Dim(np.maximum(a.size, b.size), max(a.slope, b.slope))
                        for a, b in zip(out, other))
        return out

    def _concatenate(self, call: LayerCall, operands: list) -> tuple[_Dim, ...]:
        rank = len(self.shapes.input_shapes[0])
        along = int(call.settings.get("axis", -1)) % rank
        mismatch, _ = self._elsewhere(call, skip=(along,))
        result = []
        for k, axis in enumerate(self.axes):
            column = [d[k] for d in operands]
            if axis == along:
                result.append(_Dim(sum(d.size for d in column), sum(d.slope for d in column)))
                continue
            bad = np.full(len(self.points), mismatch)
            for other in column[1:]:
                bad |= column[0].size != other.size
                if other.slope != 0:
                    self.regular &= other.size >= 2
            self._fail(call, "op", bad, detail="Concatenate",
                       linear=[(column[0], other) for other in column[1:]])
            result.append(column[0])
        return tuple(result)

    def _elsewhere(self, call: LayerCall, skip: tuple[int, ...]) -> tuple[bool, bool]:
        """Whether the operands already disagree on an axis not proved here, at its example
        size (then the merge fails at every size of these), or agree there only by
        stretching a 1."""
        shapes = [s for s in self.shapes.operands.get(call.name, ()) if s is not None]
        mismatch = stretched = False
        for dim in range(1, min((len(s) for s in shapes), default=0)):
            sizes = {s[dim] for s in shapes}
            if dim in self.axes or dim in skip or len(sizes) < 2 or None in sizes:
                continue
            if len(sizes - {1}) > 1:
                mismatch = True
            else:
                stretched = True
        return mismatch, stretched

    def _keeps_size(self, call: LayerCall) -> bool:
        """Keras's own shape inference at two sizes: does the layer keep these axes?"""
        key = (call.name, self.axes)
        if key not in self.keeps:
            self.keeps[key] = self._asks_keras(call)
        return self.keeps[key]

    def _asks_keras(self, call: LayerCall) -> bool:
        example = self.shapes.operands.get(call.name) or ()
        if len(example) != 1 or example[0] is None or call.shape is None or \
                len(call.shape) != len(example[0]):
            return False
        from shapecheck.keras.backend import import_keras

        keras = import_keras()
        for size in (37, 61):
            shape = list(example[0])
            for axis in self.axes:
                shape[axis] = size
            try:
                with keras.device("meta"):
                    out = call.layer.compute_output_spec(keras.KerasTensor(tuple(shape)))
            except Exception:  # a function Keras cannot run symbolically: no formula
                return False
            out_shape = tuple(getattr(out, "shape", ()))
            if len(out_shape) != len(shape) or any(out_shape[a] != size for a in self.axes):
                return False
        return True

    def _fail(self, call: LayerCall, kind: str, fails: np.ndarray, detail: str = "",
              linear: Sequence[tuple[_Dim, _Dim]] = ()) -> None:
        check = _Check(call.name, kind, np.asarray(fails, dtype=bool), call.inputs, detail)
        for a, b in linear:  # sizes growing apart: they agree at finitely many sizes
            if a.slope != b.slope:
                check.linear.append((a.size - b.size, a.slope - b.slope))
        self.checks.append(check)

    # -- outcomes --------------------------------------------------------------------------

    def first_failures(self, periodic_only: bool = False) -> np.ndarray:
        """Per point: the index of the first failing check, -1 valid, -2 undecided."""
        first = np.full(len(self.points), -1, dtype=np.int64)
        for index, check in enumerate(self.checks):
            if periodic_only and check.linear:
                continue
            first[(first == -1) & check.fails] = index
        if self.stopped is not None:
            first[first == -1] = -2
        return first

    @property
    def first_linear(self) -> Optional[int]:
        return next((i for i, c in enumerate(self.checks) if c.linear), None)

    @property
    def period(self) -> int:
        period = 1
        for slope, modulus in self.requirements:
            need = abs((Fraction(modulus) / slope).numerator)
            period = period * need // math.gcd(period, need)
        return period


def _per_axis(value: Any, j: int) -> int:
    if isinstance(value, (tuple, list)):
        return int(value[j] if j < len(value) else value[-1])
    return int(value)


def _pair(value: Any) -> tuple[int, int]:
    if isinstance(value, (tuple, list)):
        return int(value[0]), int(value[-1])
    return int(value), int(value)


def prove_keras_sizes(graph: KerasGraph, shapes: Shapes,
                      ranges: Optional[dict[str, tuple]] = None,
                      together: bool = False) -> dict[str, Any]:
    """Per spatial axis of the single input, the exact valid sizes and failing classes.

    `shapes` are the example shapes (`check._propagate`); `ranges` maps an axis name to
    (lo, hi or None), default every size >= 1. Each axis is proved with the others at their
    example sizes, or, with `together` (the model's input sizes are all unknown, so no
    example size means anything), all axes at one size: square inputs. Returns the dict
    `analysis.sizes.prove_sizes` returns: {"H": {...}, "W": {...}} or {"note": why not}.

    Example:
        >>> import keras  # doctest: +SKIP
        >>> from shapecheck.keras.check import check_keras  # doctest: +SKIP
        >>> def build():  # doctest: +SKIP
        ...     x = keras.Input((None, None, 4))
        ...     y = keras.layers.Conv2D(4, 3, strides=2, padding="same")(x)
        ...     return keras.Model(x, keras.layers.Add()([y, x]))
        >>> check_keras(build).sizes["H"]["valid"]  # only H=1: 1x1 + 1x1  # doctest: +SKIP
        []
    """
    inputs = list(shapes.input_shapes)
    if len(inputs) != 1 or len(inputs[0]) not in AXIS_NAMES:
        return {"note": "sizes are proved for a model with one image-like input"}
    shape = tuple(inputs[0])
    names = AXIS_NAMES[len(shape)]
    ranges = ranges or {name: (1, None) for name in names}
    unknown_axes = set(ranges) - set(names)
    if unknown_axes:
        raise ValueError(f"--sizes: no axis {', '.join(sorted(unknown_axes))} in a "
                         f"{len(shape)}-D input (axes: {', '.join(names)})")
    example_ok = not shapes.failures
    keeps: dict = {}
    if together and len(set(ranges.values())) == 1 and set(ranges) == set(names):
        axes = tuple(range(1, 1 + len(names)))
        proof = _prove_axis(graph, shapes, axes, names[0], ranges[names[0]], shape[1],
                            example_ok, keeps)
        proof["premise"] = proof["premise"].replace(
            "the other axes at their example sizes", f"{', '.join(names)} equal (square "
            f"inputs: the model's input sizes are unknown)")
        return {name: {**proof, "axis": name, "dim": axis}
                for name, axis in zip(names, axes)}
    return {name: _prove_axis(graph, shapes, (1 + offset,), name, ranges[name],
                              shape[1 + offset], example_ok, keeps)
            for offset, name in enumerate(names) if name in ranges}


def _prove_axis(graph: KerasGraph, shapes: Shapes, axes: tuple[int, ...], name: str,
                span: tuple, example: int, example_ok: bool, keeps: dict) -> dict[str, Any]:
    lo, hi = span
    length = 128
    while True:
        top = lo + length if hi is None else min(lo + length, hi + 1)
        main = _AxisPass(graph, shapes, axes, np.arange(lo, top), keeps).run()
        irregular = np.flatnonzero(~main.regular)
        n0 = None if not main.regular[-1] else lo + (int(irregular[-1]) + 1 if len(irregular) else 0)
        proved = n0 is not None and top - n0 >= main.period
        if proved or (hi is not None and top == hi + 1) or length >= _LARGEST_SCAN:
            break
        length = max(4 * length, 2 * main.period + (n0 or top) - lo)
    period = main.period
    direct = main.first_failures().tolist()
    if proved:
        periodic = main.first_failures(periodic_only=True)[n0 - lo:n0 - lo + period]
        linear = main.first_linear
        if linear is not None:  # operands growing apart disagree at every large size...
            periodic = np.where((periodic < 0) | (periodic > linear), linear, periodic)
        exceptions = _exceptions(graph, shapes, axes, main, n0, period, hi, keeps)  # but these
        progressions = outcome_progressions(lo, hi, direct, n0, period, periodic.tolist(),
                                            exceptions)
    else:
        progressions = outcome_progressions(lo, top - 1, direct)
    classes = {cid: progs for cid, progs in progressions.items() if cid >= 0}
    examples = {cid: nearest_member(progs, example) for cid, progs in classes.items()}
    shown = _AxisPass(graph, shapes, axes, np.asarray(list(examples.values()) or [example]),
                      keeps).run()
    failing = [_describe(graph, shapes, main.checks[cid], shown, position, axes,
                         progressions[cid], examples[cid])
               for position, cid in enumerate(examples)]
    failing.sort(key=lambda c: c["progressions"][0][0])
    valid, unknown = progressions.get(-1, []), progressions.get(-2, [])
    note = None
    if main.stopped is not None:
        call = graph[main.stopped.call]
        where = location(call.frames)
        note = (f"cannot prove the sizes that reach {call.name}"
                f"{f' ({where.path}:{where.line})' if where else ''}: {main.stopped.reason}")
        if example_ok and lo <= example and (hi is None or example <= hi) and \
                contains(unknown, example):  # the example size was built: it is valid
            unknown = [list(p) for p in unknown]
            remove_size(unknown, example)
            valid = sorted(valid + [[example, example + 1, 1]])
    elif not proved:
        note = f"cannot prove beyond {name}={top - 1}: no period found below it"
    premise = ("the other axes at their example sizes; "
               + (f"period {period} from the strides, threshold {n0} (every window fits, no "
                  f"varying map is 1 wide)" if proved else "exact evaluation only")
               + "; read from the Keras layer list")
    return {"axis": name, "dim": axes[0], "range": [lo, hi], "valid": valid, "failing": failing,
            "unknown": unknown, "proved": bool(proved and main.stopped is None),
            "period": period, "threshold": n0 if proved else None,
            "checked_to": None if proved else top - 1, "example": example,
            "premise": premise, "note": note}


def _exceptions(graph: KerasGraph, shapes: Shapes, axes: tuple[int, ...], main: _AxisPass, n0: int,
                period: int, hi: Optional[int], keeps: dict) -> dict[int, int]:
    """Sizes above n0 where operands growing at different rates happen to agree."""
    candidates: set[int] = set()
    start = n0 - int(main.points[0])
    for check in main.checks:
        for diff, slope in check.linear:
            step = int(slope * period)
            values = diff[start:start + period]
            sizes = main.points[start:start + period]
            hits = (values % step == 0) & ((-values) // step >= 1)
            for size, k in zip(sizes[hits].tolist(), ((-values[hits]) // step).tolist()):
                if hi is None or size + k * period <= hi:
                    candidates.add(size + k * period)
    if not candidates:
        return {}
    extra = _AxisPass(graph, shapes, axes, np.asarray(sorted(candidates)), keeps).run()
    return dict(zip(extra.points.tolist(), extra.first_failures().tolist()))


def _describe(graph: KerasGraph, shapes: Shapes, check: _Check, shown: _AxisPass,
              index: int, axes: tuple[int, ...], progressions: list,
              size: int) -> dict[str, Any]:
    code, kind = _CODES[check.kind]
    operand_shapes = []
    for operand, example in zip(check.operands, shapes.operands.get(check.call, ())):
        dim = shown.dims.get(operand)
        if example is None or dim is None:
            continue
        full = list(example)
        for axis, along in zip(axes, dim):
            full[axis] = int(along.size[index])
        operand_shapes.append(full)
    if check.kind == "add" and len(operand_shapes) == 2 and \
            operand_shapes[0][-1] != operand_shapes[1][-1]:
        code, kind = "SC101", "channel_mismatch"
    call = graph[check.call]
    where = location(call.frames)
    return {"progressions": progressions, "code": code, "kind": kind,
            "broadcast": check.kind == "broadcast", "too_small": check.kind == "window",
            "module": call.name, "location": where.to_json() if where else None,
            "node": call.name, "example": size, "shapes": operand_shapes,
            "detail": check.detail}


__all__ = ["prove_keras_sizes"]
