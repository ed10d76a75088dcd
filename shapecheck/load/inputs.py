"""Example inputs: from shapes, tensors, or a default read off the model's first layer."""

from __future__ import annotations

from typing import Any, Optional

import torch
import torch.nn as nn

Shape = tuple[int, ...]

# Two examples, not one: a batch of 1 hides the bugs that mix the batch in (a flatten
# without start_dim, a view(-1), a squeeze()); the user's own shapes are never changed.
DEFAULT_BATCH = 2


class InputError(ValueError):
    """The example inputs cannot be understood (not shapes, not tensors)."""


def default_input_shape(model: nn.Module) -> Optional[tuple[Shape, torch.dtype]]:
    """A plausible input for `model`, read off its first conv, linear or embedding layer,
    with a batch of `DEFAULT_BATCH`.

    >>> default_input_shape(nn.Sequential(nn.Conv2d(3, 8, 3)))
    ((2, 3, 224, 224), torch.float32)
    """
    for module in model.modules():
        if isinstance(module, nn.modules.conv._ConvNd) and not isinstance(
                module, nn.modules.lazy.LazyModuleMixin):
            spatial = (224,) * len(module.kernel_size)
            return (DEFAULT_BATCH, module.in_channels) + spatial, torch.float32
        if isinstance(module, nn.Linear) and not isinstance(module, nn.LazyLinear):
            return (DEFAULT_BATCH, module.in_features), torch.float32
        if isinstance(module, (nn.Embedding, nn.EmbeddingBag)):
            return (DEFAULT_BATCH, 128), torch.long
    return None


def _is_shape(value: Any) -> bool:
    return isinstance(value, (tuple, list, torch.Size)) and len(value) > 0 and all(
        isinstance(d, int) and not isinstance(d, bool) for d in value)


def example_tensors(model: nn.Module, inputs: Any) -> tuple[list[torch.Tensor], list[str]]:
    """Meta tensors for `inputs` (a shape, shapes, a tensor or tensors) and notes to show.

    >>> tensors, notes = example_tensors(nn.Linear(4, 2), (3, 4))
    >>> [tuple(t.shape) for t in tensors], notes
    ([(3, 4)], [])
    """
    tensors, notes = _example_tensors(model, inputs)
    check_arity(model, len(tensors))
    return tensors, notes


def check_arity(model: nn.Module, given: int) -> None:
    """Raise InputError when `forward` needs more inputs than `given`, naming its signature.

    >>> class Fusion(nn.Module):
    ...     def forward(self, rgb, depth):
    ...         return rgb + depth
    >>> try:
    ...     check_arity(Fusion(), 1)
    ... except InputError as exc:
    ...     print(str(exc)[:58])
    Fusion.forward(rgb, depth) takes 2 inputs, but 1 was given
    """
    import inspect

    try:
        signature = inspect.signature(model.forward)
    except (TypeError, ValueError):
        return
    parameters = list(signature.parameters.values())
    positional = [p for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    required = [p for p in positional if p.default is p.empty]
    if len(required) <= given or any(p.kind == p.VAR_POSITIONAL for p in parameters):
        return
    names = ", ".join(p.name for p in positional)
    where = ""
    try:
        function = inspect.unwrap(type(model).forward)
        code = function.__code__
        from shapecheck.load.frames import display_path
        where = f" ({display_path(code.co_filename)}:{code.co_firstlineno})"
    except AttributeError:
        pass
    flags = " ".join(f"--input SHAPE_OF_{p.name.upper()}" for p in required)
    raise InputError(
        f"{type(model).__name__}.forward({names}) takes {len(required)} inputs, but "
        f"{given} {'was' if given == 1 else 'were'} given{where}; give one shape per input: "
        f"{flags} on the command line, or INPUT_SHAPE = (shape, shape, ...) in the file")


def _example_tensors(model: nn.Module, inputs: Any) -> tuple[list[torch.Tensor], list[str]]:
    notes: list[str] = []
    if inputs is None:
        guess = default_input_shape(model)
        if guess is None:
            raise InputError("no example input was given and none could be inferred from the "
                             "model's layers; pass an input shape such as (2, 3, 224, 224)")
        shape, dtype = guess
        notes.append(f"no input shape given: assumed {tuple(shape)} from the first layer")
        return [torch.empty(shape, dtype=dtype, device="meta")], notes
    if isinstance(inputs, torch.Tensor):
        return [_meta_like(inputs)], notes
    if _is_shape(inputs):
        return [torch.empty(tuple(inputs), device="meta")], notes
    if isinstance(inputs, (list, tuple)) and inputs:
        tensors = []
        for item in inputs:
            if isinstance(item, torch.Tensor):
                tensors.append(_meta_like(item))
            elif _is_shape(item):
                tensors.append(torch.empty(tuple(item), device="meta"))
            else:
                raise InputError(f"an example input must be a shape or a tensor, not {item!r}")
        return tensors, notes
    raise InputError(f"example inputs must be a shape such as (1, 3, 224, 224), a list of "
                     f"shapes, or tensors; got {inputs!r}")


def _meta_like(tensor: torch.Tensor) -> torch.Tensor:
    return torch.empty(tensor.shape, dtype=tensor.dtype, device="meta")
