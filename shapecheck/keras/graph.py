"""Keras's functional graph as shapecheck reads it: one `LayerCall` per Keras `Node`.

Every call of a layer (or of an op such as `x + y` or `x[..., :4]`) on symbolic tensors is a
Keras `Node` with its inbound tensors and output; `read_graph` walks them from the model's
outputs back to its inputs and lists them in dataflow order, with the layer's name, class,
output shape, the settings that change shapes, and the user frames that called it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

from shapecheck.keras.record import (Frame, MergeFailure, failure_of, frames_of, node_of,
                                     unknown_of)

# Settings worth quoting in a cause ("conv2d_5 has strides=2").
SHAPE_SETTINGS = ("filters", "units", "kernel_size", "strides", "pool_size", "padding",
                  "axis", "groups", "dilation_rate")
MERGES = frozenset({"Add", "Subtract", "Multiply", "Concatenate", "Average", "Maximum",
                    "Minimum"})


@dataclass
class LayerCall:
    """One node of the graph: a layer (or op) applied to its inputs.

    `name` is the layer's name (`name#k` for its k-th call when a layer is shared), `kind`
    its class name, `inputs` the names of the calls whose outputs it reads, in argument
    order; `shape` the output shape as Keras infers it (None dims unknown), `frames` the
    user frames that made the call (innermost first), `failure` a recorded merge failure,
    `unknown` why Keras could not infer the output shape (taken to be the input's).
    """

    name: str
    kind: str
    inputs: tuple[str, ...]
    shape: Optional[tuple]
    layer: Any = field(repr=False, default=None)
    node: Any = field(repr=False, default=None)
    frames: tuple[Frame, ...] = ()
    settings: dict[str, Any] = field(default_factory=dict)
    failure: Optional[MergeFailure] = None
    unknown: Optional[str] = None

    @property
    def is_input(self) -> bool:
        return self.kind == "InputLayer"

    @property
    def is_merge(self) -> bool:
        return self.kind in MERGES

    @property
    def is_add(self) -> bool:
        return self.kind == "Add" and len(self.inputs) == 2


@dataclass
class KerasGraph:
    """The calls of one model in dataflow order; `inputs`/`outputs` name its ends."""

    name: str
    calls: dict[str, LayerCall]
    inputs: list[str]
    outputs: list[str]
    model: Any = field(repr=False, default=None)

    def __getitem__(self, name: str) -> LayerCall:
        return self.calls[name]


def read_graph(model: Any) -> KerasGraph:
    """Read a built Keras model's functional graph (Sequential and nested models alike).

    Example:
        >>> import keras  # doctest: +SKIP
        >>> x = keras.Input((8, 8, 3))  # doctest: +SKIP
        >>> g = read_graph(keras.Model(x, keras.layers.Conv2D(4, 3, name="c")(x)))  # doctest: +SKIP
        >>> [(c.name, c.kind, c.shape) for c in g.calls.values()]  # doctest: +SKIP
        [('input_layer', 'InputLayer', (None, 8, 8, 3)), ('c', 'Conv2D', (None, 6, 6, 4))]
    """
    outputs = [node_of(t) for t in _flat(model.outputs)]
    order: list[Any] = []
    seen: set[int] = set()
    for root in outputs:
        _visit(root, seen, order)
    names: dict[int, str] = {}
    uses: dict[int, int] = {}
    calls: dict[str, LayerCall] = {}
    for node in order:
        operation = node.operation
        index = uses.get(id(operation), 0)
        uses[id(operation)] = index + 1
        name = operation.name if index == 0 else f"{operation.name}#{index}"
        names[id(node)] = name
        inputs = tuple(names[id(node_of(t))] for t in node.input_tensors
                       if node_of(t) is not None and id(node_of(t)) in names)
        output = next(iter(_flat(node.outputs)), None)
        calls[name] = LayerCall(
            name=name, kind=type(operation).__name__, inputs=inputs,
            shape=tuple(output.shape) if output is not None else None, layer=operation,
            node=node, frames=frames_of(node), settings=_settings(operation),
            failure=failure_of(node), unknown=unknown_of(node))
    return KerasGraph(name=getattr(model, "name", "model"), calls=calls,
                      inputs=[names[id(node_of(t))] for t in _flat(model.inputs)],
                      outputs=[names[id(n)] for n in outputs], model=model)


def _visit(node: Any, seen: set[int], order: list[Any]) -> None:
    # iterative post-order: deep ResNets exceed Python's recursion limit
    stack: list[tuple[Any, bool]] = [(node, False)]
    while stack:
        current, expanded = stack.pop()
        if current is None or (id(current) in seen and not expanded):
            continue
        if expanded:
            order.append(current)
            continue
        seen.add(id(current))
        stack.append((current, True))
        for tensor in reversed(list(current.input_tensors)):
            parent = node_of(tensor)
            if parent is not None and id(parent) not in seen:
                stack.append((parent, False))


def _flat(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return [v for item in value.values() for v in _flat(item)]
    if isinstance(value, (list, tuple)):
        return [v for item in value for v in _flat(item)]
    return [value]


def _settings(operation: Any) -> dict[str, Any]:
    found = {}
    for key in SHAPE_SETTINGS:
        value = getattr(operation, key, None)
        if value is not None and not callable(value):
            found[key] = tuple(value) if isinstance(value, list) else value
    return found
