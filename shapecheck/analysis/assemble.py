"""The last step of `check`: every stage's results into one Report, built once.

Nothing upstream holds a Report; each stage returns its own values (traced graph,
residual structures, propagation, findings, fixes) and this module turns them into the
serialisable records the reporters, renderers and exercises read.
"""

from __future__ import annotations

from typing import Any, Optional

import torch.fx as fx
import torch.nn as nn

from shapecheck.analysis.propagate import Propagation
from shapecheck.graph.residual import ResidualStructure
from shapecheck.graph.source import layer_path, node_location, owner_module
from shapecheck.ops.counts import module_params, node_macs
from shapecheck.report import Block, Finding, NodeInfo, Report, ResidualAdd, Shape, TargetError


def assemble(*, target: str, model: nn.Module, input_shapes: list[Shape], parameters: int,
             tracer: str, gm: fx.GraphModule, structures: list[ResidualStructure],
             prop: Propagation, findings: list[Finding], notes: list[str],
             timings: dict[str, float], error: Optional[TargetError] = None,
             patched: Optional[fx.GraphModule] = None) -> Report:
    """The Report of one analysed model.

    Example:
        >>> import torch, shapecheck
        >>> shapecheck.check(torch.nn.Linear(4, 2), (3, 4)).nodes["linear"].shape  # via assemble
        (3, 2)
    """
    nodes = node_infos(gm, prop)
    failing = {f.node for f in findings}
    adds = [residual_add(s, prop, s.add.name not in failing) for s in structures]
    blocks = [block(i, s, gm, nodes, adds[i].ok) for i, s in enumerate(structures)]
    return Report(target=target, input_shapes=input_shapes, output_shapes=list(prop.outputs),
                  parameters=parameters, macs=sum(info.macs for info in nodes.values()),
                  tracer=tracer, error=error, residual_adds=adds, blocks=blocks,
                  findings=findings, nodes=nodes, timings=timings, notes=notes,
                  graph_module=gm, patched_graph_module=patched, model=model)


def node_infos(gm: fx.GraphModule, prop: Propagation) -> dict[str, NodeInfo]:
    """One NodeInfo per traced node (the output node excepted), in graph order."""
    infos = {}
    for node in gm.graph.nodes:
        if node.op == "output":
            continue
        result = prop.results.get(node.name)
        module = gm.get_submodule(node.target) if node.op == "call_module" else None
        shape = result.shape if result and result.known else None
        inputs = [prop.shape(n.name) for n in node.all_input_nodes]
        failure = result.failure if result else None
        infos[node.name] = NodeInfo(
            name=node.name, op=node.op, target=_target_name(node), module=layer_path(node),
            location=node_location(node), inputs=tuple(n.name for n in node.all_input_nodes),
            shape=shape, shapes=result.shapes if result else (),
            dtype=result.dtype if result else None,
            error=failure.message if failure and failure.kind != "skipped" else None,
            params=module_params(module) if module is not None else 0,
            macs=node_macs(node, module, shape, inputs))
    return infos


def _target_name(node: fx.Node) -> str:
    if node.op in ("call_module", "get_attr", "call_method"):
        return str(node.target)
    if node.op == "placeholder":
        return node.name
    return getattr(node.target, "__name__", str(node.target))


def residual_add(s: ResidualStructure, prop: Propagation, ok: bool) -> ResidualAdd:
    """The record of one residual add: where it is, both operand shapes, its shortcut."""
    main, short = s.add.args[s.main_operand], s.add.args[1 - s.main_operand]
    return ResidualAdd(
        node=s.add.name, module=owner_module(s.add), location=node_location(s.add),
        shapes=(prop.shape(main.name), prop.shape(short.name)),
        output_shape=prop.shape(s.add.name), shortcut=s.shortcut, ok=ok, fork=s.fork.name,
        main_operand=s.main_operand, main_branch=tuple(n.name for n in s.main_branch),
        shortcut_branch=tuple(n.name for n in s.shortcut_branch))


def block(index: int, s: ResidualStructure, gm: fx.GraphModule, nodes: dict[str, NodeInfo],
          ok: bool) -> Block:
    """The teaching record of one residual block: its shapes, parameters and MACs."""
    members = s.main_branch + s.shortcut_branch + (s.add,)
    seen_modules: set[int] = set()
    params = 0
    for node in members:
        if node.op == "call_module":
            module = gm.get_submodule(node.target)
            if id(module) not in seen_modules:
                seen_modules.add(id(module))
                params += module_params(module)
        elif node.op == "get_attr":
            value = _fetch(gm, node.target)
            if isinstance(value, nn.Parameter):
                params += value.numel()
    return Block(index=index, module=owner_module(s.add), fork=s.fork.name, add=s.add.name,
                 input_shape=nodes[s.fork.name].shape, output_shape=nodes[s.add.name].shape,
                 shortcut=s.shortcut, ok=ok, params=params,
                 macs=sum(nodes[n.name].macs for n in members),
                 nodes=tuple(n.name for n in members))


def _fetch(gm: fx.GraphModule, target: str) -> Any:
    value: Any = gm
    for part in target.split("."):
        value = getattr(value, part, None)
    return value
