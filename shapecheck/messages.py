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
    "sizes.add": Text("residual add in {module} works at {axis}={example} but fails for {which} "
                      "(e.g. {axis}={size}: {main} vs {shortcut}); valid input {words}: {valid} "
                      "({proof})",
                      "{module} 中的残差相加在 {axis}={example} 时可以运行，但在 {which} 时出错（例如 "
                      "{axis}={size}：{main} 对 {shortcut}）；有效输入{words}：{valid}（{proof}）"),
    "sizes.broadcast": Text("residual add in {module} runs for {which} only by broadcasting a "
                            "1-wide map (e.g. {axis}={size}: {main} vs {shortcut}); valid input "
                            "{words}: {valid} ({proof})",
                            "{module} 中的残差相加在 {which} 时只因广播宽为 1 的特征图才能运行（例如 "
                            "{axis}={size}：{main} 对 {shortcut}）；有效输入{words}：{valid}（{proof}）"),
    "sizes.layer": Text("{module} fails for {which} ({detail}; e.g. {axis}={size}); valid input "
                        "{words}: {valid} ({proof})",
                        "{module} 在 {which} 时出错（{detail}；例如 {axis}={size}）；有效输入"
                        "{words}：{valid}（{proof}）"),
    "sizes.after": Text("after the fix: valid for {valid} ({proof})",
                        "修复之后：{valid} 时均有效（{proof}）"),
    "sizes.proved": Text("proved", "已证明"),
    "words.heights": Text("heights", "高度"),
    "words.widths": Text("widths", "宽度"),
    "words.depths": Text("depths", "深度"),
    "words.lengths": Text("lengths", "长度"),
    "layer": Text("{layer} ({type}) expects {want} input {what} but receives {got} (input "
                  "{shape})",
                  "{layer}（{type}）期望输入 {want} 个{what}，实际收到 {got} 个（输入 {shape}）"),
    "input": Text("the input {shape} does not fit the first layer {layer} ({type}): it expects "
                  "{want} {what} at dim {dim}, got {got}",
                  "输入 {shape} 与第一层 {layer}（{type}）不符：第 {dim} 维应为 {want} 个{what}，实际为 {got}"),
    "input_other": Text("the input {shape} does not fit the first layer {layer} ({type}): "
                        "{error}",
                        "输入 {shape} 与第一层 {layer}（{type}）不符：{error}"),
    "input.missing_axis": Text("{shape} looks like {reading}: {missing} is missing (--input "
                               "{suggest}); PyTorch reads {rank} dimensions as one unbatched "
                               "{unbatched} image instead",
                               "{shape} 看起来是 {reading}：缺少 {missing}（--input {suggest}）；"
                               "PyTorch 把 {rank} 维输入当作一张不带批次的 {unbatched} 图像"),
    "input.rank_short": Text("{layer} takes {batched} (or one unbatched {unbatched} image) with "
                             "{c} channels, and {shape} has {rank} dimensions: a dimension looks "
                             "missing (e.g. --input {example})",
                             "{layer} 接受 {batched}（或一张不带批次的 {unbatched} 图像），通道数为 "
                             "{c}，而 {shape} 只有 {rank} 维：看起来缺少一个维度（例如 --input "
                             "{example}）"),
    "input.rank_long": Text("{layer} takes {batched} (or one unbatched {unbatched} image), and "
                            "{shape} has {rank} dimensions: {extra} too many",
                            "{layer} 接受 {batched}（或一张不带批次的 {unbatched} 图像），而 {shape} "
                            "有 {rank} 维：多了 {extra} 维"),
    "layer.batch_flattened": Text("{call} flattens the batch too: write {fix}",
                                  "{call} 把批次维度也展平了：应写 {fix}"),
    "op": Text("{op} in {module} fails: {error}",
               "{module} 中的 {op} 出错：{error}"),
    "cause.stride": Text("{layer} downsamples {a} -> {b}",
                         "{layer} 把尺寸从 {a} 下采样到 {b}"),
    "cause.upsample": Text("{layer} upsamples {a} -> {b}",
                           "{layer} 把尺寸从 {a} 上采样到 {b}"),
    "cause.channels": Text("{layer} changes {unit} {a} -> {b}",
                           "{layer} 把{unit}数从 {a} 变为 {b}"),
    "cause.receives": Text("{layer} is built for {want} -> {b} {unit} but receives {a}",
                           "{layer} 按 {want} -> {b} 个{unit}构建，实际却收到 {a} 个"),
    "cause.identity": Text("the identity shortcut keeps {c} {unit} at {s}",
                           "恒等捷径保持 {c} 个{unit}、尺寸 {s}"),
    "cause.shortcut_keeps": Text("the shortcut keeps {c} {unit} at {s}",
                                 "捷径保持 {c} 个{unit}、尺寸 {s}"),
    "cause.setter": Text("{layer} ({type}) gives the main branch {c} {unit}",
                         "{layer}（{type}）使主分支输出 {c} 个{unit}"),
    "cause.consumers": Text("the layers after the add expect {c} {unit} ({layers}): the main "
                            "branch is what must change, not the shortcut",
                            "相加之后的层期望 {c} 个{unit}（{layers}）：应当修改的是主分支，而不是捷径"),
    "cause.narrowed": Text("the main branch comes back narrower than the block's {c} input "
                           "{unit}: it is the side to fix (widen its last layer), not the shortcut",
                           "主分支输出比块的输入（{c} 个{unit}）更窄：应当修改的是主分支（加宽它的"
                           "最后一层），而不是捷径"),
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
    # the word for "other" where a kind stands alone (a table cell, a list)
    "kind.nonstandard": Text("non-standard",
                             "非标准"),
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


def shortcut_word(kind: str, lang: str | None = None) -> str:
    """A shortcut kind as a learner reads it, never the raw kind "other".

    >>> shortcut_word("other", "en"), shortcut_word("pooled_projection", "zh")
    ('non-standard', '池化投影')
    """
    key = f"kind.{kind}"
    return (text(key, lang) if key in MESSAGES else "") or text("kind.nonstandard", lang)


__all__ = ["MESSAGES", "text", "default_language", "shortcut_word"]
