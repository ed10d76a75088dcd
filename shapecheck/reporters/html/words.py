"""The page's own words in English and Chinese (finding messages keep the report's language).

Every translatable element of the page carries `data-t="<key>"`; the page's en/zh button
swaps their text from this table, which is embedded in the page.
"""

from __future__ import annotations

WORDS: dict[str, dict[str, str]] = {
    "en": {
        "title": "shapecheck report", "ok": "ok", "fail": "FAIL", "error": "not analysed",
        "input": "input", "output": "output", "parameters": "parameters", "macs": "MACs",
        "tracer": "tracer", "adds": "residual adds", "adds_ok": "ok",
        "findings": "Findings", "no_findings": "No findings: every residual add is consistent.",
        "main": "main branch", "shortcut": "shortcut", "got": "received", "expects": "expected",
        "because": "because", "fix": "fix", "verified": "verified",
        "unverified": "not verified", "copy": "copy", "copied": "copied", "diff": "source edit",
        "open": "open in VS Code", "search": "search module path", "matches": "matches",
        "no_match": "no match", "keys": "n / p: next / previous finding",
        "fit": "fit", "zoom_in": "zoom in", "zoom_out": "zoom out",
        "layout_dot": "Graph laid out by Graphviz's dot.",
        "layout_browser": "Graph laid out in your browser by the bundled dagre 3.1.3 "
                          "(Graphviz's dot was not available).",
        "layout_none": "No graph: nothing to draw for this model.",
        "panel": "Block", "panel_hint": "Click a block in the graph to see its layers.",
        "layers": "layers", "layer": "layer", "shape_in": "in", "shape_out": "out",
        "params": "params", "source": "source", "folded": "identical blocks, folded",
        "expand": "show layers", "stem": "stem", "head": "head", "block": "block",
        "valid_sizes": "valid input sizes", "failing_sizes": "failing sizes",
        "confirm": "confirmed on", "notes": "notes", "not_analysed": "could not be analysed",
        "models": "models", "lang": "中文", "errors": "errors", "warnings": "warnings",
    },
    "zh": {
        "title": "shapecheck 报告", "ok": "通过", "fail": "失败", "error": "无法分析",
        "input": "输入", "output": "输出", "parameters": "参数量", "macs": "乘加",
        "tracer": "追踪器", "adds": "残差相加", "adds_ok": "通过",
        "findings": "问题", "no_findings": "没有问题：每个残差相加的形状都一致。",
        "main": "主分支", "shortcut": "捷径", "got": "收到", "expects": "期望",
        "because": "原因", "fix": "修复", "verified": "已验证",
        "unverified": "未验证", "copy": "复制", "copied": "已复制", "diff": "源码修改",
        "open": "在 VS Code 中打开", "search": "按模块路径搜索", "matches": "个匹配",
        "no_match": "无匹配", "keys": "n / p：下一个 / 上一个问题",
        "fit": "适应", "zoom_in": "放大", "zoom_out": "缩小",
        "layout_dot": "图由 Graphviz 的 dot 布局。",
        "layout_browser": "图由内置的 dagre 3.1.3 在浏览器中布局（没有 Graphviz 的 dot）。",
        "layout_none": "无图：此模型没有可画的内容。",
        "panel": "残差块", "panel_hint": "点击图中的块查看它的各层。",
        "layers": "层", "layer": "层", "shape_in": "输入", "shape_out": "输出",
        "params": "参数", "source": "源码", "folded": "个相同的块，已折叠",
        "expand": "显示各层", "stem": "主干", "head": "头部", "block": "残差块",
        "valid_sizes": "有效输入尺寸", "failing_sizes": "失败尺寸",
        "confirm": "实测于", "notes": "注", "not_analysed": "无法分析",
        "models": "个模型", "lang": "English", "errors": "错误", "warnings": "警告",
    },
}
LANGS = tuple(WORDS)


def word(key: str, lang: str = "en") -> str:
    """The page's word for `key` in `lang` (English when the key or language is missing).

    >>> word("fix", "zh"), word("fix", "fr")
    ('修复', 'fix')
    """
    return WORDS.get(lang, WORDS["en"]).get(key) or WORDS["en"][key]
