"""Candidate source edits for a residual finding, from where its block came from.

Evidence decides where an edit may go: a flag of a call on the way to building the block
(`use_1x1conv=False`, `conv_shortcut=False`, `first_block=True`), or the block's own
projection rule (`if in_channels != out_channels:` that forgets the stride, `and` where
`or` is meant). Every candidate is only a proposal; `verify.py` keeps the ones that make
the re-executed file check clean.
"""

from __future__ import annotations

import ast
import os
import re
from dataclasses import dataclass
from typing import Callable, Optional

from shapecheck.load.frames import display_path, is_user_file
from shapecheck.load.provenance import Call, Origin
from shapecheck.repair import edits

Edit = Callable[[str], str]


@dataclass(frozen=True)
class Candidate:
    """One proposed edit of one file. `apply(source)` returns the edited source."""

    path: str
    line: int
    kind: str  # "call-argument" or "builder-condition"
    description: str
    apply: Edit


def candidates_for(origin: Origin) -> list[Candidate]:
    """Every edit worth trying for a failing block, innermost evidence first.

    Example:
        >>> import tempfile, pathlib
        >>> from shapecheck.load.provenance import Span
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "m.py"
        >>> _ = path.write_text("import torch.nn as nn\\nnet = Block(8)\\n")
        >>> call = Call(Span(str(path), 2, 2, 6, 14), "Block.__init__",
        ...             {"width": 8, "project": False}, ("width",), ("width", "project"))
        >>> [(c.kind, c.apply(path.read_text()).splitlines()[1])
        ...  for c in candidates_for(Origin("0", "Block", (call,)))]
        [('call-argument', 'net = Block(8, project=True)')]
    """
    found: list[Candidate] = []
    for call in origin.calls:
        found += _flag_flips(call)
    if origin.calls and origin.calls[0].defined is not None:
        found += _projection_rules(origin.calls[0])
    return found


def _flag_flips(call: Call) -> list[Candidate]:
    if not editable(call.span.path):
        return []
    flips = []
    for name, value in call.arguments.items():
        if not isinstance(value, bool):
            continue
        new = "True" if not value else "False"
        position = call.positional.index(name) if name in call.positional else None
        explicit = name in call.explicit

        def apply(source: str, name=name, new=new, position=position, explicit=explicit,
                  span=call.span) -> str:
            return edits.set_argument(source, span.line, span.column, name, new,
                                      position if explicit else None)

        where = f"{display_path(call.span.path)}:{call.span.line}"
        was = f"{name}={value}" if explicit else f"{name} (default {value})"
        flips.append(Candidate(call.span.path, call.span.line, "call-argument",
                               f"{was} -> {name}={new} in the call at {where}", apply))
    return flips


def _projection_rules(constructor: Call) -> list[Candidate]:
    path, first_line = constructor.defined  # type: ignore[misc]
    if not editable(path):
        return []
    try:
        with open(path, encoding="utf-8") as handle:
            source = handle.read()
        tests = [(line, test, _stride_name(constructor.arguments))
                 for line, test in edits.if_tests(source, first_line)]
        for helper, parameters in _helpers_called(source, first_line):  # the rule may live in
            tests += [(line, test, _stride_name(parameters))  # `projection_shortcut(...)`
                      for line, test in edits.if_tests(source, helper)]
    except (OSError, SyntaxError, Exception):  # libcst raises its own ParserSyntaxError
        return []
    found = []
    for line, test, stride in tests:
        where = f"{display_path(path)}:{line}"
        if stride is not None and "!=" in test and stride not in test and _about_width(test):
            guard = f"{stride} != 1"
            found.append(Candidate(
                path, line, "builder-condition",
                f"`if {test}:` -> `if {guard} or {test}:` at {where} (a stride changes the "
                f"shape too)", lambda s, line=line, guard=guard: edits.widen_condition(
                    s, line, guard)))
        if re.search(r"\band\b", test) and (stride is None or stride in test):
            found.append(Candidate(
                path, line, "builder-condition",
                f"`and` -> `or` in `if {test}:` at {where} (either change needs a projection)",
                lambda s, line=line: edits.and_to_or(s, line)))
    return found


def _stride_name(parameters) -> Optional[str]:
    return next((n for n in parameters if "stride" in n.lower()), None)


def _helpers_called(source: str, first_line: int) -> list[tuple[int, list[str]]]:
    """Module-level functions of the file that the function at `first_line` calls: their
    first lines and parameter names."""
    tree = ast.parse(source)
    functions = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}
    caller = next((n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)
                   and first_line in (n.lineno, *(d.lineno for d in n.decorator_list))), None)
    if caller is None:
        return []
    called = {c.func.id for c in ast.walk(caller)
              if isinstance(c, ast.Call) and isinstance(c.func, ast.Name)}
    return [(functions[name].lineno, [a.arg for a in functions[name].args.args])
            for name in sorted(called & set(functions)) if functions[name] is not caller]


def _about_width(test: str) -> bool:
    return bool(re.search(r"chann|plane|width|filter|dim|feat|in_|out_|inp|oup", test))


def editable(path: Optional[str]) -> bool:
    """Only the user's own files on disk: never site-packages, torch or shapecheck."""
    return bool(path) and is_user_file(path) and os.path.isfile(path)
