"""`shapecheck exercises ...` and `shapecheck quiz ...`: the teaching commands.

    shapecheck exercises list
    shapecheck exercises show 2
    shapecheck exercises hint 2 --level 2
    shapecheck exercises start 2 [DIR]
    shapecheck exercises start 2 [DIR] --notebook
    shapecheck exercises check 2 02_keras_shortcut.py
    shapecheck exercises grade DIR [--exercise 2] [--format text|json|csv]
    shapecheck exercises solution 2
    shapecheck quiz --model resnet34 --seed 7 --count 5 [--answers FILE|-]

Every command takes `--lang en|zh` (default: SHAPECHECK_LANG, then the locale) and
`--exercises PATH`, a teacher's own exercise folder laid out as the built-in one. Exit
status: 0 done or solved, 1 not solved (or a wrong quiz answer), 2 a usage error or a
file that cannot be loaded. Also runnable as `python -m shapecheck.exercises ...`.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path
from typing import Optional, Sequence

from shapecheck.exercises.text import LANGUAGES, Text, resolve_language, ui

COMMANDS = ("list", "show", "hint", "check", "solution", "start", "grade")


class _Parser(argparse.ArgumentParser):
    """argparse that raises instead of exiting, so `main` can return 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{self.prog}: {message}")


class UsageError(Exception):
    pass


HELP: dict[str, Text] = {
    "lang": Text("language of every message (default: SHAPECHECK_LANG, then the locale)",
                 "所有输出的语言（默认取 SHAPECHECK_LANG，其次取系统语言环境 LC_ALL、LC_MESSAGES、LANG 等）"),
    "exercises": Text("Graded shape exercises on residual networks, in English and Chinese.",
                      "关于残差网络形状的自动判分练习，支持中英文。"),
    "list": Text("list the exercises", "列出所有练习"),
    "show": Text("print an exercise's question", "显示练习题目"),
    "solution": Text("print the reference solution and why it works",
                     "显示参考答案及其原理"),
    "number": Text("number or name", "编号或名称"),
    "hint": Text("print graded hints", "显示分级提示"),
    "level": Text("show hints 1..K", "显示第 1..K 级提示"),
    "check": Text("grade a file: static analysis plus a real forward pass on CPU",
                  "为文件判分：静态分析加一次 CPU 上的真实前向运行"),
    "start": Text("copy the starter file to DIR", "把起始文件复制到 DIR"),
    "force": Text("overwrite an existing file", "覆盖已存在的文件"),
    "notebook": Text("write a Jupyter notebook (.ipynb) instead of a .py file",
                     "写出 Jupyter 笔记本（.ipynb），而不是 .py 文件"),
    "grade": Text("grade every learner file in DIR: one row per file",
                  "为 DIR 中每个学习者文件判分：每个文件一行"),
    "grade_exercise": Text("the exercise of every file (default: the number each file name "
                           "starts with)",
                           "所有文件对应的练习（默认取每个文件名开头的编号）"),
    "format": Text("output format", "输出格式"),
    "folder": Text("a folder of your own exercises (items/, starters/, solutions/, as the "
                   "built-in ones)",
                   "自己的练习文件夹（与内置练习相同，含 items/、starters/、solutions/）"),
    "quiz": Text("Interview-style shape questions generated from real models by shapecheck, "
                 "answered and explained.",
                 "由 shapecheck 基于真实模型生成的面试形状题，逐题判分并讲解。"),
    "model": Text("ask about this model (default: one drawn with the seed)",
                  "针对该模型出题（默认按随机种子选取）"),
    "seed": Text("make the questions repeatable", "随机种子，使题目可重现"),
    "count": Text("number of questions", "题目数量"),
    "answers": Text("read answers from FILE, one per line ('-': standard input)",
                    "从 FILE 读取答案，每行一个（'-' 表示标准输入）"),
    "input": Text("input shape, e.g. 1x3x160x160", "输入形状，例如 1x3x160x160"),
    "reveal": Text("print the questions with answers and explanations, ask nothing",
                   "直接打印题目、答案和讲解，不提问"),
    "models": Text("list the models", "列出可用的模型"),
}


def _language_option(lang: str) -> argparse.ArgumentParser:
    common = _Parser(add_help=False)
    common.add_argument("--lang", choices=LANGUAGES, default=argparse.SUPPRESS,
                        help=HELP["lang"](lang))
    return common


def _folder_option(lang: str) -> argparse.ArgumentParser:
    common = _Parser(add_help=False)
    common.add_argument("--exercises", metavar="PATH", dest="folder", default=argparse.SUPPRESS,
                        help=HELP["folder"](lang))
    return common


def exercises_parser(lang: str = "en") -> argparse.ArgumentParser:
    """The parser of `shapecheck exercises`, its help in `lang`."""
    common = _Parser(add_help=False, parents=[_language_option(lang), _folder_option(lang)])
    parser = _Parser(prog="shapecheck exercises", parents=[common],
                     description=HELP["exercises"](lang))
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.add_parser("list", parents=[common], help=HELP["list"](lang))
    for name in ("show", "solution"):
        p = sub.add_parser(name, parents=[common], help=HELP[name](lang))
        p.add_argument("exercise", metavar="N", help=HELP["number"](lang))
    p = sub.add_parser("hint", parents=[common], help=HELP["hint"](lang))
    p.add_argument("exercise", metavar="N", help=HELP["number"](lang))
    p.add_argument("--level", type=int, default=1, metavar="K", help=HELP["level"](lang))
    p = sub.add_parser("check", parents=[common], help=HELP["check"](lang))
    p.add_argument("exercise", metavar="N", help=HELP["number"](lang))
    p.add_argument("file", metavar="FILE")
    p = sub.add_parser("start", parents=[common], help=HELP["start"](lang))
    p.add_argument("exercise", metavar="N", help=HELP["number"](lang))
    p.add_argument("directory", metavar="DIR", nargs="?", default=".")
    p.add_argument("--force", action="store_true", help=HELP["force"](lang))
    p.add_argument("--notebook", action="store_true", help=HELP["notebook"](lang))
    p = sub.add_parser("grade", parents=[common], help=HELP["grade"](lang))
    p.add_argument("directory", metavar="DIR")
    p.add_argument("--exercise", metavar="N", help=HELP["grade_exercise"](lang))
    p.add_argument("--format", choices=("text", "json", "csv"), default="text",
                   help=HELP["format"](lang))
    return parser


def quiz_parser(lang: str = "en") -> argparse.ArgumentParser:
    """The parser of `shapecheck quiz`, its help in `lang`."""
    parser = _Parser(prog="shapecheck quiz", parents=[_language_option(lang)],
                     description=HELP["quiz"](lang))
    parser.add_argument("--model", metavar="NAME", help=HELP["model"](lang))
    parser.add_argument("--seed", type=int, default=None, help=HELP["seed"](lang))
    parser.add_argument("--count", type=int, default=5, metavar="N", help=HELP["count"](lang))
    parser.add_argument("--answers", metavar="FILE|-", help=HELP["answers"](lang))
    parser.add_argument("--input", metavar="SHAPE", help=HELP["input"](lang))
    parser.add_argument("--reveal", action="store_true", help=HELP["reveal"](lang))
    parser.add_argument("--list", action="store_true", help=HELP["models"](lang))
    return parser


def _requested_language(args: Sequence[str]) -> str:
    """`--lang X` or `--lang=X` if given anywhere, else the default; for the help texts,
    which exist before the arguments are parsed.

    >>> _requested_language(["hint", "1", "--lang", "zh"]), _requested_language(["--lang=en"])
    ('zh', 'en')
    """
    for i, arg in enumerate(args):
        if arg == "--lang" and i + 1 < len(args):
            return resolve_language(args[i + 1])
        if arg.startswith("--lang="):
            return resolve_language(arg.split("=", 1)[1])
    return resolve_language(None)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run `exercises ...` or `quiz ...` (the first word may be omitted for exercises).

    Example:
        >>> main(["exercises", "hint", "1", "--lang", "en"])  # doctest: +ELLIPSIS
        Hint 1/3: ...
        0
    """
    args = list(sys.argv[1:] if argv is None else argv)
    lang = _requested_language(args)
    try:
        if args and args[0] == "quiz":
            return _quiz(quiz_parser(lang).parse_args(args[1:]))
        if args and args[0] == "exercises":
            args = args[1:]
        parsed = exercises_parser(lang).parse_args(args)
        return _exercises(parsed)
    except UsageError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    except SystemExit as exc:  # --help
        return int(exc.code or 0) if isinstance(exc.code, int) else 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 2
    except BrokenPipeError:  # `... | head`: the reader left; say nothing more
        sys.stdout = open(os.devnull, "w")
        return 0


def _exercises(args: argparse.Namespace) -> int:
    from shapecheck.exercises import present
    from shapecheck.exercises.catalog import FolderError, exercises, find

    lang = resolve_language(getattr(args, "lang", None))
    folder = getattr(args, "folder", None)
    try:
        catalog = exercises(folder)
    except FolderError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    if args.command in (None, "list"):
        _out(present.list_text(lang, catalog))
        return 0
    if args.command == "grade":
        return _grade_folder(args, folder, lang)
    exercise = find(args.exercise, folder)
    if exercise is None:
        print(ui("unknown", lang, ref=args.exercise, n=catalog[-1].number), file=sys.stderr)
        return 2
    if args.command == "show":
        _out(present.show_text(exercise, lang))
        return 0
    if args.command == "hint":
        _out(present.hints_text(exercise, args.level, lang))
        return 0
    if args.command == "start":
        return _start(exercise, Path(args.directory), args.force, lang, args.notebook)
    if args.command == "solution":
        return _solution(exercise, lang)
    from shapecheck.exercises.grading import grade

    result = grade(exercise, args.file, lang)
    _out(present.grade_text(result))
    return result.exit_status


def _start(exercise, directory: Path, force: bool, lang: str, notebook: bool = False) -> int:
    name = exercise.file_name[:-3] + ".ipynb" if notebook else exercise.file_name
    target = directory / name
    if target.exists() and not force:
        print(ui("start.exists", lang, path=target), file=sys.stderr)
        return 2
    directory.mkdir(parents=True, exist_ok=True)
    if notebook:
        from shapecheck.exercises.notebook import write_notebook

        write_notebook(exercise, target, lang)
    else:
        shutil.copyfile(exercise.starter_path, target)
    _out(ui("start.done", lang, n=exercise.number, path=target) + "\n")
    return 0


def _grade_folder(args: argparse.Namespace, folder: Optional[str], lang: str) -> int:
    """`grade DIR`: every learner file, one row each; 0 when all are solved, else 1."""
    from shapecheck.exercises import classroom
    from shapecheck.exercises.catalog import exercises, find

    directory = Path(args.directory)
    if not directory.is_dir():
        print(ui("grade.no_dir", lang, path=directory), file=sys.stderr)
        return 2
    exercise = None
    if args.exercise is not None:
        exercise = find(args.exercise, folder)
        if exercise is None:
            print(ui("unknown", lang, ref=args.exercise, n=exercises(folder)[-1].number),
                  file=sys.stderr)
            return 2
    rows = classroom.grade_folder(directory, exercise, lang, folder)
    render = {"json": classroom.json_text, "csv": classroom.csv_text}.get(args.format)
    _out(render(rows) if render else classroom.text_table(rows, lang))
    return 0 if rows and all(r.solved for r in rows) else 1


def _solution(exercise, lang: str) -> int:
    from shapecheck.exercises import present
    from shapecheck.exercises.grading import grade

    path = exercise.solution_path
    _out(ui("solution.header", lang, n=exercise.number, path=path) + "\n\n")
    _out(path.read_text(encoding="utf-8") + "\n")
    result = grade(exercise, str(path), lang)
    if result.solved:  # always, unless the installation is broken
        _out(ui("solution.why", lang) + "\n" + present.wrap(result.explanation, "  ") + "\n")
        return 0
    _out(present.grade_text(result))
    return 1


def _quiz(args: argparse.Namespace) -> int:
    from shapecheck.exercises.quiz import run_quiz

    return run_quiz(model=args.model, seed=args.seed, count=args.count, answers=args.answers,
                    input_shape=args.input, reveal=args.reveal, list_models=args.list,
                    lang=resolve_language(getattr(args, "lang", None)))


def _out(text: str) -> None:
    sys.stdout.write(text)
    sys.stdout.flush()
