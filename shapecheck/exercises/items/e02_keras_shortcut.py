"""Exercise 2: the Keras `conv_shortcut=False` homework, and the first answer page's "Add pads" claim."""

from __future__ import annotations

from typing import Optional

import torch

from shapecheck.exercises import describe as d
from shapecheck.exercises.catalog import Exercise
from shapecheck.exercises.grading import Attempt, answer_problem
from shapecheck.exercises.items.common import runtime_error_text, same_blocks_as_reference
from shapecheck.exercises.items.properties import (constants_kept, plain_shortcuts,
                                                   shortcuts_as_reference, structure_kept)
from shapecheck.exercises.text import Text

CLAIM = "ADD_PADS_OR_BROADCASTS"
CLAIM_WHAT = Text("True or False: does an add pad or broadcast mismatched channels?",
                  "True 或 False：加法会不会对不一致的通道补零或广播？")

EXPLAIN = Text(
    en="""Why the homework's stack() never fails: its first block projects. Your stack2, as
shapecheck traced it (main + shortcut):
{adds}
The identity block {identity} receives {identity_in}: filters * 2 channels at the size
the first block left, so its add matches exactly, as every later block's does.
When it would fail: when a block with conv_shortcut=False is the first to change the width or
the stride. That is the starter's stack2.0:
  {starter_finding}
What Keras itself says about the same add, written channels-last ({keras_shapes}):
  {keras_says}
{keras_when}
Why "Add zero-pads or broadcasts" is false: an add never pads, and broadcasting only stretches
a dimension of size 1. Adding the starter's two operands in PyTorch:
  {starter_shapes}: {starter_add}
A 128-channel map plus a 256-channel map:
  1x128x8x8 + 1x256x8x8: {add_128_256}
Only a size-1 dimension stretches:
  1x1x8x8 + 1x256x8x8 {add_1_256}
(which is how a map shrunk to 1x1 can hide a missing stride: exercise 5).""",
    zh="""作业代码的 stack() 为什么从不报错？因为它的第一个块做了投影。shapecheck 追踪到的你的
stack2（主分支 + 捷径）：
{adds}
恒等块 {identity} 收到的是 {identity_in}：filters * 2 个通道，尺寸与第一个块输出的相同，
所以它的加法两侧完全一致，后面每个块也都如此。
什么时候会出错？当某个 conv_shortcut=False 的块最先改变通道数或步幅时。起始文件里的
stack2.0 正是如此：
  {starter_finding}
Keras 本身对同一个加法（通道在后：{keras_shapes}）的说法：
  {keras_says}
{keras_when}
为什么“Add 会补零或广播”是错的？加法从不补零，广播也只会拉伸大小为 1 的维度。在 PyTorch
中把起始文件的两个操作数相加：
  {starter_shapes}：{starter_add}
128 通道加 256 通道：
  1x128x8x8 + 1x256x8x8：{add_128_256}
只有大小为 1 的维度才会被拉伸：
  1x1x8x8 + 1x256x8x8 {add_1_256}
（这也说明了为什么缩到 1x1 的特征图能掩盖缺失的步幅，见练习 5。）""")


KERAS_RAISES = Text(
    "Keras raises this when the model is built, at the first mismatched Add() only, naming "
    "neither the layer nor your line; shapecheck reports every mismatch in one run, each with "
    "its layer, its line and both shapes.",
    "Keras 在构建模型时就会报这个错，而且只报第一个不匹配的 Add()，既不给出层名，也不给出你的"
    "代码行；shapecheck 一次运行就报告所有不匹配，每个都附上层、代码行和两侧形状。")
KERAS_BUILDS = Text("Keras builds this add without an error, broadcasting it to {output}: "
                    "the same silent size-1 broadcast.",
                    "Keras 构建这个加法时没有报错，而是把它广播成 {output}：同样是悄无声息的"
                    "大小为 1 的广播。")
KERAS_MISSING = Text("(Keras is not installed here: pip install 'shapecheck[keras]' to see "
                     "its own message)",
                     "（此处未安装 Keras：pip install 'shapecheck[keras]' 后可看到它自己的报错）")


def channels_last(shape: tuple[int, ...]) -> tuple[int, ...]:
    """(N, C, H, W) -> (N, H, W, C), the layout a Keras user writes.

    >>> channels_last((1, 256, 8, 8))
    (1, 8, 8, 256)
    """
    return (shape[0],) + tuple(shape[2:]) + (shape[1],) if len(shape) > 2 else tuple(shape)


def keras_add(a: tuple[int, ...], b: tuple[int, ...]) -> tuple[Optional[str], Optional[tuple]]:
    """What real Keras says when `Add()` meets channels-last shapes `a` and `b` while a
    model is built: (its error message, None) or (None, the output shape); (None, None)
    without Keras."""
    try:
        from shapecheck.keras.backend import import_keras
        keras = import_keras()
    except Exception:  # Keras missing or on another backend: nothing real to show
        return None, None
    try:
        out = keras.layers.Add()([keras.Input(batch_shape=a), keras.Input(batch_shape=b)])
    except ValueError as exc:
        return f"ValueError: {' '.join(str(exc).split())}", None
    return None, tuple(out.shape)


def keras_text(a: tuple[int, ...], b: tuple[int, ...], lang: str) -> tuple[str, str]:
    """(what Keras says, what that means) for a channels-last add, in `lang`."""
    message, output = keras_add(a, b)
    if message is not None:
        return message, KERAS_RAISES(lang)
    if output is not None:
        return KERAS_BUILDS(lang, output=d.shape(output)), ""
    return KERAS_MISSING(lang), ""


def _adds_raise(attempt: Attempt) -> bool:
    """Whether the starter's mismatched operands really fail to add (computed by torch)."""
    finding = d.first_error(attempt.starter().report)
    main, short = finding.shapes
    try:
        torch.zeros(main) + torch.zeros(short)
    except RuntimeError:
        return True
    return False


def claim_criterion(attempt: Attempt) -> list[str]:
    # The claim holds exactly when the starter's bad add goes through; torch decides.
    return answer_problem(attempt, CLAIM, not _adds_raise(attempt), CLAIM_WHAT(attempt.lang),
                          same=lambda given, truth: isinstance(given, bool) and given == truth)


def explain(attempt: Attempt) -> str:
    lang = attempt.lang
    stack2 = [a for a in attempt.report.residual_adds if a.module.startswith("stack2.")]
    identity = next(a for a in stack2 if a.shortcut == "identity")
    starter_finding = d.first_error(attempt.starter().report)
    main, short = starter_finding.shapes
    keras_shapes = (channels_last(main), channels_last(short))
    keras_says, keras_when = keras_text(*keras_shapes, lang)
    return EXPLAIN(
        lang,
        adds="\n".join("  " + d.add_line(a, lang) for a in stack2),
        identity=identity.module,
        identity_in=d.shape(attempt.block(identity.module).input_shape),
        starter_finding=d.finding_sentence(starter_finding, lang),
        starter_shapes=f"{d.shape(main)} + {d.shape(short)}",
        starter_add=runtime_error_text(main, short),
        keras_shapes=" + ".join(d.shape(s) for s in keras_shapes),
        keras_says=keras_says, keras_when=keras_when,
        add_128_256=runtime_error_text((1, 128, 8, 8), (1, 256, 8, 8)),
        add_1_256=runtime_error_text((1, 1, 8, 8), (1, 256, 8, 8)),
    )


EXERCISE = Exercise(
    number=2,
    slug="keras-shortcut",
    title=Text("The Keras conv_shortcut=False question", "Keras 的 conv_shortcut=False 之问"),
    source=Text("the 365天深度学习训练营 (365-day deep-learning boot camp) J6/J7 ResNeXt homework and its two answer pages: ResNeXt block() and stack()",
                "365天深度学习训练营 J6/J7 的 ResNeXt 作业及其两篇解答：ResNeXt 的 block() 与 stack()"),
    question=Text(
        en="In the homework's ResNeXt unit, with conv_shortcut=False the shortcut is the input "
           "itself, and the homework asks why x = Add()([x, shortcut]) raises no error. The "
           "first answer page says Add zero-pads or broadcasts the smaller tensor, and the starter's "
           "stack_simplified() was written on that belief. Make the network work as the "
           "homework's stack() does (keep the identity shortcut wherever it is correct), and set "
           "ADD_PADS_OR_BROADCASTS to True or False. Once solved, the explanation shows why "
           "stack() never fails, when conv_shortcut=False does fail, and what Add really does.",
        zh="在作业代码的 ResNeXt 单元里，conv_shortcut=False 时捷径（shortcut，原文也称“快捷连接”或“短路连接”）就是输入本身。作业问："
           "x = Add()([x, shortcut]) 为什么不报错？第一篇解答说 Add 会自动补零或广播较小的张量，"
           "起始文件中的 stack_simplified() 就是照这个说法写的。请让网络像作业代码的 stack() "
           "那样工作（恒等捷径正确的地方要保留），并把 ADD_PADS_OR_BROADCASTS 设为 True 或 "
           "False。通过后的讲解会说明：stack() 为什么从不出错，conv_shortcut=False 何时会出错，"
           "以及 Add 实际上做了什么。"),
    hints=(
        Text("Check the starter: which add fails, and which two shapes does it meet? Could any "
             "padding or broadcasting make those shapes agree?",
             "先检查起始文件：哪个加法出错？它两侧的形状分别是什么？补零或广播能让它们一致吗？"),
        Text("Compare stack() and stack_simplified(): only the first block differs. What does "
             "the first block's projection give every later block of the stack?",
             "对比 stack() 与 stack_simplified()：只有第一个块不同。第一个块的投影给同一 stack "
             "里后面的块带来了什么？"),
        Text("Build stack2 with stack(64, 64, 1, strides=2, groups=8) and set "
             "ADD_PADS_OR_BROADCASTS = False.",
             "用 stack(64, 64, 1, strides=2, groups=8) 构建 stack2，并设 "
             "ADD_PADS_OR_BROADCASTS = False。"),
    ),
    # stack2.0 gains its projection; every other layer and every other shortcut (the
    # identities the seed got right included) stays as the starter has it
    criteria=(same_blocks_as_reference, structure_kept({"stack2.0.shortcut*": None}),
              shortcuts_as_reference(), plain_shortcuts(), constants_kept("INPUT_SHAPE"),
              claim_criterion),
    explain=explain,
)
