"""`--confirm`: run the model for real and check every static prediction against it.

The static pass predicted each node's shape and where the model breaks. Here the traced
graph runs on a real device with real weights and random inputs:

1. every node's real output shape is compared with the predicted one;
2. the run must fail at the first predicted error (same graph node, hence same module and
   source line), or, for a broadcast that raises nothing, produce the broadcast shape;
3. the suggested fixes are then applied one by one (`shapecheck.fix.apply_fixes`) and the
   model is run again each time: every later predicted error must appear in turn, and each
   fix must carry the run past its add, until the fully fixed model runs end to end.

Only the `Report` is read; nothing is traced or propagated again.
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Callable, Optional

import torch
from torch import nn

from shapecheck.confirm.chain import Chain
from shapecheck.confirm.device import (ConfirmError, describe_device, is_out_of_memory,
                                       out_of_memory_message, peak_memory_bytes,
                                       reset_peak_memory, resolve_device)
from shapecheck.confirm.run import OutOfMemoryAt
from shapecheck.report import Confirmation, Report

__all__ = ["confirmed", "confirmation", "confirm_report", "ConfirmError", "resolve_device",
           "summary"]


def confirmed(report: Report, factory: Optional[Callable[[], nn.Module]] = None, *,
              device: str | torch.device = "auto", backward: bool = False) -> Report:
    """A new Report: `report` with the `confirm` that a real run gives (see `confirmation`).

    Example:
        >>> import torch, shapecheck
        >>> report = shapecheck.check(torch.nn.Conv2d(3, 8, 3), (1, 3, 32, 32))
        >>> new = confirmed(report, device="cpu")
        >>> report.confirm is None, new.confirm.predicted_errors, new.nodes == report.nodes
        (True, 0, True)
    """
    return replace(report, confirm=confirmation(report, factory, device=device,
                                                backward=backward))


def confirm_report(report: Report, factory: Optional[Callable[[], nn.Module]] = None, *,
                   device: str | torch.device = "auto", backward: bool = False) -> Confirmation:
    """`confirmation`, also recorded as `report.confirm` (the older, in-place form of
    `confirmed`; it records even onto an assembled, otherwise frozen Report).

    Example:
        >>> import torch, shapecheck
        >>> report = shapecheck.check(torch.nn.Conv2d(3, 8, 3), (1, 3, 32, 32))
        >>> confirm_report(report, device="cpu") is report.confirm
        True
    """
    conf = confirmation(report, factory, device=device, backward=backward)
    object.__setattr__(report, "confirm", conf)  # bypasses the freeze, for old callers only
    return conf


def confirmation(report: Report, factory: Optional[Callable[[], nn.Module]] = None, *,
                 device: str | torch.device = "auto", backward: bool = False) -> Confirmation:
    """Run `report`'s model for real and confirm its predictions; `report` is not changed.

    Args:
        report: a `Report` from `shapecheck.check` (it must hold the traced graph).
        factory: builds a fresh model with real weights (the loader's); without it the
            analysed `report.model` is copied and materialised (re-initialised if on meta).
        device: "auto" (CUDA when available), "cpu", "cuda" or "cuda:N".
        backward: also run one backward pass of `output.sum()` on the fully fixed model.

    Returns:
        The `Confirmation`; problems met while running (out of memory, a failing factory)
        are in its `error`, never raised.

    Raises:
        ConfirmError: the device cannot be used (`cuda` without CUDA) or the report has no
            traced graph to run.

    Example:
        >>> import torch, shapecheck
        >>> report = shapecheck.check(torch.nn.Conv2d(3, 8, 3), (1, 3, 32, 32))
        >>> c = confirmation(report, device="cpu")
        >>> c.nodes_compared == c.nodes_agree, c.predicted_errors, c.error, report.confirm
        (True, 0, None, None)
    """
    dev = resolve_device(device)
    if report.graph_module is None:
        why = f" (analysis failed: {report.error.message})" if report.error else ""
        raise ConfirmError(f"{report.target}: nothing to confirm, no traced graph{why}")
    report = report.ungrouped()  # each add is run and fixed in turn, grouped or not
    start = time.perf_counter()
    reset_peak_memory(dev)
    chain = Chain(report, dev, backward)
    rng_devices = [dev.index] if dev.type == "cuda" else []
    with torch.random.fork_rng(devices=rng_devices):  # leave the caller's RNG state alone
        torch.manual_seed(0)
        try:
            chain.build(factory)
            chain.run()
        except OutOfMemoryAt as exc:
            chain.error = out_of_memory_message(dev, report.input_shapes,
                                                chain.where_text(exc.node))
        except Exception as exc:  # a run problem is reported, never a crash
            if is_out_of_memory(exc):
                chain.error = out_of_memory_message(dev, report.input_shapes, chain.stage)
            else:
                chain.error = f"confirm failed: {type(exc).__name__}: {exc}"
        finally:
            chain.note_coverage()
            chain.release()
    conf = Confirmation(
        device=describe_device(dev),
        nodes_compared=chain.compared,
        nodes_agree=chain.agree,
        predicted_errors=len(report.errors),
        errors_confirmed=chain.errors_confirmed,
        fixes_confirmed=chain.fixes_confirmed,
        seconds=time.perf_counter() - start,
        peak_memory_bytes=peak_memory_bytes(dev),
        disagreements=chain.disagreements,
        events=chain.events,
        error=chain.error,
    )
    return conf
