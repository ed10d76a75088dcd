"""A Keras graph's analysis into the one `Report` every reporter and renderer reads."""

from __future__ import annotations

import dataclasses
import math
from typing import Any, Optional

from shapecheck.keras.diagnose import Shapes, location
from shapecheck.keras.graph import KerasGraph, LayerCall
from shapecheck.keras.residual import KerasResidual
from shapecheck.report import Block, Finding, NodeInfo, Report, ResidualAdd

_NODE_FIELDS = {f.name for f in dataclasses.fields(NodeInfo)}


def node_infos(graph: KerasGraph, shapes: Shapes) -> dict[str, NodeInfo]:
    """One NodeInfo per call: the layer's name as module, its class as target."""
    infos = {}
    counted: set[int] = set()
    for name, call in graph.calls.items():
        shape = shapes.outputs.get(name)
        params = 0
        if call.layer is not None and id(call.layer) not in counted and hasattr(call.layer, "count_params"):
            counted.add(id(call.layer))
            params = _params(call.layer)
        extra = {key: value for key, value in (("label", _label(call)), ("layer_type", call.kind),
                                                ("layer_args", dict(call.settings)))
                 if key in _NODE_FIELDS}  # the renderer's own fields, where they exist
        infos[name] = NodeInfo(
            name=name, op="placeholder" if call.is_input else "call_module", target=call.kind,
            module=name, location=location(call.frames), inputs=call.inputs,
            shape=shape if shape and None not in shape else None,
            error=shapes.failures.get(name), params=params,
            macs=_macs(call, shapes.outputs.get(call.inputs[0]) if call.inputs else None, shape),
            **extra)
    return infos


def _params(layer: Any) -> int:
    try:
        return int(layer.count_params()) if layer.built else 0
    except ValueError:  # a layer without weights
        return 0


def _label(call: LayerCall) -> str:
    settings = call.settings
    if "filters" in settings:
        kernel = "x".join(str(k) for k in settings.get("kernel_size", ()))
        strides = settings.get("strides")
        suffix = f"/{strides[0]}" if isinstance(strides, tuple) and strides[0] != 1 else ""
        return f"{call.kind} {kernel}{suffix}, {settings['filters']}"
    if "units" in settings:
        return f"{call.kind} {settings['units']}"
    return call.kind


def _macs(call: LayerCall, source: Optional[tuple], out: Optional[tuple]) -> int:
    if not source or not out or None in out or None in source:
        return 0
    settings = call.settings
    if "filters" in settings and "kernel_size" in settings:
        per_output = math.prod(settings["kernel_size"]) * source[-1] // settings.get("groups", 1)
        return math.prod(out[1:]) * per_output
    if call.kind == "Dense":
        return math.prod(out[1:]) * source[-1]
    return 0


def residual_add(graph: KerasGraph, r: KerasResidual, shapes: Shapes, ok: bool) -> ResidualAdd:
    """The record of one residual add (shapes in main, shortcut order)."""
    operands = shapes.operands.get(r.add, (None, None))
    main = operands[r.main_operand] if len(operands) == 2 else None
    short = operands[1 - r.main_operand] if len(operands) == 2 else None
    return ResidualAdd(node=r.add, module=r.add, location=location(graph[r.add].frames),
                       shapes=(main, short), output_shape=shapes.outputs.get(r.add),
                       shortcut=r.shortcut, ok=ok, fork=r.fork, main_operand=r.main_operand,
                       main_branch=r.main_branch, shortcut_branch=r.shortcut_branch)


def block(index: int, r: KerasResidual, nodes: dict[str, NodeInfo], ok: bool) -> Block:
    """A residual block: from the fork's output to the add, its params and MACs."""
    members = r.main_branch + r.shortcut_branch + (r.add,)
    return Block(index=index, module=r.add, fork=r.fork, add=r.add,
                 input_shape=nodes[r.fork].shape, output_shape=nodes[r.add].shape,
                 shortcut=r.shortcut, ok=ok, params=sum(nodes[n].params for n in members),
                 macs=sum(nodes[n].macs for n in members), nodes=members)


def assemble(*, target: str, graph: KerasGraph, shapes: Shapes,
             residuals: list[KerasResidual], findings: list[Finding], notes: list[str],
             timings: dict[str, float], parameters: int) -> Report:
    """The Report of one analysed Keras model (`model` is left None: it is not an fx graph)."""
    nodes = node_infos(graph, shapes)
    failing = {f.node for f in findings if f.is_error}
    adds = [residual_add(graph, r, shapes, r.add not in failing) for r in residuals]
    blocks = [block(i, r, nodes, adds[i].ok) for i, r in enumerate(residuals)]
    return Report(target=target, input_shapes=[tuple(s) for s in shapes.input_shapes],
                  output_shapes=[shapes.outputs.get(name) for name in graph.outputs],
                  parameters=parameters, macs=sum(n.macs for n in nodes.values()),
                  tracer="keras", blocks=blocks, residual_adds=adds, findings=findings,
                  nodes=nodes, timings=timings, notes=notes)
