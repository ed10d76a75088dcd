"""`check()`: the whole static pipeline, from a model to its Report.

load/build happen before (load.py, build.py); here: trace -> residual structure ->
propagate -> diagnose -> fix (proven by propagating again) -> Report.
"""

from __future__ import annotations

import time
import traceback
from typing import Any, Callable, Optional

import torch
import torch.fx as fx
import torch.nn as nn

from shapecheck.analysis import diagnose
from shapecheck.analysis.fix import insert_fixes, propose_fix, propose_resize
from shapecheck.load.inputs import InputError, example_tensors
from shapecheck.analysis.intent import Consumer, consumers, shortcut_is_intended
from shapecheck.ops.layout import layout_of
from shapecheck.ops.meta import has_lazy_modules
from shapecheck.messages import default_language
from shapecheck.analysis.propagate import Propagation, propagate_shapes, scaled_inputs
from shapecheck.graph.record import record_graph
from shapecheck.report import (Block, Finding, Location, NodeInfo, Report, ResidualAdd,
                               TargetError)
from shapecheck.graph.residual import ResidualStructure, find_residual_adds
from shapecheck.graph.source import (display_path, layer_path, location_from_stack, node_location,
                               owner_module)
from shapecheck.ops.counts import module_params, node_macs
from shapecheck.graph.trace import TraceError, Traced, trace_model


def check(model: nn.Module, inputs: Any = None, *, target: Optional[str] = None,
          tracer: str = "auto", probe: bool = True, fixes: bool = True,
          lang: Optional[str] = None, leaf_modules: tuple[type, ...] = (),
          confirm: bool = False, device: str = "auto", factory: Optional[Callable] = None,
          backward: bool = False) -> Report:
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
        confirm, device, factory, backward: also run the model for real (see confirm.py).

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
    start = time.perf_counter()
    lang = lang or default_language()
    report = Report(target=target or type(model).__name__, model=model)
    try:
        tensors, notes = example_tensors(model, inputs)
    except InputError as exc:
        report.error = TargetError("input", str(exc))
        return report
    report.notes.extend(notes)
    report.input_shapes = [tuple(t.shape) for t in tensors]
    _materialise_lazy(model, tensors, report)
    report.parameters = _parameter_count(model)

    clock = time.perf_counter()
    try:
        traced = trace_model(model, tensors, tracer, leaf_modules)
    except TraceError as exc:
        report.error = TargetError("trace", str(exc), _error_location(exc))
        report.timings["total"] = time.perf_counter() - start
        return report
    report.timings["trace"] = time.perf_counter() - clock
    report.tracer = traced.tracer
    report.notes.extend(traced.notes)
    gm = report.graph_module = traced.graph_module

    clock = time.perf_counter()
    structures = find_residual_adds(gm)
    main_operand = {s.add.name: s.main_operand for s in structures}
    report.timings["residual"] = time.perf_counter() - clock

    clock = time.perf_counter()
    prop = propagate_shapes(gm, tensors, main_operand)
    # where the layers after a failed add want the shortcut's width, propagation goes on
    # with the shortcut instead, so that nothing after it fails in consequence
    wrong_branch = _wrong_main_branches(gm, structures, prop)
    keep = {name: (1 - index if name in wrong_branch else index)
            for name, index in main_operand.items()}
    if wrong_branch:
        prop = propagate_shapes(gm, tensors, keep)
    report.timings["propagate"] = time.perf_counter() - clock

    clock = time.perf_counter()
    ctx = diagnose.Context(gm, prop, _probe(model, traced, tensors, keep, probe), lang,
                           wrong_branch)
    residual_findings = {s.add.name: diagnose.check_residual_add(ctx, s) for s in structures}
    findings = [f for f in residual_findings.values() if f is not None]
    findings += diagnose.check_failures(ctx, set(residual_findings))
    order = {n.name: i for i, n in enumerate(gm.graph.nodes)}
    findings.sort(key=lambda f: order.get(f.node or "", -1))
    report.timings["diagnose"] = time.perf_counter() - clock

    unsupported = [n for n, f in prop.failures.items() if f.kind == "unsupported"]
    if unsupported:
        report.notes.append(
            f"{len(unsupported)} operation(s) need real tensor values and were not evaluated "
            f"(first: {unsupported[0]}: {prop.failures[unsupported[0]].message}); shapes after "
            f"them are unknown")
    report.nodes = _node_infos(gm, prop)
    report.output_shapes = list(prop.outputs)
    report.macs = sum(info.macs for info in report.nodes.values())

    clock = time.perf_counter()
    by_add = {s.add.name: s for s in structures}
    if fixes:
        findings = _fix(ctx, gm, tensors, keep, by_add, findings, report)
    report.timings["fix"] = time.perf_counter() - clock
    report.findings = findings

    failing = {f.node for f in findings}
    report.residual_adds = [_residual_add(s, prop, s.add.name not in failing) for s in structures]
    report.blocks = [_block(i, s, gm, report) for i, s in enumerate(structures)]
    bad_input = diagnose.input_error(ctx, findings)
    if bad_input is not None:
        report.error = TargetError("input", diagnose.input_message(ctx, bad_input),
                                   bad_input.location)
    report.timings["total"] = time.perf_counter() - start
    if confirm:
        from shapecheck.confirm.compare import confirm_report

        confirm_report(report, factory, device=device, backward=backward)
    return report


def _materialise_lazy(model: nn.Module, tensors: list[torch.Tensor], report: Report) -> None:
    """nn.Lazy* layers learn their sizes on a first call: make one, on the weights' device."""
    if not has_lazy_modules(model):
        return
    device = next(iter(model.parameters())).device
    args = [torch.zeros(t.shape, dtype=t.dtype, device=device) for t in tensors]
    try:
        with torch.no_grad():
            model(*args)
        report.notes.append("lazy layers were initialised by one call on the example input")
    except Exception as exc:  # a bug after the lazy layers: tracing still sees what it can
        report.notes.append(f"lazy layers could not all be initialised: {_first_line(exc)}")


def _parameter_count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters()
               if not isinstance(p, nn.parameter.UninitializedParameter))


def _probe(model: nn.Module, traced: Traced, tensors, main_operand,
           enabled: bool) -> Callable[[], Optional[Propagation]]:
    """A memoised second pass at twice the spatial size (None where it cannot run)."""
    cache: dict[str, Optional[Propagation]] = {}

    def run() -> Optional[Propagation]:
        if "probe" not in cache:
            cache["probe"] = None
            bigger = scaled_inputs(tensors) if enabled else None
            if bigger is not None:
                try:
                    gm = traced.graph_module
                    if traced.tracer == "record":  # recorded graphs are size-specialised
                        gm = record_graph(model, bigger)
                    cache["probe"] = propagate_shapes(gm, bigger, main_operand)
                except Exception:
                    cache["probe"] = None
        return cache["probe"]

    return run


def _wrong_main_branches(gm: fx.GraphModule, structures: list[ResidualStructure],
                         prop: Propagation) -> dict[str, list[Consumer]]:
    """Failed adds whose later layers expect the shortcut's width, with those layers."""
    found = {}
    for s in structures:
        failure = prop.results[s.add.name].failure
        if failure is None or failure.kind != "add":
            continue
        main = prop.shape(s.add.args[s.main_operand].name)
        short = prop.shape(s.add.args[1 - s.main_operand].name)
        if main is None or short is None or len(main) != len(short):
            continue
        dim = layout_of(main, diagnose.channels_first(gm, s)).channel_dim
        if main[dim] == short[dim]:
            continue
        later = consumers(gm, s.add, lambda n: prop.shape(n.name), dim)
        if shortcut_is_intended(later, main[dim], short[dim]):
            found[s.add.name] = later
    return found


def _fix(ctx: diagnose.Context, gm: fx.GraphModule, tensors, keep,
         by_add: dict[str, ResidualStructure], findings: list[Finding],
         report: Report) -> list[Finding]:
    plans, proposals = [], {}
    for index, finding in enumerate(findings):
        s = by_add.get(finding.node or "")
        if s is None:
            continue
        main_node = s.add.args[s.main_operand]
        main = ctx.shape(main_node)
        channels_first = diagnose.channels_first(gm, s)
        if s.add.name in ctx.wrong_branch:
            short = ctx.shape(s.add.args[1 - s.main_operand])
            dim = layout_of(main, channels_first).channel_dim
            fix = propose_resize(gm, main_node, ctx.shape, dim, short[dim])
        else:
            fix = propose_fix(finding, ctx.shape(s.fork), main, not channels_first)
        if fix is None:
            continue
        proposals[index] = fix
        plans.append((index, fix, _residual_add(s, ctx.prop, False), len(main)))
    if not plans:
        return findings
    patched = insert_fixes(gm, plans)
    after = propagate_shapes(patched, tensors, keep)
    quiet = ("skipped", "unsupported")
    before_failures = {name for name, f in ctx.prop.failures.items() if f.kind not in quiet}
    new_failures = {name for name, f in after.failures.items()
                    if f.kind not in quiet and name not in before_failures}
    report.patched_graph_module = patched
    result = list(findings)
    patched_nodes = {n.name: n for n in patched.graph.nodes}
    for index, fix in proposals.items():
        add = patched_nodes[findings[index].node]
        operands = [after.shape(a.name) for a in add.args[:2]]
        clean = (operands[0] is not None and operands[0] == operands[1]
                 and after.results[add.name].failure is None and not new_failures
                 and not _fails_after(add, after, quiet))
        result[index] = _with_fix(findings[index], fix, clean)
    return result


def _fails_after(add: fx.Node, prop: Propagation, quiet: tuple[str, ...]) -> bool:
    """True when anything computed from `add` still fails: a fix is proven only when the
    rest of the graph then propagates cleanly, not merely past its own add."""
    seen, stack = {add}, list(add.users)
    while stack:
        node = stack.pop()
        if node in seen:
            continue
        seen.add(node)
        result = prop.results.get(node.name)
        if result is not None and result.failure is not None and result.failure.kind not in quiet:
            return True
        stack.extend(node.users)
    return False


def _with_fix(finding: Finding, fix, verified: bool) -> Finding:
    from dataclasses import replace

    return replace(finding, fix=replace(fix, verified=verified))


def _node_infos(gm: fx.GraphModule, prop: Propagation) -> dict[str, NodeInfo]:
    infos = {}
    for node in gm.graph.nodes:
        if node.op == "output":
            continue
        result = prop.results.get(node.name)
        module = gm.get_submodule(node.target) if node.op == "call_module" else None
        shape = result.shape if result and result.known else None
        inputs = [prop.shape(n.name) for n in node.all_input_nodes]
        failure = result.failure if result else None
        infos[node.name] = NodeInfo(
            name=node.name, op=node.op, target=_target_name(node), module=layer_path(node),
            location=node_location(node), inputs=tuple(n.name for n in node.all_input_nodes),
            shape=shape, shapes=result.shapes if result else (),
            dtype=result.dtype if result else None,
            error=failure.message if failure and failure.kind != "skipped" else None,
            params=module_params(module) if module is not None else 0,
            macs=node_macs(node, module, shape, inputs))
    return infos


def _target_name(node: fx.Node) -> str:
    if node.op in ("call_module", "get_attr", "call_method"):
        return str(node.target)
    if node.op == "placeholder":
        return node.name
    return getattr(node.target, "__name__", str(node.target))


def _residual_add(s: ResidualStructure, prop: Propagation, ok: bool) -> ResidualAdd:
    main, short = s.add.args[s.main_operand], s.add.args[1 - s.main_operand]
    return ResidualAdd(
        node=s.add.name, module=owner_module(s.add), location=node_location(s.add),
        shapes=(prop.shape(main.name), prop.shape(short.name)),
        output_shape=prop.shape(s.add.name), shortcut=s.shortcut, ok=ok, fork=s.fork.name,
        main_operand=s.main_operand, main_branch=tuple(n.name for n in s.main_branch),
        shortcut_branch=tuple(n.name for n in s.shortcut_branch))


def _block(index: int, s: ResidualStructure, gm: fx.GraphModule, report: Report) -> Block:
    members = s.main_branch + s.shortcut_branch + (s.add,)
    seen_modules: set[int] = set()
    params = 0
    for node in members:
        if node.op == "call_module":
            module = gm.get_submodule(node.target)
            if id(module) not in seen_modules:
                seen_modules.add(id(module))
                params += module_params(module)
        elif node.op == "get_attr":
            value = _fetch(gm, node.target)
            if isinstance(value, nn.Parameter):
                params += value.numel()
    return Block(index=index, module=owner_module(s.add), fork=s.fork.name, add=s.add.name,
                 input_shape=report.nodes[s.fork.name].shape,
                 output_shape=report.nodes[s.add.name].shape, shortcut=s.shortcut,
                 ok=report.residual_adds[index].ok, params=params,
                 macs=sum(report.nodes[n.name].macs for n in members),
                 nodes=tuple(n.name for n in members))


def _fetch(gm: fx.GraphModule, target: str) -> Any:
    value: Any = gm
    for part in target.split("."):
        value = getattr(value, part, None)
    return value


def _error_location(exc: BaseException) -> Optional[Location]:
    """The user's line for a tracing failure: recorded stack first, then the traceback."""
    location = location_from_stack(getattr(exc, "stack_trace", None))
    if location is not None:
        return location
    cause = exc.__cause__ or exc
    frames = traceback.extract_tb(cause.__traceback__) if cause.__traceback__ else []
    text = "".join(f'File "{f.filename}", line {f.lineno}, in {f.name}\n' for f in frames)
    return location_from_stack(text)


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


__all__ = ["check", "display_path"]
