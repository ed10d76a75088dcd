"""The layout-neutral reading of a Report that every drawing level shares.

Where each traced node sits (stem, a block's main branch or shortcut, the add, the glue
between blocks, the head), which stage a block belongs to, and which runs of identical
blocks may be folded into one "×N" mark. Everything comes from the Report's fields;
nothing is traced or propagated again.
"""

from __future__ import annotations

import bisect
import itertools

import re
from dataclasses import dataclass
from typing import Optional

from shapecheck.report import Block, Finding, NodeInfo, Report, ResidualAdd, Shape, format_shape


@dataclass
class BlockView:
    """One residual block as the renderer sees it (read from its `Block`).

    `main`, `shortcut` and `glue` hold node names; `glue` are the nodes after the add that
    belong to no block, up to the next block (the ReLU after `out += identity`).
    `module_type` is the block module's class ("BasicBlock"), None for a container.
    """

    index: int
    name: str
    module: str
    add: str
    fork: str
    main: frozenset[str]
    shortcut: frozenset[str]
    input_shape: Optional[Shape]
    output_shape: Optional[Shape]
    shortcut_kind: str
    ok: bool
    residual: Optional[ResidualAdd] = None
    block: Optional[Block] = None
    stage: Optional[str] = None
    glue: tuple[str, ...] = ()
    module_type: Optional[str] = None

    @property
    def nodes(self) -> frozenset[str]:
        return self.main | self.shortcut | {self.add}


@dataclass
class Structure:
    """Roles of all nodes: `role[name]` is input, output, stem, head, glue, main, shortcut
    or add; `owner[name]` the index of the innermost block holding it (glue: the block
    before it)."""

    blocks: list[BlockView]
    role: dict[str, str]
    owner: dict[str, int]
    order: dict[str, int]
    findings: dict[str, list[Finding]]
    stage_labels: dict[str, str]


def _stage_key(module: str) -> str:
    """"layer2.0" -> "layer2": a block's stage is the module holding it."""
    return module.rsplit(".", 1)[0] if "." in module else ""


def cluster_id(prefix: str, name: str) -> str:
    """A graphviz-safe cluster name: `cluster_` + the name with odd characters replaced.

    >>> cluster_id("stage", "stages.1")
    'cluster_stage_stages_1'
    """
    return f"cluster_{prefix}_" + re.sub(r"[^A-Za-z0-9_]", "_", name)


def _view(report: Report, block: Block) -> BlockView:
    """The BlockView of one Block (shapes it lacks are read from the nodes)."""
    add, fork = block.add, block.fork
    shortcut = set(block.shortcut_branch)
    # nodes the Block lists beyond both branches are treated as main-branch work
    main = set(block.main_branch) | (set(block.nodes) - shortcut)
    nodes = report.nodes
    return BlockView(
        index=0, name=block.module or add, module=block.module, add=add, fork=fork,
        main=frozenset(n for n in main - {add, fork} if n in nodes),
        shortcut=frozenset(n for n in shortcut - {add, fork} if n in nodes),
        input_shape=block.input_shape or _shape(nodes, fork),
        output_shape=block.output_shape or _shape(nodes, add), shortcut_kind=block.shortcut,
        ok=block.ok, residual=block.residual_add, block=block, module_type=block.module_type)


def _views(report: Report, order: dict[str, int]) -> list[BlockView]:
    """Every block in graph order (of its add), numbered from 0."""
    views = [_view(report, b) for b in report.blocks if b.add in order]
    views.sort(key=lambda v: order[v.add])
    for i, view in enumerate(views):
        view.index = i
    _name_duplicates(report, views)
    return views


def _shape(nodes: dict[str, NodeInfo], name: str) -> Optional[Shape]:
    return nodes[name].shape if name in nodes else None


def _name_duplicates(report: Report, views: list[BlockView]) -> None:
    """Blocks sharing one module (a transformer layer's two adds, adds in a top-level
    forward) are told apart by the submodule that ends their main branch ("layer1 · attn"),
    else by their add."""
    counts: dict[str, int] = {}
    for view in views:
        counts[view.name] = counts.get(view.name, 0) + 1
    shared = [view for view in views if counts[view.name] > 1]
    names = {}
    for view in shared:
        child = _branch_child(report, view)
        names[view.index] = (f"{view.module} · {child}" if view.module else child) if child else None
    taken = list(names.values())
    for view in shared:
        name = names[view.index]
        if name is None or taken.count(name) > 1:
            name = f"{view.module} {view.add}" if view.module else view.add
        view.name = name


def _branch_child(report: Report, view: BlockView) -> Optional[str]:
    """The child of the block's module that computes its main operand ("attn" for
    `x + self.attn(...)` in `layer1`), or None."""
    if view.residual is None or view.add not in report.nodes:
        return None
    inputs = report.nodes[view.add].inputs
    if len(inputs) != 2:
        return None
    main = report.nodes.get(inputs[view.residual.main_operand])
    if main is None or (view.module and not inside_module(main.module, view.module)):
        return None
    rest = main.module[len(view.module) + 1:] if view.module else main.module
    return rest.split(".", 1)[0] or None


def _assign_stages(views: list[BlockView]) -> dict[str, str]:
    """Stage of each block: its parent module ("layer2"); where blocks have no parent
    module, consecutive blocks with one output shape form "stage 1", "stage 2", ..."""
    labels: dict[str, str] = {}
    if any(_stage_key(v.module) for v in views):
        for view in views:
            key = _stage_key(view.module)
            view.stage = key or None
            if key:
                labels[key] = key
        return labels
    number = 0
    previous: object = object()
    for view in views:
        if view.output_shape != previous:
            number += 1
            previous = view.output_shape
        view.stage = f"stage{number}"
        labels[view.stage] = f"stage {number}"
    return labels


def read_structure(report: Report) -> Structure:
    """Classify every node of `report` by its place in the residual structure.

    Example:
        >>> from shapecheck.report import Report
        >>> read_structure(Report("empty")).blocks
        []
    """
    order = {name: i for i, name in enumerate(report.nodes)}
    views = _views(report, order)
    stage_labels = _assign_stages(views)
    role: dict[str, str] = {}
    owner: dict[str, int] = {}
    # innermost block first, so nested blocks claim their own nodes
    for view in sorted(views, key=lambda v: len(v.nodes)):
        for name in view.nodes:
            if name not in owner:
                owner[name] = view.index
                role[name] = ("add" if name == view.add
                              else "shortcut" if name in view.shortcut else "main")
    _absorb_side_values(report, views, role, owner, order)
    block_positions = [order[n] for n in owner]
    first = min(block_positions, default=len(order))
    add_positions = [(order[v.add], v.index) for v in views]
    last = max((p for p, _ in add_positions), default=-1)
    # the latest block whose add comes before a position, by bisection (linear overall)
    add_positions.sort()
    sorted_positions = [p for p, _ in add_positions]
    latest = list(itertools.accumulate((i for _, i in add_positions), max))
    glue: dict[int, list[str]] = {}
    for name, info in report.nodes.items():
        if info.op == "placeholder":
            role[name] = "input"
        elif info.op == "output":
            role[name] = "output"
        elif name in owner:
            continue
        elif order[name] < first:
            role[name] = "stem"
        elif order[name] > last:
            role[name] = "head"
        else:
            count = bisect.bisect_left(sorted_positions, order[name])
            before = latest[count - 1] if count else None
            if before is None:  # beside the first block, before its add: drawn with the stem
                role[name] = "stem"
                continue
            role[name] = "glue"
            owner[name] = before
            glue.setdefault(before, []).append(name)
    if views:  # the ReLU after the last add still belongs to the last block, not the head
        last_view = views[-1]
        for name in sorted((n for n, r in role.items() if r == "head"), key=order.get):
            if not inside_module(report.nodes[name].module, last_view.module):
                break
            role[name] = "glue"
            owner[name] = last_view.index
            glue.setdefault(last_view.index, []).append(name)
    for view in views:
        view.glue = tuple(glue.get(view.index, ()))
    findings: dict[str, list[Finding]] = {}
    for finding in report.findings:
        for node in finding.places:  # a grouped finding marks every add it covers
            if node in report.nodes:
                findings.setdefault(node, []).append(finding)
    return Structure(views, role, owner, order, findings, stage_labels)


def _absorb_side_values(report: Report, views: list[BlockView], role: dict[str, str],
                        owner: dict[str, int], order: dict[str, int]) -> None:
    """Give a block the nodes computed only from its own nodes before its add that lead
    nowhere, such as the unused `c` of `b, t, c = x.shape`: without this they would be
    drawn as a stray stem or as glue pointing backwards."""
    used = {source for info in report.nodes.values() for source in info.inputs}
    for name, info in report.nodes.items():
        if name in owner or name in used or info.op in ("placeholder", "output"):
            continue
        owners = {owner.get(source) for source in info.inputs}
        if len(owners) != 1 or None in owners:
            continue
        view = views[owners.pop()]
        if order[name] < order[view.add]:
            owner[name] = view.index
            role[name] = "main"
            view.main = view.main | {name}


def inside_module(module: str, block_module: str) -> bool:
    """True when `module` is `block_module` or one of its submodules (never for "").

    >>> inside_module("layer1.0.relu", "layer1.0"), inside_module("layer1.01", "layer1.0")
    (True, False)
    """
    return bool(block_module) and (module == block_module or module.startswith(block_module + "."))


def fold_runs(structure: Structure, signature, min_repeat: int = 3) -> list[list[BlockView]]:
    """Runs of at least `min_repeat` consecutive, chained blocks with equal `signature(view)`.

    Chained: each block's fork is the previous block's add or one of its glue nodes, so the
    run is a straight line that one "×N" mark describes exactly. `signature` is
    `render.folding.block_signature`.
    """
    runs: list[list[BlockView]] = []
    current: list[BlockView] = []
    for view in structure.blocks:
        if current and _chained(current[-1], view) and signature(current[-1]) == signature(view):
            current.append(view)
            continue
        if len(current) >= min_repeat:
            runs.append(current)
        current = [view]
    if len(current) >= min_repeat:
        runs.append(current)
    return runs


def _chained(before: BlockView, after: BlockView) -> bool:
    return after.fork == before.add or after.fork in before.glue


def shape_text(shape: Optional[Shape]) -> str:
    """A shape without its batch dimension, as edges and labels show it.

    >>> shape_text((1, 256, 56, 56)), shape_text(None)
    ('256x56x56', '?')
    """
    return format_shape(shape, batch=False)


def finding_text(finding: Finding) -> str:
    """The short text drawn next to a finding: code, kind and both shapes.

    Example:
        >>> from shapecheck.report import Finding
        >>> finding_text(Finding("SC101", "channel_mismatch", "error", "...", "layer2.0", None,
        ...                      ((1, 512, 28, 28), (1, 256, 56, 56))))
        'SC101 channel_mismatch\\nmain 512x28x28 vs shortcut 256x56x56'
    """
    head = f"{finding.code} {finding.kind}"
    shapes = [shape_text(s) for s in finding.shapes]
    if len(shapes) < 2:
        return head
    if finding.code.startswith("SC1"):
        return f"{head}\nmain {shapes[0]} vs shortcut {shapes[1]}"
    return f"{head}\ngot {shapes[0]}, expects {shapes[1]}"


def stage_cluster(clusters: dict[str, dict], structure: Structure,
                  view: BlockView) -> Optional[str]:
    """The id of the cluster of `view`'s stage, recording it in `clusters` the first time
    (label: "layer3 · 36 blocks · 1024x14x14"); None for a block without a stage."""
    if not view.stage:
        return None
    cid = cluster_id("stage", view.stage)
    if cid not in clusters:
        members = [v for v in structure.blocks if v.stage == view.stage]
        count = f"{len(members)} block{'s' if len(members) != 1 else ''}"
        label = structure.stage_labels.get(view.stage, view.stage)
        text = f"{label} · {count} · {shape_text(members[-1].output_shape)}"
        clusters[cid] = {"label": text, "parent": None, "kind": "stage"}
    return cid
