"""The report a person reads: per model a summary line, then each finding explained.

Colours and symbols on a terminal (rich); plain ASCII text when piped, written to a file or
with `--no-color`, and then no line is wrapped, so logs stay greppable.

    FAIL buggy.py:build  1x3x16x16 -> 1x32x16x16  residual adds 0/1 ok  params 14.4k  fx  0.05 s

      buggy.py:17: SC101 error (channel_mismatch) in 1
          out = out + x
        main branch 1x32x16x16  vs  shortcut 1x16x16x16
        residual add in 1: main branch has 32 channels at 16x16, identity shortcut has ...
        because: conv1 changes channels 16 -> 32
        fix (verified):
            nn.Sequential(nn.Conv2d(16, 32, kernel_size=1, bias=False), nn.BatchNorm2d(32))

    1 error in 1 of 1 model
"""

from __future__ import annotations

import io
from typing import Mapping, Optional, Sequence

from rich.console import Console
from rich.table import Table
from rich.text import Text

from shapecheck import i18n
from shapecheck.messages import shortcut_word
from shapecheck.reporters.confirmation import confirmation_lines
from shapecheck.analysis.size_findings import after_text
from shapecheck.reporters.sizes_text import size_lines
from shapecheck.report import Finding, Report, TargetError, format_shape

# The report's own words (finding messages come from messages.py).
LABELS: dict[str, i18n.Text] = {
    "ok": i18n.Text("ok", "通过"),
    "fail": i18n.Text("FAIL", "失败"),
    "error_target": i18n.Text("ERROR", "错误"),
    "adds": i18n.Text("residual adds {ok}/{total} ok", "残差相加 {ok}/{total} 通过"),
    "no_adds": i18n.Text("no residual adds", "无残差相加"),
    "params": i18n.Text("params", "参数"),
    "main": i18n.Text("main branch", "主分支"),
    "shortcut": i18n.Text("shortcut", "捷径"),
    "vs": i18n.Text("vs", "对"),
    "in": i18n.Text("in", "位于"),
    "top": i18n.Text("the top-level module", "顶层模块"),
    "because": i18n.Text("because", "原因"),
    # punctuation and words that differ by language: Chinese takes full-width forms
    "colon": i18n.Text(": ", "："),
    "open": i18n.Text(" (", "（"),
    "close": i18n.Text(")", "）"),
    "severity.error": i18n.Text("error", "错误"),
    "severity.warning": i18n.Text("warning", "警告"),
    "fix": i18n.Text("fix", "修复"),
    "verified": i18n.Text("verified", "已验证"),
    "unverified": i18n.Text("not verified", "未验证"),
    "note": i18n.Text("note", "注"),
    "could_not": i18n.Text("could not be analysed", "无法分析"),
    "summary_clean": i18n.Text("no errors in {n} {models}", "{n} 个模型均无错误"),
    "summary_errors": i18n.Text("{e} {errors} in {m} of {n} {models}",
                                "{n} 个模型中有 {m} 个出错，共 {e} 个错误"),
    "warnings": i18n.Text("{w} {warning_word}", "{w} 个警告"),
    "failed": i18n.Text("{f} {models_f} could not be analysed", "{f} 个模型无法分析"),
    "model": i18n.Text("model", ""),
    "models": i18n.Text("models", ""),
    "error": i18n.Text("error", ""),
    "errors": i18n.Text("errors", ""),
    "warning": i18n.Text("warning", ""),
    "warnings_word": i18n.Text("warnings", ""),
    "nothing": i18n.Text("no models checked", "未检查任何模型"),
    "block": i18n.Text("block", "残差块"),
    "in_out": i18n.Text("in -> out", "输入 -> 输出"),
    "kind": i18n.Text("shortcut", "捷径"),
    "macs": i18n.Text("MACs", "乘加"),
    "node": i18n.Text("node", "节点"),
    "op": i18n.Text("op", "操作"),
    "module": i18n.Text("module", "模块"),
    "shape": i18n.Text("shape", "形状"),
    "line": i18n.Text("line", "行"),
    "same_adds": i18n.Text("one cause: {n} blocks built by {cls} fail at their add: {where}",
                           "同一原因：由 {cls} 构建的 {n} 个残差块在相加处出错：{where}"),
    "same_adds_plain": i18n.Text("one cause: {n} adds fail: {where}",
                                 "同一原因：{n} 处相加出错：{where}"),
    "cascades": i18n.Text("{n} {layers} after them receive the wrong width: {where}",
                          "其后的 {n} 个层因此收到错误的宽度：{where}"),
    "layer": i18n.Text("layer", ""),
    "layers": i18n.Text("layers", ""),
    "adds_count": i18n.Text("({a} adds)", "（涉及 {a} 处相加）"),
}


def labels_in(lang: str) -> dict[str, str]:
    """The labels in one language.

    >>> labels_in("zh")["fix"]
    '修复'
    """
    return {key: label(lang) for key, label in LABELS.items()}


SEVERITY_STYLE = {"error": "bold red", "warning": "yellow", "info": "cyan"}


def render_text(reports: Sequence[Report], *, quiet: bool = False, verbose: int = 0,
                tracebacks: Optional[Mapping[str, str]] = None, color: bool = False,
                width: Optional[int] = None, lang: str = "en") -> str:
    """The whole text report for `reports`, as one string (ANSI colours only if `color`).

    Args:
        quiet: findings and failures only, no summary lines.
        verbose: 1 adds a per-block table and failures' tracebacks; 2 also every node.
        tracebacks: target name -> Python traceback text, shown with `verbose`.
        color: terminal styling (colours, check marks); else plain ASCII.
        width: terminal width for tables (plain text is never wrapped).
        lang: "en" or "zh" for the reporter's own words.

    Example:
        >>> from shapecheck.report import Report
        >>> print(render_text([Report("m.py:build", input_shapes=[(1, 3, 8, 8)],
        ...                          output_shapes=[(1, 10)], tracer="fx")]).splitlines()[0])
        ok   m.py:build  1x3x8x8 -> 1x10  no residual adds  params 0  fx  0.00 s
    """
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=color, no_color=not color,
                      color_system="standard" if color else None, highlight=False,
                      emoji=False, width=width or (100 if color else 400), soft_wrap=True)
    writer = _Writer(console, labels_in(lang), color, quiet, verbose,
                     tracebacks or {}, lang)
    for report in reports:
        writer.report(report)
    if not quiet:
        writer.summary(reports)
    text = buffer.getvalue().lstrip("\n")
    return text if color else "\n".join(line.rstrip() for line in text.split("\n"))


class _Writer:
    """Prints one report after another on a rich console."""

    def __init__(self, console: Console, labels: dict[str, str], color: bool, quiet: bool,
                 verbose: int, tracebacks: Mapping[str, str], lang: str = "en"):
        self.console = console
        self.lang = lang
        self.labels = labels
        self.color = color
        self.quiet = quiet
        self.verbose = verbose
        self.tracebacks = tracebacks

    def print(self, *parts: tuple[str, str] | str, indent: int = 0) -> None:
        # quiet output has no headline to hang under: shift everything left
        line = Text(" " * max(0, indent - (2 if self.quiet else 0)))
        for part in parts:
            text, style = (part, "") if isinstance(part, str) else part
            line.append(text, style=style)
        self.console.print(line, soft_wrap=True)

    # ------------------------------------------------------------------ one report

    def report(self, report: Report) -> None:
        if report.error is not None:
            self.failure(report)
            return
        if self.quiet and not report.findings:
            return
        if not self.quiet:
            self.headline(report)
            for note in report.notes:
                self.print((f"{self.labels['note']}: ", "dim"), note, indent=2)
        for finding in report.findings:
            self.finding(finding)
        if self.quiet:
            return
        self.sizes(report)
        if report.confirm is not None:
            self.confirmation(report)
        if self.verbose >= 1 and report.blocks:
            self.block_table(report)
        if self.verbose >= 2 and report.nodes:
            self.node_table(report)
        self.console.print()

    def headline(self, report: Report) -> None:
        errors = len(report.errors)
        if self.color:
            mark = ("✗ ", "bold red") if errors else ("✓ ", "bold green")
        elif self.lang == "en":
            mark = ("FAIL " if errors else "ok   ", "")
        else:  # the words of the block table, padded alike
            mark = (f"{self.labels['fail' if errors else 'ok']} ", "")
        inputs = ", ".join(format_shape(s) for s in report.input_shapes) or "?"
        outputs = ", ".join(format_shape(s) for s in report.output_shapes) or "?"
        arrow = " → " if self.color else " -> "
        adds = report.residual_adds
        adds_text = (self.labels["adds"].format(ok=sum(a.ok for a in adds), total=len(adds))
                     if adds else self.labels["no_adds"])
        seconds = report.timings.get("total", 0.0) + report.timings.get("build", 0.0)
        self.print(mark, (report.target, "bold"), "  ", inputs, arrow, outputs, "  ",
                   (adds_text, "red" if errors else "green"), "  ",
                   f"{self.labels['params']} {human_count(report.parameters)}", "  ",
                   (report.tracer or "?", "cyan"), "  ", (f"{seconds:.2f} s", "dim"))

    def finding(self, finding: Finding) -> None:
        t = self.labels
        self.console.print()
        where = str(finding.location) if finding.location else "?"
        module = finding.module or t["top"]
        severity = t.get(f"severity.{finding.severity}", finding.severity)
        self.print((f"{where}: ", "bold"), (finding.code, "bold"), " ",
                   (severity, SEVERITY_STYLE.get(finding.severity, "")),
                   f"{t['open']}{finding.kind}{t['close']} {t['in']} ", (module, "magenta"),
                   indent=2)
        if finding.location is not None and finding.location.code:
            self.print((finding.location.code, "dim"), indent=6)
        if len(finding.shapes) == 2 and finding.kind != "layer_mismatch":
            main, short = finding.shapes
            self.print(f"{t['main']} ", (format_shape(main), "yellow"), f"  {t['vs']}  ",
                       f"{t['shortcut']} ", (format_shape(short), "yellow"), indent=4)
        self.print(finding.message, indent=4)
        for cause in finding.causes:
            self.print((f"{t['because']}{t['colon']}", "dim"), cause, indent=4)
        for line in instance_lines(finding, t):
            self.print((line, "magenta"), indent=4)
        if finding.fix is not None:
            status = t["verified"] if finding.fix.verified else t["unverified"]
            self.print((t["fix"], "green"),
                       (f"{t['open']}{status}{t['close']}",
                        "green" if finding.fix.verified else "yellow"), t["colon"].rstrip(),
                       indent=4)
            for line in finding.fix.code.splitlines():  # a diff spans several lines
                self.print((line, "green"), indent=8)
            if finding.fix.valid_after:
                self.print((after_text(finding.fix, self.lang), "green"), indent=4)

    def failure(self, report: Report) -> None:
        error: TargetError = report.error  # type: ignore[assignment]
        mark = ("✗ ", "bold red") if self.color else ("ERROR ", "")
        if not self.quiet:
            self.print(mark, (report.target, "bold"), f"  ({self.labels['could_not']})")
        where = f"{error.location}: " if error.location else f"{report.target}: "
        self.print((where, "bold"), ("error", "bold red"), f" [{error.kind}]: ", error.message,
                   indent=2)
        if error.location is not None and error.location.code:
            self.print((error.location.code, "dim"), indent=6)
        for note in report.notes if not self.quiet else ():
            self.print((f"{self.labels['note']}: ", "dim"), note, indent=2)
        trace = self.tracebacks.get(report.target)
        if self.verbose and trace:
            for line in trace.rstrip().splitlines():
                self.print((line, "dim"), indent=4)
        self.console.print()

    def sizes(self, report: Report) -> None:
        lines = size_lines(getattr(report, "sizes", None))
        if lines:
            self.console.print()
        for line in lines:
            self.print(line, indent=2)

    def confirmation(self, report: Report) -> None:
        lines = confirmation_lines(report.confirm)  # type: ignore[arg-type]
        self.console.print()
        for line in lines:
            self.print((line, "cyan"), indent=2)

    # ------------------------------------------------------------------ tables

    def block_table(self, report: Report) -> None:
        t = self.labels
        table = self._table("#", t["block"], t["in_out"], t["kind"], t["ok"], t["params"],
                            t["macs"], numeric=(0, 5, 6))
        arrow = " → " if self.color else " -> "
        for block in report.blocks:
            ok = ("✓" if block.ok else "✗") if self.color else (t["ok"] if block.ok else t["fail"])
            table.add_row(str(block.index), block.module or t["top"],
                          f"{format_shape(block.input_shape)}{arrow}"
                          f"{format_shape(block.output_shape)}",
                          shortcut_word(block.shortcut, self.lang),
                          Text(ok, style="green" if block.ok else "red"),
                          human_count(block.params), human_count(block.macs))
        self.console.print()
        self.console.print(table)

    def node_table(self, report: Report) -> None:
        t = self.labels
        table = self._table(t["node"], t["op"], t["module"], t["shape"], t["line"])
        for info in report.nodes.values():
            shape = format_shape(info.shape) if info.error is None else f"! {info.error}"
            table.add_row(info.name, f"{info.op} {info.target}", info.module or "",
                          Text(shape, style="red" if info.error else ""),
                          str(info.location.line) if info.location else "")
        self.console.print()
        self.console.print(table)

    def _table(self, *columns: str, numeric: tuple[int, ...] = ()) -> Table:
        from rich import box

        table = Table(box=box.SIMPLE_HEAD if self.color else box.ASCII2, show_edge=False,
                      pad_edge=False, header_style="bold" if self.color else "")
        for index, column in enumerate(columns):
            table.add_column(column, justify="right" if index in numeric else "left",
                             no_wrap=True)
        return table

    # ------------------------------------------------------------------ the last line

    def summary(self, reports: Sequence[Report]) -> None:
        self.print((summary_line(reports, self.labels), "bold"))


def instance_lines(finding: Finding, labels: Optional[dict[str, str]] = None) -> list[str]:
    """The places a grouped finding covers, as one line for the adds and one for the layers
    that receive their wrong width (nothing for a finding that stands alone).

    Example:
        >>> from shapecheck.report import Instance
        >>> adds = [Instance("add", Finding("SC101", "channel_mismatch", "error", "...", m, None))
        ...         for m in ("a.0", "a.1")]
        >>> f = Finding("SC101", "channel_mismatch", "error", "...", "a.0", None,
        ...             instances=tuple(adds))
        >>> instance_lines(f)
        ['one cause: 2 adds fail: a.0, a.1']
    """
    t = labels or labels_in("en")
    adds = [i.module or t["top"] for i in finding.instances if i.role == "add"]
    layers = [i.module for i in finding.instances if i.role == "cascade"]
    lines = []
    if len(adds) > 1:
        key = "same_adds" if finding.block_class else "same_adds_plain"
        lines.append(t[key].format(n=len(adds), cls=finding.block_class, where=_listed(adds)))
    if layers:
        lines.append(t["cascades"].format(n=len(layers), where=_listed(layers),
                                          layers=_plural(t)(len(layers), "layer", "layers")))
    return [" ".join(line.split()) for line in lines]


def _listed(names: list[str], most: int = 4) -> str:
    shown = ", ".join(names[:most])
    return shown + (f", ... (+{len(names) - most})" if len(names) > most else "")


def summary_line(reports: Sequence[Report], labels: Optional[dict[str, str]] = None) -> str:
    """The final line: "2 errors in 1 of 3 models; 1 model could not be analysed".

    Example:
        >>> from shapecheck.report import Report
        >>> summary_line([Report("a"), Report("b")])
        'no errors in 2 models'
    """
    t = labels or labels_in("en")
    if not reports:
        return t["nothing"]
    analysed = [r for r in reports if r.error is None]
    failed = len(reports) - len(analysed)
    plural = _plural(t)
    parts = []
    if analysed:
        n = len(analysed)
        errors = sum(len(r.errors) for r in analysed)
        warnings = sum(len(r.findings) - len(r.errors) for r in analysed)
        broken = sum(1 for r in analysed if r.errors)
        if errors:
            line = t["summary_errors"].format(e=errors, errors=plural(errors, "error", "errors"),
                                              m=broken, n=n, models=plural(n, "model", "models"))
            adds = sum(f.adds for r in analysed for f in r.errors)
            if adds > errors:  # root causes counted, the adds they cover beside them
                line += " " + t["adds_count"].format(a=adds)
        else:
            line = t["summary_clean"].format(n=n, models=plural(n, "model", "models"))
        if warnings:
            line += ", " + t["warnings"].format(
                w=warnings, warning_word=plural(warnings, "warning", "warnings_word"))
        parts.append(line)
    if failed:
        parts.append(t["failed"].format(f=failed, models_f=plural(failed, "model", "models")))
    return "; ".join(" ".join(part.split()) for part in parts)


def _plural(t: dict[str, str]):
    def pick(count: int, one: str, many: str) -> str:
        return t[one] if count == 1 else t[many]
    return pick


def human_count(value: int) -> str:
    """12345 -> "12.3k", 25557032 -> "25.6M", 4.1e9 -> "4.1G".

    Example:
        >>> human_count(999), human_count(25557032)
        ('999', '25.6M')
    """
    for factor, suffix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= factor:
            return f"{value / factor:.1f}{suffix}"
    return str(value)
