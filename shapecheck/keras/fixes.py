"""Fixes a Keras user writes, each proven by building again.

- The projection shortcut: `BatchNormalization()(Conv2D(out, 1, strides=s, use_bias=False)(
  shortcut))` (a `Dense` for features), inserted on the shortcut of every failing add by a
  replay of the graph; verified when that add then matches and nothing else fails.
- The call-site edit: where a caller switched the projection off (`conv_shortcut=False`,
  `use_projection=False`, ...), the edit to `True`, verified by running the user's builder
  again on the edited source. Shown as a diff.
"""

from __future__ import annotations

import math
import os
import re
import types
from dataclasses import dataclass
from typing import Any, Callable, Optional

from shapecheck.keras.backend import import_keras
from shapecheck.keras.graph import KerasGraph
from shapecheck.keras.record import Frame, recording
from shapecheck.keras.replay import replay
from shapecheck.keras.residual import KerasResidual
from shapecheck.load.frames import display_path
from shapecheck.report import Finding, Fix, SourceEdit

BN_EPSILON = 1.001e-5  # the seed's BatchNormalization(epsilon=1.001e-5)
# a keyword argument that turns a shortcut projection off
_SWITCH = re.compile(r"\b(\w*(?:shortcut|proj\w*|downsampl\w*)\w*)\s*=\s*False\b")


@dataclass(frozen=True)
class Projection:
    """The shortcut layer(s) that make an add's operands agree."""

    in_channels: int
    out_channels: int
    stride: Any
    rank: int

    @property
    def code(self) -> str:
        if self.rank <= 2:
            return f"shortcut = Dense({self.out_channels}, use_bias=False)(shortcut)"
        strides = "" if self.stride in (1, (1, 1)) else f", strides={self.stride}"
        return (f"shortcut = BatchNormalization()(Conv2D({self.out_channels}, 1{strides}, "
                f"use_bias=False)(shortcut))")

    def layers(self) -> Callable[[Any], Any]:
        keras = import_keras()

        def apply(tensor: Any) -> Any:
            if self.rank <= 2:
                return keras.layers.Dense(self.out_channels, use_bias=False)(tensor)
            conv = {3: keras.layers.Conv1D, 4: keras.layers.Conv2D,
                    5: keras.layers.Conv3D}[self.rank]
            tensor = conv(self.out_channels, 1, strides=self.stride, padding="same",
                          use_bias=False)(tensor)
            return keras.layers.BatchNormalization(epsilon=BN_EPSILON)(tensor)
        return apply


def projection_for(main: tuple, short: tuple) -> Optional[Projection]:
    """The projection from the shortcut's shape to the main branch's, or None.

    >>> projection_for((1, 28, 28, 512), (1, 56, 56, 256))
    Projection(in_channels=256, out_channels=512, stride=2, rank=4)
    """
    if len(main) != len(short) or None in main or None in short:
        return None
    strides = []
    for m, s in zip(main[1:-1], short[1:-1]):
        stride = next((k for k in range(1, s + 1) if math.ceil(s / k) == m), None)
        if stride is None:
            return None  # the shortcut is smaller: no strided 1x1 conv gets there
        strides.append(stride)
    stride: Any = strides[0] if strides and len(set(strides)) == 1 else tuple(strides) or 1
    return Projection(short[-1], main[-1], stride, len(main))


def verify_projections(graph: KerasGraph, input_shapes: list[tuple],
                       pairs: list[tuple[Finding, KerasResidual]]) -> dict[str, Projection]:
    """Replay with every proposed projection inserted; the adds proven fixed, by name.

    An add is proven when its operands then agree and no call fails that did not fail
    before the fix (other findings' calls excepted).
    """
    proposals = {}
    for finding, residual in pairs:
        projection = projection_for(*finding.shapes)
        if projection is not None:
            proposals[residual.add] = (residual, projection)
    if not proposals:
        return {}
    inserts = {add: (1 - r.main_operand, p.layers()) for add, (r, p) in proposals.items()}
    result = replay(graph, input_shapes, inserts)
    unrelated = {f.node for f, _ in pairs} - set(proposals)
    new_failures = set(result.failures) - unrelated
    proven = {}
    for add, (residual, projection) in proposals.items():
        operands = result.operand_shapes.get(add, ())
        if len(operands) == 2 and operands[0] == operands[1] and not new_failures:
            proven[add] = projection
    return proven


def make_fix(projection: Projection, verified: bool, edit: Optional["CallSiteEdit"]) -> Fix:
    """The report's Fix: the projection as Keras code, then the call-site diff when proven."""
    code = projection.code
    edits: tuple[SourceEdit, ...] = ()
    if edit is not None and edit.verified:
        code += "\n" + edit.diff
        # the same edit for JSON's fix.edits and SARIF's fixes; a projection adds parameters
        edits = (SourceEdit(display_path(edit.path), edit.line, edit.line, edit.after + "\n",
                            "unsafe", f"projection switch -> True at "
                                      f"{display_path(edit.path)}:{edit.line}"),)
    return Fix(kind="projection" if projection.rank > 2 else "linear",
               in_channels=projection.in_channels, out_channels=projection.out_channels,
               stride=projection.stride, code=code, verified=verified, edits=edits)


# ---------------------------------------------------------------------------- call-site edits


@dataclass(frozen=True)
class CallSiteEdit:
    """`conv_shortcut=False` -> `True` on one line of the user's file."""

    path: str
    line: int
    before: str
    after: str
    verified: bool = False

    @property
    def diff(self) -> str:
        where = f"{display_path(self.path)}:{self.line}"
        return (f"or at the call site (verified by building again):\n--- {where}\n"
                f"+++ {where}\n-{self.before}\n+{self.after}")


def call_site_edit(frames: tuple[Frame, ...]) -> Optional[CallSiteEdit]:
    """The first caller line (outwards from the add) that passes a projection switch as False.

    >>> import tempfile
    >>> with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as f:
    ...     _ = f.write("x = stack(x, 256, 3, 2, conv_shortcut=False)\\n")
    >>> call_site_edit((Frame(f.name, 1, "build"),)).after
    'x = stack(x, 256, 3, 2, conv_shortcut=True)'
    """
    for frame in frames:
        try:
            with open(frame.path, encoding="utf-8") as handle:
                lines = handle.read().split("\n")
        except OSError:
            continue
        before = lines[frame.line - 1] if frame.line <= len(lines) else ""
        if _SWITCH.search(before):
            after = _SWITCH.sub(lambda m: f"{m.group(1)}=True", before, count=1)
            return CallSiteEdit(frame.path, frame.line, before, after)
    return None


def rebuild_with_edits(path: str, attr: str, edits: list[CallSiteEdit]) -> Any:
    """Run `attr` of the file at `path` again with `edits` applied to its source; the model.

    The edited source is compiled under the file's own name, so the new layers' frames
    point at the same lines.
    """
    keras = import_keras()
    with open(path, encoding="utf-8") as handle:
        lines = handle.read().split("\n")
    for edit in edits:
        lines[edit.line - 1] = edit.after
    module = types.ModuleType("shapecheck_keras_rebuild")
    module.__file__ = os.path.realpath(path)
    code = compile("\n".join(lines), os.path.realpath(path), "exec")
    keras.backend.clear_session()
    with recording(), keras.device("meta"):
        exec(code, module.__dict__)  # noqa: S102 - the user's own file, as shapecheck imports it
        value = module.__dict__[attr]
        return value() if callable(value) and not isinstance(value, keras.Model) else value
