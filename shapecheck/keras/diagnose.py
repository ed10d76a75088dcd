"""Findings on a Keras graph: residual adds whose operands disagree, merges that fail.

Shapes are channels-last (N, H, W, C; N, F for features). The wording and codes are the
PyTorch path's (messages.py, codes.py); the causes name Keras layers and their settings,
e.g. "conv2d_35 has strides=2 (56x56 -> 28x28)", "conv2d_52 gives 512 channels".
"""

from __future__ import annotations

import linecache
from dataclasses import dataclass
from typing import Optional

from shapecheck.codes import (BROADCAST, CHANNEL_MISMATCH, OP_FAILURE, SPATIAL_MISMATCH,
                              SUSPICIOUS_BROADCAST, code_for)
from shapecheck.keras.graph import KerasGraph, LayerCall
from shapecheck.keras.record import Frame
from shapecheck.keras.residual import KerasResidual
from shapecheck.load.frames import display_path
from shapecheck.messages import text
from shapecheck.report import Finding, Location


@dataclass(frozen=True)
class Shapes:
    """One propagation: output shapes and operand shapes per call, and calls that failed."""

    outputs: dict[str, Optional[tuple]]
    operands: dict[str, tuple]
    failures: dict[str, str]
    input_shapes: tuple[tuple, ...]
    probed: bool = False  # a size other than the example's, for unknown dims


def location(frames: tuple[Frame, ...]) -> Optional[Location]:
    """The innermost user frame as a Location with its source line's text."""
    if not frames:
        return None
    frame = frames[0]
    code = linecache.getline(frame.path, frame.line).strip() or None
    return Location(display_path(frame.path), frame.line, frame.function, code)


def call_site(frames: tuple[Frame, ...]) -> str:
    """Where the function that made the call was called: "block() at buggy.py:62"."""
    steps = [f"{inner.function}() called at {display_path(outer.path)}:{outer.line}"
             for inner, outer in zip(frames, frames[1:])]
    return ", ".join(steps[:1] + [f"in {s}" for s in steps[1:]])


def spatial(shape: tuple) -> str:
    return "x".join(str(d) for d in shape[1:-1]) if len(shape) > 2 else ""


def add_findings(graph: KerasGraph, residuals: list[KerasResidual], shapes: Shapes,
                 lang: str) -> list[tuple[Finding, KerasResidual]]:
    """One finding per residual add whose operand shapes differ (main, shortcut order)."""
    found = []
    for residual in residuals:
        operands = shapes.operands.get(residual.add)
        if not operands or len(operands) != 2:
            continue
        main, short = operands[residual.main_operand], operands[1 - residual.main_operand]
        if tuple(main) == tuple(short):
            continue
        finding = _add_finding(graph, residual, tuple(main), tuple(short), shapes, lang)
        if finding is not None:
            found.append((finding, residual))
    return found


def _add_finding(graph: KerasGraph, r: KerasResidual, main: tuple, short: tuple,
                 shapes: Shapes, lang: str) -> Optional[Finding]:
    call = graph[r.add]
    unit = "channels" if len(main) > 2 else "features"
    values = dict(module=_module_text(call), unit=text(f"unit.{unit}", lang),
                  main_channels=main[-1], shortcut_channels=short[-1],
                  main_size=spatial(main), shortcut_size=spatial(short),
                  kind=text(f"kind.{r.shortcut}", lang))
    if len(main) != len(short):
        return _op_finding(call, f"operands of rank {len(main)} and {len(short)}", shapes, lang)
    if main[-1] != short[-1]:
        if 1 in (main[-1], short[-1]):
            kind, key = BROADCAST, "add.broadcast"
            side = "main" if main[-1] == 1 else "shortcut"
            values.update(side=text(f"side.{side}", lang), unit_one=text(f"unit.{unit[:-1]}", lang),
                          other=text(f"side.{'shortcut' if side == 'main' else 'main'}", lang),
                          n=max(main[-1], short[-1]), main_shape=_shape(main),
                          shortcut_shape=_shape(short))
        else:
            kind, key = CHANNEL_MISMATCH, "add.channel" if len(main) > 2 else "add.channel_flat"
    else:
        broadcasts = any(1 in (a, b) and a != b for a, b in zip(main[1:-1], short[1:-1]))
        kind, key = (SUSPICIOUS_BROADCAST, "add.suspicious") if broadcasts else (
            SPATIAL_MISMATCH, "add.spatial")
        values.update(side=text("side.shortcut" if 1 in short[1:-1] else "side.main", lang),
                      small=_shape(short if 1 in short[1:-1] else main),
                      big=_shape(main if 1 in short[1:-1] else short))
    code = code_for(kind)
    message = text(key, lang, **values)
    if shapes.probed and shapes.input_shapes:
        message += f" (at input {_shape(shapes.input_shapes[0])})"
    return Finding(code=code.code, kind=kind, severity=code.severity, message=message,
                   module=call.name, location=location(call.frames), shapes=(main, short),
                   node=call.name, causes=causes(graph, r, main, short, shapes, lang))


def op_findings(graph: KerasGraph, shapes: Shapes, residual_adds: set[str],
                lang: str) -> list[Finding]:
    """SC202 for every failing call that is not a residual add (a Concatenate on the wrong
    axis, a Multiply of unrelated shapes, a layer built for other shapes)."""
    return [_op_finding(graph[name], message, shapes, lang)
            for name, message in shapes.failures.items() if name not in residual_adds]


def _op_finding(call: LayerCall, message: str, shapes: Shapes, lang: str) -> Finding:
    code = code_for(OP_FAILURE)
    operands = shapes.operands.get(call.name, ())
    return Finding(code=code.code, kind=OP_FAILURE, severity=code.severity,
                   message=text("op", lang, op=call.kind, module=_module_text(call),
                                error=message),
                   module=call.name, location=location(call.frames),
                   shapes=tuple(tuple(s) for s in operands), node=call.name)


def _module_text(call: LayerCall) -> str:
    site = call_site(call.frames)
    return f"{call.name} ({site})" if site else call.name


def _shape(shape: tuple) -> str:
    return "x".join("?" if d is None else str(d) for d in shape)


def causes(graph: KerasGraph, r: KerasResidual, main: tuple, short: tuple, shapes: Shapes,
           lang: str) -> tuple[str, ...]:
    """Which main-branch layers changed the size and the width, and what the shortcut keeps.

    Parallel layers doing the same thing (ResNeXt's 32 grouped convs) are named once, as a
    range: "conv2d_20..conv2d_51 (32 Conv2D) have strides=2 (56x56 -> 28x28)".
    """
    found: list[str] = []
    runs: list[tuple[str, str, list[str]]] = []  # (kind, change, names)
    for name in r.main_branch:
        call = graph[name]
        source = shapes.outputs.get(call.inputs[0]) if call.inputs else None
        out = shapes.outputs.get(name)
        if not source or not out or len(source) != len(out) or len(out) < 3:
            continue
        if spatial(source) != spatial(out):
            change = f"{spatial(source)} -> {spatial(out)}"
            if runs and runs[-1][0] == call.kind and runs[-1][1] == change:
                runs[-1][2].append(name)
            else:
                runs.append((call.kind, change, [name]))
    for kind, change, names in runs:
        strides = graph[names[0]].settings.get("strides")
        what = f"has strides={_setting(strides)}" if strides not in (None, 1, (1, 1)) else "resizes"
        if len(names) > 1:
            subject = f"{names[0]}..{names[-1]} ({len(names)} {kind})"
            what = what.replace("has ", "have ").replace("resizes", "resize")
        else:
            subject = names[0]
        found.append(f"{subject} {what} ({change})")
    setter = _width_setter(graph, r, main, shapes)
    if setter is not None:
        found.append(f"{setter[0]} gives {main[-1]} {'channels' if len(main) > 2 else 'features'}"
                     f" (from {setter[1]})")
    unit = text("unit.channels" if len(short) > 2 else "unit.features", lang)
    key = "cause.identity" if r.shortcut == "identity" else "cause.shortcut_keeps"
    found.append(text(key, lang, c=short[-1], unit=unit, s=spatial(short) or "-"))
    return tuple(found)


def _width_setter(graph: KerasGraph, r: KerasResidual, main: tuple,
                  shapes: Shapes) -> Optional[tuple[str, int]]:
    for name in reversed(r.main_branch):
        call = graph[name]
        source = shapes.outputs.get(call.inputs[0]) if call.inputs else None
        out = shapes.outputs.get(name)
        if source and out and source[-1] != out[-1] and out[-1] == main[-1]:
            return name, source[-1]
    return None


def _setting(value) -> str:
    if isinstance(value, tuple) and len(set(value)) == 1:
        return str(value[0])
    return str(value)
