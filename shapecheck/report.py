"""The analysis result: one `Report` per model, read by every reporter, renderer and checker.

Everything downstream of the engine (text/JSON/SARIF output, block graphs, `--confirm`,
exercises) reads these objects and never re-traces the model. `Report.to_json()` is the
document of `shapecheck --format json` (see cli-contract.md); fields beyond the contract
are additions, never renames.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Optional

Shape = tuple[int, ...]

# Views of a Report that later stages provide (the package registers "graph", the block
# graph), so that this module, at the bottom of the pipeline, imports none of them.
_VIEWS: dict[str, Callable[..., Any]] = {}


def register_view(name: str, view: Callable[..., Any]) -> None:
    """Make `view(report, **options)` available as a Report view (see `Report.graph`).

    >>> register_view("target_name", lambda report: report.target)
    >>> _VIEWS["target_name"](Report("m.py:Net"))
    'm.py:Net'
    """
    _VIEWS[name] = view


def shape_list(shape: Optional[Shape]) -> Optional[list[int]]:
    """JSON form of a shape: a list of ints, or None where the shape is unknown."""
    return None if shape is None else [int(d) for d in shape]


def format_shape(shape: Optional[Shape], batch: bool = True) -> str:
    """`[1, 256, 56, 56]` -> "1x256x56x56" (or "256x56x56" without the batch dim).

    >>> format_shape((1, 256, 56, 56), batch=False)
    '256x56x56'
    """
    if shape is None:
        return "?"
    dims = shape if batch or len(shape) < 2 else shape[1:]
    return "x".join(str(d) for d in dims) if dims else "scalar"


def format_shapes(shape: Any) -> str:
    """One shape as `format_shape` writes it, or several as "(1x8, 1x8)".

    >>> format_shapes([[1, 8], [1, 8]]), format_shapes((2, 3))
    ('(1x8, 1x8)', '2x3')
    """
    if shape and isinstance(shape[0], (tuple, list)):
        return "(" + ", ".join(format_shape(tuple(s)) for s in shape) + ")"
    return format_shape(None if shape is None else tuple(shape))


@dataclass(frozen=True)
class Location:
    """A line in the user's source: `path` as given or relative to the working directory."""

    path: str
    line: int
    function: Optional[str] = None
    code: Optional[str] = None  # the source line's text, stripped

    def to_json(self) -> dict[str, Any]:
        return {"path": self.path, "line": self.line}

    def __str__(self) -> str:
        return f"{self.path}:{self.line}"


@dataclass(frozen=True)
class Fix:
    """What makes a residual add's operands agree.

    `kind` is "projection" (a 1x1 conv + BatchNorm on the shortcut), "linear" (a `Linear`
    on the shortcut of token tensors) or "resize" (the main branch's last conv/linear, and
    the norms after it, rebuilt at the width the layers after the add expect; `layers`
    names them and `code` assigns each its new constructor). `stride` is the spatial ratio
    shortcut/main (an int, or a tuple when the ratio differs per dim). `verified` is True
    when the fix was applied to the traced graph and shapes were propagated again with this
    add clean and nothing new broken.
    """

    kind: str
    in_channels: int
    out_channels: int
    stride: Any
    code: str
    verified: bool = False
    layers: tuple[str, ...] = ()

    @property
    def on_shortcut(self) -> bool:
        """True for a layer added on the shortcut; False when main-branch layers change."""
        return self.kind != "resize"

    def to_json(self) -> dict[str, Any]:
        stride = list(self.stride) if isinstance(self.stride, tuple) else self.stride
        return {
            "kind": self.kind,
            "in_channels": self.in_channels,
            "out_channels": self.out_channels,
            "stride": stride,
            "code": self.code,
            "verified": self.verified,
            "layers": list(self.layers),
        }


@dataclass(frozen=True)
class Finding:
    """One problem: stable `code` (see codes.py), `kind`, `severity` and where it is.

    `shapes` are, for a residual add, [main branch, shortcut]; for a layer, [received,
    expected]. `node` names the traced-graph node; `causes` are short teaching notes on
    which layers changed the shape, e.g. "conv2 stride 2 (56x56 -> 28x28)".
    """

    code: str
    kind: str
    severity: str
    message: str
    module: str
    location: Optional[Location]
    shapes: tuple[Optional[Shape], ...] = ()
    fix: Optional[Fix] = None
    node: Optional[str] = None
    causes: tuple[str, ...] = ()

    @property
    def is_error(self) -> bool:
        return self.severity == "error"

    def to_json(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "kind": self.kind,
            "severity": self.severity,
            "message": self.message,
            "module": self.module,
            "location": self.location.to_json() if self.location else None,
            "shapes": [shape_list(s) for s in self.shapes],
            "fix": self.fix.to_json() if self.fix else None,
            "node": self.node,
            "causes": list(self.causes),
        }


@dataclass(frozen=True)
class ResidualAdd:
    """An addition whose two operands both derive from a common earlier tensor.

    `fork` is the add's immediate dominator (where the skip starts); `main_branch` and
    `shortcut_branch` are the node names strictly between fork and add, in graph order.
    `shapes` are [main, shortcut]; `shortcut` is "identity", "projection",
    "pooled_projection" or "other".
    """

    node: str
    module: str
    location: Optional[Location]
    shapes: tuple[Optional[Shape], Optional[Shape]]
    output_shape: Optional[Shape]
    shortcut: str
    ok: bool
    fork: str
    main_operand: int  # index (0 or 1) of the main-branch operand in the add's arguments
    main_branch: tuple[str, ...] = ()
    shortcut_branch: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "node": self.node,
            "module": self.module,
            "location": self.location.to_json() if self.location else None,
            "shapes": [shape_list(s) for s in self.shapes],
            "shortcut": self.shortcut,
            "ok": self.ok,
            "fork": self.fork,
            "output_shape": shape_list(self.output_shape),
        }


@dataclass(frozen=True)
class Block:
    """A residual block: everything from its fork to its add, with facts for teaching.

    `params` counts the parameters of the layers inside the block (both branches);
    `macs` the multiply-accumulates of its convs, linears and matmuls for the given input.
    """

    index: int
    module: str
    fork: str
    add: str
    input_shape: Optional[Shape]
    output_shape: Optional[Shape]
    shortcut: str
    ok: bool
    params: int
    macs: int
    nodes: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "module": self.module,
            "fork": self.fork,
            "add": self.add,
            "input_shape": shape_list(self.input_shape),
            "output_shape": shape_list(self.output_shape),
            "shortcut": self.shortcut,
            "ok": self.ok,
            "params": self.params,
            "macs": self.macs,
        }


@dataclass(frozen=True)
class NodeInfo:
    """One traced-graph node after propagation.

    `op` is the fx opcode; `target` a readable name ("layer1.0.conv1", "add", "relu");
    `shape` the output shape (None when unknown or not a tensor); `shapes` all tensor
    outputs for nodes that return several; `error` the message when the node failed.
    """

    name: str
    op: str
    target: str
    module: str
    location: Optional[Location]
    inputs: tuple[str, ...]
    shape: Optional[Shape]
    shapes: tuple[Shape, ...] = ()
    dtype: Optional[str] = None
    error: Optional[str] = None
    params: int = 0
    macs: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "op": self.op,
            "target": self.target,
            "module": self.module,
            "location": self.location.to_json() if self.location else None,
            "inputs": list(self.inputs),
            "shape": shape_list(self.shape),
            "error": self.error,
        }


@dataclass(frozen=True)
class TargetError:
    """Why a target could not be analysed: kind is load, build, trace or input."""

    kind: str
    message: str
    location: Optional[Location] = None

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "message": self.message,
            "location": self.location.to_json() if self.location else None,
        }


@dataclass
class Confirmation:
    """What a real run on a device said about the static predictions (see confirm.py)."""

    device: str
    nodes_compared: int
    nodes_agree: int
    predicted_errors: int
    errors_confirmed: int
    fixes_confirmed: int
    seconds: float
    peak_memory_bytes: Optional[int] = None
    disagreements: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    error: Optional[str] = None

    def to_json(self) -> dict[str, Any]:
        return {
            "device": self.device,
            "nodes_compared": self.nodes_compared,
            "nodes_agree": self.nodes_agree,
            "predicted_errors": self.predicted_errors,
            "errors_confirmed": self.errors_confirmed,
            "fixes_confirmed": self.fixes_confirmed,
            "seconds": round(self.seconds, 4),
            "peak_memory_bytes": self.peak_memory_bytes,
            "disagreements": self.disagreements,
            "events": self.events,
            "error": self.error,
        }


@dataclass
class Report:
    """Everything shapecheck knows about one model for one set of example inputs.

    Example:
        >>> import torch, shapecheck
        >>> report = shapecheck.check(torch.nn.Conv2d(3, 8, 3), (1, 3, 32, 32))
        >>> report.output_shapes, report.ok
        ([(1, 8, 30, 30)], True)
    """

    target: str
    input_shapes: list[Shape] = field(default_factory=list)
    output_shapes: list[Optional[Shape]] = field(default_factory=list)
    parameters: int = 0
    macs: int = 0
    tracer: Optional[str] = None
    error: Optional[TargetError] = None
    residual_adds: list[ResidualAdd] = field(default_factory=list)
    blocks: list[Block] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    nodes: dict[str, NodeInfo] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    confirm: Optional[Confirmation] = None
    # Not serialised: the traced graph and the graph with every proposed fix applied.
    graph_module: Any = field(default=None, repr=False, compare=False)
    patched_graph_module: Any = field(default=None, repr=False, compare=False)
    model: Any = field(default=None, repr=False, compare=False)

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.is_error]

    @property
    def ok(self) -> bool:
        """True when the model was analysed and has no finding of severity error."""
        return self.error is None and not self.errors

    def finding_at(self, node: str) -> Optional[Finding]:
        """The first finding attached to traced node `node`, if any."""
        return next((f for f in self.findings if f.node == node), None)

    def to_json(self) -> dict[str, Any]:
        """The contract's per-target result object (plus additive fields)."""
        doc: dict[str, Any] = {
            "target": self.target,
            "input_shapes": [shape_list(s) for s in self.input_shapes],
            "output_shapes": [shape_list(s) for s in self.output_shapes],
            "parameters": self.parameters,
            "macs": self.macs,
            "tracer": self.tracer,
            "error": self.error.to_json() if self.error else None,
            "residual_adds": [a.to_json() for a in self.residual_adds],
            "blocks": [b.to_json() for b in self.blocks],
            "findings": [f.to_json() for f in self.findings],
            "timings": {k: round(v, 4) for k, v in self.timings.items()},
            "notes": list(self.notes),
        }
        if self.confirm is not None:
            doc["confirm"] = self.confirm.to_json()
        return doc

    def graph(self, detail: str = "blocks"):
        """The annotated block graph as a `graphviz.Digraph` (shows itself in Jupyter)."""
        return _VIEWS["graph"](self, detail=detail)

    def _repr_svg_(self):  # Jupyter: a Report displays as its block graph
        return self.graph()._repr_image_svg_xml()
