"""Exercise 5: the tiny stride-2 identity block whose add broadcasts without an error."""

from __future__ import annotations

from shapecheck.exercises import describe as d
from shapecheck.exercises.catalog import Exercise
from shapecheck.exercises.grading import Attempt
from shapecheck.exercises.items.common import passes_at, same_blocks_as_reference
from shapecheck.exercises.items.e02_keras_shortcut import channels_last, keras_text
from shapecheck.exercises.items.properties import (constants_kept, plain_shortcuts,
                                                   shortcuts_as_reference, structure_kept)
from shapecheck.exercises.text import Text

BAD = "stack2.0"
LARGER = ((1, 3, 16, 16), (1, 3, 32, 32))

EXPLAIN = Text(
    en="""The starter's real run at {small} went through (output {starter_out}): in {bad} the
stride-2 main branch is {main} and the identity shortcut {short}; PyTorch broadcast the size-1
map over the other and raised nothing. Keras does the same with this add written
channels-last ({keras_shapes}):
  {keras_says}
shapecheck flags it anyway:
  {starter_finding}
At {larger} the same starter really raises:
  {starter_error}
Your {bad} now adds {mine_main} + {mine_short} through a {kind} shortcut, and shapecheck is
clean at every size checked:
{sizes}
A residual add that only works because a dimension happens to be 1 is a bug waiting for a
larger input; test at two sizes, or let shapecheck probe the second for you.""",
    zh="""起始文件在输入 {small} 时真实运行通过了（输出 {starter_out}）：在 {bad} 中，步幅为 2
的主分支是 {main}，恒等捷径是 {short}；PyTorch 把大小为 1 的特征图广播到了另一侧，没有报错。
Keras 对同一个加法（通道在后：{keras_shapes}）也是如此：
  {keras_says}
但 shapecheck 依然指出了问题：
  {starter_finding}
输入为 {larger} 时，同一个起始文件真的会报错：
  {starter_error}
你的 {bad} 现在通过{kind}捷径相加 {mine_main} + {mine_short}，在检查过的每个尺寸上
shapecheck 都没有报错：
{sizes}
只因某个维度恰好为 1 才能运行的残差相加，是一个等待更大输入才爆发的隐患；请至少用两个尺寸
测试，或者让 shapecheck 替你探测第二个尺寸。""")


def explain(attempt: Attempt) -> str:
    lang = attempt.lang
    starter = attempt.starter()
    finding = d.first_error(starter.report)
    big = starter.forward(inputs=[LARGER[0]])
    mine = attempt.add(BAD)
    keras_shapes = tuple(channels_last(s) for s in finding.shapes)
    keras_says, _ = keras_text(*keras_shapes, lang)
    sizes = []
    for shape in (tuple(attempt.report.input_shapes[0]),) + LARGER:
        add = attempt.add(BAD, attempt.analyse(inputs=[shape]))
        sizes.append(f"  {d.shape(shape)}: {d.add_line(add, lang)}")
    return EXPLAIN(
        lang, small=d.shapes(starter.report.input_shapes),
        starter_out=d.shapes(starter.run.output_shapes), bad=BAD,
        main=d.shape(finding.shapes[0]), short=d.shape(finding.shapes[1]),
        starter_finding=d.finding_sentence(finding, lang), larger=d.shape(LARGER[0]),
        starter_error=big.error or "-", mine_main=d.shape(mine.shapes[0]),
        mine_short=d.shape(mine.shapes[1]), kind=d.shortcut_kind(mine.shortcut, lang),
        sizes="\n".join(sizes), keras_shapes=" + ".join(d.shape(s) for s in keras_shapes),
        keras_says=keras_says)


EXERCISE = Exercise(
    number=5,
    slug="tiny-broadcast",
    title=Text("A stride-2 identity that broadcasts silently", "悄悄广播的步幅为 2 的恒等捷径"),
    source=Text("the 365天深度学习训练营 (365-day deep-learning boot camp) J6/J7 ResNeXt homework and its two answer pages: conv_shortcut=False on a block with a stride",
                "365天深度学习训练营 J6/J7 的 ResNeXt 作业及其两篇解答：带步幅的块使用 conv_shortcut=False"),
    question=Text(
        en="The starter runs without any error on its 1x3x8x8 input; try it. Yet shapecheck "
           "reports an error in stack2.0. Read the finding: why does PyTorch accept this add "
           "at 8x8, and what happens at 16x16? Fix the network so that it is correct at "
           "every input size (the checker also runs it at 16x16 and 32x32), keeping its "
           "widths and strides.",
        zh="起始文件在 1x3x8x8 的输入上运行不报任何错，不妨试一下。但 shapecheck 在 stack2.0 "
           "报告了一个错误。读一读这条诊断：PyTorch 为什么在 8x8 时接受这次相加？输入为 16x16 "
           "时会怎样？请修正网络，使它在任何输入尺寸下都正确（判分时还会在 16x16 和 32x32 下"
           "运行），通道数和步幅保持不变。"),
    hints=(
        Text("Which spatial size does stack2.0's main branch reach at 8x8 input, and what does "
             "broadcasting do with a dimension of size 1?",
             "输入为 8x8 时，stack2.0 的主分支尺寸是多少？广播会如何处理大小为 1 的维度？"),
        Text("Equal widths are not enough: the shortcut must also follow the block's stride.",
             "通道数相同还不够：捷径还必须跟上这个块的步幅。"),
        Text("Give the stride-2 block its projection: conv_shortcut=True (a 1x1 conv with "
             "stride 2).",
             "给这个步幅为 2 的块加上投影：conv_shortcut=True（步幅为 2 的 1x1 卷积）。"),
    ),
    criteria=(same_blocks_as_reference, structure_kept({"stack2.0.shortcut*": None}),
              shortcuts_as_reference(), plain_shortcuts(), constants_kept("INPUT_SHAPE"),
              passes_at(LARGER)),
    explain=explain,
)
