"""The names drawn for layers: "conv 3x3/2, 128->128, g=32", "bn", "fc 512->1000".

Each node's label is a field of the Report (`NodeInfo.label`, made by `ops.labels` when
the Report is assembled), so a Report read back from JSON draws the same; nothing here
reads a live module.
"""

from __future__ import annotations

from typing import Any

from shapecheck.ops.labels import module_label
from shapecheck.report import NodeInfo

__all__ = ["module_label", "node_label", "chain_text"]


def node_label(node: NodeInfo) -> str:
    """The label of one traced node: the one the Report gives it (a layer label such as
    "conv 3x3/2, 64->128"), else, for a NodeInfo written by hand, the operation's name.

    Example:
        >>> node_label(NodeInfo("x", "placeholder", "x", "", None, (), (1, 3, 8, 8)))
        'input x'
        >>> node_label(NodeInfo("c", "call_module", "layer1.conv", "", None, ("x",), None,
        ...                     label="conv 3x3, 3->8"))
        'conv 3x3, 3->8'
    """
    if node.label:
        return node.label
    if node.op == "placeholder":
        return f"input {node.target}"
    if node.op == "output":
        return "output"
    if node.op == "get_attr":
        return f"param {node.target}"
    return node.target.rsplit(".", 1)[-1]


def chain_text(labels: list[str], width: int = 44) -> list[str]:
    """Layer labels joined with " · " into lines of about `width` characters, repeats
    of one label collapsed to "label ×N".

    Example:
        >>> chain_text(["conv 1x1, 64->4"] * 32 + ["cat"])
        ['conv 1x1, 64->4 ×32 · cat']
    """
    parts: list[list[Any]] = []
    for label in labels:
        if parts and parts[-1][0] == label:
            parts[-1][1] += 1
        else:
            parts.append([label, 1])
    words = [label if n == 1 else f"{label} ×{n}" for label, n in parts]
    lines: list[str] = []
    for word in words:
        if lines and len(lines[-1]) + 3 + len(word) <= width:
            lines[-1] += " · " + word
        else:
            lines.append(word)
    return lines
