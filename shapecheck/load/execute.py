"""Running a user's file as a module: definitions only, in a quiet, offline environment.

While the user's code runs (import, build, analysis), `sys.argv` is `[file]` (so a
top-level `parser.parse_args()` sees no shapecheck flags), standard input is empty (so
`input()` ends at once), the network is refused and weight downloads are skipped
(`offline`), no bytecode is written beside the user's files, and the working directory
is restored afterwards (an `os.chdir()` in the file moves nothing of ours). Failures that
scripts typically raise at import get an explanation in the user's terms (`explain`).
"""

from __future__ import annotations

import ast
import contextlib
import importlib.abc
import importlib.util
import io
import os
import sys
import types
import urllib.error
from typing import Iterator, Optional

from shapecheck.load.limits import TargetTimeout
from shapecheck.load.notebook import is_notebook, notebook_source
from shapecheck.load.offline import NetworkBlocked, offline
from shapecheck.load.thirdparty import prepare_torchvision
from shapecheck.load.toplevel import SkippedCode, definitions_only

_GUARD = 'put script code under `if __name__ == "__main__":`'


class NotPythonSource(ValueError):
    """The file is not Python source text (binary data, or not decodable)."""


def read_source(path: str) -> str:
    """The Python source of `path`: the file's text, or a notebook's joined code cells.

    Raises:
        NotPythonSource: binary data or an undecodable file.
        NotebookError: a `.ipynb` that is not a readable notebook.

    Example:
        >>> read_source(__file__).startswith('\"\"\"Running a user')
        True
    """
    if is_notebook(path):
        return notebook_source(path).text
    with open(path, "rb") as handle:
        data = handle.read()
    if b"\x00" in data:
        raise NotPythonSource(f"{path} is not a Python source file: it contains binary data "
                              f"(NUL bytes); name the .py file that defines the model")
    try:
        return importlib.util.decode_source(data)
    except (UnicodeDecodeError, SyntaxError) as exc:
        raise NotPythonSource(f"{path} is not readable Python text ({exc}); save it as "
                              f"UTF-8") from None


class UserFileLoader(importlib.abc.Loader):
    """Executes a user's file: with `run_all` False only its definitions (see
    `load.toplevel`); `skipped` then lists what was left out. Writes no bytecode."""

    def __init__(self, real: str, run_all: bool = False):
        self.real = real
        self.run_all = run_all
        self.skipped: list[SkippedCode] = []

    def create_module(self, spec):  # the default module object
        return None

    def exec_module(self, module: types.ModuleType) -> None:
        tree = ast.parse(read_source(self.real), filename=self.real)
        if not self.run_all:
            tree, self.skipped = definitions_only(tree)
        code = compile(tree, self.real, "exec", dont_inherit=True)
        exec(code, module.__dict__)


@contextlib.contextmanager
def user_environment(path: str, notes: Optional[list[str]] = None) -> Iterator[None]:
    """The environment the user's code runs in (see the module docstring).

    Example:
        >>> with user_environment("model.py"):
        ...     sys.argv, sys.stdin.read()
        (['model.py'], '')
    """
    prepare_torchvision()  # a user's `import torchvision` must work as shapecheck's does
    saved = (sys.argv, sys.stdin, os.getcwd(), sys.dont_write_bytecode)
    sys.argv = [path]
    sys.stdin = io.StringIO("")
    sys.dont_write_bytecode = True
    try:
        with offline(notes if notes is not None else []):
            yield
    finally:
        sys.argv, sys.stdin, cwd, sys.dont_write_bytecode = saved
        with contextlib.suppress(OSError):
            os.chdir(cwd)


def explain(exc: BaseException) -> Optional[str]:
    """A one-line explanation for what scripts raise at import, None for other errors.

    Example:
        >>> explain(EOFError("EOF when reading a line"))[:40]
        'it reads standard input (input()), and s'
    """
    if isinstance(exc, SystemExit):
        return (f"it stopped the import with SystemExit({exc.code!r}): sys.exit() or "
                f"argparse's parse_args() ran at top level (shapecheck runs the file with "
                f"sys.argv = [file] and no arguments); {_GUARD}, or give the arguments "
                f"defaults")
    if isinstance(exc, EOFError):
        return (f"it reads standard input (input()), and shapecheck gives it none; {_GUARD} "
                f"or read a default instead")
    if isinstance(exc, KeyboardInterrupt):
        return f"it raised KeyboardInterrupt while being imported; {_GUARD}"
    if isinstance(exc, TargetTimeout):
        return str(exc)
    if isinstance(exc, NetworkBlocked):
        return str(exc)
    if isinstance(exc, urllib.error.URLError) or isinstance(exc, ConnectionError):
        return (f"it tried to reach the network ({exc}); shapecheck needs no downloads: "
                f"build the model without pretrained weights or data sets")
    return None


def raised_by_user(exc: KeyboardInterrupt) -> bool:
    """True when a KeyboardInterrupt comes from a `raise` in the user's code, not Ctrl-C."""
    import traceback

    frames = traceback.extract_tb(exc.__traceback__) if exc.__traceback__ else []
    return bool(frames) and (frames[-1].line or "").lstrip().startswith("raise")
