"""A time limit per target: a constructor or import that never returns must not hang CI.

The limit is a `SIGALRM` timer (main thread, POSIX). When it fires, the handler reads the
innermost frame of the user's code, the line the target had reached, and raises
`TargetTimeout`, which derives from `BaseException` so that the user's `except Exception`
cannot swallow it; if a bare `except:` does, it fires again every second.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from types import FrameType
from typing import Iterator, Optional

from shapecheck.load.frames import display_path, is_user_file
from shapecheck.report import Location

DEFAULT_TIMEOUT = 120.0


class TargetTimeout(BaseException):
    """The target ran past its time limit; `location` is the last user line reached."""

    def __init__(self, seconds: float, location: Optional[Location]):
        where = f" (last line reached: {location})" if location else ""
        super().__init__(f"did not finish within the time limit of {seconds:g} s{where}; "
                         f"allow longer with --timeout SECONDS")
        self.seconds = seconds
        self.location = location


@contextlib.contextmanager
def time_limit(seconds: Optional[float]) -> Iterator[None]:
    """Raise `TargetTimeout` if the body runs longer than `seconds` (None or 0: no limit).

    Outside the main thread, or without `SIGALRM`, the body runs without a limit.

    Example:
        >>> import time
        >>> try:
        ...     with time_limit(0.05):
        ...         time.sleep(5)
        ... except TargetTimeout as exc:
        ...     print(exc)
        did not finish within the time limit of 0.05 s; allow longer with --timeout SECONDS
    """
    usable = (seconds and seconds > 0 and hasattr(signal, "setitimer")
              and threading.current_thread() is threading.main_thread())
    if not usable:
        yield
        return

    def fire(signum: int, frame: Optional[FrameType]) -> None:
        raise TargetTimeout(float(seconds), _user_location(frame))

    previous = signal.signal(signal.SIGALRM, fire)
    signal.setitimer(signal.ITIMER_REAL, float(seconds), 1.0)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _user_location(frame: Optional[FrameType]) -> Optional[Location]:
    import linecache

    while frame is not None:
        path = frame.f_code.co_filename
        if is_user_file(path):
            code = linecache.getline(path, frame.f_lineno).strip() or None
            return Location(display_path(path), frame.f_lineno, frame.f_code.co_name, code)
        frame = frame.f_back
    return None
