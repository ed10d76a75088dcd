"""Exercise 10: a grouped convolution's g-fold saving, read from Block.params and Block.macs."""

from __future__ import annotations

import torch
from torch import nn

import shapecheck
from shapecheck.exercises import describe as d
from shapecheck.exercises.catalog import Exercise
from shapecheck.exercises.grading import Attempt, answer_problem, close_to
from shapecheck.exercises.items.common import conv_groups_are, same_blocks_as_reference
from shapecheck.exercises.items.properties import (constants_kept, plain_shortcuts,
                                                   shortcuts_as_reference, structure_kept)
from shapecheck.exercises.text import Text

GROUPS = 32  # ResNeXt's cardinality, as the exercise asks
UNIT = "unit"
ANSWER_WHAT = Text("{what} of the starter's dense block divided by yours "
                   "(Report.blocks[0].{field})",
                   "起始文件普通卷积块的{what}除以你的（Report.blocks[0].{field}）")
WHAT = {"params": Text("parameters", "参数量"), "macs": Text("multiply-accumulates", "乘加次数")}

EXPLAIN = Text(
    en="""shapecheck's counts for the residual unit (Report.blocks[0]):
  dense (starter):  {dense_params} params, {dense_macs} MACs
  {groups} groups (yours): {params} params, {macs} MACs
  saving:           {param_ratio}x params, {mac_ratio}x MACs
Each group maps {width} channels to {width}: {groups} x {width} x {width} x 3 x 3 =
{formula} weights instead of {channels} x {channels} x 3 x 3, and every output pixel costs
as many multiply-accumulates, so both shrink by exactly g.
In a whole ResNeXt bottleneck only the 3x3 conv is grouped; the 1x1 convs are not. shapecheck
on a 256 -> 128 -> 128 -> 256 bottleneck at 28x28: dense 3x3 {b_dense} params, grouped
{b_grouped}, a saving of {b_ratio}x only. That is how ResNeXt affords 32 paths for about the
parameters of one ResNet bottleneck.""",
    zh="""shapecheck 对这个残差单元的统计（Report.blocks[0]）：
  普通卷积（起始文件）：{dense_params} 个参数，{dense_macs} 次乘加
  {groups} 组（你的）：{params} 个参数，{macs} 次乘加
  节省：参数 {param_ratio} 倍，乘加 {mac_ratio} 倍
每组把 {width} 个通道映射为 {width} 个：{groups} x {width} x {width} x 3 x 3 = {formula}
个权重，而不是 {channels} x {channels} x 3 x 3；每个输出像素的乘加次数也按同样比例减少，所以两者
都恰好减少 g 倍。
在完整的 ResNeXt 瓶颈块中，只有 3x3 卷积是分组的，1x1 卷积不分组。shapecheck 对
256 -> 128 -> 128 -> 256、28x28 的瓶颈块的统计：普通 3x3 为 {b_dense} 个参数，分组后为
{b_grouped} 个，只节省了 {b_ratio} 倍。ResNeXt 正是这样，用大约一个 ResNet 瓶颈块的参数
换来了 32 条路径。""")


class _Bottleneck(nn.Module):
    """1x1 (256->128), 3x3 with `groups`, 1x1 (128->256), identity shortcut."""

    def __init__(self, groups: int) -> None:
        super().__init__()
        self.reduce = nn.Conv2d(256, 128, 1, bias=False)
        self.conv = nn.Conv2d(128, 128, 3, padding=1, groups=groups, bias=False)
        self.expand = nn.Conv2d(128, 256, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.expand(torch.relu(self.conv(torch.relu(self.reduce(x)))))


def _bottleneck_params(groups: int) -> int:
    with torch.device("meta"):
        model = _Bottleneck(groups)
    return shapecheck.check(model, (1, 256, 28, 28)).blocks[0].params


def _ratio(attempt: Attempt, field: str) -> float:
    dense = getattr(attempt.starter().block(UNIT), field)
    return dense / getattr(attempt.block(UNIT), field)


def answers_criterion(attempt: Attempt) -> list[str]:
    if attempt.block(UNIT) is None:
        return []  # no residual unit left to measure: same_blocks_as_reference says so
    problems = []
    for name, field in (("PARAM_SAVING", "params"), ("MAC_SAVING", "macs")):
        what = ANSWER_WHAT(attempt.lang, what=WHAT[field](attempt.lang), field=field)
        problems += answer_problem(attempt, name, _ratio(attempt, field), what, same=close_to(0.01))
    return problems


def explain(attempt: Attempt) -> str:
    dense, mine = attempt.starter().block(UNIT), attempt.block(UNIT)
    conv = attempt.layer(f"{UNIT}.conv")
    width = conv.in_channels // conv.groups
    b_dense, b_grouped = _bottleneck_params(1), _bottleneck_params(GROUPS)
    return EXPLAIN(
        attempt.lang, dense_params=d.number(dense.params), dense_macs=d.number(dense.macs),
        params=d.number(mine.params), macs=d.number(mine.macs), groups=conv.groups,
        param_ratio=f"{dense.params / mine.params:g}", mac_ratio=f"{dense.macs / mine.macs:g}",
        width=width, formula=d.number(conv.groups * width * width * 9),
        channels=conv.in_channels, b_dense=d.number(b_dense), b_grouped=d.number(b_grouped),
        b_ratio=f"{b_dense / b_grouped:.1f}")


EXERCISE = Exercise(
    number=10,
    slug="grouped-saving",
    title=Text("What grouped convolution saves", "分组卷积节省了什么"),
    source=Text("the article ResNeXt与分组卷积 (ResNeXt and grouped convolution) and d2l.ai section 8.6: grouped convolution costs O(c_i * c_o / g)",
                "《ResNeXt与分组卷积》一文与 d2l.ai 第 8.6 节：分组卷积的代价为 O(c_i * c_o / g)"),
    question=Text(
        en="d2l says a conv from c_i to c_o channels in g groups costs O(c_i * c_o / g) and "
           "has g times fewer parameters than the dense one. Make the starter's 3x3 conv a "
           "grouped conv with GROUPS = 32, and set PARAM_SAVING and MAC_SAVING to how many "
           "times fewer parameters and multiply-accumulates your residual unit has than the "
           "starter's dense one. The checker measures both with shapecheck (Report.blocks[0]."
           "params and .macs).",
        zh="d2l 说：从 c_i 到 c_o 个通道、分成 g 组的卷积，计算量为 O(c_i * c_o / g)，参数量是"
           "普通卷积的 1/g。请把起始文件中的 3x3 卷积改为 GROUPS = 32 的分组卷积，并把 "
           "PARAM_SAVING 和 MAC_SAVING 设为：与起始文件的普通卷积单元相比，你的残差单元的参数量"
           "和乘加次数分别少了几倍。判分程序用 shapecheck 测量这两个数（Report.blocks[0].params "
           "和 .macs）。"),
    hints=(
        Text("How many input channels does each group of a 32-group conv at 128 channels see, "
             "and how many outputs does it make?",
             "128 通道、分成 32 组的卷积，每组看到多少个输入通道、产生多少个输出通道？"),
        Text("Count the weights: g groups of (c/g) x (c/g) x 3 x 3. Each weight is used once "
             "per output pixel.",
             "数一数权重：g 组，每组 (c/g) x (c/g) x 3 x 3。每个权重在每个输出像素上用一次。"),
        Text("GROUPS = 32; both savings are 32.", "GROUPS = 32；两个节省倍数都是 32。"),
    ),
    criteria=(same_blocks_as_reference, structure_kept({"unit.conv": ("groups",)}),
              shortcuts_as_reference(), plain_shortcuts(), constants_kept("INPUT_SHAPE"),
              conv_groups_are(GROUPS), answers_criterion),
    explain=explain,
)
