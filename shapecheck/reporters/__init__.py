"""Reporters turn Reports into documents; they only format, never analyse.

`REPORTERS` registers each format once (the CLI's `--format` choices and the
`[tool.shapecheck]` validation both read it); `render(reports, fmt)` runs one. A new
format is one module with a `render_<name>(reports, *, tracebacks=None, **options) -> str`
function and one entry here. `write_atomically` writes a finished document so that a
reader never sees half of it.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any, Mapping, Optional, Sequence

from shapecheck.atomic import write_atomically
from shapecheck.report import Report


@dataclass(frozen=True)
class Reporter:
    """One output format: where its render function lives (imported on first use, so the
    CLI starts without loading every format) and what it is for."""

    name: str
    module: str
    function: str
    summary: str

    def load(self):
        return getattr(importlib.import_module(self.module), self.function)


REPORTERS: dict[str, Reporter] = {r.name: r for r in (
    Reporter("text", "shapecheck.reporters.text", "render_text",
             "for people: each finding explained, with its fix"),
    Reporter("json", "shapecheck.reporters.json_report", "render_json",
             "the Report of each model (see cli-contract.md)"),
    Reporter("sarif", "shapecheck.reporters.sarif", "render_sarif",
             "SARIF 2.1.0 for GitHub code scanning"),
    Reporter("github", "shapecheck.reporters.github", "render_github",
             "GitHub Actions annotations"),
    Reporter("html", "shapecheck.reporters.html", "render_html",
             "one self-contained page: graph, findings, fixes, per-block panel"),
)}
FORMATS = tuple(REPORTERS)


def render(reports: Sequence[Report], fmt: str = "text", *,
           tracebacks: Optional[Mapping[str, str]] = None, **options: Any) -> str:
    """The document for `reports` in format `fmt`, as a string ending in a newline.

    Args:
        fmt: a name in `REPORTERS` ("text", "json", "sarif", "github", ...).
        tracebacks: target name -> Python traceback, shown where `--verbose` asks.
        **options: the format's own options (for "text", see `reporters.text.render_text`).

    Example:
        >>> from shapecheck.report import Report
        >>> render([Report("m.py:build")], "json").startswith('{')
        True
    """
    reporter = REPORTERS.get(fmt)
    if reporter is None:
        raise ValueError(f"unknown format {fmt!r}; use one of {', '.join(REPORTERS)}")
    text = reporter.load()(reports, tracebacks=tracebacks, **options)
    return text if not text or text.endswith("\n") else text + "\n"


__all__ = ["REPORTERS", "FORMATS", "Reporter", "render", "write_atomically"]
