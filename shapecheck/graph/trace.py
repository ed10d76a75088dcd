"""Turning a model into a graph: torch.fx first, then the recording fallback.

Tracers, in order: `fx` (symbolic tracing with source lines), `fx+timm` (the same with
timm's own leaf modules and autowrapped functions, when timm is loaded), and `record`
(record.py: runs on meta tensors with concrete shapes). The result names the tracer that
succeeded and why the earlier ones did not.
"""

from __future__ import annotations

import inspect
import sys
from dataclasses import dataclass, field
from typing import Callable, Optional, Sequence

import torch
import torch.fx as fx
import torch.nn as nn

from shapecheck.ops.meta import eval_mode
from shapecheck.graph.record import is_default_leaf, record_graph
from shapecheck.graph.vocabulary import positional_adds
from shapecheck.load.frames import user_frame_text


class TraceError(RuntimeError):
    """No tracer could turn the model into a graph; `stack_trace` locates the failure."""

    def __init__(self, message: str, stack_trace: Optional[str] = None):
        super().__init__(message)
        self.stack_trace = stack_trace


@dataclass
class Traced:
    graph_module: fx.GraphModule
    tracer: str
    notes: list[str] = field(default_factory=list)


class SourceTracer(fx.Tracer):
    """`fx.Tracer` that records stack traces and honours extra leaf modules/functions."""

    def __init__(self, leaf_types: tuple[type, ...] = (), autowrap: tuple[Callable, ...] = ()):
        super().__init__(autowrap_functions=autowrap)
        self.leaf_types = leaf_types

    def create_proxy(self, kind, target, args, kwargs, name=None, type_expr=None, *rest, **kw):
        proxy = super().create_proxy(kind, target, args, kwargs, name, type_expr, *rest, **kw)
        trace = user_frame_text(2)
        if trace and "stack_trace" not in proxy.node.meta:
            proxy.node.meta["stack_trace"] = trace
        return proxy

    def is_leaf_module(self, m: nn.Module, module_qualified_name: str) -> bool:
        if self.leaf_types and isinstance(m, self.leaf_types):
            return True
        return super().is_leaf_module(m, module_qualified_name)


def unused_defaults(model: nn.Module, given: int) -> dict[str, object]:
    """forward() parameters beyond the `given` inputs that have defaults, with those defaults.

    Traced as placeholders they would be proxies, and `if mask is not None:` on a proxy is
    always true; fixing them to their defaults traces the path the example inputs take.
    """
    try:
        parameters = list(inspect.signature(model.forward).parameters.values())
    except (TypeError, ValueError):
        return {}
    positional = [p for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return {p.name: p.default for p in positional[given:] if p.default is not p.empty}


def fx_trace(model: nn.Module, leaf_types: tuple[type, ...] = (),
             autowrap: tuple[Callable, ...] = (),
             concrete_args: Optional[dict[str, object]] = None) -> fx.GraphModule:
    """Symbolically trace `model`, keeping module paths and source lines on every node.

    >>> gm = fx_trace(nn.Sequential(nn.Linear(2, 2)))
    >>> [n.op for n in gm.graph.nodes]
    ['placeholder', 'call_module', 'output']
    """
    tracer = SourceTracer(leaf_types, autowrap)
    graph = tracer.trace(model, concrete_args=concrete_args or None)
    # read tracer.root only after trace(): trace() sets it
    return positional_adds(fx.GraphModule(tracer.root, graph, class_name=type(model).__name__))


def _timm_registry() -> Optional[tuple[tuple[type, ...], tuple[Callable, ...]]]:
    if "timm" not in sys.modules:
        return None
    try:
        from timm.layers import _fx as timm_fx
    except ImportError:
        return None
    leaves = tuple(t for t in timm_fx.get_notrace_modules() if isinstance(t, type))
    functions = tuple(timm_fx.get_notrace_functions())
    return leaves, functions


def trace_model(model: nn.Module, inputs: Sequence[torch.Tensor], tracer: str = "auto",
                leaf_types: tuple[type, ...] = ()) -> Traced:
    """Trace with the first tracer that works (`tracer` may force "fx" or "record").

    >>> traced = trace_model(nn.Sequential(nn.Conv2d(3, 4, 3)), [torch.empty(1, 3, 8, 8)])
    >>> traced.tracer
    'fx'
    """
    notes: list[str] = []
    fixed = unused_defaults(model, len(inputs))
    with eval_mode(model):
        if tracer in ("auto", "fx"):
            try:
                return Traced(fx_trace(model, leaf_types, concrete_args=fixed), "fx", notes)
            except Exception as exc:
                notes.append(f"torch.fx could not trace the model: {_summary(exc)}")
                if tracer == "fx":
                    raise TraceError(notes[-1]) from exc
            registry = _timm_registry()
            if registry is not None:
                try:
                    gm = fx_trace(model, leaf_types + registry[0], registry[1], fixed)
                    return Traced(gm, "fx+timm", notes)
                except Exception as exc:
                    notes.append(f"torch.fx with timm's leaf modules failed too: {_summary(exc)}")
    leaf = is_default_leaf
    if leaf_types:
        leaf = lambda m: is_default_leaf(m) or isinstance(m, leaf_types)  # noqa: E731
    try:
        return Traced(record_graph(model, inputs, leaf), "record", notes)
    except Exception as exc:
        raise TraceError(f"the model could not be traced: {_summary(exc)}",
                         getattr(exc, "stack_trace", None)) from exc


def _summary(exc: Exception) -> str:
    lines = str(exc).strip().splitlines()
    if not lines:
        return type(exc).__name__
    first = lines[0]
    # fx's messages run on with advice; the first sentence names the problem
    return first.split(". ")[0].rstrip(".")[:200]
