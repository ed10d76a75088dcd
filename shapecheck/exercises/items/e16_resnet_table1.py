"""Exercise 16: ResNet-34 and ResNet-50 built from Table 1 of the ResNet paper (d2l 8.6's
exercise), graded block by block against the reference models' shapes and parameters.

The expected numbers are shapecheck's Report on the shipped solution, which the test suite
checks against torchvision's resnet34 and resnet50 (21,797,672 and 25,557,032 parameters).
"""

from __future__ import annotations

from typing import Optional

from torch import nn

from shapecheck.exercises import describe as d
from shapecheck.exercises.catalog import Exercise
from shapecheck.exercises.grading import Attempt, Note, Problem
from shapecheck.exercises.items.common import SIZE_FAILS
from shapecheck.exercises.sources import D2L, cited
from shapecheck.exercises.text import Text
from shapecheck.report import Report

MODELS = (("build", "ResNet-34", "LAYERS_34"), ("build_resnet50", "ResNet-50", "LAYERS_50"))
OTHER_SIZES = ((1, 3, 160, 160),)

NOT_CLEAN = Text("{model} ({factory}()): shapecheck reports {finding}",
                 "{model}（{factory}()）：shapecheck 报告了问题：{finding}")
NOT_ANALYSED = Text("{model} ({factory}()) cannot be analysed: {message}",
                    "{model}（{factory}()）无法分析：{message}")
NOT_RUN = Text("{model} ({factory}()): the real forward pass on CPU fails: {message}",
               "{model}（{factory}()）：在 CPU 上真实运行前向时出错：{message}")
COUNT = Text("{model} has {mine} residual blocks in yours; Table 1 has {want} ({layers} per "
             "stage)",
             "你的 {model} 有 {mine} 个残差块；表 1 中是 {want} 个（各阶段 {layers} 个）")
BLOCK_SHAPE = Text("{model}, block {index} ({module}): yours maps {mine_in} -> {mine_out}; "
                   "Table 1's maps {want_in} -> {want_out}",
                   "{model} 第 {index} 个块（{module}）：你的是 {mine_in} -> {mine_out}，"
                   "表 1 中是 {want_in} -> {want_out}")
BLOCK_KIND = Text("{model}, block {index} ({module}): its shortcut is {mine}, Table 1's is "
                  "{want} (a projection only where the block changes the shape)",
                  "{model} 第 {index} 个块（{module}）：捷径是{mine}，表 1 中是{want}"
                  "（只有改变形状的块才用投影）")
BLOCK_PARAMS = Text("{model}, block {index} ({module}): {mine} parameters; Table 1's block "
                    "has {want}",
                    "{model} 第 {index} 个块（{module}）：{mine} 个参数；表 1 中的块有 {want} 个")
BLOCK_SHAPES_AT = Text("{model}'s blocks do not have the reference model's shapes",
                       "{model} 各块的形状与参考模型不同")
TOTAL = Text("{model} has {mine} parameters; the reference model has {want}",
             "{model} 有 {mine} 个参数；参考模型有 {want} 个")
OUTPUT = Text("{model}'s output is {mine}; for 1000 ImageNet classes it is {want}",
              "{model} 的输出为 {mine}；对 1000 个 ImageNet 类别应为 {want}")
V1_STRIDE = Text("your bottlenecks downsample in their first 1x1 conv, as the 2015 paper does; "
                 "torchvision (\"ResNet v1.5\") puts the stride on the 3x3 conv instead. Same "
                 "shapes and parameters: accepted.",
                 "你的瓶颈块在第一个 1x1 卷积上下采样，与 2015 年的论文一致；torchvision"
                 "（“ResNet v1.5”）则把步幅放在 3x3 卷积上。形状和参数量相同，可以接受。")

EXPLAIN = Text(
    en="""shapecheck's Report on your two models at {size}:
  ResNet-34: {b34} basic blocks {layers34}, stages end at {stages34}; {p34} parameters,
             {m34} multiply-accumulates
  ResNet-50: {b50} bottlenecks {layers50}, stages end at {stages50}; {p50} parameters,
             {m50} multiply-accumulates
{torchvision}Projections (Report.blocks[i].shortcut): ResNet-34 {proj34} (where the stage
halves the size and doubles the width), ResNet-50 {proj50}: conv2_x's first bottleneck
projects too, since it widens 64 -> 256 at stride 1.
Three times the layers for only {ratio}x the parameters: at conv5_x a basic block has
{basic5} parameters and a bottleneck {bottle5}, because the 3x3 conv works at a quarter of
the block's width and the 1x1 convs are cheap.""",
    zh="""shapecheck 在 {size} 上对你的两个模型的分析（Report）：
  ResNet-34：{b34} 个基本块 {layers34}，各阶段输出 {stages34}；{p34} 个参数，
             {m34} 次乘加
  ResNet-50：{b50} 个瓶颈块 {layers50}，各阶段输出 {stages50}；{p50} 个参数，
             {m50} 次乘加
{torchvision}投影捷径（Report.blocks[i].shortcut）：ResNet-34 为 {proj34}（阶段把尺寸减半、
通道加倍之处），ResNet-50 为 {proj50}：conv2_x 的第一个瓶颈块也要投影，因为它在步幅 1 时
就把通道从 64 加宽到 256。
层数是三倍，参数却只有 {ratio} 倍：在 conv5_x，一个基本块有 {basic5} 个参数，一个瓶颈块有
{bottle5} 个，因为 3x3 卷积只在块宽度的四分之一上计算，而 1x1 卷积很便宜。""")
TORCHVISION = Text("torchvision's resnet34 and resnet50 have the same counts: {tv34} and {tv50}.\n",
                   "torchvision 的 resnet34 与 resnet50 参数量相同：{tv34} 与 {tv50}。\n")


def model_problems(attempt: Attempt, factory: str, name: str, layers: str) -> list[Problem]:
    """What keeps one model from being Table 1's: its analysis, then blocks in order."""
    lang = attempt.lang
    mine, want = attempt.analyse(factory), attempt.reference().analyse(factory)
    if factory != attempt.exercise.factory:  # build() is graded by the basic checks
        if mine.error is not None:
            return [Problem(NOT_ANALYSED(lang, model=name, factory=factory,
                                         message=mine.error.message), "table1.analysis",
                            module=factory)]
        if mine.errors:
            first = mine.errors[0]
            return [Problem(NOT_CLEAN(lang, model=name, factory=factory,
                                      finding=d.finding_sentence(first, lang)),
                            "table1.findings", module=first.module, shapes=first.shapes)]
        run = attempt.forward(factory)
        if not run.ok:
            return [Problem(NOT_RUN(lang, model=name, factory=factory, message=run.error),
                            "table1.forward", module=factory)]
    elif mine.error is not None or mine.errors:
        return []  # the basic checks already say what is wrong
    if len(mine.blocks) != len(want.blocks):
        return [Problem(COUNT(lang, model=name, mine=len(mine.blocks), want=len(want.blocks),
                              layers=getattr(attempt.reference().module, layers)),
                        "blocks.count", module=factory)]
    problems: list[Problem] = []
    seen: set[str] = set()
    for index, (a, b) in enumerate(zip(mine.blocks, want.blocks)):
        values = dict(model=name, index=index, module=a.module)
        found = []
        if (a.input_shape, a.output_shape) != (b.input_shape, b.output_shape):
            found.append(Problem(BLOCK_SHAPE(lang, mine_in=d.shape(a.input_shape),
                                             mine_out=d.shape(a.output_shape),
                                             want_in=d.shape(b.input_shape),
                                             want_out=d.shape(b.output_shape), **values),
                                 "blocks.shape", module=a.module))
        elif a.shortcut != b.shortcut:
            found.append(Problem(BLOCK_KIND(lang, mine=d.shortcut_kind(a.shortcut, lang),
                                            want=d.shortcut_kind(b.shortcut, lang), **values),
                                 "shortcut.kind", module=a.module))
        elif a.params != b.params:
            found.append(Problem(BLOCK_PARAMS(lang, mine=d.number(a.params),
                                              want=d.number(b.params), **values),
                                 "params.block", module=a.module))
        for problem in found:  # the first block failing each way says enough
            if problem.key not in seen:
                seen.add(problem.key)
                problems.append(problem)
    if mine.output_shapes != want.output_shapes:
        problems.append(Problem(OUTPUT(lang, model=name, mine=d.shapes(mine.output_shapes),
                                       want=d.shapes(want.output_shapes)), "output.shape",
                                module=factory))
    if not problems and mine.parameters != want.parameters:  # outside the blocks: the stem, fc
        problems.append(Problem(TOTAL(lang, model=name, mine=d.number(mine.parameters),
                                      want=d.number(want.parameters)), "params.total",
                                module=factory))
    return problems


def table1(attempt: Attempt) -> list[Problem]:
    problems: list[Problem] = []
    for factory, name, layers in MODELS:
        problems += model_problems(attempt, factory, name, layers)
    return problems


table1.key = "table1"


def holds_at_other_sizes(attempt: Attempt) -> list[Problem]:
    """Both models analyse clean at OTHER_SIZES with the reference's block shapes there
    (statically: two more real runs of ResNet-50 would only cost time, the shapes are the
    property)."""
    problems: list[Problem] = []
    for shape in OTHER_SIZES:
        for factory, name, _ in MODELS:
            if len(attempt.analyse(factory).blocks) != len(attempt.reference().analyse(factory).blocks):
                continue  # table1 already says the blocks are not Table 1's
            mine = attempt.analyse(factory, inputs=[shape])
            want = attempt.reference().analyse(factory, inputs=[shape])
            first = d.first_error(mine)
            if mine.error is not None or first is not None:
                problem = mine.error.message if mine.error else d.finding_sentence(first, attempt.lang)
            elif [(b.input_shape, b.output_shape) for b in mine.blocks] != \
                    [(b.input_shape, b.output_shape) for b in want.blocks]:
                problem = BLOCK_SHAPES_AT(attempt.lang, model=name)
            else:
                continue
            problems.append(Problem(SIZE_FAILS(attempt.lang, shape=d.shape(shape), problem=problem),
                                    "size.fails", module=factory, shapes=(tuple(shape),)))
    return problems


def v1_stride(attempt: Attempt) -> list[Note]:
    """A note for bottlenecks that stride in their first 1x1 conv (the paper's original)."""
    report = attempt.analyse("build_resnet50")
    if report.model is None:
        return []
    for add in report.residual_adds:
        for name in add.main_branch:
            conv = _conv(report, name)
            if conv is not None and conv.kernel_size == (1, 1) and conv.stride != (1, 1):
                return [Note(V1_STRIDE(attempt.lang))]
    return []


def _conv(report: Report, node: str) -> Optional[nn.Conv2d]:
    info = report.nodes.get(node)
    if info is None or info.op != "call_module":
        return None
    module = report.model.get_submodule(info.target)
    return module if isinstance(module, nn.Conv2d) else None


def _stage_ends(report: Report) -> str:
    """The output shape of each block that is followed by a change of shape, and the last."""
    blocks = report.blocks
    ends = [b for i, b in enumerate(blocks)
            if i + 1 == len(blocks) or blocks[i + 1].output_shape != b.output_shape]
    return ", ".join(d.shape(b.output_shape)[2:] for b in ends)


def _projections(report: Report, lang: str) -> str:
    found = [str(b.index) for b in report.blocks if b.shortcut != "identity"]
    label = "blocks " if lang == "en" else "第 "
    return label + ", ".join(found) + ("" if lang == "en" else " 个块")


def _torchvision_line(lang: str) -> str:
    from shapecheck.load.thirdparty import import_torchvision

    import torch

    tv = import_torchvision()
    if tv is None:
        return ""
    with torch.device("meta"):
        counts = [sum(p.numel() for p in getattr(tv.models, n)().parameters())
                  for n in ("resnet34", "resnet50")]
    return TORCHVISION(lang, tv34=d.number(counts[0]), tv50=d.number(counts[1]))


def explain(attempt: Attempt) -> str:
    lang = attempt.lang
    r34, r50 = attempt.analyse("build"), attempt.analyse("build_resnet50")
    module = attempt.module
    return EXPLAIN(
        lang, size=d.shapes(r34.input_shapes), b34=len(r34.blocks), b50=len(r50.blocks),
        layers34=tuple(module.LAYERS_34), layers50=tuple(module.LAYERS_50),
        stages34=_stage_ends(r34), stages50=_stage_ends(r50),
        p34=d.number(r34.parameters), p50=d.number(r50.parameters),
        m34=d.number(r34.macs), m50=d.number(r50.macs),
        torchvision=_torchvision_line(lang),
        proj34=_projections(r34, lang), proj50=_projections(r50, lang),
        ratio=f"{r50.parameters / r34.parameters:.2f}",
        basic5=d.number(r34.blocks[-1].params), bottle5=d.number(r50.blocks[-1].params))


EXERCISE = Exercise(
    number=16,
    slug="resnet-table1",
    title=Text("ResNet-34 and ResNet-50 from the paper's Table 1",
               "按论文表 1 搭建 ResNet-34 与 ResNet-50"),
    source=cited(D2L, Text("exercises: the variants of Table 1 of the ResNet paper",
                           "练习：ResNet 论文表 1 中的各个变体")),
    question=Text(
        en="Table 1 of He et al. (2015) lists, per stage conv2_x .. conv5_x, 3, 4, 6 and 3 "
           "blocks for both ResNet-34 (basic blocks: two 3x3 convs) and ResNet-50 "
           "(bottlenecks: 1x1, 3x3, 1x1 with a 4x wider output). The starter builds "
           "ResNet-18 twice. Make build() ResNet-34 and build_resnet50() ResNet-50, for "
           "1000 classes. The checker compares every block's shapes, shortcut and "
           "parameters with the reference models (torchvision's resnet34 and resnet50 have "
           "21,797,672 and 25,557,032 parameters), at 224x224 and at 160x160.",
        zh="He 等人（2015）论文的表 1 列出了各阶段 conv2_x 到 conv5_x 的块数：ResNet-34（基本块，"
           "两个 3x3 卷积）和 ResNet-50（瓶颈块：1x1、3x3、1x1，输出宽 4 倍）都是 3、4、6、3。"
           "起始文件搭建了两次 ResNet-18。请把 build() 改成 ResNet-34，把 build_resnet50() 改成 "
           "ResNet-50，输出 1000 个类别。判分程序会在 224x224 和 160x160 上，把每个块的形状、捷径"
           "和参数量与参考模型比较（torchvision 的 resnet34 与 resnet50 分别有 21,797,672 和 "
           "25,557,032 个参数）。"),
    hints=(
        Text("Start with the blocks per stage: Table 1's rows conv2_x .. conv5_x, the "
             "\"x 3\", \"x 4\", \"x 6\", \"x 3\" beside each bracket.",
             "先改各阶段的块数：表 1 中 conv2_x 到 conv5_x 各行方括号旁的“x 3”“x 4”“x 6”“x 3”。"),
        Text("A bottleneck's last 1x1 conv outputs 4 x planes channels. Which block of "
             "ResNet-50 then changes the width without changing the size?",
             "瓶颈块最后的 1x1 卷积输出 4 x planes 个通道。这样一来，ResNet-50 中哪个块改变了通道"
             "数却没有改变尺寸？"),
        Text("LAYERS_34 = LAYERS_50 = (3, 4, 6, 3); Bottleneck.expansion = 4; in make_stage, "
             "project = stride != 1 or in_planes != planes * block.expansion.",
             "LAYERS_34 = LAYERS_50 = (3, 4, 6, 3)；Bottleneck.expansion = 4；在 make_stage 中"
             "令 project = stride != 1 or in_planes != planes * block.expansion。"),
    ),
    criteria=(table1, holds_at_other_sizes, v1_stride),
    explain=explain,
)
