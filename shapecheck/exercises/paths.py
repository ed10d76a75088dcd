"""Shipped starter and solution files are analysed from a copy outside the package.

shapecheck names the user's line by skipping frames inside torch and inside the shapecheck
package itself; a model file that lives in `shapecheck/exercises/` would therefore get no
line (or a line of whatever script called it). Analysing a copy in a temporary folder gives
real lines, and `shown()` maps the copy's path back to the shipped file's for display.

    >>> from shapecheck.exercises.catalog import find
    >>> copy = analysable(str(find(1).starter_path))
    >>> shown(copy).endswith("starters/01_first_block.py")
    True
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path
from typing import Optional

from shapecheck.exercises.catalog import PACKAGE_DIR
from shapecheck.load.frames import display_path

_copy_root: Optional[Path] = None


def _root() -> Path:
    global _copy_root
    if _copy_root is None:
        _copy_root = Path(tempfile.mkdtemp(prefix="shapecheck-exercises-"))
        atexit.register(shutil.rmtree, _copy_root, True)
    return _copy_root


def analysable(path: str) -> str:
    """`path` itself, or for a file inside the exercises package, an up-to-date copy."""
    real = Path(path).resolve()
    if PACKAGE_DIR not in real.parents:
        return path
    copy = _root() / real.relative_to(PACKAGE_DIR)
    if not copy.exists() or copy.stat().st_mtime_ns < real.stat().st_mtime_ns:
        copy.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(real, copy)
    return str(copy)


def shown(path: str) -> str:
    """The path to show for `path`: a copy's shipped original, else `path` unchanged."""
    if _copy_root is not None:
        root = str(_copy_root) + os.sep
        if os.path.abspath(path).startswith(root):
            return display_path(str(PACKAGE_DIR / os.path.abspath(path)[len(root):]))
    return path


def shown_location(location) -> str:
    """`path:line` of a `Location`, with a copy's path mapped back to the shipped file."""
    return f"{shown(location.path)}:{location.line}"
