"""Small rewrites of the neutral graph IR (a `networkx.DiGraph`), in the manner of
hiddenlayer's transforms: each takes a graph and returns a new one.

Node attributes used here: `title`, `lines`, `tooltip`, `repeat`. Edge attributes:
`kind` ("flow", "shortcut", "identity", "fix"), `label`, `error`.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable, Optional

import networkx as nx

# When several original edges become one, the most telling one is kept.
EDGE_PRIORITY = {"flow": 0, "shortcut": 1, "identity": 1, "fix": 2}


def edge_rank(attrs: dict[str, Any]) -> int:
    """How much an edge matters when merged with others: errors, warnings, then shortcuts."""
    marked = 10 * bool(attrs.get("error")) + 5 * bool(attrs.get("warning"))
    return marked + EDGE_PRIORITY.get(attrs.get("kind", "flow"), 0)


def add_edge_merged(graph: nx.DiGraph, u: str, v: str, attrs: dict[str, Any]) -> None:
    """Add edge u->v, or keep the existing one when it ranks at least as high."""
    if u == v:
        return
    if graph.has_edge(u, v) and edge_rank(graph.edges[u, v]) >= edge_rank(attrs):
        return
    graph.add_edge(u, v, **attrs)


def contract(graph: nx.DiGraph, group_of: dict[str, str],
             group_attrs: Optional[dict[str, dict[str, Any]]] = None) -> nx.DiGraph:
    """Merge nodes into groups: one node per group, edges between different groups.

    Nodes missing from `group_of` stay as they are. A group takes `group_attrs[group]`, or
    the attributes of its first member. Node order follows each group's first member.

    Example:
        >>> g = nx.DiGraph([("a", "b"), ("b", "c")])
        >>> list(contract(g, {"a": "ab", "b": "ab"}).edges)
        [('ab', 'c')]
    """
    group_attrs = group_attrs or {}
    out = nx.DiGraph(**graph.graph)
    for node, attrs in graph.nodes(data=True):
        group = group_of.get(node, node)
        if group not in out:
            out.add_node(group, **group_attrs.get(group, attrs))
    for u, v, attrs in graph.edges(data=True):
        add_edge_merged(out, group_of.get(u, u), group_of.get(v, v), dict(attrs))
    return out


def bypass(graph: nx.DiGraph, drop: Iterable[str]) -> nx.DiGraph:
    """Remove nodes, joining each kept predecessor to each kept successor.

    The joined edge keeps the attributes of the edge out of the kept predecessor, since
    that is the tensor which actually flows.

    Example:
        >>> g = nx.DiGraph([("x", "size"), ("size", "view"), ("x", "view")])
        >>> sorted(bypass(g, ["size"]).edges)
        [('x', 'view')]
    """
    drop = set(drop)
    out = graph.copy()
    for node in [n for n in graph.nodes if n in drop]:
        preds = list(out.predecessors(node))
        succs = list(out.successors(node))
        for p in preds:
            for s in succs:
                add_edge_merged(out, p, s, dict(out.edges[p, node]))
        out.remove_node(node)
    return out


def _chain_from(graph: nx.DiGraph, start: str) -> tuple[list[str], Optional[str]]:
    """The run of single-input, single-output nodes from `start`, and the node it ends at."""
    chain: list[str] = []
    node: Optional[str] = start
    while node is not None and graph.in_degree(node) == 1 and graph.out_degree(node) == 1:
        chain.append(node)
        node = next(iter(graph.successors(node)))
    return chain, node


def fold_parallel(graph: nx.DiGraph, key: Callable[[str], Any], min_repeat: int = 3) -> nx.DiGraph:
    """Fold identical parallel chains (split -> N x same layers -> join) into one chain.

    A Keras-style grouped convolution (chunk -> 32 convs -> cat) becomes one conv marked
    `repeat=32`. Chains are identical when `key` agrees node by node.

    Example:
        >>> g = nx.DiGraph([("s", f"c{i}") for i in range(4)] + [(f"c{i}", "j") for i in range(4)])
        >>> h = fold_parallel(g, key=lambda n: n[0])
        >>> sorted(h.nodes), h.nodes["c0"]["repeat"]
        (['c0', 'j', 's'], 4)
    """
    groups: dict[tuple, list[list[str]]] = {}
    for split in graph.nodes:
        if graph.out_degree(split) < min_repeat:
            continue
        for succ in graph.successors(split):
            chain, end = _chain_from(graph, succ)
            if chain and end is not None:
                signature = (split, end, tuple(key(n) for n in chain))
                groups.setdefault(signature, []).append(chain)
    group_of: dict[str, str] = {}
    repeats: dict[str, int] = {}
    for chains in groups.values():
        if len(chains) < min_repeat:
            continue
        kept = chains[0]
        for chain in chains[1:]:
            group_of.update(zip(chain, kept))
        for node in kept:
            repeats[node] = len(chains)
    out = contract(graph, group_of)
    for node, count in repeats.items():
        out.nodes[node]["repeat"] = count
    return out


def fuse_chains(graph: nx.DiGraph, can_absorb: Callable[[str, str], bool]) -> nx.DiGraph:
    """Merge each node into its only predecessor when that predecessor feeds nothing else
    and `can_absorb(head, node)` agrees (hiddenlayer's "Conv > BatchNorm > Relu" fold).

    `head` is the first node of the chain being built. The merged node's title joins the
    titles with " · " (an add keeps its "+" and lists the absorbed titles as lines).

    Example:
        >>> g = nx.DiGraph()
        >>> for n in ("conv", "bn", "relu"):
        ...     g.add_node(n, title=n, lines=[], notes=[], error=False, tooltip="")
        >>> g.add_edges_from([("conv", "bn"), ("bn", "relu")])
        >>> h = fuse_chains(g, lambda head, node: head == "conv")
        >>> [h.nodes[n]["title"] for n in h]
        ['conv · bn · relu']
    """
    head_of: dict[str, str] = {}
    for node in graph:
        preds = list(graph.predecessors(node))
        if len(preds) != 1 or graph.out_degree(preds[0]) != 1:
            continue
        head = head_of.get(preds[0], preds[0])
        if can_absorb(head, node):
            head_of[node] = head
    members: dict[str, list[str]] = {}
    for node, head in head_of.items():
        members.setdefault(head, []).append(node)
    attrs: dict[str, dict[str, Any]] = {}
    for head, absorbed in members.items():
        merged = dict(graph.nodes[head])
        titles = [graph.nodes[n]["title"] for n in absorbed]
        if merged.get("kind") == "add":
            merged["lines"] = [*merged.get("lines", []), *titles]
        else:
            merged["title"] = " · ".join([merged["title"], *titles])
        merged["notes"] = [t for n in (head, *absorbed) for t in graph.nodes[n].get("notes", [])]
        for mark in ("error", "warning"):
            merged[mark] = any(graph.nodes[n].get(mark) for n in (head, *absorbed))
        merged["tooltip"] = "\n".join(graph.nodes[n].get("tooltip", "") for n in (head, *absorbed))
        attrs[head] = merged
    return contract(graph, head_of, attrs)
