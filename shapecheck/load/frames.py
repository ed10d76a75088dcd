"""Errors in the user's terms: which frame is the user's code, and where it failed."""

from __future__ import annotations

import functools
import inspect
import os
import site
import sys
import sysconfig
import traceback
from typing import Optional

import torch

from shapecheck.report import Location

_TORCH_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__import__("torch").__file__)))
_OWN_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # the package
_USER_CODE_DIRS = tuple(os.path.join(_OWN_DIR, "exercises", d) + os.sep
                        for d in ("starters", "solutions"))


def is_library_frame(path: str) -> bool:
    """Frames inside torch or shapecheck itself never name the user's line (see `frame_kind`)."""
    return frame_kind(path) == INTERNAL


def user_frame_text(depth: int = 2) -> Optional[str]:
    """The innermost caller frame outside torch and shapecheck, as an fx stack-trace line.

    Walking frames is far cheaper than fx's `record_stack_traces`, which formats the whole
    stack for every node.
    """
    frame = sys._getframe(depth)
    while frame is not None:
        path = frame.f_code.co_filename
        if not is_library_frame(path):
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


def _library_roots() -> tuple[str, ...]:
    roots = {_OWN_DIR,
             os.path.dirname(os.path.abspath(torch.__file__))}
    try:
        roots.update(os.path.abspath(p) for p in site.getsitepackages())
        roots.add(os.path.abspath(site.getusersitepackages()))
    except AttributeError:  # some embedded interpreters lack these
        pass
    for key in ("stdlib", "platstdlib", "purelib", "platlib"):
        for scheme_paths in (sysconfig.get_paths(), sysconfig.get_paths(vars={
                "base": sys.base_prefix, "platbase": sys.base_exec_prefix})):
            if scheme_paths.get(key):
                roots.add(os.path.abspath(scheme_paths[key]))
    return tuple(sorted(roots))


_LIBRARY_ROOTS = _library_roots()


USER, THIRD_PARTY, INTERNAL = "user", "third_party", "internal"


@functools.lru_cache(maxsize=4096)
def frame_kind(path: str) -> str:
    """Whose code a file is: the one rule behind `is_user_file` and `is_library_frame`.

    "internal" for torch, shapecheck and code without a file (`<frozen ...>`, `<string>`);
    "third_party" for the standard library and installed packages (not the user's, but
    a node traced inside torchvision may still be located there); "user" for everything
    else, including the exercises' starters and solutions shipped inside the package.

    >>> frame_kind(torch.__file__), frame_kind(os.__file__), frame_kind("/home/me/net.py")
    ('internal', 'third_party', 'user')
    """
    if not path or path.startswith("<"):
        return INTERNAL
    absolute = os.path.abspath(path)
    if absolute.startswith(_USER_CODE_DIRS):
        return USER
    if absolute.startswith((os.path.join(_TORCH_DIR, "torch") + os.sep, _OWN_DIR + os.sep)):
        return INTERNAL
    if any(absolute == root or absolute.startswith(root + os.sep) for root in _LIBRARY_ROOTS):
        return THIRD_PARTY
    return USER


def class_source(cls: type) -> Optional[tuple[str, int, int]]:
    """The file and first and last lines of a class's definition, or None (no source).

    >>> class_source(int) is None
    True
    """
    try:
        path = inspect.getsourcefile(cls)
        lines, first = inspect.getsourcelines(cls)
    except (OSError, TypeError):
        return None
    return (path, first, first + len(lines) - 1) if path else None


def is_user_file(filename: str) -> bool:
    """False for the standard library, installed packages, torch and shapecheck itself."""
    return frame_kind(filename) == USER


def exception_location(exc: BaseException, target_path: Optional[str] = None) -> Optional[Location]:
    """Where in the user's code `exc` happened: the syntax error's line, else the innermost
    traceback frame in user code (not the standard library, site-packages, torch or
    shapecheck), else the innermost frame in `target_path`.

    The path is shown as the user gave it for the target file, else relative to the
    working directory.

    Example:
        >>> try:
        ...     compile("x = (", "m.py", "exec")
        ... except SyntaxError as e:
        ...     exception_location(e).line
        1
    """
    if isinstance(exc, SyntaxError) and exc.filename and exc.lineno:
        code = (exc.text or "").strip() or None
        return Location(_shown_path(exc.filename, target_path), exc.lineno, None, code)
    frames = traceback.extract_tb(exc.__traceback__) if exc.__traceback__ else []
    target_real = os.path.realpath(target_path) if target_path else None
    target_dir = os.path.dirname(target_real) if target_real else None

    def in_user_code(filename: str) -> bool:
        # the target's own directory counts even inside a package (shipped exercises)
        return is_user_file(filename) or (
            target_dir is not None and os.path.dirname(os.path.realpath(filename)) == target_dir)

    chosen = next((f for f in reversed(frames) if in_user_code(f.filename)), None)
    if chosen is None and target_real:
        chosen = next((f for f in reversed(frames)
                       if os.path.realpath(f.filename) == target_real), None)
    if chosen is None:
        cause = exc.__cause__ or exc.__context__
        return exception_location(cause, target_path) if cause is not None else None
    code = (chosen.line or "").strip() or None
    return Location(_shown_path(chosen.filename, target_path), chosen.lineno or 1,
                    chosen.name, code)


def _shown_path(filename: str, target_path: Optional[str]) -> str:
    if target_path and os.path.exists(filename) and os.path.exists(target_path) \
            and os.path.samefile(filename, target_path):
        return target_path
    return display_path(filename)


def describe_exception(exc: BaseException, limit: int = 600) -> str:
    """`TypeName: message` on one line, whitespace collapsed, long messages cut.

    Example:
        >>> describe_exception(ValueError("in_channels must be\\n divisible by groups"))
        'ValueError: in_channels must be divisible by groups'
    """
    if isinstance(exc, SyntaxError):
        text = exc.msg or "invalid syntax"
    else:
        text = str(exc)
    text = " ".join(text.split())
    if len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    name = type(exc).__name__
    return f"{name}: {text}" if text else name


def format_traceback(exc: BaseException) -> str:
    """The full traceback, for `--verbose`."""
    return "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))


def first_line(exc: BaseException, limit: int = 400) -> str:
    """The first line of an exception's message (its type name when it has none).

    >>> first_line(RuntimeError("shapes do not match\\nmore detail"))
    'shapes do not match'
    """
    lines = str(exc).strip().splitlines()
    return lines[0][:limit] if lines else type(exc).__name__
