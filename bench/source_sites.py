"""Where a model file can be broken the way learners break it: mutation sites found with `ast`.

Each site is one textual edit of one place in the file (`Mutation.apply(text)`), of five
kinds: `projection_flag` (a call's projection flag flipped, `use_1x1conv=True` -> False),
`projection_rule` (`if stride != 1 or in != out:` losing its stride test, or `or` -> `and`),
`expansion` (a block's `expansion = N` -> 2N or 1), `class_width` (a block's last main-branch
conv, and the norm after it, made twice as wide) and `ceil_mode` (`ceil_mode=True` removed
from a pool, or set to False). The edits keep everything else byte for byte, so "reverting
the mutation" means getting the original text back.

Example:
    >>> text = "class B:\\n    expansion = 4\\n"
    >>> [(m.kind, m.apply(text).splitlines()[1].strip()) for m in mutations(text)]
    [('expansion', 'expansion = 8'), ('expansion', 'expansion = 1')]
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

KINDS = ("projection_flag", "projection_rule", "expansion", "class_width", "ceil_mode")
FLAG = re.compile(r"1x1|shortcut|proj|downsample|first_block")  # flags that decide a projection
CONV = re.compile(r"conv", re.IGNORECASE)
NORM = re.compile(r"Norm")
POOL = re.compile(r"(Avg|Max)Pool\dd$")
SHORTCUT_ATTR = re.compile(r"shortcut|downsample|proj")

Span = tuple[int, int, int, int]  # 1-based start line, start column, end line, end column


@dataclass(frozen=True)
class Mutation:
    """One edit of one site: replace each span (text offsets) with its new text."""

    kind: str
    variant: str
    line: int
    description: str
    replacements: tuple[tuple[Span, str], ...]

    def apply(self, text: str) -> str:
        """`text` with the mutation made (the spans are edited from the last one back)."""
        starts = _line_starts(text)
        for (l0, c0, l1, c1), new in sorted(self.replacements, reverse=True):
            a, b = starts[l0 - 1] + c0, starts[l1 - 1] + c1
            text = text[:a] + new + text[b:]
        return text

    @property
    def lines(self) -> set[int]:
        """The source lines the mutation touches."""
        return {n for (l0, _, l1, _), _ in self.replacements for n in range(l0, l1 + 1)}


def mutations(text: str) -> list[Mutation]:
    """Every mutation site of the file `text`, in source order within each kind."""
    tree = ast.parse(text)
    found: list[Mutation] = []
    for finder in (_flags, _rules, _expansions, _widths, _ceil_modes):
        found += finder(tree, text)
    return found


def _line_starts(text: str) -> list[int]:
    starts, total = [], 0
    for line in text.splitlines(keepends=True):
        starts.append(total)
        total += len(line)
    return starts + [total]


def _span(node: ast.AST) -> Span:
    return (node.lineno, node.col_offset,  # type: ignore[attr-defined]
            node.end_lineno, node.end_col_offset)  # type: ignore[attr-defined]


def _name(func: ast.expr) -> str:
    return func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")


def _segment(text: str, node: ast.AST) -> str:
    return ast.get_source_segment(text, node) or ""


def _flags(tree: ast.AST, text: str) -> list[Mutation]:
    found = []
    for call in (n for n in ast.walk(tree) if isinstance(n, ast.Call)):
        for kw in call.keywords:
            if (kw.arg and FLAG.search(kw.arg) and isinstance(kw.value, ast.Constant)
                    and isinstance(kw.value.value, bool)):
                new = str(not kw.value.value)
                found.append(Mutation("projection_flag", f"{kw.arg}={new}", kw.value.lineno,
                                      f"`{kw.arg}={kw.value.value}` -> `{kw.arg}={new}` in "
                                      f"`{_name(call.func)}(...)`",
                                      ((_span(kw.value), new),)))
    return found


def _rules(tree: ast.AST, text: str) -> list[Mutation]:
    found = []
    for node in (n for n in ast.walk(tree) if isinstance(n, ast.If)):
        test = node.test
        if not (isinstance(test, ast.BoolOp) and isinstance(test.op, ast.Or)):
            continue
        parts = [_segment(text, v) for v in test.values]
        strided = [i for i, p in enumerate(parts) if "stride" in p]
        if not strided or len(strided) == len(parts):
            continue
        kept = [p for i, p in enumerate(parts) if i not in strided]
        old = _segment(text, test)
        for variant, new in (("drop stride test", " or ".join(kept)),
                             ("or -> and", " and ".join(parts))):
            found.append(Mutation("projection_rule", variant, test.lineno,
                                  f"`if {old}:` -> `if {new}:`", ((_span(test), new),)))
    return found


def _expansions(tree: ast.AST, text: str) -> list[Mutation]:
    found = []
    for cls in (n for n in ast.walk(tree) if isinstance(n, ast.ClassDef)):
        for statement in cls.body:
            target = (statement.targets[0] if isinstance(statement, ast.Assign)
                      and len(statement.targets) == 1 else getattr(statement, "target", None))
            value = getattr(statement, "value", None)
            if not (isinstance(target, ast.Name) and target.id == "expansion"
                    and isinstance(value, ast.Constant) and type(value.value) is int):
                continue
            n = value.value
            for new in dict.fromkeys(v for v in (2 * n, 1) if v != n):
                found.append(Mutation("expansion", f"{n} -> {new}", value.lineno,
                                      f"`{cls.name}.expansion = {n}` -> `= {new}`",
                                      ((_span(value), str(new)),)))
    return found


def _is_block(cls: ast.ClassDef) -> bool:
    """A residual block: its `forward` adds something (`out + identity`, `out += ...`)."""
    forward = next((f for f in cls.body if isinstance(f, ast.FunctionDef)
                    and f.name == "forward"), None)
    return forward is not None and any(
        isinstance(n, (ast.BinOp, ast.AugAssign)) and isinstance(n.op, ast.Add)
        for n in ast.walk(forward))


def _self_assignments(init: ast.FunctionDef) -> list[tuple[str, ast.Call]]:
    """`self.NAME = call(...)` statements directly in `__init__` (not under an `if`: those
    build the shortcut)."""
    found = []
    for statement in init.body:
        if (isinstance(statement, (ast.Assign, ast.AnnAssign))
                and isinstance(getattr(statement, "value", None), ast.Call)):
            target = statement.targets[0] if isinstance(statement, ast.Assign) else statement.target
            if isinstance(target, ast.Attribute) and getattr(target.value, "id", "") == "self":
                found.append((target.attr, statement.value))
    return found


def _width_argument(call: ast.Call, norm: bool) -> ast.expr | None:
    """The output-width argument: a norm's first, a conv's second (a lazy conv's first)."""
    index = 0 if norm or "Lazy" in _name(call.func) else 1
    if len(call.args) > index:
        return call.args[index]
    names = ("num_features",) if norm else ("out_channels", "out_planes", "out_channel")
    return next((kw.value for kw in call.keywords if kw.arg in names), None)


def _widths(tree: ast.AST, text: str) -> list[Mutation]:
    found = []
    for cls in (n for n in ast.walk(tree) if isinstance(n, ast.ClassDef) and _is_block(n)):
        init = next((f for f in cls.body if isinstance(f, ast.FunctionDef)
                     and f.name == "__init__"), None)
        if init is None:
            continue
        layers = _self_assignments(init)
        convs = [i for i, (attr, call) in enumerate(layers) if CONV.search(attr)
                 and CONV.search(_name(call.func)) and not SHORTCUT_ATTR.search(attr)]
        if not convs:
            continue
        last = convs[-1]
        edited = [(layers[last], False)]
        # the norm after that conv: the one named like it (`conv2` -> `bn2`), else the first
        norms = [layers[i] for i in range(last + 1, len(layers))
                 if NORM.search(_name(layers[i][1].func))]
        suffix = CONV.sub("", layers[last][0], count=1)
        norm = next((n for n in norms if suffix and n[0].endswith(suffix)),
                    norms[0] if norms else None)
        if norm is not None and _width_argument(norm[1], True) is not None:  # a lazy norm adapts
            edited.append((norm, True))
        replacements = []
        for (attr, call), is_norm in edited:
            arg = _width_argument(call, is_norm)
            if arg is None:
                break
            old = _segment(text, arg)
            wrapped = old if isinstance(arg, (ast.Name, ast.Attribute)) else f"({old})"
            replacements.append((_span(arg), f"{wrapped} * 2"))
        else:
            names = " and ".join(f"`self.{attr}`" for (attr, _), _ in edited)
            found.append(Mutation("class_width", "last conv x2", layers[last][1].lineno,
                                  f"{names} of `{cls.name}` twice as wide",
                                  tuple(replacements)))
    return found


def _ceil_modes(tree: ast.AST, text: str) -> list[Mutation]:
    found = []
    for call in (n for n in ast.walk(tree) if isinstance(n, ast.Call)
                 and POOL.search(_name(n.func))):
        for i, kw in enumerate(call.keywords):
            if kw.arg != "ceil_mode" or not (isinstance(kw.value, ast.Constant)
                                             and kw.value.value is True):
                continue
            # removing the keyword takes the comma before it (the previous argument's end)
            previous = call.keywords[i - 1] if i else (call.args[-1] if call.args else None)
            if previous is None:
                continue
            l0, c0 = previous.end_lineno, previous.end_col_offset
            removal = ((l0, c0, kw.end_lineno, kw.end_col_offset), "")  # type: ignore[arg-type]
            pool = _name(call.func)
            found.append(Mutation("ceil_mode", "removed", kw.lineno,
                                  f"`ceil_mode=True` removed from `{pool}(...)`", (removal,)))
            found.append(Mutation("ceil_mode", "False", kw.lineno,
                                  f"`ceil_mode=True` -> `ceil_mode=False` in `{pool}(...)`",
                                  ((_span(kw.value), "False"),)))
    return found
