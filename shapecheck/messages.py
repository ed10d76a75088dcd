"""Message templates for findings, one `Text` (English, Simplified Chinese) per key.

Findings are built from these templates only. The language is chosen per call (`lang=`),
else from SHAPECHECK_LANG or the locale (zh_* gives Chinese); see i18n.py.
"""

from __future__ import annotations

from shapecheck.i18n import Text, default_language

MESSAGES: dict[str, Text] = {
    "add.channel": Text("residual add in {module}: main branch has {main_channels} {unit} at {main_size}, {kind} "
                        "shortcut has {shortcut_channels} {unit} at {shortcut_size}",
                        "{module} 中的残差相加：主分支为 {main_channels} 个{unit}、尺寸 {main_size}，{kind}捷径为 {shortcut_channels} 个{unit}、尺寸 "
                        "{shortcut_size}"),
    "add.channel_flat": Text("residual add in {module}: main branch has {main_channels} {unit}, {kind} "
                             "shortcut has {shortcut_channels} {unit}",
                             "{module} 中的残差相加：主分支为 {main_channels} 个{unit}，{kind}捷径为 {shortcut_channels} 个{unit}"),
    "add.spatial": Text("residual add in {module}: main branch is {main_size} but the {kind} shortcut "
                        "is {shortcut_size} ({main_channels} {unit} on both)",
                        "{module} 中的残差相加：主分支尺寸为 {main_size}，而{kind}捷径为 {shortcut_size}（两者均为 {main_channels} 个{unit}）"),
    "add.spatial_silent": Text("residual add in {module}: main branch is {main_size} but the {kind} "
                               "shortcut is {shortcut_size}; the add runs only because a size-1 dimension "
                               "broadcasts at this input size (at twice the input size: {probe_main} vs "
                               "{probe_shortcut})",
                               "{module} 中的残差相加：主分支尺寸为 {main_size}，而{kind}捷径为 {shortcut_size}；只因在此输入尺寸下某个大小为 1 "
                               "的维度被广播才没有报错（输入尺寸加倍时：{probe_main} 对 {probe_shortcut}）"),
    "add.broadcast": Text("residual add in {module}: the {side} has 1 {unit_one} that is "
                          "broadcast over the {other}'s {n} {unit}; main branch {main_shape}, "
                          "shortcut {shortcut_shape}",
                          "{module} 中的残差相加：{side}只有 1 个{unit_one}，被广播到{other}的 {n} 个{unit}上；主分支 "
                          "{main_shape}，捷径 {shortcut_shape}"),
    "add.suspicious": Text("residual add in {module}: the {side} ({small}) is broadcast over "
                           "{big}; could not tell whether that is by design",
                           "{module} 中的残差相加：{side}（{small}）被广播到 {big}；无法判断这是否有意为之"),
    "layer": Text("{layer} ({type}) expects {want} input {what} but receives {got} (input "
                  "{shape})",
                  "{layer}（{type}）期望输入 {want} 个{what}，实际收到 {got} 个（输入 {shape}）"),
    "input": Text("the input {shape} does not fit the first layer {layer} ({type}): it expects "
                  "{want} {what} at dim {dim}, got {got}",
                  "输入 {shape} 与第一层 {layer}（{type}）不符：第 {dim} 维应为 {want} 个{what}，实际为 {got}"),
    "input_other": Text("the input {shape} does not fit the first layer {layer} ({type}): "
                        "{error}",
                        "输入 {shape} 与第一层 {layer}（{type}）不符：{error}"),
    "op": Text("{op} in {module} fails: {error}",
               "{module} 中的 {op} 出错：{error}"),
    "cause.stride": Text("{layer} downsamples {a} -> {b}",
                         "{layer} 下采样 {a} -> {b}"),
    "cause.upsample": Text("{layer} upsamples {a} -> {b}",
                           "{layer} 上采样 {a} -> {b}"),
    "cause.channels": Text("{layer} changes {unit} {a} -> {b}",
                           "{layer} 将{unit}数 {a} -> {b}"),
    "cause.identity": Text("the identity shortcut keeps {c} {unit} at {s}",
                           "恒等捷径保持 {c} 个{unit}、尺寸 {s}"),
    "cause.shortcut_keeps": Text("the shortcut keeps {c} {unit} at {s}",
                                 "捷径保持 {c} 个{unit}、尺寸 {s}"),
    "cause.setter": Text("{layer} ({type}) gives the main branch {c} {unit}",
                         "{layer}（{type}）使主分支输出 {c} 个{unit}"),
    "cause.consumers": Text("the layers after the add expect {c} {unit} ({layers}): the main "
                            "branch is what must change, not the shortcut",
                            "相加之后的层期望 {c} 个{unit}（{layers}）：应当修改的是主分支，而不是捷径"),
    "unit.channels": Text("channels",
                          "通道"),
    "unit.channel": Text("channel",
                         "通道"),
    "unit.features": Text("features",
                          "特征"),
    "unit.feature": Text("feature",
                         "特征"),
    "kind.identity": Text("identity",
                          "恒等"),
    "kind.projection": Text("projection",
                            "投影"),
    "kind.pooled_projection": Text("pooled projection",
                                   "池化投影"),
    "kind.other": Text("",
                       ""),
    "side.main": Text("main branch",
                      "主分支"),
    "side.shortcut": Text("shortcut",
                          "捷径"),
    "top": Text("the top-level module",
                "顶层模块"),
}


def text(key: str, lang: str | None = None, **values) -> str:
    """The template `key` in `lang`, filled with `values`.

    >>> text("cause.stride", "en", layer="conv2", a="56x56", b="28x28")
    'conv2 downsamples 56x56 -> 28x28'
    """
    return MESSAGES[key](lang or default_language(), **values)


__all__ = ["MESSAGES", "text", "default_language"]
