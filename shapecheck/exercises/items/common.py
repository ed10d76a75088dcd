"""Criteria and facts shared by several exercises, all read from Reports at run time.

A criterion takes an `Attempt` and returns the sentences of what is still wrong (none when
it is met); expected values come from the tool's Report on the shipped reference solution
or on a model built on the spot, never from numbers typed into the exercise.
"""

from __future__ import annotations

from typing import Callable, Iterable, Optional

import torch
from torch import nn

from shapecheck.exercises import describe as d
from shapecheck.exercises.grading import Attempt, Problem
from shapecheck.exercises.text import Text
from shapecheck.report import Block, Report

BLOCK_COUNT = Text("your model has {mine} residual blocks; the exercise's network has {want}",
                   "你的模型有 {mine} 个残差块；本题的网络应有 {want} 个")
BLOCK_DIFFERS = Text("residual block {module}: yours maps {mine_in} -> {mine_out}; in the "
                     "exercise's network it maps {want_in} -> {want_out}",
                     "残差块 {module}：你的是 {mine_in} -> {mine_out}，题目要求的网络是 "
                     "{want_in} -> {want_out}")
SHORTCUT_KIND = Text("the shortcut of {module} is {mine}; it should be {want}",
                     "{module} 的捷径是{mine}捷径，应当是{want}捷径")
NO_BLOCK = Text("there is no residual add in {module} any more; keep the block",
                "{module} 中已经没有残差相加了；请保留这个残差块")
OUTPUT_SHAPE = Text("the model's output is {mine}; it should be {want}",
                    "模型输出为 {mine}，应为 {want}")
SIZE_FAILS = Text("at input {shape}: {problem}", "输入为 {shape} 时：{problem}")


def block_signature(block: Block) -> tuple:
    return block.module, block.input_shape, block.output_shape


def same_blocks_as_reference(attempt: Attempt) -> list[str]:
    """Every residual block has the module, input and output shapes of the reference's."""
    want = [block_signature(b) for b in attempt.reference().report.blocks]
    mine = [block_signature(b) for b in attempt.report.blocks]
    if len(mine) != len(want):
        return [Problem(BLOCK_COUNT(attempt.lang, mine=len(mine), want=len(want)), "blocks.count")]
    for (module, mine_in, mine_out), (_, want_in, want_out) in zip(mine, want):
        if (mine_in, mine_out) != (want_in, want_out):
            return [Problem(BLOCK_DIFFERS(attempt.lang, module=d.module_name(module, attempt.lang),
                                          mine_in=d.shape(mine_in), mine_out=d.shape(mine_out),
                                          want_in=d.shape(want_in), want_out=d.shape(want_out)),
                            "blocks.shape", module=module, shapes=(mine_in, mine_out))]
    return []


def same_output_as_reference(attempt: Attempt) -> list[str]:
    want = attempt.reference().report.output_shapes
    mine = attempt.report.output_shapes
    if mine != want:
        return [Problem(OUTPUT_SHAPE(attempt.lang, mine=d.shapes(mine), want=d.shapes(want)),
                        "output.shape", shapes=tuple(mine))]
    return []


def shortcut_is(module: str, kind: str) -> Callable[[Attempt], list[str]]:
    """A criterion: the residual add in `module` has a shortcut of `kind`."""

    def criterion(attempt: Attempt) -> list[str]:
        add = attempt.add(module)
        if add is None:
            return [Problem(NO_BLOCK(attempt.lang, module=module), "add.missing", module=module)]
        if add.shortcut != kind:
            return [Problem(SHORTCUT_KIND(attempt.lang, module=module,
                                          mine=d.shortcut_kind(add.shortcut, attempt.lang),
                                          want=d.shortcut_kind(kind, attempt.lang)),
                            "shortcut.kind", module=module, shapes=add.shapes)]
        return []

    return criterion


def passes_at(input_shapes: Iterable[tuple[int, ...]],
              factory: Optional[str] = None) -> Callable[[Attempt], list[str]]:
    """A criterion: clean static analysis and a clean real run at each other input (of
    `factory()`, by default the exercise's)."""

    def criterion(attempt: Attempt) -> list[str]:
        problems = []
        for shape in input_shapes:
            report = attempt.analyse(factory, inputs=[shape])
            run = attempt.forward(factory, inputs=[shape])
            first = d.first_error(report)
            if report.error is not None:
                problem, module = report.error.message, None
            elif first is not None:
                problem, module = d.finding_sentence(first, attempt.lang), first.module
            elif not run.ok:
                problem, module = run.error, None
            else:
                continue
            problems.append(Problem(SIZE_FAILS(attempt.lang, shape=d.shape(shape),
                                               problem=problem),
                                    "size.fails", module=module, shapes=(tuple(shape),)))
        return problems

    return criterion


def layers_of(report: Report, kind: type) -> list[tuple[str, nn.Module]]:
    """(path, module) of every layer of type `kind` in the analysed model, in order."""
    if report.model is None:
        return []
    return [(name, m) for name, m in report.model.named_modules() if isinstance(m, kind)]


def grouped_convs(report: Report) -> list[tuple[str, nn.Conv2d]]:
    """The 3x3 (or larger) convolutions of the analysed model, with their paths."""
    return [(name, conv) for name, conv in layers_of(report, nn.Conv2d)
            if max(conv.kernel_size) > 1]


def node_of_layer(report: Report, path: str) -> Optional[str]:
    """The traced node that calls layer `path` (first call)."""
    return next((n.name for n in report.nodes.values()
                 if n.op == "call_module" and n.target == path), None)


def runtime_error_text(a: tuple[int, ...], b: tuple[int, ...]) -> str:
    """What PyTorch says when two tensors of these shapes are added (computed, not quoted)."""
    try:
        out = torch.zeros(a) + torch.zeros(b)
    except RuntimeError as exc:
        return f"RuntimeError: {str(exc).splitlines()[0]}"
    return f"-> {d.shape(tuple(out.shape))}"


GROUPS = Text("{path} has groups={groups} ({width} channels per group); it should have "
              "{want} groups{of}",
              "{path} 的 groups={groups}（每组 {width} 个通道）；应当是 {want} 组{of}")
GROUP_WIDTH = Text(" of {width} channels", "，每组 {width} 个通道")
NO_3X3 = Text("the model has no 3x3 convolution any more; keep the blocks' grouped 3x3 convs",
              "模型中已经没有 3x3 卷积了；请保留各块的分组 3x3 卷积")


def conv_groups_are(want: int, width: Optional[int] = None) -> Callable[[Attempt], list[str]]:
    """A criterion: every 3x3 conv of the model has `want` groups (of `width` channels)."""

    def criterion(attempt: Attempt) -> list[str]:
        convs = grouped_convs(attempt.report)
        if not convs:
            return [Problem(NO_3X3(attempt.lang), "groups.no_conv")]
        problems = []
        for path, conv in convs:
            per_group = conv.in_channels // conv.groups
            if conv.groups != want or (width is not None and per_group != width):
                of = GROUP_WIDTH(attempt.lang, width=width) if width is not None else ""
                problems.append(Problem(GROUPS(attempt.lang, path=path, groups=conv.groups,
                                               width=per_group, want=want, of=of),
                                        "groups", module=path))
        return problems

    return criterion


def conv_params(report: Report, path: str) -> int:
    """The tool's parameter count of layer `path` (NodeInfo.params of the node calling it)."""
    node = node_of_layer(report, path)
    return report.nodes[node].params if node is not None else 0


def conv_macs(report: Report, path: str) -> int:
    node = node_of_layer(report, path)
    return report.nodes[node].macs if node is not None else 0
