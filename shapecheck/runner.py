"""From target specs to Reports: load, build on meta, analyse; never raise for a user's mistake.

This is the one pipeline behind the command line, the pytest plugin and `shapecheck.testing`:

    >>> from shapecheck.runner import check_spec
    >>> [r.ok for r in check_spec("tests/fixtures/cli/tiny_resnet.py:build")]  # doctest: +SKIP
    [True]

A target that cannot be loaded, built or analysed still yields a Report, with `error` set
to a `TargetError` naming the user's file and line; the other targets go on.
"""

from __future__ import annotations

import inspect
import time
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator, Optional, Sequence

from torch import nn

from shapecheck.load.build import NotAModuleError, build_model
from shapecheck.codes import matches
from shapecheck.load import (LoadedTarget, describe_exception, exception_location,
                             format_traceback, load_targets)
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


def check_specs(specs: Sequence[str], inputs: Any = None, **options: Any) -> list[CheckedTarget]:
    """`check_spec` over several specs, keeping each target's traceback; stable order."""
    return list(iter_checks(load_specs(specs, inputs), **options))


def load_specs(specs: Iterable[str], inputs: Any = None) -> list[LoadedTarget]:
    """Load every spec (imports each file once) and return all targets, in order."""
    targets: list[LoadedTarget] = []
    for spec in specs:
        targets += load_targets(spec, inputs)
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
                 **options: Any) -> Optional[CheckedTarget]:
    """Build one loaded target on meta and analyse it; None for a discovered non-model."""
    if target.error is not None:
        return CheckedTarget(target, _failed(target, target.error), target.traceback)
    clock = time.perf_counter()
    try:
        model = build_model(target.factory)
    except NotAModuleError as exc:
        where = Location(target.path, target.line) if target.line else None
        return CheckedTarget(target, _failed(target, TargetError("build", str(exc), where)))
    except (Exception, SystemExit) as exc:  # the user's constructor may raise anything
        error = TargetError("build", f"building {_call_text(target)} raised "
                            f"{describe_exception(exc)}", _location(exc, target))
        return CheckedTarget(target, _failed(target, error), format_traceback(exc))
    build_seconds = time.perf_counter() - clock
    if target.discovered and target.kind == "class" and not _has_parameters(model):
        return None
    from shapecheck.api import check
    from shapecheck.confirm import ConfirmError, confirm_report

    arguments = dict(target=target.name, **options)
    # an unknown option is the caller's mistake, not the model's: raise TypeError here
    inspect.signature(check).bind(model, target.inputs, **arguments)
    try:
        report = check(model, target.inputs, **arguments)
        if confirm:
            # confirm builds real weights from the factory; an instance is its own real model
            factory = None if target.kind == "instance" else target.factory
            confirm_report(report, factory, device=device, backward=backward)
    except ConfirmError:
        raise
    except Exception as exc:  # a model the engine cannot handle must not hide the others
        error = TargetError("trace", f"analysing {_call_text(target)} failed: "
                            f"{describe_exception(exc)}", _location(exc, target))
        return CheckedTarget(target, _failed(target, error), format_traceback(exc))
    report.target = target.name
    report.timings["build"] = build_seconds
    report.notes[:0] = target.notes
    if getattr(model, "shapecheck_build", None) == "cpu":
        report.notes.append("built with real weights on the CPU: the constructor does not run "
                            "on the meta device (it reads tensor values)")
    report.findings = [f for f in report.findings if _selected(f.code, select, ignore)]
    return CheckedTarget(target, report)


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
