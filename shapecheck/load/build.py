"""Building a user's model cheaply: on the meta device first, with real weights only when asked.

Shape analysis never needs weight values, so the model is built without allocating or
initialising them. Three attempts, cheapest first:

1. under `with torch.device("meta")`: every tensor created in `__init__` lands on meta;
2. "empty init": tensors are created normally, but each parameter and buffer is moved to
   meta the moment it is registered. This rescues constructors that read tensor values
   (`.tolist()`, `.item()`, as torchvision's RegNets do) and still skips weight init;
3. a normal CPU build. If this one fails too, its exception (the user's) is raised.
"""

from __future__ import annotations

import contextlib
import threading
from typing import Any, Callable, Iterator, Union

import torch
from torch import nn

from shapecheck.ops.meta import skip_init_on_meta

Factory = Union[Callable[[], Any], nn.Module]

# register_parameter/register_buffer are patched process-wide; one build at a time.
_PATCH_LOCK = threading.Lock()


class NotAModuleError(TypeError):
    """The factory returned something that is not an `nn.Module`."""


def build_model(factory: Factory, *, device: str = "meta") -> nn.Module:
    """Call `factory()` and return the model on `device`, as cheaply as the model allows.

    Args:
        factory: an `nn.Module` subclass or function callable with no arguments, or an
            already-built `nn.Module` (returned as is on meta, moved for a real device).
        device: "meta" for analysis (no weights allocated), or "cpu"/"cuda"/"cuda:1" for a
            real run with initialised weights.

    Returns:
        The model. `model.shapecheck_build` (a str) says how it was built: "meta",
        "empty-init", "cpu" or "instance" (meta only).

    Raises:
        Exception: whatever the user's constructor raises in a normal build.
        NotAModuleError: the factory returned something else than an `nn.Module`.

    Example:
        >>> model = build_model(lambda: nn.Linear(4096, 4096))
        >>> model.weight.device.type, model.shapecheck_build
        ('meta', 'meta')
    """
    if isinstance(factory, nn.Module):
        if device == "meta":
            return factory
        return factory.to(device)
    if device != "meta":
        model = _checked(factory(), factory)
        return model.to(device)
    for how, attempt in (("meta", _build_on_meta), ("empty-init", _build_empty_init)):
        try:
            model = _checked(attempt(factory), factory)
        except NotAModuleError:
            raise
        except Exception:  # the cheap builds may fail where a normal one works: go on
            continue
        _mark(model, how)
        return model
    model = _checked(factory(), factory)
    _mark(model, "cpu")
    return model


def _build_on_meta(factory: Callable[[], Any]) -> Any:
    with torch.device("meta"), skip_init_on_meta():
        return factory()


def _build_empty_init(factory: Callable[[], Any]) -> Any:
    with _PATCH_LOCK, _parameters_to_meta():
        return factory()


@contextlib.contextmanager
def _parameters_to_meta() -> Iterator[None]:
    """Move every parameter and buffer to meta as soon as a module registers it."""
    register_parameter = nn.Module.register_parameter
    register_buffer = nn.Module.register_buffer

    def parameter_on_meta(module: nn.Module, name: str, param: Any) -> None:
        register_parameter(module, name, param)
        param = module._parameters.get(name)
        # lazy modules' uninitialised parameters have no storage to move
        if param is not None and not isinstance(param, nn.parameter.UninitializedParameter):
            kwargs = dict(param.__dict__)
            kwargs["requires_grad"] = param.requires_grad
            module._parameters[name] = type(param)(param.to("meta"), **kwargs)

    def buffer_on_meta(module: nn.Module, name: str, tensor: Any, persistent: bool = True) -> None:
        register_buffer(module, name, tensor, persistent=persistent)
        buffer = module._buffers.get(name)
        if buffer is not None and not isinstance(buffer, nn.parameter.UninitializedBuffer):
            module._buffers[name] = buffer.to("meta")

    nn.Module.register_parameter = parameter_on_meta  # type: ignore[method-assign]
    nn.Module.register_buffer = buffer_on_meta  # type: ignore[method-assign]
    try:
        yield
    finally:
        nn.Module.register_parameter = register_parameter  # type: ignore[method-assign]
        nn.Module.register_buffer = register_buffer  # type: ignore[method-assign]


def _checked(model: Any, factory: Any) -> nn.Module:
    if not isinstance(model, nn.Module):
        name = getattr(factory, "__qualname__", repr(factory))
        raise NotAModuleError(
            f"{name}() returned {type(model).__name__}, not an nn.Module")
    return model


def _mark(model: nn.Module, how: str) -> None:
    # A plain attribute, not a submodule or buffer: invisible to tracing and state_dict.
    try:
        object.__setattr__(model, "shapecheck_build", how)
    except Exception:  # a module with __slots__ or a frozen __setattr__: not worth failing
        pass
