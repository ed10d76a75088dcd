"""Exercise 4: the CIFAR bottleneck's stride-2, equal-width identity shortcut (the article ResNeXt与分组卷积 (ResNeXt and grouped convolution))."""

from __future__ import annotations

from shapecheck.exercises import describe as d
from shapecheck.exercises.catalog import Exercise
from shapecheck.exercises.grading import Attempt
from shapecheck.exercises.items.common import passes_at, same_blocks_as_reference
from shapecheck.exercises.items.properties import (constants_kept, plain_shortcuts,
                                                   shortcuts_as_reference, structure_kept)
from shapecheck.exercises.text import Text

STRIDED = "stage_2.stage_2_bottleneck_0"

EXPLAIN = Text(
    en="""The starter's rule looks only at the widths, and shapecheck flags the one block
where that is not enough:
  {starter_finding}
The add in PyTorch would raise; the stride-2 main branch cannot meet a full-resolution
identity. Your blocks, as shapecheck sees them (input -> output, shortcut):
{blocks}
A projection exactly where the shape changes ({projections} of {total} blocks): the block
{strided} keeps {channels} channels but halves {size_in} to {size_out}, so it needs the
strided 1x1 conv too. Every other block keeps its input's shape and adds it unchanged, which
is what the rule `stride != 1 or in_channels != out_channels` (torchvision's rule) gives.""",
    zh="""起始文件的规则只看通道数，shapecheck 指出了光看通道数不够的那个块：
  {starter_finding}
在 PyTorch 中这个加法会报错：步幅为 2 的主分支无法与保持原分辨率的恒等捷径相加。
shapecheck 看到的你的各个块（输入 -> 输出，捷径）：
{blocks}
只在形状改变的地方投影（{total} 个块中有 {projections} 个）：块 {strided} 保持 {channels}
个通道，但尺寸从 {size_in} 减半到 {size_out}，所以同样需要带步幅的 1x1 卷积。其余每个块都
保持输入形状，直接把输入加上即可。这正是规则 `stride != 1 or in_channels != out_channels`
（torchvision 的规则）给出的结果。""")


def explain(attempt: Attempt) -> str:
    lang, report = attempt.lang, attempt.report
    block = attempt.block(STRIDED)
    lines = [f"  {b.module}: {d.shape(b.input_shape)} -> {d.shape(b.output_shape)}, "
             f"{d.shortcut_kind(b.shortcut, lang)}" for b in report.blocks]
    return EXPLAIN(
        lang, starter_finding=d.finding_sentence(d.first_error(attempt.starter().report), lang),
        blocks="\n".join(lines),
        projections=sum(1 for b in report.blocks if b.shortcut != "identity"),
        total=len(report.blocks), strided=STRIDED, channels=block.input_shape[1],
        size_in="x".join(map(str, block.input_shape[2:])),
        size_out="x".join(map(str, block.output_shape[2:])))


EXERCISE = Exercise(
    number=4,
    slug="cifar-stride",
    title=Text("CIFAR ResNeXt: a stride-2 block with an identity shortcut",
               "CIFAR ResNeXt：步幅为 2 却用恒等捷径的块"),
    source=Text("the article ResNeXt与分组卷积 (ResNeXt and grouped convolution): ResNeXtBottleneck",
                "《ResNeXt与分组卷积》一文：ResNeXtBottleneck"),
    question=Text(
        en="The page's ResNeXtBottleneck adds a projection shortcut only if in_channels != "
           "out_channels. The starter's network keeps 128 channels from stage_1 to stage_2, "
           "while stage_2 still has stride 2. Check it: which block breaks, and why does the "
           "page's rule not see it? Fix the rule (not the network: keep its widths and "
           "strides) so that a block projects exactly when it must, and keeps the identity "
           "shortcut everywhere else.",
        zh="页面中的 ResNeXtBottleneck 只在 in_channels != out_channels 时才加投影捷径。起始"
           "文件中的网络从 stage_1 到 stage_2 保持 128 个通道，而 stage_2 的步幅仍为 2。检查"
           "一下：哪个块出错了？页面的规则为什么发现不了？请修正这条规则（不要改网络：通道数"
           "和步幅保持不变），让块在必须投影时才投影，其余地方仍使用恒等捷径。"),
    hints=(
        Text("Look at the finding's two shapes: which dimensions differ, the channels or the "
             "spatial size?",
             "看诊断中的两个形状：不同的是通道数，还是空间尺寸？"),
        Text("A shortcut must match the main branch in width AND size. What else besides the "
             "widths changes the main branch's shape?",
             "捷径必须在通道数和尺寸上都与主分支一致。除了通道数，还有什么会改变主分支的形状？"),
        Text("Use torchvision's rule: if stride != 1 or in_channels != out_channels.",
             "采用 torchvision 的规则：if stride != 1 or in_channels != out_channels。"),
    ),
    # only shortcuts may gain layers; each block's kind is the reference's (a projection
    # exactly where the shape changes), and the answer must hold at another input size
    criteria=(same_blocks_as_reference, structure_kept({"*.shortcut": None, "*.shortcut.*": None}),
              shortcuts_as_reference(), plain_shortcuts(), constants_kept("INPUT_SHAPE"),
              passes_at(((1, 3, 64, 64), (1, 3, 40, 40)))),
    explain=explain,
)
