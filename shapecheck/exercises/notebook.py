"""An exercise's starter as a Jupyter notebook, for d2l readers who work in notebooks.

The notebook holds the question and hints as markdown, the starter's code split into one
cell per top-level definition (so a learner edits and reruns one block at a time), and a
last cell that runs the model once. `shapecheck exercises check N FILE.ipynb` grades it the
same way as the .py file: the loader joins the code cells (shapecheck/load/notebook.py).

    >>> from shapecheck.exercises.catalog import find
    >>> nb = starter_notebook(find(1), "en")
    >>> nb.cells[0].cell_type, nb.cells[-1].source.startswith("# shapecheck exercises check")
    ('markdown', True)
"""

from __future__ import annotations

import ast
from pathlib import Path

import nbformat

from shapecheck.exercises.catalog import Exercise
from shapecheck.exercises.text import Text, ui

HOW = Text("Edit the code cells, then grade the notebook from a terminal:",
           "修改下面的代码单元，然后在终端里为这个笔记本判分：")
HINTS = Text("Hints (open one at a time)", "提示（一次看一条）")
RUN = Text("Run the model once on its input", "在输入上运行一次模型")


def code_cells(source: str) -> list[str]:
    """The starter's code, one cell per top-level statement group: the imports, each class or
    function with the comments above it, the module constants; the `if __name__` block is
    left out (the notebook's last cell runs the model instead).

    >>> code_cells("import torch\\n\\nX = 1\\n\\n\\ndef build():\\n    return X\\n")
    ['import torch', 'X = 1', 'def build():\\n    return X']
    """
    tree = ast.parse(source)
    lines = source.splitlines()
    body = [node for node in tree.body if not _is_docstring(node) and not _is_main(node)]
    cells: list[str] = []
    previous_end = _docstring_end(tree)
    group: list[str] = []
    group_kind = None
    for node in body:
        # from the end of the previous statement: the comments above a node go with it
        text = "\n".join(lines[previous_end:node.end_lineno]).strip("\n")
        previous_end = node.end_lineno
        kind = _kind(node)
        # imports stay together, and so do consecutive constants; definitions stand alone
        if group and (kind != group_kind or kind == "definition"):
            cells.append("\n\n".join(group))
            group = []
        group.append(text)
        group_kind = kind
    if group:
        cells.append("\n\n".join(group))
    return [cell.strip("\n") for cell in cells if cell.strip()]


def _kind(node: ast.stmt) -> str:
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return "import"
    if isinstance(node, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
        return "definition"
    return "statement"


def _is_docstring(node: ast.stmt) -> bool:
    return isinstance(node, ast.Expr) and isinstance(getattr(node, "value", None), ast.Constant) \
        and isinstance(node.value.value, str)


def _is_main(node: ast.stmt) -> bool:
    return isinstance(node, ast.If) and "__name__" in ast.dump(node.test)


def _docstring_end(tree: ast.Module) -> int:
    first = tree.body[0] if tree.body else None
    return first.end_lineno if first is not None and _is_docstring(first) else 0


def starter_notebook(exercise: Exercise, lang: str) -> nbformat.NotebookNode:
    """The notebook of `exercise`'s starter, its words in `lang`."""
    source = exercise.starter_path.read_text(encoding="utf-8")
    name = exercise.file_name[:-3] + ".ipynb"
    intro = "\n".join([
        f"# {ui('check.header', lang, n=exercise.number, title=exercise.title(lang))}",
        "",
        ui("show.source", lang, source=exercise.source(lang)),
        "",
        f"**{ui('show.question', lang)}** {exercise.question(lang)}",
        "",
        HOW(lang),
        "",
        f"    shapecheck exercises check {exercise.number} {name}",
    ])
    hints = "\n".join([f"<details><summary>{HINTS(lang)}</summary>", ""] + [
        f"{k}. {hint(lang)}" for k, hint in enumerate(exercise.hints, start=1)] + ["", "</details>"])
    cells = [nbformat.v4.new_markdown_cell(intro), nbformat.v4.new_markdown_cell(hints)]
    cells += [nbformat.v4.new_code_cell(code) for code in code_cells(source)]
    cells.append(nbformat.v4.new_markdown_cell(f"## {RUN(lang)}"))
    # guarded: Jupyter runs it (__name__ is "__main__"), the checker's import does not, so a
    # model that crashes is graded rather than failing to load
    cells.append(nbformat.v4.new_code_cell(
        f"# shapecheck exercises check {exercise.number} {name}\n"
        f"if __name__ == \"__main__\":\n"
        f"    import torch\n"
        f"    print({exercise.factory}().eval()(torch.randn(INPUT_SHAPE)).shape)"))
    notebook = nbformat.v4.new_notebook(cells=cells)
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                       "language": "python"}
    return notebook


def write_notebook(exercise: Exercise, path: Path, lang: str) -> None:
    """Write `exercise`'s starter notebook to `path`."""
    nbformat.write(starter_notebook(exercise, lang), str(path))
