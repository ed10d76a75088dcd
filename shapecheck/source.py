"""Where a traced node comes from: the user's source line and the owning module path."""

from __future__ import annotations

import functools
import linecache
import os
import re
import sys
from typing import Optional

import torch.fx as fx

from shapecheck.report import Location

_FRAME = re.compile(r'File "(?P<path>[^"]+)", line (?P<line>\d+), in (?P<func>\S+)')
_TORCH_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__import__("torch").__file__)))
_OWN_DIR = os.path.dirname(os.path.abspath(__file__))
_USER_CODE_DIRS = tuple(os.path.join(_OWN_DIR, "exercises", d) + os.sep
                        for d in ("starters", "solutions"))


@functools.lru_cache(maxsize=4096)
def _is_library_frame(path: str) -> bool:
    """Frames inside torch or shapecheck itself never name the user's line."""
    absolute = os.path.abspath(path)
    if absolute.startswith(_USER_CODE_DIRS):
        return False  # the exercises' model files are user code shipped inside the package
    return (absolute.startswith(os.path.join(_TORCH_DIR, "torch") + os.sep)
            or absolute.startswith(_OWN_DIR + os.sep)
            or path.startswith("<"))


def user_frame_text(depth: int = 2) -> Optional[str]:
    """The innermost caller frame outside torch and shapecheck, as an fx stack-trace line.

    Walking frames is far cheaper than fx's `record_stack_traces`, which formats the whole
    stack for every node.
    """
    frame = sys._getframe(depth)
    while frame is not None:
        path = frame.f_code.co_filename
        if not _is_library_frame(path):
            return f'File "{path}", line {frame.f_lineno}, in {frame.f_code.co_name}\n'
        frame = frame.f_back
    return None


def display_path(path: str) -> str:
    """`path` relative to the working directory when it lies below it, else absolute.

    >>> display_path(os.path.join(os.getcwd(), "models", "resnet.py"))
    'models/resnet.py'
    """
    absolute = os.path.abspath(path)
    cwd = os.getcwd()
    if absolute.startswith(cwd + os.sep):
        return os.path.relpath(absolute, cwd)
    return absolute


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
        if _is_library_frame(path):
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
