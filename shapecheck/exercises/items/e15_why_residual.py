"""Exercise 15: the interview's two conceptual questions, answered by letter and measured.

Why did deep plain nets train worse (degradation, not over-fitting), and why do shortcuts
help the gradient reach the early layers (the identity term of dy/dx)? The explanation
measures the second on the file's own stack, with and without its shortcuts.
"""

from __future__ import annotations

import torch

from shapecheck.exercises import describe as d
from shapecheck.exercises.catalog import Exercise
from shapecheck.exercises.grading import Attempt, single_thread
from shapecheck.exercises.items.choices import choice
from shapecheck.exercises.items.common import same_blocks_as_reference
from shapecheck.exercises.items.properties import (code_kept, constants_kept, plain_shortcuts,
                                                   shortcuts_as_reference, structure_kept)
from shapecheck.exercises.sources import INTERVIEW, cited
from shapecheck.exercises.text import Text

Q1 = Text("why a 56-layer plain net trained worse than a 20-layer one",
          "为什么 56 层的普通网络比 20 层的训练得更差")
Q2 = Text("why a shortcut helps the gradient reach the early layers",
          "为什么捷径能帮助梯度传到前面的层")

DEGRADATION_WRONG = {
    "a": Text("over-fitting shows as a low training error with a high test error, but He et "
              "al. (2016, Fig. 1) found the 56-layer plain net's training error higher than "
              "the 20-layer one's as well: that is degradation, an optimisation problem",
              "过拟合表现为训练误差低而测试误差高；但 He 等人（2016，图 1）发现 56 层普通网络的"
              "训练误差也比 20 层的高：这是退化，是优化问题"),
    "c": Text("memory limits how large a net can be trained at all, not how well a net that "
              "does train fits its training set; the deeper net trained, to a worse error",
              "显存决定的是能否训练，而不是训练得好不好；更深的网络训练得起来，只是误差更高"),
    "d": Text("more data helps against over-fitting; the deeper plain net already fits its "
              "own training set worse, so more images would not close that gap",
              "更多数据能缓解过拟合；而更深的普通网络连训练集都拟合得更差，多给图像也无济于事"),
}
GRADIENT_WRONG = {
    "a": Text("a shortcut changes no learning rate: the optimiser's step size is the same for "
              "every layer; what changes is the gradient itself, dy/dx = I + dF/dx",
              "捷径不改变学习率，优化器对每一层的步长都一样；改变的是梯度本身："
              "dy/dx = I + dF/dx"),
    "b": Text("ResNet keeps BatchNorm in every block; BatchNorm helps training, and the "
              "shortcut adds a path for the gradient beside it",
              "ResNet 的每个块里都保留了 BatchNorm；BatchNorm 有助于训练，捷径则在它旁边多开了"
              "一条梯度通路"),
    "d": Text("the layers in between are still trained: their gradient is dF/dx along the "
              "branch, and the identity path is added to it, not put in its place",
              "中间的层照样训练：它们沿分支得到 dF/dx 的梯度，恒等通路是加在它之上的，而不是取而代之"),
}

EXPLAIN = Text(
    en="""Q1: degradation. A deeper net could copy a shallower one and make its extra layers
identities, so its training error should be no worse; He et al. found it worse. The solver
fails to find that identity solution; a residual block makes it easy, since F(x) = 0 is the
identity. It is not over-fitting: the training error itself is higher.
Q2, measured on your file: the same {depth} layers of Linear + tanh at {width} features, with
and without their shortcuts (shapecheck finds {adds} identity adds in yours), the same
weights and input. Gradient norm at the first layer's weight:
  with shortcuts:    {residual}
  without shortcuts: {plain}   ({ratio} times smaller)
Without shortcuts the gradient is a product of {depth} Jacobians, each shrinking it; with
them each block contributes I + dF/dx, and the identity term carries the gradient through.""",
    zh="""问题 1：退化。更深的网络本可以复制浅层网络、把多出的层设为恒等映射，训练误差不应更差；
He 等人却发现它更差。优化器找不到这个恒等解；残差块让它变得容易，因为 F(x) = 0 就是恒等映射。
这不是过拟合：连训练误差本身都更高。
问题 2，在你的文件上测量：同样的 {depth} 层 Linear + tanh、{width} 个特征，分别带和不带捷径
（shapecheck 在你的模型中找到 {adds} 处恒等相加），权重和输入相同。第一层权重上的梯度范数：
  带捷径：  {residual}
  不带捷径：{plain}（小了 {ratio} 倍）
没有捷径时，梯度是 {depth} 个雅可比矩阵的乘积，每一个都让它变小；有了捷径，每个块贡献的是
I + dF/dx，其中的恒等项把梯度传了过去。""")


def first_layer_gradients(module, seed: int = 0) -> tuple[float, float]:
    """The gradient norm at the first layer's weight, with and without the shortcuts, for
    the same seeded weights and input (the reference file's Stack, not learner code)."""
    torch.manual_seed(seed)
    residual, plain = module.Stack(residual=True), module.Stack(residual=False)
    plain.load_state_dict(residual.state_dict())
    x = torch.randn(module.INPUT_SHAPE)
    norms = []
    with single_thread():
        for net in (residual, plain):
            net(x).pow(2).mean().backward()
            norms.append(float(net.layers[0][0].weight.grad.norm()))
    return norms[0], norms[1]


def explain(attempt: Attempt) -> str:
    module = attempt.reference().module
    residual, plain = first_layer_gradients(module)
    adds = sum(1 for a in attempt.report.residual_adds if a.shortcut == "identity")
    return EXPLAIN(attempt.lang, depth=module.DEPTH, width=module.WIDTH, adds=adds,
                   residual=f"{residual:.3g}", plain=f"{plain:.3g}",
                   ratio=f"{residual / plain:.2g}" if plain else "∞")


EXERCISE = Exercise(
    number=15,
    slug="why-residual",
    title=Text("Why residual? Degradation and the gradient's identity path",
               "为什么要残差？退化问题与梯度的恒等通路"),
    source=cited(INTERVIEW, Text("the two interview questions", "两道面试题")),
    question=Text(
        en="The interview page asks: why could networks not simply be made deeper before "
           "ResNet, and why do shortcuts help the gradient flow? Answer both by setting "
           "DEEP_PLAIN_NETS and SHORTCUTS_HELP to the letter of the right option in the "
           "starter's comments. Keep the model as it is: the checker measures your second "
           "answer on it, the gradient at the first layer with and without the shortcuts.",
        zh="面试页面问：在 ResNet 之前，为什么不能简单地把网络加深？捷径为什么有助于梯度传播？"
           "请把 DEEP_PLAIN_NETS 和 SHORTCUTS_HELP 分别设为起始文件注释中正确选项的字母。模型"
           "保持不变：判分程序会在它上面验证你的第二个答案，比较带与不带捷径时第一层的梯度。"),
    hints=(
        Text("Over-fitting means a low training error and a high test error. Which error did "
             "the deeper plain net have higher?",
             "过拟合意味着训练误差低、测试误差高。更深的普通网络是哪一种误差更高？"),
        Text("Differentiate y = x + F(x) with respect to x. What does the x term contribute, "
             "whatever F's Jacobian is?",
             "对 y = x + F(x) 关于 x 求导。不论 F 的雅可比矩阵是什么，x 这一项贡献了什么？"),
        Text("DEEP_PLAIN_NETS = \"b\" (degradation) and SHORTCUTS_HELP = \"c\" (the identity "
             "term of dy/dx).",
             "DEEP_PLAIN_NETS = \"b\"（退化），SHORTCUTS_HELP = \"c\"（dy/dx 中的恒等项）。"),
    ),
    criteria=(choice("DEEP_PLAIN_NETS", "b", DEGRADATION_WRONG, Q1),
              choice("SHORTCUTS_HELP", "c", GRADIENT_WRONG, Q2),
              same_blocks_as_reference, structure_kept(), shortcuts_as_reference(),
              plain_shortcuts(), code_kept("Stack"),
              constants_kept("INPUT_SHAPE", "WIDTH", "DEPTH")),
    explain=explain,
)
