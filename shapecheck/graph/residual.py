"""Finding residual adds in a traced graph, from its structure alone.

An add is residual when both operands derive from the model's inputs and from a common
earlier tensor. The block's entry (its fork) is the add's immediate dominator in the
dataflow DAG; the two branches are the nodes on the paths from the fork to each operand.
The shorter branch is the shortcut. None of this needs shapes, so it runs before
propagation and tells propagation which operand to keep when an add fails.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass
from typing import Optional

import networkx as nx
import torch
import torch.fx as fx
import torch.nn as nn

from shapecheck.graph.vocabulary import add_operands, call_name, is_add, module_of

_ROOT = "__shapecheck_inputs__"
# Shape-preserving steps that still make a shortcut an identity.
_IDENTITY_MODULES = (nn.Identity, nn.Dropout, nn.Dropout1d, nn.Dropout2d, nn.Dropout3d)
_IDENTITY_CALLS = frozenset({"clone", "contiguous", "dropout", "identity", "detach", "float",
                             "to", "type_as"})
_POOL_MODULES = (nn.AvgPool1d, nn.AvgPool2d, nn.AvgPool3d, nn.MaxPool1d, nn.MaxPool2d,
                 nn.MaxPool3d, nn.AdaptiveAvgPool2d)
_PROJECTION_MODULES = (nn.modules.conv._ConvNd, nn.Linear)


@dataclass(frozen=True)
class ResidualStructure:
    """The shape-free facts of one residual add."""

    add: fx.Node
    fork: fx.Node
    main_operand: int
    main_branch: tuple[fx.Node, ...]
    shortcut_branch: tuple[fx.Node, ...]
    shortcut: str


def dataflow_graph(graph: fx.Graph) -> tuple[nx.DiGraph, set[fx.Node]]:
    """The DAG of input-derived nodes, rooted at a virtual node feeding every placeholder."""
    derived: set[fx.Node] = set()
    dag = nx.DiGraph()
    dag.add_node(_ROOT)
    for node in graph.nodes:
        if node.op == "placeholder":
            derived.add(node)
            dag.add_edge(_ROOT, node)
        elif node.op != "output":
            sources = [n for n in node.all_input_nodes if n in derived]
            if sources:
                derived.add(node)
                for source in sources:
                    dag.add_edge(source, node)
    return dag, derived


def find_residual_adds(gm: fx.GraphModule) -> list[ResidualStructure]:
    """Every residual add of a traced module, in graph order.

    >>> import torch.fx as fx
    >>> class Block(nn.Module):
    ...     def __init__(self):
    ...         super().__init__()
    ...         self.conv = nn.Conv2d(4, 4, 3, padding=1)
    ...     def forward(self, x):
    ...         return self.conv(x) + x
    >>> [(s.fork.name, s.shortcut) for s in find_residual_adds(fx.symbolic_trace(Block()))]
    [('x', 'identity')]
    """
    dag, derived = dataflow_graph(gm.graph)
    candidates = [n for n in gm.graph.nodes
                  if (ops := add_operands(n)) and ops[0] in derived and ops[1] in derived
                  and ops[0] is not ops[1]]
    if not candidates:
        return []
    idom = nx.immediate_dominators(dag, _ROOT)
    found = []
    for add in candidates:
        structure = _structure(gm, dag, idom, add)
        if structure is not None:
            found.append(structure)
    return found


def structure_of(gm_or_graph, add: fx.Node) -> Optional[ResidualStructure]:
    """The residual structure of one add in a (possibly partial) graph, or None."""
    graph = gm_or_graph.graph if isinstance(gm_or_graph, fx.GraphModule) else gm_or_graph
    ops = add_operands(add)
    if ops is None:
        return None
    dag, derived = dataflow_graph(graph)
    if ops[0] not in derived or ops[1] not in derived or ops[0] is ops[1]:
        return None
    idom = nx.immediate_dominators(dag, _ROOT)
    owner = gm_or_graph if isinstance(gm_or_graph, fx.GraphModule) else None
    return _structure(owner, dag, idom, add)


def _structure(gm: Optional[fx.GraphModule], dag: nx.DiGraph, idom: dict,
               add: fx.Node) -> Optional[ResidualStructure]:
    fork = idom.get(add)
    if fork is None or fork == _ROOT:
        return None  # the operands share no earlier tensor: two inputs summed
    below_fork = nx.descendants(dag, fork)
    a, b = add_operands(add)  # type: ignore[misc]
    branches = [_branch(dag, below_fork, fork, a), _branch(dag, below_fork, fork, b)]
    # the shortcut is the branch doing less work; on a tie the first operand is main
    costs = [_work(branch) for branch in branches]
    main = 1 if costs[1] > costs[0] else 0
    main_branch, shortcut_branch = branches[main], branches[1 - main]
    return ResidualStructure(add, fork, main, main_branch, shortcut_branch,
                             classify_shortcut(gm, shortcut_branch))


def _branch(dag: nx.DiGraph, below_fork: set, fork: fx.Node,
            operand: fx.Node) -> tuple[fx.Node, ...]:
    if operand is fork:
        return ()
    nodes = (nx.ancestors(dag, operand) & below_fork) | {operand}
    return tuple(sorted(nodes, key=_order))


def _order(node: fx.Node) -> int:
    # fx nodes carry no index; their position in the graph's linked list is the order
    if "shapecheck_order" not in node.meta:
        _position(node)
    return node.meta["shapecheck_order"]


def _position(node: fx.Node) -> int:
    graph = node.graph
    for index, other in enumerate(graph.nodes):
        other.meta["shapecheck_order"] = index
    return node.meta["shapecheck_order"]


def _work(branch: tuple[fx.Node, ...]) -> int:
    return sum(1 for n in branch if n.op in ("call_module", "call_function", "call_method"))


def classify_shortcut(gm: Optional[fx.GraphModule], branch: tuple[fx.Node, ...]) -> str:
    """identity, projection (conv/linear, norm), pooled_projection (ResNet-D) or other."""
    has_pool = has_projection = False
    for node in branch:
        module = module_of(gm, node)
        if module is not None:
            if isinstance(module, _IDENTITY_MODULES):
                continue
            if isinstance(module, _POOL_MODULES):
                has_pool = True
            elif isinstance(module, _PROJECTION_MODULES):
                has_projection = True
            elif isinstance(module, nn.Sequential) or _is_norm(module):
                continue
            else:
                return "other"
        elif node.op in ("call_function", "call_method"):
            name = call_name(node)
            if name in _IDENTITY_CALLS or name == "getitem":
                continue
            if "pool" in name:
                has_pool = True
            elif name in ("conv1d", "conv2d", "conv3d", "linear"):
                has_projection = True
            elif "norm" in name:
                continue
            else:
                return "other"
    if has_projection:
        return "pooled_projection" if has_pool else "projection"
    return "other" if has_pool else "identity"


def _is_norm(module: nn.Module) -> bool:
    return isinstance(module, (nn.modules.batchnorm._NormBase, nn.GroupNorm, nn.LayerNorm))


def channels_first(gm: fx.GraphModule, structure: ResidualStructure) -> bool:
    """3-D tensors are N,C,L when a 1-D conv or norm touches the block, else tokens."""
    for node in structure.main_branch + structure.shortcut_branch + (structure.fork,):
        module = module_of(gm, node)
        if isinstance(module, (nn.Conv1d, nn.BatchNorm1d, nn.MaxPool1d, nn.AvgPool1d)):
            return True
    return False
