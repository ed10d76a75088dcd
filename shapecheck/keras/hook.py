"""The Keras front end plugged into the command line: `load` asks `claim_file` first, and
the runner hands a Keras target to `keras_report`. Importing this imports no Keras."""

from __future__ import annotations

import dataclasses
import time
from typing import Any, Optional, Sequence

from shapecheck.codes import matches
from shapecheck.keras.targets import KERAS_FUNCTION, KERAS_KINDS, claim_file
from shapecheck.load import targets as _load_targets
from shapecheck.load.frames import describe_exception, exception_location
from shapecheck.report import Location, Report, TargetError

if claim_file not in _load_targets.FRONT_ENDS:
    _load_targets.FRONT_ENDS.append(claim_file)


def is_keras_target(target: Any) -> bool:
    """True for a target that `claim_file` loaded.

    >>> from shapecheck.load.targets import LoadedTarget
    >>> is_keras_target(LoadedTarget("m.py:build", "m.py", kind="keras_function"))
    True
    """
    return getattr(target, "kind", None) in KERAS_KINDS


def keras_report(target: Any, *, select: Sequence[str] = (), ignore: Sequence[str] = (),
                 lang: Optional[str] = None, fixes: bool = True, probe: bool = True,
                 sizes: Any = None, **_: Any) -> Report:
    """Check one Keras target; a failure is a Report with `error` set, never an exception.

    `--confirm` is the runner's (`confirm.keras_run`): it runs after this, on the Report.

    Example:
        >>> from shapecheck.load import load_targets  # doctest: +SKIP
        >>> [t] = load_targets("examples/keras/homework.py:build")  # doctest: +SKIP
        >>> keras_report(t).ok, len(keras_report(t).residual_adds)  # doctest: +SKIP
        (True, 16)
    """
    from shapecheck.keras.check import check_keras

    clock = time.perf_counter()
    source = (target.path, target.attr) if target.kind == KERAS_FUNCTION else None
    try:
        report = check_keras(target.factory, target.inputs, target=target.name, lang=lang,
                             fixes=fixes, probe=probe, source=source, sizes=sizes)
    except Exception as exc:  # the user's builder, or a model this front end cannot read
        kind = "build" if target.kind == KERAS_FUNCTION else "trace"
        where = exception_location(exc, target.path) or (
            Location(target.path, target.line) if target.line else None)
        return Report(target=target.name, notes=list(target.notes), error=TargetError(
            kind, f"{'building' if kind == 'build' else 'analysing'} {target.attr} failed: "
                  f"{describe_exception(exc)}", where))
    notes = list(target.notes) + list(report.notes)
    findings = [f for f in report.findings if _selected(f.code, select, ignore)]
    return dataclasses.replace(report, notes=notes, findings=findings,
                               timings={**report.timings, "load": time.perf_counter() - clock})


def _selected(code: str, select: Sequence[str], ignore: Sequence[str]) -> bool:
    if select and not matches(code, list(select)):
        return False
    return not (ignore and matches(code, list(ignore)))
