"""The analysis result: one `Report` per model, read by every reporter, renderer and checker.

Everything downstream of the engine (text/JSON/SARIF output, block graphs, `--confirm`,
exercises) reads these objects and never re-traces the model. `Report.to_json()` is the
document of `shapecheck --format json` (see cli-contract.md); fields beyond the contract
are additions, never renames.
"""

from __future__ import annotations

from dataclasses import FrozenInstanceError, dataclass, field, replace
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


def shape_from_json(value: Any) -> Any:
    """A shape read back from JSON: lists become tuples, at any depth; None stays None.

    >>> shape_from_json([1, 3, 8, 8]), shape_from_json([[2], [2]]), shape_from_json(None)
    ((1, 3, 8, 8), ((2,), (2,)), None)
    """
    return tuple(shape_from_json(v) for v in value) if isinstance(value, list) else value


def _source_line(location: Optional["Location"]) -> Optional[dict[str, Any]]:
    """The part of a location that the contract's compact `{path, line}` leaves out,
    written beside it as `source_line` so that `from_json` loses nothing."""
    return None if location is None else {"function": location.function, "code": location.code}


def _location_from_json(doc: Optional[dict[str, Any]],
                        source_line: Optional[dict[str, Any]] = None) -> Optional["Location"]:
    return Location.from_json(doc, source_line) if doc is not None else None


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

    @classmethod
    def from_json(cls, doc: dict[str, Any],
                  source_line: Optional[dict[str, Any]] = None) -> "Location":
        """The Location that `to_json` wrote, with the function and code line that records
        write beside it (`source_line`).

        >>> where = Location("m.py", 3, "forward", "x + y")
        >>> Location.from_json(where.to_json(), {"function": "forward", "code": "x + y"})
        Location(path='m.py', line=3, function='forward', code='x + y')
        """
        source_line = source_line or {}
        return cls(doc["path"], doc["line"], source_line.get("function"), source_line.get("code"))

    def __str__(self) -> str:
        return f"{self.path}:{self.line}"


@dataclass(frozen=True)
class SourceEdit:
    """One verified edit of the user's file: lines `start_line`..`end_line` (1-based,
    inclusive; `end_line = start_line - 1` inserts before `start_line`) become
    `replacement`. `applicability` is "safe" (every parameter keeps its shape) or
    "unsafe" (parameters change), as ruff names them."""

    path: str
    start_line: int
    end_line: int
    replacement: str
    applicability: str
    description: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"path": self.path, "start_line": self.start_line, "end_line": self.end_line,
                "replacement": self.replacement, "applicability": self.applicability,
                "description": self.description}

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> "SourceEdit":
        """The SourceEdit that `to_json` wrote."""
        return cls(doc["path"], doc["start_line"], doc["end_line"], doc["replacement"],
                   doc["applicability"], doc.get("description", ""))


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

    For a resolution-dependent add (SC105) the fix keeps the weights: `kind` "ceil_mode"
    (a pool rounds up) or "padding" (a conv's padding changes), `layers` the layer changed,
    and `valid_after` the valid sizes the proof gives the patched graph, per axis
    ({"H": {"valid": [[start, stop, step], ...], "proved": bool, "range": [lo, hi]}}).
    """

    kind: str
    in_channels: int
    out_channels: int
    stride: Any
    code: str
    verified: bool = False
    layers: tuple[str, ...] = ()
    valid_after: Optional[dict[str, Any]] = field(default=None, hash=False)
    # the same fix as edits of the user's source, when --diff/--fix looked for them
    edits: tuple[SourceEdit, ...] = ()

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
            **({"valid_after": self.valid_after} if self.valid_after is not None else {}),
            **({"edits": [e.to_json() for e in self.edits]} if self.edits else {}),
        }

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> "Fix":
        """The Fix that `to_json` wrote (a per-dim stride comes back as a tuple)."""
        return cls(doc["kind"], doc["in_channels"], doc["out_channels"],
                   shape_from_json(doc["stride"]), doc["code"], doc["verified"],
                   tuple(doc.get("layers", ())), doc.get("valid_after"),
                   tuple(SourceEdit.from_json(e) for e in doc.get("edits", ())))


@dataclass(frozen=True)
class Instance:
    """One place where a grouped finding's cause shows, as the finding it was before
    grouping: the add of a block of the same class failing the same way (`role` "add"),
    or a layer after a failing add that receives its wrong width (`role` "cascade")."""

    role: str
    finding: "Finding"

    @property
    def module(self) -> str:
        return self.finding.module

    @property
    def node(self) -> Optional[str]:
        return self.finding.node

    def to_json(self) -> dict[str, Any]:
        return {"role": self.role, **self.finding.to_json()}

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> "Instance":
        """The Instance that `to_json` wrote."""
        return cls(doc["role"], Finding.from_json(doc))


@dataclass(frozen=True)
class BlockClass:
    """The class whose instances a grouped finding covers, and where it is defined."""

    name: str
    location: Optional[Location]

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name,
                "location": self.location.to_json() if self.location else None}

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> "BlockClass":
        """The BlockClass that `to_json` wrote."""
        return cls(doc["name"],
                   Location.from_json(doc["location"]) if doc.get("location") else None)

    def __str__(self) -> str:
        return f"{self.name} ({self.location})" if self.location else self.name


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
    # one root cause, several places (analysis/group.py): every add and cascading layer it
    # covers, this finding's own first; empty when the finding stands alone
    instances: tuple[Instance, ...] = ()
    block_class: Optional[BlockClass] = None
    # where the failing module was built (load.provenance.Origin.to_json), when recorded
    origin: Optional[dict[str, Any]] = field(default=None, hash=False, compare=False)

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
            "source_line": _source_line(self.location),
            "instances": [i.to_json() for i in self.instances],
            "block_class": self.block_class.to_json() if self.block_class else None,
            **({"origin": self.origin} if self.origin is not None else {}),
        }

    def expanded(self) -> tuple["Finding", ...]:
        """The findings this one stands for, one per place (itself when not grouped)."""
        return tuple(i.finding for i in self.instances) or (self,)

    @property
    def places(self) -> tuple[str, ...]:
        """Every traced node this finding covers: its own, and its instances'."""
        own = (self.node,) if self.node else ()
        return own + tuple(i.node for i in self.instances if i.node and i.node != self.node)

    @property
    def adds(self) -> int:
        """How many residual adds this finding covers (1 unless grouped)."""
        return max(1, sum(i.role == "add" for i in self.instances))

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> "Finding":
        """The Finding that `to_json` wrote."""
        return cls(doc["code"], doc["kind"], doc["severity"], doc["message"], doc["module"],
                   _location_from_json(doc["location"], doc.get("source_line")),
                   tuple(shape_from_json(s) for s in doc["shapes"]),
                   Fix.from_json(doc["fix"]) if doc.get("fix") else None, doc.get("node"),
                   tuple(doc.get("causes", ())),
                   tuple(Instance.from_json(i) for i in doc.get("instances", ())),
                   BlockClass.from_json(doc["block_class"]) if doc.get("block_class")
                   else None, doc.get("origin"))


@dataclass(frozen=True)
class ResidualAdd:
    """An addition whose two operands both derive from a common earlier tensor.

    A view of one `Block` (`Block.residual_add`), the form the JSON contract's
    `residual_adds` array and older callers use. `fork` is the add's immediate dominator
    (where the skip starts); `main_branch` and `shortcut_branch` are the node names
    strictly between fork and add, in graph order. `shapes` are [main, shortcut];
    `shortcut` is "identity", "projection", "pooled_projection" or "other".
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
            "main_operand": self.main_operand,
            "main_branch": list(self.main_branch),
            "shortcut_branch": list(self.shortcut_branch),
            "source_line": _source_line(self.location),
        }

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> "ResidualAdd":
        """The ResidualAdd that `to_json` wrote."""
        where = _location_from_json(doc["location"], doc.get("source_line"))
        return cls(doc["node"], doc["module"], where,
                   tuple(shape_from_json(s) for s in doc["shapes"]),  # type: ignore[arg-type]
                   shape_from_json(doc["output_shape"]), doc["shortcut"], doc["ok"],
                   doc["fork"], doc.get("main_operand", 0), tuple(doc.get("main_branch", ())),
                   tuple(doc.get("shortcut_branch", ())))


@dataclass(frozen=True)
class Block:
    """A residual block, from its fork to its add: the one record of it.

    It carries its residual add's facts (`location`, operand `shapes` [main, shortcut],
    `main_operand`, both branches; `residual_add` gives them in ResidualAdd form) and facts
    for teaching: `params` counts the parameters of the layers inside the block (both
    branches), `macs` the multiply-accumulates of its convs, linears and matmuls for the
    given input; `module_type` is the class of the block's module ("BasicBlock"), None for
    a plain container.
    """

    index: int
    module: str
    fork: str
    add: str
    input_shape: Optional[Shape]
    output_shape: Optional[Shape]
    shortcut: str
    ok: bool
    params: int = 0
    macs: int = 0
    nodes: tuple[str, ...] = ()
    location: Optional[Location] = None
    shapes: tuple[Optional[Shape], Optional[Shape]] = (None, None)
    main_operand: int = 0
    main_branch: tuple[str, ...] = ()
    shortcut_branch: tuple[str, ...] = ()
    module_type: Optional[str] = None

    @property
    def residual_add(self) -> ResidualAdd:
        """This block's add as a ResidualAdd.

        >>> Block(0, "layer1.0", "x", "add", None, (1, 8), "identity", True).residual_add.node
        'add'
        """
        return ResidualAdd(self.add, self.module, self.location, self.shapes, self.output_shape,
                           self.shortcut, self.ok, self.fork, self.main_operand,
                           self.main_branch, self.shortcut_branch)

    @classmethod
    def from_residual_add(cls, add: ResidualAdd, index: int = 0) -> "Block":
        """The block of a residual add known alone (no parameter or MAC counts).

        >>> add = ResidualAdd("add", "b", None, ((1, 8), (1, 8)), (1, 8), "identity", True, "x", 0)
        >>> Block.from_residual_add(add).residual_add == add
        True
        """
        return cls(index, add.module, add.fork, add.node, None, add.output_shape, add.shortcut,
                   add.ok).with_residual_add(add)

    def with_residual_add(self, add: ResidualAdd) -> "Block":
        """This block with its residual add's facts taken from `add`."""
        return replace(self, module=add.module, fork=add.fork, add=add.node,
                       output_shape=add.output_shape, shortcut=add.shortcut, ok=add.ok,
                       location=add.location, shapes=add.shapes,
                       main_operand=add.main_operand, main_branch=add.main_branch,
                       shortcut_branch=add.shortcut_branch)

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
            "nodes": list(self.nodes),
            "location": self.location.to_json() if self.location else None,
            "shapes": [shape_list(s) for s in self.shapes],
            "main_operand": self.main_operand,
            "main_branch": list(self.main_branch),
            "shortcut_branch": list(self.shortcut_branch),
            "module_type": self.module_type,
            "source_line": _source_line(self.location),
        }

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> "Block":
        """The Block that `to_json` wrote."""
        return cls(doc["index"], doc["module"], doc["fork"], doc["add"],
                   shape_from_json(doc["input_shape"]), shape_from_json(doc["output_shape"]),
                   doc["shortcut"], doc["ok"], doc["params"], doc["macs"],
                   tuple(doc.get("nodes", ())),
                   _location_from_json(doc.get("location"), doc.get("source_line")),
                   tuple(shape_from_json(s)  # type: ignore[arg-type]
                         for s in doc.get("shapes", (None, None))),
                   doc.get("main_operand", 0), tuple(doc.get("main_branch", ())),
                   tuple(doc.get("shortcut_branch", ())), doc.get("module_type"))


def blocks_with_adds(blocks: list[Block], adds: list[ResidualAdd]) -> list[Block]:
    """One block per residual add, in the adds' order: the block already describing that
    add, with the add's facts, else a new block from the add alone.

    >>> add = ResidualAdd("add", "b", None, ((1, 8), (1, 8)), (1, 8), "identity", False, "x", 0)
    >>> old = Block(3, "b", "x", "add", (1, 8), (1, 8), "identity", True, params=72)
    >>> [(b.index, b.ok, b.params) for b in blocks_with_adds([old], [add])]
    [(3, False, 72)]
    """
    known = {b.add: b for b in blocks}
    return [known[a.node].with_residual_add(a) if a.node in known
            else Block.from_residual_add(a, index) for index, a in enumerate(adds)]


@dataclass(frozen=True)
class NodeInfo:
    """One traced-graph node after propagation.

    `op` is the fx opcode; `target` a readable name ("layer1.0.conv1", "add", "relu");
    `shape` the output shape (None when unknown or not a tensor); `shapes` all tensor
    outputs for nodes that return several; `error` the message when the node failed.
    `label` is how the block graph names the node ("conv 3x3/2, 64->128", "input x",
    "relu"); `layer_type` the class of the layer the node runs ("Conv2d"), None for an
    operation that is no layer's; `layer_args` that layer's constructor hyper-parameters
    (kernel_size, stride, in/out channels, ...; see `ops.labels.layer_args`).
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
    label: str = ""
    layer_type: Optional[str] = None
    layer_args: dict[str, Any] = field(default_factory=dict, hash=False)

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
            "shapes": [shape_list(s) for s in self.shapes],
            "dtype": self.dtype,
            "params": self.params,
            "macs": self.macs,
            "label": self.label,
            "layer_type": self.layer_type,
            "layer_args": {k: list(v) if isinstance(v, tuple) else v
                           for k, v in self.layer_args.items()},
            "source_line": _source_line(self.location),
        }

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> "NodeInfo":
        """The NodeInfo that `to_json` wrote (tuple-valued layer arguments come back as
        tuples).

        >>> info = NodeInfo("conv", "call_module", "conv", "conv", None, ("x",), (1, 8, 6, 6),
        ...                 label="conv 3x3, 3->8", layer_type="Conv2d",
        ...                 layer_args={"kernel_size": (3, 3)})
        >>> NodeInfo.from_json(info.to_json()) == info
        True
        """
        return cls(doc["name"], doc["op"], doc["target"], doc["module"],
                   _location_from_json(doc["location"], doc.get("source_line")),
                   tuple(doc["inputs"]),
                   shape_from_json(doc["shape"]),
                   tuple(shape_from_json(s) for s in doc.get("shapes", ())), doc.get("dtype"),
                   doc.get("error"), doc.get("params", 0), doc.get("macs", 0),
                   doc.get("label", ""), doc.get("layer_type"),
                   {k: shape_from_json(v) for k, v in doc.get("layer_args", {}).items()})


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
            "source_line": _source_line(self.location),
        }

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> "TargetError":
        """The TargetError that `to_json` wrote (a `traceback` field is not kept)."""
        return cls(doc["kind"], doc["message"],
                   _location_from_json(doc.get("location"), doc.get("source_line")))


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



    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> "Confirmation":
        """The Confirmation that `to_json` wrote (`seconds` as rounded there)."""
        return cls(doc["device"], doc["nodes_compared"], doc["nodes_agree"],
                   doc["predicted_errors"], doc["errors_confirmed"], doc["fixes_confirmed"],
                   doc["seconds"], doc.get("peak_memory_bytes"),
                   list(doc.get("disagreements", ())), list(doc.get("events", ())),
                   doc.get("error"))


@dataclass(frozen=True)
class Live:
    """The live objects behind a Report: never serialised, never compared, absent from a
    Report read back from JSON. `graph_module` is the traced graph, `patched_graph_module`
    the graph with every proposed fix applied (confirmation runs both)."""

    model: Any = None
    graph_module: Any = None
    patched_graph_module: Any = None


def _live_property(name: str) -> property:
    """`report.<name>`: the live object of that name (None without a live handle)."""
    def get(report: "Report") -> Any:
        return getattr(report.live, name) if report.live is not None else None

    def set_(report: "Report", value: Any) -> None:  # hand-built Reports only: see Report
        report.live = replace(report.live or Live(), **{name: value})

    return property(get, set_, doc=f"`live.{name}` (compatibility; None without `live`).")


@dataclass(init=False)
class Report:
    """Everything shapecheck knows about one model for one set of example inputs.

    A value: `to_json()` writes every field but `live` (the model and graph modules) and
    `from_json()` reads it back. The Report that `check` assembles is frozen (assigning
    a field raises `dataclasses.FrozenInstanceError`); later stages make new values with
    `dataclasses.replace`; so is one read back with `from_json`. A Report built by hand
    stays mutable.

    The residual adds are the blocks' (`residual_adds` is a view of `blocks`); the
    keywords `residual_adds=`, `model=`, `graph_module=` and `patched_graph_module=` are
    accepted for compatibility.

    Example:
        >>> import torch, shapecheck
        >>> report = shapecheck.check(torch.nn.Conv2d(3, 8, 3), (1, 3, 32, 32))
        >>> report.output_shapes, report.ok
        ([(1, 8, 30, 30)], True)
        >>> Report.from_json(report.to_json()) == report
        True
    """

    target: str
    input_shapes: list[Shape] = field(default_factory=list)
    output_shapes: list[Optional[Shape]] = field(default_factory=list)
    parameters: int = 0
    macs: int = 0
    tracer: Optional[str] = None
    error: Optional[TargetError] = None
    blocks: list[Block] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    nodes: dict[str, NodeInfo] = field(default_factory=dict)
    # wall-clock seconds differ run to run: two Reports of one analysis compare equal
    timings: dict[str, float] = field(default_factory=dict, compare=False)
    notes: list[str] = field(default_factory=list)
    confirm: Optional[Confirmation] = None
    # the valid input sizes per axis (analysis/sizes.py), a plain JSON-ready dict, or None
    sizes: Optional[dict[str, Any]] = None
    live: Optional[Live] = field(default=None, repr=False, compare=False)
    assembled: bool = field(default=False, repr=False, compare=False)

    def __init__(self, target: str, input_shapes: Optional[list[Shape]] = None,
                 output_shapes: Optional[list[Optional[Shape]]] = None, parameters: int = 0,
                 macs: int = 0, tracer: Optional[str] = None, error: Optional[TargetError] = None,
                 residual_adds: Optional[list[ResidualAdd]] = None,
                 blocks: Optional[list[Block]] = None, findings: Optional[list[Finding]] = None,
                 nodes: Optional[dict[str, NodeInfo]] = None,
                 timings: Optional[dict[str, float]] = None, notes: Optional[list[str]] = None,
                 confirm: Optional[Confirmation] = None, graph_module: Any = None,
                 patched_graph_module: Any = None, model: Any = None,
                 live: Optional[Live] = None, assembled: bool = False,
                 sizes: Optional[dict[str, Any]] = None) -> None:
        # the positional order is the one Report always had; `live` and `assembled` are new
        self.target = target
        self.input_shapes = input_shapes if input_shapes is not None else []
        self.output_shapes = output_shapes if output_shapes is not None else []
        self.parameters, self.macs, self.tracer, self.error = parameters, macs, tracer, error
        blocks = blocks if blocks is not None else []
        if residual_adds is not None:
            blocks = blocks_with_adds(blocks, residual_adds)
        self.blocks = blocks
        self.findings = findings if findings is not None else []
        self.nodes = nodes if nodes is not None else {}
        self.timings = timings if timings is not None else {}
        self.notes = notes if notes is not None else []
        self.confirm = confirm
        self.sizes = sizes
        given = {"model": model, "graph_module": graph_module,
                 "patched_graph_module": patched_graph_module}
        given = {k: v for k, v in given.items() if v is not None}
        self.live = replace(live or Live(), **given) if given else live
        self.assembled = assembled  # last: from here on an assembled Report is frozen

    def __setattr__(self, name: str, value: Any) -> None:
        if self.__dict__.get("assembled"):
            raise FrozenInstanceError(f"cannot assign to field {name!r} of an assembled Report "
                                      "(make a new one with dataclasses.replace)")
        object.__setattr__(self, name, value)

    def __delattr__(self, name: str) -> None:
        if self.__dict__.get("assembled"):
            raise FrozenInstanceError(f"cannot delete field {name!r} of an assembled Report")
        object.__delattr__(self, name)

    @property
    def residual_adds(self) -> list[ResidualAdd]:
        """Each block's residual add, in block order (the contract's `residual_adds`).

        Assigning a list (hand-built Reports) updates the blocks of those adds.
        """
        return [b.residual_add for b in self.blocks]

    @residual_adds.setter
    def residual_adds(self, adds: list[ResidualAdd]) -> None:
        self.blocks = blocks_with_adds(self.blocks, adds)

    model = _live_property("model")
    graph_module = _live_property("graph_module")
    patched_graph_module = _live_property("patched_graph_module")

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.is_error]

    @property
    def ok(self) -> bool:
        """True when the model was analysed and has no finding of severity error."""
        return self.error is None and not self.errors

    def ungrouped(self) -> "Report":
        """This Report with one finding per place (`Finding.expanded`), as `check` gives it
        with `group=False`; confirmation runs on it, fixing one add at a time."""
        if not any(f.instances for f in self.findings):
            return self
        order = {name: i for i, name in enumerate(self.nodes)}  # graph order, as diagnosed
        every = [x for f in self.findings for x in f.expanded()]
        return replace(self, findings=sorted(every, key=lambda f: order.get(f.node or "", -1)))

    def finding_at(self, node: str) -> Optional[Finding]:
        """The first finding attached to traced node `node` (or covering it), if any."""
        return next((f for f in self.findings if node in f.places), None)

    def to_json(self) -> dict[str, Any]:
        """The contract's per-target result object (plus additive fields): every field of
        the Report but `live`, so that `from_json` reads the same Report back."""
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
        if self.sizes is not None:
            doc["sizes"] = self.sizes
        doc["nodes"] = [info.to_json() for info in self.nodes.values()]
        return doc

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> "Report":
        """The Report that `to_json` wrote, without a live handle (timings as rounded there).

        Example:
            >>> report = Report("m.py:Net", [(1, 3, 8, 8)], notes=["a note"])
            >>> Report.from_json(report.to_json()) == report
            True
        """
        nodes = [NodeInfo.from_json(n) for n in doc.get("nodes", ())]
        return cls(
            doc["target"], [shape_from_json(s) for s in doc["input_shapes"]],
            [shape_from_json(s) for s in doc["output_shapes"]], doc["parameters"],
            doc.get("macs", 0), doc["tracer"],
            TargetError.from_json(doc["error"]) if doc.get("error") else None,
            blocks=[Block.from_json(b) for b in doc.get("blocks", ())],
            findings=[Finding.from_json(f) for f in doc["findings"]],
            nodes={n.name: n for n in nodes}, timings=dict(doc.get("timings", {})),
            notes=list(doc.get("notes", ())),
            confirm=Confirmation.from_json(doc["confirm"]) if doc.get("confirm") else None,
            sizes=doc.get("sizes"), assembled=True)

    def graph(self, detail: str = "blocks"):
        """The annotated block graph as a `graphviz.Digraph` (shows itself in Jupyter)."""
        return _VIEWS["graph"](self, detail=detail)

    def _repr_svg_(self):  # Jupyter: a Report displays as its block graph
        return self.graph()._repr_image_svg_xml()

    def _repr_html_(self):  # Jupyter: the HTML report's page, inline (the SVG repr stays)
        return _VIEWS["html"](self)
