"""Exercise 14: a max-pool shortcut that runs at 224 and breaks at 240; one token fixes it."""

from __future__ import annotations

import torch
from torch import nn

from shapecheck.analysis.size_fix import valid_after
from shapecheck.analysis.size_sets import describe_sizes
from shapecheck.exercises import describe as d
from shapecheck.exercises.catalog import Exercise
from shapecheck.exercises.grading import Attempt, Problem
from shapecheck.exercises.items.common import passes_at, same_blocks_as_reference
from shapecheck.exercises.items.properties import (branch_ends_in_layer, constants_kept,
                                                   plain_shortcuts)
from shapecheck.exercises.text import Text

FINE_TUNE = (1, 3, 240, 240)

WEIGHTS_CHANGED = Text(
    "the model's weights are not the starter's any more ({what}): a pretrained checkpoint "
    "would no longer load. Round the shortcut differently instead of adding or resizing "
    "layers with weights",
    "模型的权重与起始文件不一致了（{what}）：预训练的检查点将无法再加载。请改变捷径的取整方式，"
    "而不是增加或改动带权重的层")
WEIGHT_ADDED = Text("{key} {shape} is new", "新增了 {key} {shape}")
WEIGHT_GONE = Text("{key} {shape} is gone", "缺少了 {key} {shape}")
WEIGHT_RESHAPED = Text("{key} is {mine} instead of {want}", "{key} 的形状是 {mine}，而不是 {want}")
STILL_DEPENDS = Text(
    "{module}: the residual add still fails at other input sizes: {message}",
    "{module}：这个残差相加在其他输入尺寸下仍会出错：{message}")

EXPLAIN = Text(
    en="""A stride-2 3x3 conv with padding 1 gives floor((n - 1) / 2) + 1 = ceil(n / 2); a 2x2 max
pool gives floor(n / 2). Measured with torch on a 15x15 map: conv -> {conv15}, MaxPool2d(2)
-> {pool15}, MaxPool2d(2, ceil_mode=True) -> {ceil15}. At 224 the stem and the blocks see
112, 56, 28, 14: all even, so both branches agree. At 240 the last block sees 15:
  {at240}
shapecheck's proof over every input size: the starter is valid for {before}; your model
is valid for {after}. `ceil_mode=True` adds no weight: the state dict keeps its {keys}
tensors, so the pretrained checkpoint still loads.""",
    zh="""步幅 2、填充 1 的 3x3 卷积给出 floor((n - 1) / 2) + 1 = ceil(n / 2)；2x2 最大池化给出
floor(n / 2)。用 torch 在 15x15 的特征图上实测：卷积 -> {conv15}，MaxPool2d(2) -> {pool15}，
MaxPool2d(2, ceil_mode=True) -> {ceil15}。在 224 下，主干和各块看到的是 112、56、28、14：
都是偶数，两条分支一致。在 240 下，最后一个块看到的是 15：
  {at240}
shapecheck 对所有输入尺寸的证明：起始文件在 {before} 时有效；你的模型在 {after} 时有效。
`ceil_mode=True` 不增加任何权重：state dict 仍是原来的 {keys} 个张量，预训练的检查点仍能加载。""")


def _weights(model: nn.Module) -> dict[str, tuple]:
    return {key: tuple(value.shape) for key, value in model.state_dict().items()}


def weights_kept(attempt: Attempt) -> list[Problem]:
    """The state dict has the starter's keys, each with the starter's shape."""
    mine, want = _weights(attempt.build()), _weights(attempt.starter().build())
    lang = attempt.lang
    changes = [(k, WEIGHT_ADDED(lang, key=k, shape=d.shape(mine[k])))
               for k in mine if k not in want]
    changes += [(k, WEIGHT_GONE(lang, key=k, shape=d.shape(want[k])))
                for k in want if k not in mine]
    changes += [(k, WEIGHT_RESHAPED(lang, key=k, mine=d.shape(mine[k]), want=d.shape(want[k])))
                for k in want if k in mine and mine[k] != want[k]]
    if not changes:
        return []
    what = d.sep(lang).join(sentence for _, sentence in changes[:3])
    return [Problem(WEIGHTS_CHANGED(lang, what=what), "weights.changed",
                    module=changes[0][0].rsplit(".", 1)[0])]


def valid_everywhere(attempt: Attempt) -> list[Problem]:
    """No residual add that works at the example size fails at another (no SC105)."""
    return [Problem(STILL_DEPENDS(attempt.lang, module=f.module, message=f.message),
                    "sizes.resolution_dependent", module=f.module, shapes=f.shapes)
            for f in attempt.report.findings if f.kind == "resolution_dependent"]


def _size_of(module: nn.Module, n: int) -> str:
    with torch.no_grad():
        return "x".join(map(str, module(torch.zeros(1, 1, n, n)).shape[2:]))


def _valid(model: nn.Module, shape) -> str:
    return describe_sizes(valid_after(model, shape)["H"]["valid"], "H")


def explain(attempt: Attempt) -> str:
    lang = attempt.lang
    starter = attempt.starter()
    broken = starter.analyse(inputs=[FINE_TUNE])
    shape = tuple(attempt.report.input_shapes[0])
    return EXPLAIN(
        lang, conv15=_size_of(nn.Conv2d(1, 1, 3, stride=2, padding=1), 15),
        pool15=_size_of(nn.MaxPool2d(2), 15), ceil15=_size_of(nn.MaxPool2d(2, ceil_mode=True), 15),
        at240=d.finding_sentence(d.first_error(broken), lang),
        before=_valid(starter.build(), shape), after=_valid(attempt.build(), shape),
        keys=len(_weights(attempt.build())))


EXERCISE = Exercise(
    number=14,
    slug="ceil-mode",
    title=Text("Fine-tuning at 240: a shortcut that rounds down", "在 240 下微调：向下取整的捷径"),
    source=Text("DLA / Res2Net-style max-pool shortcuts (`nn.MaxPool2d(stride, stride=stride)`)",
                "DLA / Res2Net 风格的最大池化捷径（`nn.MaxPool2d(stride, stride=stride)`）"),
    question=Text(
        en="The starter runs at its declared 224x224, and shapecheck reports no error there, "
           "only a warning. Fine-tuned at 240x240 it raises 'The size of tensor a (8) must "
           "match the size of tensor b (7)'. Run `shapecheck --sizes` on it: which block "
           "fails at 240, and for which sizes? Then make the network run at 240 (and at every "
           "size) without changing any weight: the state dict must keep every key and shape, "
           "so that the pretrained checkpoint still loads. The checker runs it at 224 and 240.",
        zh="起始文件在它声明的 224x224 下可以运行，shapecheck 在这里也没有报错，只给出一个警告。"
           "改用 240x240 微调时却报错 'The size of tensor a (8) must match the size of tensor "
           "b (7)'。对它运行 `shapecheck --sizes`：在 240 下是哪个块出错？在哪些尺寸下出错？"
           "然后让网络在 240（以及任何尺寸）下都能运行，且不改动任何权重：state dict 必须保留"
           "每个键和形状，预训练的检查点才能继续加载。判分时会在 224 和 240 下运行。"),
    hints=(
        Text("Follow the size at 240: 120, 60, 30, 15. What do a stride-2 3x3 conv (padding 1) "
             "and a 2x2 max pool make of 15?",
             "跟踪 240 下的尺寸：120、60、30、15。步幅为 2、填充为 1 的 3x3 卷积和 2x2 最大池化"
             "分别会把 15 变成多少？"),
        Text("A new 1x1 conv on the shortcut would fix the shapes but add weights the "
             "checkpoint does not have. The pool itself can round up.",
             "在捷径上新加 1x1 卷积虽然能让形状一致，却会增加检查点里没有的权重。池化本身就可以"
             "向上取整。"),
        Text("Read the SC105 warning's fix: nn.MaxPool2d(2, stride=2, ceil_mode=True).",
             "看看 SC105 警告给出的修复：nn.MaxPool2d(2, stride=2, ceil_mode=True)。"),
    ),
    # the blocks, the input and every weight stay the starter's; the shortcut stays made of
    # layers, both branches end in a layer (no interpolate or pad), and the model runs at 224
    # and 240, proved at every size
    criteria=(same_blocks_as_reference, constants_kept("INPUT_SHAPE"), plain_shortcuts(),
              branch_ends_in_layer(), weights_kept, passes_at((FINE_TUNE,)), valid_everywhere),
    explain=explain,
)
