"""Definitions, not scripts: which top-level statements of a user's file are run.

Learners' files often train at top level (`for epoch in range(3): ...`, `trainer.fit(...)`,
`torch.save(...)`) without an `if __name__ == "__main__":` guard. Checking shapes needs
only the definitions, so shapecheck runs imports, function and class definitions and
assignments, and skips loops, `with` blocks, bare calls that are not configuration
(`train(...)`, `.fit(...)`, `.backward()`), assignments that call training, data loading
or downloads, and anything that reads a name only skipped code binds. `--exec` runs the
whole file instead.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import Callable, Optional

# Bare calls that configure rather than compute: kept at top level.
_SAFE_CALLS = frozenset({
    "print", "add_argument", "add_argument_group", "add_mutually_exclusive_group",
    "set_defaults", "manual_seed", "seed", "manual_seed_all", "filterwarnings",
    "simplefilter", "append", "insert", "extend", "setLevel", "basicConfig", "getLogger",
    "update", "setdefault", "use_deterministic_algorithms", "set_num_threads",
    "set_default_dtype", "set_printoptions", "set_grad_enabled", "register",
    "warn", "info", "debug", "warning", "disable", "enable", "chdir", "write", "flush",
    # importing a sibling file by path is an import, however it is spelled
    "exec_module", "import_module",
})
# Calls allowed inside a kept call's arguments: path and string helpers.
_PURE_CALLS = frozenset({
    "str", "repr", "int", "float", "len", "format", "join", "dirname", "abspath",
    "basename", "realpath", "expanduser", "Path", "resolve", "getcwd", "get", "getenv",
    "type", "list", "tuple", "dict", "set", "sorted", "range", "is_available",
})
# Calls that make an assignment training, data loading or downloading: skipped.
_HEAVY_CALLS = frozenset({
    "fit", "train", "backward", "step", "zero_grad", "save", "savefig", "show",
    "evaluate", "predict", "main", "run", "DataLoader", "urlretrieve", "urlopen",
    "download", "download_url", "input", "load_dataset", "train_model", "train_ch6",
    "train_ch13", "train_epoch", "test", "validate", "summary", "imshow", "plot",
})


@dataclass(frozen=True)
class SkippedCode:
    """A run of top-level statements that was not executed: lines `start`-`end`, and what
    they were ("a training loop", "a call to train()")."""

    start: int
    end: int
    what: str

    def lines(self) -> str:
        return str(self.start) if self.start == self.end else f"{self.start}-{self.end}"


def definitions_only(tree: ast.Module) -> tuple[ast.Module, list[SkippedCode]]:
    """Keep the statements of `tree` that define things; return the kept module and what
    was skipped (merged into runs of consecutive statements).

    Example:
        >>> tree = ast.parse("import torch\\nnet = torch.nn.Linear(2, 2)\\n"
        ...                  "for epoch in range(3):\\n    loss = net(x).sum()\\n"
        ...                  "    loss.backward()\\ntorch.save(net, 'net.pth')\\n")
        >>> kept, skipped = definitions_only(tree)
        >>> [type(s).__name__ for s in kept.body], [(s.lines(), s.what) for s in skipped]
        (['Import', 'Assign'], [('3-6', 'a training loop, a call to save()')])
    """
    filter_ = _Filter()
    body = filter_.statements(tree.body)
    kept = ast.Module(body=body, type_ignores=tree.type_ignores)
    return kept, _merged(filter_.skipped, kept)


def skipped_note(skipped: list[SkippedCode],
                 place: Optional[Callable[[int, int], str]] = None) -> Optional[str]:
    """The note that says which lines were not run, or None when nothing was skipped.

    `place` turns a run of lines into how the user sees it (a notebook's "cell 5 lines 2-3").

    Example:
        >>> skipped_note([SkippedCode(40, 88, "a training loop")])
        'skipped top-level code at lines 40-88 (a training loop); --exec runs the whole file'
    """
    if not skipped:
        return None
    if place is not None:
        where = ", ".join(place(s.start, s.end) for s in skipped)
        return f"skipped top-level code at {where} ({', '.join(dict.fromkeys(s.what for s in skipped))}); --exec runs the whole file"
    where = ", ".join(s.lines() for s in skipped)
    what = []
    for s in skipped:
        if s.what not in what:
            what.append(s.what)
    noun = "line" if len(skipped) == 1 and skipped[0].start == skipped[0].end else "lines"
    return f"skipped top-level code at {noun} {where} ({', '.join(what)}); --exec runs the whole file"


class _Filter:
    def __init__(self) -> None:
        self.skipped: list[tuple[ast.stmt, str]] = []
        self.tainted: set[str] = set()  # names only skipped code binds

    def statements(self, statements: list[ast.stmt]) -> list[ast.stmt]:
        kept: list[ast.stmt] = []
        for stmt in statements:
            result = self.statement(stmt)
            if result is not None:
                kept.append(result)
        return kept

    def statement(self, stmt: ast.stmt) -> Optional[ast.stmt]:
        why = self.reason_to_skip(stmt)
        if why is None:
            return self.nested(stmt)
        self.skipped.append((stmt, why))
        self.tainted |= _bound_names(stmt)
        return None

    def nested(self, stmt: ast.stmt) -> ast.stmt:
        """`if` and `try` blocks are filtered statement by statement."""
        if isinstance(stmt, ast.If) and not _is_main_guard(stmt):
            stmt.body = self.statements(stmt.body) or [_pass(stmt)]
            stmt.orelse = self.statements(stmt.orelse)
        elif isinstance(stmt, ast.Try):
            stmt.body = self.statements(stmt.body) or [_pass(stmt)]
            for handler in stmt.handlers:
                handler.body = self.statements(handler.body) or [_pass(handler)]
            stmt.orelse = self.statements(stmt.orelse)
            stmt.finalbody = self.statements(stmt.finalbody)
        return stmt

    def reason_to_skip(self, stmt: ast.stmt) -> Optional[str]:
        if isinstance(stmt, (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef,
                             ast.ClassDef, ast.Pass, ast.Global, ast.Nonlocal, ast.Raise)):
            return None
        if isinstance(stmt, (ast.For, ast.AsyncFor, ast.While)):
            return "a training loop" if _calls(stmt) & {"backward", "step", "fit"} else "a loop"
        if isinstance(stmt, (ast.With, ast.AsyncWith)):
            return "a with block"
        if isinstance(stmt, ast.If):
            return self._uses_tainted(stmt.test)
        if isinstance(stmt, ast.Try):
            return None
        if isinstance(stmt, ast.Expr):
            return self._expression(stmt.value)
        if isinstance(stmt, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            value = stmt.value
            if value is None:
                return None
            heavy = sorted(_calls(value) & _HEAVY_CALLS)
            if heavy:
                return f"a call to {heavy[0]}()"
            if _downloads(value):
                return "a download"
            if _opens_for_writing(value):
                return "writing a file"
            if any(_is_dataset_call(c) for c in ast.walk(value) if isinstance(c, ast.Call)):
                return "loading a data set"
            return self._uses_tainted(value)
        return "top-level code"

    def _expression(self, value: ast.expr) -> Optional[str]:
        if isinstance(value, ast.Constant):
            return None  # a docstring
        calls = [c for c in ast.walk(value) if isinstance(c, ast.Call)]
        if not calls and not isinstance(value, ast.Await):
            return self._uses_tainted(value)  # a bare name, as notebooks display values
        outer = _call_name(value) if isinstance(value, ast.Call) else None
        if outer in _SAFE_CALLS and all(_call_name(c) in _PURE_CALLS for c in calls[1:]) \
                and not _downloads(value):
            return self._uses_tainted(value)
        name = outer or (_call_name(calls[0]) if calls else None)
        return f"a call to {name}()" if name else "top-level code"

    def _uses_tainted(self, node: ast.AST) -> Optional[str]:
        used = {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}
        tainted = sorted(used & self.tainted)
        return f"it uses {tainted[0]}, which skipped code sets" if tainted else None


def _call_name(call: ast.Call) -> Optional[str]:
    func = call.func
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return None


def _calls(node: ast.AST) -> set[str]:
    return {name for c in ast.walk(node) if isinstance(c, ast.Call)
            for name in [_call_name(c)] if name}


def _downloads(node: ast.AST) -> bool:
    return any(isinstance(k, ast.keyword) and k.arg == "download"
               and not (isinstance(k.value, ast.Constant) and not k.value.value)
               for c in ast.walk(node) if isinstance(c, ast.Call) for k in c.keywords)


def _opens_for_writing(node: ast.AST) -> bool:
    """`open(path, "w")` (or "a", "x", "+"): the file would be created or changed."""
    for call in ast.walk(node):
        if not isinstance(call, ast.Call) or _call_name(call) != "open":
            continue
        modes = [k.value for k in call.keywords if k.arg == "mode"] + call.args[1:2]
        if any(isinstance(m, ast.Constant) and isinstance(m.value, str)
               and set(m.value) & set("wax+") for m in modes):
            return True
    return False


def _is_dataset_call(call: ast.Call) -> bool:
    """`torchvision.datasets.CIFAR10(...)`, `datasets.MNIST(...)`, `d2l.FashionMNIST(...)`."""
    func = call.func
    while isinstance(func, ast.Attribute):
        if func.attr == "datasets":
            return True
        func = func.value
    name = _call_name(call) or ""
    return name in ("CIFAR10", "CIFAR100", "MNIST", "FashionMNIST", "ImageFolder", "ImageNet")


def _bound_names(stmt: ast.stmt) -> set[str]:
    names = set()
    for node in ast.walk(stmt):
        if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            names.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.alias):
            names.add((node.asname or node.name).split(".")[0])
    return names


def _is_main_guard(stmt: ast.If) -> bool:
    test = stmt.test
    return (isinstance(test, ast.Compare) and isinstance(test.left, ast.Name)
            and test.left.id == "__name__")


def _pass(where: ast.AST) -> ast.Pass:
    return ast.copy_location(ast.Pass(), where)


def _merged(skipped: list[tuple[ast.stmt, str]], kept: ast.Module) -> list[SkippedCode]:
    """Consecutive skipped statements (nothing kept between them) become one run."""
    if not skipped:
        return []
    kept_lines = sorted(n.lineno for n in ast.walk(kept) if isinstance(n, ast.stmt))
    runs: list[list] = []
    for stmt, what in sorted(skipped, key=lambda item: item[0].lineno):
        end = stmt.end_lineno or stmt.lineno
        if runs and not any(runs[-1][1] < line < stmt.lineno for line in kept_lines):
            runs[-1][1] = max(runs[-1][1], end)
            if what not in runs[-1][2]:
                runs[-1][2].append(what)
            continue
        runs.append([stmt.lineno, end, [what]])
    return [SkippedCode(start, end, ", ".join(whats)) for start, end, whats in runs]
