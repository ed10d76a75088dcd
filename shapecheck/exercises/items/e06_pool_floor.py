"""Exercise 6: a pooled shortcut that floors odd sizes while the strided conv rounds up."""

from __future__ import annotations

import torch
from torch import nn

from shapecheck.exercises import describe as d
from shapecheck.exercises.catalog import Exercise
from shapecheck.exercises.grading import Attempt
from shapecheck.exercises.grading import Note
from shapecheck.exercises.items.common import passes_at, same_blocks_as_reference
from shapecheck.exercises.items.properties import (constants_kept, plain_shortcuts,
                                                   shortcuts_as_reference, structure_kept)
from shapecheck.exercises.text import Text

OTHER_SIZES = ((1, 3, 64, 64), (1, 3, 50, 50), (1, 3, 72, 72))
BLOCKS = ("down1", "down2", "down3")

EXPLAIN = Text(
    en="""The starter is clean at 64x64 ({even}) but not at 56x56:
  {starter_finding}
A 3x3 conv with stride 2 and padding 1 gives floor((n + 2 - 3) / 2) + 1 = ceil(n / 2); a 2x2
average pool gives floor(n / 2). They agree on even sizes only. Measured with torch on a 7x7
map: conv -> {conv7}, AvgPool2d(2) -> {pool7}, AvgPool2d(2, ceil_mode=True) -> {ceil7}.
56 halves to 28, 14 and then 7, so the third block meets the odd size. Your residual adds,
as shapecheck propagates them at each input size:
{sizes}
A shortcut that must follow a strided branch has to round the same way at every size;
shapecheck's own fix, a strided 1x1 conv, does too.""",
    zh="""起始文件在 64x64 时没有问题（{even}），在 56x56 时却出错：
  {starter_finding}
步幅 2、填充 1 的 3x3 卷积给出 floor((n + 2 - 3) / 2) + 1 = ceil(n / 2)；2x2 平均池化给出
floor(n / 2)。两者只在偶数尺寸上相等。用 torch 在 7x7 的特征图上实测：卷积 -> {conv7}，
AvgPool2d(2) -> {pool7}，AvgPool2d(2, ceil_mode=True) -> {ceil7}。
56 依次减半为 28、14、7，所以第三个块遇到了奇数尺寸。shapecheck 在各输入尺寸下推导出的
你的残差相加：
{sizes}
跟随带步幅分支的捷径，必须在任何尺寸下都以相同方式取整；shapecheck 自己给出的修复（带步幅的
1x1 卷积）同样满足这一点。""")


def _size_of(module: nn.Module, n: int) -> str:
    """The spatial size `module` makes of an n x n map (computed by running it)."""
    with torch.no_grad():
        return "x".join(map(str, module(torch.zeros(1, 1, n, n)).shape[2:]))


STRIDED_1X1 = Text("{modules}: a strided 1x1 conv instead of the pooled projection also rounds "
                   "up (floor((n - 1) / 2) + 1 = ceil(n / 2)), so it is right at every size; it "
                   "reads one pixel in four, where ResNet-D's pool averages all of them.",
                   "{modules}：用带步幅的 1x1 卷积代替池化投影，同样是向上取整"
                   "（floor((n - 1) / 2) + 1 = ceil(n / 2)），所以在任何尺寸下都正确；只是它"
                   "每四个像素只读一个，而 ResNet-D 的池化会把四个都平均进来。")


def strided_note(attempt: Attempt) -> list[Note]:
    """Accept the strided 1x1 conv shortcut, with a note on what it gives up."""
    plain = [a.module for a in attempt.report.residual_adds if a.shortcut == "projection"]
    return [Note(STRIDED_1X1(attempt.lang, modules=d.sep(attempt.lang).join(plain)))] \
        if plain else []


def explain(attempt: Attempt) -> str:
    lang = attempt.lang
    starter = attempt.starter()
    even = starter.analyse(inputs=[OTHER_SIZES[0]])
    even_text = f"{d.shape(OTHER_SIZES[0])}: " + ", ".join(
        f"{a.module} {d.shape(a.shapes[0])} + {d.shape(a.shapes[1])}" for a in even.residual_adds)
    sizes = []
    for shape in (tuple(attempt.report.input_shapes[0]),) + OTHER_SIZES:
        report = attempt.analyse(inputs=[shape])
        last = report.residual_adds[-1]
        sizes.append(f"  {d.shape(shape)}: {d.add_line(last, lang)}")
    return EXPLAIN(
        lang, even=even_text,
        starter_finding=d.finding_sentence(d.first_error(starter.report), lang),
        conv7=_size_of(nn.Conv2d(1, 1, 3, stride=2, padding=1), 7),
        pool7=_size_of(nn.AvgPool2d(2), 7),
        ceil7=_size_of(nn.AvgPool2d(2, ceil_mode=True, count_include_pad=False), 7),
        sizes="\n".join(sizes))


EXERCISE = Exercise(
    number=6,
    slug="pool-floor",
    title=Text("A pooled shortcut that depends on the input size", "随输入尺寸而变的池化捷径"),
    source=Text("ResNet variants (ResNet-D's pooled shortcut); d2l 8.6's stride arithmetic",
                "ResNet 变体（ResNet-D 的池化捷径）；d2l 8.6 中的步幅计算"),
    question=Text(
        en="The starter's downsampling blocks shrink the main branch with a stride-2 3x3 conv "
           "and the shortcut with a 2x2 average pool followed by a 1x1 conv. shapecheck finds "
           "nothing wrong at 64x64, but the file declares 56x56. Check it: which block fails, "
           "with which shapes? Work out why 56 fails where 64 works (what happens to a 7x7 "
           "map on each branch?), then make the network correct for any input size. The "
           "checker also runs it at 64x64, 50x50 and 72x72.",
        zh="起始文件中的下采样块，主分支用步幅为 2 的 3x3 卷积缩小尺寸，捷径则先做 2x2 平均"
           "池化再接 1x1 卷积。shapecheck 在 64x64 下没有发现问题，但文件声明的输入是 56x56。"
           "检查一下：哪个块出错了，两侧形状各是多少？想清楚为什么 56 不行而 64 可以（7x7 "
           "的特征图在两条分支上分别变成了什么？），然后让网络适用于任何输入尺寸。判分时还"
           "会在 64x64、50x50 和 72x72 下运行。"),
    hints=(
        Text("Follow the spatial size through the network: 56 -> 28 -> 14 -> 7. What do a "
             "stride-2 3x3 conv (padding 1) and a 2x2 average pool make of 7?",
             "沿网络跟踪空间尺寸：56 -> 28 -> 14 -> 7。步幅为 2、填充为 1 的 3x3 卷积和 2x2 "
             "平均池化分别会把 7 变成多少？"),
        Text("One branch rounds up and the other rounds down. nn.AvgPool2d has an argument "
             "that makes it round up.",
             "一条分支向上取整，另一条向下取整。nn.AvgPool2d 有一个参数可以让它向上取整。"),
        Text("Use nn.AvgPool2d(kernel_size=2, stride=2, ceil_mode=True, "
             "count_include_pad=False), as timm's ResNet-D does.",
             "像 timm 的 ResNet-D 那样使用 nn.AvgPool2d(kernel_size=2, stride=2, "
             "ceil_mode=True, count_include_pad=False)。"),
    ),
    # the main branches stay the starter's; a shortcut may be a pooled projection that rounds
    # up (ceil_mode) or a strided 1x1 conv, never a resize (F.interpolate, F.pad, slicing)
    criteria=(same_blocks_as_reference, structure_kept({"down?.downsample*": None}),
              shortcuts_as_reference({b: ("projection",) for b in BLOCKS}), plain_shortcuts(),
              constants_kept("INPUT_SHAPE"), passes_at(OTHER_SIZES), strided_note),
    explain=explain,
)
