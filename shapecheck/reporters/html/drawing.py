"""The block graph of one model for the page: dot's SVG, or the graph for the browser.

Reporters never import the renderer (tests/test_layout.py): the block graph reaches this
module as the Report view "block_graph", which the package registers
(`shapecheck/__init__.py`) and which returns the networkx block graph and its
`graphviz.Digraph`. With `dot` installed the page inlines dot's SVG; without it the page
carries the graph's nodes, edges and clusters and lays them out with the vendored dagre.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

from shapecheck import report as report_module
from shapecheck.report import Report
from shapecheck.reporters.html.ids import drawn_ids
from shapecheck.reporters.html.svg import address_svg, dot_svg

LAYOUTS = ("auto", "dot", "browser")
# node/edge flags in the browser graph data
ERROR, WARNING = 1, 2


@dataclass
class Drawing:
    """One model's graph as the page shows it.

    `mode` is "dot" (`svg` holds dot's SVG), "browser" (`graph` holds the data dagre lays
    out) or "none" (nothing to draw); `names` are the drawn node names in order and `ids`
    their module-path ids.
    """

    mode: str
    svg: str = ""
    graph: Optional[dict[str, Any]] = None
    names: list[str] = field(default_factory=list)
    ids: dict[str, str] = field(default_factory=dict)


def draw(report: Report, detail: str = "blocks", layout: str = "auto",
         prefix: str = "") -> Drawing:
    """The drawing of `report` at `detail`, laid out by dot or (`layout="browser"`, or no
    dot) in the browser.

    Example:
        >>> import torch, shapecheck
        >>> net = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3), torch.nn.ReLU())
        >>> d = draw(shapecheck.check(net, (1, 3, 32, 32)), layout="browser")
        >>> d.mode, sorted(d.ids.values())
        ('browser', ['#input:input_1', '0'])
    """
    if layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {', '.join(LAYOUTS)}, not {layout!r}")
    view = report_module._VIEWS.get("block_graph")
    if view is None or report.error is not None or not report.nodes:
        return Drawing("none")
    graph, digraph = view(report, detail=detail)
    names = list(graph)
    ids = drawn_ids(report, names)
    if layout != "browser":
        svg = dot_svg(digraph.source)
        if svg is not None:
            return Drawing("dot", svg=address_svg(svg, ids, prefix), names=names, ids=ids)
        if layout == "dot":
            raise RuntimeError("layout='dot' asked for, but Graphviz's dot is not installed")
    return Drawing("browser", graph=browser_graph(graph, ids), names=names, ids=ids)


def _flags(attrs: dict[str, Any]) -> int:
    return ERROR if attrs.get("error") else WARNING if attrs.get("warning") else 0


def browser_graph(graph, ids: dict[str, str]) -> dict[str, Any]:
    """The block graph as compact lists for the page's dagre layout.

    nodes: [id, kind, title, lines, notes, flags, cluster index or -1]; edges: [from, to,
    kind, label, flags]; clusters: [label, parent index or -1, kind]; flags 1 error, 2 warning.

    Example:
        >>> import networkx as nx
        >>> g = nx.DiGraph(title="t", lines=[], clusters={})
        >>> g.add_node("a", kind="input", title="input x"); g.add_node("b", kind="add", title="+")
        >>> g.add_edge("a", "b", kind="identity", label="identity")
        >>> browser_graph(g, {"a": "#input:x", "b": "#add"})["edges"]
        [['#input:x', '#add', 'identity', 'identity', 0]]
    """
    clusters: dict[str, dict[str, Any]] = graph.graph.get("clusters", {})
    order = {cid: i for i, cid in enumerate(clusters)}
    nodes = [[ids[n], a.get("kind", "op"), a.get("title", ""), list(a.get("lines", [])),
              list(a.get("notes", [])), _flags(a), order.get(a.get("cluster"), -1)]
             for n, a in graph.nodes(data=True)]
    edges = [[ids[u], ids[v], a.get("kind", "flow"), a.get("label", ""), _flags(a)]
             for u, v, a in graph.edges(data=True)]
    return {"title": graph.graph.get("title", ""), "lines": list(graph.graph.get("lines", [])),
            "nodes": nodes, "edges": edges,
            "clusters": [[c.get("label", ""), order.get(c.get("parent"), -1), c.get("kind", "")]
                         for c in clusters.values()]}
