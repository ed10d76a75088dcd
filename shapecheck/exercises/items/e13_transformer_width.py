"""Exercise 13: a transformer residual whose attention projects to the wrong width."""

from __future__ import annotations

from torch import nn

from shapecheck.exercises import describe as d
from shapecheck.exercises.catalog import Exercise
from shapecheck.exercises.grading import Attempt
from shapecheck.exercises.grading import Problem
from shapecheck.exercises.items.common import (node_of_layer, passes_at, same_blocks_as_reference,
                                               same_output_as_reference)
from shapecheck.exercises.items.properties import (branch_ends_in_layer, constants_kept,
                                                   kind_words, plain_shortcuts, structure_kept)
from shapecheck.exercises.text import Text

NOT_IDENTITY = Text("the residual add in {module} goes through {kind}; keep every "
                    "transformer shortcut the identity and fix the branch instead",
                    "{module} 中的残差相加经过了{kind}；Transformer 的捷径应保持恒等，"
                    "请改正分支本身")

EXPLAIN = Text(
    en="""shapecheck's first finding on the starter:
  {starter_finding}
The layers after that add (the next LayerNorm) are built for the model's width, so shapecheck
does not widen the shortcut with a Linear, which every later add, LayerNorm and layer would
then have to follow: its fix rebuilds the attention's output projection at the model's width.
In a transformer the residual stream keeps that width and every branch must come back to it.
In your file the attention's projection is {proj} (output {proj_shape}), and every add is an
identity add of equal shapes:
{adds}
The tokens leave with the width they came in with: {inp} -> {out}.""",
    zh="""shapecheck 对起始文件的第一条诊断：
  {starter_finding}
这次相加之后的层（下一个 LayerNorm）是按模型宽度构建的，所以 shapecheck 不会在捷径上加一个
Linear 把残差流加宽（那样之后的每次相加、每个 LayerNorm 和每一层都得跟着改），而是把注意力的
输出投影改回模型宽度。Transformer 的残差流保持这个宽度不变，每个分支都必须回到这个宽度。
在你的文件中，注意力的输出投影是 {proj}（输出 {proj_shape}），每次相加都是形状相同的恒等相加：
{adds}
词元离开时的宽度与进入时相同：{inp} -> {out}。""")


def identity_criterion(attempt: Attempt) -> list[str]:
    return [Problem(NOT_IDENTITY(attempt.lang, module=a.module,
                                 kind=kind_words(a.shortcut, attempt.lang)),
                    "shortcut.kind", module=a.module, shapes=a.shapes)
            for a in attempt.report.residual_adds if a.shortcut != "identity"]


def explain(attempt: Attempt) -> str:
    report = attempt.report
    proj: nn.Linear = attempt.layer("layer1.attn.proj")
    node = node_of_layer(report, "layer1.attn.proj")
    return EXPLAIN(
        attempt.lang,
        starter_finding=d.finding_sentence(d.first_error(attempt.starter().report), attempt.lang),
        proj=f"Linear({proj.in_features}, {proj.out_features})",
        proj_shape=d.shape(report.nodes[node].shape) if node else "?",
        adds="\n".join(d.adds_lines(report, attempt.lang)), inp=d.shapes(report.input_shapes),
        out=d.shapes(report.output_shapes))


EXERCISE = Exercise(
    number=13,
    slug="transformer-width",
    title=Text("A transformer residual: attention to the wrong width",
               "Transformer 的残差：注意力输出宽度不对"),
    source=Text("beyond the four source pages: the same add in a transformer layer",
                "四个出处之外：Transformer 层中的同一种相加"),
    question=Text(
        en="A pre-norm transformer layer computes x + attn(norm1(x)) and x + mlp(norm2(x)) on "
           "1x16x96 tokens. The starter's attention works in heads * head_dim = 128 dimensions "
           "and its output projection keeps 128. Check it: where does shapecheck find the "
           "mismatch, on which dimension, and what fix does it propose? Fix the model so that "
           "every residual add is an identity add and the output keeps the input's shape, "
           "keeping the attention's 4 heads of 32 dimensions (the checker also runs 8 and 33 "
           "tokens).",
        zh="一个前置归一化（pre-norm）的 Transformer 层在 1x16x96 的词元（token）上计算 x + attn(norm1(x)) 和 "
           "x + mlp(norm2(x))。起始文件中的注意力在 heads * head_dim = 128 维上计算，输出投影"
           "也保持 128 维。检查一下：shapecheck 在哪里发现了不匹配？是哪个维度？它建议怎样修复？"
           "请修正模型，使每次残差相加都是恒等相加，并且输出形状与输入相同；注意力仍保持 4 个头、"
           "每头 32 维（判分时还会用 8 个和 33 个词元运行）。"),
    hints=(
        Text("For token tensors the feature dimension is the last one: compare the two shapes "
             "of the first finding.",
             "对词元张量来说，特征维是最后一维：比较第一条诊断中的两个形状。"),
        Text("Read the finding's last \"because\" line: the layers after the add expect the "
             "model's width. Which layer of the branch decides the width it comes back with?",
             "读一读诊断中最后一条“原因”：相加之后的层期望的是模型宽度。分支返回时的宽度"
             "由分支中的哪一层决定？"),
        Text("Make the output projection map back to the model's width: nn.Linear(inner, dim).",
             "让输出投影映射回模型宽度：nn.Linear(inner, dim)。"),
    ),
    # the attention's output projection is the one layer to change; every add stays an
    # identity add of a branch that ends in its own layer (no slice of a too-wide output),
    # at more than one sequence length
    criteria=(same_blocks_as_reference, same_output_as_reference, identity_criterion,
              structure_kept({"layer?.attn.proj": ("out_features",)}), plain_shortcuts(),
              branch_ends_in_layer(), constants_kept("INPUT_SHAPE"),
              passes_at(((1, 8, 96), (1, 33, 96)))),
    explain=explain,
)
