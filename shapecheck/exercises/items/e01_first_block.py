"""Exercise 1: the interview ResNet whose stage `b3` was built with `first_block=True`."""

from __future__ import annotations

from shapecheck.exercises import describe as d
from shapecheck.exercises.catalog import Exercise
from shapecheck.exercises.grading import Attempt
from shapecheck.exercises.grading import Note
from shapecheck.exercises.items.common import same_blocks_as_reference, same_output_as_reference
from shapecheck.exercises.items.properties import (plain_shortcuts, shortcuts_as_reference,
                                                   structure_kept)
from shapecheck.report import ResidualAdd
from shapecheck.exercises.text import Text

STAGES = ("b2", "b3", "b4", "b5")

EXPLAIN = Text(
    en="""The starter breaks in two places, both found in one pass:
  {starter_layer}
  {starter_add}
With first_block=True, b3.0 is Residual(128, 128): no 1x1 conv and no stride, yet it
receives {b3_in} from b2.
In your file b3.0 adds {main} + {short} through a {kind} shortcut: the stage doubles the
width and halves the size in the same block, on both branches.
Stage outputs (Report.blocks, last block of each stage): {stages}; model output {output}.
These are the d2l layer summary's numbers.
Only b2 may pass first_block=True: the stem already delivers {b2_in}, exactly the width and
size of b2's identity blocks, so b2 needs neither a projection nor a stride.""",
    zh="""起始文件有两处错误，shapecheck 一次分析就都找到了：
  {starter_layer}
  {starter_add}
first_block=True 时 b3.0 就是 Residual(128, 128)：既没有 1x1 卷积也没有步幅，可它从 b2
收到的是 {b3_in}。
在你的文件里，b3.0 通过{kind}捷径相加 {main} + {short}：同一个块里，两条分支都把通道数
加倍、尺寸减半。
各阶段输出（Report.blocks 中每个阶段最后一个块）：{stages}；模型输出 {output}。
这正是 d2l 书中逐层输出的数字。
只有 b2 可以传 first_block=True：起始层输出的已经是 {b2_in}，与 b2 中恒等块的通道数和尺寸
完全一致，所以 b2 既不需要投影也不需要步幅。""")

# He et al.'s option A: subsample the input and pad the new channels with zeros (no weights).
OPTION_A_CALLS = frozenset({"getitem", "pad", "cat", "zeros", "new_zeros", "zeros_like"})
OPTION_A = Text("b3.0 uses He et al.'s option A (a parameter-free shortcut: subsample, then "
                "zero-pad the new channels). The ResNet paper tried it; accepted, but it is not "
                "the book's ResNet-18, whose shortcut is a strided 1x1 conv.",
                "b3.0 采用了 He 等人论文中的选项 A（无参数的捷径：先下采样，再用零填充新增的"
                "通道）。论文中试验过这种做法，可以接受；但它不是书中的 ResNet-18，书中的捷径是"
                "带步幅的 1x1 卷积。")


def option_a(attempt: Attempt, add: ResidualAdd) -> Note | None:
    """He et al.'s option-A shortcut at b3.0: only slicing and zero padding, no layer."""
    report = attempt.report
    calls = {report.nodes[n].target for n in add.shortcut_branch}
    if add.module == "b3.0" and calls <= OPTION_A_CALLS and calls & {"pad", "cat"}:
        return Note(OPTION_A(attempt.lang))
    return None


def explain(attempt: Attempt) -> str:
    lang, report = attempt.lang, attempt.report
    starter = attempt.starter().report
    layer = next((f for f in starter.errors if f.kind == "layer_mismatch"), None)
    add = next((f for f in starter.errors if f.kind != "layer_mismatch"), None)
    b3 = attempt.add("b3.0")
    last = [[b for b in report.blocks if b.module.startswith(s + ".")][-1] for s in STAGES]
    return EXPLAIN(
        lang,
        starter_layer=d.finding_sentence(layer, lang),
        starter_add=d.finding_sentence(add, lang),
        b3_in=d.shape(attempt.block("b3.0", starter).input_shape),
        main=d.shape(b3.shapes[0]), short=d.shape(b3.shapes[1]),
        kind=d.shortcut_kind(b3.shortcut, lang) if b3.shortcut != "other" else (
            "零填充" if lang == "zh" else "zero-padding"),
        stages=d.sep(lang).join(f"{b.module.split('.')[0]} {d.shape(b.output_shape)}"
                                for b in last),
        output=d.shapes(report.output_shapes),
        b2_in=d.shape(attempt.block("b2.0").input_shape),
    )


EXERCISE = Exercise(
    number=1,
    slug="first-block",
    title=Text("The interview ResNet: a misplaced first_block=True",
               "面试题 ResNet：放错位置的 first_block=True"),
    source=Text("the interview page 【CV面试必会】深度学习网络之Resnet (CV interview essentials: ResNet): Residual and resnet_block",
                "面试页面《【CV面试必会】深度学习网络之Resnet》：Residual 与 resnet_block"),
    question=Text(
        en="resnet_block(input_channels, num_channels, num_residuals, first_block=False) builds "
           "one stage: unless first_block is True, its first block uses a 1x1 conv and stride "
           "2. The starter builds d2l's ResNet-18 for 1x96x96 images, but stage b3 was copied "
           "from b2's line, first_block=True included. Check it, read the findings, and fix "
           "the network so that it is the book's ResNet-18: stages ending at 64x24x24, "
           "128x12x12, 256x6x6 and 512x3x3, then 10 classes. Then answer for yourself: why "
           "does only the stage right after the stem pass first_block=True?",
        zh="resnet_block(input_channels, num_channels, num_residuals, first_block=False) 构建"
           "一个阶段：除非 first_block 为 True，否则该阶段的第一个块使用 1x1 卷积并以步幅 2 "
           "下采样。起始文件按 d2l 搭建了处理 1x96x96 图像的 ResNet-18，但阶段 b3 是从 b2 那"
           "一行复制来的，连 first_block=True 也抄了过来。先检查它、读懂诊断信息，再把网络改成书中"
           "的 ResNet-18：各阶段输出依次为 64x24x24、128x12x12、256x6x6、512x3x3，最后输出 "
           "10 个类别。然后想一想：为什么只有紧跟在起始层之后的阶段才传 first_block=True？"),
    hints=(
        Text("Read the first finding: which layer receives the wrong number of channels, and "
             "how many did it expect?",
             "看第一条诊断：哪一层收到的通道数不对？它期望多少个？"),
        Text("With first_block=True every block of the stage is Residual(num_channels, "
             "num_channels): no 1x1 conv, no stride. Only a stage whose input already has its "
             "width and size may do that.",
             "first_block=True 时，这个阶段的每个块都是 Residual(num_channels, num_channels)："
             "没有 1x1 卷积，也没有步幅。只有输入已经具备该阶段通道数和尺寸的阶段才能这样做。"),
        Text("Build b3 the way b4 and b5 are built: resnet_block(64, 128, 2).",
             "像 b4、b5 那样构建 b3：resnet_block(64, 128, 2)。"),
    ),
    criteria=(same_blocks_as_reference, same_output_as_reference,
              # only b3.0 may change: its first conv reads 64 channels with stride 2, and it
              # gains a 1x1 projection (or, as an accepted alternative, option A's zero pad)
              structure_kept({"b3.0.conv1": ("in_channels", "stride"), "b3.0.conv3": None}),
              shortcuts_as_reference({"b3.0": ("other",)}),
              plain_shortcuts(allow=option_a)),
    explain=explain,
)
