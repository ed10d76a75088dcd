"""The per-axis window formulas against real torch on CPU, on a grid of small layers.

`ops/shape_rules.module_rule` (the example-size propagation) and `ops/axis_formulas` (the
all-sizes proof) share one formula; both must accept exactly the sizes torch accepts and
give torch's output size there, ceil-mode pools whose padded input is shorter than the
kernel included.
"""

import itertools
import warnings

import numpy as np
import pytest
import torch
import torch.nn as nn

from shapecheck.ops import axis_formulas as af
from shapecheck.ops.shape_rules import module_rule

GRID = list(itertools.product(range(1, 9), range(1, 5), range(1, 4), range(0, 3), (1, 2),
                              (False, True)))  # size, kernel, stride, padding, dilation, ceil


def _torch_size(layer: nn.Module, size: int):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return layer(torch.zeros(1, 1, size, size)).shape[2]
        except RuntimeError:
            return None


def _rule_size(layer: nn.Module, size: int):
    try:
        return module_rule(layer, (torch.empty(1, 1, size, size, device="meta"),), {}).shape[2]
    except RuntimeError:
        return None


def _pools():
    for n, k, s, p, d, ceil in GRID:
        yield (n, k, s, p, d, ceil), nn.MaxPool2d(k, s, p, d, ceil_mode=ceil)
        if d == 1:
            yield (n, k, s, p, d, ceil), nn.AvgPool2d(k, s, p, ceil_mode=ceil)


@pytest.mark.parametrize("kind", ["MaxPool2d", "AvgPool2d"])
def test_pool_formulas_agree_with_torch(kind):
    disagreements, accepted_short = [], 0
    for (n, k, s, p, d, ceil), layer in _pools():
        if type(layer).__name__ != kind:
            continue
        real = _torch_size(layer, n)
        out, ok = af.pool_output(np.array([n]), k, s, p, d, ceil)
        formula = int(out[0]) if ok[0] else None
        rule = _rule_size(layer, n)
        if not (real == formula == rule):
            disagreements.append(((n, k, s, p, d, ceil), real, formula, rule))
        if real is not None and n + 2 * p < d * (k - 1) + 1:
            accepted_short += 1
    assert disagreements == []
    assert accepted_short > 0  # the grid does hold the ceil-mode short inputs torch accepts


def test_conv_formula_agrees_with_torch():
    disagreements = []
    for n, k, s, p, d, _ in GRID:
        layer = nn.Conv2d(1, 1, k, s, p, d)
        real = _torch_size(layer, n)
        out, ok = af.conv_output(np.array([n]), k, s, p, d)
        rule = _rule_size(layer, n)
        if not (real == (int(out[0]) if ok[0] else None) == rule):
            disagreements.append(((n, k, s, p, d), real, rule))
    assert disagreements == []


def test_short_ceil_pool_is_accepted_and_too_large_padding_is_not():
    pool = nn.MaxPool2d(3, stride=2, ceil_mode=True)
    assert _rule_size(pool, 2) == _torch_size(pool, 2) == 1
    with pytest.raises(RuntimeError, match="pad should be at most half"):
        module_rule(nn.MaxPool2d(3, stride=2, padding=2), (torch.empty(1, 1, 8, 8, device="meta"),), {})
