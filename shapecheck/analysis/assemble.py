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
from shapecheck.codes import RESOLUTION_DEPENDENT
from shapecheck.graph.residual import ResidualStructure
from shapecheck.graph.source import layer_path, node_location, owner_module
from shapecheck.ops.counts import module_params, node_macs
from shapecheck.ops.labels import class_name, find_module, layer_args, module_label, runs_layer
from shapecheck.report import (Block, Finding, Live, NodeInfo, Report, ResidualAdd, Shape,
                               TargetError)


def assemble(*, target: str, model: nn.Module, input_shapes: list[Shape], parameters: int,
             tracer: str, gm: fx.GraphModule, structures: list[ResidualStructure],
             prop: Propagation, findings: list[Finding], notes: list[str],
             timings: dict[str, float], error: Optional[TargetError] = None,
             patched: Optional[fx.GraphModule] = None) -> Report:
    """The Report of one analysed model, frozen (see `Report`).

    Example:
        >>> import torch, shapecheck
        >>> shapecheck.check(torch.nn.Linear(4, 2), (3, 4)).nodes["linear"].shape  # via assemble
        (3, 2)
    """
    nodes = node_infos(gm, prop, model)
    # an add that works at the example size and fails at other sizes is ok here, unless
    # those sizes were asked for (SC105 as an error under --sizes RANGE)
    failing = {node for f in findings if f.is_error or f.kind != RESOLUTION_DEPENDENT
               for node in f.places}
    blocks = [block(i, s, gm, model, prop, nodes, s.add.name not in failing)
              for i, s in enumerate(structures)]
    return Report(target=target, input_shapes=input_shapes, output_shapes=list(prop.outputs),
                  parameters=parameters, macs=sum(info.macs for info in nodes.values()),
                  tracer=tracer, error=error, blocks=blocks, findings=findings, nodes=nodes,
                  timings=timings, notes=notes,
                  live=Live(model=model, graph_module=gm, patched_graph_module=patched),
                  assembled=True)


def node_infos(gm: fx.GraphModule, prop: Propagation,
               model: Optional[nn.Module] = None) -> dict[str, NodeInfo]:
    """One NodeInfo per traced node (the output node excepted), in graph order, with the
    label, class and constructor arguments of the layer it runs (read from `gm`, else
    `model`), so that nothing downstream needs the live modules."""
    infos = {}
    for node in gm.graph.nodes:
        if node.op == "output":
            continue
        result = prop.results.get(node.name)
        module = gm.get_submodule(node.target) if node.op == "call_module" else None
        layer = node_layer(node, gm, model)
        shape = result.shape if result and result.known else None
        inputs = [prop.shape(n.name) for n in node.all_input_nodes]
        failure = result.failure if result else None
        target = _target_name(node)
        infos[node.name] = NodeInfo(
            name=node.name, op=node.op, target=target, module=layer_path(node),
            location=node_location(node), inputs=tuple(n.name for n in node.all_input_nodes),
            shape=shape, shapes=result.shapes if result else (),
            dtype=result.dtype if result else None,
            error=failure.message if failure and failure.kind != "skipped" else None,
            params=module_params(module) if module is not None else 0,
            macs=node_macs(node, module, shape, inputs),
            label=node_label(node.op, target, layer),
            layer_type=type(layer).__name__ if layer is not None else None,
            layer_args=layer_args(layer) if layer is not None else {})
    return infos


def node_layer(node: fx.Node, gm: fx.GraphModule,
               model: Optional[nn.Module] = None) -> Optional[nn.Module]:
    """The layer a node runs: its call_module target, or (other tracers record layers as
    functions) its module path when that names a leaf layer of the matching kind
    ("conv2d" recorded inside a Conv2d)."""
    if node.op == "call_module":
        return find_module((gm, model), str(node.target))
    if node.op not in ("call_function", "call_method"):
        return None
    # the traced root is a GraphModule, not the user's class: the model knows the layer
    module = find_module((model, gm), layer_path(node))
    return module if runs_layer(module, _target_name(node)) else None


def node_label(op: str, target: str, layer: Optional[nn.Module]) -> str:
    """What the block graph calls a node: its layer's label, else the operation's name.

    Example:
        >>> node_label("call_module", "layer1.0.conv1", nn.Conv2d(64, 64, 3, padding=1))
        'conv 3x3, 64->64'
        >>> node_label("placeholder", "x", None), node_label("call_function", "add", None)
        ('input x', 'add')
    """
    if op == "placeholder":
        return f"input {target}"
    if op == "get_attr":
        return f"param {target}"
    if layer is not None:
        return module_label(layer)
    return target.rsplit(".", 1)[-1]


def _target_name(node: fx.Node) -> str:
    if node.op in ("call_module", "get_attr", "call_method"):
        return str(node.target)
    if node.op == "placeholder":
        return node.name
    return getattr(node.target, "__name__", str(node.target))


def residual_add(s: ResidualStructure, prop: Propagation, ok: bool) -> ResidualAdd:
    """The facts of one residual add: where it is, both operand shapes, its shortcut."""
    main, short = s.add.args[s.main_operand], s.add.args[1 - s.main_operand]
    return ResidualAdd(
        node=s.add.name, module=owner_module(s.add), location=node_location(s.add),
        shapes=(prop.shape(main.name), prop.shape(short.name)),
        output_shape=prop.shape(s.add.name), shortcut=s.shortcut, ok=ok, fork=s.fork.name,
        main_operand=s.main_operand, main_branch=tuple(n.name for n in s.main_branch),
        shortcut_branch=tuple(n.name for n in s.shortcut_branch))


def block(index: int, s: ResidualStructure, gm: fx.GraphModule, model: Optional[nn.Module],
          prop: Propagation, nodes: dict[str, NodeInfo], ok: bool) -> Block:
    """The record of one residual block: its add (where it is, both operand shapes, its
    shortcut) and its teaching facts (shapes, parameters, MACs, the block's class)."""
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
    add = residual_add(s, prop, ok)
    return Block(index=index, module=add.module, fork=add.fork, add=add.node,
                 input_shape=nodes[s.fork.name].shape, output_shape=nodes[s.add.name].shape,
                 shortcut=s.shortcut, ok=ok, params=params,
                 macs=sum(nodes[n.name].macs for n in members),
                 nodes=tuple(n.name for n in members),
                 module_type=class_name((model, gm), add.module)).with_residual_add(add)


def _fetch(gm: fx.GraphModule, target: str) -> Any:
    value: Any = gm
    for part in target.split("."):
        value = getattr(value, part, None)
    return value
