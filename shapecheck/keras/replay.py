"""Calling a read graph's own layers again: at concrete input sizes, or with a fix inserted.

Keras layers are built once and may be called again on new symbolic tensors, so re-running
every call of a `KerasGraph` in order on new `keras.Input`s is a new shape propagation with
the same layers (a Conv2D built for unknown sizes accepts any size). A `Replay` gives each
call's output shape and what failed; `inserts` put extra layers (a projection) on one
operand of a call. A call that raises is recorded and its old output shape stands in, so
a replay, like the first build, finds everything in one pass.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Optional, Sequence

from shapecheck.keras.backend import import_keras
from shapecheck.keras.graph import KerasGraph
from shapecheck.keras.record import failure_of, node_of, recording

# call name -> (operand index, function from that operand's tensor to its replacement)
Inserts = dict[str, tuple[int, Callable[[Any], Any]]]


@dataclass
class Replay:
    """Output shapes and failures of one replay, keyed by the graph's call names."""

    shapes: dict[str, Optional[tuple]] = field(default_factory=dict)
    operand_shapes: dict[str, tuple] = field(default_factory=dict)
    failures: dict[str, str] = field(default_factory=dict)

    def failed(self, name: str) -> bool:
        return name in self.failures


def replay(graph: KerasGraph, input_shapes: Sequence[tuple],
           inserts: Optional[Inserts] = None) -> Replay:
    """Re-run every call of `graph` on inputs of `input_shapes` (batch dim included).

    Example:
        >>> import keras  # doctest: +SKIP
        >>> from shapecheck.keras.graph import read_graph  # doctest: +SKIP
        >>> x = keras.Input((None, None, 3))  # doctest: +SKIP
        >>> g = read_graph(keras.Model(x, keras.layers.Conv2D(4, 3, strides=2, name="c")(x)))  # doctest: +SKIP
        >>> replay(g, [(1, 33, 33, 3)]).shapes["c"]  # doctest: +SKIP
        (1, 16, 16, 4)
    """
    keras = import_keras()
    inserts = inserts or {}
    result = Replay()
    values: dict[int, Any] = {}
    with recording(), keras.device("meta"):
        for name, shape in zip(graph.inputs, input_shapes):
            call = graph[name]
            tensor = keras.Input(batch_shape=tuple(shape), dtype=_dtype(call))
            values[id(call.node.outputs[0])] = tensor
            result.shapes[name] = tuple(tensor.shape)
        for name, call in graph.calls.items():
            if call.is_input:
                continue
            local = values
            if name in inserts:  # the fix changes this call's view only
                local = dict(values)
                index, make = inserts[name]
                operand = call.node.input_tensors[index]
                local[id(operand)] = make(values[id(operand)])
            args, kwargs = call.node.arguments.fill_in(local)
            result.operand_shapes[name] = tuple(
                tuple(local[id(t)].shape) for t in call.node.input_tensors if id(t) in local)
            try:
                outputs = call.layer(*args, **kwargs)
            except Exception as exc:  # a layer built for other shapes: recorded, not raised
                result.failures[name] = " ".join(str(exc).split())[:400]
                outputs = [keras.KerasTensor(_concrete(call.shape, input_shapes), dtype="float32")
                           for _ in call.node.outputs]
            new = keras.tree.flatten(outputs)
            failure = failure_of(node_of(new[0])) if new else None
            if failure is not None and name not in result.failures:
                result.failures[name] = failure.message
            for old, value in zip(call.node.outputs, new):
                values[id(old)] = value
            result.shapes[name] = tuple(new[0].shape) if new else None
    return result


def _dtype(call: Any) -> str:
    output = call.node.outputs[0]
    return getattr(output, "dtype", None) or "float32"


def _concrete(shape: Optional[tuple], input_shapes: Sequence[tuple]) -> tuple:
    batch = input_shapes[0][0] if input_shapes and input_shapes[0] else 1
    dims = list(shape or ())
    if dims and dims[0] is None:
        dims[0] = batch
    return tuple(dims)
