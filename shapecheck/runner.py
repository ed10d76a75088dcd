"""From target specs to Reports: load, build on meta, analyse; never raise for a user's mistake.

This is the one pipeline behind the command line, the pytest plugin and `shapecheck.testing`:

    >>> from shapecheck.runner import check_spec
    >>> [r.ok for r in check_spec("tests/fixtures/cli/tiny_resnet.py:build")]  # doctest: +SKIP
    [True]

A target that cannot be loaded, built or analysed still yields a Report, with `error` set
to a `TargetError` naming the user's file and line; the other targets go on.
"""

from __future__ import annotations

import dataclasses
import inspect
import time
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator, Optional, Sequence

from torch import nn

from shapecheck.load.build import NotAModuleError, build_model
from shapecheck.keras.hook import is_keras_target, keras_report  # registers the Keras front end
from shapecheck.codes import matches
from shapecheck.load import (LoadedTarget, describe_exception, exception_location,
                             format_traceback, load_targets)
from shapecheck.load.execute import explain, user_environment
from shapecheck.load.limits import DEFAULT_TIMEOUT, TargetTimeout, time_limit
from shapecheck.load.notebook import is_notebook, relocate
from shapecheck.report import Location, Report, TargetError


@dataclass
class CheckedTarget:
    """A target with its Report; `traceback` is the full Python traceback of a failure
    (shown by `--verbose`), None when the target was analysed."""

    target: LoadedTarget
    report: Report
    traceback: Optional[str] = None


def check_spec(spec: str, inputs: Any = None, **options: Any) -> list[Report]:
    """Check every model that `spec` names or offers; one Report per model.

    Args:
        spec: `path.py`, `path.py:NAME` or a directory (see `load.load_targets`).
        inputs: overrides the file's inputs: a shape string ("1,3,224,224"), a shape
            tuple, a list of either, a tensor or tensors. None uses the file's own
            (`INPUT_SHAPES`, `INPUT_SHAPE`, `example_inputs()`) or a default.
        **options: `select`/`ignore` (code prefixes that filter findings); `confirm`,
            `device`, `backward` to run the model for real; anything else goes to
            `shapecheck.api.check` (`lang`, `tracer`, `probe`, `fixes`, ...).

    Returns:
        Reports in source order. A failing target has `report.error` set; nothing is
        raised except `ConfirmError` (the `--confirm` device cannot be used).

    Example:
        >>> reports = check_spec("tests/fixtures/cli/buggy_block.py:build_net")  # doctest: +SKIP
        >>> [(f.code, f.location.line) for f in reports[0].findings]  # doctest: +SKIP
        [('SC101', 17)]
    """
    return [checked.report for checked in check_specs([spec], inputs, **options)]


def check_specs(specs: Sequence[str], inputs: Any = None, *, run_all: bool = False,
                timeout: Optional[float] = DEFAULT_TIMEOUT, **options: Any) -> list[CheckedTarget]:
    """`check_spec` over several specs, keeping each target's traceback; stable order.

    `run_all` runs each file whole (`--exec`) instead of its definitions only; `timeout`
    limits each import and each target's check, in seconds (None: no limit).
    """
    targets = load_specs(specs, inputs, run_all=run_all, timeout=timeout)
    return list(iter_checks(targets, timeout=timeout, **options))


def load_specs(specs: Iterable[str], inputs: Any = None, *, run_all: bool = False,
               timeout: Optional[float] = DEFAULT_TIMEOUT) -> list[LoadedTarget]:
    """Load every spec (imports each file once) and return all targets, in order."""
    targets: list[LoadedTarget] = []
    for spec in specs:
        targets += load_targets(spec, inputs, run_all=run_all, timeout=timeout)
    return targets


def iter_checks(targets: Iterable[LoadedTarget],
                on_start: Optional[Callable[[LoadedTarget], None]] = None,
                **options: Any) -> Iterator[CheckedTarget]:
    """Check loaded targets one by one (a progress display can follow along via `on_start`).

    A class found by discovery whose instance has no parameters (an activation helper such
    as `Swish`) is not a model and yields nothing.
    """
    for target in targets:
        if on_start is not None:
            on_start(target)
        checked = check_target(target, **options)
        if checked is not None:
            yield checked


def check_target(target: LoadedTarget, *, select: Sequence[str] = (), ignore: Sequence[str] = (),
                 confirm: bool = False, device: str = "auto", backward: bool = False,
                 timeout: Optional[float] = DEFAULT_TIMEOUT,
                 **options: Any) -> Optional[CheckedTarget]:
    """Build one loaded target on meta and analyse it; None for a discovered non-model.

    The user's code runs offline, with `sys.argv = [file]` and empty standard input, and
    within `timeout` seconds (see `load.execute`, `load.limits`); locations in notebooks
    read `hw.ipynb:cell 4:line 7`.
    """
    checked = _check_within_limits(target, select=select, ignore=ignore, confirm=confirm,
                                   device=device, backward=backward, timeout=timeout, **options)
    tally = target.tally
    if tally is not None:
        tally.remaining -= 1
        if checked is not None:
            tally.checked += 1
        elif target.attr:
            tally.not_models.append(target.attr)
        if checked is None and tally.remaining == 0 and not tally.checked \
                and not tally.in_directory:
            checked = CheckedTarget(target, _failed(target, _offers_no_model(tally)))
    if checked is not None and is_notebook(target.path):
        checked.report = _relocate_notebook_lines(checked.report)
    return checked


def _check_within_limits(target: LoadedTarget, *, timeout: Optional[float],
                         **options: Any) -> Optional[CheckedTarget]:
    if target.error is not None:
        return CheckedTarget(target, _failed(target, target.error), target.traceback)
    notes: list[str] = []
    stage = ["build"]
    try:
        with user_environment(target.path, notes), time_limit(timeout):
            checked = _check_loaded(target, stage, **options)
    except TargetTimeout as exc:
        error = TargetError(stage[0], f"{_doing(target, stage[0])} {exc}",
                            exc.location or _location(exc, target))
        return CheckedTarget(target, _failed(target, error))
    if checked is not None and notes:
        extra = [n for n in notes if n not in checked.report.notes]
        checked.report = dataclasses.replace(checked.report, notes=checked.report.notes + extra)
    return checked


def _doing(target: LoadedTarget, stage: str) -> str:
    return f"{'building' if stage == 'build' else 'analysing'} {_call_text(target)}"


def _offers_no_model(tally) -> TargetError:
    names = ", ".join(tally.not_models)
    return TargetError("load", f"no model found in {tally.path}: what it defines ({names}) "
                       f"has no parameters or no forward(), so it is not a model to check. "
                       f"Name a model with {tally.path}:NAME or add a `def build() -> "
                       f"nn.Module:`", Location(tally.path, 1))


def _relocate_notebook_lines(report: Report) -> Report:
    """Locations in a notebook's joined cells become `hw.ipynb:cell 4:line 7`."""
    error = report.error
    if error is not None and error.location is not None:
        error = dataclasses.replace(error, location=relocate(error.location))
    findings = [dataclasses.replace(f, location=relocate(f.location))
                if f.location is not None else f for f in report.findings]
    blocks = [dataclasses.replace(b, location=relocate(b.location))
              if getattr(b, "location", None) is not None else b for b in report.blocks]
    return dataclasses.replace(report, error=error, findings=findings, blocks=blocks)


def _check_loaded(target: LoadedTarget, stage: list[str], *, select: Sequence[str] = (),
                  ignore: Sequence[str] = (), confirm: bool = False, device: str = "auto",
                  backward: bool = False, **options: Any) -> Optional[CheckedTarget]:
    if is_keras_target(target):  # Keras reads its own graph: shapecheck.keras
        report = keras_report(target, select=select, ignore=ignore, **options)
        if confirm and report.error is None:  # a real build and run on the torch backend
            from shapecheck.confirm.keras_run import confirmed_keras
            report = _missed_by_static_analysis(
                confirmed_keras(report, target.factory, device=device))
        return CheckedTarget(target, report)
    clock = time.perf_counter()
    try:
        model = build_model(target.factory)
    except NotAModuleError as exc:
        where = Location(target.path, target.line) if target.line else None
        return CheckedTarget(target, _failed(target, TargetError("build", str(exc), where)))
    except (Exception, SystemExit, EOFError) as exc:  # the user's constructor may raise anything
        why = explain(exc)
        if isinstance(exc, NameError) and any(n.startswith("skipped top-level code")
                                              for n in target.notes):
            why = ("the name is set by top-level code that shapecheck did not run (see the "
                   "note); --exec runs the whole file")
        error = TargetError("build", f"building {_call_text(target)} raised "
                            f"{describe_exception(exc)}" + (f": {why}" if why else ""),
                            _location(exc, target))
        return CheckedTarget(target, _failed(target, error), format_traceback(exc))
    build_seconds = time.perf_counter() - clock
    stage[0] = "trace"
    if target.discovered and target.kind == "class" and (
            not _has_parameters(model) or type(model).forward is nn.Module.forward):
        return None  # an activation helper, or a base class without forward()
    from shapecheck.api import check
    from shapecheck.confirm import ConfirmError
    from shapecheck.confirm.compare import confirmed

    arguments = dict(target=target.name, **options)
    # an unknown option is the caller's mistake, not the model's: raise TypeError here
    inspect.signature(check).bind(model, target.inputs, **arguments)
    try:
        report = check(model, target.inputs, **arguments)
        if confirm:
            # confirm builds real weights from the factory; an instance is its own real model
            factory = None if target.kind == "instance" else target.factory
            report = confirmed(report, factory, device=device, backward=backward)
            report = _missed_by_static_analysis(report)
    except ConfirmError:
        raise
    except Exception as exc:  # a model the engine cannot handle must not hide the others
        error = TargetError("trace", f"analysing {_call_text(target)} failed: "
                            f"{describe_exception(exc)}", _location(exc, target))
        return CheckedTarget(target, _failed(target, error), format_traceback(exc))
    notes = list(target.notes) + list(report.notes)
    if getattr(model, "shapecheck_build", None) == "cpu":
        notes.append("built with real weights on the CPU: the constructor does not run "
                     "on the meta device (it reads tensor values)")
    # an assembled Report is a value: the runner's additions make a new one
    report = dataclasses.replace(
        report, target=target.name, timings={**report.timings, "build": build_seconds},
        notes=notes, findings=[f for f in report.findings if _selected(f.code, select, ignore)])
    return CheckedTarget(target, report)


def _missed_by_static_analysis(report: Report) -> Report:
    """A real run that raised where the static pass predicted nothing: an error finding at
    that node, so that the verdict follows the evidence (never "ok" after a crash)."""
    from shapecheck.codes import code_for
    from shapecheck.report import Finding

    conf = report.confirm
    if conf is None:
        return report
    missed = []
    for event in conf.events:
        if event.get("event") != "unexpected_failure":
            continue
        node = event.get("node")
        info = report.nodes.get(node) if node else None
        code = code_for("op_failure")
        device = conf.device.split(" (")[0]
        message = (f"static analysis missed this: the real run on {device} raised "
                   f"{event.get('message')} at node {node}")
        missed.append(Finding(code.code, "op_failure", "error", message,
                              info.module if info else "", info.location if info else None,
                              (info.shape,) if info and info.shape else (), None, node))
    if not missed:
        return report
    return dataclasses.replace(report, findings=list(report.findings) + missed)


def _failed(target: LoadedTarget, error: TargetError) -> Report:
    return Report(target=target.name, error=error, notes=list(target.notes))


def _call_text(target: LoadedTarget) -> str:
    if target.kind == "instance":
        return target.attr or target.name
    return f"{target.attr}()" if target.attr else target.name


def _location(exc: BaseException, target: LoadedTarget) -> Optional[Location]:
    """The user's line that raised; else where the target is defined."""
    location = exception_location(exc, target.path)
    if location is None and target.line:
        location = Location(target.path, target.line)
    return location


def _has_parameters(model: nn.Module) -> bool:
    return any(True for _ in model.parameters())


def _selected(code: str, select: Sequence[str], ignore: Sequence[str]) -> bool:
    """`--select` keeps only matching codes (all when empty); `--ignore` then drops."""
    if select and not matches(code, list(select)):
        return False
    return not (ignore and matches(code, list(ignore)))


def exit_status(reports: Iterable[Report]) -> int:
    """0 clean, 1 some finding of severity error, 2 some target not analysed (the contract).

    Example:
        >>> exit_status([Report("a"), Report("b", error=TargetError("load", "x"))])
        2
    """
    reports = list(reports)
    if any(r.error is not None for r in reports):
        return 2
    return 1 if any(r.errors for r in reports) else 0
