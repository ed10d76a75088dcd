"""Message templates for findings, in English and Simplified Chinese.

Findings are built from these templates only, so a language is one table. The language is
chosen per call (`lang=`), else from SHAPECHECK_LANG or the locale (zh_* gives Chinese).
"""

from __future__ import annotations

import locale
import os

TEMPLATES: dict[str, dict[str, str]] = {
    "en": {
        "add.channel": "residual add in {module}: main branch has {mc} {unit} at {ms}, "
                       "{kind} shortcut has {sc} {unit} at {ss}",
        "add.channel_flat": "residual add in {module}: main branch has {mc} {unit}, "
                            "{kind} shortcut has {sc} {unit}",
        "add.spatial": "residual add in {module}: main branch is {ms} but the {kind} shortcut is "
                       "{ss} ({mc} {unit} on both)",
        "add.spatial_silent": "residual add in {module}: main branch is {ms} but the {kind} shortcut "
                              "is {ss}; the add runs only because a size-1 dimension broadcasts at "
                              "this input size (at twice the input size: {pm} vs {ps})",
        "add.broadcast": "residual add in {module}: the {side} has 1 {unit_one} that is broadcast "
                         "over the {other}'s {n} {unit}; main branch {mshape}, shortcut {sshape}",
        "add.suspicious": "residual add in {module}: the {side} ({small}) is broadcast over {big}; "
                          "could not tell whether that is by design",
        "layer": "{layer} ({type}) expects {want} input {what} but receives {got} "
                 "(input {shape})",
        "input": "the input {shape} does not fit the first layer {layer} ({type}): it expects "
                 "{want} {what} at dim {dim}, got {got}",
        "input_other": "the input {shape} does not fit the first layer {layer} ({type}): {error}",
        "op": "{op} in {module} fails: {error}",
        "cause.stride": "{layer} downsamples {a} -> {b}",
        "cause.upsample": "{layer} upsamples {a} -> {b}",
        "cause.channels": "{layer} changes {unit} {a} -> {b}",
        "cause.identity": "the identity shortcut keeps {c} {unit} at {s}",
        "cause.shortcut_keeps": "the shortcut keeps {c} {unit} at {s}",
        "cause.setter": "{layer} ({type}) gives the main branch {c} {unit}",
        "cause.consumers": "the layers after the add expect {c} {unit} ({layers}): the main "
                           "branch is what must change, not the shortcut",
        "unit.channels": "channels", "unit.channel": "channel",
        "unit.features": "features", "unit.feature": "feature",
        "kind.identity": "identity", "kind.projection": "projection",
        "kind.pooled_projection": "pooled projection", "kind.other": "",
        "side.main": "main branch", "side.shortcut": "shortcut",
        "top": "the top-level module",
    },
    "zh": {
        "add.channel": "{module} 中的残差相加：主分支为 {mc} 个{unit}、尺寸 {ms}，"
                       "{kind}捷径为 {sc} 个{unit}、尺寸 {ss}",
        "add.channel_flat": "{module} 中的残差相加：主分支为 {mc} 个{unit}，{kind}捷径为 {sc} 个{unit}",
        "add.spatial": "{module} 中的残差相加：主分支尺寸为 {ms}，而{kind}捷径为 {ss}"
                       "（两者均为 {mc} 个{unit}）",
        "add.spatial_silent": "{module} 中的残差相加：主分支尺寸为 {ms}，而{kind}捷径为 {ss}；"
                              "只因在此输入尺寸下某个大小为 1 的维度被广播才没有报错"
                              "（输入尺寸加倍时：{pm} 对 {ps}）",
        "add.broadcast": "{module} 中的残差相加：{side}只有 1 个{unit_one}，被广播到{other}的 {n} 个"
                         "{unit}上；主分支 {mshape}，捷径 {sshape}",
        "add.suspicious": "{module} 中的残差相加：{side}（{small}）被广播到 {big}；"
                          "无法判断这是否有意为之",
        "layer": "{layer}（{type}）期望输入 {want} 个{what}，实际收到 {got} 个（输入 {shape}）",
        "input": "输入 {shape} 与第一层 {layer}（{type}）不符：第 {dim} 维应为 {want} 个{what}，"
                 "实际为 {got}",
        "input_other": "输入 {shape} 与第一层 {layer}（{type}）不符：{error}",
        "op": "{module} 中的 {op} 出错：{error}",
        "cause.stride": "{layer} 下采样 {a} -> {b}",
        "cause.upsample": "{layer} 上采样 {a} -> {b}",
        "cause.channels": "{layer} 将{unit}数 {a} -> {b}",
        "cause.identity": "恒等捷径保持 {c} 个{unit}、尺寸 {s}",
        "cause.shortcut_keeps": "捷径保持 {c} 个{unit}、尺寸 {s}",
        "cause.setter": "{layer}（{type}）使主分支输出 {c} 个{unit}",
        "cause.consumers": "相加之后的层期望 {c} 个{unit}（{layers}）：应当修改的是主分支，"
                           "而不是捷径",
        "unit.channels": "通道", "unit.channel": "通道",
        "unit.features": "特征", "unit.feature": "特征",
        "kind.identity": "恒等", "kind.projection": "投影",
        "kind.pooled_projection": "池化投影", "kind.other": "",
        "side.main": "主分支", "side.shortcut": "捷径",
        "top": "顶层模块",
    },
}


def default_language() -> str:
    """"zh" when SHAPECHECK_LANG or the locale asks for Chinese, else "en"."""
    wanted = os.environ.get("SHAPECHECK_LANG") or os.environ.get("LANG") or ""
    if not wanted:
        try:
            wanted = locale.getlocale()[0] or ""
        except ValueError:
            wanted = ""
    return "zh" if wanted.lower().startswith("zh") else "en"


def text(key: str, lang: str | None = None, **values) -> str:
    """The template `key` in `lang`, filled with `values` (English when a key is missing).

    >>> text("cause.stride", "en", layer="conv2", a="56x56", b="28x28")
    'conv2 downsamples 56x56 -> 28x28'
    """
    table = TEMPLATES.get(lang or default_language(), TEMPLATES["en"])
    template = table.get(key) or TEMPLATES["en"][key]
    return template.format(**values)
