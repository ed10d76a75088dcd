"""The SVG that Graphviz's `dot` makes, readied for inlining in the page.

`dot` names its groups "node12" and "edge7"; the page addresses nodes by module path, so
every node group gets `id` (the module path, prefixed per model section) and `data-path`,
every edge `data-from`/`data-to`, every cluster `data-cluster`. The XML prologue, the
doctype and the comments (which carry Graphviz's version) are dropped, so the same graph
gives the same bytes wherever the page is made.
"""

from __future__ import annotations

import html
import re
import shutil
import subprocess
from typing import Mapping, Optional

DOT_TIMEOUT_S = 120

_GROUP = re.compile(r'<g id="(?:node|edge|clust)\d+" class="(node|edge|cluster)">\s*<title>(.*?)</title>',
                    re.S)
_DROPPED = (re.compile(r"<\?xml.*?\?>\s*", re.S), re.compile(r"<!DOCTYPE.*?>\s*", re.S),
            re.compile(r"<!--.*?-->\s*", re.S), re.compile(r' id="a_(?:node|edge|clust)\d+[^"]*"'))


def dot_svg(source: str) -> Optional[str]:
    """`dot -Tsvg` of DOT `source`, or None when `dot` is not installed or fails.

    Example:
        >>> svg = dot_svg("digraph { a -> b }")
        >>> svg is None or svg.lstrip().startswith("<?xml")
        True
    """
    program = shutil.which("dot")
    if program is None:
        return None
    result = subprocess.run([program, "-Tsvg"], input=source.encode("utf-8"),
                            capture_output=True, timeout=DOT_TIMEOUT_S, check=False)
    return result.stdout.decode("utf-8") if result.returncode == 0 else None


def address_svg(svg: str, ids: Mapping[str, str], prefix: str = "") -> str:
    """`svg` with node, edge and cluster groups addressed by module path (see above).

    Args:
        svg: what `dot -Tsvg` wrote.
        ids: drawn node name (the DOT node name) -> module-path id.
        prefix: put before every element id, so that several models share one page.

    Example:
        >>> svg = ('<!-- a --><g id="node1" class="node"><title>add_3</title></g>'
        ...        '<g id="edge1" class="edge"><title>x&#45;&gt;add_3</title></g>')
        >>> print(address_svg(svg, {"add_3": "layer1.0#add", "x": "#input:x"}))
        <g id="layer1.0#add" data-path="layer1.0#add" class="node"><title>add_3</title></g><g class="edge" data-from="#input:x" data-to="layer1.0#add"><title>x&#45;&gt;add_3</title></g>
    """
    for pattern in _DROPPED:
        svg = pattern.sub("", svg)

    def readdress(match: re.Match) -> str:
        kind, title = match.group(1), match.group(2)
        name = html.unescape(title)
        if kind == "node":
            path = ids.get(name, name)
            attrs = (f'id="{html.escape(prefix + path)}" data-path="{html.escape(path)}" '
                     f'class="node"')
        elif kind == "edge":
            tail, _, head = name.partition("->")
            attrs = (f'class="edge" data-from="{html.escape(ids.get(tail, tail))}" '
                     f'data-to="{html.escape(ids.get(head, head))}"')
        else:
            attrs = f'class="cluster" data-cluster="{html.escape(name)}"'
        return f"<g {attrs}><title>{title}</title>"

    svg = _GROUP.sub(readdress, svg)
    # the page sizes the drawing itself (pan and zoom): drop dot's fixed size in points
    return re.sub(r'<svg width="[^"]*" height="[^"]*"', '<svg class="graph"', svg, count=1).strip()
