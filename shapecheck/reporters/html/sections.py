"""The static HTML of one model's section: its header, the findings list and the graph box.

Everything a reader needs is in the HTML itself (the script only adds highlighting, the
side panel, search, keys, pan and zoom); translatable words carry `data-t` keys.
"""

from __future__ import annotations

import os
from html import escape
from pathlib import Path
from typing import Any, Optional
from urllib.parse import quote

from shapecheck.analysis.size_sets import valid_size_lines
from shapecheck.report import Finding, Fix, Location, Report, format_shape
from shapecheck.reporters.html.drawing import Drawing
from shapecheck.reporters.html.words import word
from shapecheck.reporters.text import instance_lines, labels_in


def t(key: str, lang: str) -> str:
    """A translatable word as a span: `<span data-t="fix">fix</span>`.

    >>> t("fix", "zh")
    '<span data-t="fix">修复</span>'
    """
    return f'<span data-t="{key}">{escape(word(key, lang))}</span>'


def vscode_link(location: Location, root: str) -> str:
    """`vscode://file/<absolute path>:<line>` for a source location.

    >>> vscode_link(Location("models/resnet.py", 42), "/work")
    'vscode://file/work/models/resnet.py:42'
    """
    path = location.path if os.path.isabs(location.path) else os.path.join(root, location.path)
    return f"vscode://file{quote(Path(path).as_posix(), safe='/._-~')}:{location.line}"


def _count(n: int) -> str:
    return f"{n:,}"


def _sizes_lines(sizes: Any) -> list[str]:
    """The all-sizes proof's valid sizes, one line per distinct axis, as the text report
    and the block graph's title word them ("H, W: H mod 16 == 0 (proved for all H >= 1)").

    >>> axis = {"axis": "H", "range": [1, None], "proved": True, "valid": [[223, None, 32]]}
    >>> _sizes_lines({"H": axis})
    ['H: H >= 223 and H mod 32 == 31 (proved for all H >= 1)']
    """
    return [line.removeprefix("valid input ") for line in valid_size_lines(sizes)]


def header_html(report: Report, index: int, lang: str) -> str:
    """Verdict, target and the model's facts."""
    if report.error is not None:
        verdict, css = "error", "error"
    else:
        verdict, css = ("ok", "ok") if report.ok else ("fail", "fail")
    facts = []
    if report.error is None:
        ins = ", ".join(format_shape(s) for s in report.input_shapes)
        outs = ", ".join(format_shape(s) for s in report.output_shapes)
        adds = report.residual_adds
        facts += [f'{t("input", lang)} <b>{escape(ins)}</b>',
                  f'{t("output", lang)} <b>{escape(outs)}</b>',
                  f'{t("parameters", lang)} <b>{_count(report.parameters)}</b>',
                  f'{t("macs", lang)} <b>{_count(report.macs)}</b>',
                  f'{t("tracer", lang)} <b>{escape(report.tracer or "?")}</b>',
                  f'{t("adds", lang)} <b class="adds">{sum(a.ok for a in adds)}/{len(adds)}</b> '
                  f'{t("adds_ok", lang)}',
                  f'{t("errors", lang)} <b>{len(report.errors)}</b>',
                  f'{t("warnings", lang)} <b>{len(report.findings) - len(report.errors)}</b>']
    sizes = getattr(report, "sizes", None)
    extra = []
    if sizes:
        extra += [f'<li>{t("valid_sizes", lang)}: {escape(line)}</li>' for line in _sizes_lines(sizes)]
    if report.confirm is not None and report.confirm.error is None:
        c = report.confirm
        extra.append(f'<li>{t("confirm", lang)} {escape(c.device)}: {c.nodes_agree}/'
                     f'{c.nodes_compared} nodes agree, {c.errors_confirmed}/{c.predicted_errors} '
                     f'errors and {c.fixes_confirmed} fixes confirmed</li>')
    extra += [f'<li>{t("notes", lang)}: {escape(note)}</li>' for note in report.notes]
    if report.error is not None:
        where = f" ({escape(str(report.error.location))})" if report.error.location else ""
        extra.append(f'<li class="target-error">{escape(report.error.kind)}: '
                     f'{escape(report.error.message)}{where}</li>')
    return (f'<header class="model-head"><h2><span class="verdict {css}" data-t="{verdict}">'
            f'{escape(word(verdict, lang))}</span> <span class="target">{escape(report.target)}'
            f'</span></h2><p class="facts">{" · ".join(facts)}</p>'
            + (f'<ul class="extra">{"".join(extra)}</ul>' if extra else "") + "</header>")


def _shapes_html(finding: Finding, lang: str) -> str:
    shapes = [format_shape(s) for s in finding.shapes]
    if len(shapes) < 2:
        return ""
    left, right = ("main", "shortcut") if finding.code.startswith("SC1") else ("got", "expects")
    return (f'<p class="shapes">{t(left, lang)} <code>{escape(shapes[0])}</code> vs '
            f'{t(right, lang)} <code>{escape(shapes[1])}</code></p>')


def _edit_diff(edit: Any) -> str:
    """A unified-diff view of one source edit (the lines replaced, read from the file when
    it is there, and the replacement)."""
    get = edit.get if isinstance(edit, dict) else lambda k, d=None: getattr(edit, k, d)
    path, start, end = get("path", ""), int(get("start_line", 0)), int(get("end_line", 0))
    new = str(get("replacement", "")).splitlines()
    try:
        old = Path(path).read_text(encoding="utf-8").splitlines()[start - 1:end]
    except (OSError, UnicodeDecodeError, ValueError):
        old = []
    lines = [f"--- {path}", f"+++ {path}", f"@@ -{start},{len(old)} +{start},{len(new)} @@"]
    return "\n".join(lines + [f"-{line}" for line in old] + [f"+{line}" for line in new])


def _fix_html(fix: Fix, key: str, lang: str) -> str:
    state = "verified" if fix.verified else "unverified"
    parts = [f'<div class="fix"><p>{t("fix", lang)} ({t(state, lang)}) '
             f'<button type="button" class="copy" data-copy="{key}">{escape(word("copy", lang))}'
             f'</button></p><pre id="{key}"><code>{escape(fix.code)}</code></pre>']
    for n, edit in enumerate(getattr(fix, "edits", None) or ()):
        diff_key = f"{key}-edit{n}"
        parts.append(f'<p>{t("diff", lang)} <button type="button" class="copy" '
                     f'data-copy="{diff_key}">{escape(word("copy", lang))}</button></p>'
                     f'<pre class="diff" id="{diff_key}"><code>{escape(_edit_diff(edit))}</code></pre>')
    return "".join(parts) + "</div>"


def findings_html(report: Report, index: int, lang: str, root: str) -> str:
    """The findings list: code, shapes, message, because-chain, source link and text, fix."""
    if report.error is not None:
        return ""
    if not report.findings:
        return f'<p class="no-findings">{t("no_findings", lang)}</p>'
    items = []
    for k, finding in enumerate(report.findings):
        where = ""
        if finding.location is not None:
            loc = finding.location
            where = (f'<p class="source"><a href="{escape(vscode_link(loc, root))}" '
                     f'title="{escape(word("open", lang))}">{escape(str(loc))}</a>'
                     + (f' <code>{escape(loc.code)}</code>' if loc.code else "") + "</p>")
        causes = "".join(f'<li>{t("because", lang)}: {escape(c)}</li>' for c in finding.causes)
        causes += "".join(f'<li class="places">{escape(line)}</li>'
                          for line in instance_lines(finding, labels_in(lang)))
        fix = _fix_html(finding.fix, f"fix-{index}-{k}", lang) if finding.fix else ""
        items.append(
            f'<li class="finding {escape(finding.severity)}" data-finding="{k}" tabindex="0">'
            f'<p class="what"><b>{escape(finding.code)}</b> {escape(finding.severity)} '
            f'({escape(finding.kind)}) <code class="module">{escape(finding.module or "(top)")}'
            f'</code></p>{_shapes_html(finding, lang)}<p class="message">'
            f'{escape(finding.message)}</p>' + (f'<ul class="because">{causes}</ul>' if causes else "")
            + where + fix + "</li>")
    return f'<ol class="findings">{"".join(items)}</ol>'


def section_html(report: Report, index: int, drawing: Drawing, lang: str, root: str,
                 traceback: Optional[str] = None) -> str:
    """One model's whole section."""
    note = {"dot": "layout_dot", "browser": "layout_browser", "none": "layout_none"}[drawing.mode]
    canvas = drawing.svg if drawing.mode == "dot" else ""
    trace = f'<pre class="traceback">{escape(traceback)}</pre>' if traceback else ""
    tools = "" if drawing.mode == "none" else (
        '<div class="tools">'
        + "".join(f'<button type="button" data-zoom="{z}" data-t="{k}">{escape(word(k, lang))}'
                  f'</button>' for z, k in (("fit", "fit"), ("in", "zoom_in"), ("out", "zoom_out")))
        + "</div>")
    return (f'<section class="model" data-model="{index}" data-layout="{drawing.mode}">'
            f'{header_html(report, index, lang)}{trace}<div class="body">'
            f'<div class="viewer">{tools}<div class="canvas">{canvas}</div>'
            f'<p class="layout-note" data-t="{note}">{escape(word(note, lang))}</p></div>'
            f'<aside class="side"><h3>{t("findings", lang)}</h3>'
            f'{findings_html(report, index, lang, root)}<div class="panel" hidden></div>'
            f'<p class="panel-hint" data-t="panel_hint">{escape(word("panel_hint", lang))}</p>'
            f'</aside></div></section>')
