"""Exercise 7: a cardinality that does not divide the bottleneck width (constructor error)."""

from __future__ import annotations

from shapecheck.exercises import describe as d
from shapecheck.exercises.catalog import Exercise
from shapecheck.exercises.grading import Attempt
from shapecheck.exercises.describe import shown_location
from shapecheck.exercises.items.common import (conv_groups_are, conv_params, grouped_convs,
                                               same_blocks_as_reference)
from shapecheck.exercises.items.properties import (constants_kept, plain_shortcuts,
                                                   shortcuts_as_reference, structure_kept)
from shapecheck.exercises.text import Text

CARDINALITY, GROUP_WIDTH = 32, 4  # the exercise asks for ResNeXt's 32x4d template

EXPLAIN = Text(
    en="""The starter cannot even be built; shapecheck reports:
  {starter_error}
A grouped conv cuts its input channels into `groups` equal slices, one per path: {bad_width}
channels into {cardinality} paths would be {slice} channels each, so nn.Conv2d refuses.
Your grouped convs, as shapecheck counts their parameters (NodeInfo.params):
{convs}
Each path sees {group_width} input channels and makes {group_width} output channels with
3x3 kernels: {cardinality} x 3 x 3 x {group_width} x {group_width} = {formula} weights,
{ratio}x fewer than a dense 3x3 conv of the same width ({dense}). ResNeXt therefore states the
width as cardinality x group width ("32x4d"), never as a fraction of the channels.""",
    zh="""起始文件连模型都构建不了；shapecheck 给出的错误：
  {starter_error}
分组卷积把输入通道切成 `groups` 个相等的部分，每条路径一份：{bad_width} 个通道分给
{cardinality} 条路径，每条要分到 {slice} 个通道，所以 nn.Conv2d 拒绝构建。
你的分组卷积，以及 shapecheck 统计的参数量（NodeInfo.params）：
{convs}
每条路径输入 {group_width} 个通道、输出 {group_width} 个通道，卷积核为 3x3，共
{cardinality} x 3 x 3 x {group_width} x {group_width} = {formula} 个权重，是同宽度普通 3x3
卷积（{dense}）的 1/{ratio}。所以 ResNeXt 总是把宽度写成“基数 x 每组宽度”（“32x4d”），
而不是通道数的某个比例。""")


def explain(attempt: Attempt) -> str:
    lang, report = attempt.lang, attempt.report
    starter = attempt.starter()
    error = starter.report.error
    bad_width = starter.module.INPUT_SHAPE[1] // 2  # the starter's width = channels // 2
    convs = grouped_convs(report)
    params = "参数 {n}" if lang == "zh" else "{n} params"
    lines = [f"  {path}: Conv2d({c.in_channels}, {c.out_channels}, 3, groups={c.groups}), "
             + params.format(n=d.number(conv_params(report, path))) for path, c in convs]
    conv = convs[0][1]
    width = conv.in_channels // conv.groups
    formula = conv.groups * 9 * width * (conv.out_channels // conv.groups)
    dense = 9 * conv.in_channels * conv.out_channels
    where = f" ({shown_location(error.location)})" if error.location else ""
    return EXPLAIN(
        lang, starter_error=error.message + where, bad_width=bad_width,
        cardinality=conv.groups, slice=bad_width / conv.groups, convs="\n".join(lines),
        group_width=width, formula=d.number(formula), ratio=dense // formula,
        dense=d.number(dense))


EXERCISE = Exercise(
    number=7,
    slug="cardinality",
    title=Text("A cardinality that does not divide the width", "无法整除宽度的基数"),
    source=Text("the article ResNeXt与分组卷积 (ResNeXt and grouped convolution): D = cardinality x group width",
                "《ResNeXt与分组卷积》一文：D = 基数 x 每组宽度"),
    question=Text(
        en="The starter's ResNeXt blocks take width = channels // 2 and split their 3x3 conv "
           "into CARDINALITY = 32 groups. The file cannot even build the model: run the "
           "checker and read the error with its line. Then build both blocks the ResNeXt way, "
           "32 paths of 4 channels each (32x4d), so that the width always divides into whole "
           "paths.",
        zh="起始文件中的 ResNeXt 块取 width = channels // 2，并把 3x3 卷积分成 CARDINALITY = 32 "
           "组。这个文件连模型都构建不了：运行判分程序，读一读错误信息及其所在行。然后按 ResNeXt "
           "的方式构建两个块：32 条路径，每条 4 个通道（32x4d），使宽度总能分成整数条路径。"),
    hints=(
        Text("The error comes from nn.Conv2d's constructor: which number must divide which?",
             "错误来自 nn.Conv2d 的构造函数：哪个数必须能被哪个数整除？"),
        Text("With 96 input channels, channels // 2 = 48 channels cannot be split into 32 "
             "equal groups. ResNeXt fixes the group width d instead and derives the width.",
             "输入为 96 个通道时，channels // 2 = 48 个通道无法平均分成 32 组。ResNeXt 的做法"
             "是固定每组宽度 d，再由它推出总宽度。"),
        Text("width = CARDINALITY * 4 (= 128): ResNeXtBlock(channels, CARDINALITY, width=128).",
             "取 width = CARDINALITY * 4（即 128），也就是 ResNeXtBlock(channels, CARDINALITY, "
             "width=128)。"),
    ),
    # the starter cannot be built, so the layers are compared with the reference's: the
    # blocks keep their adds and widths, only the 32x4d bottleneck is new; the input and the
    # cardinality are the question's, not the learner's to change
    criteria=(constants_kept("INPUT_SHAPE", "CARDINALITY"), same_blocks_as_reference,
              shortcuts_as_reference(), plain_shortcuts(), structure_kept(against="reference"),
              conv_groups_are(CARDINALITY, GROUP_WIDTH)),
    explain=explain,
)
