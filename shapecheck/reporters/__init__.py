"""Reporters turn Reports into text; they only format, never analyse.

`render(reports, fmt)` picks one by name: text, json, sarif, github. `write_atomically`
writes a finished document so that a reader never sees half of it.
"""

from __future__ import annotations

import json
import os
import tempfile
from typing import Any, Mapping, Optional, Sequence

from shapecheck.report import Report

FORMATS = ("text", "json", "sarif", "github")


def render(reports: Sequence[Report], fmt: str = "text", *,
           tracebacks: Optional[Mapping[str, str]] = None, **text_options: Any) -> str:
    """The document for `reports` in format `fmt`, as a string ending in a newline.

    Args:
        fmt: "text", "json", "sarif" or "github".
        tracebacks: target name -> Python traceback, shown where `--verbose` asks.
        **text_options: for "text", see `reporters.text.render_text`.

    Example:
        >>> from shapecheck.report import Report
        >>> render([Report("m.py:build")], "json").startswith('{')
        True
    """
    if fmt == "text":
        from shapecheck.reporters.text import render_text

        return render_text(reports, tracebacks=tracebacks, **text_options)
    if fmt == "json":
        from shapecheck.reporters.json_report import render_json

        return render_json(reports, tracebacks)
    if fmt == "sarif":
        from shapecheck.reporters.sarif import sarif_document

        return json.dumps(sarif_document(list(reports)), indent=2, ensure_ascii=False) + "\n"
    if fmt == "github":
        from shapecheck.reporters.github import github_annotations

        text = github_annotations(list(reports))
        return text if not text or text.endswith("\n") else text + "\n"
    raise ValueError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")


def write_atomically(path: str, text: str) -> None:
    """Write `text` to `path` all at once: a temporary file beside it, then `os.replace`.

    Whatever goes wrong (missing directory, full disk, an exception while writing), `path`
    keeps its previous content or stays absent; no partial file is left behind.

    Raises:
        OSError: the directory does not exist or is not writable.

    Example:
        >>> import tempfile, os
        >>> target = os.path.join(tempfile.mkdtemp(), "report.json")
        >>> write_atomically(target, "{}\\n"); open(target).read()
        '{}\\n'
    """
    directory = os.path.dirname(os.path.abspath(path))
    handle, temporary = tempfile.mkstemp(dir=directory, prefix=f".{os.path.basename(path)}.",
                                         suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temporary, 0o666 & ~_umask())  # mkstemp makes 0600; give the usual mode
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
