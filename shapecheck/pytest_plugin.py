"""pytest plugin: `pytest --shapecheck` checks every model file for residual shape bugs.

Opt-in, like pytest-flakes: without `--shapecheck` the plugin adds nothing to a run, and
importing it costs no torch import. With it, each model file under the paths pytest
collects (a Jupyter notebook too) becomes one item, `path/model.py::shapecheck`, which runs `shapecheck.runner.
check_spec` on the file and fails when any model in it has a finding of severity error or
could not be analysed. The failure shows what `shapecheck path/model.py` prints. A file
that offers no model at all (a module of helper layers) is skipped, as when `shapecheck`
searches a directory.

Which files are model files:
  * the file name matches one of the `shapecheck_patterns` ini globs (default `*.py` and
    `*.ipynb`; a
    glob containing "/" is matched against the path relative to the rootdir), and
  * it is not a test module (`python_files`, default `test_*.py *_test.py`), a
    `conftest.py` or `setup.py`, and its name does not start with "_" or ".", and
  * its source (a notebook's: its code cells) uses `torch.nn` (`import torch.nn`,
    `from torch import nn`, `from torch.nn import ...` or `torch.nn.` in the code).

One item per file, not per model: which models a file offers (instances, no-argument
factories, classes) is only known after importing it, and collection should neither import
torch nor run user code. The item's failure lists every model of the file.

    [pytest]
    shapecheck_patterns = models/*.py examples/*.py
"""

from __future__ import annotations

import fnmatch
import os
import re
from pathlib import Path
from typing import Any, Optional

import pytest

DEFAULT_PATTERNS = ["*.py", "*.ipynb"]
MODEL_SUFFIXES = (".py", ".ipynb")
_EXCLUDED_NAMES = {"conftest.py", "setup.py", "__init__.py", "__main__.py"}
_USES_TORCH_NN = re.compile(
    r"^\s*(?:import\s+torch\.nn\b|from\s+torch\.nn\b|from\s+torch\s+import\s+[^#\n]*\bnn\b)"
    r"|\btorch\.nn\.", re.MULTILINE)
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("shapecheck", "residual-network shape checks")
    group.addoption("--shapecheck", action="store_true", default=False,
                    help="check model files (see shapecheck_patterns) for shape bugs")
    parser.addini("shapecheck_patterns", type="args", default=list(DEFAULT_PATTERNS),
                  help="globs of files that --shapecheck checks (default: *.py *.ipynb; files must "
                       "also use torch.nn)")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "shapecheck: a shapecheck model-file check")


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> Optional[pytest.File]:
    config = parent.config
    if not config.getoption("shapecheck") or file_path.suffix not in MODEL_SUFFIXES:
        return None
    if not is_model_file(file_path, config):
        return None
    return ShapecheckFile.from_parent(parent, path=file_path)


def is_model_file(path: Path, config: pytest.Config) -> bool:
    """True when `--shapecheck` should check `path`: the rule in the module docstring."""
    name = path.name
    if name in _EXCLUDED_NAMES or name.startswith(("_", ".")):
        return False
    relative = _relative_to_root(path, config)
    if _matches_any(name, relative, config.getini("python_files")):
        return False  # a test module: pytest's own collector owns it
    if not _matches_any(name, relative, config.getini("shapecheck_patterns")):
        return False
    try:
        source = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    if path.suffix == ".ipynb":
        source = notebook_code(source)
    return uses_torch_nn(source)


def notebook_code(document: str) -> str:
    """The code cells of a notebook's JSON `document`, joined ("" when it is not JSON).

    Read here with `json` rather than `shapecheck.load.notebook`, which imports torch:
    collection stays light, and a broken notebook is still collected (when it names
    torch.nn) so that its item reports why it cannot be read.

    Example:
        >>> notebook_code('{"cells": [{"cell_type": "markdown", "source": "torch.nn."},'
        ...               ' {"cell_type": "code", "source": ["from torch ", "import nn"]}]}')
        'from torch import nn'
        >>> notebook_code("{not json")
        ''
    """
    import json

    try:
        cells = json.loads(document).get("cells", [])
    except (ValueError, AttributeError):
        return ""
    sources = [cell.get("source", "") for cell in cells
               if isinstance(cell, dict) and cell.get("cell_type") == "code"]
    return "\n".join("".join(s) if isinstance(s, list) else str(s) for s in sources)


def uses_torch_nn(source: str) -> bool:
    """Whether Python `source` imports or names `torch.nn` (what marks a model file).

    Example:
        >>> uses_torch_nn("from torch import nn, Tensor"), uses_torch_nn("import torch")
        (True, False)
    """
    return bool(_USES_TORCH_NN.search(source))


def _relative_to_root(path: Path, config: pytest.Config) -> str:
    try:
        return path.resolve().relative_to(config.rootpath.resolve()).as_posix()
    except ValueError:
        return path.as_posix()


def _matches_any(name: str, relative: str, patterns: list[str]) -> bool:
    """Globs without "/" match the file name; with "/", the path relative to the rootdir."""
    for pattern in patterns:
        if "/" in pattern:
            if fnmatch.fnmatch(relative, pattern) or fnmatch.fnmatch(relative, "*/" + pattern):
                return True
        elif fnmatch.fnmatch(name, pattern):
            return True
    return False


class ShapecheckFile(pytest.File):
    """A model file; it yields one ShapecheckItem."""

    def collect(self):
        yield ShapecheckItem.from_parent(self, name="shapecheck")


class ShapeErrors(Exception):
    """Raised by ShapecheckItem.runtest; carries the reports for `repr_failure`."""

    def __init__(self, reports: list[Any]):
        super().__init__(f"{sum(1 for r in reports if not r.ok)} model(s) with shape errors")
        self.reports = reports


class ShapecheckItem(pytest.Item):
    """Runs shapecheck on one file; fails on any error finding or target error."""

    def __init__(self, **kwargs: Any):
        super().__init__(**kwargs)
        self.add_marker("shapecheck")

    @property
    def spec(self) -> str:
        """The file as `check_spec` receives it: relative to the cwd when below it."""
        path = os.path.abspath(self.path)
        cwd = os.getcwd()
        return os.path.relpath(path, cwd) if path.startswith(cwd + os.sep) else path

    def runtest(self) -> None:
        from shapecheck.runner import iter_checks, load_specs

        targets = load_specs([self.spec])
        if len(targets) == 1 and targets[0].nothing_found:
            # as when shapecheck searches a directory: a file without models is a helper
            pytest.skip(f"no model in {self.spec} (a helper file)")
        reports = [checked.report for checked in iter_checks(targets)]
        self.user_properties.append(("shapecheck_models", [r.target for r in reports]))
        warnings = [r for r in reports if r.ok and r.findings]
        if warnings:  # shown with -rP; a warning alone does not fail the item
            self.add_report_section("call", "shapecheck", format_reports(warnings))
        if any(not r.ok for r in reports):
            raise ShapeErrors(reports)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style=None) -> Any:
        if isinstance(excinfo.value, ShapeErrors):
            return format_reports([r for r in excinfo.value.reports if not r.ok])
        return super().repr_failure(excinfo, style=style)

    def reportinfo(self) -> tuple[Path, Optional[int], str]:
        return self.path, None, f"shapecheck {self.spec}"


def format_reports(reports: list[Any]) -> str:
    """What `shapecheck` prints for `reports` (the plain text reporter), else a compact list.

    Example:
        >>> from shapecheck.report import Report, TargetError
        >>> text = format_reports([Report("m.py:Net", error=TargetError("load", "boom"))])
        >>> "m.py:Net" in text and "boom" in text
        True
    """
    try:
        from shapecheck.reporters.text import render_text
    except ImportError:  # the text reporter needs rich; the compact form does not
        render_text = None
    if render_text is not None:
        try:
            return _ANSI.sub("", render_text(reports, color=False)).rstrip()
        except Exception:  # a reporter bug must not hide the findings: fall back
            pass
    from shapecheck.testing import format_report

    return "\n".join(format_report(r) for r in reports)
