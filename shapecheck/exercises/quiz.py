"""`shapecheck quiz`: interview questions about real models, generated and graded from Reports.

A model is analysed once; questions are drawn with a seeded `random.Random` from what its
Report says (block shapes, shortcut kinds, residual adds, parameter counts, the failing add
of a buggy model), answers are read from a terminal, a file or standard input, and every
answer is explained from the same Report.

    >>> quiz = make_quiz("ex04_cifar_resnext", seed=1, count=2, lang="en")  # doctest: +SKIP
    >>> [q.kind for q in quiz.questions]  # doctest: +SKIP
    ['adds', 'block_output']
"""

from __future__ import annotations

import os
import random
import re
import sys
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Optional, TextIO

from shapecheck.exercises import describe as d
from shapecheck.exercises.quiz_models import QuizModel, available, find_model
from shapecheck.exercises.text import Text, ui
from shapecheck.load.targets import LoadedTarget
from shapecheck.report import Block, Finding, Report, Shape

Q = {
    "block_output": Text("For a {input} input, what is the output shape of block {module} of "
                         "{model}? (e.g. 1x64x56x56)",
                         "输入为 {input} 时，{model} 中残差块 {module} 的输出形状是什么？"
                         "（例如 1x64x56x56）"),
    "projections": Text("Which residual blocks of {model} need a projection shortcut rather than "
                        "the identity? List their module paths separated by commas, or 'none'.",
                        "{model} 中哪些残差块需要投影捷径而不是恒等捷径？请列出它们的模块路径，"
                        "用逗号分隔；若没有请答“无”。"),
    "adds": Text("How many residual adds does {model} have?", "{model} 共有多少处残差相加？"),
    "block_params": Text("How many parameters does block {module} of {model} have, both branches "
                         "and BatchNorm included? (within 1% counts)",
                         "{model} 中残差块 {module} 有多少个参数（含两条分支和 BatchNorm）？"
                         "（误差 1% 以内算对）"),
    "downsample": Text("By what factor does block {module} of {model} shrink the height and "
                       "width? (1 if it keeps them)",
                       "{model} 中残差块 {module} 把高和宽缩小为原来的几分之一？（不变则答 1）"),
    "block_macs": Text("For a {input} input, how many multiply-accumulates does block {module} "
                       "of {model} take? (within 1% counts; e.g. 115.6M)",
                       "输入为 {input} 时，{model} 中残差块 {module} 需要多少次乘加运算？"
                       "（误差 1% 以内算对，例如 115.6M）"),
    "conv_size": Text("In {model}, {layer} is a {kernel}x{kernel} conv with stride {stride} and "
                      "padding {padding}, and receives a {size} map. What size does it output? "
                      "(e.g. 28x28)",
                      "{model} 中的 {layer} 是 {kernel}x{kernel} 卷积，步幅 {stride}、填充 "
                      "{padding}，输入特征图为 {size}。它输出的尺寸是多少？（例如 28x28）"),
    "output": Text("What is the output shape of {model} for a {input} input?",
                   "输入为 {input} 时，{model} 的输出形状是什么？"),
    "failing": Text("For a {input} input, one residual add of {model} fails. In which module "
                    "is it? (a module path such as layer2.0)",
                    "输入为 {input} 时，{model} 中有一处残差相加会出错。它在哪个模块中？"
                    "（模块路径，例如 layer2.0）"),
    "fix": Text("{model}'s residual add in {module} fails. Which 1x1 projection fixes it? "
                "Answer in_channels, out_channels, stride (e.g. 64, 128, 2).",
                "{model} 在 {module} 中的残差相加出错。哪个 1x1 投影可以修复它？请回答"
                "输入通道数、输出通道数、步幅（例如 64, 128, 2）。"),
}

WHY = {
    "block": Text("Report.blocks[{index}] is {module}: {inp} -> {out} ({kind} shortcut); "
                  "its add is main {main} + shortcut {short}.",
                  "Report.blocks[{index}] 即 {module}：{inp} -> {out}，经过{kind}捷径；相加时"
                  "主分支 {main} + 捷径 {short}。"),
    # only what changes is said to change: "the size 32x32 -> 32x32" is not a change
    "change_both": Text("It changes the channels {c_in} -> {c_out} and the size {s_in} -> "
                        "{s_out}.",
                        "它把通道数从 {c_in} 变为 {c_out}，尺寸从 {s_in} 变为 {s_out}。"),
    "change_channels": Text("It changes the channels {c_in} -> {c_out} and keeps the size "
                            "({s_in}).",
                            "它把通道数从 {c_in} 变为 {c_out}，尺寸（{s_in}）保持不变。"),
    "change_size": Text("It keeps the channels ({c_in}) and changes the size {s_in} -> {s_out}.",
                        "它保持通道数（{c_in}）不变，把尺寸从 {s_in} 变为 {s_out}。"),
    "keep": Text("It keeps the channels ({c_in}) and the size ({s_in}).",
                 "它保持通道数（{c_in}）和尺寸（{s_in}）不变。"),
    "projections": Text("A block needs a projection exactly when its output shape differs from "
                        "its input's. shapecheck finds {n} such blocks of {total}: {list}.",
                        "当且仅当块的输出形状与输入不同时才需要投影。shapecheck 在 {total} "
                        "个块中找到 {n} 个：{list}。"),
    "adds": Text("One add per residual block: {n} in all, {identity} identity and {other} "
                 "through a projection. Per stage: {stages}.",
                 "每个残差块一处相加：共 {n} 处，其中恒等 {identity} 处、投影 {other} 处。"
                 "各阶段：{stages}。"),
    "params": Text("Report.blocks[{index}].params = {params}, from its layers: {layers}.",
                   "Report.blocks[{index}].params = {params}，由以下各层组成：{layers}。"),
    "macs": Text("Report.blocks[{index}].macs = {macs}, from its layers: {layers}. A conv "
                 "costs k*k*c_in*c_out/groups per output pixel, so a layer at a quarter of the "
                 "map size costs a quarter as much.",
                 "Report.blocks[{index}].macs = {macs}，由以下各层组成：{layers}。卷积在每个"
                 "输出像素上的代价是 k*k*c_in*c_out/groups，所以特征图面积缩小到四分之一时，"
                 "代价也降为四分之一。"),
    "conv_size": Text("floor((n + 2*{padding} - {kernel}) / {stride}) + 1 on each side: {terms}, "
                      "as shapecheck propagates it ({shape_in} -> {shape_out}).",
                      "每一边都是 floor((n + 2*{padding} - {kernel}) / {stride}) + 1：{terms}；"
                      "shapecheck 推导的结果同样是 {shape_in} -> {shape_out}。"),
    "output": Text("Report.output_shapes: {out}. The last block returns {last}; pooling and "
                   "the classifier follow.",
                   "Report.output_shapes：{out}。最后一个块输出 {last}，之后是池化和分类器。"),
    "failing": Text("shapecheck's finding: {finding}", "shapecheck 的诊断：{finding}"),
}

NONE_WORDS = {"none", "no", "nothing", "-", "无", "没有", "空"}
SCALE = {"k": 1e3, "m": 1e6, "g": 1e9, "b": 1e9, "万": 1e4, "亿": 1e8, "千": 1e3}


@dataclass
class Question:
    """One question: its text, the expected answer as shown, a grader and the explanation."""

    kind: str
    key: tuple
    text: str
    answer: str
    grade: Callable[[str], bool]
    explanation: str


@dataclass
class Quiz:
    model: QuizModel
    report: Report
    seed: int
    input_shape: Shape
    questions: list[Question] = field(default_factory=list)


# -- answer parsing ----------------------------------------------------------------------------

def ints(text: str) -> list[int]:
    """Every integer in an answer: "1 x 64 x 56 x 56", "[1, 64, 56, 56]" -> [1, 64, 56, 56]."""
    return [int(n) for n in re.findall(r"\d+", text.replace(",", " ").replace("_", ""))]


def number(text: str) -> Optional[float]:
    """A count as people write it: "69,632", "69_632", "1.18M", "118万", "1.2e6".

    >>> number("1.18M"), number("69,632"), number("118万")
    (1180000.0, 69632.0, 1180000.0)
    """
    cleaned = text.strip().lower().replace(",", "").replace("_", "").replace(" ", "")
    match = re.fullmatch(r"([0-9]*\.?[0-9]+(?:e[0-9]+)?)([kmgb万亿千]?)", cleaned)
    if not match:
        return None
    return float(match.group(1)) * SCALE.get(match.group(2), 1)


def modules(text: str) -> set[str]:
    parts = {p.strip().strip(".") for p in re.split(r"[,，、;；\s]+", text) if p.strip()}
    return set() if parts & NONE_WORDS or not parts else parts


def shape_grader(expected: Shape) -> Callable[[str], bool]:
    """Right when the answer lists the shape, with or without the batch dimension."""
    return lambda answer: ints(answer) in (list(expected), list(expected[1:]))


# -- question generators ---------------------------------------------------------------------

class Context:
    """What generators need: the report, the model's name in the text, the rng, the language."""

    def __init__(self, quiz: Quiz, rng: random.Random, lang: str) -> None:
        self.quiz, self.rng, self.lang = quiz, rng, lang
        self.report = quiz.report
        self.name = quiz.model.name
        self.input = d.shape(quiz.input_shape)

    def pick_block(self) -> tuple[int, Block]:
        index = self.rng.randrange(len(self.report.blocks))
        return index, self.report.blocks[index]

    def block_why(self, index: int, block: Block) -> str:
        add = self.report.residual_adds[index]
        text = WHY["block"](self.lang, index=index, module=block.module,
                            inp=d.shape(block.input_shape), out=d.shape(block.output_shape),
                            kind=d.shortcut_kind(block.shortcut, self.lang),
                            main=d.shape(add.shapes[0]), short=d.shape(add.shapes[1]))
        c_in, c_out = block.input_shape[1], block.output_shape[1]
        s_in, s_out = _size(block.input_shape), _size(block.output_shape)
        key = {(False, False): "keep", (True, False): "change_channels",
               (False, True): "change_size", (True, True): "change_both"}[
            (c_in != c_out, s_in != s_out)]
        return text + " " + WHY[key](self.lang, c_in=c_in, c_out=c_out, s_in=s_in, s_out=s_out)


def _size(shape: Shape) -> str:
    return "x".join(str(s) for s in shape[2:]) or "-"


def q_block_output(c: Context) -> Question:
    index, block = c.pick_block()
    return Question("block_output", ("block_output", block.module),
                    Q["block_output"](c.lang, input=c.input, module=block.module, model=c.name),
                    d.shape(block.output_shape), shape_grader(block.output_shape),
                    c.block_why(index, block))


def q_projections(c: Context) -> Question:
    blocks = c.report.blocks
    expected = {b.module for b in blocks if b.shortcut != "identity"}
    listed = d.sep(c.lang).join(
        f"{b.module} ({d.shape(b.input_shape)} -> {d.shape(b.output_shape)})"
        for b in blocks if b.module in expected) or ui("none", c.lang)
    return Question("projections", ("projections",),
                    Q["projections"](c.lang, model=c.name),
                    ", ".join(sorted(expected)) or ui("none", c.lang),
                    lambda answer: modules(answer) == expected,
                    WHY["projections"](c.lang, n=len(expected), total=len(blocks), list=listed))


def q_adds(c: Context) -> Question:
    adds = c.report.residual_adds
    stages: dict[str, int] = {}
    for a in adds:
        stages[a.module.split(".")[0]] = stages.get(a.module.split(".")[0], 0) + 1
    identity = sum(1 for a in adds if a.shortcut == "identity")
    return Question("adds", ("adds",), Q["adds"](c.lang, model=c.name), str(len(adds)),
                    lambda answer: number(answer) == len(adds),
                    WHY["adds"](c.lang, n=len(adds), identity=identity, other=len(adds) - identity,
                                stages=d.sep(c.lang).join(f"{k} {v}" for k, v in stages.items())))


def q_block_params(c: Context) -> Question:
    index, block = c.pick_block()
    seen, layers = set(), []
    for name in block.nodes:
        info = c.report.nodes.get(name)
        if info and info.op == "call_module" and info.params and info.target not in seen:
            seen.add(info.target)
            layers.append(f"{info.target.removeprefix(block.module + '.')} {d.number(info.params)}")

    def grade(answer: str) -> bool:
        value = number(answer)
        return value is not None and abs(value - block.params) <= 0.01 * block.params

    return Question("block_params", ("block_params", block.module),
                    Q["block_params"](c.lang, module=block.module, model=c.name),
                    d.number(block.params), grade,
                    WHY["params"](c.lang, index=index, params=d.number(block.params),
                                  layers=d.sep(c.lang).join(layers)))


def q_block_macs(c: Context) -> Question:
    index, block = c.pick_block()
    seen, layers = set(), []
    for name in block.nodes:
        info = c.report.nodes.get(name)
        if info and info.op == "call_module" and info.macs and info.target not in seen:
            seen.add(info.target)
            layers.append(f"{info.target.removeprefix(block.module + '.')} {d.number(info.macs)}")

    def grade(answer: str) -> bool:
        value = number(answer)
        return value is not None and abs(value - block.macs) <= 0.01 * block.macs

    return Question("block_macs", ("block_macs", block.module),
                    Q["block_macs"](c.lang, input=c.input, module=block.module, model=c.name),
                    d.number(block.macs), grade,
                    WHY["macs"](c.lang, index=index, macs=d.number(block.macs),
                                layers=d.sep(c.lang).join(layers)))


def _convs(report: Report) -> list[tuple[str, Any, Shape, Shape]]:
    """(path, conv, input shape, output shape) of every 2-d conv that changes the size or
    has a kernel larger than 1: the ones whose arithmetic is worth asking about."""
    import torch.nn as nn

    found = []
    for info in report.nodes.values():
        if info.op != "call_module" or report.model is None or not info.inputs:
            continue
        module = report.model.get_submodule(info.target)
        before = report.nodes.get(info.inputs[0])
        if not isinstance(module, nn.Conv2d) or before is None or before.shape is None \
                or info.shape is None or isinstance(module.padding, str):
            continue
        if module.kernel_size[0] > 1 or module.stride[0] > 1:
            found.append((info.target, module, before.shape, info.shape))
    return found


def q_conv_size(c: Context) -> Question:
    convs = _convs(c.report)
    strided = [x for x in convs if x[1].stride[0] > 1] or convs
    path, conv, before, after = c.rng.choice(strided)
    k, s, p = conv.kernel_size[0], conv.stride[0], conv.padding[0]
    size_in, size_out = _size(before), _size(after)
    terms = d.sep(c.lang).join(f"floor(({n} + {2 * p} - {k}) / {s}) + 1 = {m}"
                      for n, m in zip(before[2:], after[2:]))
    return Question("conv_size", ("conv_size", path),
                    Q["conv_size"](c.lang, model=c.name, layer=path, kernel=k, stride=s,
                                   padding=p, size=size_in),
                    size_out, lambda answer: ints(answer)[-2:] == list(after[2:]),
                    WHY["conv_size"](c.lang, padding=p, kernel=k, stride=s, terms=terms,
                                     shape_in=d.shape(before), shape_out=d.shape(after)))


def q_downsample(c: Context) -> Question:
    index, block = c.pick_block()
    factor = block.input_shape[-1] // block.output_shape[-1]
    return Question("downsample", ("downsample", block.module),
                    Q["downsample"](c.lang, module=block.module, model=c.name), str(factor),
                    lambda answer: number(answer) == factor, c.block_why(index, block))


def q_output(c: Context) -> Question:
    out = c.report.output_shapes[0]
    last = c.report.blocks[-1].output_shape if c.report.blocks else None
    return Question("output", ("output",), Q["output"](c.lang, model=c.name, input=c.input),
                    d.shape(out), shape_grader(out),
                    WHY["output"](c.lang, out=d.shapes(c.report.output_shapes), last=d.shape(last)))


def _failing(report: Report) -> Finding:
    return next(f for f in report.errors if f.code.startswith("SC1"))


def q_failing(c: Context) -> Question:
    finding = _failing(c.report)
    return Question("failing", ("failing",), Q["failing"](c.lang, input=c.input, model=c.name),
                    finding.module,
                    lambda answer: answer.strip().strip(".") == finding.module,
                    WHY["failing"](c.lang, finding=d.finding_sentence(finding, c.lang)))


def proven_fix(report: Report) -> Optional[Finding]:
    """The failing add whose suggested 1x1 projection, applied alone, gives a model that
    shapecheck finds clean; None when there is no such fix (then no fix question is asked).

    The misplaced `first_block` model is the case in point: a projection makes b3.0's add
    match, but conv1 still receives 64 channels where it was built for 128, so the
    projection is not the fix (first_block=False is).

        >>> quiz = make_quiz("ex02_keras_simplified", seed=1, count=1)  # doctest: +SKIP
        >>> proven_fix(quiz.report).module  # doctest: +SKIP
        'stack2.0'
    """
    import shapecheck

    errors = report.errors
    if len(errors) != 1 or not errors[0].code.startswith("SC1"):
        return None
    fix = errors[0].fix
    if fix is None or not fix.verified or fix.kind != "projection" or not fix.on_shortcut:
        return None
    if report.patched_graph_module is None:
        return None
    patched = shapecheck.check(report.patched_graph_module, list(report.input_shapes))
    return errors[0] if patched.error is None and not patched.errors else None


def q_fix(c: Context) -> Question:
    finding = proven_fix(c.report)
    fix = finding.fix
    stride = fix.stride if isinstance(fix.stride, int) else fix.stride[0]
    expected = [fix.in_channels, fix.out_channels, stride]
    return Question("fix", ("fix",), Q["fix"](c.lang, model=c.name, module=finding.module),
                    f"{fix.in_channels}, {fix.out_channels}, {stride}",
                    lambda answer: ints(answer) == expected,
                    WHY["failing"](c.lang, finding=d.finding_sentence(finding, c.lang)))


# Questions with interview value (costs, stride arithmetic, which blocks project) rather
# than look-ups; the model's output shape (q_output) is asked only when these run out.
CORRECT_KINDS = {"block_output": q_block_output, "projections": q_projections, "adds": q_adds,
                 "block_params": q_block_params, "block_macs": q_block_macs,
                 "downsample": q_downsample, "conv_size": q_conv_size}
BUGGY_KINDS = {"failing": q_failing, "fix": q_fix, "adds": q_adds}


# -- making and running a quiz ---------------------------------------------------------------

class QuizError(Exception):
    """A quiz that cannot be made (unknown model, model not analysable, bad input)."""


def make_quiz(model: Optional[str] = None, seed: Optional[int] = None, count: int = 5,
              lang: str = "en", input_shape: Optional[str] = None) -> Quiz:
    """Choose the model and input with `seed`, analyse it once, and draw `count` questions.

    The same seed, model list and count always give the same questions.
    """
    from shapecheck.load.declared import parse_shape
    from shapecheck.runner import check_target

    seed = random.SystemRandom().randrange(10_000) if seed is None else seed
    rng = random.Random(seed)
    models = available()
    chosen = find_model(model) if model else rng.choice(models)
    if chosen is None:
        raise QuizError(ui("quiz.unknown_model", lang, name=model))
    size = rng.choice(chosen.sizes)
    shape = tuple(parse_shape(input_shape)) if input_shape else (1, chosen.channels, size, size)
    checked = check_target(_target(chosen, shape), lang=lang)
    report = checked.report if checked is not None else Report(chosen.name)
    if report.error is not None or not report.blocks:
        message = report.error.message if report.error else "no residual blocks"
        raise QuizError(ui("quiz.model_failed", lang, name=chosen.name, message=message))
    quiz = Quiz(chosen, report, seed, shape)
    kinds = BUGGY_KINDS if chosen.buggy and report.errors else CORRECT_KINDS
    if kinds is BUGGY_KINDS and proven_fix(report) is None:
        # no 1x1 projection fixes this model on its own: never ask for one
        kinds = {k: v for k, v in BUGGY_KINDS.items() if k != "fix"}
        kinds.update(block_params=q_block_params, downsample=q_downsample)
    order = list(kinds)
    rng.shuffle(order)
    context, seen = Context(quiz, rng, lang), set()
    for i in range(count * 8):  # redraw block questions that repeat; give up on small models
        if len(quiz.questions) == count:
            break
        question = kinds[order[i % len(order)]](context)
        if question.key not in seen:
            seen.add(question.key)
            quiz.questions.append(question)
    if len(quiz.questions) < count and ("output",) not in seen:  # a small model: the look-up
        quiz.questions.append(q_output(context))
    return quiz


def _target(model: QuizModel, shape: Shape) -> LoadedTarget:
    """The model's factory, ready to check. A module already imported from the model's file
    is reused: importing the file again would give its classes a second identity, unknown
    to whoever imported them first (a test suite, a notebook)."""
    from shapecheck.load.targets import load_targets

    real = os.path.realpath(model.file())
    for module in list(sys.modules.values()):
        path = getattr(module, "__file__", None)
        factory = getattr(module, model.factory, None)
        if path and os.path.realpath(path) == real and callable(factory):
            return LoadedTarget(f"{model.path}:{model.factory}", str(model.file()), model.factory,
                                factory=factory, inputs=[shape],
                                input_source="quiz", kind="function")
    return load_targets(model.spec(), inputs=[shape])[0]


def _answers(source: Optional[str], lang: str) -> Iterator[Optional[str]]:
    """Answers one by one: from a file, from standard input ('-' or not a terminal), or typed."""
    if source is None and sys.stdin.isatty():
        while True:
            try:
                yield input(ui("quiz.prompt", lang))
            except EOFError:
                yield None
    stream: TextIO = sys.stdin if source in (None, "-") else open(source, encoding="utf-8")
    try:
        for line in stream:
            if not line.lstrip().startswith("#"):
                yield line.rstrip("\n")
    finally:
        if stream is not sys.stdin:
            stream.close()
    while True:
        yield None


def run_quiz(model: Optional[str] = None, seed: Optional[int] = None, count: int = 5,
             answers: Optional[str] = None, input_shape: Optional[str] = None,
             reveal: bool = False, list_models: bool = False, lang: str = "en",
             out: Optional[TextIO] = None) -> int:
    """The `shapecheck quiz` command: 0 all answers right (or --reveal/--list), 1 some wrong,
    2 a usage error."""
    out = out or sys.stdout
    if list_models:
        out.write(ui("quiz.models", lang) + "\n")
        for m in available():
            out.write(f"  {m.name:<34} {m.about(lang)}\n")
        return 0
    if count < 1:
        print("shapecheck quiz: --count must be at least 1", file=sys.stderr)
        return 2
    if answers not in (None, "-"):
        try:
            open(answers, encoding="utf-8").close()
        except OSError as exc:
            print(ui("quiz.no_answers_file", lang, path=answers, error=exc.strerror),
                  file=sys.stderr)
            return 2
    try:
        quiz = make_quiz(model, seed, count, lang, input_shape)
    except QuizError as exc:
        print(f"shapecheck quiz: {exc}", file=sys.stderr)
        return 2
    from shapecheck.exercises.present import wrap

    out.write(ui("quiz.header", lang, count=len(quiz.questions), model=quiz.model.name,
                 shape=d.shape(quiz.input_shape), seed=quiz.seed) + "\n\n")
    source = None if reveal else _answers(answers, lang)
    typed = answers is None and sys.stdin.isatty()
    right = 0
    for i, question in enumerate(quiz.questions, start=1):
        out.write(wrap(ui("quiz.question", lang, i=i, text=question.text)) + "\n")
        out.flush()
        if source is None:
            out.write(ui("quiz.answer", lang, answer=question.answer) + "\n")
        else:
            given = next(source)
            if not typed:
                shown = given if given else ui("quiz.no_answer", lang)
                out.write(ui("quiz.your_answer", lang, answer=shown) + "\n")
            correct = bool(given) and question.grade(given)
            right += correct
            out.write((ui("quiz.right", lang) if correct
                       else ui("quiz.wrong", lang, answer=question.answer)) + "\n")
        out.write(wrap(ui("quiz.why", lang, text=question.explanation)) + "\n\n")
    if source is None:
        return 0
    out.write(ui("quiz.score", lang, right=right, total=len(quiz.questions)) + "\n")
    return 0 if right == len(quiz.questions) else 1
