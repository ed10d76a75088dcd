"""Recording while a Keras model is built: each call's user frames, and merges that fail.

Inside `recording()`, every symbolic layer or op call stores the user's frames (innermost
first) on the Keras `Node` it creates, and a merge whose inputs disagree (`Add`,
`Subtract`, `Multiply`, `Concatenate`, the `+`/`-`/`*` ops) stores a `MergeFailure`
instead of raising; its output gets the main branch's shape (the operand built by more
layers), so building goes on and every mismatch is found in one pass. Outside the context
Keras behaves as usual.
"""

from __future__ import annotations

import contextlib
import functools
import os
import sys
import threading
from dataclasses import dataclass
from typing import Any, Iterator, Optional

from shapecheck.keras.backend import import_keras
from shapecheck.load.frames import is_user_file

FRAMES = "_shapecheck_frames"
FAILURE = "_shapecheck_failure"
UNKNOWN = "_shapecheck_unknown"


@dataclass(frozen=True)
class Frame:
    """One user frame of a layer call: file, line and the function it is in."""

    path: str
    line: int
    function: str


@dataclass(frozen=True)
class MergeFailure:
    """What Keras would have raised at a merge, and which operand building continued with."""

    message: str
    shapes: tuple[Any, ...]
    kept: int


_lock = threading.Lock()
_depth = 0
_originals: dict[tuple[type, str], Any] = {}


@functools.lru_cache(maxsize=4096)
def _user_path(path: str) -> bool:
    own = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    return is_user_file(path) and not os.path.abspath(path).startswith(own + os.sep)


def is_user_path(path: str) -> bool:
    """True for a file of the user's (not the standard library, a package or shapecheck).

    >>> is_user_path(os.__file__)
    False
    """
    return _user_path(path)


def user_frames(skip: int = 2) -> tuple[Frame, ...]:
    """The calling user frames, innermost first (the standard library, packages and
    shapecheck left out)."""
    frames = []
    frame = sys._getframe(skip)
    while frame is not None:
        if _user_path(frame.f_code.co_filename):
            frames.append(Frame(frame.f_code.co_filename, frame.f_lineno, frame.f_code.co_name))
        frame = frame.f_back
    return tuple(frames)


@contextlib.contextmanager
def recording() -> Iterator[None]:
    """Record frames and merge failures while the body builds Keras models (re-entrant).

    Example:
        >>> from shapecheck.keras.backend import keras_available
        >>> if keras_available():  # doctest: +SKIP
        ...     import keras
        ...     with recording():
        ...         x = keras.Input((8, 8, 4))
        ...         y = keras.layers.Add()([keras.layers.Conv2D(6, 1)(x), x])
        ...     print(y.shape, failure_of(node_of(y)).shapes)
        (None, 8, 8, 6) ((None, 8, 8, 6), (None, 8, 8, 4))
    """
    global _depth
    keras = import_keras()
    with _lock:
        if _depth == 0:
            _install(keras)
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0:
                for (owner, name), original in _originals.items():
                    setattr(owner, name, original)
                _originals.clear()


def node_of(tensor: Any) -> Optional[Any]:
    """The Keras `Node` that produced a symbolic tensor (None for a bare tensor)."""
    history = getattr(tensor, "_keras_history", None)
    if history is None:
        return None
    nodes = history.operation._inbound_nodes
    return nodes[history.node_index] if history.node_index < len(nodes) else None


def frames_of(node: Any) -> tuple[Frame, ...]:
    """The user frames recorded for a node (empty when it was built outside `recording`)."""
    return getattr(node, FRAMES, ())


def failure_of(node: Any) -> Optional[MergeFailure]:
    """The merge failure recorded for a node, if Keras would have raised there."""
    return getattr(node, FAILURE, None)


def unknown_of(node: Any) -> Optional[str]:
    """Why Keras could not infer the node's output shape (a `Lambda`), if it could not:
    building went on with the input's shape."""
    return getattr(node, UNKNOWN, None)


# ---------------------------------------------------------------------------- patches


def _patch(owner: type, name: str, replacement: Any) -> None:
    _originals.setdefault((owner, name), owner.__dict__[name])
    setattr(owner, name, replacement)


def _install(keras: Any) -> None:
    from keras.src.layers.merging.base_merge import Merge
    from keras.src.layers.merging.concatenate import Concatenate
    from keras.src.ops import numpy as knp
    from keras.src.ops.operation import Operation

    from keras.src.layers.core.lambda_layer import Lambda
    from keras.src.layers.layer import Layer

    merge_spec = Merge.__dict__["compute_output_spec"]

    def recorded(call):
        # a Layer makes its Node at the end of Layer.__call__, an op in Operation.__call__:
        # both are wrapped, and whichever sees the Node first labels it
        def recorded_call(self, *args, **kwargs):
            frames = user_frames()
            outputs = call(self, *args, **kwargs)
            first = next(iter(keras.tree.flatten(outputs)), None)
            node = node_of(first)
            if node is not None and not hasattr(node, FRAMES):
                setattr(node, FRAMES, frames)
                pending = self.__dict__.pop("_shapecheck_pending", None)
                if pending is not None:
                    setattr(node, FAILURE, pending)
                unknown = self.__dict__.pop("_shapecheck_unknown", None)
                if unknown is not None:
                    setattr(node, UNKNOWN, unknown)
            return outputs
        return recorded_call

    def tolerant_build(original):
        def build(self, input_shape):
            try:
                original(self, input_shape)
            except ValueError as exc:  # recorded; the output spec keeps the main branch
                self._reshape_required = False
                shapes = tuple(tuple(s) for s in input_shape)
                self.__dict__["_shapecheck_pending"] = MergeFailure(_one_line(exc), shapes, 0)
        return build

    def merge_output_spec(self, inputs):
        try:
            return merge_spec(self, inputs)
        except ValueError as exc:
            kept = main_operand(inputs)
            shape = _continued_shape(self, inputs, kept)
            self.__dict__["_shapecheck_pending"] = MergeFailure(
                _one_line(exc), tuple(tuple(x.shape) for x in inputs), kept)
            return keras.KerasTensor(shape, dtype=self.compute_dtype)

    def op_output_spec(original):
        def spec(self, x1, x2):
            try:
                return original(self, x1, x2)
            except ValueError as exc:
                inputs = (x1, x2)
                kept = main_operand(inputs)
                self.__dict__["_shapecheck_pending"] = MergeFailure(
                    _one_line(exc), tuple(tuple(x.shape) for x in inputs), kept)
                return keras.KerasTensor(inputs[kept].shape, dtype=inputs[kept].dtype)
        return spec

    def lambda_output_shape(original):
        # Keras raises when it cannot run a Lambda's function symbolically: the shape is
        # then taken to be the input's, and a note says so
        def compute_output_shape(self, input_shape):
            try:
                return original(self, input_shape)
            except NotImplementedError as exc:
                cause = exc.__context__
                self.__dict__["_shapecheck_unknown"] = _one_line(cause or exc)
                return input_shape
        return compute_output_shape

    _patch(Lambda, "compute_output_shape",
           lambda_output_shape(Lambda.__dict__["compute_output_shape"]))
    _patch(Operation, "__call__", recorded(Operation.__dict__["__call__"]))
    _patch(Layer, "__call__", recorded(Layer.__dict__["__call__"]))
    _patch(Merge, "build", tolerant_build(Merge.__dict__["build"]))
    _patch(Concatenate, "build", tolerant_build(Concatenate.__dict__["build"]))
    _patch(Merge, "compute_output_spec", merge_output_spec)
    for op in (knp.Add, knp.Subtract, knp.Multiply):
        _patch(op, "compute_output_spec", op_output_spec(op.__dict__["compute_output_spec"]))


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())


def _continued_shape(layer: Any, inputs: Any, kept: int) -> tuple:
    shape = list(inputs[kept].shape)
    axis = getattr(layer, "axis", None)
    if type(layer).__name__ == "Concatenate" and axis is not None:
        sizes = [x.shape[axis] for x in inputs]
        shape[axis] = None if None in sizes else sum(sizes)
    return tuple(shape)


def main_operand(inputs: Any) -> int:
    """Index of the operand built by more layers since the tensors the operands share
    (the main branch; the shortcut does less work). Ties go to the first operand."""
    reach = [_ancestors(x) for x in inputs]
    shared = set.intersection(*reach) if reach else set()
    work = [len(r - shared) for r in reach]
    return max(range(len(work)), key=lambda i: (work[i], -i)) if work else 0


def _ancestors(tensor: Any) -> set[int]:
    seen: set[int] = set()
    stack = [node_of(tensor)]
    while stack:
        node = stack.pop()
        if node is None or id(node) in seen:
            continue
        seen.add(id(node))
        stack += [node_of(t) for t in node.input_tensors]
    return seen
