"""Proving a source edit: the patched file, executed fresh in memory, builds and checks.

Nothing is written to disk. The edited file is compiled under its own path (so findings
keep pointing at the user's lines), its definitions are executed in a new module, and
when the edit is in a module the target imports, that module is swapped in for the
duration. The model is then built on meta and checked like the original.
"""

from __future__ import annotations

import ast
import os
import sys
import types
from dataclasses import dataclass
from typing import Any, Optional

from shapecheck.api import check
from shapecheck.load.build import build_model
from shapecheck.load.toplevel import definitions_only
from shapecheck.report import Report


@dataclass(frozen=True)
class Target:
    """What to rebuild: the model file, the name of its factory, the example inputs."""

    path: str
    attr: str
    inputs: Any = None


@dataclass(frozen=True)
class Outcome:
    """The check of a patched source: its Report (None when it did not build) and why not."""

    report: Optional[Report]
    error: Optional[str] = None


def check_patched(target: Target, sources: dict[str, str]) -> Outcome:
    """Build and check `target` with the files in `sources` (path -> new text) patched.

    Example:
        >>> import tempfile, pathlib
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "net.py"
        >>> _ = path.write_text("import torch.nn as nn\\ndef build():\\n    return nn.Linear(4, 2)\\n")
        >>> patched = {str(path): path.read_text().replace("(4, 2)", "(4, 3)")}
        >>> check_patched(Target(str(path), "build", [(1, 4)]), patched).report.output_shapes
        [(1, 3)]
    """
    swapped: dict[str, Optional[types.ModuleType]] = {}
    try:
        for path, source in sources.items():
            if _same_file(path, target.path):
                continue
            for name in _imported_names(path):
                swapped[name] = sys.modules.get(name)
                _fresh_module(name, path, source)
        source = sources.get(_key(sources, target.path))
        if source is None:
            with open(target.path, encoding="utf-8") as handle:
                source = handle.read()
        name = "shapecheck_patched_target"
        swapped.setdefault(name, sys.modules.get(name))
        module = _fresh_module(name, target.path, source)
        factory = getattr(module, target.attr)
        model = build_model(factory)
        return Outcome(check(model, target.inputs, target=f"{target.path}:{target.attr}"))
    except Exception as exc:  # the edit may break the build: that candidate is rejected
        return Outcome(None, f"{type(exc).__name__}: {exc}")
    finally:
        for name, previous in swapped.items():
            if previous is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = previous


def parameter_shapes(model: Any) -> dict[str, tuple[int, ...]]:
    """Every parameter and buffer name with its shape: equal before and after an edit
    means pretrained weights still load.

    >>> import torch.nn as nn
    >>> parameter_shapes(nn.Linear(4, 2))
    {'weight': (2, 4), 'bias': (2,)}
    """
    return {name: tuple(value.shape) for name, value in model.state_dict().items()}


def _fresh_module(name: str, path: str, source: str) -> types.ModuleType:
    """A new module `name` (in sys.modules, as dataclasses and pickling expect) from the
    definitions of `source`, compiled under `path`."""
    tree, _ = definitions_only(ast.parse(source, path))
    module = types.ModuleType(name)
    module.__file__ = path
    sys.modules[name] = module
    directory = os.path.dirname(os.path.abspath(path))
    if directory not in sys.path:
        sys.path.insert(0, directory)
    exec(compile(tree, path, "exec"), module.__dict__)  # noqa: S102 - the user's own file
    return module


def _imported_names(path: str) -> list[str]:
    return [name for name, module in list(sys.modules.items())
            if getattr(module, "__file__", None) and _same_file(module.__file__, path)]


def _same_file(a: str, b: str) -> bool:
    return os.path.realpath(a) == os.path.realpath(b)


def _key(sources: dict[str, str], path: str) -> str:
    return next((p for p in sources if _same_file(p, path)), path)
