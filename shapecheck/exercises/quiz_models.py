"""The models the quiz asks about: the reference models, the seed ports, the exercise models.

`models/` and `examples/` live in the repository next to the package (they are found when
shapecheck runs from a checkout or an editable install); the exercise starters and
solutions ship with the package, so the quiz always has models to ask about.

    >>> names = [m.name for m in available()]
    >>> "ex02_keras_resnext" in names
    True
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from shapecheck.exercises.catalog import PACKAGE_DIR
from shapecheck.exercises.text import Text

REPOSITORY = PACKAGE_DIR.parent.parent  # shapecheck/exercises -> shapecheck -> checkout
IMAGENET = (128, 160, 192, 224)


@dataclass(frozen=True)
class QuizModel:
    """A model to ask about: `path:factory` under `root`, and the inputs to draw from.

    `sizes` are square resolutions (one is drawn with the seed); `buggy` models have a
    residual add that fails, and get "which add fails?" questions instead of structure ones.
    """

    name: str
    root: str  # "repo" (relative to the checkout) or "package" (the exercises folder)
    path: str
    factory: str
    channels: int
    sizes: tuple[int, ...]
    about: Text
    buggy: bool = False

    def file(self) -> Path:
        base = REPOSITORY if self.root == "repo" else PACKAGE_DIR
        return base / self.path

    def spec(self) -> str:
        return f"{self.file()}:{self.factory}"


def _resnet(name: str, about: Text) -> QuizModel:
    return QuizModel(name, "repo", "models/resnet.py", name, 3, IMAGENET, about)


MODELS: tuple[QuizModel, ...] = (
    _resnet("resnet18", Text("ResNet-18 (He et al. 2016, Table 1)", "ResNet-18（He 等 2016，表 1）")),
    _resnet("resnet34", Text("ResNet-34 (He et al. 2016, Table 1)", "ResNet-34（He 等 2016，表 1）")),
    _resnet("resnet50", Text("ResNet-50, bottleneck blocks", "ResNet-50，瓶颈块")),
    _resnet("resnet101", Text("ResNet-101, bottleneck blocks", "ResNet-101，瓶颈块")),
    _resnet("resnet152", Text("ResNet-152, bottleneck blocks", "ResNet-152，瓶颈块")),
    _resnet("resnext50_32x4d", Text("ResNeXt-50 32x4d", "ResNeXt-50 32x4d")),
    _resnet("wide_resnet50_2", Text("Wide ResNet-50-2", "Wide ResNet-50-2")),
    QuizModel("preact_resnet18", "repo", "models/preact_resnet.py", "preact_resnet18", 3, IMAGENET,
              Text("pre-activation ResNet-18 (He et al. 2016b)", "预激活 ResNet-18（He 等 2016b）")),
    QuizModel("d2l_resnet18", "repo", "models/d2l_resnet.py", "d2l_resnet18", 1, (64, 96),
              Text("d2l.ai's ResNet-18 for Fashion-MNIST", "d2l.ai 用于 Fashion-MNIST 的 ResNet-18")),
    QuizModel("interview_resnet18", "repo", "examples/interview_resnet.py", "resnet18", 1, (64, 96),
              Text("the ResNet-18 of the interview page 【CV面试必会】深度学习网络之Resnet",
                   "面试页面《【CV面试必会】深度学习网络之Resnet》中的 ResNet-18")),
    QuizModel("interview_misplaced_first_block", "repo", "examples/interview_resnet.py",
              "resnet18_misplaced_first_block", 1, (64, 96),
              Text("the interview ResNet-18 with b3 built as first_block=True",
                   "b3 误用 first_block=True 的面试版 ResNet-18"), buggy=True),
    QuizModel("cifar_resnext29", "repo", "examples/cifar_resnext.py", "cifar_resnext29", 3, (32,),
              Text("ResNeXt-29 8x64d for CIFAR (the article ResNeXt与分组卷积)", "用于 CIFAR 的 ResNeXt-29 8x64d（《ResNeXt与分组卷积》）")),
    QuizModel("cifar_resnext_equal_width_stride2", "repo", "examples/cifar_resnext.py",
              "cifar_resnext_equal_width_stride2", 3, (32,),
              Text("CIFAR ResNeXt whose stage 2 keeps its width with stride 2",
                   "第 2 阶段保持通道数却有步幅 2 的 CIFAR ResNeXt"), buggy=True),
    QuizModel("ex02_keras_resnext", "package", "solutions/02_keras_shortcut.py", "build", 3,
              (64, 96, 128),
              Text("the Keras-style ResNeXt of exercise 2", "练习 2 中的 Keras 风格 ResNeXt")),
    QuizModel("ex02_keras_simplified", "package", "starters/02_keras_shortcut.py", "build", 3,
              (64, 96), Text("exercise 2's starter: stack2 without projections",
                             "练习 2 的起始文件：stack2 没有投影"), buggy=True),
    QuizModel("ex04_cifar_resnext", "package", "solutions/04_cifar_stride.py", "build", 3, (32, 64),
              Text("the small CIFAR ResNeXt of exercise 4", "练习 4 中的小型 CIFAR ResNeXt")),
    QuizModel("ex12_preact", "package", "solutions/12_preact_order.py", "build", 3, (32, 64),
              Text("the small pre-activation ResNet of exercise 12", "练习 12 中的小型预激活 ResNet")),
)


def available() -> list[QuizModel]:
    """The models whose files exist here (repository models need a checkout)."""
    return [m for m in MODELS if m.file().exists()]


def find_model(name: str) -> Optional[QuizModel]:
    return next((m for m in available() if m.name == name), None)
