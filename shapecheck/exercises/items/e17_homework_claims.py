"""Exercise 17: the second answer page's three claims about the ResNeXt homework, judged one by
one on shapecheck's Report, and its "always project" advice measured on ResNeXt-50.

Every expected value is computed from the tool's output on the shipped file: whether an
identity add is reached, whether every identity block receives its own output width,
whether a grouped conv changes the width, and the parameters that always projecting adds.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

import shapecheck
from shapecheck.exercises import describe as d
from shapecheck.exercises.catalog import Exercise
from shapecheck.exercises.grading import MISSING, Attempt, Problem, answer_problem, close_to
from shapecheck.exercises.items.common import same_blocks_as_reference
from shapecheck.exercises.items.properties import (code_kept, constants_kept, plain_shortcuts,
                                                   shortcuts_as_reference, structure_kept)
from shapecheck.exercises.sources import SECOND_ANSWER, cited
from shapecheck.exercises.text import Text
from shapecheck.report import Report

CLAIMS = {
    "CLAIM_A_BRANCH_NEVER_REACHED": Text(
        "claim (a), \"the identity branch is never reached\": true only if shapecheck finds no "
        "identity add in resnext50()",
        "论断 (a)“恒等分支根本不会被执行到”：只有当 shapecheck 在 resnext50() 中找不到任何"
        "恒等相加时才成立"),
    "CLAIM_B_INPUT_EQUALS_FILTERS_X2": Text(
        "claim (b), \"the input equals filters * 2 wherever the identity is used\": compare "
        "each identity block's input and output widths in Report.blocks",
        "论断 (b)“凡是使用恒等捷径处输入都等于 filters * 2”：比较 Report.blocks 中每个恒等块"
        "的输入与输出通道数"),
    "CLAIM_C_GROUPED_CHANGES_CHANNELS": Text(
        "claim (c), \"the grouped block changes the channels\": compare the grouped convs' "
        "input and output channels",
        "论断 (c)“分组卷积模块改变了通道数”：比较各分组卷积的输入与输出通道数"),
}
EXTRA_WHAT = Text("the parameters that a 1x1 conv + BN shortcut on every block adds to "
                  "resnext50(), within 1%",
                  "给 resnext50() 的每个块都加上 1x1 卷积 + BN 捷径后增加的参数量，误差 1% 以内")
PERCENT_WHAT = Text("those extra parameters as a percentage of resnext50()'s, within half a "
                    "percentage point",
                    "增加的参数占 resnext50() 原有参数量的百分比，误差 0.5 个百分点以内")
NOT_BOOL = Text("{name} = {given!r}: answer True or False", "{name} = {given!r}：请回答 True 或 False")

EXPLAIN = Text(
    en="""Judged on shapecheck's Report of resnext50() ({blocks} blocks, {params} parameters):
(a) false. The identity branch runs in {identity} blocks ({identity_list}): every block of a
stack after its first. What is true is that it never meets a mismatched input.
(b) true, and not by chance: each identity block receives {widths} channels, its own output
width, because each stack's first block projects to filters * 2 with the stack's stride.
The page's `assert x.shape[-1] == filters * 2` would never fire inside stack().
(c) false. The grouped 3x3 convs keep the width ({grouped}); the width doubles in the last
1x1 conv ({conv3}), and the projection matches that on the first block.
Always projecting: resnext50(always_project=True) has {projected} parameters, {extra} more
(+{percent}%), for {n_extra} shortcuts that the identity served for free: a 1x1 conv and a
BN of c * c + 2 * c parameters each, c from 256 to 2048. Project where the shape changes.""",
    zh="""依据 shapecheck 对 resnext50() 的分析（{blocks} 个块，{params} 个参数）：
(a) 错。恒等分支在 {identity} 个块中都会执行（{identity_list}）：每个 stack 第一个块之后的
所有块。真正成立的是：它从不会遇到通道数不一致的输入。
(b) 对，而且不是巧合：每个恒等块收到的是 {widths} 个通道，正是它自己的输出宽度，因为每个
stack 的第一个块都以该 stack 的步幅投影到 filters * 2。页面建议的
`assert x.shape[-1] == filters * 2` 在 stack() 内部永远不会触发。
(c) 错。分组 3x3 卷积不改变通道数（{grouped}）；通道数是在最后的 1x1 卷积（{conv3}）中加倍的，
第一个块的投影与之相配。
总是投影：resnext50(always_project=True) 有 {projected} 个参数，多了 {extra} 个
（+{percent}%），换来的是 {n_extra} 个原本由恒等映射免费承担的捷径：每个都是一个 1x1 卷积加
一个 BN，共 c * c + 2 * c 个参数，c 从 256 到 2048。只在形状改变处投影即可。""")


def block_ranges(modules: list[str]) -> list[str]:
    """Block paths folded per stack: ["s1.1", "s1.2", "s2.1"] -> ["s1.1-2", "s2.1"].

    >>> block_ranges(["stack1.1", "stack1.2", "stack2.1"])
    ['stack1.1-2', 'stack2.1']
    """
    runs: dict[str, list[str]] = {}
    for module in modules:
        head, _, index = module.rpartition(".")
        runs.setdefault(head, []).append(index)
    return [f"{head}.{ix[0]}" + (f"-{ix[-1]}" if len(ix) > 1 else "") for head, ix in runs.items()]


def facts(report: Report) -> dict[str, Any]:
    """The three claims' truth, read from shapecheck's Report of the homework's model."""
    identity = [b for b in report.blocks if b.shortcut == "identity"]
    grouped = [(name, m) for name, m in report.model.named_modules()
               if isinstance(m, nn.Conv2d) and m.groups > 1]
    return {
        "CLAIM_A_BRANCH_NEVER_REACHED": not identity,
        "CLAIM_B_INPUT_EQUALS_FILTERS_X2": all(b.input_shape[1] == b.output_shape[1]
                                                for b in identity),
        "CLAIM_C_GROUPED_CHANGES_CHANNELS": any(m.in_channels != m.out_channels
                                                for _, m in grouped),
        "identity": identity, "grouped": grouped,
    }


def always_project_params(attempt: Attempt) -> tuple[int, int]:
    """shapecheck's parameter counts of the shipped resnext50(), as it is and with every block
    projecting (built on meta: only the counts are needed)."""
    module, report = attempt.reference().module, attempt.reference().report
    with torch.device("meta"):
        projected = module.resnext50(always_project=True)
    return report.parameters, shapecheck.check(projected, report.input_shapes[0]).parameters


def claims_criterion(attempt: Attempt) -> list[Problem]:
    truth = facts(attempt.reference().report)
    problems: list[Problem] = []
    for name, what in CLAIMS.items():
        given = attempt.answer(name)
        if given is not None and given is not MISSING and not isinstance(given, bool):
            problems.append(Problem(NOT_BOOL(attempt.lang, name=name, given=given),
                                    "answer.wrong", module=name))
            continue
        problems += answer_problem(attempt, name, truth[name], what(attempt.lang))
    return problems


def always_project_criterion(attempt: Attempt) -> list[Problem]:
    plain, projected = always_project_params(attempt)
    extra = projected - plain
    return (answer_problem(attempt, "ALWAYS_PROJECT_EXTRA_PARAMS", extra,
                           EXTRA_WHAT(attempt.lang), same=close_to(0.01))
            + answer_problem(attempt, "ALWAYS_PROJECT_PERCENT", 100 * extra / plain,
                             PERCENT_WHAT(attempt.lang),
                             same=lambda a, b: abs(float(a) - b) <= 0.5))


def explain(attempt: Attempt) -> str:
    lang, report = attempt.lang, attempt.report
    found = facts(report)
    identity, grouped = found["identity"], found["grouped"]
    plain, projected = always_project_params(attempt)
    widths = sorted({b.input_shape[1] for b in identity})
    convs3 = [(n, m) for n, m in report.model.named_modules()
              if n.endswith("conv3") and isinstance(m, nn.Conv2d)]
    first_of = {}
    for name, conv in grouped:  # one example per width
        first_of.setdefault(conv.in_channels, f"{name} {conv.in_channels}->{conv.out_channels}")
    return EXPLAIN(
        lang, blocks=len(report.blocks), params=d.number(report.parameters),
        identity=len(identity), identity_list=d.sep(lang).join(block_ranges([b.module for b in identity])),
        widths=d.sep(lang).join(str(w) for w in widths),
        grouped=d.sep(lang).join(first_of.values()),
        conv3=f"{convs3[0][0]} {convs3[0][1].in_channels}->{convs3[0][1].out_channels}",
        projected=d.number(projected), extra=d.number(projected - plain),
        percent=f"{100 * (projected - plain) / plain:.1f}", n_extra=len(identity))


EXERCISE = Exercise(
    number=17,
    slug="homework-claims",
    title=Text("The homework's second answer, claim by claim", "逐条评判作业的第二篇解答"),
    source=cited(SECOND_ANSWER, Text("three reasons why Add() does not fail, and \"always "
                                     "project\"", "Add() 不报错的三个原因，以及“总是投影”")),
    question=Text(
        en="The second answer page says the identity add may not fail because (a) the "
           "identity branch is never reached, (b) the input happens to equal filters * 2, or "
           "(c) the grouped block changes the channels; and it advises projecting every "
           "shortcut. Check the starter's resnext50() with shapecheck, set each CLAIM_ "
           "constant to True or False, and measure the advice: set ALWAYS_PROJECT_EXTRA_"
           "PARAMS to the parameters it adds and ALWAYS_PROJECT_PERCENT to that as a "
           "percentage of the model's. Keep the model as it is.",
        zh="第二篇解答说，恒等相加不报错可能是因为：(a) 恒等分支根本不会被执行到；(b) 输入恰好"
           "等于 filters * 2；(c) 分组卷积模块改变了通道数；并建议给每个捷径都做投影。请用 "
           "shapecheck 检查起始文件中的 resnext50()，把每个 CLAIM_ 常量设为 True 或 False，再"
           "量一量这条建议：把 ALWAYS_PROJECT_EXTRA_PARAMS 设为它增加的参数量，把 "
           "ALWAYS_PROJECT_PERCENT 设为它占模型参数量的百分比。模型保持不变。"),
    hints=(
        Text("Run shapecheck on the file: how many residual adds have an identity shortcut, "
             "and what are their two shapes?",
             "用 shapecheck 检查这个文件：有多少处残差相加使用恒等捷径？两侧的形状各是什么？"),
        Text("An identity block of a stack with filters f receives 2f channels from the block "
             "before it. Which conv of a block turns f into 2f? Always projecting adds one "
             "c x c 1x1 conv and a BN (2c) to each identity block.",
             "filters 为 f 的 stack 中，恒等块从前一个块收到 2f 个通道。块中哪个卷积把 f 变成了 "
             "2f？总是投影会给每个恒等块加一个 c x c 的 1x1 卷积和一个 BN（2c 个参数）。"),
        Text("(a) False, (b) True, (c) False; the extra parameters are the sum over the 12 "
             "identity blocks of c * c + 2 * c, with c = 256 (2 blocks), 512 (3), 1024 (5) "
             "and 2048 (2).",
             "(a) False，(b) True，(c) False；增加的参数是 12 个恒等块的 c * c + 2 * c 之和，其中 "
             "c = 256（2 个块）、512（3 个）、1024（5 个）、2048（2 个）。"),
    ),
    criteria=(same_blocks_as_reference, structure_kept(), shortcuts_as_reference(),
              plain_shortcuts(), code_kept("Block", "stack", "resnext50"),
              constants_kept("INPUT_SHAPE"), claims_criterion, always_project_criterion),
    explain=explain,
)
