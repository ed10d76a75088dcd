"""Error-tolerant shape propagation over a traced graph, on meta tensors.

In the manner of `torch.fx.passes.shape_prop.ShapeProp`, but a failing node does not stop
the pass: the failure is recorded and a plausible value stands in for the node's output
(for an add, the main branch's tensor; for a layer that got the wrong channel count, the
layer's output on the input it was built for), so one pass finds every problem. Nodes that
depend on a value nothing could stand in for are marked unknown and skipped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Optional, Sequence

import torch
import torch.fx as fx
import torch.nn as nn
from torch.utils._pytree import tree_flatten, tree_map

from shapecheck.graph.record import record_graph
from shapecheck.graph.vocabulary import add_operand_values, add_operands, is_add
from shapecheck.load.frames import first_line
from shapecheck.ops.layers import Expectation, first_tensor, mismatch, run_with_corrected_input
from shapecheck.ops.meta import eval_mode, meta_device_call, meta_weights, to_meta
from shapecheck.ops.shape_rules import NO_RULE, call_rule, module_rule

Shape = tuple[int, ...]


class _Unknown:
    """Stands for a value that could not be computed (an upstream failure)."""

    def __repr__(self) -> str:
        return "UNKNOWN"


UNKNOWN = _Unknown()


@dataclass(frozen=True)
class Failure:
    """Why a node failed: add, layer, op, skipped (an input failed) or unsupported (the op
    cannot run without real values)."""

    kind: str
    message: str
    operand_shapes: tuple[Optional[Shape], ...] = ()
    expectation: Optional[Expectation] = None
    substituted: bool = False


@dataclass
class NodeResult:
    """Shapes a node produced (all tensor outputs), its dtype and its failure, if any."""

    shapes: tuple[Shape, ...] = ()
    dtype: Optional[str] = None
    failure: Optional[Failure] = None
    known: bool = True

    @property
    def shape(self) -> Optional[Shape]:
        return self.shapes[0] if len(self.shapes) == 1 else None


@dataclass
class Propagation:
    """The outcome of one pass: a result per node name and the model's output shapes."""

    results: dict[str, NodeResult] = field(default_factory=dict)
    outputs: list[Optional[Shape]] = field(default_factory=list)

    def shape(self, name: str) -> Optional[Shape]:
        result = self.results.get(name)
        return result.shape if result and result.known else None

    @property
    def failures(self) -> dict[str, Failure]:
        return {n: r.failure for n, r in self.results.items() if r.failure is not None}


class ShapePropagation(fx.Interpreter):
    """An `fx.Interpreter` that records every node's shapes and survives failures.

    Example:
        >>> import torch.nn as nn, torch.fx as fx
        >>> gm = fx.symbolic_trace(nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU()))
        >>> p = ShapePropagation(gm).propagate(torch.empty(1, 3, 32, 32, device="meta"))
        >>> p.outputs
        [(1, 8, 30, 30)]
    """

    def __init__(self, gm: fx.GraphModule, main_operand: Optional[dict[str, int]] = None):
        super().__init__(gm, garbage_collect_values=True)
        self.main_operand = main_operand or {}
        self.result = Propagation()

    def propagate(self, *inputs: torch.Tensor) -> Propagation:
        """Run the graph on meta copies of `inputs`; weights are swapped to meta meanwhile."""
        meta_inputs = [to_meta(t) if isinstance(t, torch.Tensor) else t for t in inputs]
        with meta_weights(self.module), eval_mode(self.module), torch.no_grad():
            self.run(*meta_inputs)
        return self.result

    def run_node(self, n: fx.Node) -> Any:
        args, kwargs = self.fetch_args_kwargs_from_env(n)
        if n.op == "output":
            self.result.outputs = [_shape(v) for v in tree_flatten(args)[0]
                                   if isinstance(v, (torch.Tensor, _Unknown))]
            return super().run_node(n)
        if any(v is UNKNOWN for v in tree_flatten((args, kwargs))[0]):
            self.result.results[n.name] = NodeResult(
                known=False, failure=Failure("skipped", "an input could not be computed"))
            return UNKNOWN
        try:
            value = getattr(self, n.op)(n.target, args, kwargs)
            failure = None
        except Exception as exc:  # every failure becomes a finding, never a stop
            value, failure = self._stand_in(n, args, kwargs, exc)
        self.result.results[n.name] = _result(value, failure)
        return value

    def call_module(self, target, args, kwargs):
        value = module_rule(self.fetch_attr(target), args, kwargs)
        return super().call_module(target, args, kwargs) if value is NO_RULE else value

    def call_function(self, target, args, kwargs):
        _, args, kwargs = meta_device_call(getattr(target, "__name__", ""), args, kwargs)
        value = call_rule(target, False, args, kwargs)
        return super().call_function(target, args, kwargs) if value is NO_RULE else value

    def call_method(self, target, args, kwargs):
        target, args, kwargs = meta_device_call(target, args, kwargs)  # device moves: no-ops
        value = call_rule(target, True, args, kwargs)
        return super().call_method(target, args, kwargs) if value is NO_RULE else value

    def get_attr(self, target, args, kwargs):
        value = super().get_attr(target, args, kwargs)
        return to_meta(value) if isinstance(value, torch.Tensor) else value

    def _stand_in(self, n: fx.Node, args, kwargs, exc: Exception) -> tuple[Any, Failure]:
        message = first_line(exc)
        if is_add(n) and add_operands(n) is not None:
            a, b = add_operand_values(args, kwargs)  # type: ignore[misc]
            shapes = (_shape(a), _shape(b))
            main = self.main_operand.get(n.name, 0)
            return (a, b)[main], Failure("add", message, shapes, substituted=True)
        if n.op == "call_module":
            module = self.fetch_attr(n.target)
            found = mismatch(module, args)
            if found is not None:
                x, want = found
                substitute = run_with_corrected_input(module, args, kwargs)
                failure = Failure("layer", message, (tuple(x.shape),), want,
                                  substituted=substitute is not None)
                return (UNKNOWN if substitute is None else substitute), failure
        operands = tuple(_shape(v) for v in tree_flatten(args)[0] if isinstance(v, torch.Tensor))
        if _needs_values(exc):
            # no meta kernel, or the op reads tensor values: a limit of static analysis,
            # not a bug in the model
            return UNKNOWN, Failure("unsupported", message, operands)
        return UNKNOWN, Failure("op", message, operands)


def _shape(value) -> Optional[Shape]:
    return tuple(value.shape) if isinstance(value, torch.Tensor) else None


def _result(value, failure: Optional[Failure]) -> NodeResult:
    if value is UNKNOWN:
        return NodeResult(known=False, failure=failure)
    tensors = [v for v in tree_flatten(value)[0] if isinstance(v, torch.Tensor)]
    dtype = str(tensors[0].dtype).replace("torch.", "") if tensors else None
    return NodeResult(tuple(tuple(t.shape) for t in tensors), dtype, failure)


def _needs_values(exc: Exception) -> bool:
    text = str(exc)
    return isinstance(exc, NotImplementedError) or "meta tensor" in text or (
        "data-dependent" in text) or "Cannot copy out of meta" in text


def propagate_shapes(gm: fx.GraphModule, inputs: Sequence[torch.Tensor],
                     main_operand: Optional[dict[str, int]] = None) -> Propagation:
    """Propagate shapes through `gm` for example `inputs` (any device; run on meta).

    >>> import torch.nn as nn, torch.fx as fx
    >>> gm = fx.symbolic_trace(nn.Linear(4, 2))
    >>> propagate_shapes(gm, [torch.empty(3, 4)]).outputs
    [(3, 2)]
    """
    return ShapePropagation(gm, main_operand).propagate(*inputs)


def scaled_inputs(inputs: Sequence[torch.Tensor], factor: int = 2) -> Optional[list[torch.Tensor]]:
    """Meta inputs whose spatial dims (of 4-D/5-D image inputs) are `factor` times larger.

    Used to probe whether a size-1 broadcast is by design (it stays 1) or an accident of
    this input size (it becomes a mismatch). None when no input has spatial dims.
    """
    scaled, changed = [], False
    for t in inputs:
        if isinstance(t, torch.Tensor) and t.dim() in (4, 5) and t.is_floating_point():
            shape = list(t.shape[:2]) + [d * factor for d in t.shape[2:]]
            scaled.append(torch.empty(shape, dtype=t.dtype, device="meta"))
            changed = True
        else:
            scaled.append(tree_map(lambda v: to_meta(v) if isinstance(v, torch.Tensor) else v, t))
    return scaled if changed else None


__all__ = ["ShapePropagation", "Propagation", "NodeResult", "Failure", "UNKNOWN",
           "propagate_shapes", "scaled_inputs", "first_tensor"]


def probe_pass(model: nn.Module, traced, tensors: Sequence[torch.Tensor],
               kept: dict[str, int], enabled: bool = True) -> Callable[[], Optional[Propagation]]:
    """A memoised second pass at twice the spatial size (None where it cannot run).

    Diagnosis asks for it only when a size-1 broadcast needs settling, so most models
    never pay for it.

    Example:
        >>> import torch.fx as fx
        >>> from shapecheck.graph.trace import Traced
        >>> net = nn.Conv2d(3, 4, 3)
        >>> probe = probe_pass(net, Traced(fx.symbolic_trace(net), "fx"), [torch.empty(1, 3, 8, 8)], {})
        >>> probe().outputs
        [(1, 4, 14, 14)]
    """
    cache: dict[str, Optional[Propagation]] = {}

    def run() -> Optional[Propagation]:
        if "probe" not in cache:
            cache["probe"] = None
            bigger = scaled_inputs(tensors) if enabled else None
            if bigger is not None:
                try:
                    gm = traced.graph_module
                    if traced.tracer == "record":  # recorded graphs are size-specialised
                        gm = record_graph(model, bigger)
                    cache["probe"] = propagate_shapes(gm, bigger, kept)
                except Exception:
                    cache["probe"] = None
        return cache["probe"]

    return run
