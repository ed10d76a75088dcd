"""Where `--confirm` runs: device choice, its description, peak memory and OOM advice.

Kept apart from the run itself so that the CLI can validate `--device` before any model is
built, and so that the memory bookkeeping (CUDA allocator vs process RSS) lives in one place.
"""

from __future__ import annotations

import sys
from typing import Optional, Sequence

import torch

try:  # Unix only; on Windows the CPU peak is simply not reported
    import resource
except ImportError:  # pragma: no cover - not on the platforms we test
    resource = None  # type: ignore[assignment]


class ConfirmError(Exception):
    """`--confirm` cannot run at all (for example `--device cuda` without CUDA).

    The CLI turns it into exit status 2. Problems met *during* a run (out of memory, a
    failing factory) are not raised: they land in `Confirmation.error`.

    Example:
        >>> raise ConfirmError("--device cuda: CUDA is not available")
        Traceback (most recent call last):
        ...
        shapecheck.confirm.device.ConfirmError: --device cuda: CUDA is not available
    """


# torch >= 2.4 has torch.OutOfMemoryError; older ones only the CUDA-specific name.
OutOfMemory: type[BaseException] = getattr(torch, "OutOfMemoryError",
                                           torch.cuda.OutOfMemoryError)


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """The torch device for `--device auto|cpu|cuda|cuda:N`.

    "auto" is CUDA when `torch.cuda.is_available()`, else CPU. Asking for CUDA explicitly
    where there is none raises `ConfirmError` instead of silently running on the CPU.

    Example:
        >>> resolve_device("cpu")
        device(type='cpu')
    """
    text = str(device).strip().lower()
    if text == "auto":
        return torch.device("cuda", torch.cuda.current_device()) \
            if torch.cuda.is_available() else torch.device("cpu")
    try:
        dev = torch.device(text)
    except (RuntimeError, ValueError) as exc:
        raise ConfirmError(f"--device {device}: not a device ({exc}); "
                           "use auto, cpu, cuda or cuda:N") from None
    if dev.type == "cpu":
        return torch.device("cpu")
    if dev.type != "cuda":
        raise ConfirmError(f"--device {device}: only auto, cpu, cuda and cuda:N are supported")
    if not torch.cuda.is_available():
        raise ConfirmError(f"--device {device}: CUDA is not available on this machine "
                           f"(torch {torch.__version__}); use --device cpu or auto")
    index = torch.cuda.current_device() if dev.index is None else dev.index
    if index >= torch.cuda.device_count():
        raise ConfirmError(f"--device {device}: there are only {torch.cuda.device_count()} "
                           "CUDA device(s)")
    return torch.device("cuda", index)


def describe_device(dev: torch.device) -> str:
    """A human label: "cuda:0 (NVIDIA H100 80GB HBM3)" or "cpu (2 threads)".

    Example:
        >>> describe_device(torch.device("cpu")).startswith("cpu (")
        True
    """
    if dev.type == "cuda":
        return f"cuda:{dev.index} ({torch.cuda.get_device_name(dev.index)})"
    threads = torch.get_num_threads()
    return f"cpu ({threads} thread{'s' if threads != 1 else ''})"


def reset_peak_memory(dev: torch.device) -> None:
    """Start a fresh CUDA peak; the CPU peak (process RSS) cannot be reset."""
    if dev.type == "cuda":
        torch.cuda.reset_peak_memory_stats(dev)


def peak_memory_bytes(dev: torch.device) -> Optional[int]:
    """Peak CUDA allocation since `reset_peak_memory`, or the process's peak RSS on CPU.

    Example:
        >>> peak_memory_bytes(torch.device("cpu")) > 0
        True
    """
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)
        return int(torch.cuda.max_memory_allocated(dev))
    if resource is None:  # pragma: no cover
        return None
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # Linux reports kilobytes, macOS bytes.
    return int(rss if sys.platform == "darwin" else rss * 1024)


def is_out_of_memory(exc: BaseException) -> bool:
    """True for a CUDA OOM and for the CPU allocator's "can't allocate memory"."""
    if isinstance(exc, OutOfMemory):
        return True
    return isinstance(exc, RuntimeError) and "can't allocate memory" in str(exc)


def out_of_memory_message(dev: torch.device, input_shapes: Sequence[Sequence[int]],
                          where: str) -> str:
    """The advice for an out-of-memory run: what did not fit, and the same input at half
    the batch.

    Example:
        >>> msg = out_of_memory_message(torch.device("cpu"), [(64, 3, 224, 224)], "node conv1")
        >>> msg.split("; ")[1]
        'try half the batch: --input 32,3,224,224'
    """
    label = describe_device(dev)
    kind = "CUDA out of memory" if dev.type == "cuda" else "out of memory"
    shapes = ", ".join("x".join(str(d) for d in s) for s in input_shapes) or "?"
    msg = f"{kind} on {label} at {where} with input {shapes}"
    if input_shapes and len(input_shapes[0]) and input_shapes[0][0] > 1:
        halves = " ".join("--input " + ",".join(str(d) for d in (max(1, s[0] // 2), *s[1:]))
                          for s in input_shapes if len(s))
        return f"{msg}; try half the batch: {halves}"
    return f"{msg}; the batch is already 1: try a smaller input size or --device cpu"
