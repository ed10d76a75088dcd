"""Example inputs as the user writes them: shape text, shapes or tensors, and the ones a
model file declares (`INPUT_SHAPES`, `INPUT_SHAPE`, `example_inputs()`).
"""

from __future__ import annotations

import re
import types
from typing import TYPE_CHECKING, Any, Callable, Optional, Union

import torch

from shapecheck.load.frames import describe_exception, exception_location, format_traceback
from shapecheck.report import Location, Shape, TargetError

if TYPE_CHECKING:
    from shapecheck.load.targets import Definition, LoadedTarget

# What `api.check` accepts as inputs: a list of shapes, or tensors.
Inputs = Union[list[Shape], torch.Tensor, tuple[torch.Tensor, ...]]

_DTYPES = {
    "float": torch.float32, "float32": torch.float32, "f32": torch.float32,
    "half": torch.float16, "float16": torch.float16, "f16": torch.float16,
    "bfloat16": torch.bfloat16, "bf16": torch.bfloat16, "float64": torch.float64,
    "long": torch.long, "int64": torch.long, "int": torch.long, "int32": torch.int32,
    "bool": torch.bool,
}
# "1,3,224,224", "1x3x224x224", "(1, 3, 224, 224)", each optionally followed by ":dtype"
_SHAPE_TEXT = re.compile(r"^\s*[\(\[]?\s*(\d+(?:\s*[,x×]\s*\d+)*)\s*,?\s*[\)\]]?"
                         r"\s*(?::\s*(\w+))?\s*$")




class InputSpecError(ValueError):
    """A shape written in a form shapecheck cannot read."""


# ---------------------------------------------------------------------------- shapes


def parse_shape(text: str) -> Union[Shape, torch.Tensor]:
    """Read `1,3,224,224`, `1x3x224x224` or `(1, 3, 224, 224)`; `1x128:long` gives a tensor.

    Example:
        >>> parse_shape("1x3x224x224")
        (1, 3, 224, 224)
        >>> parse_shape("2,128:long").dtype
        torch.int64
    """
    match = _SHAPE_TEXT.match(text)
    if not match:
        raise InputSpecError(
            f"--input {text!r} is not a shape: write the dimensions as 1,3,224,224 or "
            f"1x3x224x224 (optionally with a dtype, e.g. 1x128:long)")
    dims = tuple(int(d) for d in re.split(r"\s*[,x×]\s*", match.group(1)))
    if any(d <= 0 for d in dims):
        raise InputSpecError(f"--input {text!r} has a dimension that is not positive")
    dtype_name = match.group(2)
    if dtype_name is None:
        return dims
    dtype = _DTYPES.get(dtype_name.lower())
    if dtype is None:
        raise InputSpecError(
            f"--input {text!r}: unknown dtype {dtype_name!r}; use one of "
            f"{', '.join(sorted(_DTYPES))}")
    return example_tensor(dims, dtype)


def example_tensor(shape: Shape, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """A tensor of `shape` and `dtype` on meta: the analysis reads only shape and dtype."""
    return torch.empty(shape, dtype=dtype, device="meta")


def normalize_inputs(value: Any, what: str) -> Inputs:
    """Bring any accepted spelling of example inputs to a list of shapes or tensors.

    Accepts a shape (tuple/list of ints or a string), several shapes, a tensor, or a
    tuple/list of tensors. `what` names the source in error messages.

    Example:
        >>> normalize_inputs((1, 3, 32, 32), "INPUT_SHAPE")
        [(1, 3, 32, 32)]
        >>> normalize_inputs(["1x3x8x8", (1, 10)], "--input")
        [(1, 3, 8, 8), (1, 10)]
    """
    if isinstance(value, torch.Tensor):
        return value
    if isinstance(value, str):
        return _as_list([parse_shape(value)])
    if isinstance(value, torch.Size):
        return [tuple(int(d) for d in value)]
    if isinstance(value, (tuple, list)) and value:
        if all(_is_dim(d) for d in value):
            if any(int(d) <= 0 for d in value):
                raise InputSpecError(f"{what} {tuple(value)} has a dimension that is not positive")
            return [tuple(int(d) for d in value)]
        try:
            items = [normalize_inputs(item, what) for item in value]
        except InputSpecError:
            if any(isinstance(item, str) for item in value):
                raise  # a shape string's own message says what is wrong with it
            raise InputSpecError(_not_inputs_message(what, value)) from None
        flat: list[Any] = []
        for item in items:
            flat.extend([item] if isinstance(item, torch.Tensor) else item)
        return _as_list(flat)
    raise InputSpecError(_not_inputs_message(what, value))


def _not_inputs_message(what: str, value: Any) -> str:
    shown = repr(value)
    shown = shown if len(shown) <= 80 else shown[:79] + "…"
    return (f"{what} must be a shape such as (1, 3, 224, 224), a tuple of shapes, or "
            f"tensors; got {type(value).__name__} {shown}")


def _is_dim(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _as_list(items: list[Any]) -> Inputs:
    """Shapes stay a list of shapes; as soon as one input is a tensor, all become tensors."""
    if any(isinstance(item, torch.Tensor) for item in items):
        return tuple(item if isinstance(item, torch.Tensor) else example_tensor(item)
                     for item in items)
    return [tuple(item) for item in items]


# ---------------------------------------------------------------------------- inputs


def _resolve_declared_inputs(target: LoadedTarget, module: types.ModuleType,
                             definitions: dict[str, Definition],
                             given: Optional[Inputs]) -> None:
    """Fill `target.inputs` from --input or the file; leave None for a default from the model."""
    if given is not None:
        target.inputs, target.input_source = given, "--input"
        return
    per_target = getattr(module, "INPUT_SHAPES", None)
    candidates: list[tuple[str, Callable[[], Any]]] = []
    if isinstance(per_target, dict) and target.attr in per_target:
        candidates.append(("INPUT_SHAPES", lambda: per_target[target.attr]))
    elif hasattr(module, "INPUT_SHAPE"):
        candidates.append(("INPUT_SHAPE", lambda: module.INPUT_SHAPE))
    elif callable(getattr(module, "example_inputs", None)):
        candidates.append(("example_inputs()", module.example_inputs))
    for source, read in candidates:
        declared = definitions.get(source.rstrip("()"))
        where = Location(target.path, declared.line) if declared else None
        try:
            value = read()
        except Exception as exc:  # the user's example_inputs() may raise anything
            target.error = TargetError(
                "input", f"{source} raised {describe_exception(exc)}",
                exception_location(exc, target.path) or where)
            target.traceback = format_traceback(exc)
            return
        try:
            target.inputs = normalize_inputs(value, source)
        except InputSpecError as exc:
            target.error = TargetError("input", str(exc), where)
            return
        target.input_source = source


