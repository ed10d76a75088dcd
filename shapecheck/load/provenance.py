r"""Where each module of a model came from: the user's calls that built it and the line that
assigned it to its parent.

A source fix has to edit the user's file at the right place: the argument of the call that
built a block (`Residual(64, 128)` without `use_1x1conv=True`), the call of the builder
function that passed a wrong flag (`resnet_block(64, 128, 2, first_block=True)`), or the
class body that assigned a layer (`self.conv2 = conv3x3(...)`). While a model is built,
`recording()` notes for every module the chain of user frames that constructed it (each
with its exact call span and the called function's bound arguments) and, through torch's
global module-registration hook, the user line that assigned it.

Example:
    >>> import pathlib, tempfile, importlib.util
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "net.py"
    >>> _ = path.write_text(
    ...     "import torch.nn as nn\n"
    ...     "class Block(nn.Module):\n"
    ...     "    def __init__(self, width, project=False):\n"
    ...     "        super().__init__()\n"
    ...     "        self.conv = nn.Conv2d(width, width, 3)\n"
    ...     "def build():\n"
    ...     "    return nn.Sequential(Block(8, project=False))\n")
    >>> spec = importlib.util.spec_from_file_location("net_example", path)
    >>> module = importlib.util.module_from_spec(spec); spec.loader.exec_module(module)
    >>> with recording() as record:
    ...     net = module.build()
    >>> origins = record.origins(net)
    >>> call = origins["0"].calls[0]
    >>> call.function, call.span.line, call.arguments, call.explicit
    ('Block.__init__', 7, {'width': 8, 'project': False}, ('width', 'project'))
    >>> origins["0.conv"].assigned.attribute, origins["0.conv"].assigned.span.line
    ('conv', 5)
"""

from __future__ import annotations

import ast
import contextlib
import itertools
import linecache
import sys
import threading
from dataclasses import dataclass, field
from types import CodeType, FrameType
from typing import Any, Iterator, Optional

import torch.nn as nn
from torch.nn.modules.module import register_module_module_registration_hook

from shapecheck.load.frames import display_path, is_user_file

_LOCK = threading.Lock()  # sys.setprofile is per thread, the registration hook is global


@dataclass(frozen=True)
class Span:
    """A source range: 1-based lines, 0-based columns (as `co_positions` gives them)."""

    path: str
    line: int
    end_line: int
    column: int
    end_column: int


@dataclass(frozen=True)
class Call:
    """One user frame's call on the way to building a module.

    `span` is the call expression in the caller's file; `function` the called function
    (`Residual.__init__`, `resnet_block`); `arguments` its parameters as bound at the call,
    defaults included, as plain values where they are plain (bool, int, float, str, None).
    """

    span: Span
    function: str
    arguments: dict[str, Any]
    explicit: tuple[str, ...]  # parameters the call wrote out (the others are defaults)
    positional: tuple[str, ...] = ()  # the function's positional parameters, in order
    defined: Optional[tuple[str, int]] = None  # the function's file and first line


@dataclass(frozen=True)
class Assignment:
    """The user line that attached a module to its parent: `self.<attribute> = ...`."""

    span: Span
    attribute: str


@dataclass(frozen=True)
class Origin:
    """Everything known about where one module (by its path in the model) came from.

    `calls` run from the constructor's own call outwards (the block's `__init__` first,
    then the builder that called it, and so on, user frames only).
    """

    module: str
    class_name: str
    calls: tuple[Call, ...] = ()
    assigned: Optional[Assignment] = None

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict: each call's file, line, function and bound arguments (plain
        values as they are, others as `<TypeName>`), and the assigning line."""
        def where(span: Span) -> dict[str, Any]:
            return {"path": display_path(span.path), "line": span.line}

        return {"module": self.module, "class_name": self.class_name,
                "calls": [{**where(c.span), "function": c.function,
                           "arguments": {k: list(v) if isinstance(v, tuple) else v
                                         for k, v in c.arguments.items()},
                           "explicit": list(c.explicit)} for c in self.calls],
                "assigned": {**where(self.assigned.span),
                             "attribute": self.assigned.attribute} if self.assigned else None}


@dataclass
class Record:
    """What `recording()` saw, keyed by module object identity until `origins` names them."""

    calls: dict[int, tuple[Call, ...]] = field(default_factory=dict)
    assignments: dict[int, Assignment] = field(default_factory=dict)
    keep: list[nn.Module] = field(default_factory=list)  # so ids stay unique while recording

    def origins(self, model: nn.Module) -> dict[str, Origin]:
        """Origins of every module of `model`, by path ("" is the model itself)."""
        found = {}
        for path, module in model.named_modules():
            found[path] = Origin(path, type(module).__name__, self.calls.get(id(module), ()),
                                 self.assignments.get(id(module)))
        return found


@contextlib.contextmanager
def recording() -> Iterator[Record]:
    """Record the origins of the modules constructed inside the block (one thread at a time)."""
    record = Record()
    with _LOCK:
        previous = sys.getprofile()
        handle = register_module_module_registration_hook(_assignment_hook(record))
        sys.setprofile(_constructor_profiler(record))
        try:
            yield record
        finally:
            sys.setprofile(previous)
            handle.remove()


def _constructor_profiler(record: Record):
    def profile(frame: FrameType, event: str, arg: Any) -> None:
        if event != "call" or frame.f_code.co_name != "__init__":
            return
        code = frame.f_code
        if not code.co_varnames:
            return
        self = frame.f_locals.get(code.co_varnames[0])
        if not isinstance(self, nn.Module) or id(self) in record.calls:
            return  # not a module, or a super().__init__ of one already seen
        record.keep.append(self)
        record.calls[id(self)] = _user_calls(frame, type(self).__name__)
    return profile


def _user_calls(init_frame: FrameType, class_name: str) -> tuple[Call, ...]:
    """The constructor call and each user builder call above it, innermost first."""
    calls = []
    callee: FrameType = init_frame
    caller = init_frame.f_back
    while caller is not None:
        if is_user_file(caller.f_code.co_filename):
            name = (f"{class_name}.__init__" if callee is init_frame
                    else callee.f_code.co_name)
            code = callee.f_code
            positional = tuple(n for n in code.co_varnames[:code.co_argcount]
                               if n not in ("self", "cls"))
            calls.append(Call(_span(caller), name, _bound(callee), _explicit(caller, callee),
                              positional, (code.co_filename, code.co_firstlineno)))
        elif calls:
            break  # past the user's code (the interpreter, shapecheck's loader)
        callee, caller = caller, caller.f_back
    return tuple(calls)


def _assignment_hook(record: Record):
    def hook(parent: nn.Module, name: str, module: Any):
        if not isinstance(module, nn.Module) or id(module) in record.assignments:
            return None
        frame = sys._getframe(1)
        while frame is not None and not is_user_file(frame.f_code.co_filename):
            frame = frame.f_back
        if frame is not None and frame.f_code.co_name == "__init__":
            record.keep.append(module)
            record.assignments[id(module)] = Assignment(_span(frame), name)
        return None
    return hook


def _span(frame: FrameType) -> Span:
    """The exact source range of the instruction a frame is executing."""
    positions = _positions(frame.f_code)
    line, end_line, column, end_column = positions[frame.f_lasti // 2]
    line = line or frame.f_lineno
    return Span(frame.f_code.co_filename, line, end_line or line, column or 0,
                end_column or 0)


_POSITIONS: dict[CodeType, list] = {}


def _positions(code: CodeType) -> list:
    cached = _POSITIONS.get(code)
    if cached is None:
        cached = _POSITIONS[code] = list(itertools.islice(code.co_positions(), None))
    return cached


def _bound(frame: FrameType) -> dict[str, Any]:
    """A function's parameters as bound when its frame started (self excluded)."""
    code = frame.f_code
    count = code.co_argcount + code.co_kwonlyargcount
    names = code.co_varnames[:count]
    values = frame.f_locals
    return {name: _plain(values.get(name)) for name in names
            if name not in ("self", "cls") and name in values}


def _plain(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (tuple, list)) and all(isinstance(v, (bool, int, float, str))
                                               for v in value):
        return tuple(value)
    return f"<{type(value).__name__}>"


def _explicit(caller: FrameType, callee: FrameType) -> tuple[str, ...]:
    """The callee's parameters that the caller's source writes out, as far as the source
    says (keyword names, and positional slots); read later by the edits, cheaply here."""
    span = _span(caller)
    text = _source_text(span)
    if text is None:
        return ()
    try:
        node = ast.parse(text.strip(), mode="eval").body
    except SyntaxError:
        return ()
    if not isinstance(node, ast.Call):
        return ()
    code = callee.f_code
    positional = [n for n in code.co_varnames[:code.co_argcount] if n not in ("self", "cls")]
    named = [k.arg for k in node.keywords if k.arg]
    given = positional[:len([a for a in node.args if not isinstance(a, ast.Starred)])]
    return tuple(given + named)


def _source_text(span: Span) -> Optional[str]:
    lines = [linecache.getline(span.path, n) for n in range(span.line, span.end_line + 1)]
    if not lines or not lines[0]:
        return None
    if len(lines) == 1:
        return lines[0][span.column:span.end_column]
    lines[0] = lines[0][span.column:]
    lines[-1] = lines[-1][:span.end_column]
    return "".join(lines)
