"""Exact per-axis size formulas, evaluated on many sizes at once (numpy, no tensors).

One spatial axis through a layer is an integer function: conv and floor pooling give
`floor((n + 2p - d(k-1) - 1) / s) + 1`, ceil pooling rounds up and then drops a last
window that would start in the right padding, transposed convs multiply by the stride,
interpolation by its scale. These are torch's own formulas (`pooling_output_shape`,
`conv_output_size`), written for arrays of input sizes, so that checking every size in a
range costs one numpy operation per layer. Each function returns the output sizes and a
mask of the sizes at which torch accepts the input.

Each formula also obeys a shift law that makes the valid sizes periodic: moving the input
by `stride` moves a conv or pool output by exactly 1 wherever the layer accepts its input,
floor or ceil mode alike (the last-window test `(out - 1) * s >= n + p` moves by `s` on
both sides). `analysis/sizes.py` builds its proof on these laws.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Union

import numpy as np

Sizes = Union[int, np.ndarray]


def conv_output(n: Sizes, kernel: int, stride: int, padding: int,
                dilation: int = 1) -> tuple[Sizes, Sizes]:
    """Output sizes of a convolution along one axis, and where torch accepts the input.

    torch raises "Kernel size can't be greater than actual input size" when the padded
    input is shorter than the dilated kernel.

    >>> out, ok = conv_output(np.arange(1, 6), kernel=3, stride=2, padding=0)
    >>> out.tolist(), ok.tolist()
    ([0, 0, 1, 1, 2], [False, False, True, True, True])
    """
    span = np.asarray(n) + 2 * padding - dilation * (kernel - 1) - 1
    ok = span >= 0
    return np.where(ok, span // stride + 1, 0), ok


def pool_output(n: Sizes, kernel: int, stride: int, padding: int, dilation: int = 1,
                ceil_mode: bool = False) -> tuple[Sizes, Sizes]:
    """Output sizes of max/avg pooling along one axis (torch's `pooling_output_shape`).

    In ceil mode the division rounds up, then the last window is dropped when it would
    start in the right padding. torch raises "Output size is too small" below 1 -- and
    only then: unlike a convolution, a ceil-mode pool accepts a padded input shorter than
    its kernel as long as one window starts inside it (n=2, kernel 3, stride 2 gives 1).
    A padding above half the kernel is refused at every size (`pool_padding_ok`).

    >>> out, _ = pool_output(np.array([6, 7, 8]), kernel=2, stride=2, padding=0, ceil_mode=True)
    >>> out.tolist()
    [3, 4, 4]
    >>> pool_output(np.array([1, 2]), kernel=3, stride=2, padding=0, ceil_mode=True)[0].tolist()
    [0, 1]
    >>> pool_output(np.array([8]), kernel=3, stride=2, padding=2)[1].tolist()
    [False]
    """
    n = np.asarray(n)
    span = n + 2 * padding - dilation * (kernel - 1) - 1 + (stride - 1 if ceil_mode else 0)
    out = span // stride + 1  # numpy's // rounds toward -inf, as torch's div_rtn
    if ceil_mode:
        out = np.where((out - 1) * stride >= n + padding, out - 1, out)
    ok = (out >= 1) & pool_padding_ok(kernel, padding)
    return np.where(ok, out, 0), ok


def pool_padding_ok(kernel: int, padding: int) -> bool:
    """torch's pooling check "pad should be at most half of effective kernel size"; it
    compares with half the kernel itself, whatever the dilation.

    >>> pool_padding_ok(3, 1), pool_padding_ok(3, 2), pool_padding_ok(1, 1)
    (True, False, False)
    """
    return padding <= kernel // 2


def transposed_output(n: Sizes, kernel: int, stride: int, padding: int, dilation: int = 1,
                      output_padding: int = 0) -> tuple[Sizes, Sizes]:
    """Output sizes of a transposed convolution along one axis.

    >>> out, ok = transposed_output(np.array([4, 5]), kernel=2, stride=2, padding=0)
    >>> out.tolist(), ok.tolist()
    ([8, 10], [True, True])
    """
    out = (np.asarray(n) - 1) * stride - 2 * padding + dilation * (kernel - 1) + output_padding + 1
    ok = out >= 1
    return np.where(ok, out, 0), ok


def scaled_output(n: Sizes, scale: Fraction) -> Sizes:
    """`floor(n * scale)`, as interpolation computes an output size from `scale_factor`.

    The scale is a float's exact value (a dyadic rational), so the product is exact.

    >>> scaled_output(np.array([3, 4, 5]), Fraction(3, 2)).tolist()
    [4, 6, 7]
    """
    return (np.asarray(n) * scale.numerator) // scale.denominator


def slice_length(size: Sizes, start, stop, step: int) -> Sizes:
    """`len(range(size)[start:stop:step])` for many sizes (None = open end; step > 0).

    >>> slice_length(np.array([3, 10]), 1, -1, 2).tolist()
    [1, 4]
    """
    size = np.asarray(size)

    def clamp(bound, default):
        if bound is None:
            return default
        bound = np.asarray(bound)
        return np.clip(np.where(bound < 0, bound + size, bound), 0, size)

    first, last = clamp(start, 0), clamp(stop, size)
    return np.maximum(0, (last - first + step - 1) // step)


def as_tuple(value, dims: int) -> tuple:
    """A layer's int-or-tuple argument as a tuple of `dims` entries.

    >>> as_tuple(3, 2), as_tuple((1, 2), 2)
    ((3, 3), (1, 2))
    """
    return tuple(value) if isinstance(value, (tuple, list)) else (value,) * dims


__all__ = ["conv_output", "pool_output", "pool_padding_ok", "transposed_output", "scaled_output",
           "slice_length", "as_tuple"]
