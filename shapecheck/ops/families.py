"""One table of layer families: everything shapecheck knows about a kind of layer.

Each row names the module classes of one family and, for each fact a stage needs, the
function that gives it: the input width it expects (module and functional form), the
output width it sets, how to rebuild it at another width, its role on a shortcut
(projection, norm, pool, identity), its graph label and message description, and its MACs.
Supporting a new layer is one row; every stage reads the row, none keeps its own list.

Third-party classes (timm) are named by their import path, so the table matches them
without importing timm; their rows come first since some subclass torch's norms.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Optional

import torch
import torch.nn as nn
import torch.nn.functional as F

from shapecheck.ops import layer_text as text
from shapecheck.ops import macs as counting, rebuild as rebuilding, widths
from shapecheck.ops.widths import Expectation

Shape = tuple[int, ...]


@dataclass(frozen=True)
class LayerFamily:
    """One kind of layer and the functions that give each fact about it.

    A fact a family lacks is None: such layers expect no particular width, set none, cannot
    be rebuilt or cost no MACs.
    """

    name: str
    types: tuple[type, ...] = ()
    type_names: tuple[str, ...] = ()  # "module.Class" of classes matched without importing them
    role: Optional[str] = None  # on a shortcut: "projection" | "norm" | "pool" | "identity"
    expects: Optional[Callable[[nn.Module, torch.Tensor], Optional[Expectation]]] = None
    out_width: Optional[Callable[[nn.Module], int]] = None  # for layers that set the width
    rebuild: Optional[Callable[[nn.Module, int], rebuilding.Rebuilt]] = None
    label: Callable[[nn.Module], str] = text.plain_label
    describe: Callable[[nn.Module], str] = text.plain_description
    macs: Optional[Callable[[nn.Module, Shape, list], int]] = None
    calls: tuple[Callable, ...] = ()  # the functional form: F.conv2d, F.batch_norm, ...
    call_expects: Optional[Callable[[widths.Arg, widths.Width, int], Any]] = None
    call_macs: Optional[Callable[[Shape, list], int]] = None
    hint: str = ""  # text in a recorded functional target's name ("conv" in "conv2d")

    @property
    def call_names(self) -> frozenset[str]:
        return frozenset(getattr(f, "__name__", "") for f in self.calls)


_NORM = dict(role="norm", hint="norm", macs=None)
_TIMM = "timm.layers."

FAMILIES: tuple[LayerFamily, ...] = (
    LayerFamily("conv", (nn.modules.conv._ConvNd,), role="projection",
                expects=widths.conv_expects, out_width=widths.conv_out_width,
                rebuild=rebuilding.rebuild_conv, label=text.conv_label,
                describe=text.conv_description, macs=counting.conv_macs,
                calls=(F.conv1d, F.conv2d, F.conv3d), call_expects=widths.conv_call_expects,
                call_macs=counting.conv_call_macs, hint="conv"),
    LayerFamily("linear", (nn.Linear,), role="projection", expects=widths.linear_expects,
                out_width=widths.linear_out_width, rebuild=rebuilding.rebuild_linear,
                label=text.linear_label, describe=text.linear_description,
                macs=counting.linear_macs, calls=(F.linear,),
                call_expects=widths.linear_call_expects, call_macs=counting.linear_call_macs,
                hint="linear"),
    # timm's norms: under fx they trace into F.layer_norm / F.batch_norm / F.group_norm
    # (the torch rows' functional forms); as modules (recorded, or leaves) they are these
    LayerFamily("timm_channel_layer_norm", type_names=(
        _TIMM + "norm.LayerNorm2d", _TIMM + "norm_act.LayerNormAct2d"),
        expects=widths.channels_first_norm_expects, rebuild=rebuilding.rebuild_width_copy,
        **_NORM),
    LayerFamily("timm_layer_norm", type_names=(
        _TIMM + "norm.LayerNorm", _TIMM + "norm.RmsNorm", _TIMM + "norm_act.LayerNormAct"),
        expects=widths.last_dim_norm_expects, rebuild=rebuilding.rebuild_width_copy,
        label=text.layer_norm_label, **_NORM),
    LayerFamily("timm_batch_norm_act", type_names=(_TIMM + "norm_act.BatchNormAct2d",),
                expects=widths.channel_norm_expects, rebuild=rebuilding.rebuild_width_copy,
                **_NORM),
    LayerFamily("timm_group_norm_act", type_names=(
        _TIMM + "norm_act.GroupNormAct", _TIMM + "norm_act.GroupNorm1Act"),
        expects=widths.channel_norm_expects, rebuild=rebuilding.rebuild_width_copy,
        label=text.group_norm_label, **_NORM),
    LayerFamily("layer_norm", (nn.LayerNorm,), expects=widths.last_dim_norm_expects,
                rebuild=rebuilding.rebuild_layer_norm, label=text.layer_norm_label,
                calls=(F.layer_norm,), call_expects=widths.last_dim_norm_call_expects,
                **_NORM),
    LayerFamily("rms_norm", (nn.RMSNorm,), expects=widths.last_dim_norm_expects,
                rebuild=rebuilding.rebuild_layer_norm, label=text.rms_norm_label,
                calls=(F.rms_norm,), call_expects=widths.last_dim_norm_call_expects,
                **_NORM),
    LayerFamily("group_norm", (nn.GroupNorm,), expects=widths.channel_norm_expects,
                rebuild=rebuilding.rebuild_group_norm, label=text.group_norm_label,
                calls=(F.group_norm,), call_expects=widths.group_norm_call_expects, **_NORM),
    LayerFamily("instance_norm", (nn.modules.instancenorm._InstanceNorm,),
                expects=widths.channel_norm_expects, rebuild=rebuilding.rebuild_batch_norm,
                label=text.instance_norm_label, calls=(F.instance_norm,),
                call_expects=widths.instance_norm_call_expects, **_NORM),
    LayerFamily("batch_norm", (nn.modules.batchnorm._NormBase,),
                expects=widths.channel_norm_expects, rebuild=rebuilding.rebuild_batch_norm,
                label=text.batch_norm_label, calls=(F.batch_norm,),
                call_expects=widths.batch_norm_call_expects, **_NORM),
    LayerFamily("pool", (nn.modules.pooling._MaxPoolNd, nn.modules.pooling._AvgPoolNd),
                role="pool", label=text.pool_label, hint="pool",
                calls=(F.max_pool1d, F.max_pool2d, F.max_pool3d, F.avg_pool1d, F.avg_pool2d,
                       F.avg_pool3d)),
    LayerFamily("adaptive_pool", (nn.modules.pooling._AdaptiveAvgPoolNd,
                                  nn.modules.pooling._AdaptiveMaxPoolNd),
                role="pool", label=text.adaptive_pool_label, hint="pool",
                calls=(F.adaptive_avg_pool1d, F.adaptive_avg_pool2d, F.adaptive_avg_pool3d,
                       F.adaptive_max_pool1d, F.adaptive_max_pool2d, F.adaptive_max_pool3d)),
    LayerFamily("identity", (nn.Identity,), role="identity"),
    LayerFamily("dropout", (nn.modules.dropout._DropoutNd,), role="identity",
                label=text.dropout_label,
                calls=(F.dropout, F.dropout1d, F.dropout2d, F.dropout3d, F.alpha_dropout)),
)

# the shortcut projection a fix inserts, per tensor rank (the ResNet paper's option B)
PROJECTION_LAYERS: dict[int, tuple[type, type]] = {
    3: (nn.Conv1d, nn.BatchNorm1d), 4: (nn.Conv2d, nn.BatchNorm2d),
    5: (nn.Conv3d, nn.BatchNorm3d)}

_BY_TYPE: dict[type, Optional[LayerFamily]] = {}
_BY_CALL = {f: family for family in FAMILIES for f in family.calls}
_ROLE_BY_CALL_NAME = {name: family.role for family in reversed(FAMILIES)
                      for name in family.call_names if name}


def family_of(module: Optional[nn.Module]) -> Optional[LayerFamily]:
    """The family a module belongs to: the first row naming its class or a base class.

    >>> family_of(nn.BatchNorm2d(8)).name, family_of(nn.RMSNorm(8)).role
    ('batch_norm', 'norm')
    >>> family_of(nn.ReLU()) is None
    True
    """
    if module is None:
        return None
    kind = type(module)
    if kind not in _BY_TYPE:
        _BY_TYPE[kind] = _match(kind)
    return _BY_TYPE[kind]


def _match(kind: type) -> Optional[LayerFamily]:
    names = {f"{c.__module__}.{c.__qualname__}" for c in kind.__mro__}
    for family in FAMILIES:
        if issubclass(kind, family.types) or names.intersection(family.type_names):
            return family
    return None


def family_of_call(target: Any) -> Optional[LayerFamily]:
    """The family whose functional form `target` is (`F.conv2d` -> conv).

    >>> family_of_call(F.group_norm).name
    'group_norm'
    """
    try:
        return _BY_CALL.get(target)
    except TypeError:  # an unhashable target
        return None


def role_of_call(name: str) -> Optional[str]:
    """A call's role on a shortcut, by the function's name ("conv2d" -> projection).

    Names outside the table keep the old reading by substring: anything with "pool" in
    its name pools and anything with "norm" normalises.

    >>> role_of_call("conv2d"), role_of_call("rms_norm"), role_of_call("lp_pool2d")
    ('projection', 'norm', 'pool')
    """
    if name in _ROLE_BY_CALL_NAME:
        return _ROLE_BY_CALL_NAME[name]
    if "pool" in name:
        return "pool"
    if "norm" in name:
        return "norm"
    return None


def family_types(role: str) -> tuple[type, ...]:
    """The torch classes of every family with this role (for `isinstance`).

    >>> nn.RMSNorm in family_types("norm")
    True
    """
    return tuple(t for family in FAMILIES if family.role == role for t in family.types)
