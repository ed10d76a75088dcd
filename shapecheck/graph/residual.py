"""Finding residual adds in a traced graph, from its structure alone.

An add is residual when both operands derive from the model's inputs and from a common
earlier tensor. The block's entry (its fork) is the add's immediate dominator in the
dataflow DAG; the two branches are the nodes on the paths from the fork to each operand.
The shorter branch is the shortcut. None of this needs shapes, so it runs before
propagation and tells propagation which operand to keep when an add fails.

The cost is linear in the graph (plus the branches' own sizes): one pass over fx's node
list, which is in topological order, gives every dominator, and each branch is found by
walking back from its operand to the fork, never by a search over the whole graph.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass
from typing import Optional

import torch
import torch.fx as fx
import torch.nn as nn

from shapecheck.graph.vocabulary import add_operands, call_name, is_add, module_of
from shapecheck.ops.families import family_of, role_of_call

# Tensor methods that keep a shortcut an identity (layers say so in ops/families.py).
_IDENTITY_CALLS = frozenset({"clone", "contiguous", "dropout", "identity", "detach", "float",
                             "to", "type_as"})


@dataclass(frozen=True)
class ResidualStructure:
    """The shape-free facts of one residual add."""

    add: fx.Node
    fork: fx.Node
    main_operand: int
    main_branch: tuple[fx.Node, ...]
    shortcut_branch: tuple[fx.Node, ...]
    shortcut: str


@dataclass(frozen=True)
class Dataflow:
    """The input-derived part of a graph, read in one pass over fx's node list.

    Attributes:
        inputs: each input-derived node, in graph order, with its input-derived inputs (a
            placeholder has none: it hangs off a virtual root feeding every input).
        position: each of those nodes' position in the graph's node list.
    """

    inputs: dict[fx.Node, tuple[fx.Node, ...]]
    position: dict[fx.Node, int]


def dataflow(graph: fx.Graph) -> Dataflow:
    """The nodes derived from the graph's inputs, each with the derived nodes it reads.

    Constants and parameters are left out: a tensor that does not depend on the input
    cannot be the entry of a residual block.

    >>> gm = fx.symbolic_trace(lambda x: x.relu() + x)
    >>> {n.name: [i.name for i in inputs] for n, inputs in dataflow(gm.graph).inputs.items()}
    {'x': [], 'relu': ['x'], 'add': ['relu', 'x']}
    """
    inputs: dict[fx.Node, tuple[fx.Node, ...]] = {}
    position: dict[fx.Node, int] = {}
    for index, node in enumerate(graph.nodes):
        if node.op == "placeholder":
            sources: tuple[fx.Node, ...] = ()
        elif node.op == "output":
            continue
        else:
            # an input listed later in the graph is not derived yet: fx's order is the truth
            sources = tuple(n for n in node.all_input_nodes if n in inputs)
            if not sources:
                continue
        inputs[node] = sources
        position[node] = index
    return Dataflow(inputs, position)


def immediate_dominators(flow: Dataflow) -> dict[fx.Node, Optional[fx.Node]]:
    """Each derived node's immediate dominator; None where only the virtual root dominates
    it (a placeholder, or a node that two inputs reach independently).

    Every node's inputs come before it in `flow`, so one pass of Cooper, Harvey and
    Kennedy's algorithm is exact: a node's immediate dominator is the deepest common
    dominator of its inputs, met by walking up the dominator tree from each of them.

    >>> gm = fx.symbolic_trace(lambda x: x.relu().sigmoid() + x)
    >>> {n.name: d and d.name for n, d in immediate_dominators(dataflow(gm.graph)).items()}
    {'x': None, 'relu': 'x', 'sigmoid': 'relu', 'add': 'x'}
    """
    rank = flow.position
    idom: dict[fx.Node, Optional[fx.Node]] = {}
    for node, sources in flow.inputs.items():
        dominator: Optional[fx.Node] = sources[0] if sources else None
        for other in sources[1:]:
            finger: Optional[fx.Node] = other
            # a dominator always comes before what it dominates: step up the later finger
            while dominator is not finger and dominator is not None and finger is not None:
                if rank[dominator] > rank[finger]:
                    dominator = idom[dominator]
                else:
                    finger = idom[finger]
            if dominator is not finger:
                dominator = None  # one finger reached the root: the inputs meet only there
                break
        idom[node] = dominator
    return idom


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
    flow = dataflow(gm.graph)
    candidates = [n for n in gm.graph.nodes
                  if (ops := add_operands(n)) and ops[0] in flow.inputs
                  and ops[1] in flow.inputs and ops[0] is not ops[1]]
    if not candidates:
        return []
    idom = immediate_dominators(flow)
    found = []
    for add in candidates:
        structure = _structure(gm, flow, idom, add)
        if structure is not None:
            found.append(structure)
    return found


def structure_of(gm_or_graph, add: fx.Node) -> Optional[ResidualStructure]:
    """The residual structure of one add in a (possibly partial) graph, or None.

    >>> gm = fx.symbolic_trace(lambda x: x.relu() + x)
    >>> add = next(n for n in gm.graph.nodes if n.name == "add")
    >>> s = structure_of(gm, add)
    >>> s.fork.name, [n.name for n in s.main_branch], s.shortcut_branch, s.shortcut
    ('x', ['relu'], (), 'identity')
    """
    graph = gm_or_graph.graph if isinstance(gm_or_graph, fx.GraphModule) else gm_or_graph
    ops = add_operands(add)
    if ops is None:
        return None
    flow = dataflow(graph)
    if ops[0] not in flow.inputs or ops[1] not in flow.inputs or ops[0] is ops[1]:
        return None
    owner = gm_or_graph if isinstance(gm_or_graph, fx.GraphModule) else None
    return _structure(owner, flow, immediate_dominators(flow), add)


def _structure(gm: Optional[fx.GraphModule], flow: Dataflow, idom: dict,
               add: fx.Node) -> Optional[ResidualStructure]:
    fork = idom.get(add)
    if fork is None:
        return None  # the operands share no earlier tensor: two inputs summed
    a, b = add_operands(add)  # type: ignore[misc]
    branches = [_branch(flow, fork, a), _branch(flow, fork, b)]
    # the shortcut is the branch doing less work; on a tie the first operand is main
    costs = [_work(branch) for branch in branches]
    main = 1 if costs[1] > costs[0] else 0
    main_branch, shortcut_branch = branches[main], branches[1 - main]
    return ResidualStructure(add, fork, main, main_branch, shortcut_branch,
                             classify_shortcut(gm, shortcut_branch))


def _branch(flow: Dataflow, fork: fx.Node, operand: fx.Node) -> tuple[fx.Node, ...]:
    # The nodes on the paths fork -> operand, fork excluded. The fork dominates the operand,
    # so every node reached walking back from the operand without passing the fork lies
    # below the fork: the walk costs the branch's size, not the graph's.
    if operand is fork:
        return ()
    seen = {operand}
    stack = [operand]
    while stack:
        for source in flow.inputs[stack.pop()]:
            if source is not fork and source not in seen:
                seen.add(source)
                stack.append(source)
    return tuple(sorted(seen, key=flow.position.__getitem__))


def _work(branch: tuple[fx.Node, ...]) -> int:
    return sum(1 for n in branch if n.op in ("call_module", "call_function", "call_method"))


def classify_shortcut(gm: Optional[fx.GraphModule], branch: tuple[fx.Node, ...]) -> str:
    """identity, projection (conv/linear, norm), pooled_projection (ResNet-D) or other.

    Each layer's role (projection, norm, pool, identity) is its family's (ops/families.py);
    norms and containers leave the kind unchanged, anything without a role makes it other.

    >>> gm = fx.symbolic_trace(nn.Sequential(nn.Conv2d(4, 8, 1), nn.RMSNorm(8)))
    >>> classify_shortcut(gm, tuple(n for n in gm.graph.nodes if n.op == "call_module"))
    'projection'
    """
    roles = []
    for node in branch:
        module = module_of(gm, node)
        if module is not None:
            family = family_of(module)
            if family is not None and family.role is not None:
                roles.append(family.role)
            elif not isinstance(module, nn.Sequential):
                return "other"
        elif node.op in ("call_function", "call_method"):
            name = call_name(node)
            if name in _IDENTITY_CALLS or name == "getitem":
                continue
            role = role_of_call(name)
            if role is None:
                return "other"
            roles.append(role)
    if "projection" in roles:
        return "pooled_projection" if "pool" in roles else "projection"
    return "other" if "pool" in roles else "identity"


def channels_first(gm: fx.GraphModule, structure: ResidualStructure) -> bool:
    """3-D tensors are N,C,L when a 1-D conv or norm touches the block, else tokens."""
    for node in structure.main_branch + structure.shortcut_branch + (structure.fork,):
        module = module_of(gm, node)
        if isinstance(module, (nn.Conv1d, nn.BatchNorm1d, nn.MaxPool1d, nn.AvgPool1d)):
            return True
    return False
