"""The data part of the page: what its script needs about one model, from the Report alone.

Parts (each residual block, then the stem and the head) list their layers for the side
panel; `nodes` maps every drawn id to its part; each finding names the drawn ids of its add,
its two branches and its fix, for highlighting; `graph` carries the block graph itself when
the browser lays it out. Rows are short lists rather than objects to keep ResNet-152 small,
and source lines are stored once in `sources`. Nothing here depends on time or on the
machine, so the same Report gives the same data.
"""

from __future__ import annotations

from typing import Any, Optional

from shapecheck.report import Finding, NodeInfo, Report, format_shape
from shapecheck.reporters.html.ids import block_of_group

STEM, HEAD = "stem", "head"
# how far back through absorbed layers (bn, relu drawn inside the conv) to look for a drawn node
_ABSORB_DEPTH = 8


class _Sources:
    """Source lines, each stored once: [path, line, code]."""

    def __init__(self) -> None:
        self.rows: list[list[Any]] = []
        self.index: dict[tuple[str, int], int] = {}

    def ref(self, location) -> int:
        if location is None:
            return -1
        key = (location.path, location.line)
        if key not in self.index:
            self.index[key] = len(self.rows)
            self.rows.append([location.path, location.line, location.code or ""])
        return self.index[key]


def layer_path(info: NodeInfo) -> str:
    """A node's module path: the layer for a module call, else its module and operation.

    >>> layer_path(NodeInfo("flatten", "call_function", "flatten", "", None, (), (1, 8)))
    '#flatten'
    """
    if info.op == "call_module":
        return info.target
    return f"{info.module}#{info.target.rsplit('.', 1)[-1]}"


def layer_label(info: NodeInfo) -> str:
    """The node's label when the Report carries one (layer type, hyper-parameters), else its
    operation."""
    return getattr(info, "label", None) or info.target


def part_of_nodes(report: Report) -> dict[str, int]:
    """Traced node -> part index: its innermost block; glue after an add -> the block before
    it; everything before the first block -> stem, after the last add -> head."""
    order = {name: i for i, name in enumerate(report.nodes)}
    count = len(report.blocks)
    stem, head = count, count + 1
    part: dict[str, int] = {}
    members = [(b.index, set(b.nodes) | {b.add}) for b in report.blocks]
    for index, names in sorted(members, key=lambda m: len(m[1])):
        for name in names:
            part.setdefault(name, index)
    adds = sorted((order[b.add], b.index) for b in report.blocks if b.add in order)
    first = min((order[n] for n in part if n in order), default=len(order))
    for name, info in report.nodes.items():
        if name in part:
            continue
        position = order[name]
        before = [index for at, index in adds if at < position]
        if position < first or not before:
            part[name] = stem
        elif adds and position > adds[-1][0] and not _inside(info.module, report.blocks[before[-1]].module):
            part[name] = head
        else:
            part[name] = before[-1]
    return part


def _inside(module: str, block_module: str) -> bool:
    return bool(block_module) and (module == block_module or module.startswith(block_module + "."))


def model_data(report: Report, drawn: Optional[list[str]], ids: dict[str, str],
               graph: Optional[dict[str, Any]] = None) -> dict[str, Any]:
    """The data part of one model's section.

    Args:
        report: the analysis result (only its fields are read).
        drawn: the drawn node names in drawing order (None: no graph).
        ids: drawn node name -> module-path id (see `ids.drawn_ids`).
        graph: the block graph for the browser to lay out, or None when the page has dot's SVG.

    Example:
        >>> sorted(model_data(Report("m.py:Net"), None, {}))
        ['findings', 'graph', 'nodes', 'parts', 'sources']
    """
    sources = _Sources()
    part_of = part_of_nodes(report)
    drawn = drawn or []
    drawn_set = set(drawn)
    node_part: dict[str, int] = {}
    drawn_blocks: set[int] = set()
    for name in drawn:
        group = block_of_group(report, name)
        if group is not None:
            node_part[ids[name]] = group[0]
            drawn_blocks.add(group[0])
        elif name in (STEM, HEAD):
            node_part[ids[name]] = len(report.blocks) + (name == HEAD)
        else:
            node_part[ids[name]] = part_of.get(name, -1)
    runs = _runs(report, drawn_blocks) if drawn else {}
    parts = [_block_part(report, i, part_of, sources, runs.get(i)) for i in range(len(report.blocks))]
    parts += [_outer_part(report, STEM, len(report.blocks), part_of, sources),
              _outer_part(report, HEAD, len(report.blocks) + 1, part_of, sources)]
    locate = _Locator(report, drawn_set, ids, part_of)
    findings = [_finding_data(report, f, locate, sources) for f in report.findings]
    return {"parts": parts, "nodes": node_part, "findings": findings,
            "sources": sources.rows, "graph": graph}


def _runs(report: Report, drawn_blocks: set[int]) -> dict[int, list[int]]:
    """First block of each folded run -> every block of the run: a block that is not drawn
    was folded into the drawn block before it."""
    runs: dict[int, list[int]] = {}
    current: Optional[int] = None
    for block in report.blocks:
        if block.index in drawn_blocks or current is None:
            current = block.index
            runs[current] = [current]
        else:
            runs[current].append(block.index)
    return {first: run for first, run in runs.items() if len(run) > 1}


def _layer_rows(report: Report, names: list[str], sources: _Sources) -> list[list[Any]]:
    """[path, label, in shapes, out shape, params, macs, source] per layer of a part."""
    rows = []
    for name in names:
        info = report.nodes[name]
        has_tensor = info.shape is not None or bool(info.shapes)
        if info.op in ("placeholder", "output", "get_attr") or not (has_tensor or info.error):
            continue  # inputs, parameters and shape arithmetic are not layers
        ins = [report.nodes[i].shape for i in info.inputs if i in report.nodes]
        shape_in = ", ".join(format_shape(s) for s in ins if s is not None)
        out = format_shape(info.shape) if info.shape is not None else (
            ", ".join(format_shape(s) for s in info.shapes) or "?")
        rows.append([layer_path(info), layer_label(info), shape_in, out, info.params, info.macs,
                     sources.ref(info.location), info.error or ""])
    return rows


def _block_part(report: Report, index: int, part_of: dict[str, int], sources: _Sources,
                run: Optional[list[int]]) -> dict[str, Any]:
    block = report.blocks[index]
    add = next((a for a in report.residual_adds if a.node == block.add), None)
    names = [n for n in report.nodes if part_of.get(n) == index]
    return {"kind": "block", "module": block.module, "in": format_shape(block.input_shape),
            "out": format_shape(block.output_shape), "shortcut": block.shortcut,
            "ok": block.ok, "params": block.params, "macs": block.macs,
            "add": sources.ref(add.location if add else None),
            "layers": _layer_rows(report, names, sources), "run": run or []}


def _outer_part(report: Report, kind: str, index: int, part_of: dict[str, int],
                sources: _Sources) -> dict[str, Any]:
    names = [n for n in report.nodes if part_of.get(n) == index]
    infos = [report.nodes[n] for n in names]
    shapes = [i.shape for i in infos if i.shape is not None and i.op != "placeholder"]
    return {"kind": kind, "module": kind, "in": "", "out": format_shape(shapes[-1]) if shapes else "",
            "shortcut": "", "ok": not any(i.error for i in infos),
            "params": sum(i.params for i in infos), "macs": sum(i.macs for i in infos),
            "add": -1, "layers": _layer_rows(report, names, sources), "run": []}


class _Locator:
    """Which drawn node shows a traced node: itself, the box of its block's branch, or the
    layer it was drawn inside (a bn or relu fused into the conv before it)."""

    def __init__(self, report: Report, drawn: set[str], ids: dict[str, str],
                 part_of: dict[str, int]) -> None:
        self.report, self.drawn, self.ids = report, drawn, ids
        outer = {len(report.blocks): STEM, len(report.blocks) + 1: HEAD}
        # at the blocks level the stem and the head are one box each
        self.outer = {n: outer[p] for n, p in part_of.items() if p in outer and outer[p] in drawn}
        self.branch: dict[str, str] = {}
        for residual in sorted(report.residual_adds,
                               key=lambda r: -(len(r.main_branch) + len(r.shortcut_branch))):
            for name in residual.main_branch:  # innermost block last, so it wins
                self.branch[name] = f"{residual.node}_main"
            for name in residual.shortcut_branch:
                self.branch[name] = f"{residual.node}_shortcut"

    def __call__(self, name: Optional[str]) -> Optional[str]:
        for _ in range(_ABSORB_DEPTH):
            if name is None:
                return None
            if name in self.drawn:
                return self.ids[name]
            group = self.branch.get(name) or self.outer.get(name)
            if group in self.drawn:
                return self.ids[group]
            info = self.report.nodes.get(name)
            name = info.inputs[0] if info is not None and info.inputs else None
        return None

    def many(self, names) -> list[str]:
        found = [self(n) for n in names]
        return sorted({f for f in found if f is not None})


def _finding_data(report: Report, finding: Finding, locate: _Locator,
                  sources: _Sources) -> dict[str, Any]:
    """Where the page points for one finding: its node, both branches, fork and fix."""
    residual = next((a for a in report.residual_adds if a.node == finding.node), None)
    target = locate(finding.node)
    fix = f"{finding.node}_fix"
    data = {"code": finding.code, "module": finding.module, "target": target,
            "source": sources.ref(finding.location), "main": [], "short": [], "fork": None,
            "fix": locate.ids.get(fix) if fix in locate.drawn else None}
    if residual is not None:
        data["main"] = [i for i in locate.many(residual.main_branch) if i != target]
        data["short"] = [i for i in locate.many(residual.shortcut_branch) if i != target]
        data["fork"] = locate(residual.fork)
    return data
