"""The shape formulas agree with torch's real kernels, and raise where torch raises."""

from __future__ import annotations

import itertools
import operator

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from shapecheck.ops.shape_rules import NO_RULE, broadcast, call_rule, module_rule


def _meta(shape):
    return torch.empty(shape, device="meta")


def _same_as_torch(module: nn.Module, shape):
    real = module(torch.zeros(shape))
    ruled = module_rule(module, (_meta(shape),), {})
    assert ruled is not NO_RULE
    assert tuple(ruled.shape) == tuple(real.shape), (module, shape)


CONVS = [dict(kernel_size=k, stride=s, padding=p, dilation=d)
         for k, s, p, d in itertools.product((1, 3, 7), (1, 2, 3), (0, 1, 3), (1, 2))]


@pytest.mark.parametrize("config", CONVS, ids=str)
@pytest.mark.parametrize("size", [7, 8, 23])
def test_conv2d(config, size):
    conv = nn.Conv2d(4, 6, **config)
    if size + 2 * config["padding"] < config["dilation"] * (config["kernel_size"] - 1) + 1:
        with pytest.raises(RuntimeError):
            module_rule(conv, (_meta((1, 4, size, size)),), {})
        return
    _same_as_torch(conv, (1, 4, size, size))


@pytest.mark.parametrize("padding", ["same", "valid"])
def test_conv_string_padding_and_groups(padding):
    _same_as_torch(nn.Conv2d(8, 16, 3, padding=padding, groups=4), (2, 8, 9, 11))
    _same_as_torch(nn.Conv1d(8, 16, 5, padding=padding), (2, 8, 17))
    _same_as_torch(nn.Conv3d(2, 4, 3, padding=padding), (1, 2, 5, 6, 7))


def test_conv_wrong_channels_raises():
    with pytest.raises(RuntimeError, match="channels"):
        module_rule(nn.Conv2d(3, 8, 3), (_meta((1, 4, 8, 8)),), {})


@pytest.mark.parametrize("kernel,stride,padding,ceil", list(itertools.product(
    (2, 3), (1, 2), (0, 1), (False, True))))
@pytest.mark.parametrize("size", [7, 8, 9])
def test_pools(kernel, stride, padding, ceil, size):
    if padding > kernel // 2:
        return
    _same_as_torch(nn.MaxPool2d(kernel, stride, padding, ceil_mode=ceil), (1, 2, size, size))
    _same_as_torch(nn.AvgPool2d(kernel, stride, padding, ceil_mode=ceil), (1, 2, size, size))


@pytest.mark.parametrize("module", [nn.AdaptiveAvgPool2d(1), nn.AdaptiveAvgPool2d((3, None)),
                                    nn.AdaptiveMaxPool2d(2), nn.Flatten(), nn.Flatten(2),
                                    nn.Linear(7, 5), nn.BatchNorm2d(3), nn.ReLU(inplace=True),
                                    nn.GroupNorm(1, 3), nn.LayerNorm(7), nn.Dropout(0.5),
                                    nn.GELU(), nn.Identity()], ids=repr)
def test_other_layers(module):
    _same_as_torch(module.eval(), (2, 3, 6, 7))


def test_norm_and_linear_mismatch_raise():
    with pytest.raises(RuntimeError):
        module_rule(nn.BatchNorm2d(8), (_meta((1, 4, 8, 8)),), {})
    with pytest.raises(RuntimeError, match="cannot be multiplied"):
        module_rule(nn.Linear(8, 2), (_meta((3, 4)),), {})


def test_user_subclasses_are_not_guessed():
    class MyConv(nn.Conv2d):
        def forward(self, x):
            return super().forward(x)[:, :1]

    assert module_rule(MyConv(3, 8, 3), (_meta((1, 3, 8, 8)),), {}) is NO_RULE


@pytest.mark.parametrize("a,b", [((1, 64, 56, 56), (1, 64, 1, 1)), ((2, 1, 5), (3, 1)),
                                 ((4,), (3, 4)), ((1, 16, 1, 1), (1, 16, 2, 2))])
def test_broadcast_matches_torch(a, b):
    assert broadcast(a, b) == tuple((torch.zeros(a) + torch.zeros(b)).shape)
    got = call_rule(operator.add, False, (_meta(a), _meta(b)), {})
    assert tuple(got.shape) == broadcast(a, b)


def test_broadcast_failure_raises_like_torch():
    with pytest.raises(RuntimeError, match="must match"):
        broadcast((1, 128, 28, 28), (1, 256, 28, 28))
    with pytest.raises(RuntimeError, match="doesn't match the broadcast shape"):
        call_rule("add_", True, (_meta((1, 16, 1, 1)), _meta((1, 16, 2, 2))), {})


def test_inplace_ops_return_their_input():
    x = _meta((1, 4, 3, 3))
    assert call_rule("add_", True, (x, _meta((1, 4, 1, 1))), {}) is x
    assert call_rule(F.relu, False, (x,), {"inplace": True}) is x


@pytest.mark.parametrize("chunks,dim", [(1, 1), (3, 1), (4, 1), (10, 1), (11, 1), (2, -1)])
def test_chunk(chunks, dim):
    real = torch.chunk(torch.zeros(1, 10, 4, 5), chunks, dim)
    ruled = call_rule(torch.chunk, False, (_meta((1, 10, 4, 5)), chunks, dim), {})
    assert [tuple(t.shape) for t in ruled] == [tuple(t.shape) for t in real]


def test_cat_and_reductions():
    parts = [_meta((1, 3, 4, 4)), _meta((1, 5, 4, 4))]
    assert tuple(call_rule(torch.cat, False, (parts,), {"dim": 1}).shape) == (1, 8, 4, 4)
    with pytest.raises(RuntimeError, match="Sizes of tensors must match"):
        call_rule(torch.cat, False, ([_meta((1, 3, 4, 4)), _meta((1, 3, 5, 4))], 1), {})
    x = torch.zeros(2, 3, 4, 5)
    for args, kwargs in [(((2, 3),), {}), (((2, 3), True), {}), ((), {"dim": -1, "keepdim": True})]:
        assert tuple(call_rule("mean", True, (x.to("meta"), *args), kwargs).shape) == tuple(
            x.mean(*args, **kwargs).shape)


def test_sequential_chains_rules():
    seq = nn.Sequential(nn.Conv2d(4, 8, 1, stride=2, bias=False), nn.BatchNorm2d(8), nn.ReLU())
    _same_as_torch(seq.eval(), (1, 4, 7, 7))
