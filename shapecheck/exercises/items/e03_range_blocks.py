"""Exercise 3: the homework's `stack()` loops `range(blocks)` after its first block."""

from __future__ import annotations

from torch import nn

import shapecheck
from shapecheck.exercises import describe as d
from shapecheck.exercises.catalog import Exercise
from shapecheck.exercises.grading import Attempt, Problem, answer_problem, call_learner
from shapecheck.exercises.items.common import same_blocks_as_reference
from shapecheck.exercises.items.properties import (constants_kept, plain_shortcuts,
                                                   shortcuts_as_reference, structure_kept)
from shapecheck.exercises.text import Text
from shapecheck.report import Report

STACKS = ("stack1", "stack2", "stack3")
REQUIRED = 2  # the exercise's network: two residual blocks per stack
ANSWER = "SEED_STACK_BLOCKS_FOR_3"

COUNT = Text("{stack} has {mine} residual blocks (shapecheck counts {mine} residual adds in "
             "it); it should have {want}",
             "{stack} 有 {mine} 个残差块（shapecheck 在其中数到 {mine} 处残差相加）；应当是 {want} 个")
ANSWER_WHAT = Text("the number of residual blocks that the homework's stack() builds for blocks=3",
                   "作业代码的 stack() 在 blocks=3 时构建的残差块数")

EXPLAIN = Text(
    en="""shapecheck finds one residual add per block. In your file:
{per_stack}
{total} residual adds in all, {projections} of them through a projection (one per stack).
The homework's stack() itself, called with blocks=3 and checked by shapecheck:
  {seed_adds} residual adds: {seed_kinds}
The first block is built before the loop, and range(blocks) then adds blocks more, so
stack(blocks=n) builds n + 1 blocks. A Keras ResNeXt-50 written with it must pass
blocks = 2, 3, 5, 2 to get the paper's 3, 4, 6, 3.""",
    zh="""shapecheck 在每个残差块里找到一处残差相加。你的文件中：
{per_stack}
共 {total} 处残差相加，其中 {projections} 处经过投影捷径（每个 stack 一处）。
作业代码的 stack() 本身，以 blocks=3 调用并由 shapecheck 检查：
  {seed_adds} 处残差相加：{seed_kinds}
第一个块在循环之前就已构建，range(blocks) 又添加了 blocks 个，所以 stack(blocks=n) 会构建
n + 1 个块。用它写 Keras ResNeXt-50 时，要传 blocks = 2、3、5、2 才能得到论文中的
3、4、6、3。""")


def adds_in(report: Report, stack: str) -> int:
    return sum(1 for a in report.residual_adds if a.module.startswith(stack + "."))


def count_criterion(attempt: Attempt) -> list[str]:
    return [Problem(COUNT(attempt.lang, stack=s, mine=adds_in(attempt.report, s), want=REQUIRED),
                    "blocks.count", module=s)
            for s in STACKS if adds_in(attempt.report, s) != REQUIRED]


STACK_SIZES = (1, 2, 3)
STACK_BUILDS = Text("your stack(blocks={n}) builds {mine} residual blocks (shapecheck counts "
                    "{mine} residual adds); stack(blocks=n) must build n",
                    "你的 stack(blocks={n}) 构建了 {mine} 个残差块（shapecheck 数到 {mine} 处残差"
                    "相加）；stack(blocks=n) 应当恰好构建 n 个")


def stack_criterion(attempt: Attempt) -> list[Problem]:
    """The learner's stack() itself builds `blocks` blocks, for several values: fixing the
    count in build() (blocks - 1 at each call) leaves the homework's bug in stack()."""
    problems = []
    for n in STACK_SIZES:
        model = call_learner(f"stack(16, 8, {n}, strides=1, groups=4)", attempt.module.stack,
                             16, 8, n, strides=1, groups=4)
        report = shapecheck.check(nn.Sequential(model), (1, 16, 8, 8), lang=attempt.lang)
        if len(report.residual_adds) != n:
            problems.append(Problem(STACK_BUILDS(attempt.lang, n=n,
                                                 mine=len(report.residual_adds)),
                                    "stack.count", module="stack"))
    return problems


def seed_stack_report(attempt: Attempt) -> Report:
    """shapecheck's Report on the starter's (the homework's) stack() with blocks=3."""
    seed_stack = attempt.starter().module.stack
    model = nn.Sequential(seed_stack(16, 8, 3, strides=1, groups=4))
    return shapecheck.check(model, (1, 16, 8, 8), lang=attempt.lang)


def answer_criterion(attempt: Attempt) -> list[str]:
    expected = len(seed_stack_report(attempt).residual_adds)
    return answer_problem(attempt, ANSWER, expected, ANSWER_WHAT(attempt.lang))


def explain(attempt: Attempt) -> str:
    report = attempt.report
    seed = seed_stack_report(attempt)
    kinds = [d.shortcut_kind(a.shortcut, attempt.lang) for a in seed.residual_adds]
    per_stack = []
    for s in STACKS:
        adds = [a for a in report.residual_adds if a.module.startswith(s + ".")]
        per_stack.append(f"  {s}: " + d.sep(attempt.lang).join(
            a.module + d.parenthesised(d.shortcut_kind(a.shortcut, attempt.lang), attempt.lang)
            for a in adds))
    return EXPLAIN(
        attempt.lang, per_stack="\n".join(per_stack), total=len(report.residual_adds),
        projections=sum(1 for a in report.residual_adds if a.shortcut != "identity"),
        seed_adds=len(seed.residual_adds), seed_kinds=d.sep(attempt.lang).join(kinds))


EXERCISE = Exercise(
    number=3,
    slug="range-blocks",
    title=Text("range(blocks) builds blocks + 1 blocks", "range(blocks) 构建了 blocks + 1 个块"),
    source=Text("the 365天深度学习训练营 (365-day deep-learning boot camp) J6/J7 ResNeXt homework and its two answer pages: the Keras stack()",
                "365天深度学习训练营 J6/J7 的 ResNeXt 作业及其两篇解答：Keras 的 stack()"),
    question=Text(
        en="The starter is a small ResNeXt written with the homework's stack(). It is meant to "
           "have BLOCKS_PER_STACK = 2 residual blocks in each of its three stacks, six in all. "
           "Run shapecheck on it and count the residual adds per stack. Fix the network so "
           "that every stack has exactly two blocks by fixing stack() itself (stack(blocks=n) "
           "must build n blocks; BLOCKS_PER_STACK stays 2), and set SEED_STACK_BLOCKS_FOR_3 to the "
           "number of blocks that the homework's stack() builds when called with blocks=3.",
        zh="起始文件是用作业代码的 stack() 写的一个小型 ResNeXt，本应在三个 stack 中各有 "
           "BLOCKS_PER_STACK = 2 个残差块，共 6 个。用 shapecheck 检查它，数一数每个 stack "
           "里的残差相加。请修正 stack() 本身（stack(blocks=n) 应当恰好构建 n 个块，"
           "BLOCKS_PER_STACK 仍为 2），使每个 stack 恰好有两个块；并把 SEED_STACK_BLOCKS_FOR_3 "
           "设为作业代码的 stack() 在 blocks=3 时构建的块数。"),
    hints=(
        Text("shapecheck reports one residual add per block: compare the count per stack "
             "(the module paths stack1.0, stack1.1, ...) with BLOCKS_PER_STACK.",
             "每个残差块对应一处残差相加：把每个 stack 中的数量（模块路径 stack1.0、stack1.1 ……）"
             "与 BLOCKS_PER_STACK 比较。"),
        Text("One block is built before the loop; how many times does `for i in "
             "range(blocks)` run?",
             "循环之前已经构建了一个块；`for i in range(blocks)` 又会执行多少次？"),
        Text("Loop over range(blocks - 1) in stack(); stack(blocks=3) as the seed writes it "
             "builds 4 blocks.",
             "在 stack() 中改为 range(blocks - 1)；按作业代码的写法，stack(blocks=3) 会构建 "
             "4 个块。"),
    ),
    # the last block of each stack goes; the rest, and the shortcut kinds, stay the starter's
    criteria=(count_criterion, same_blocks_as_reference,
              structure_kept({"stack?.2.*": None}), shortcuts_as_reference(), plain_shortcuts(),
              constants_kept("BLOCKS_PER_STACK", "INPUT_SHAPE"), stack_criterion,
              answer_criterion),
    explain=explain,
)
