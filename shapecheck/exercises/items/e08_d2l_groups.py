"""Exercise 8: d2l's `groups` argument is the group width (d2l.ai section 8.6)."""

from __future__ import annotations

from shapecheck.exercises import describe as d
from shapecheck.exercises.catalog import Exercise
from shapecheck.exercises.grading import Attempt
from shapecheck.exercises.items.common import (conv_groups_are, conv_params, grouped_convs,
                                               same_blocks_as_reference)
from shapecheck.exercises.items.properties import (code_kept, constants_kept, plain_shortcuts,
                                                   shortcuts_as_reference, structure_kept)
from shapecheck.exercises.text import Text

CARDINALITY = 32  # the number of paths the exercise asks for

EXPLAIN = Text(
    en="""d2l builds conv2 with groups=bot_channels // groups: its argument is the width of one
group. The starter passed 32 and got, according to shapecheck's Report:
{starter_convs}
Yours:
{convs}
Both versions run and keep every shape ({shape} -> {out}): shapecheck reports no error for
either, because a wrong number of groups is not a shape bug. The parameter count shows it, as
a grouped 3x3 conv has in x out x 9 / groups weights (plus a bias): the starter's {few} groups
cost {ratio}x the parameters of your {many}.""",
    zh="""d2l 构建 conv2 时用的是 groups=bot_channels // groups：这个参数表示每组的宽度。起始
文件传了 32，按 shapecheck 的 Report，得到的是：
{starter_convs}
你的：
{convs}
两个版本都能运行，形状也都保持不变（{shape} -> {out}）：shapecheck 对两者都不报错，因为组数
不对并不是形状错误。参数量却暴露了问题，因为分组 3x3 卷积的权重数为“输入 x 输出 x 9 / 组数”
（另加偏置）：起始文件的 {few} 组所用参数是你的 {many} 组的 {ratio} 倍。""")


def _conv_lines(report, lang) -> list[str]:
    return [f"  {path}: {c.in_channels} channels in {c.groups} groups of "
            f"{c.in_channels // c.groups}, {d.number(conv_params(report, path))} params"
            if lang != "zh" else
            f"  {path}：{c.in_channels} 个通道分成 {c.groups} 组，每组 {c.in_channels // c.groups} "
            f"个，参数 {d.number(conv_params(report, path))}"
            for path, c in grouped_convs(report)]


def explain(attempt: Attempt) -> str:
    lang, report = attempt.lang, attempt.report
    starter = attempt.starter().report
    mine, theirs = grouped_convs(report)[0], grouped_convs(starter)[0]
    return EXPLAIN(
        lang, starter_convs="\n".join(_conv_lines(starter, lang)),
        convs="\n".join(_conv_lines(report, lang)),
        shape=d.shapes(report.input_shapes), out=d.shapes(report.output_shapes),
        few=theirs[1].groups, many=mine[1].groups,
        ratio=round(conv_params(starter, theirs[0]) / conv_params(report, mine[0]), 1))


EXERCISE = Exercise(
    number=8,
    slug="d2l-groups",
    title=Text("d2l's groups argument is the group width", "d2l 的 groups 参数其实是每组宽度"),
    source=Text("d2l.ai section 8.6: ResNeXtBlock(num_channels, groups, bot_mul)",
                "d2l.ai 第 8.6 节：ResNeXtBlock(num_channels, groups, bot_mul)"),
    question=Text(
        en="d2l's ResNeXtBlock(num_channels, groups, bot_mul) gives its 3x3 conv "
           "groups=bot_channels // groups. The author wanted blocks of 128 channels with a "
           "64-channel bottleneck split into CARDINALITY = 32 paths, and passed groups=32. "
           "The model runs and shapecheck finds no shape error. How many paths does each 3x3 "
           "conv really have? Make both blocks have 32 paths (of 2 channels), without "
           "changing d2l's ResNeXtBlock class.",
        zh="d2l 的 ResNeXtBlock(num_channels, groups, bot_mul) 给 3x3 卷积传的是 "
           "groups=bot_channels // groups。作者想要 128 通道的块，瓶颈 64 个通道分成 "
           "CARDINALITY = 32 条路径，于是传了 groups=32。模型能运行，shapecheck 也没有发现形状"
           "错误。每个 3x3 卷积实际有几条路径？请在不修改 d2l 的 ResNeXtBlock 类的前提下，让两个"
           "块都有 32 条路径（每条 2 个通道）。"),
    hints=(
        Text("Compute bot_channels // groups for the starter's arguments: 128 * 0.5 = 64 "
             "bottleneck channels, groups=32.",
             "用起始文件的参数算一算 bot_channels // groups：瓶颈 128 * 0.5 = 64 个通道，"
             "groups=32。"),
        Text("In d2l, `groups` is how many channels each path has. Which value gives 64 // "
             "value = 32?",
             "在 d2l 中，`groups` 表示每条路径有几个通道。传入什么值才能使 64 // 该值 = 32？"),
        Text("Pass groups = bot_channels // CARDINALITY = 2, e.g. through a helper "
             "resnext_block(num_channels, cardinality, bot_mul).",
             "传入 groups = bot_channels // CARDINALITY = 2，例如写一个辅助函数 "
             "resnext_block(num_channels, cardinality, bot_mul)。"),
    ),
    # d2l's class stays as the book writes it; only the grouped convs' groups may change,
    # so the bottleneck keeps its 64 channels
    criteria=(code_kept("ResNeXtBlock"), constants_kept("CARDINALITY", "INPUT_SHAPE"),
              same_blocks_as_reference, structure_kept({"block?.conv2": ("groups",)}),
              shortcuts_as_reference(), plain_shortcuts(), conv_groups_are(CARDINALITY)),
    explain=explain,
)
