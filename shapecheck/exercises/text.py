"""The exercises' and the quiz's own words, as a table of `Text` (see shapecheck/i18n.py).

Exercise questions, hints and explanations, and the command's own words, are all `Text`
values, so a language is chosen once (`--lang`) and every line follows it. Templates use
`str.format` fields filled with numbers the tool computes at run time.

    >>> greeting = Text("{n} exercises", "共 {n} 道练习")
    >>> greeting("zh", n=13)
    '共 13 道练习'
"""

from __future__ import annotations

from typing import Optional

from shapecheck.i18n import LANGUAGES, Text, resolve_language

__all__ = ["LANGUAGES", "Text", "resolve_language", "UI", "ui"]

# The command's own words. Keys are short and stable; the values are what people read.
UI: dict[str, Text] = {
    # exercises list / show / hint / solution / start
    "list.header": Text("{n} exercises. Start one with: shapecheck exercises start N",
                        "共 {n} 道练习。开始一道：shapecheck exercises start N"),
    "list.columns": Text("  #  name                     level  after     title",
                         "  #  名称                     难度   先做      题目"),
    "list.none": Text("-", "-"),
    "grade.no_dir": Text("{path} is not a folder of learner files",
                         "{path} 不是存放学习者文件的文件夹"),
    "show.source": Text("From: {source}", "出处：{source}"),
    "show.question": Text("Question:", "题目："),
    "show.starter": Text("Starter file: {path}", "起始文件：{path}"),
    "show.next": Text("Copy it with `shapecheck exercises start {n}`, edit it, then run "
                      "`shapecheck exercises check {n} {file}`. Hints: `shapecheck exercises "
                      "hint {n} --level 1` (up to {levels}).",
                      "用 `shapecheck exercises start {n}` 复制起始文件，修改后运行 "
                      "`shapecheck exercises check {n} {file}` 判分。提示：`shapecheck exercises "
                      "hint {n} --level 1`（共 {levels} 级）。"),
    "hint.line": Text("Hint {k}/{total}: {text}", "提示 {k}/{total}：{text}"),
    "hint.all_shown": Text("(that was the last hint; `shapecheck exercises solution {n}` "
                           "shows the reference solution)",
                           "（这是最后一条提示；`shapecheck exercises solution {n}` 可查看参考答案）"),
    "hint.more": Text("More: shapecheck exercises hint {n} --level {k}",
                      "更多提示：shapecheck exercises hint {n} --level {k}"),
    "solution.header": Text("Reference solution of exercise {n} ({path}):",
                            "练习 {n} 的参考答案（{path}）："),
    "solution.why": Text("Why it works (shapecheck's output on the reference solution):",
                         "为什么这样可行（shapecheck 对参考答案的分析）："),
    "start.done": Text("Wrote {path}. Edit it, then run: shapecheck exercises check {n} {path}",
                       "已写入 {path}。修改后运行：shapecheck exercises check {n} {path}"),
    "start.exists": Text("{path} already exists; pass --force to overwrite it",
                         "{path} 已存在；如需覆盖请加 --force"),
    "unknown": Text("no exercise {ref}; `shapecheck exercises list` shows them (1-{n} or a name)",
                    "没有练习 {ref}；用 `shapecheck exercises list` 查看（编号 1-{n} 或名称）"),
    # exercises check
    "check.header": Text("Exercise {n}: {title}", "练习 {n}：{title}"),
    "check.file": Text("File: {path}  (model: {factory}(), input {shape})",
                       "文件：{path}（模型：{factory}()，输入 {shape}）"),
    "check.static": Text("Static analysis (shapecheck):", "静态分析（shapecheck）："),
    "check.static_ok": Text("no errors; residual adds with matching shapes: {adds}",
                            "没有错误；共 {adds} 处残差相加，两侧形状全部一致"),
    "check.static_failed": Text("the model could not be analysed: {message}",
                                "无法分析该模型：{message}"),
    "check.forward": Text("Real forward pass on CPU (input {shape}):",
                          "在 CPU 上真实前向运行（输入 {shape}）："),
    "check.forward_ok": Text("ran; output {shape}", "运行成功；输出 {shape}"),
    "check.forward_failed": Text("{error}", "{error}"),
    "check.forward_skipped": Text("skipped: {why}", "已跳过：{why}"),
    "check.solved": Text("Solved!", "通过！"),
    "check.not_solved": Text("Not solved yet. Still wrong:", "尚未通过。仍需解决："),
    "check.note": Text("Note: {text}", "注意：{text}"),
    "check.why": Text("Why it works (from shapecheck's output on your file):",
                      "为什么这样可行（依据 shapecheck 对你的文件的分析）："),
    "check.hint": Text("Stuck? shapecheck exercises hint {n} --level 1",
                       "卡住了？试试 shapecheck exercises hint {n} --level 1"),
    "check.cannot_load": Text("Cannot load {path}: {message}", "无法加载 {path}：{message}"),
    "check.at": Text(" (at {where})", "（位置：{where}）"),
    "check.errors_left": Text("shapecheck still reports {n} error(s), listed above.",
                              "shapecheck 仍报告 {n} 个错误，见上文。"),
    "check.build_error": Text("the model cannot be built: {message}{where}",
                              "模型无法构建：{message}{where}"),
    "check.forward_error": Text("the real forward pass on CPU fails: {message}{where}",
                                "在 CPU 上真实运行前向时出错：{message}{where}"),
    "check.no_report": Text("shapecheck could not analyse the model: {message}{where}",
                            "shapecheck 无法分析该模型：{message}{where}"),
    "check.missing_answer": Text("set {name} in your file ({what})", "请在文件中给出 {name}（{what}）"),
    "check.wrong_answer": Text("{name} = {given} is not right", "{name} = {given} 不正确"),
    # finding layout
    "finding.head": Text("{severity} {code} {kind} in {module} at {where}",
                         "{severity} {code} {kind}，位于 {module}（{where}）"),
    "finding.shapes": Text("main branch {main}   shortcut {short}", "主分支 {main}   捷径 {short}"),
    "finding.layer_shapes": Text("receives {got}, expects {want}", "收到 {got}，期望 {want}"),
    "finding.because": Text("because: {causes}", "原因：{causes}"),
    "finding.fix": Text("suggested fix ({state}): {code}", "建议修复（{state}）：{code}"),
    "finding.verified": Text("verified on the traced graph", "已在追踪图上验证"),
    "finding.unverified": Text("not verified", "未验证"),
    "finding.top": Text("the top-level module", "顶层模块"),
    "finding.unknown_line": Text("unknown line", "行号未知"),
    "severity.error": Text("error", "错误"),
    "severity.warning": Text("warning", "警告"),
    # quiz
    "quiz.header": Text("Shape quiz: {count} question(s) on {model}, input {shape} "
                        "(seed {seed}; rerun with --seed {seed})",
                        "形状测验：关于 {model} 的 {count} 道题，输入 {shape}"
                        "（种子 {seed}；用 --seed {seed} 可重现）"),
    "quiz.question": Text("Q{i}. {text}", "第 {i} 题：{text}"),
    "quiz.prompt": Text("your answer> ", "你的答案> "),
    "quiz.your_answer": Text("your answer: {answer}", "你的答案：{answer}"),
    "quiz.no_answer": Text("(no answer)", "（未作答）"),
    "quiz.right": Text("right", "正确"),
    "quiz.wrong": Text("wrong; the answer is {answer}", "错误；正确答案是 {answer}"),
    "quiz.answer": Text("answer: {answer}", "答案：{answer}"),
    "quiz.why": Text("why: {text}", "解释：{text}"),
    "quiz.score": Text("Score: {right}/{total}", "得分：{right}/{total}"),
    "quiz.models": Text("Models the quiz can ask about (--model NAME):",
                        "测验可用的模型（--model NAME）："),
    "quiz.unknown_model": Text("no quiz model {name}; `shapecheck quiz --list` shows them",
                               "没有名为 {name} 的测验模型；用 `shapecheck quiz --list` 查看"),
    "quiz.model_failed": Text("shapecheck could not analyse {name}: {message}",
                              "shapecheck 无法分析 {name}：{message}"),
    "quiz.no_answers_file": Text("cannot read answers from {path}: {error}",
                                 "无法从 {path} 读取答案：{error}"),
    "none": Text("none", "无"),
}


def ui(key: str, lang: Optional[str] = None, **values: object) -> str:
    """The command's string `key` in `lang`, filled with `values`.

    >>> ui("quiz.score", "en", right=3, total=5)
    'Score: 3/5'
    """
    return UI[key](lang, **values)
