"""Exercise 9: bottleneck arithmetic, reproduced from the tool's per-block parameter counts."""

from __future__ import annotations

from torch import nn

from shapecheck.exercises import describe as d
from shapecheck.exercises.catalog import Exercise
from shapecheck.exercises.grading import Attempt, answer_problem
from shapecheck.exercises.grading import Problem
from shapecheck.exercises.items.common import same_blocks_as_reference
from shapecheck.exercises.items.properties import (constants_kept, plain_shortcuts,
                                                   shortcuts_as_reference, structure_kept)
from shapecheck.exercises.text import Text

BLOCKS = ("basic", "bottleneck")
ANSWERS = {"basic": "BASIC_PARAMS", "bottleneck": "BOTTLENECK_PARAMS"}
ANSWER_WHAT = Text("the parameters of the block `{block}` (Report.blocks[{index}].params)",
                   "块 `{block}` 的参数量（Report.blocks[{index}].params）")
NOT_BOTTLENECK = Text("the block `bottleneck` has {mine} parameters; a 256 -> 64 -> 64 -> 256 "
                      "bottleneck has {want}",
                      "块 `bottleneck` 有 {mine} 个参数；256 -> 64 -> 64 -> 256 的瓶颈块应有 {want} 个")

EXPLAIN = Text(
    en="""shapecheck's per-block counts (Report.blocks[i].params), next to the arithmetic done on
the layers of your model:
  basic:      {basic_terms} = {basic_sum}   Report: {basic}
  bottleneck: {bottle_terms} = {bottle_sum}   Report: {bottle}
The bottleneck has {ratio}x fewer parameters, the page's 16.9x. Multiply-accumulates for the
{size} map (Report.blocks[i].macs): {basic_macs} vs {bottle_macs}, the same {mac_ratio}x,
since every conv here keeps the spatial size. The 3x3 conv, whose cost grows with the square
of its width, now works at 64 channels; the two 1x1 convs that move between 256 and 64
channels are cheap. That is why ResNet-50 and deeper use bottlenecks.""",
    zh="""shapecheck 给出的逐块参数量（Report.blocks[i].params），以及按你模型中各层算出的结果：
  basic:      {basic_terms} = {basic_sum}   Report：{basic}
  bottleneck: {bottle_terms} = {bottle_sum}   Report：{bottle}
瓶颈块的参数少了 {ratio} 倍，正是页面所说的 16.9 倍。在 {size} 的特征图上，乘加次数
（Report.blocks[i].macs）为 {basic_macs} 对 {bottle_macs}，同样是 {mac_ratio} 倍，因为这里每个
卷积都保持空间尺寸不变。代价随宽度平方增长的 3x3 卷积现在只在 64 个通道上计算；在 256 与
64 个通道之间转换的两个 1x1 卷积则很便宜。这就是 ResNet-50 及更深的网络采用瓶颈结构的原因。""")


def _terms(model: nn.Module, block: str) -> tuple[str, int]:
    """'k*k*in*out + ...' for the convs of `block`, and their sum (read from the layers)."""
    convs = [m for m in model.get_submodule(block).modules() if isinstance(m, nn.Conv2d)]
    terms = [f"{c.kernel_size[0]}*{c.kernel_size[1]}*{c.in_channels}*{c.out_channels}"
             for c in convs]
    total = sum(c.kernel_size[0] * c.kernel_size[1] * c.in_channels * c.out_channels // c.groups
                for c in convs)
    return " + ".join(terms), total


def structure_criterion(attempt: Attempt) -> list[str]:
    mine = attempt.block("bottleneck")
    want = attempt.reference().block("bottleneck")
    if mine is not None and mine.params != want.params:
        return [Problem(NOT_BOTTLENECK(attempt.lang, mine=d.number(mine.params),
                                       want=d.number(want.params)),
                        "params.block", module="bottleneck")]
    return []


def answers_criterion(attempt: Attempt) -> list[str]:
    problems = []
    for index, block in enumerate(attempt.report.blocks):
        if block.module in ANSWERS:
            what = ANSWER_WHAT(attempt.lang, block=block.module, index=index)
            problems += answer_problem(attempt, ANSWERS[block.module], block.params, what)
    return problems


def explain(attempt: Attempt) -> str:
    report = attempt.report
    basic, bottle = attempt.block("basic"), attempt.block("bottleneck")
    basic_terms, basic_sum = _terms(report.model, "basic")
    bottle_terms, bottle_sum = _terms(report.model, "bottleneck")
    return EXPLAIN(
        attempt.lang, basic_terms=basic_terms, basic_sum=d.number(basic_sum),
        basic=d.number(basic.params), bottle_terms=bottle_terms,
        bottle_sum=d.number(bottle_sum), bottle=d.number(bottle.params),
        ratio=f"{basic.params / bottle.params:.1f}", size=d.shape(basic.input_shape),
        basic_macs=d.number(basic.macs), bottle_macs=d.number(bottle.macs),
        mac_ratio=f"{basic.macs / bottle.macs:.1f}")


EXERCISE = Exercise(
    number=9,
    slug="bottleneck-params",
    title=Text("Bottleneck arithmetic: 1,179,648 vs 69,632", "瓶颈结构的算术：1,179,648 对 69,632"),
    source=Text("the interview page 【CV面试必会】深度学习网络之Resnet (CV interview essentials: ResNet): why ResNet-50 uses bottlenecks",
                "面试页面《【CV面试必会】深度学习网络之Resnet》：ResNet-50 为什么用瓶颈结构"),
    question=Text(
        en="The page claims that two 3x3 convs at 256 channels have 3*3*256*256*2 = 1,179,648 "
           "weights and the bottleneck 1x1 (256->64), 3x3 (64->64), 1x1 (64->256) has "
           "3*3*64*64 + 1*1*256*64*2 = 69,632, about 16.9x fewer. The starter's Bottleneck "
           "does not run; fix it so that it is exactly that bottleneck. Then compute both "
           "counts yourself and write them into BASIC_PARAMS and BOTTLENECK_PARAMS: the "
           "checker compares them with shapecheck's per-block counts (Report.blocks[i].params).",
        zh="页面称：256 通道的两个 3x3 卷积有 3*3*256*256*2 = 1,179,648 个权重，而瓶颈结构 "
           "1x1（256->64）、3x3（64->64）、1x1（64->256）只有 3*3*64*64 + 1*1*256*64*2 = "
           "69,632 个，约少 16.9 倍。起始文件中的 Bottleneck 无法运行；请把它修正为恰好是这个"
           "瓶颈块。然后自己算出两个参数量，填入 BASIC_PARAMS 和 BOTTLENECK_PARAMS：判分程序会"
           "把它们与 shapecheck 的逐块参数量（Report.blocks[i].params）比较。"),
    hints=(
        Text("The finding's shapes say which channel count the main branch ends with. What "
             "must the last 1x1 conv produce for the identity shortcut to fit?",
             "诊断中的形状说明了主分支最后输出多少个通道。要与恒等捷径相加，最后一个 1x1 卷积"
             "应当输出多少个通道？"),
        Text("A conv has kernel_h * kernel_w * in_channels * out_channels weights (no bias "
             "here, and BatchNorm with affine=False has no parameters).",
             "一个卷积有 kernel_h * kernel_w * in_channels * out_channels 个权重（这里没有偏置，"
             "affine=False 的 BatchNorm 也没有参数）。"),
        Text("self.expand = conv(reduced, channels, 1) with norm(channels); then "
             "BASIC_PARAMS = 3*3*256*256*2 and BOTTLENECK_PARAMS = 256*64 + 3*3*64*64 + 64*256.",
             "self.expand = conv(reduced, channels, 1)，并配 norm(channels)；然后 "
             "BASIC_PARAMS = 3*3*256*256*2，BOTTLENECK_PARAMS = 256*64 + 3*3*64*64 + 64*256。"),
    ),
    # the fix is in the main branch: the expand conv (and its BN) go back to 256 channels;
    # a projection on the shortcut (shapecheck's own suggestion) is not the bottleneck asked for
    criteria=(same_blocks_as_reference,
              structure_kept({"bottleneck.expand": ("out_channels",),
                              "bottleneck.bn3": ("num_features",)}),
              shortcuts_as_reference(), plain_shortcuts(), constants_kept("INPUT_SHAPE"),
              structure_criterion, answers_criterion),
    explain=explain,
)
