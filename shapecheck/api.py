"""`check()`: the static pipeline, from a built model to its Report.

load (before this) > trace > residual structure > propagate > diagnose > fix > assemble.
Residual structure comes before propagation: it needs no shapes, and it tells
propagation which operand of a failing add to continue with. Nothing here runs the
model for real; `--confirm` (confirm/) does that afterwards, on the finished Report.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any, Optional

import torch.nn as nn

from shapecheck.analysis import diagnose, intent
from shapecheck.analysis.assemble import assemble
from shapecheck.analysis.fix import fix_findings
from shapecheck.analysis.propagate import probe_pass, propagate_shapes
from shapecheck.analysis.sizes import parse_ranges, prove_sizes
from shapecheck.graph.residual import find_residual_adds
from shapecheck.graph.source import error_location
from shapecheck.graph.trace import TraceError, trace_model
from shapecheck.load.frames import display_path
from shapecheck.load.inputs import InputError, example_tensors
from shapecheck.messages import default_language
from shapecheck.ops.counts import parameter_count
from shapecheck.ops.meta import materialise_lazy
from shapecheck.report import Report, TargetError


def check(model: nn.Module, inputs: Any = None, *, target: Optional[str] = None,
          tracer: str = "auto", probe: bool = True, fixes: bool = True,
          lang: Optional[str] = None, leaf_modules: tuple[type, ...] = (),
          sizes: Any = None) -> Report:
    """Analyse `model` for example `inputs` without running it; return its Report.

    Args:
        model: any `nn.Module`, on any device (meta is cheapest); it is not modified.
        inputs: a shape such as (1, 3, 224, 224), a list of shapes, a tensor or tensors;
            None infers one from the first layer (and says so in `report.notes`).
        target: the name to report the model under (default: its class name).
        tracer: "auto" (fx, then fx with timm's leaves, then recording), "fx" or "record".
        probe: settle one-sided spatial broadcasts by a second pass at twice the size.
        fixes: propose projection fixes and verify them on the patched graph.
        lang: "en" or "zh" for messages (default from SHAPECHECK_LANG / the locale).
        leaf_modules: extra module types to keep whole while tracing.
        sizes: prove the valid input sizes (`report.sizes`): True for H and W over
            [1, inf), a range text ("32..2048", "H=32..512,W=64.."), or {axis: (lo, hi)};
            None skips the proof.

    Example:
        >>> import torch.nn as nn
        >>> class Bad(nn.Module):
        ...     def __init__(self):
        ...         super().__init__()
        ...         self.conv = nn.Conv2d(64, 128, 3, stride=2, padding=1)
        ...     def forward(self, x):
        ...         return self.conv(x) + x
        >>> report = check(Bad(), (1, 64, 56, 56))
        >>> [(f.kind, f.shapes, f.fix.code) for f in report.findings]  # doctest: +NORMALIZE_WHITESPACE
        [('channel_mismatch', ((1, 128, 28, 28), (1, 64, 56, 56)),
          'nn.Sequential(nn.Conv2d(64, 128, kernel_size=1, stride=2, bias=False), nn.BatchNorm2d(128))')]
    """
    clock = _Clock()
    name = target or type(model).__name__
    try:
        tensors, notes = example_tensors(model, inputs)
    except InputError as exc:
        return Report(target=name, model=model, error=TargetError("input", str(exc)))
    notes += [n for n in [materialise_lazy(model, tensors)] if n]
    input_shapes = [tuple(t.shape) for t in tensors]
    try:
        traced = clock.time("trace", trace_model, model, tensors, tracer, leaf_modules)
    except TraceError as exc:
        return Report(target=name, model=model, input_shapes=input_shapes, notes=notes,
                      parameters=parameter_count(model), timings=clock.done(),
                      error=TargetError("trace", str(exc), error_location(exc)))
    gm, notes = traced.graph_module, notes + traced.notes

    structures = clock.time("residual", find_residual_adds, gm)
    prop = clock.time("propagate", propagate_shapes, gm, tensors,
                      intent.kept_operands(structures, {}))
    # where the layers after a failed add want the shortcut's width, propagation goes on
    # with the shortcut instead, so that nothing after it fails in consequence
    wrong_branch = clock.time("propagate", intent.choose_sides, gm, structures, prop)
    kept = intent.kept_operands(structures, wrong_branch)
    if wrong_branch:
        prop = clock.time("propagate", propagate_shapes, gm, tensors, kept)

    proved = None if sizes is None or sizes is False else clock.time(
        "sizes", prove_sizes, gm, prop, structures, kept, input_shapes, traced.tracer,
        None if sizes is True else parse_ranges(sizes) if isinstance(sizes, str) else sizes)

    ctx = diagnose.Context(gm, prop, probe_pass(model, traced, tensors, kept, probe),
                           lang or default_language(), wrong_branch)
    findings = clock.time("diagnose", lambda: diagnose.in_graph_order(
        gm, [f for rule in diagnose.RULES for f in rule(ctx, structures)]))
    notes += [n for n in [diagnose.unsupported_note(prop)] if n]

    findings, patched = clock.time("fix", lambda: fix_findings(
        ctx, tensors, kept, structures, findings) if fixes else (findings, None))
    bad_input = diagnose.input_error(ctx, findings)
    error = None if bad_input is None else TargetError(
        "input", diagnose.input_message(ctx, bad_input), bad_input.location)
    report = assemble(target=name, model=model, input_shapes=input_shapes,
                      parameters=parameter_count(model), tracer=traced.tracer, gm=gm,
                      structures=structures, prop=prop, findings=findings, notes=notes,
                      timings=clock.done(), error=error, patched=patched)
    return report if proved is None else dataclasses.replace(report, sizes=proved)


class _Clock:
    """Seconds per stage (a stage timed twice adds up), and the total."""

    def __init__(self) -> None:
        self.start = time.perf_counter()
        self.timings: dict[str, float] = {}

    def time(self, stage: str, function, *args):
        began = time.perf_counter()
        try:
            return function(*args)
        finally:
            self.timings[stage] = self.timings.get(stage, 0.0) + time.perf_counter() - began

    def done(self) -> dict[str, float]:
        return {**self.timings, "total": time.perf_counter() - self.start}


__all__ = ["check", "display_path"]
