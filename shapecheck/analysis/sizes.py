"""The valid input sizes, proved: every H (and W) at once, each failing class at its add.

Along one input axis, every layer of a residual network is an integer function of the
size: conv and pooling windows `floor((n + 2p - d(k-1) - 1) / s) + 1` (ceil mode and its
last-window rule too), identity, adaptive pooling (a constant), sums and products with
constants. Each obeys a shift law: where a layer accepts its input, moving the input by its
stride moves the output by exactly 1. So with P the least common multiple that makes
every layer's input move by a multiple of its stride, and n0 a size from which every layer
is in that regime (every window fits, no varying map is 1 wide), every size n >= n0 behaves
as n + P: each dimension moves by slope * P, every check torch makes (the two operands of
a residual add agree, a layer gets its channels, a window fits) has the same outcome.
Evaluating the exact formulas on [min, n0 + P) therefore decides every size, unbounded
above included. Checks between sizes that move at different rates (a flatten feeding a
Linear built for one resolution, a position embedding, a view with literal sizes) hold at
finitely many sizes, which are solved for exactly and evaluated. An operation without a
formula, or whose size is not periodic, ends the proof with a note naming it; the sizes
decided before it stay decided.

The result is a plain JSON-ready dict per axis (see `prove_sizes`).
"""

from __future__ import annotations

import math
import time
from fractions import Fraction
from typing import Any, Optional, Sequence

import numpy as np
import torch.fx as fx

from shapecheck.analysis.size_eval import AxisEvaluator, Check, shape_at
from shapecheck.analysis.size_sets import (contains, nearest_member, outcome_progressions,
                                           remove_size)
from shapecheck.graph.residual import ResidualStructure
from shapecheck.graph.source import layer_path, node_location, owner_module

VALID, UNKNOWN = "valid", "unknown"
AXIS_NAMES = {3: ("L",), 4: ("H", "W"), 5: ("D", "H", "W")}
_LARGEST_SCAN = 1 << 16  # sizes evaluated before giving up on finding the regime
_KIND_CODES = {"add": ("SC102", "spatial_mismatch"), "broadcast": ("SC102", "spatial_mismatch"),
               "layer": ("SC201", "layer_mismatch"), "window": ("SC202", "op_failure"),
               "op": ("SC202", "op_failure")}


def parse_ranges(text: Optional[str], axes: Sequence[str] = ("H", "W")) -> dict[str, tuple]:
    """`--sizes` text to {axis: (lo, hi or None)}; None or "" checks [1, inf) on each.

    >>> parse_ranges("32..2048")
    {'H': (32, 2048), 'W': (32, 2048)}
    >>> parse_ranges("H=32..512,W=64..")
    {'H': (32, 512), 'W': (64, None)}
    """
    if not text:
        return {axis: (1, None) for axis in axes}
    ranges: dict[str, tuple] = {}
    for part in text.split(","):
        name, _, span = part.strip().rpartition("=")
        low, dots, high = span.partition("..")
        if not dots or not low.strip().isdigit() or (high.strip() and not high.strip().isdigit()):
            raise ValueError(f"size range {part!r}: expected LO..HI or LO.. (e.g. 32..512)")
        bounds = (max(1, int(low)), int(high) if high.strip() else None)
        if bounds[1] is not None and bounds[1] < bounds[0]:
            raise ValueError(f"size range {part!r} is empty")
        for axis in ([name.strip().upper()] if name else axes):
            ranges[axis] = bounds
    return ranges


def prove_sizes(gm: fx.GraphModule, prop, structures: Sequence[ResidualStructure],
                kept: dict[str, int], input_shapes: Sequence[tuple], tracer: Optional[str],
                ranges: Optional[dict[str, tuple]] = None,
                budget: Optional[float] = None) -> dict[str, Any]:
    """Per spatial axis of the single input, the exact valid sizes and failing classes.

    `budget` bounds the seconds spent looking for the period (the default check runs the
    proof with one): past it, an axis is decided exactly up to the sizes evaluated and
    says "not proved beyond" them instead of scanning on.

    Returns {"H": axis, "W": axis} (or {"note": why not}), each axis a dict with `range`
    ([lo, hi], hi None for unbounded), `valid` ([start, stop, step] progressions, stop
    exclusive, None unbounded), `failing` (classes: progressions, code, kind, module,
    location, node, shapes at `example`, detail), `unknown` (progressions not decided),
    `proved` (True when the answer holds for the whole range), `period`, `threshold`,
    `premise` and `note`. The other axes stay at their example sizes.

    Example:
        >>> import torch, torch.nn as nn, torch.fx as fx
        >>> from shapecheck.analysis.propagate import propagate_shapes
        >>> class Net(nn.Module):
        ...     def __init__(self):
        ...         super().__init__()
        ...         self.conv = nn.Conv2d(4, 4, 3, stride=2, padding=1)
        ...         self.pool = nn.MaxPool2d(2, stride=2)
        ...     def forward(self, x):
        ...         return self.conv(x) + self.pool(x)
        >>> gm = fx.symbolic_trace(Net())
        >>> prop = propagate_shapes(gm, [torch.empty(1, 4, 16, 16)])
        >>> from shapecheck.graph.residual import find_residual_adds
        >>> s = find_residual_adds(gm)
        >>> sizes = prove_sizes(gm, prop, s, {a.add.name: a.main_operand for a in s},
        ...                     [(1, 4, 16, 16)], "fx")
        >>> sizes["H"]["valid"], sizes["H"]["proved"]
        ([[2, None, 2]], True)
        >>> [(c["progressions"], c["too_small"], c["broadcast"], c["example"])
        ...  for c in sizes["H"]["failing"]]  # 1: no 2x2 window; 3: 2x2 + 1x1 runs silently
        [([[1, 2, 1]], True, False, 1), ([[3, 4, 1]], False, True, 3), ([[5, None, 2]], False, False, 17)]
        >>> sizes["H"]["failing"][2]["shapes"]
        [[1, 4, 9, 8], [1, 4, 8, 8]]
    """
    inputs = [s for s in input_shapes]
    if len(inputs) != 1 or len(inputs[0]) not in AXIS_NAMES:
        return {"note": "sizes are proved for a model with one image-like input"}
    shape = tuple(inputs[0])
    names = AXIS_NAMES[len(shape)]
    if len(shape) == 3 and not _convolves_first(gm):
        return {"note": "a 3-D input without a 1-D convolution is tokens: no spatial axis"}
    ranges = ranges or {name: (1, None) for name in names}
    unknown_axes = set(ranges) - set(names)
    if unknown_axes:
        raise ValueError(f"--sizes: no axis {', '.join(sorted(unknown_axes))} in a "
                         f"{len(shape)}-D input (axes: {', '.join(names)})")
    example_ok = not any(r.failure is not None for r in prop.results.values())
    result: dict[str, Any] = {}
    deadline = None if budget is None else time.perf_counter() + budget
    for offset, name in enumerate(names):
        if name in ranges:
            result[name] = _prove_axis(gm, prop, kept, 2 + offset, name, ranges[name],
                                       shape[2 + offset], tracer != "record", example_ok,
                                       deadline)
    return result


def _convolves_first(gm: fx.GraphModule) -> bool:
    import torch.nn as nn
    for node in gm.graph.nodes:
        if node.op == "call_module":
            return isinstance(gm.get_submodule(node.target), (nn.Conv1d, nn.MaxPool1d,
                                                               nn.AvgPool1d, nn.BatchNorm1d))
    return False


class _Pass:
    """One evaluation, reduced to the first failing check per size."""

    def __init__(self, gm, prop, kept, axis, points, trusted, order: Optional[list] = None):
        self.points = np.asarray(points, dtype=np.int64)
        self.ev = AxisEvaluator(gm, prop, kept, axis, self.points, trusted).run()
        index = {node: i for i, node in enumerate(gm.graph.nodes)}
        self.order = order or sorted(self.ev.checks, key=lambda k: index[self.ev.checks[k].node])
        count = len(self.points)
        self.first = np.full(count, -1, dtype=np.int64)  # -1 valid, -2 unknown, else check id
        self.first_periodic = np.full(count, -1, dtype=np.int64)
        self.first_linear: Optional[int] = None
        for cid, key in enumerate(self.order):
            check = self.ev.checks.get(key)
            if check is None:
                continue
            fails = np.broadcast_to(np.asarray(check.fails, dtype=bool), (count,))
            self.first[(self.first == -1) & fails] = cid
            if check.linear:
                self.first_linear = cid if self.first_linear is None else self.first_linear
            else:
                self.first_periodic[(self.first_periodic == -1) & fails] = cid
        if self.ev.stopped is not None:
            self.first[self.first == -1] = -2
            self.first_periodic[self.first_periodic == -1] = -2
        self.period = _period(self.ev.requirements)

    def check(self, cid: int) -> Check:
        return self.ev.checks[self.order[cid]]


def _period(requirements: list[tuple[Fraction, int]]) -> int:
    period = 1
    for slope, modulus in requirements:
        need = (Fraction(modulus) / slope).numerator
        period = period * abs(need) // math.gcd(period, abs(need))
    return period


def _prove_axis(gm, prop, kept, axis: int, name: str, span: tuple, example: int,
                trusted: bool, example_ok: bool,
                deadline: Optional[float] = None) -> dict[str, Any]:
    lo, hi = span
    length = 128
    out_of_time = False
    while True:
        top = lo + length if hi is None else min(lo + length, hi + 1)
        main = _Pass(gm, prop, kept, axis, np.arange(lo, top), trusted)
        regular = np.asarray(main.ev.regular, dtype=bool)
        irregular = np.flatnonzero(~regular)
        n0 = None if not regular[-1] else lo + (int(irregular[-1]) + 1 if len(irregular) else 0)
        proved = n0 is not None and top - n0 >= main.period
        if proved or (hi is not None and top == hi + 1) or length >= _LARGEST_SCAN:
            break
        if deadline is not None and time.perf_counter() > deadline:
            out_of_time = True
            break
        length = max(4 * length, 2 * main.period + (n0 or top) - lo)
    direct = main.first.tolist()
    outcomes: dict[str, list] = {}
    exceptions: dict[int, int] = {}
    if proved:
        period = main.period
        periodic = main.first_periodic[n0 - lo:n0 - lo + period].copy()
        if main.first_linear is not None:
            periodic = np.where((periodic < 0) | (periodic > main.first_linear),
                                main.first_linear, periodic)
        exceptions = _exceptional(gm, prop, kept, axis, trusted, main, n0, period, hi)
        progressions = outcome_progressions(lo, hi, direct, n0, period, periodic.tolist(),
                                            exceptions)
    else:
        period = main.period
        progressions = outcome_progressions(lo, top - 1, direct)
    classes = {cid: progs for cid, progs in progressions.items() if cid >= 0}
    examples = {cid: nearest_member(progs, example) for cid, progs in classes.items()}
    shown = _Pass(gm, prop, kept, axis, list(examples.values()) or [example], trusted,
                  main.order) if examples else None
    failing = []
    for position, (cid, progs) in enumerate(sorted(classes.items(), key=lambda kv: kv[0])):
        failing.append(_describe(main.check(cid), shown, list(examples).index(cid), progs,
                                 examples[cid]))
    failing.sort(key=lambda c: c["progressions"][0][0])
    valid = progressions.get(-1, [])
    unknown = progressions.get(-2, [])
    stopped = main.ev.stopped
    note = None
    if stopped is not None:
        note = (f"cannot prove the sizes that reach {layer_path(stopped.node) or stopped.node.name}"
                f" ({_where(stopped.node)}): {stopped.reason}")
        if example_ok and lo <= example and (hi is None or example <= hi):
            valid, unknown = _move(example, unknown, valid)
    elif not proved:
        note = (f"not proved beyond {name}={top - 1}: " + ("the time budget of the default "
                "check ran out (--sizes proves without one)" if out_of_time
                else "no period found below it"))
    mixed = main.ev.mixes_axes
    premise = (f"eval mode; the other axes at their example sizes; "
               + (f"period {period} from the strides, threshold {n0} (every window fits, no "
                  f"varying map is 1 wide)" if proved else "exact evaluation only")
               + ("" if trusted else "; the graph was recorded at the example size: it "
                  "assumes forward takes the same path at every size")
               + (f"; {name} and another axis meet in one dimension at "
                  f"{layer_path(mixed) or mixed.name}, so pairs of sizes are not the product "
                  f"of the per-axis sets" if mixed is not None else ""))
    return {"axis": name, "dim": axis, "range": [lo, hi], "valid": valid, "failing": failing,
            "unknown": unknown, "proved": bool(proved and stopped is None),
            "period": period, "threshold": n0 if proved else None,
            "checked_to": None if proved else top - 1, "example": example,
            "premise": premise, "note": note}


def _exceptional(gm, prop, kept, axis, trusted, main: _Pass, n0: int, period: int,
                 hi: Optional[int]) -> dict[int, int]:
    """Sizes above n0 + P where a check between sizes of different slopes holds."""
    candidates: set[int] = set()
    start = n0 - int(main.points[0])
    for key in main.order:
        check = main.ev.checks[key]
        for diff, slope in check.linear:
            step = int(slope * period)
            values = np.broadcast_to(np.asarray(diff), main.points.shape)[start:start + period]
            sizes = main.points[start:start + period]
            hits = (values % step == 0) & ((-values) // step >= 1)
            for size, k in zip(sizes[hits].tolist(), ((-values[hits]) // step).tolist()):
                point = size + k * period
                if hi is None or point <= hi:
                    candidates.add(point)
    if not candidates:
        return {}
    extra = _Pass(gm, prop, kept, axis, sorted(candidates), trusted, main.order)
    return dict(zip(extra.points.tolist(), extra.first.tolist()))


def _describe(check: Check, shown: _Pass, index: int, progressions: list,
              size: int) -> dict[str, Any]:
    node = check.node
    code, kind = _KIND_CODES[check.kind]
    operands = shown.ev.checks.get((node.name, check.kind), check).operands
    shapes = [list(s) for s in (shape_at(o, index) for o in operands) if s is not None]
    if check.kind == "add" and len(shapes) == 2 and len(shapes[0]) > 1 and \
            shapes[0][1] != shapes[1][1]:
        code, kind = "SC101", "channel_mismatch"
    location = node_location(node)
    module = layer_path(node) if check.kind in ("window", "layer") else owner_module(node)
    return {"progressions": progressions, "code": code, "kind": kind,
            "broadcast": check.kind == "broadcast", "too_small": check.kind == "window",
            "module": module, "location": location.to_json() if location else None,
            "node": node.name, "example": size, "shapes": shapes, "detail": check.detail}


def _where(node: fx.Node) -> str:
    location = node_location(node)
    return str(location) if location else node.name


def _move(n: int, source: list, target: list) -> tuple[list, list]:
    """Move size n from one list of progressions to another (the example, known valid)."""
    if not contains(source, n):
        return target, source
    rest = [list(p) for p in source]
    remove_size(rest, n)
    return sorted(target + [[n, n + 1, 1]]), rest


__all__ = ["prove_sizes", "parse_ranges", "VALID", "UNKNOWN"]
