"""`--format html`: one self-contained page per run, a section per model.

The page opens from `file://` with no network: its CSS, scripts and graph are inline and
a Content-Security-Policy forbids every other load. Each section shows the model's header,
the block graph (dot's SVG, node ids = module paths; laid out in the browser by the
vendored dagre when `dot` is missing), the findings with source links and fixes, and a side
panel per block. Everything comes from the Reports' fields, so a Report read back from JSON
gives the same page. See docs/html.md.
"""

from __future__ import annotations

import html
import os
from typing import Any, Mapping, Optional, Sequence

from shapecheck.report import Report
from shapecheck.reporters.html.drawing import LAYOUTS, draw
from shapecheck.reporters.html.page import document
from shapecheck.reporters.html.page_data import model_data
from shapecheck.reporters.html.sections import section_html, t
from shapecheck.reporters.html.words import LANGS, WORDS, word

__all__ = ["render_html", "page_data", "notebook_html", "LAYOUTS"]


def page_data(reports: Sequence[Report], *, detail: str = "blocks", layout: str = "auto",
              lang: str = "en") -> tuple[dict[str, Any], list]:
    """The data part of the page for `reports`, and each model's `Drawing`.

    Example:
        >>> import torch, shapecheck
        >>> net = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3), torch.nn.ReLU())
        >>> data, _ = page_data([shapecheck.check(net, (1, 3, 32, 32))], layout="browser")
        >>> data["models"][0]["nodes"]  # drawn id -> part (no blocks: part 0 is the stem)
        {'#input:input_1': 0, '0': 0}
    """
    drawings = [draw(r, detail=detail, layout=layout, prefix="" if i == 0 else f"m{i}/")
                for i, r in enumerate(reports)]
    models = [model_data(r, d.names or None, d.ids, d.graph) for r, d in zip(reports, drawings)]
    return {"lang": lang, "detail": detail, "words": WORDS, "models": models}, drawings


def render_html(reports: Sequence[Report], *, tracebacks: Optional[Mapping[str, str]] = None,
                detail: str = "blocks", layout: str = "auto", lang: Optional[str] = None,
                root: Optional[str] = None, **_ignored: Any) -> str:
    """The page for `reports` as one HTML document.

    Args:
        reports: one section each, in order.
        tracebacks: target name -> Python traceback (`--verbose`), shown under a failed target.
        detail: the graph's level: "blocks", "layers" or "ops".
        layout: "auto" (dot when installed, else the browser), "dot" or "browser".
        lang: the page's first language, "en" or "zh" (a button switches).
        root: the folder relative source paths start from, for `vscode://` links
            (default: the working directory).

    Example:
        >>> import torch, shapecheck
        >>> report = shapecheck.check(torch.nn.Conv2d(3, 8, 3), (1, 3, 32, 32))
        >>> page = render_html([report])
        >>> page.startswith("<!DOCTYPE html>"), "Content-Security-Policy" in page
        (True, True)
    """
    lang = lang if lang in LANGS else "en"
    root = root or os.getcwd()
    data, drawings = page_data(reports, detail=detail, layout=layout, lang=lang)
    sections = [section_html(r, i, d, lang, root, (tracebacks or {}).get(r.target))
                for i, (r, d) in enumerate(zip(reports, drawings))]
    title = reports[0].target if len(reports) == 1 else f"{len(reports)} models"
    bar = (f'<header class="bar"><h1>{t("title", lang)}</h1>'
           f'<input type="search" id="search" placeholder="{html.escape(word("search", lang))}" '
           f'data-t-placeholder="search" autocomplete="off">'
           f'<span id="search-result" aria-live="polite"></span>'
           f'<span class="keys">{t("keys", lang)}</span>'
           f'<button type="button" id="lang" data-t="lang">{html.escape(word("lang", lang))}'
           f'</button></header>')
    body = bar + "<main>" + "".join(sections) + "</main>"
    dagre = any(d.mode == "browser" for d in drawings)
    return document(f"shapecheck: {title}", body, data, lang, dagre)


def notebook_html(report: Report, **options: Any) -> str:
    """The page of one Report inside an iframe, for Jupyter (`Report._repr_html_`): the
    frame keeps the page's ids, styles and script apart from the notebook's.

    Example:
        >>> import torch, shapecheck
        >>> report = shapecheck.check(torch.nn.Conv2d(3, 8, 3), (1, 3, 32, 32))
        >>> notebook_html(report).startswith("<iframe")
        True
    """
    page = render_html([report], **options)
    return (f'<iframe srcdoc="{html.escape(page, quote=True)}" title="shapecheck report" '
            f'style="width:100%;height:720px;border:1px solid #ccc"></iframe>')
