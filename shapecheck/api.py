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
from shapecheck.analysis.built_size import find_built_size
from shapecheck.analysis.fix import fix_findings
from shapecheck.analysis.group import group_findings
from shapecheck.analysis.propagate import probe_pass, propagate_shapes
from shapecheck.analysis.size_findings import resolution_findings
from shapecheck.analysis.size_fix import failing_adds, propose_size_fix
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
          sizes: Any = "auto", group: bool = True) -> Report:
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
        sizes: prove the valid input sizes. "auto" (the default) proves H and W over
            [1, inf) within a small time budget and, when the example size works but a
            class of sizes fails at a residual add, adds one SC105 warning (and keeps the
            proof in `report.sizes`); True does the same without a budget and always keeps
            the proof; a range text ("32..2048", "H=32..512,W=64..") or {axis: (lo, hi)}
            also makes every failing class inside the range an SC105 error; None or False
            skips the proof.
        group: merge the findings of one root cause (the instances of a class failing the
            same way, and the layers that receive their wrong width) into one.

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
    lazy_note = materialise_lazy(model, tensors)
    notes += [n for n in [lazy_note] if n]
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

    auto = isinstance(sizes, str) and sizes == "auto"
    ranges = None if auto or sizes is True or sizes is None or sizes is False else (
        parse_ranges(sizes) if isinstance(sizes, str) else sizes)
    budget = AUTO_SIZES_BUDGET if auto else None
    proved = None if sizes is None or sizes is False else clock.time(
        "sizes", _proof, gm, prop, structures, kept, input_shapes, traced.tracer, ranges,
        budget, notes)

    ctx = diagnose.Context(gm, prop, probe_pass(model, traced, tensors, kept, probe),
                           lang or default_language(), wrong_branch)
    findings = clock.time("diagnose", lambda: diagnose.in_graph_order(
        gm, [f for rule in diagnose.RULES for f in rule(ctx, structures)]))
    notes += [n for n in [diagnose.unsupported_note(prop)] if n]

    findings, patched = clock.time("fix", lambda: fix_findings(
        ctx, tensors, kept, structures, findings) if fixes else (findings, None))
    if group:
        findings = clock.time("group", group_findings, findings, gm, model)
    size_findings = [] if not proved or "note" in proved else clock.time(
        "sizes", _size_findings, gm, prop, structures, kept, input_shapes, traced.tracer,
        proved, ranges, budget, ctx.lang, fixes)
    if size_findings:
        findings = diagnose.in_graph_order(gm, findings + size_findings)
    if auto and not size_findings:
        proved = None  # the default proof speaks only when it found something
    bad_input = diagnose.input_error(ctx, findings)
    error = None if bad_input is None else TargetError(
        "input", diagnose.input_message(ctx, bad_input), bad_input.location)
    report = assemble(target=name, model=model, input_shapes=input_shapes,
                      parameters=parameter_count(model), tracer=traced.tracer, gm=gm,
                      structures=structures, prop=prop, findings=findings, notes=notes,
                      timings=clock.done(), error=error, patched=patched)
    report = report if proved is None else dataclasses.replace(report, sizes=proved)
    # a default input whose size fails at a layer built for one resolution: check at that
    # resolution instead (lazy layers are already sized for the default: not then)
    built = None if inputs is not None or lazy_note or report.error else \
        find_built_size(gm, prop, structures, kept, tensors)
    if built is not None:
        again = check(model, built.shape, target=name, tracer=tracer, probe=probe,
                      fixes=fixes, lang=lang, leaf_modules=leaf_modules, sizes=sizes,
                      group=group)
        if again.error is None and len(again.errors) <= len(report.errors):
            return dataclasses.replace(again, notes=[built.note, *again.notes])
    return report


AUTO_SIZES_BUDGET = 0.25  # seconds the default proof may spend looking for the period


def _proof(gm, prop, structures, kept, input_shapes, tracer, ranges, budget, notes):
    """The all-sizes proof; a construct it trips on costs the proof, not the analysis."""
    try:
        return prove_sizes(gm, prop, structures, kept, input_shapes, tracer, ranges, budget)
    except Exception as exc:  # noqa: BLE001 - any failure of the proof is reported, not raised
        notes.append(f"input sizes not proved: the proof failed ({type(exc).__name__}: {exc})")
        return None


def _size_findings(gm, prop, structures, kept, input_shapes, tracer, proved, ranges, budget,
                   lang, fixes: bool):
    """SC105 findings, with the weight-keeping fix proved at every size when one exists."""
    fix = None
    if fixes and failing_adds(proved, {s.add.name for s in structures}):
        try:
            fix = propose_size_fix(gm, prop, structures, kept, input_shapes, tracer, proved,
                                   ranges, budget)
        except Exception:  # noqa: BLE001 - no proved fix is better than no finding
            fix = None
    return resolution_findings(gm, proved, structures, lang, ranges is not None, fix)


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
