"""Criteria that check what a correct answer must satisfy, not one symptom of the bug.

A grader built only from "shapecheck is clean and the run works" accepts answers that
remove the exercise's point: delete the residual add, resize the shortcut with
`F.interpolate`, slice a branch down to fit, change the input until the arithmetic works,
edit the class the question says to keep. The criteria here close those doors:

- `structure_kept`: every layer of the model is the starter's (type and hyper-parameters,
  by module path), except where the question lets the learner change something;
- `code_kept` / `constants_kept`: named classes, functions and constants are the starter's
  (compared as syntax trees, so comments and docstrings may change);
- `shortcuts_as_reference`: each block's shortcut has the kind the question asks for;
- `plain_shortcuts`, `branch_ends_in_layer`, `nothing_after_add`: each add is present and
  bare (no resize, slice or activation hidden on a branch or after the add).

Each returns `Problem`s whose `key` says which property failed.

    >>> from torch import nn
    >>> signature(nn.Conv2d(3, 8, 3, stride=2))["stride"]
    (2, 2)
"""

from __future__ import annotations

import ast
import fnmatch
from typing import Any, Callable, Iterable, Mapping, Optional, Sequence

from torch import nn

from shapecheck.exercises import describe as d
from shapecheck.exercises.grading import MISSING, Attempt, Note, Problem
from shapecheck.exercises.text import Text
from shapecheck.report import Report, ResidualAdd

# The hyper-parameters that make a layer what it is (eps, momentum, inplace do not).
FIELDS = ("in_channels", "out_channels", "kernel_size", "stride", "padding", "dilation",
          "groups", "in_features", "out_features", "num_features", "affine",
          "normalized_shape", "elementwise_affine", "ceil_mode", "count_include_pad",
          "output_size", "p", "negative_slope", "start_dim", "end_dim")

MAX_LISTED = 3  # more structural differences than this are summarised

CHANGED = Text("{path} is {mine} in your file but {want} in the starter: the question keeps "
               "it as it is",
               "{path} 在你的文件中是 {mine}，起始文件中是 {want}：题目要求它保持不变")
REMOVED = Text("{path} ({want} in the starter) is missing from your model: the question keeps it",
               "你的模型里没有了 {path}（起始文件中是 {want}）：题目要求保留它")
ADDED = Text("{path} ({mine}) is not in the starter: the question does not ask for a new "
             "layer there",
             "{path}（{mine}）是起始文件中没有的：题目并没有要求在这里加层")
MORE = Text("… and {n} more differences from the starter", "……另外还有 {n} 处与起始文件不同")
REFERENCE_CHANGED = Text("{path} is {mine} in your file but {want} in the exercise's network",
                         "{path} 在你的文件中是 {mine}，题目要求的网络中是 {want}")
REFERENCE_REMOVED = Text("{path} ({want} in the exercise's network) is missing from your model",
                         "你的模型里没有 {path}（题目要求的网络中是 {want}）")
REFERENCE_ADDED = Text("{path} ({mine}) is not part of the exercise's network",
                       "{path}（{mine}）不属于题目要求的网络")
CODE_CHANGED = Text("{name} differs from the starter's: the question says to keep it as it is "
                    "and fix the problem elsewhere",
                    "{name} 与起始文件中的不同：题目要求保持它不变，在别处解决问题")
CODE_MISSING = Text("{name} is missing from your file; keep the starter's {name}",
                    "你的文件里没有 {name}；请保留起始文件中的 {name}")
CONSTANT_CHANGED = Text("{name} = {mine!r}, but the question fixes it at {want!r}; solve the "
                        "exercise without changing it",
                        "{name} = {mine!r}，但题目规定它为 {want!r}；请在不改动它的前提下解题")
KIND = Text("the shortcut of {module} is {mine}; it should be {want}",
            "{module} 的捷径是{mine}，应当是{want}")
KIND_ANY = Text("the shortcut of {module} is {mine}; it should be one of: {want}",
                "{module} 的捷径是{mine}，应当是以下之一：{want}")
MISSING_ADD = Text("{module} has no residual add any more: keep the block's add",
                   "{module} 中已经没有残差相加了：请保留这个块的相加")
NOT_PLAIN = Text("the shortcut of {module} goes through {op} ({shape}): a shortcut is the input "
                 "itself or a layer (a strided 1x1 conv, a pool); resizing or cutting a tensor to "
                 "make the add fit hides the bug instead of fixing it",
                 "{module} 的捷径经过了 {op}（{shape}）：捷径要么就是输入本身，要么是一层网络"
                 "（带步幅的 1x1 卷积、池化）；靠缩放或截取张量让相加对上，只是掩盖了错误，"
                 "并没有改正它")
BRANCH_END = Text("the main branch of {module} ends in {op} ({shape}) after its last layer: the "
                  "branch must come back at the right width from its own layer, not be cut or "
                  "reshaped to fit",
                  "{module} 的主分支在最后一层之后又经过了 {op}（{shape}）：分支应当由自己的层"
                  "给出正确的宽度，而不是截取或变形来凑合")
AFTER_ADD = Text("in {module}, the add is followed by {op}: the question leaves the add bare, "
                 "nothing of the block may come after it",
                 "在 {module} 中，相加之后接了 {op}：题目要求相加保持“裸”的形式，块内在相加之后"
                 "不能再接任何操作")

KIND_WORDS = {
    "identity": Text("the identity (x itself)", "恒等捷径（即 x 本身）"),
    "projection": Text("a projection (1x1 conv)", "投影捷径（1x1 卷积）"),
    "pooled_projection": Text("a pooled projection (pool, then 1x1 conv)",
                              "池化投影捷径（先池化再 1x1 卷积）"),
    "other": Text("a non-standard shortcut (neither the identity nor a projection)",
                  "非标准捷径（既不是恒等也不是投影）"),
    None: Text("missing", "缺失"),
}


def kind_words(kind: Optional[str], lang: str) -> str:
    """A shortcut kind for a learner, with its article: "a projection (1x1 conv)"."""
    return KIND_WORDS.get(kind, KIND_WORDS["other"])(lang)


# -- layers, by module path ------------------------------------------------------------------

def signature(module: nn.Module) -> dict[str, Any]:
    """The hyper-parameters of one layer that the exercises compare (its type included)."""
    found: dict[str, Any] = {"type": type(module).__name__}
    for name in FIELDS:
        value = getattr(module, name, MISSING)
        if value is not MISSING and not callable(value):
            found[name] = tuple(value) if isinstance(value, list) else value
    if isinstance(module, (nn.modules.conv._ConvNd, nn.Linear)):
        found["bias"] = module.bias is not None
    return found


def layers(model: Optional[nn.Module]) -> dict[str, dict[str, Any]]:
    """`signature` of every leaf module of `model` (modules without children), by path."""
    if model is None:
        return {}
    return {name: signature(m) for name, m in model.named_modules()
            if name and not any(True for _ in m.children())}


def describe_layer(sig: Mapping[str, Any], only: Optional[Iterable[str]] = None) -> str:
    """`Conv2d(in_channels=64, stride=(2, 2))`: the type and the fields asked for."""
    names = [n for n in (only or sig) if n != "type" and n in sig]
    return f"{sig['type']}(" + ", ".join(f"{n}={sig[n]}" for n in names) + ")"


def _free(path: str, free: Mapping[str, Optional[frozenset]]) -> tuple[bool, frozenset]:
    """Whether `path` may change at all, and which fields may (all when None)."""
    allowed: set[str] = set()
    for pattern, fields in free.items():
        if fnmatch.fnmatchcase(path, pattern):
            if fields is None:
                return True, frozenset()
            allowed |= set(fields)
    return False, frozenset(allowed)


def compare_layers(mine: Mapping[str, dict], want: Mapping[str, dict],
                   free: Mapping[str, Optional[Iterable[str]]], lang: str,
                   against: str = "starter") -> list[Problem]:
    """The differences between two `layers()` maps that `free` does not allow.

    `free` maps a path pattern (fnmatch) to the fields that may differ there, or to None
    when the layer may change freely, appear or disappear.
    """
    free = {k: (None if v is None else frozenset(v)) for k, v in free.items()}
    words = (CHANGED, REMOVED, ADDED) if against == "starter" else (
        REFERENCE_CHANGED, REFERENCE_REMOVED, REFERENCE_ADDED)
    problems: list[Problem] = []
    for path in list(want) + [p for p in mine if p not in want]:
        anything, fields = _free(path, free)
        if anything:
            continue
        if path not in mine:
            problems.append(Problem(words[1](lang, path=path, want=describe_layer(want[path])),
                                    "structure.removed", module=path))
        elif path not in want:
            problems.append(Problem(words[2](lang, path=path, mine=describe_layer(mine[path])),
                                    "structure.added", module=path))
        else:
            a, b = mine[path], want[path]
            differ = [k for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)]
            if a.get("type") != b.get("type"):
                differ = ["type"] + [k for k in differ if k != "type"]
            wrong = [k for k in differ if k not in fields]
            if wrong:
                problems.append(Problem(words[0](lang, path=path, mine=describe_layer(a, wrong),
                                                 want=describe_layer(b, wrong)),
                                        "structure.changed", module=path))
    if len(problems) > MAX_LISTED:
        extra = len(problems) - MAX_LISTED
        problems = problems[:MAX_LISTED] + [Problem(MORE(lang, n=extra), problems[MAX_LISTED].key)]
    return problems


def structure_kept(free: Mapping[str, Optional[Iterable[str]]] = {},
                   against: str = "starter") -> Callable[[Attempt], list[Problem]]:
    """A criterion: the model's layers are the starter's (or the reference's), path by path,
    except what `free` allows (see `compare_layers`)."""

    def criterion(attempt: Attempt) -> list[Problem]:
        other = attempt.starter() if against == "starter" else attempt.reference()
        return compare_layers(layers(attempt.report.model), layers(other.report.model), free,
                              attempt.lang, against)

    criterion.key = "structure"
    return criterion


# -- code and constants, against the starter --------------------------------------------------

def _without_docstrings(node: ast.AST) -> ast.AST:
    for child in ast.walk(node):
        body = getattr(child, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr) and \
                isinstance(getattr(body[0], "value", None), ast.Constant) and \
                isinstance(body[0].value.value, str):
            child.body = body[1:] or [ast.Pass()]
    return node


def definitions(source: str) -> dict[str, str]:
    """Top-level classes and functions of a file as comparable syntax-tree dumps."""
    tree = ast.parse(source)
    return {node.name: ast.dump(_without_docstrings(node), include_attributes=False)
            for node in tree.body
            if isinstance(node, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))}


def code_kept(*names: str) -> Callable[[Attempt], list[Problem]]:
    """A criterion: the named top-level classes/functions are the starter's, up to comments
    and docstrings."""

    def criterion(attempt: Attempt) -> list[Problem]:
        mine = definitions(attempt.source_text())
        want = definitions(attempt.exercise.starter_path.read_text(encoding="utf-8"))
        problems = []
        for name in names:
            if name not in mine:
                problems.append(Problem(CODE_MISSING(attempt.lang, name=name), "code.missing",
                                        module=name))
            elif mine[name] != want[name]:
                problems.append(Problem(CODE_CHANGED(attempt.lang, name=name), "code.changed",
                                        module=name))
        return problems

    criterion.key = "code"
    return criterion


def constants_kept(*names: str) -> Callable[[Attempt], list[Problem]]:
    """A criterion: the named module constants have the starter's values."""

    def criterion(attempt: Attempt) -> list[Problem]:
        starter = attempt.starter().module
        problems = []
        for name in names:
            want, mine = getattr(starter, name), attempt.answer(name)
            if mine is MISSING or mine != want:
                problems.append(Problem(CONSTANT_CHANGED(
                    attempt.lang, name=name, mine=None if mine is MISSING else mine, want=want),
                    "constant.changed", module=name))
        return problems

    criterion.key = "constant"
    return criterion


# -- residual adds: present, of the right kind, bare -------------------------------------------

def shortcuts_as_reference(alternatives: Mapping[str, Iterable[str]] = {}
                           ) -> Callable[[Attempt], list[Problem]]:
    """A criterion: every residual block of the reference has its add in the learner's
    model, with the reference's shortcut kind (or one of `alternatives[module]`)."""

    def criterion(attempt: Attempt) -> list[Problem]:
        lang = attempt.lang
        mine = {a.module: a for a in attempt.report.residual_adds}
        problems = []
        for add in attempt.reference().report.residual_adds:
            allowed = [add.shortcut] + [k for k in alternatives.get(add.module, ())
                                        if k != add.shortcut]
            got = mine.get(add.module)
            if got is None:
                problems.append(Problem(MISSING_ADD(lang, module=add.module), "add.missing",
                                        module=add.module))
            elif got.shortcut not in allowed:
                want = kind_words(allowed[0], lang) if len(allowed) == 1 else \
                    d.sep(lang).join(kind_words(k, lang) for k in allowed)
                template = KIND if len(allowed) == 1 else KIND_ANY
                problems.append(Problem(template(lang, module=add.module,
                                                 mine=kind_words(got.shortcut, lang), want=want),
                                        "shortcut.kind", module=add.module, shapes=got.shapes))
        return problems

    criterion.key = "shortcut"
    return criterion


def _module_of(report: Report, name: str) -> Optional[nn.Module]:
    info = report.nodes[name]
    if info.op != "call_module" or report.model is None:
        return None
    try:
        return report.model.get_submodule(info.target)
    except AttributeError:
        return None


def op_name(report: Report, name: str) -> str:
    """What a traced node does, for a learner: `F.interpolate`, `getitem`, `self.drop`."""
    info = report.nodes[name]
    if info.op == "call_module":
        module = _module_of(report, name)
        return f"{info.target} ({type(module).__name__})" if module is not None else info.target
    if info.op == "call_method":
        return f".{info.target}()"
    return "[...]" if info.target == "getitem" else f"{info.target}()"


LAYERS = (nn.modules.conv._ConvNd, nn.Linear, nn.modules.batchnorm._NormBase, nn.GroupNorm,
          nn.LayerNorm, nn.modules.pooling._AvgPoolNd, nn.modules.pooling._MaxPoolNd,
          nn.Identity, nn.Sequential)


def shortcut_extras(report: Report, add: ResidualAdd) -> list[str]:
    """The nodes on `add`'s shortcut that are not layers (functional resizes, slices...)."""
    return [n for n in add.shortcut_branch
            if not isinstance(_module_of(report, n), LAYERS)]


def plain_shortcuts(modules: Optional[Sequence[str]] = None,
                    allow: Callable[[Attempt, ResidualAdd], Optional[Note]] = None
                    ) -> Callable[[Attempt], list]:
    """A criterion: each shortcut (of `modules`, default all) is made of layers only.

    `allow(attempt, add)` may accept a non-layer shortcut that the question allows,
    returning a Note to show with the verdict (or None to reject it).
    """

    def criterion(attempt: Attempt) -> list:
        report, out = attempt.report, []
        for add in report.residual_adds:
            if modules is not None and add.module not in modules:
                continue
            extras = shortcut_extras(report, add)
            if not extras:
                continue
            note = allow(attempt, add) if allow is not None else None
            if note is not None:
                out.append(note)
                continue
            node = report.nodes[extras[0]]
            out.append(Problem(NOT_PLAIN(attempt.lang, module=add.module,
                                         op=op_name(report, extras[0]), shape=d.shape(node.shape)),
                               "shortcut.not_plain", module=add.module, shapes=add.shapes))
        return out

    criterion.key = "shortcut"
    return criterion


def branch_ends_in_layer(layer_types: tuple = (nn.Linear, nn.modules.conv._ConvNd,
                                              nn.modules.batchnorm._NormBase, nn.LayerNorm,
                                              nn.Sequential)
                         ) -> Callable[[Attempt], list[Problem]]:
    """A criterion: every add's main operand is the output of a layer, not of a slice,
    reshape or function applied after the branch's last layer."""

    def criterion(attempt: Attempt) -> list[Problem]:
        report, problems = attempt.report, []
        for add in report.residual_adds:
            if not add.main_branch:
                continue
            last = add.main_branch[-1]
            if not isinstance(_module_of(report, last), layer_types):
                problems.append(Problem(BRANCH_END(
                    attempt.lang, module=add.module, op=op_name(report, last),
                    shape=d.shape(report.nodes[last].shape)),
                    "branch.not_layer", module=add.module, shapes=add.shapes))
        return problems

    criterion.key = "branch"
    return criterion


def users(report: Report) -> dict[str, list[str]]:
    """Node name -> the names of the nodes that read it."""
    found: dict[str, list[str]] = {}
    for info in report.nodes.values():
        for name in info.inputs:
            found.setdefault(name, []).append(info.name)
    return found


def _inside(path: str, block: str) -> bool:
    return block == "" or path == block or path.startswith(block + ".")


def nothing_after_add() -> Callable[[Attempt], list[Problem]]:
    """A criterion: the output of each residual add leaves its block untouched: every node
    reading it belongs to another module (the next block, the network's head)."""

    def criterion(attempt: Attempt) -> list[Problem]:
        report, problems = attempt.report, []
        readers = users(report)
        for add in report.residual_adds:
            for name in readers.get(add.node, []):
                info = report.nodes[name]
                if info.op == "output":
                    continue
                where = info.target if info.op == "call_module" else info.module
                if _inside(where, add.module):
                    problems.append(Problem(AFTER_ADD(attempt.lang, module=add.module,
                                                      op=op_name(report, name)),
                                            "add.not_bare", module=add.module))
                    break
        return problems

    criterion.key = "add"
    return criterion
