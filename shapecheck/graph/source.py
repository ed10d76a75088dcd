"""Where a traced node comes from: the user's source line and the owning module path."""

from __future__ import annotations

import functools
import linecache
import os
import re
import sys
import traceback
from typing import Optional

import torch.fx as fx

from shapecheck.load.frames import display_path, is_library_frame
from shapecheck.report import Location

_FRAME = re.compile(r'File "(?P<path>[^"]+)", line (?P<line>\d+), in (?P<func>\S+)')

def location_from_stack(stack_trace: Optional[str]) -> Optional[Location]:
    """The innermost frame outside torch in an fx `stack_trace` (outermost frame first).

    >>> location_from_stack('File "/tmp/m.py", line 7, in forward\\n    y = x + x\\n')
    Location(path='/tmp/m.py', line=7, function='forward', code=None)
    """
    if not stack_trace:
        return None
    frames = [m for m in _FRAME.finditer(stack_trace)]
    for match in reversed(frames):
        path = match.group("path")
        if is_library_frame(path):
            continue
        line = int(match.group("line"))
        code = linecache.getline(path, line).strip() or None
        return Location(display_path(path), line, match.group("func"), code)
    return None


def node_location(node: fx.Node) -> Optional[Location]:
    """The user's source line for a traced node, from `node.meta["stack_trace"]`."""
    cached = node.meta.get("shapecheck_location")
    if cached is None and "stack_trace" in node.meta:
        cached = location_from_stack(node.meta["stack_trace"])
        node.meta["shapecheck_location"] = cached
    return cached


def owner_module(node: fx.Node) -> str:
    """Qualified name of the innermost module whose `forward` performs this node's operation.

    For a `call_module` node that is the module calling the layer (the layer's parent);
    see `layer_path` for the layer itself. "" is the top-level module.
    """
    stack = node.meta.get("nn_module_stack") or {}
    paths = [_path_of(value) for value in stack.values()]
    if node.op == "call_module" and paths and paths[-1] == node.target:
        paths = paths[:-1]
    return paths[-1] if paths else ""


def layer_path(node: fx.Node) -> str:
    """The module path a node is best known by: the layer itself for `call_module` nodes."""
    return str(node.target) if node.op == "call_module" else owner_module(node)


def _path_of(value) -> str:
    path = value[0] if isinstance(value, tuple) else str(value)
    # dynamo-style names ("L['self'].layer1[0]") are normalised to "layer1.0"
    path = re.sub(r"^L\['self'\]\.?", "", path)
    return re.sub(r"\[(\d+)\]", r".\1", path).lstrip(".")


def error_location(exc: BaseException) -> Optional[Location]:
    """The user's line for a tracing failure: its recorded stack first, then the traceback.

    >>> error_location(ValueError("no stack")) is None
    True
    """
    location = location_from_stack(getattr(exc, "stack_trace", None))
    if location is not None:
        return location
    cause = exc.__cause__ or exc
    frames = traceback.extract_tb(cause.__traceback__) if cause.__traceback__ else []
    text = "".join(f'File "{f.filename}", line {f.lineno}, in {f.name}\n' for f in frames)
    return location_from_stack(text)
