"""Exercise 11: 32 summed branches equal one bottleneck with a grouped 3x3, shown numerically."""

from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch import nn

from shapecheck.exercises import describe as d
from shapecheck.exercises.catalog import Exercise
from shapecheck.exercises.grading import Attempt, Problem, call_learner, single_thread
from shapecheck.exercises.items.common import grouped_convs
from shapecheck.exercises.items.properties import code_kept, constants_kept
from shapecheck.exercises.text import Text
from shapecheck.report import Report

GROUPED = "build_grouped"
TOLERANCE = dict(rtol=1e-6, atol=1e-9)  # compared in float64
SEEDS = (0, 1, 2)  # several random models: one lucky draw proves nothing
KEPT_CODE = ("Branch", "Aggregated", "GroupedBottleneck", "build", "build_grouped")

GROUPED_FAILS = Text("build_grouped() is not clean: {problem}", "build_grouped() 有问题：{problem}")
OUTPUTS = Text("the two forms give different output shapes: {a} vs {b}",
               "两种形式的输出形状不同：{a} 对 {b}")
PARAMS = Text("the two forms have different parameter counts (Report.blocks[0].params): {a} vs "
              "{b}; keep both architectures as they are",
              "两种形式的参数量不同（Report.blocks[0].params）：{a} 对 {b}；请保持两种结构不变")
GROUPS = Text("the grouped form's 3x3 conv must keep groups={want} (it has {got})",
              "分组形式的 3x3 卷积必须保持 groups={want}（现在是 {got}）")
REPLACED = Text("map_weights() changed {what}; it may only copy weights into `grouped`",
                "map_weights() 改动了 {what}；它只应把权重复制进 `grouped`")
LAYERS_REPLACED = Text("after map_weights(), `grouped` no longer has GroupedBottleneck's layers "
                       "({error}); copy weights into its layers instead of replacing them",
                       "调用 map_weights() 之后，`grouped` 的层已不再是 GroupedBottleneck 的层"
                       "（{error}）；请把权重复制进原有的层，而不是替换它们")
DIFFERENT = Text("after map_weights() the outputs differ: max |aggregated - grouped| = {diff} "
                 "(torch.allclose is False)",
                 "调用 map_weights() 之后两者输出不同：max |aggregated - grouped| = {diff}"
                 "（torch.allclose 为 False）")

EXPLAIN = Text(
    en="""shapecheck sees two residual blocks with identical costs:
  build():         {a_params} params, {a_macs} MACs, {a_in} -> {a_out}
  build_grouped(): {g_params} params, {g_macs} MACs, {g_in} -> {g_out}
Your map_weights() lines the branches up along the channels:
  reduce: {n} x {b_reduce} -> {g_reduce} (branch i makes channels {w}i..{w}i+{last})
  3x3:    {n} x {b_conv} -> {g_conv} (group i sees only channels {w}i..{w}i+{last})
  expand: {n} x {b_expand} -> {g_expand} (a 1x1 conv over the concatenation adds up the
          slices' contributions, which is the sum of the branches)
On the same random input the outputs agree: max |aggregated - grouped| = {diff},
torch.allclose: {close}. Split-transform-merge and a grouped conv are one computation; the
grouped form runs it as three wide layers instead of 96 small ones, which is why ResNeXt is
implemented that way.""",
    zh="""shapecheck 看到的是两个代价完全相同的残差块：
  build()：        {a_params} 个参数，{a_macs} 次乘加，{a_in} -> {a_out}
  build_grouped()：{g_params} 个参数，{g_macs} 次乘加，{g_in} -> {g_out}
你的 map_weights() 把各分支沿通道方向依次排好：
  reduce：{n} x {b_reduce} -> {g_reduce}（分支 i 产生第 {w}i..{w}i+{last} 个通道）
  3x3：   {n} x {b_conv} -> {g_conv}（第 i 组只看第 {w}i..{w}i+{last} 个通道）
  expand：{n} x {b_expand} -> {g_expand}（在拼接后的通道上做 1x1 卷积，会把各部分的贡献
          相加，也就是各分支输出之和）
在同一个随机输入上，两者输出一致：max |aggregated - grouped| = {diff}，
torch.allclose：{close}。“拆分-变换-合并”与分组卷积是同一个计算；分组形式用三个宽层代替了
96 个小层来完成它，这就是 ResNeXt 实际采用这种实现的原因。""")


class Tampered(Exception):
    """map_weights() changed something other than `grouped`'s weights (`layers`: it
    replaced the layers of `grouped` rather than their weights)."""

    def __init__(self, what: str, layers: bool = False) -> None:
        super().__init__(what)
        self.layers = layers


def _guarded(attempt: Attempt) -> list[tuple[object, str]]:
    """The functions a map_weights() could swap to fake the equality: the forwards of the
    file's classes, of the layers, and the torch functions they call."""
    owners = [type(m) for m in (attempt.build(), attempt.build(GROUPED))]
    owners += [type(m) for m in attempt.build().modules()]
    pairs = [(cls, "forward") for cls in dict.fromkeys(owners)]
    pairs += [(nn.Module, "__call__"), (nn.Conv2d, "_conv_forward"), (F, "conv2d"),
              (torch, "conv2d"), (torch, "relu"), (torch, "stack"), (torch.Tensor, "sum"),
              (torch.Tensor, "__add__")]
    return pairs


def _difference(attempt: Attempt, seed: int = 0) -> tuple[float, bool]:
    """Both forms with seeded random weights; the aggregated form's output is computed on a
    private copy *before* the learner's map_weights() runs (it may change its arguments);
    then only the weights of `grouped` are loaded into a fresh GroupedBottleneck, and both
    are compared in float64 on the same random input.

    Raises Tampered when map_weights() swapped a forward or a torch function, or replaced
    the layers of `grouped`.
    """
    torch.manual_seed(seed)
    aggregated = attempt.build()
    private = copy.deepcopy(aggregated).double()
    grouped = attempt.build(GROUPED)
    x = torch.randn(attempt.report.input_shapes[0], dtype=torch.float64)
    with torch.no_grad(), single_thread():
        want = private(x)
    contribution = float((want - torch.relu(x)).abs().max())
    if contribution < 1e-3:  # the branches must matter, or zeroed weights would pass
        raise RuntimeError(f"degenerate random model (branches add {contribution:.2g})")
    guarded = _guarded(attempt)
    before = [getattr(owner, name) for owner, name in guarded]
    try:
        call_learner("map_weights(aggregated, grouped)", attempt.module.map_weights,
                     aggregated, grouped)
    finally:
        swapped = [f"{getattr(o, '__name__', o)}.{n}" for (o, n), f in zip(guarded, before)
                   if getattr(o, n) is not f]
        for (owner, name), function in zip(guarded, before):
            setattr(owner, name, function)  # never leave a swapped function behind
    if swapped:
        raise Tampered(", ".join(swapped))
    fresh = attempt.build(GROUPED)
    try:
        fresh.load_state_dict(grouped.state_dict(), strict=True)
    except RuntimeError as exc:
        raise Tampered(str(exc).splitlines()[0], layers=True) from exc
    with torch.no_grad(), single_thread():
        got = fresh.double()(x)
    if got.shape != want.shape:
        return float("inf"), False
    return float((got - want).abs().max()), torch.allclose(got, want, **TOLERANCE)


def _grouped_report(attempt: Attempt) -> Report:
    return attempt.analyse(GROUPED)


def equivalence_criterion(attempt: Attempt) -> list[str]:
    lang = attempt.lang
    grouped = _grouped_report(attempt)
    if grouped.error is not None:
        return [GROUPED_FAILS(lang, problem=grouped.error.message)]
    if grouped.errors:
        return [GROUPED_FAILS(lang, problem=d.finding_sentence(grouped.errors[0], lang))]
    if grouped.output_shapes != attempt.report.output_shapes:
        return [OUTPUTS(lang, a=d.shapes(attempt.report.output_shapes),
                        b=d.shapes(grouped.output_shapes))]
    a, g = attempt.report.blocks[0].params, grouped.blocks[0].params
    if a != g:
        return [PARAMS(lang, a=d.number(a), b=d.number(g))]
    convs = grouped_convs(grouped)
    want = len(attempt.report.model.branches)
    if not convs or convs[0][1].groups != want:
        return [GROUPS(lang, want=want, got=convs[0][1].groups if convs else 0)]
    for seed in SEEDS:
        try:
            diff, close = _difference(attempt, seed)
        except Tampered as exc:
            if exc.layers:
                return [Problem(LAYERS_REPLACED(lang, error=str(exc)),
                                "equivalence.layers_replaced")]
            return [Problem(REPLACED(lang, what=str(exc)), "equivalence.tampered")]
        if not close:
            return [Problem(DIFFERENT(lang, diff=f"{diff:.3g}"), "equivalence.outputs")]
    return []


def _shape(weight: torch.Tensor) -> str:
    return "[" + ", ".join(str(s) for s in weight.shape) + "]"


def explain(attempt: Attempt) -> str:
    report, grouped = attempt.report, _grouped_report(attempt)
    a, g = report.blocks[0], grouped.blocks[0]
    branch = report.model.branches[0]
    wide = grouped.model
    diff, close = _difference(attempt)
    width = branch.conv.out_channels
    return EXPLAIN(
        attempt.lang, a_params=d.number(a.params), a_macs=d.number(a.macs),
        a_in=d.shape(a.input_shape), a_out=d.shape(a.output_shape),
        g_params=d.number(g.params), g_macs=d.number(g.macs), g_in=d.shape(g.input_shape),
        g_out=d.shape(g.output_shape), n=len(report.model.branches),
        b_reduce=_shape(branch.reduce.weight), g_reduce=_shape(wide.reduce.weight),
        b_conv=_shape(branch.conv.weight), g_conv=_shape(wide.conv.weight),
        b_expand=_shape(branch.expand.weight), g_expand=_shape(wide.expand.weight),
        w=width, last=width - 1, diff=f"{diff:.2g}", close=close)


EXERCISE = Exercise(
    number=11,
    slug="split-transform-merge",
    title=Text("Split-transform-merge equals a grouped convolution", "“拆分-变换-合并”等价于分组卷积"),
    source=Text("the article ResNeXt与分组卷积 (ResNeXt and grouped convolution): 32 paths of 1x1 -> 3x3 -> 1x1, summed",
                "《ResNeXt与分组卷积》一文：32 条 1x1 -> 3x3 -> 1x1 路径，输出相加"),
    question=Text(
        en="build() is ResNeXt's block written as 32 branches of 1x1 (256->4) -> 3x3 (4->4) -> "
           "1x1 (4->256) whose outputs are summed; build_grouped() is one bottleneck 1x1 "
           "(256->128) -> 3x3 with groups=32 -> 1x1 (128->256). The page says they are "
           "equivalent. First compare the two with shapecheck: same shapes, same parameter "
           "count? Then complete map_weights(aggregated, grouped) so that the grouped block "
           "computes exactly what the branches compute: the checker builds both with random "
           "weights, maps them, and compares the outputs with torch.allclose.",
        zh="build() 把 ResNeXt 块写成 32 条分支：1x1（256->4）-> 3x3（4->4）-> 1x1（4->256），"
           "输出相加；build_grouped() 则是一个瓶颈块：1x1（256->128）-> groups=32 的 3x3 -> "
           "1x1（128->256）。页面说二者等价。先用 shapecheck 比较两者：形状相同吗？参数量相同吗？"
           "然后补全 map_weights(aggregated, grouped)，让分组卷积块的计算结果与各分支完全相同："
           "判分程序会用随机权重构建两者、做权重映射，再用 torch.allclose 比较输出。"),
    hints=(
        Text("Compare the weight shapes: a branch's 3x3 weight is [4, 4, 3, 3]; the grouped "
             "conv's is [128, 4, 3, 3]. What is the second dimension of a grouped weight?",
             "比较权重形状：一条分支的 3x3 权重是 [4, 4, 3, 3]；分组卷积的是 [128, 4, 3, 3]。"
             "分组卷积权重的第二维表示什么？"),
        Text("Group i of the grouped conv reads channels 4i..4i+3 and writes channels "
             "4i..4i+3; those are exactly branch i's channels after map_weights' reduce step.",
             "分组卷积的第 i 组读取第 4i..4i+3 个通道、写出第 4i..4i+3 个通道；经过 "
             "map_weights 的 reduce 映射后，这正是第 i 条分支的通道。"),
        Text("Stack the branches' 3x3 kernels along dim 0: grouped.conv.weight.copy_("
             "torch.cat([b.conv.weight for b in branches], dim=0))",
             "把各分支的 3x3 卷积核沿第 0 维拼接：grouped.conv.weight.copy_("
             "torch.cat([b.conv.weight for b in branches], dim=0))"),
    ),
    # the two architectures and the input stay the starter's; only map_weights() is written
    criteria=(code_kept(*KEPT_CODE), constants_kept("INPUT_SHAPE", "CARDINALITY", "WIDTH"),
              equivalence_criterion),
    explain=explain,
)
