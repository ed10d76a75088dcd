"""The input size a model was built for, when no input was given and the default fails.

The default example input takes its spatial size (224) from nowhere: the first layer tells
the channels, not the resolution. A CIFAR ResNet (`avg_pool2d(out, 4)`, a view, then
`Linear(512, 10)`) is correct at 32x32 and fails at its classifier at 224x224, which is not
a bug of the model but of the guess. So when the default input fails, a few common square
sizes are propagated on the same graph; a size is the one the model was built for when
every failure it removes sits at a layer other than a residual add (the classifier after a
flatten, a fixed pooling window, a view with literal sizes) and it adds none; a default
size at which `x.view(-1, 1568)` silently folds the extra positions into the batch (more
output rows than examples) counts as failing too. The fewest failures win, the order of
`CANDIDATE_SIZES` breaks ties. A model that is buggy at every size keeps its residual
findings at the size found, or its default report when no size helps. `api.check` then
checks the model again at that size, and keeps that report only when it has no more errors.

Why not the all-sizes proof (sizes.py): it decides one axis with the others at their
example sizes, and a flatten feeding a Linear ties H and W together (at W = 224 no H
fits a classifier built for 32x32), so the square sizes that matter are not on any one
axis it scans.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

import torch
import torch.fx as fx
import torch.nn as nn
import torch.nn.functional as F

from shapecheck.analysis.propagate import Failure, Propagation, propagate_shapes
from shapecheck.graph.residual import ResidualStructure
from shapecheck.graph.source import layer_path
from shapecheck.load.frames import first_line

# CIFAR first, then MNIST (both fit some classifiers built for the other: 32 is the more
# common), the d2l and ImageNet-like sizes after; 224 is the default itself
CANDIDATE_SIZES = (32, 28, 64, 96, 128, 256, 299)
# failures that depend on the input size and are not a model's bug by themselves
_SIZE_KINDS = ("layer", "op")


@dataclass(frozen=True)
class BuiltSize:
    """A square spatial size at which the model fails less than at the default size."""

    shape: tuple[int, ...]
    default_shape: tuple[int, ...]
    built: str  # what was built for it: "the classifier", a layer, "the model"
    default_outcome: str  # what went wrong at the default size

    @property
    def note(self) -> str:
        """The note the report carries: which size, why, and how to choose another.

        >>> BuiltSize((2, 3, 32, 32), (2, 3, 224, 224), "the classifier",
        ...           "linear fails: it expects 512 input features but receives 25088").note
        ... # doctest: +NORMALIZE_WHITESPACE
        'no input shape given: checked at 32x32, the size the classifier was built for;
         pass --input to choose (at the default 224x224, linear fails: it expects 512
         input features but receives 25088)'
        """
        return (f"no input shape given: checked at {_size_text(self.shape)}, the size "
                f"{self.built} was built for; pass --input to choose (at the default "
                f"{_size_text(self.default_shape)}, {self.default_outcome})")


def find_built_size(gm: fx.GraphModule, prop: Propagation,
                    structures: Sequence[ResidualStructure], kept: dict[str, int],
                    tensors: Sequence[torch.Tensor],
                    sizes: Sequence[int] = CANDIDATE_SIZES) -> Optional[BuiltSize]:
    """The candidate size the model was built for (module docstring), or None.

    Besides failures, a default size that changes the output's batch (`x.view(-1, 1568)`
    folding the extra positions into rows) counts as failing, and a size that keeps it
    as the remedy.

    Example:
        >>> class Cifar(nn.Module):
        ...     def __init__(self):
        ...         super().__init__()
        ...         self.conv = nn.Conv2d(3, 8, 3, padding=1)
        ...         self.linear = nn.Linear(8 * 8 * 8, 10)
        ...     def forward(self, x):
        ...         out = F.avg_pool2d(self.conv(x), 4)
        ...         return self.linear(out.view(out.size(0), -1))
        >>> gm = fx.symbolic_trace(Cifar())
        >>> x = torch.empty(2, 3, 224, 224, device="meta")
        >>> found = find_built_size(gm, propagate_shapes(gm, [x]), [], {}, [x])
        >>> found.shape, found.built
        ((2, 3, 32, 32), 'the classifier')
    """
    if len(tensors) != 1 or tensors[0].dim() not in (3, 4, 5) or \
            not tensors[0].is_floating_point():
        return None
    example = tensors[0]
    batch = example.shape[0]
    default = _failures(prop)
    fixed_size = {n for n in default if prop.failures[n].kind in _SIZE_KINDS}
    lost = _batch_lost(prop, batch)
    if not fixed_size and not lost:
        return None
    adds = {s.add.name for s in structures} | {
        n for n in default if prop.failures[n].kind == "add"}
    best: Optional[tuple[tuple[int, ...], set[str]]] = None
    for size in sizes:
        shape = tuple(example.shape[:2]) + (size,) * (example.dim() - 2)
        if shape == tuple(example.shape):
            continue
        at_size = propagate_shapes(gm, [torch.empty(shape, dtype=example.dtype,
                                                    device="meta")], kept)
        failing = _failures(at_size)
        removed = default - failing
        better = bool(removed & fixed_size) or (lost and not _batch_lost(at_size, batch))
        # a size that hides a residual add's failure, adds a failure or loses the batch
        # is not the answer
        if not better or not failing <= default or removed & adds or \
                _batch_lost(at_size, batch) and not lost:
            continue
        if best is None or len(failing) < len(best[1]):
            best = (shape, failing)
        if not failing & fixed_size:
            break
    if best is None:
        return None
    fixed = [n for n in gm.graph.nodes if n.name in fixed_size - best[1]]
    if not fixed:
        return BuiltSize(best[0], tuple(example.shape), "the model",
                         f"the output has {prop.outputs[0][0]} rows for a batch of {batch}: "
                         f"a view or reshape folds the extra positions into the batch")
    layer = fixed[0]
    name = layer_path(layer) or layer.name
    return BuiltSize(best[0], tuple(example.shape),
                     "the classifier" if _is_classifier(gm, layer) else name,
                     f"{name} fails: {_what_failed(prop.failures[layer.name])}")


def _batch_lost(prop: Propagation, batch: int) -> bool:
    """The first output is a tensor whose leading size is no longer the batch."""
    first = prop.outputs[0] if prop.outputs else None
    return bool(first) and len(first) > 1 and first[0] != batch


def _failures(prop: Propagation) -> set[str]:
    """The nodes that fail (an operation that needs real values is not a failure)."""
    return {name for name, failure in prop.failures.items() if failure.kind != "unsupported"}


def _what_failed(failure: Failure) -> str:
    """A layer's width mismatch in its own terms, else the error's first line."""
    want, got = failure.expectation, failure.operand_shapes[:1]
    if want is None or not got or got[0] is None or len(got[0]) <= want.dim:
        return first_line(failure.message)
    return f"it expects {want.size} input {want.what} but receives {got[0][want.dim]}"


def _is_classifier(gm: fx.GraphModule, node: fx.Node) -> bool:
    if node.op == "call_module":
        return isinstance(gm.get_submodule(str(node.target)), nn.Linear)
    return node.op == "call_function" and node.target is F.linear


def _size_text(shape: tuple[int, ...]) -> str:
    return "x".join(str(d) for d in shape[2:])


__all__ = ["find_built_size", "BuiltSize", "CANDIDATE_SIZES"]
