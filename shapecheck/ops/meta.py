"""Running a model on meta tensors without touching the user's weights.

Shape propagation needs every parameter on the `meta` device (no memory, no compute). A
model built elsewhere keeps its real weights: they are swapped for meta twins only for the
duration of a pass, and the original objects are put back afterwards.
"""

from __future__ import annotations

import contextlib
import weakref
from typing import Iterator, Optional

import torch
import torch.nn as nn
from torch.overrides import TorchFunctionMode


def to_meta(tensor: torch.Tensor) -> torch.Tensor:
    """A meta tensor with the same shape and dtype (the tensor itself if already meta).

    >>> to_meta(torch.zeros(2, 3)).device.type
    'meta'
    """
    if tensor.device.type == "meta":
        return tensor
    return torch.empty(tensor.shape, dtype=tensor.dtype, device="meta")


@contextlib.contextmanager
def meta_weights(model: nn.Module) -> Iterator[nn.Module]:
    """Temporarily replace every non-meta parameter and buffer of `model` by a meta twin.

    >>> m = nn.Linear(2, 3)
    >>> with meta_weights(m):
    ...     m.weight.device.type
    'meta'
    >>> m.weight.device.type
    'cpu'
    """
    swapped: list[tuple[dict, str, torch.Tensor]] = []
    try:
        for module in model.modules():
            for store in (module._parameters, module._buffers):
                for name, value in list(store.items()):
                    if value is None or value.device.type == "meta" or _is_lazy(value):
                        continue
                    twin = to_meta(value)
                    if isinstance(value, nn.Parameter):
                        twin = nn.Parameter(twin, requires_grad=value.requires_grad)
                    swapped.append((store, name, value))
                    store[name] = twin
        yield model
    finally:
        for store, name, value in reversed(swapped):
            store[name] = value


@contextlib.contextmanager
def eval_mode(model: nn.Module) -> Iterator[nn.Module]:
    """Temporarily put every submodule in eval mode, restoring each one's own flag after.

    Shapes do not depend on the mode, but train-mode BatchNorm refuses a batch of one
    on 1x1 maps, and confirm runs in eval mode: tracing in the same mode keeps the
    two graphs identical.
    """
    flags = [(m, m.training) for m in model.modules()]
    try:
        model.eval()
        yield model
    finally:
        for module, training in flags:
            module.training = training


def _is_lazy(value: torch.Tensor) -> bool:
    return isinstance(value, nn.parameter.UninitializedTensorMixin)


def has_lazy_modules(model: nn.Module) -> bool:
    """True when some parameter is still uninitialised (nn.Lazy* before a first call)."""
    return any(_is_lazy(p) for p in model.parameters()) or any(
        _is_lazy(b) for b in model.buffers())


_DEVICE_MOVES = frozenset({"cuda", "cpu", "pin_memory", "mps", "xpu"})


def meta_device_call(name: str, args: tuple, kwargs: dict) -> tuple[str, tuple, dict]:
    """A call with its device moves kept on meta: `.to("cuda")`, `.cuda()`, `.cpu()` and
    `device=` arguments are shape-neutral, and on a machine without that device they
    must not fail. Returns the (method) name, args and kwargs to call instead.

    Example:
        >>> x = torch.empty(2, 3, device="meta")
        >>> name, args, kwargs = meta_device_call("to", (x, "cuda", torch.float16), {})
        >>> getattr(x, name)(*args[1:], **kwargs).device.type, args[2]
        ('meta', torch.float16)
        >>> meta_device_call("cuda", (x,), {"non_blocking": True})[0::2]
        ('to', {'device': 'meta'})
    """
    if name in _DEVICE_MOVES and args and isinstance(args[0], torch.Tensor):
        return "to", args[:1], {"device": "meta"}
    if "device" in kwargs and kwargs["device"] is not None:
        kwargs = {**kwargs, "device": "meta"}
    if name == "to":
        args = tuple("meta" if index and _is_device(a) else a for index, a in enumerate(args))
    return name, args, kwargs


def _is_device(value) -> bool:
    if isinstance(value, torch.device):
        return True
    if isinstance(value, str):
        try:
            torch.device(value)
            return True
        except (RuntimeError, ValueError):
            return False
    return False


class _SkipInitOnMeta(TorchFunctionMode):
    """Weight initialisation on meta tensors computes nothing anyone reads, yet each call
    runs a meta kernel (the first one imports torch's meta registrations and torch._dynamo,
    seconds). In-place ops on meta tensors during construction return their input as is."""

    def __torch_function__(self, func, types, args=(), kwargs=None):
        name = getattr(func, "__name__", "")
        if (name.endswith("_") and not name.startswith("__") and args
                and isinstance(args[0], torch.Tensor) and args[0].device.type == "meta"):
            return args[0]
        return func(*args, **(kwargs or {}))


@contextlib.contextmanager
def skip_init_on_meta() -> Iterator[None]:
    """Build models on meta without running their (meaningless) weight initialisation.

    >>> with torch.device("meta"), skip_init_on_meta():
    ...     layer = nn.Linear(4096, 4096)
    >>> layer.weight.device.type
    'meta'
    """
    with _SkipInitOnMeta():
        yield


def materialise_lazy(model: nn.Module, tensors: list[torch.Tensor]) -> Optional[str]:
    """Give `nn.Lazy*` layers their sizes by one call on the weights' device; a note, or None.

    The call tolerates failures as propagation does: a failing add goes on with its newer
    operand (the main branch, in `x + f(x)` and `y += x` alike) and any other failing
    operation with its first tensor argument, so that the lazy layers after a bug are
    initialised too and a buggy model gets its findings, not a crash.

    Example:
        >>> materialise_lazy(nn.LazyLinear(2), [torch.empty(3, 4)])
        'lazy layers were initialised by one call on the example input'
        >>> class Bad(nn.Module):
        ...     def __init__(self):
        ...         super().__init__()
        ...         self.a, self.b = nn.LazyLinear(6), nn.LazyLinear(2)
        ...     def forward(self, x):
        ...         return self.b(self.a(x) + x)
        >>> bad = Bad()
        >>> materialise_lazy(bad, [torch.empty(3, 4)]), tuple(bad.b.weight.shape)
        ('lazy layers were initialised by one call on the example input', (2, 6))
    """
    if not has_lazy_modules(model):
        return None
    device = next(iter(model.parameters())).device
    args = [torch.zeros(t.shape, dtype=t.dtype, device=device) for t in tensors]
    try:
        with torch.no_grad(), _TolerantCall(args):
            model(*args)
    except Exception as exc:  # what no stand-in could rescue: tracing still sees what it can
        lines = str(exc).strip().splitlines()
        return f"lazy layers could not all be initialised: {lines[0] if lines else type(exc).__name__}"
    if has_lazy_modules(model):
        return "lazy layers could not all be initialised: some were never called"
    return "lazy layers were initialised by one call on the example input"


_ADD_NAMES = frozenset({"add", "add_", "__add__", "__iadd__", "__radd__"})


class _TolerantCall(TorchFunctionMode):
    """Records the order in which tensors are made; a failing operation returns a stand-in."""

    def __init__(self, inputs: list[torch.Tensor]):
        super().__init__()
        # id -> (the tensor, weakly; when it was made): an id is reused once its tensor dies,
        # so an entry counts only while it still points at the same tensor
        self.order: dict[int, tuple[weakref.ref, int]] = {id(t): (weakref.ref(t), 0)
                                                          for t in inputs}
        self.count = 0

    def made(self, tensor: torch.Tensor) -> int:
        entry = self.order.get(id(tensor))
        return entry[1] if entry is not None and entry[0]() is tensor else -1

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        try:
            value = func(*args, **kwargs)
        except Exception:
            tensors = [a for a in list(args) + list(kwargs.values())
                       if isinstance(a, torch.Tensor)]
            if not tensors:
                raise
            if getattr(func, "__name__", "") in _ADD_NAMES and len(tensors) >= 2:
                value = max(tensors[:2], key=self.made)
            else:
                value = tensors[0]
        if isinstance(value, torch.Tensor) and self.made(value) < 0:  # in place: keeps its age
            self.count += 1
            self.order[id(value)] = (weakref.ref(value), self.count)
        return value
