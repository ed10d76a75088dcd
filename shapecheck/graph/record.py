"""The fallback tracer: record a graph by running the model on meta tensors.

torch.fx's symbolic tracing cannot follow Python that inspects values: `if x.shape[1] != c`,
`len(proxy)`, `int(proxy)`, or iterating over `torch.chunk(...)`. This tracer runs the model
for real, on meta tensors with concrete shapes, and records each operation as an fx node:
torch functions and tensor methods through a `TorchFunctionMode`, and calls of leaf layers
(the nn modules fx also keeps whole) by wrapping their `forward`. Nodes keep the module path
(`nn_module_stack`) and source line (`stack_trace`) in the same form fx uses, so nothing
downstream cares which tracer made the graph. The graph is specialised to the example
shapes. Failing operations are tolerated exactly as in propagation, so a buggy model is
recorded completely.
"""

from __future__ import annotations

import contextlib
import operator
from typing import Any, Callable, Iterator, Optional, Sequence

import torch
import torch.fx as fx
import torch.nn as nn
from torch.overrides import TorchFunctionMode
from torch.utils._pytree import tree_flatten

from shapecheck.ops.layers import run_with_corrected_input
from shapecheck.ops.meta import eval_mode, meta_device_call, meta_weights, to_meta
from shapecheck.graph.residual import structure_of
from shapecheck.graph.vocabulary import positional_adds
from shapecheck.ops.shape_rules import NO_RULE, call_rule, module_rule
from shapecheck.load.frames import is_library_frame, user_frame_text

# Dunder tensor methods recorded as the operator fx uses for them (in-place forms
# included: fx records `a += b` as operator.add too).
_DUNDER = {"add": operator.add, "radd": operator.add, "iadd": operator.add,
           "sub": operator.sub, "isub": operator.sub, "rsub": None,
           "mul": operator.mul, "rmul": operator.mul, "imul": operator.mul,
           "truediv": operator.truediv, "itruediv": operator.truediv,
           "matmul": operator.matmul, "getitem": operator.getitem,
           "neg": operator.neg, "pow": operator.pow, "floordiv": operator.floordiv,
           "mod": operator.mod, "and": operator.and_, "or": operator.or_}
_SWAPPED = {"radd", "rmul"}
_ADD_CALLS = {operator.add, torch.add}
_ADD_METHODS = {"add", "add_"}


class RecordingError(RuntimeError):
    """Recording stopped: an operation failed and nothing could stand in for it."""

    def __init__(self, message: str, stack_trace: Optional[str]):
        super().__init__(message)
        self.stack_trace = stack_trace


def is_default_leaf(module: nn.Module) -> bool:
    """fx's rule: modules from torch.nn are leaves, containers are not."""
    return ((module.__module__.startswith("torch.nn") or module.__module__.startswith("torch.ao.nn"))
            and not isinstance(module, (nn.Sequential, nn.ModuleList, nn.ModuleDict)))


class _Recorder:
    def __init__(self, root: nn.Module, is_leaf: Callable[[nn.Module], bool]):
        self.root = root
        self.is_leaf = is_leaf
        self.graph = fx.Graph()
        self.nodes: dict[int, tuple[torch.Tensor, fx.Node]] = {}
        self.attributes: dict[str, Any] = {}
        self.module_stack: list[tuple[str, type]] = []
        self.paused = 0
        self.constant_count = 0
        self.names = {id(p): n for n, p in root.named_parameters(remove_duplicate=False)}
        self.names.update({id(b): n for n, b in root.named_buffers(remove_duplicate=False)})

    # -- bookkeeping ---------------------------------------------------------------
    def node_for(self, value: Any) -> Any:
        if isinstance(value, torch.Tensor):
            entry = self.nodes.get(id(value))
            if entry is not None and entry[0] is value:
                return entry[1]
            return self._attribute_node(value)
        if isinstance(value, (list, tuple)):
            mapped = [self.node_for(v) for v in value]
            return type(value)(mapped) if not hasattr(value, "_fields") else type(value)(*mapped)
        if isinstance(value, dict):
            return {k: self.node_for(v) for k, v in value.items()}
        if isinstance(value, torch.device):
            return value
        return value

    def _attribute_node(self, tensor: torch.Tensor) -> fx.Node:
        name = self.names.get(id(tensor))
        if name is None:
            name = f"_shapecheck_constant_{self.constant_count}"
            self.constant_count += 1
        self.attributes[name] = tensor
        node = self.graph.get_attr(name)
        self._annotate(node)
        self.nodes[id(tensor)] = (tensor, node)
        return node

    def bind(self, value: Any, node: fx.Node) -> None:
        """Map the tensors of an operation's result to `node` (getitem nodes for tuples)."""
        if isinstance(value, torch.Tensor):
            self.nodes[id(value)] = (value, node)
        elif isinstance(value, (list, tuple)):
            for index, item in enumerate(value):
                if isinstance(item, torch.Tensor):
                    getitem = self.graph.call_function(operator.getitem, (node, index))
                    self._annotate(getitem)
                    self.nodes[id(item)] = (item, getitem)

    def _annotate(self, node: fx.Node) -> None:
        node.meta["nn_module_stack"] = {path: (path, cls) for path, cls in self.module_stack}
        trace = user_frame_text(2)
        if trace:
            node.meta["stack_trace"] = trace

    # -- recording -----------------------------------------------------------------
    def record(self, op: str, target: Any, args: tuple, kwargs: dict) -> fx.Node:
        node = self.graph.create_node(op, target, self.node_for(args), self.node_for(kwargs))
        self._annotate(node)
        return node

    def call_function(self, func: Callable, args: tuple, kwargs: dict) -> Any:
        op, target, rec_args = _as_fx_call(func, args)
        try:
            value = call_rule(target, op == "call_method", rec_args, kwargs)
            if value is NO_RULE:
                value = _on_meta(func, args, kwargs)
        except Exception as exc:
            node = self.record(op, target, rec_args, kwargs)
            value = self._stand_in_for_add(node, target, args, exc)
            self.bind(value, node)
            return value
        if not any(isinstance(v, torch.Tensor) for v in tree_flatten(value)[0]):
            return value  # sizes, flags: Python values the graph is specialised to
        node = self.record(op, target, rec_args, kwargs)
        self.bind(value, node)
        return value

    def _stand_in_for_add(self, node: fx.Node, target: Any, args: tuple, exc: Exception):
        """What a failing operation returns meanwhile: for an add its main branch; for any
        other operation on tensors, a tensor of the shape it would have had on the shapes it
        was written for (a linear layer's output width, else its input's shape). Propagation
        later records the same failure at this node, as it does for fx graphs."""
        if (target in _ADD_CALLS or target in _ADD_METHODS) and len(args) >= 2 and all(
                isinstance(a, torch.Tensor) for a in args[:2]):
            structure = structure_of(self.graph, node)
            main = structure.main_operand if structure else 0
            return args[main]
        tensors = [a for a in args if isinstance(a, torch.Tensor)]
        if not tensors:
            raise RecordingError(str(exc).splitlines()[0] if str(exc) else type(exc).__name__,
                                 node.meta.get("stack_trace"))
        first = tensors[0]
        shape = tuple(first.shape)
        if getattr(target, "__name__", "") == "linear" and len(tensors) > 1 and shape:
            shape = shape[:-1] + (tensors[1].shape[0],)
        return torch.empty(shape, dtype=first.dtype, device="meta")

    def call_leaf(self, path: str, module: nn.Module, forward: Callable, args, kwargs) -> Any:
        node = self.record("call_module", path, args, kwargs)
        self.paused += 1
        try:
            value = module_rule(module, args, kwargs)
            if value is NO_RULE:
                value = forward(*args, **kwargs)
        except Exception as exc:
            value = run_with_corrected_input(module, args, kwargs)
            if value is None:
                raise RecordingError(str(exc).splitlines()[0], node.meta.get("stack_trace"))
        finally:
            self.paused -= 1
        self.bind(value, node)
        return value

    def finish(self, output: Any) -> fx.GraphModule:
        self.graph.output(self.node_for(output))
        attributes = {name: value for name, value in self.attributes.items()}
        for node in self.graph.nodes:
            if node.op == "call_module":
                attributes[node.target] = self.root.get_submodule(node.target)
        gm = fx.GraphModule(attributes, self.graph, class_name=type(self.root).__name__)
        return gm


def _on_meta(func: Callable, args: tuple, kwargs: dict) -> Any:
    """Call `func`, with device moves (`.to("cuda")`, `.cuda()`, `device=`) kept on meta."""
    name = getattr(func, "__name__", "")
    new_name, args, kwargs = meta_device_call(name, args, kwargs)
    if new_name != name:
        func = getattr(torch.Tensor, new_name)
    return func(*args, **kwargs)


def _raised_by_forward(exc: Exception) -> Exception:
    """An exception raised by the model's own code (a KeyError, a failed assert) is a bug in
    forward, not a limit of tracing: say so, at the user's line."""
    import traceback

    frames = traceback.extract_tb(exc.__traceback__) if exc.__traceback__ else []
    user = [f for f in frames if not is_library_frame(f.filename)]
    if not frames or not user or user[-1] is not frames[-1]:
        return exc  # raised inside torch: a shape or tracing problem
    where = user[-1]
    message = str(exc).strip().splitlines()
    text = f"{type(exc).__name__}: {message[0]}" if message else type(exc).__name__
    return RecordingError(f"forward raised {text} (a bug in the model's code, not a limit of "
                          f"tracing: the model would raise it when run)",
                          f'File "{where.filename}", line {where.lineno}, in {where.name}\n')


class _Mode(TorchFunctionMode):
    def __init__(self, recorder: _Recorder):
        super().__init__()
        self.recorder = recorder

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if self.recorder.paused or func in _UNRECORDED:
            return func(*args, **kwargs)
        return self.recorder.call_function(func, tuple(args), kwargs)


_UNRECORDED = {torch.Tensor.__repr__, torch.Tensor.__format__, torch.Tensor.__len__,
               torch.Tensor.dim, torch.Tensor.size, torch.Tensor.__bool__,
               torch.Tensor.__iter__}


def _as_fx_call(func: Callable, args: tuple) -> tuple[str, Any, tuple]:
    """How fx would spell a call: call_function on an operator, or call_method by name."""
    name = getattr(func, "__name__", "")
    if name == "__get__":  # a tensor property such as .T
        attribute = getattr(getattr(func, "__self__", None), "__name__", "")
        return "call_function", getattr, (args[0], attribute)
    if name.startswith("__") and name.endswith("__"):
        bare = name[2:-2]
        target = _DUNDER.get(bare)
        if target is not None:
            ordered = (args[1], args[0]) if bare in _SWAPPED else args
            return "call_function", target, ordered
        return "call_method", name, args
    if getattr(torch.Tensor, name, None) is func:
        return "call_method", name, args
    return "call_function", func, args


@contextlib.contextmanager
def _wrapped_forwards(recorder: _Recorder) -> Iterator[None]:
    """Wrap each submodule's `forward` on the instance: leaves record, others push a path."""
    patched: list[nn.Module] = []
    try:
        for path, module in recorder.root.named_modules():
            if not path or "forward" in module.__dict__:
                continue
            module.forward = _wrapper(recorder, path, module, module.forward)
            patched.append(module)
        yield
    finally:
        for module in patched:
            del module.forward


def _wrapper(recorder: _Recorder, path: str, module: nn.Module, forward: Callable) -> Callable:
    leaf = recorder.is_leaf(module)

    def wrapped(*args, **kwargs):
        if recorder.paused:
            return forward(*args, **kwargs)
        if leaf:
            recorder.module_stack.append((path, type(module)))
            try:
                return recorder.call_leaf(path, module, forward, args, kwargs)
            finally:
                recorder.module_stack.pop()
        recorder.module_stack.append((path, type(module)))
        try:
            return forward(*args, **kwargs)
        finally:
            recorder.module_stack.pop()

    return wrapped


def record_graph(model: nn.Module, inputs: Sequence[torch.Tensor],
                 is_leaf: Callable[[nn.Module], bool] = is_default_leaf) -> fx.GraphModule:
    """Trace `model` by running it on meta copies of `inputs`, recording every operation.

    Example:
        >>> class Grouped(nn.Module):
        ...     def __init__(self):
        ...         super().__init__()
        ...         self.convs = nn.ModuleList(nn.Conv2d(2, 2, 3, padding=1) for _ in range(2))
        ...     def forward(self, x):
        ...         parts = [c(p) for c, p in zip(self.convs, torch.chunk(x, 2, dim=1))]
        ...         return torch.cat(parts, dim=1) + x
        >>> gm = record_graph(Grouped(), [torch.empty(1, 4, 8, 8)])
        >>> [n.op for n in gm.graph.nodes if n.op == "call_module"]
        ['call_module', 'call_module']
    """
    recorder = _Recorder(model, is_leaf)
    meta_inputs = [to_meta(t) if isinstance(t, torch.Tensor) else t for t in inputs]
    for index, tensor in enumerate(meta_inputs):
        node = recorder.graph.placeholder(f"input_{index}" if len(meta_inputs) > 1 else "x")
        recorder.nodes[id(tensor)] = (tensor, node)
    with meta_weights(model), eval_mode(model), torch.no_grad():
        recorder.names = {id(p): n for n, p in model.named_parameters(remove_duplicate=False)}
        recorder.names.update({id(b): n for n, b in model.named_buffers(remove_duplicate=False)})
        with _wrapped_forwards(recorder), _Mode(recorder):
            try:
                output = model(*meta_inputs)
            except RecordingError:
                raise
            except Exception as exc:
                raise _raised_by_forward(exc) from exc
        gm = recorder.finish(output)
    return positional_adds(gm)
