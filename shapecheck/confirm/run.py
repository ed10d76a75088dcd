"""One real run of a traced graph: real weights, random inputs, every node's real shape.

The static pass ran the graph on meta tensors; here the same graph runs on a real device,
node by node, through a `torch.fx.Interpreter` whose modules and attributes come from a
real model (built by the loader's factory, or materialised from the analysed one). The
graph is never re-traced, so node names match `Report.nodes` one to one.
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

import torch
from torch import fx, nn
from torch.utils._pytree import tree_leaves

from shapecheck.confirm.device import is_out_of_memory

Shape = tuple[int, ...]


def has_meta(module: nn.Module) -> bool:
    """True when any parameter or buffer of `module` lives on the meta device."""
    return any(t.is_meta for t in (*module.parameters(), *module.buffers()))


def init_weights(module: nn.Module) -> None:
    """Give freshly `to_empty`-ed tensors defined values, as a constructor would.

    Every floating parameter first gets N(0, 0.02) (the common transformer init, small so
    that long residual stacks stay finite) and every buffer zeros (so index buffers stay
    valid indices); then each module's own `reset_parameters()` overrides that where it
    exists (conv, linear, norms: BatchNorm also resets its running statistics).

    Example:
        >>> m = nn.BatchNorm2d(4, device="meta").to_empty(device="cpu")
        >>> init_weights(m); m.running_var.tolist()
        [1.0, 1.0, 1.0, 1.0]
    """
    with torch.no_grad():
        for p in module.parameters():
            if p.is_floating_point() or p.is_complex():
                p.normal_(0.0, 0.02)
            else:
                p.zero_()
        for b in module.buffers():
            b.zero_()
        for sub in module.modules():
            reset = getattr(sub, "reset_parameters", None)
            if callable(reset):
                try:
                    reset()
                except Exception:  # a custom reset that cannot run here keeps the normal init
                    pass


def materialise(module: nn.Module, device: torch.device) -> nn.Module:
    """A copy of `module` with real tensors on `device`, in eval mode.

    A module with meta tensors is copied, `to_empty`-ed and re-initialised (`init_weights`);
    one with real tensors keeps its values (pretrained weights, index buffers) and is only
    moved. The original is never touched: fx graph modules share submodules with the
    analysed model.

    Example:
        >>> conv = nn.Conv2d(3, 8, 1, device="meta")
        >>> materialise(conv, torch.device("cpu")).weight.is_meta
        False
    """
    try:
        copied = copy.deepcopy(module)
    except Exception as exc:  # a lock, a generator, an open file among its attributes
        raise RuntimeError(f"cannot copy {type(module).__name__} to run it ({exc}); "
                           "pass a factory that builds a fresh model") from exc
    if has_meta(copied):
        copied.to_empty(device=device)
        init_weights(copied)
    else:
        copied.to(device)
    return copied.eval()


def real_model(report_model: Optional[nn.Module], factory: Optional[Callable[[], nn.Module]],
                device: torch.device) -> Optional[nn.Module]:
    """The real model for the run: `factory()` (built on the device where possible) or a
    materialised copy of the analysed model; None when there is neither."""
    if factory is None:
        return None if report_model is None else materialise(report_model, device)
    try:
        with device:  # allocate parameters on the device directly (no CPU detour)
            model = factory()
    except Exception:
        if device.type == "cpu":
            raise
        model = factory()  # some constructors insist on CPU tensors; build there, then move
    if not isinstance(model, nn.Module):
        raise TypeError(f"the factory returned {type(model).__name__}, not an nn.Module")
    if has_meta(model):
        model.to_empty(device=device)
        init_weights(model)
    return model.to(device).eval()


def _lookup(root: nn.Module, target: str) -> Any:
    """`root.a.b.c` for target "a.b.c", or raise AttributeError."""
    obj: Any = root
    for part in target.split("."):
        obj = getattr(obj, part)
    return obj


class Resolver:
    """Modules and attributes for graph targets: the real model first, else the graph
    module's own object (a constant, an inserted `shapecheck_fix_<k>` projection),
    materialised on the device once and cached."""

    def __init__(self, model: Optional[nn.Module], device: torch.device):
        self.model = model
        self.device = device
        self._cache: dict[str, Any] = {}

    def module(self, gm: nn.Module, target: str) -> nn.Module:
        found = self._from_model(target)
        if isinstance(found, nn.Module):
            return found
        if target not in self._cache:
            self._cache[target] = materialise(gm.get_submodule(target), self.device)
        return self._cache[target]

    def attr(self, gm: nn.Module, target: str) -> Any:
        found = self._from_model(target)
        if found is not None:
            return found
        if target not in self._cache:
            self._cache[target] = self._to_device(_lookup(gm, target))
        return self._cache[target]

    def materialised(self) -> list[nn.Module]:
        """The modules made from the graph's own objects (inserted fixes among them)."""
        return [v for v in self._cache.values() if isinstance(v, nn.Module)]

    def _from_model(self, target: str) -> Any:
        if self.model is None or target.startswith("shapecheck_fix_"):
            return None
        try:
            return _lookup(self.model, target)
        except AttributeError:
            return None

    def _to_device(self, value: Any) -> Any:
        if isinstance(value, nn.Module):
            return materialise(value, self.device)
        if isinstance(value, torch.Tensor):
            if value.is_meta:  # the values were never known: zeros keep indices in range
                return torch.zeros_like(value, device=self.device)
            return value.to(self.device)
        return value


def tensor_shapes(value: Any) -> tuple[Shape, ...]:
    """The shapes of every tensor in a node's output, in order, as the static pass records
    them; `()` for outputs without tensors (ints, sizes), which are not compared.

    Example:
        >>> tensor_shapes((torch.zeros(2, 3), 4, [torch.zeros(1)]))
        ((2, 3), (1,))
    """
    return tuple(tuple(int(d) for d in t.shape) for t in tree_leaves(value)
                 if isinstance(t, torch.Tensor))


def _is_meta_device(value: Any) -> bool:
    if isinstance(value, torch.device):
        return value.type == "meta"
    return isinstance(value, str) and value == "meta"


class NodeFailed(Exception):
    """A graph node raised during the real run; `node` is its name, `cause` the error."""

    def __init__(self, node: str, cause: BaseException):
        super().__init__(f"{node}: {type(cause).__name__}: {cause}")
        self.node = node
        self.cause = cause


class OutOfMemoryAt(Exception):
    """The device ran out of memory while running node `node` (or building, node None)."""

    def __init__(self, node: Optional[str], cause: BaseException):
        super().__init__(f"{node}: {cause}")
        self.node = node
        self.cause = cause


class RealRun(fx.Interpreter):
    """Runs a traced graph on real tensors and records every node's output shape."""

    def __init__(self, gm: fx.GraphModule, resolver: Resolver):
        super().__init__(gm, garbage_collect_values=True)
        self.extra_traceback = False  # keep the user's error message as torch wrote it
        self.resolver = resolver
        self.shapes: dict[str, tuple[Shape, ...]] = {}

    def run_node(self, n: fx.Node) -> Any:
        try:
            out = super().run_node(n)
        except Exception as exc:
            if is_out_of_memory(exc):
                raise OutOfMemoryAt(n.name, exc) from exc
            raise NodeFailed(n.name, exc) from exc
        self.shapes[n.name] = tensor_shapes(out)
        return out

    def call_module(self, target: Any, args: tuple, kwargs: dict) -> Any:
        return self.resolver.module(self.module, target)(*args, **kwargs)

    def get_attr(self, target: Any, args: tuple, kwargs: dict) -> Any:
        return self.resolver.attr(self.module, target)

    def call_function(self, target: Any, args: tuple, kwargs: dict) -> Any:
        return super().call_function(target, *self._real_device(args, kwargs))

    def call_method(self, target: Any, args: tuple, kwargs: dict) -> Any:
        return super().call_method(target, *self._real_device(args, kwargs))

    def _real_device(self, args: tuple, kwargs: dict) -> tuple[tuple, dict]:
        # A recording tracer bakes the meta device it ran on into calls such as
        # `torch.arange(n, device=meta)` or `x.to(meta)`: run those on the real device.
        dev = self.resolver.device
        if any(_is_meta_device(a) for a in args):
            args = tuple(dev if _is_meta_device(a) else a for a in args)
        if any(_is_meta_device(v) for v in kwargs.values()):
            kwargs = {k: dev if _is_meta_device(v) else v for k, v in kwargs.items()}
        return args, kwargs


@dataclass
class GraphRun:
    """What one real run saw: each executed node's tensor shapes, where it failed, its
    output."""

    shapes: dict[str, tuple[Shape, ...]] = field(default_factory=dict)
    failed_at: Optional[str] = None
    failure: Optional[BaseException] = None
    output: Any = None
    seconds: float = 0.0
    out_of_memory: Optional[OutOfMemoryAt] = None  # set when the device ran out of memory

    @property
    def completed(self) -> bool:
        return self.failed_at is None

    def shape(self, name: str) -> Optional[Shape]:
        """The output shape of node `name` when it ran and gave exactly one tensor."""
        shapes = self.shapes.get(name, ())
        return shapes[0] if len(shapes) == 1 else None


def run_graph(gm: fx.GraphModule, resolver: Resolver, inputs: list[torch.Tensor],
              grad: bool = False) -> GraphRun:
    """Run `gm` on `inputs` node by node; a failing node ends the run (on out-of-memory,
    `out_of_memory` is set as well). Autograd is off unless `grad`.

    Example:
        >>> gm = fx.symbolic_trace(nn.Linear(4, 2))
        >>> r = run_graph(gm, Resolver(None, torch.device("cpu")), [torch.randn(3, 4)])
        >>> r.completed, r.shape("output")
        (True, (3, 2))
    """
    interp = RealRun(gm, resolver)
    start = time.perf_counter()
    result = GraphRun(shapes=interp.shapes)
    with torch.set_grad_enabled(grad):
        try:
            result.output = interp.run(*inputs)
        except NodeFailed as exc:
            result.failed_at, result.failure = exc.node, exc.cause
        except OutOfMemoryAt as exc:  # the caller still wants the shapes seen so far
            result.failed_at, result.failure, result.out_of_memory = exc.node, exc.cause, exc
    if resolver.device.type == "cuda":
        torch.cuda.synchronize(resolver.device)
    result.seconds = time.perf_counter() - start
    return result


def _parse_dtype(name: Optional[str]) -> torch.dtype:
    """"torch.int64", "int64" or "long" -> torch.int64; unknown -> float32."""
    if not name:
        return torch.float32
    found = getattr(torch, str(name).rsplit(".", 1)[-1], None)
    return found if isinstance(found, torch.dtype) else torch.float32


def make_inputs(shapes: list[tuple[int, ...]], dtypes: list[Optional[str]],
                model: Optional[nn.Module], device: torch.device) -> list[torch.Tensor]:
    """Random inputs of the analysed shapes and dtypes: N(0, 1) floats, and integers in
    [0, smallest embedding size) so that token ids index every embedding table.

    Example:
        >>> [t.dtype for t in make_inputs([(3, 4), (3,)], ["torch.float32", "torch.int64"],
        ...                               None, torch.device("cpu"))]
        [torch.float32, torch.int64]
    """
    vocab = min((m.num_embeddings for m in (model.modules() if model is not None else ())
                 if isinstance(m, nn.Embedding)), default=2)
    tensors = []
    for shape, dtype_name in zip(shapes, dtypes):
        dtype = _parse_dtype(dtype_name)
        if dtype == torch.bool:
            tensors.append(torch.randint(0, 2, shape, device=device).bool())
        elif dtype.is_floating_point or dtype.is_complex:
            tensors.append(torch.randn(shape, dtype=dtype, device=device))
        else:
            tensors.append(torch.randint(0, max(1, vocab), shape, dtype=dtype, device=device))
    return tensors
