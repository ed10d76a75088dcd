"""Drawing a block graph with graphviz: a pure function and style tables.

`to_dot` reads only the networkx graph built by `render.blocks.block_graph` (node `kind`,
`title`, `lines`, `notes`, `error`, `warning`, `cluster`, `tooltip`; edge `kind`, `label`,
`error`, `warning`; graph `title`, `lines`, `clusters`) and returns a `graphviz.Digraph`.
All colours and shapes live in the tables below, so the look changes in one place.
"""

from __future__ import annotations

import html
from typing import Any, Optional

import graphviz
import networkx as nx

FONT = "Helvetica"
ERROR_RED = "#c0392b"
WARNING_AMBER = "#d68910"

GRAPH_ATTRS = {"rankdir": "TB", "fontname": FONT, "fontsize": "12", "labelloc": "t",
               "labeljust": "l", "nodesep": "0.25", "ranksep": "0.3", "newrank": "true"}
NODE_ATTRS = {"fontname": FONT, "fontsize": "10", "margin": "0.12,0.05", "penwidth": "1"}
EDGE_ATTRS = {"fontname": FONT, "fontsize": "9", "arrowsize": "0.6", "color": "#555555",
              "fontcolor": "#444444"}


def _box(fill: str, line: str, style: str = "rounded,filled", **extra: str) -> dict[str, str]:
    return {"shape": "box", "style": style, "fillcolor": fill, "color": line, **extra}


# node kind -> graphviz attributes
NODE_STYLES: dict[str, dict[str, str]] = {
    "input": _box("#e8e8e8", "#888888"),
    "output": _box("#e8e8e8", "#888888"),
    "stem": _box("#eef1f4", "#7a8794"),
    "head": _box("#eef1f4", "#7a8794"),
    "glue": _box("#eef1f4", "#7a8794"),
    "block": _box("#dbe8f6", "#3d6fa8"),
    "fold": _box("#c9dcf1", "#3d6fa8", style="filled", shape="box3d"),  # a stack of blocks
    "projection": _box("#fdebc8", "#b7791f"),
    "shortcut": _box("#fdebc8", "#b7791f"),
    "add": {"shape": "circle", "style": "filled", "fillcolor": "#ffffff", "color": "#333333",
            "margin": "0.02", "width": "0.3"},
    "fix": _box("#eaf7ee", "#1e8449", style="rounded,dashed,filled", fontcolor="#1e6b3a"),
    "layer": _box("#f6f6f6", "#8a8a8a"),
    "op": {"shape": "box", "style": "rounded", "color": "#aaaaaa", "fontcolor": "#333333"},
    "param": {"shape": "note", "color": "#aaaaaa", "fontcolor": "#555555"},
}
# what a node with a finding (or a failed node) gets on top of its kind's style
ERROR_NODE = {"color": ERROR_RED, "fillcolor": "#fde2df", "penwidth": "2.2"}
WARNING_NODE = {"color": WARNING_AMBER, "fillcolor": "#fff4d6", "penwidth": "2"}

# edge kind -> graphviz attributes
EDGE_STYLES: dict[str, dict[str, str]] = {
    "flow": {},
    "identity": {"color": "#3d6fa8", "penwidth": "1.8", "fontcolor": "#3d6fa8"},
    "shortcut": {"color": "#b7791f", "penwidth": "1.8", "fontcolor": "#8a5a12"},
    "fix": {"color": "#1e8449", "style": "dashed", "penwidth": "1.6", "fontcolor": "#1e6b3a"},
}
ERROR_EDGE = {"color": ERROR_RED, "fontcolor": ERROR_RED, "penwidth": "2.4"}
WARNING_EDGE = {"color": WARNING_AMBER, "fontcolor": WARNING_AMBER, "penwidth": "2.2"}

# cluster kind -> graphviz attributes
CLUSTER_STYLES: dict[str, dict[str, str]] = {
    "stage": {"style": "rounded,filled", "fillcolor": "#f7f9fc", "color": "#a9b8c9",
              "fontcolor": "#2c4a6b", "fontsize": "11"},
    "block": {"style": "rounded,dashed", "color": "#8fb0d3", "fontcolor": "#3d6fa8",
              "fontsize": "9"},
    "stem": {"style": "rounded,dashed", "color": "#9aa5b1", "fontcolor": "#555555",
             "fontsize": "9"},
    "head": {"style": "rounded,dashed", "color": "#9aa5b1", "fontcolor": "#555555",
             "fontsize": "9"},
}


def _html(text: str) -> str:
    return html.escape(text, quote=False)


def node_label(attrs: dict[str, Any]) -> str:
    """An HTML-like graphviz label: bold title, plain lines, red finding notes.

    Example:
        >>> node_label({"title": "stem", "lines": ["conv 7x7/2, 3->64"], "notes": []})
        '<<b>stem</b><br/>conv 7x7/2, 3-&gt;64>'
    """
    title = attrs.get("title", "")
    if attrs.get("kind") == "add":  # a big "+", the post-add ops small below it
        parts = [f'<font point-size="16"><b>{_html(title)}</b></font>']
        parts += [f'<font point-size="8">{_html(line)}</font>' for line in attrs.get("lines", [])]
    else:
        parts = [f"<b>{_html(title)}</b>"] if title else []
        parts += [_html(line) for line in attrs.get("lines", [])]
    colour = WARNING_AMBER if attrs.get("warning") and not attrs.get("error") else ERROR_RED
    for note in attrs.get("notes", []):
        parts += [f'<font color="{colour}">{_html(line)}</font>' for line in note.split("\n")]
    return "<" + "<br/>".join(parts) + ">"


def _plain(text: str) -> str:
    # graphviz reads backslash escapes in plain labels: "\n" is a centred line break
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def _node_attrs(attrs: dict[str, Any]) -> dict[str, str]:
    style = dict(NODE_STYLES.get(attrs.get("kind", "op"), NODE_STYLES["op"]))
    mark = ERROR_NODE if attrs.get("error") else WARNING_NODE if attrs.get("warning") else None
    if mark:
        style.update(mark)
        if "filled" not in style.get("style", "filled"):
            style["style"] = style.get("style", "") + ",filled"
    style["label"] = node_label(attrs)
    if attrs.get("tooltip"):
        style["tooltip"] = _plain(attrs["tooltip"])
    return style


def _edge_attrs(attrs: dict[str, Any]) -> dict[str, str]:
    style = dict(EDGE_STYLES.get(attrs.get("kind", "flow"), {}))
    if attrs.get("error"):
        style.update(ERROR_EDGE)
    elif attrs.get("warning"):
        style.update(WARNING_EDGE)
    if attrs.get("label"):
        style["label"] = _plain(attrs["label"])
    return style


def _cluster(cid: str, info: dict[str, Any], members: dict[Optional[str], list],
             children: dict[Optional[str], list[str]],
             clusters: dict[str, dict[str, Any]]) -> graphviz.Digraph:
    sub = graphviz.Digraph(name=cid)
    sub.attr(label=_plain(info.get("label", "")), **CLUSTER_STYLES.get(info.get("kind", ""), {}))
    for node, attrs in members.get(cid, []):
        sub.node(node, **_node_attrs(attrs))
    for child in children.get(cid, []):
        sub.subgraph(_cluster(child, clusters[child], members, children, clusters))
    return sub


def to_dot(graph: nx.DiGraph, name: str = "shapecheck") -> graphviz.Digraph:
    """Draw a block graph as a `graphviz.Digraph` (pure: reads the graph, changes nothing).

    Args:
        graph: from `render.blocks.block_graph`.
        name: the DOT graph's name.

    Example:
        >>> import networkx as nx
        >>> g = nx.DiGraph(title="tiny", lines=[], clusters={})
        >>> g.add_node("x", kind="input", title="input x")
        >>> g.add_node("add", kind="add", title="+")
        >>> g.add_edge("x", "add", kind="identity", label="identity")
        >>> print(to_dot(g).source.splitlines()[-1])
        }
    """
    dot = graphviz.Digraph(name=name)
    title = [f"<b>{_html(graph.graph.get('title', ''))}</b>"]
    title += [_html(line) for line in graph.graph.get("lines", [])]
    dot.attr("graph", label="<" + "<br/>".join(title) + ">", **GRAPH_ATTRS)
    dot.attr("node", **NODE_ATTRS)
    dot.attr("edge", **EDGE_ATTRS)
    clusters: dict[str, dict[str, Any]] = graph.graph.get("clusters", {})
    members: dict[Optional[str], list] = {}
    for node, attrs in graph.nodes(data=True):
        cid = attrs.get("cluster")
        members.setdefault(cid if cid in clusters else None, []).append((node, attrs))
    children: dict[Optional[str], list[str]] = {}
    for cid, info in clusters.items():
        parent = info.get("parent")
        children.setdefault(parent if parent in clusters else None, []).append(cid)
    # nodes outside clusters first, then the clusters in the order they were made
    for node, attrs in members.get(None, []):
        dot.node(node, **_node_attrs(attrs))
    for cid in children.get(None, []):
        dot.subgraph(_cluster(cid, clusters[cid], members, children, clusters))
    for u, v, attrs in graph.edges(data=True):
        dot.edge(u, v, **_edge_attrs(attrs))
    return dot
