"""Addresses for the drawn graph: every drawn node gets an id spelled as a module path.

The page finds nodes by these ids (search, findings, the side panel). A layer is its module
path ("layer2.0.conv1"); a residual block's box is its block's module ("layer2.0"); the
parts around it carry a suffix ("layer2.0#add", "layer2.0#shortcut", "layer2.0#fix"); an
operation that is not a module call is its module and the operation ("layer4.2#add",
"#flatten" at the top level). Duplicates get "~2", "~3" in drawing order.
"""

from __future__ import annotations

from typing import Iterable, Optional

from shapecheck.report import Report

# group ids the blocks level gives a block's parts: "{add}_main", "{add}_shortcut", ...
_PART_SUFFIXES = ("_main", "_shortcut", "_fix", "_glue")


def block_of_group(report: Report, name: str) -> Optional[tuple[int, str]]:
    """(block index, part) of a blocks-level group id such as "add_3_main", else None.

    >>> from shapecheck.report import Block
    >>> r = Report("m", blocks=[Block(0, "layer1.0", "x", "add", None, None, "identity",
    ...                               True, 0, 0)])
    >>> block_of_group(r, "add_main"), block_of_group(r, "add"), block_of_group(r, "relu")
    ((0, 'main'), (0, 'add'), None)
    """
    adds = {b.add: b.index for b in report.blocks}
    adds.update({a.node: i for i, a in enumerate(report.residual_adds) if a.node not in adds})
    if name in adds:
        return adds[name], "add"
    for suffix in _PART_SUFFIXES:
        head, found, rest = name.rpartition(suffix)
        if found and head in adds and (not rest or rest.startswith("_")):
            part = suffix[1:] + (f"#{rest[1:]}" if rest else "")
            return adds[head], part
    return None


def _module_of_block(report: Report, index: int) -> str:
    blocks = report.blocks or []
    if index < len(blocks):
        return blocks[index].module
    return report.residual_adds[index].module if index < len(report.residual_adds) else ""


def drawn_id(report: Report, name: str) -> str:
    """The module-path id of one drawn node (before duplicates are numbered).

    >>> from shapecheck.report import NodeInfo
    >>> r = Report("m", nodes={"flatten": NodeInfo("flatten", "call_function", "flatten", "",
    ...                                             None, (), (1, 8))})
    >>> drawn_id(r, "flatten"), drawn_id(r, "stem")
    ('#flatten', 'stem')
    """
    group = block_of_group(report, name)
    if group is not None:
        index, part = group
        module = _module_of_block(report, index)
        if part == "main":
            return module or "#block"
        if part.startswith("main#"):  # a second piece of one main branch
            return f"{module}#part{part[5:]}"
        return f"{module}#{part}"
    info = report.nodes.get(name)
    if info is None:  # "stem", "head" and other groups are their own names
        return name
    if info.op == "call_module":
        return info.target
    if info.op == "placeholder":
        return f"#input:{info.target}"
    op = info.target.rsplit(".", 1)[-1]
    return f"{info.module}#{op}"


def drawn_ids(report: Report, names: Iterable[str]) -> dict[str, str]:
    """Drawn node name -> unique module-path id, in drawing order.

    >>> drawn_ids(Report("m"), ["stem", "stem_2"])
    {'stem': 'stem', 'stem_2': 'stem_2'}
    """
    ids: dict[str, str] = {}
    taken: dict[str, int] = {}
    for name in names:
        base = drawn_id(report, name)
        count = taken.get(base, 0) + 1
        taken[base] = count
        ids[name] = base if count == 1 else f"{base}~{count}"
    return ids
