"""Jupyter notebooks as model files: their code cells, joined into one Python source.

IPython magics (`%matplotlib inline`, `%%time`), shell lines (`!pip install ...`, `x = !ls`)
and help lines (`obj?`) are dropped; each dropped line becomes a blank line (or `pass` where
a block needs a statement), so every line keeps its number within its cell. Locations are
reported as `hw.ipynb:cell 4:line 7`, where cells are counted from 1 in the order the
notebook shows them, markdown cells included.
"""

from __future__ import annotations

import json
import linecache
import os
import re
import warnings
from dataclasses import dataclass
from typing import Any, Optional

from shapecheck.report import Location

# cell magics whose body is not Python: the whole cell is dropped
_FOREIGN_CELL_MAGICS = ("%%bash", "%%sh", "%%writefile", "%%html", "%%javascript", "%%js",
                        "%%latex", "%%markdown", "%%svg", "%%script", "%%perl", "%%ruby",
                        "%%file", "%%system", "%%capture --no-display")
_MAGIC = re.compile(r"^\s*(%|!|\?)|^\s*\w[\w.]*\s*=\s*[!%]|^\s*[\w.]+\?{1,2}\s*$")


class NotebookError(ValueError):
    """The notebook cannot be read (not JSON, not a notebook)."""


@dataclass(frozen=True)
class CellSpan:
    """Lines `first`..`first + count - 1` of the joined source are cell `cell` (from 1)."""

    cell: int
    first: int
    count: int


@dataclass(frozen=True)
class NotebookSource:
    """A notebook's code cells as one Python source, and which line came from which cell."""

    text: str
    spans: tuple[CellSpan, ...]

    def cell_line(self, line: int) -> Optional[tuple[int, int]]:
        """(cell, line within the cell) of a line of the joined source."""
        for span in self.spans:
            if span.first <= line < span.first + span.count:
                return span.cell, line - span.first + 1
        return None


@dataclass(frozen=True)
class NotebookLocation(Location):
    """A line in a notebook: shown `hw.ipynb:cell 4:line 7`; JSON adds `cell`."""

    cell: int = 0

    def to_json(self) -> dict[str, Any]:
        return {**super().to_json(), "cell": self.cell}

    def __str__(self) -> str:
        return f"{self.path}:cell {self.cell}:line {self.line}"


def is_notebook(path: str) -> bool:
    """True for `*.ipynb` files.

    >>> is_notebook("hw.ipynb"), is_notebook("hw.py")
    (True, False)
    """
    return path.lower().endswith(".ipynb")


_sources: dict[str, NotebookSource] = {}


def notebook_source(path: str) -> NotebookSource:
    """Read the notebook at `path` (nbformat when installed, else its JSON) and join its code
    cells; the joined lines are registered with `linecache`, so tracebacks show them.

    Example:
        >>> import tempfile, json
        >>> nb = {"cells": [{"cell_type": "markdown", "source": "# hw", "metadata": {}},
        ...       {"cell_type": "code", "source": "%matplotlib inline\\nimport torch",
        ...        "metadata": {}, "outputs": [], "execution_count": None}],
        ...       "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
        >>> with tempfile.NamedTemporaryFile("w", suffix=".ipynb", delete=False) as f:
        ...     json.dump(nb, f)
        >>> source = notebook_source(f.name)
        >>> source.text, source.cell_line(2)
        ('\\nimport torch\\n', (2, 2))
        >>> os.remove(f.name)
    """
    real = os.path.realpath(path)
    cells = _read_cells(path)
    lines: list[str] = []
    spans: list[CellSpan] = []
    for index, cell in enumerate(cells, start=1):
        if cell.get("cell_type") != "code":
            continue
        source = cell.get("source", "")
        source = "".join(source) if isinstance(source, list) else str(source)
        cell_lines = _python_lines(source.splitlines())
        if not cell_lines:
            continue
        spans.append(CellSpan(index, len(lines) + 1, len(cell_lines)))
        lines += cell_lines
    text = "".join(line + "\n" for line in lines)
    result = NotebookSource(text, tuple(spans))
    _sources[real] = result
    linecache.cache[real] = (len(text), None, text.splitlines(True), real)
    return result


def relocate(location: Optional[Location]) -> Optional[Location]:
    """A location in a notebook's joined source as `hw.ipynb:cell 4:line 7`; others as is.

    >>> relocate(Location("m.py", 3))
    Location(path='m.py', line=3, function=None, code=None)
    """
    if location is None or isinstance(location, NotebookLocation) or not is_notebook(
            location.path):
        return location
    source = _sources.get(os.path.realpath(location.path))
    where = source.cell_line(location.line) if source else None
    if where is None:
        return location
    cell, line = where
    return NotebookLocation(location.path, line, location.function, location.code, cell)


def notebook_place(path: str):
    """A function from a run of lines of the notebook's joined source to how the notebook
    shows it: "cell 5 lines 2-3", "cell 5 line 2 to cell 6 line 1"."""
    source = _sources.get(os.path.realpath(path))

    def place(start: int, end: int) -> str:
        first = source.cell_line(start) if source else None
        last = source.cell_line(end) if source else None
        if first is None or last is None:
            return f"lines {start}-{end}" if start != end else f"line {start}"
        if first == last:
            return f"cell {first[0]} line {first[1]}"
        if first[0] == last[0]:
            return f"cell {first[0]} lines {first[1]}-{last[1]}"
        return f"cell {first[0]} line {first[1]} to cell {last[0]} line {last[1]}"

    return place


def _read_cells(path: str) -> list[dict]:
    try:
        import nbformat
    except ImportError:  # the JSON is simple enough to read without it
        nbformat = None
    try:
        if nbformat is not None:
            with warnings.catch_warnings():  # old notebooks lack cell ids: not our concern
                warnings.simplefilter("ignore")
                notebook = nbformat.read(path, as_version=4)
            return [dict(cell) for cell in notebook.cells]
        with open(path, encoding="utf-8") as handle:
            document = json.load(handle)
    except Exception as exc:  # nbformat raises its own validation and JSON errors
        raise NotebookError(f"{path} is not a readable Jupyter notebook: "
                            f"{' '.join(str(exc).split())[:300]}") from None
    cells = document.get("cells") if isinstance(document, dict) else None
    if not isinstance(cells, list):
        raise NotebookError(f"{path} is not a Jupyter notebook (no 'cells' list)")
    return [cell for cell in cells if isinstance(cell, dict)]


def _python_lines(lines: list[str]) -> list[str]:
    """The cell's lines with magics, shell and help lines blanked (a foreign cell: all)."""
    if lines and lines[0].lstrip().startswith(_FOREIGN_CELL_MAGICS):
        return [""] * len(lines)
    kept = []
    for line in lines:
        if _MAGIC.search(line) and not line.lstrip().startswith("#"):
            indent = line[: len(line) - len(line.lstrip())]
            kept.append(indent + "pass" if indent else "")
        else:
            kept.append(line)
    return kept
