"""Residual adds in a Keras graph, from its structure alone (as `graph/residual.py` for fx).

An `Add` (or `x + y`) of two tensors that share an earlier tensor is residual; its fork is
the add's immediate dominator in the dataflow DAG, its branches the calls between the fork
and each operand. The branch with fewer layers is the shortcut; it is an identity,
a projection (Conv/Dense, maybe a norm), a pooled projection, or other.
"""

from __future__ import annotations

from dataclasses import dataclass

import networkx as nx

from shapecheck.keras.graph import KerasGraph, LayerCall

_ROOT = "__shapecheck_inputs__"
# Calls that keep a shortcut an identity: no shape or width change.
_PASS_THROUGH = frozenset({"Dropout", "SpatialDropout2D", "Identity", "Activation", "ReLU",
                           "GaussianNoise", "Layer"})
_NORMS = frozenset({"BatchNormalization", "LayerNormalization", "GroupNormalization"})
_PROJECTIONS = frozenset({"Conv1D", "Conv2D", "Conv3D", "Dense", "DepthwiseConv2D",
                          "SeparableConv2D", "EinsumDense"})
_POOLS = frozenset({"AveragePooling1D", "AveragePooling2D", "MaxPooling1D", "MaxPooling2D",
                    "AveragePooling3D", "MaxPooling3D"})
ADD_KINDS = frozenset({"Add"})


@dataclass(frozen=True)
class KerasResidual:
    """One residual add: its fork, which operand is main, both branches, the shortcut kind."""

    add: str
    fork: str
    main_operand: int
    main_branch: tuple[str, ...]
    shortcut_branch: tuple[str, ...]
    shortcut: str


def dataflow(graph: KerasGraph) -> nx.DiGraph:
    """The DAG of calls, rooted at a virtual node that feeds every model input."""
    dag = nx.DiGraph()
    dag.add_node(_ROOT)
    for name, call in graph.calls.items():
        dag.add_node(name)
        if call.is_input:
            dag.add_edge(_ROOT, name)
        for source in call.inputs:
            dag.add_edge(source, name)
    return dag


def is_add(call: LayerCall) -> bool:
    """An `Add` layer or a `+` op with exactly two tensor operands."""
    return call.kind in ADD_KINDS and len(call.inputs) == 2 and call.inputs[0] != call.inputs[1]


def find_residuals(graph: KerasGraph) -> list[KerasResidual]:
    """Every residual add of `graph`, in dataflow order.

    Example:
        >>> import keras  # doctest: +SKIP
        >>> from shapecheck.keras.graph import read_graph  # doctest: +SKIP
        >>> x = keras.Input((8, 8, 4))  # doctest: +SKIP
        >>> y = keras.layers.Add(name="plus")([keras.layers.Conv2D(4, 3, padding="same")(x), x])  # doctest: +SKIP
        >>> [(r.add, r.fork, r.shortcut) for r in find_residuals(read_graph(keras.Model(x, y)))]  # doctest: +SKIP
        [('plus', 'input_layer', 'identity')]
    """
    dag = dataflow(graph)
    idom = nx.immediate_dominators(dag, _ROOT)
    order = {name: i for i, name in enumerate(graph.calls)}
    found = []
    for name, call in graph.calls.items():
        if not is_add(call):
            continue
        fork = idom.get(name)
        if fork is None or fork == _ROOT:
            continue  # two inputs summed: no skip connection
        below = nx.descendants(dag, fork)
        branches = [_branch(dag, below, fork, operand, order) for operand in call.inputs]
        work = [sum(1 for n in b if graph[n].kind not in _PASS_THROUGH) for b in branches]
        main = 1 if work[1] > work[0] else 0
        found.append(KerasResidual(name, fork, main, branches[main], branches[1 - main],
                                   classify(graph, branches[1 - main])))
    return found


def _branch(dag: nx.DiGraph, below: set, fork: str, operand: str,
            order: dict[str, int]) -> tuple[str, ...]:
    if operand == fork:
        return ()
    nodes = (nx.ancestors(dag, operand) & below) | {operand}
    return tuple(sorted(nodes, key=order.__getitem__))


def classify(graph: KerasGraph, branch: tuple[str, ...]) -> str:
    """identity, projection, pooled_projection or other, from the shortcut's layer classes."""
    pooled = projected = False
    for name in branch:
        kind = graph[name].kind
        if kind in _PASS_THROUGH or kind in _NORMS:
            continue
        if kind in _POOLS:
            pooled = True
        elif kind in _PROJECTIONS:
            projected = True
        else:
            return "other"
    if projected:
        return "pooled_projection" if pooled else "projection"
    return "other" if pooled else "identity"
