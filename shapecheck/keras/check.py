"""`check_keras()`: a Keras model, or the function that builds one, to its Report.

build under `recording` (meta weights) > read the graph > shapes at the example size >
residual adds > findings > unknown sizes probed > fixes proven by rebuilding > Report.
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any, Optional, Sequence

from shapecheck.keras.assemble import assemble
from shapecheck.keras.backend import import_keras
from shapecheck.keras.diagnose import Shapes, add_findings, location, op_findings
from shapecheck.keras.fixes import (call_site_edit, make_fix, rebuild_with_edits,
                                    verify_projections)
from shapecheck.keras.graph import KerasGraph, read_graph
from shapecheck.keras.record import recording
from shapecheck.keras.replay import replay
from shapecheck.keras.residual import find_residuals
from shapecheck.messages import default_language
from shapecheck.report import Finding, Report

DEFAULT_SIZE = 224  # for a spatial dim Keras leaves unknown (None)
PROBE_SIZES = (32, 33, 64, 65, 97)  # odd sizes catch floor/ceil disagreements


def build_model(builder: Any) -> Any:
    """Call a no-argument builder under `recording`, weights on meta, fresh layer names."""
    keras = import_keras()
    keras.backend.clear_session()  # names (conv2d, add_3, ...) the same on every build
    with recording(), keras.device("meta"):
        return builder()


def check_keras(model: Any, inputs: Any = None, *, target: Optional[str] = None,
                lang: Optional[str] = None, fixes: bool = True, probe: bool = True,
                source: Optional[tuple[str, str]] = None, sizes: Any = None) -> Report:
    """Analyse a Keras model, or a no-argument function that builds one; return its Report.

    Args:
        model: a `keras.Model` (functional or Sequential) or a builder function. A builder
            runs under recording, so every mismatched merge is found, not only the first.
        inputs: a channels-last shape such as (224, 224, 3) or (1, 224, 224, 3), or one per
            model input; it replaces the model's unknown dims. Default: the model's own
            input shapes, batch 1, unknown sizes 224 (then also probed at other sizes).
        target: the name to report the model under.
        lang: "en" or "zh" for messages.
        fixes: propose projection fixes and prove them by rebuilding.
        probe: check unknown spatial sizes at several sizes.
        source: (path, name) of the builder in the user's file, to prove call-site edits by
            running it again on the edited source.
        sizes: prove the valid input sizes (`report.sizes`, see `keras.sizes`): True for
            every size, a range text ("32..512") or {axis: (lo, hi)}, False never; None
            or "auto" (default) proves them when the input has unknown spatial sizes.

    Example:
        >>> import keras  # doctest: +SKIP
        >>> def build():  # doctest: +SKIP
        ...     x = keras.Input((56, 56, 256))
        ...     y = keras.layers.Conv2D(512, 1, strides=2)(x)
        ...     return keras.Model(x, keras.layers.Add()([y, x]))
        >>> [(f.code, f.shapes) for f in check_keras(build).findings]  # doctest: +SKIP
        [('SC101', ((1, 28, 28, 512), (1, 56, 56, 256)))]
    """
    keras = import_keras()
    clock = time.perf_counter()
    lang = lang or default_language()
    builder = None if isinstance(model, keras.Model) else model
    if builder is not None:
        model = build_model(builder)
    if not isinstance(model, keras.Model):
        raise TypeError(f"expected a keras.Model or a function returning one, got "
                        f"{type(model).__name__}")
    graph = read_graph(_built(model, inputs))
    declared = [graph[name].shape for name in graph.inputs]
    shapes_at, notes = _example_shapes(declared, inputs)
    notes += _unknown_shape_notes(graph)
    built = time.perf_counter()
    shapes = _propagate(graph, shapes_at)
    residuals = find_residuals(graph)
    pairs = add_findings(graph, residuals, shapes, lang)
    findings = [f for f, _ in pairs] + op_findings(graph, shapes, {r.add for r in residuals}, lang)
    if probe and any(None in s[1:] for s in declared):
        extra, note = _probe(graph, declared, shapes_at, residuals, {f.node for f in findings},
                             lang)
        pairs += extra
        findings += [f for f, _ in extra]
        notes.append(note)
    if fixes:
        findings = _fixed(graph, shapes, pairs, findings, source)
    order = {name: i for i, name in enumerate(graph.calls)}
    findings.sort(key=lambda f: order.get(f.node, 0))
    proved = _sizes(graph, shapes, declared, sizes)
    timings = {"build": built - clock, "total": time.perf_counter() - clock}
    report = assemble(target=target or graph.name, graph=graph, shapes=shapes,
                      residuals=residuals, findings=findings, notes=notes, timings=timings,
                      parameters=int(model.count_params()))
    return report if proved is None else replace(report, sizes=proved)


def _unknown_shape_notes(graph: KerasGraph) -> list[str]:
    """A note per layer whose output shape Keras could not infer (a Lambda's function that
    does not run on symbolic tensors): building went on with its input's shape."""
    notes = []
    for call in graph.calls.values():
        if call.unknown is not None:
            where = location(call.frames)
            notes.append(f"Keras cannot infer the output shape of {call.kind} {call.name!r}"
                         f"{f' ({where.path}:{where.line})' if where else ''}: its function "
                         f"does not run on symbolic tensors ({call.unknown[:160]}); shapecheck "
                         f"took its output to have its input's shape: pass output_shape=... "
                         f"to the {call.kind} for an exact check")
    return notes


def _sizes(graph: KerasGraph, shapes: Shapes, declared: list[tuple], sizes: Any) -> Optional[dict]:
    """The all-sizes proof when asked for, or by default when a spatial size is unknown."""
    if sizes is None or sizes == "auto":  # the engines' default
        sizes = any(None in s[1:-1] for s in declared)
    if sizes is False:
        return None
    from shapecheck.analysis.sizes import AXIS_NAMES, parse_ranges
    from shapecheck.keras.sizes import prove_keras_sizes

    axes = AXIS_NAMES.get(len(shapes.input_shapes[0]), ("H", "W")) if shapes.input_shapes else ()
    ranges = parse_ranges(sizes, axes) if isinstance(sizes, str) else (
        None if sizes is True else sizes)
    together = bool(declared) and all(d is None for d in declared[0][1:-1])
    return prove_keras_sizes(graph, shapes, ranges, together)


def _built(model: Any, inputs: Any) -> Any:
    """A Sequential without an Input is built for the given shape first."""
    try:
        model.outputs
        return model
    except (AttributeError, ValueError):
        pass
    if inputs is None:
        raise ValueError(f"the Sequential model {model.name!r} has no input shape: give one "
                         f"with --input H,W,C or start it with keras.Input(...)")
    shape = _as_shapes(inputs)[0]
    keras = import_keras()
    with recording(), keras.device("meta"):
        model.build((None,) + tuple(shape[-len(shape) + 1:] if len(shape) > 1 else shape))
    return model


def _as_shapes(inputs: Any) -> list[tuple]:
    if isinstance(inputs, str):
        inputs = [inputs]
    if isinstance(inputs, (list, tuple)) and inputs and isinstance(inputs[0], int):
        inputs = [inputs]
    shapes = []
    for item in inputs:
        if isinstance(item, str):
            item = tuple(int(d) for d in item.replace("x", ",").strip("()[] ").split(",") if d)
        shapes.append(tuple(getattr(item, "shape", item)))
    return shapes


def _example_shapes(declared: list[tuple], inputs: Any) -> tuple[list[tuple], list[str]]:
    """Concrete input shapes: --input (batch optional) over the declared ones; batch 1."""
    notes: list[str] = []
    given = _as_shapes(inputs) if inputs is not None else [None] * len(declared)
    shapes = []
    for want, have in zip(declared, given):
        if have is not None:
            have = tuple(have)
            if len(have) == len(want) - 1:
                have = (1,) + have
            if len(have) != len(want) or any(w is not None and w != h
                                              for w, h in zip(want[1:], have[1:])):
                raise ValueError(f"--input {have} does not fit the model's input {want}")
            shapes.append(have)
            continue
        unknown = [i for i, d in enumerate(want[1:], start=1) if d is None]
        shape = tuple(1 if i == 0 else (DEFAULT_SIZE if d is None else d)
                      for i, d in enumerate(want))
        if unknown:
            notes.append(f"input {want} has unknown sizes: checked at {_text(shape)} and "
                         f"probed at other sizes")
        shapes.append(shape)
    return shapes, notes


def _text(shape: Sequence) -> str:
    return "x".join("?" if d is None else str(d) for d in shape)


def _propagate(graph: KerasGraph, input_shapes: list[tuple]) -> Shapes:
    """Shapes at the example size: the build's own when it was built at that size."""
    declared = [graph[name].shape for name in graph.inputs]
    if all(tuple(d[1:]) == tuple(s[1:]) for d, s in zip(declared, input_shapes)):
        batch = input_shapes[0][0]
        def fill(shape):
            return None if shape is None else tuple(batch if d is None and i == 0 else d
                                                    for i, d in enumerate(shape))
        outputs = {n: fill(c.shape) for n, c in graph.calls.items()}
        operands = {n: tuple(fill(tuple(t.shape)) for t in c.node.input_tensors)
                    for n, c in graph.calls.items() if not c.is_input}
        failures = {n: c.failure.message for n, c in graph.calls.items() if c.failure}
        return Shapes(outputs, operands, failures, tuple(input_shapes))
    result = replay(graph, input_shapes)
    return Shapes(result.shapes, result.operand_shapes, result.failures, tuple(input_shapes))


def _probe(graph: KerasGraph, declared: list[tuple], checked: list[tuple], residuals: list,
           known: set, lang: str) -> tuple[list[tuple[Finding, Any]], str]:
    """Replay at other sizes for the unknown dims; findings for adds that fail only there."""
    extra: list[tuple[Finding, Any]] = []
    failing, passing = [], []
    sizes = [checked[0][1]] if checked and len(checked[0]) > 2 else []
    for size in PROBE_SIZES:
        shapes_at = [tuple(1 if i == 0 else (size if d is None else d) for i, d in enumerate(s))
                     for s in declared]
        shapes = replace(_propagate(graph, shapes_at), probed=True)
        found = add_findings(graph, residuals, shapes, lang)
        (failing if found or shapes.failures else passing).append(size)
        for finding, residual in found:
            if finding.node not in known:
                known.add(finding.node)
                extra.append((finding, residual))
    base_fails = bool(known - {f.node for f, _ in extra})
    (failing if base_fails else passing).extend(sizes)
    note = (f"unknown input sizes checked at {', '.join(map(str, sorted(failing + passing)))}: "
            + (f"fails at {', '.join(map(str, sorted(failing)))}" if failing else "valid at all"))
    if failing and passing:
        note += f"; valid at {', '.join(map(str, sorted(passing)))}"
    return extra, note


def _fixed(graph: KerasGraph, shapes: Shapes, pairs: list, findings: list[Finding],
           source: Optional[tuple[str, str]]) -> list[Finding]:
    """Each add finding with its projection, proven by a replay, and its call-site edit,
    proven by running the builder again on the edited source."""
    from shapecheck.keras.fixes import projection_for

    concrete = [p for p in pairs if all(s and None not in s for s in p[0].shapes)]
    proven = verify_projections(graph, list(shapes.input_shapes), concrete) if concrete else {}
    edits = {}
    if source is not None:
        for finding, residual in pairs:
            if residual.shortcut == "identity":
                edit = call_site_edit(graph[residual.add].frames[1:])
                if edit is not None:
                    edits[residual.add] = edit
        edits = _verify_edits(graph, source, edits, shapes)
    fixed = {}
    for finding, residual in pairs:
        projection = projection_for(*finding.shapes)
        if projection is not None:
            fixed[finding.node] = replace(finding, fix=make_fix(
                projection, residual.add in proven, edits.get(residual.add)))
    return [fixed.get(f.node, f) if f.fix is None else f for f in findings]


def _verify_edits(graph: KerasGraph, source: tuple[str, str], edits: dict, shapes: Shapes) -> dict:
    if not edits:
        return {}
    unique = list({(e.path, e.line): e for e in edits.values()}.values())
    try:
        rebuilt = read_graph(rebuild_with_edits(source[0], source[1], unique))
    except Exception:  # the edited builder raising is an unproven edit, not a crash
        return edits
    # the same add in the rebuilt graph: same frames and the same occurrence
    def key(call, seen):
        frames = tuple((f.path, f.line) for f in call.frames)
        seen[frames] = seen.get(frames, 0) + 1
        return frames, seen[frames]
    seen_old: dict = {}
    seen_new: dict = {}
    old_keys = {name: key(c, seen_old) for name, c in graph.calls.items() if c.kind == "Add"}
    new_by_key = {key(c, seen_new): name for name, c in rebuilt.calls.items() if c.kind == "Add"}
    new_shapes = _propagate(rebuilt, list(shapes.input_shapes))
    # failures left are allowed only where a finding without an edit was already
    unedited = {new_by_key.get(k) for a, k in old_keys.items()
                if a not in edits and graph[a].failure is not None}
    clean = set(new_shapes.failures) <= unedited
    verified = {}
    for add, edit in edits.items():
        new = new_by_key.get(old_keys.get(add))
        operands = new_shapes.operands.get(new, ()) if new else ()
        ok = len(operands) == 2 and operands[0] == operands[1] and clean
        verified[add] = replace(edit, verified=ok)
    return verified
