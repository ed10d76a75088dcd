"""Writing a block graph to a file: DOT source, or SVG/PNG/PDF through graphviz's `dot`.

Files are written atomically (a temporary file in the same folder, then `os.replace`), so
a reader never sees half a graph. Without the `dot` program, the DOT source is written
next to the requested file and the message says how to turn it into an image.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from shapecheck.atomic import write_atomically
from shapecheck.report import Report

FORMATS = {".dot": "dot", ".gv": "dot", ".svg": "svg", ".png": "png", ".pdf": "pdf"}
DOT_TIMEOUT_S = 120


class GraphvizError(RuntimeError):
    """graphviz's `dot` failed on the generated source (its stderr is the message)."""


def write_atomic(path: Path, data: bytes) -> None:
    """Write graph `data` to `path` (parents created) so that it is the old file or the new.

    Example:
        >>> import tempfile, pathlib
        >>> target = pathlib.Path(tempfile.mkdtemp()) / "g.dot"
        >>> write_atomic(target, b"digraph {}")
        >>> target.read_bytes()
        b'digraph {}'
    """
    write_atomically(path, data, make_parents=True)


def dot_program() -> str | None:
    """The path of graphviz's `dot`, or None when it is not installed."""
    return shutil.which("dot")


def render_source(source: str, fmt: str, program: str) -> bytes:
    """Run `dot -T<fmt>` on DOT `source` and return the image bytes."""
    result = subprocess.run([program, f"-T{fmt}"], input=source.encode("utf-8"),
                            capture_output=True, timeout=DOT_TIMEOUT_S, check=False)
    if result.returncode != 0:
        raise GraphvizError(f"dot -T{fmt} failed: {result.stderr.decode(errors='replace').strip()}")
    return result.stdout


def write_graph(report: Report, path: str | os.PathLike, detail: str = "blocks") -> str:
    """Write the block graph of `report` to `path`; the format follows the suffix.

    Args:
        report: the analysis result.
        path: where to write: `.dot`/`.gv` (DOT source), `.svg`, `.png` or `.pdf`.
        detail: "blocks", "layers" or "ops".

    Returns:
        One line saying what was written. Without graphviz's `dot`, an image request writes
        the DOT source beside it (same name, `.dot`) and the line says how to convert it.

    Raises:
        ValueError: the suffix names no supported format, or `detail` is unknown.
        GraphvizError: `dot` rejected the source.

    Example:
        >>> import tempfile, pathlib, torch, shapecheck
        >>> report = shapecheck.check(torch.nn.Conv2d(3, 8, 3), (1, 3, 32, 32))
        >>> out = pathlib.Path(tempfile.mkdtemp()) / "conv.dot"
        >>> write_graph(report, out).startswith("wrote ")
        True
    """
    from shapecheck.render import report_to_dot  # the package imports this module

    target = Path(path)
    fmt = FORMATS.get(target.suffix.lower())
    if fmt is None:
        known = ", ".join(FORMATS)
        raise ValueError(f"cannot tell the graph format from {str(target)!r}: use one of {known}")
    source = report_to_dot(report, detail=detail).source
    if fmt == "dot":
        write_atomic(target, source.encode("utf-8"))
        return f"wrote {target} (graphviz DOT source, {detail} level)"
    program = dot_program()
    if program is None:
        fallback = target.with_suffix(".dot")
        write_atomic(fallback, source.encode("utf-8"))
        return (f"graphviz 'dot' not found, so wrote DOT source to {fallback} instead of {target}; "
                f"for {fmt.upper()} install graphviz (apt-get install graphviz, or brew install "
                f"graphviz), then run: dot -T{fmt} {fallback} -o {target}")
    write_atomic(target, render_source(source, fmt, program))
    return f"wrote {target} ({fmt.upper()}, {detail} level)"
