"""Exercise 12: the full pre-activation unit (BN -> ReLU -> conv, bare add), He et al. 2016."""

from __future__ import annotations

from typing import Optional

from torch import nn

from shapecheck.exercises import describe as d
from shapecheck.exercises.catalog import Exercise
from shapecheck.exercises.grading import Attempt, Problem
from shapecheck.exercises.items.common import same_blocks_as_reference
from shapecheck.exercises.items.properties import AFTER_ADD, constants_kept, op_name, structure_kept
from shapecheck.exercises.text import Text
from shapecheck.report import Report

CONV_ORDER = Text("in {module}, {conv} is fed by {before} instead of ReLU(BN(...))",
                  "在 {module} 中，{conv} 的输入来自 {before}，而不是 ReLU(BN(...))")
RELU_AFTER = Text("in {module}, the residual add is followed by a ReLU ({relu}); a "
                  "pre-activation unit adds nothing after the add",
                  "在 {module} 中，残差相加之后接了 ReLU（{relu}）；预激活单元在相加之后不再接任何操作")

SHARED = Text("In {modules} the branches fork after ReLU(BN(x)): conv1 and the 1x1 shortcut "
              "share the pre-activated input, so that x above is already activated.\n",
              "在 {modules} 中，分叉点位于 ReLU(BN(x)) 之后：conv1 与 1x1 捷径共用预激活后的输入，"
              "所以上面的 x 已经过激活。\n")

EXPLAIN = Text(
    en="""The main branches as shapecheck traced them (fork -> ... -> add), starter first:
  starter {first}: {starter_seq}
  yours   {first}: {mine_seq}
{branches}
{shared}Every conv now reads ReLU(BN(x)), and each add's output goes on untouched: {users}.
With nothing after the add, x[l+1] = x[l] + F(x[l]), so the signal of any unit reaches any
later one unchanged, and so does the gradient on the way back; in the original order the
ReLU after each add sits on that path. Note the shapes did not change ({blocks} residual
blocks, same input and output shapes), but bn1 now normalises the block's input, so a block
that widens has bn1 = BatchNorm2d(in_planes), and a final BN-ReLU follows the last add.""",
    zh="""shapecheck 追踪到的各主分支（分叉点 -> ... -> 相加），先看起始文件：
  起始文件 {first}：{starter_seq}
  你的     {first}：{mine_seq}
{branches}
{shared}现在每个卷积读取的都是 ReLU(BN(x))，每次相加的输出都原封不动地向后传递：{users}。
相加之后不接任何操作，x[l+1] = x[l] + F(x[l])，于是任一单元的信号都能原样到达后面任一单元，
反向传播的梯度也一样；而在原始顺序中，每次相加后的 ReLU 正挡在这条通路上。注意各处形状并未
改变（{blocks} 个残差块，输入输出形状相同），但 bn1 现在规范化的是块的输入，所以加宽通道的块
要用 bn1 = BatchNorm2d(in_planes)，并且在最后一次相加之后还要接一个 BN-ReLU。""")


def kind(report: Report, name: str) -> str:
    """"conv", "bn", "relu" or "add" for a traced node; else its target's name."""
    info = report.nodes[name]
    if info.op == "call_module" and report.model is not None:
        module = report.model.get_submodule(info.target)
        for cls, label in ((nn.Conv2d, "conv"), (nn.modules.batchnorm._BatchNorm, "bn"),
                           (nn.ReLU, "relu")):
            if isinstance(module, cls):
                return label
    if info.op in ("call_function", "call_method"):
        base = info.target.rstrip("_")
        if base in ("relu", "add"):
            return base
    return info.target


def _input(report: Report, name: str) -> Optional[str]:
    inputs = report.nodes[name].inputs
    return inputs[0] if inputs else None


PREACT = ("bn", "relu", "conv", "bn", "relu", "conv")
SHARED_PREACT = ("conv", "bn", "relu", "conv")  # the fork is ReLU(BN(x)) itself
SEQUENCE = Text("in {module}, the main branch is {mine}; the full pre-activation unit is {want}",
                "在 {module} 中，主分支是 {mine}；完整的预激活单元应为 {want}")
SHORTCUT_EXTRA = Text("in {module}, the shortcut goes through {mine}; it must be x itself, or "
                      "for a block that changes the shape, one 1x1 conv",
                      "在 {module} 中，捷径经过了 {mine}；它必须就是 x 本身，或者在改变形状的"
                      "块里只用一个 1x1 卷积")
ACTIVATED_IDENTITY = Text("in {module}, the identity shortcut carries ReLU(BN(x)) instead of x: "
                          "only a projection may share the pre-activated input; an identity "
                          "shortcut must add x unchanged",
                          "在 {module} 中，恒等捷径传递的是 ReLU(BN(x)) 而不是 x：只有投影捷径"
                          "才可以共用预激活后的输入，恒等捷径必须原样加上 x")


def _arrow(kinds) -> str:
    return " -> ".join(kinds) or "x"


def order_criterion(attempt: Attempt) -> list[Problem]:
    """Each unit is exactly BN -> ReLU -> conv -> BN -> ReLU -> conv on the main branch,
    an identity shortcut carries x itself (a projection: one 1x1 conv, which may read the
    shared ReLU(BN(x))), and nothing of the block follows the add."""
    report, lang = attempt.report, attempt.lang
    problems: list[Problem] = []
    readers = _users(report)
    for add in report.residual_adds:
        fork_input = _input(report, add.fork)
        shared = kind(report, add.fork) == "relu" and fork_input is not None and \
            kind(report, fork_input) == "bn"
        kinds = tuple(kind(report, n) for n in add.main_branch)
        want = SHARED_PREACT if shared else PREACT
        wrong_conv = None
        for name in add.main_branch:
            if kind(report, name) != "conv":
                continue
            before = _input(report, name)
            fed = before is not None and kind(report, before) == "relu" and \
                _input(report, before) is not None and kind(report, _input(report, before)) == "bn"
            if not fed:
                wrong_conv = (name, before)
                break
        if wrong_conv is not None:
            name, before = wrong_conv
            problems.append(Problem(CONV_ORDER(lang, module=add.module,
                                               conv=report.nodes[name].target,
                                               before=report.nodes[before].target if before
                                               else "?"),
                                    "order.conv_input", module=add.module))
        elif kinds != want:
            problems.append(Problem(SEQUENCE(lang, module=add.module, mine=_arrow(kinds),
                                             want=_arrow(want)),
                                    "order.sequence", module=add.module))
        shortcut = tuple(kind(report, n) for n in add.shortcut_branch)
        if shortcut not in ((), ("conv",)):
            problems.append(Problem(SHORTCUT_EXTRA(lang, module=add.module, mine=_arrow(shortcut)),
                                    "shortcut.not_plain", module=add.module))
        elif shared and not shortcut:
            problems.append(Problem(ACTIVATED_IDENTITY(lang, module=add.module),
                                    "shortcut.activated", module=add.module))
        for name in readers.get(add.node, []):
            info = report.nodes[name]
            where = info.target if info.op == "call_module" else info.module
            if info.op == "output" or not (where == add.module
                                           or where.startswith(add.module + ".")):
                continue
            template = RELU_AFTER if kind(report, name) == "relu" else AFTER_ADD
            problems.append(Problem(template(lang, module=add.module, relu=name,
                                             op=op_name(report, name)),
                                    "add.not_bare", module=add.module))
            break
    return problems


def _users(report: Report) -> dict[str, list[str]]:
    users: dict[str, list[str]] = {}
    for info in report.nodes.values():
        for name in info.inputs:
            users.setdefault(name, []).append(info.name)
    return users


def _sequence(report: Report, index: int) -> str:
    add = report.residual_adds[index]
    steps = [kind(report, n) for n in add.main_branch]
    return " -> ".join(["x"] + steps + ["add"] + [kind(report, u) for u in _users(report)
                                                    .get(add.node, [])[:1]])


def explain(attempt: Attempt) -> str:
    report, starter = attempt.report, attempt.starter().report
    users = _users(report)
    label, colon = ("你的    ", "：") if attempt.lang == "zh" else ("yours  ", ": ")
    rest = [f"  {label} {a.module}{colon}{_sequence(report, i)}"
            for i, a in enumerate(report.residual_adds) if i > 0]
    shared = [a.module for a in report.residual_adds if kind(report, a.fork) == "relu"]
    after = [f"{a.module} -> {report.nodes[users[a.node][0]].target}"
             for a in report.residual_adds if users.get(a.node)]
    return EXPLAIN(
        attempt.lang, first=report.residual_adds[0].module, starter_seq=_sequence(starter, 0),
        mine_seq=_sequence(report, 0), branches="\n".join(rest),
        users=d.sep(attempt.lang).join(after),
        shared=SHARED(attempt.lang, modules=d.sep(attempt.lang).join(shared)) if shared else "",
        blocks=len(report.blocks))


EXERCISE = Exercise(
    number=12,
    slug="preact-order",
    title=Text("Pre-activation: BN -> ReLU -> conv (He et al. 2016)",
               "预激活：BN -> ReLU -> 卷积（He 等，2016）"),
    source=Text("d2l.ai section 8.6, exercises: the pre-activation residual unit",
                "d2l.ai 第 8.6 节练习：预激活残差单元"),
    question=Text(
        en="He et al. 2016 (\"Identity Mappings in Deep Residual Networks\") move BN and ReLU "
           "in front of each conv and leave the add bare: x + conv(ReLU(BN(conv(ReLU(BN(x))))))."
           " The starter's PreActBlock is written in the original order instead (conv -> BN -> "
           "ReLU, ReLU after the add). Rewrite it as the full pre-activation unit, keeping the "
           "network's shapes. The checker reads the order from shapecheck's traced graph: every "
           "conv on a main branch must be fed by ReLU(BN(...)), and no ReLU may follow an add.",
        zh="He 等人在 2016 年的论文（《Identity Mappings in Deep Residual Networks》）中，把 BN 和 "
           "ReLU 移到每个卷积之前，相加之后不再接任何操作：x + conv(ReLU(BN(conv(ReLU(BN(x))))))。"
           "起始文件中的 PreActBlock 却写成了原始顺序（卷积 -> BN -> ReLU，相加后接 ReLU）。请把"
           "它改写成完整的预激活单元，网络形状保持不变。判分程序从 shapecheck 追踪出的计算图中读取"
           "顺序：主分支上的每个卷积都必须以 ReLU(BN(...)) 为输入，任何相加之后都不能接 ReLU。"),
    hints=(
        Text("Write the forward pass first: out = conv1(relu(bn1(x))); out = conv2(relu(bn2("
             "out))); return out + shortcut. Then see what shapecheck says about bn1.",
             "先写前向：out = conv1(relu(bn1(x)))；out = conv2(relu(bn2(out)))；return out + "
             "shortcut。再看 shapecheck 对 bn1 怎么说。"),
        Text("bn1 now normalises the block's input: it needs in_planes channels. The network "
             "then ends with an add, so add a BN and a ReLU before pooling (the starter has "
             "them already).",
             "bn1 现在规范化的是块的输入：它需要 in_planes 个通道。网络的最后一步变成了相加，"
             "所以在池化之前要有 BN 和 ReLU（起始文件里已经有了）。"),
        Text("For the projection block, compute out = relu(bn1(x)) once and feed it to both "
             "conv1 and the 1x1 shortcut conv, as the paper does.",
             "对于带投影的块，先算一次 out = relu(bn1(x))，再把它同时送入 conv1 和 1x1 捷径"
             "卷积，与论文一致。"),
    ),
    # the layers stay the starter's (bn1 now normalises the block's input; ReLU modules may
    # replace F.relu), and the order, the shortcuts and the bare add are read from the graph
    criteria=(same_blocks_as_reference,
              structure_kept({"*.bn1": ("num_features",), "*relu*": None}),
              constants_kept("INPUT_SHAPE"), order_criterion),
    explain=explain,
)
