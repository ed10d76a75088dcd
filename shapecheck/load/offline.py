"""No network while the user's code runs: pretrained weights are skipped, downloads refused.

Shape analysis needs no weight values. While a file is imported and its models are built,
`torch.hub.load_state_dict_from_url` (which torchvision's `weights=` and timm's
`pretrained=True` go through) returns an empty stand-in that `load_state_dict` accepts
without loading anything, and a note names the line that asked for the weights. Any other
connection (`torch.hub.load`, `urllib`, a socket) raises `NetworkBlocked`, whose message
names what was attempted.
"""

from __future__ import annotations

import contextlib
import socket
import sys
from typing import Any, Iterator, Optional

import torch
import torch.nn as nn

from shapecheck.load.frames import is_user_file


class NetworkBlocked(OSError):
    """The user's code tried to reach the network while shapecheck was checking it."""


class _NoWeights(dict):
    """What a weight download returns meanwhile: an empty state dict `load_state_dict`
    skips. Any other use of it is an empty dict, as if the file had no tensors."""

    def __init__(self, url: str):
        super().__init__()
        self.url = url


@contextlib.contextmanager
def offline(notes: list[str]) -> Iterator[None]:
    """Refuse network access and skip pretrained weights meanwhile; notes are appended.

    Example:
        >>> notes = []
        >>> with offline(notes):
        ...     state = torch.hub.load_state_dict_from_url("https://example.org/w.pth")
        ...     _ = nn.Linear(2, 2).load_state_dict(state)
        >>> notes[0].startswith("pretrained weights were not downloaded")
        True
    """
    original_url = torch.hub.load_state_dict_from_url
    original_load = nn.Module.load_state_dict

    def load_state_dict_from_url(url: str, *args: Any, **kwargs: Any) -> dict:
        where = _user_line()
        note = (f"pretrained weights were not downloaded{where}: shapecheck needs no "
                f"weights, so the model was checked without them")
        if note not in notes:
            notes.append(note)
        return _NoWeights(url)

    def load_state_dict(module: nn.Module, state_dict: Any, *args: Any, **kwargs: Any):
        if isinstance(state_dict, _NoWeights):
            return nn.modules.module._IncompatibleKeys([], [])
        return original_load(module, state_dict, *args, **kwargs)

    def refuse(what: str):
        def refused(*args: Any, **kwargs: Any):
            target = next((a for a in args if isinstance(a, str)), "")
            raise NetworkBlocked(f"{what}({target!r}) needs the network, which shapecheck "
                                 f"does not use: build the model without downloads "
                                 f"(weights=None, pretrained=False)")
        return refused

    patches: list[tuple[Any, str, Any]] = [
        (torch.hub, "load_state_dict_from_url", load_state_dict_from_url),
        (torch.hub, "load", refuse("torch.hub.load")),
        (torch.hub, "download_url_to_file", refuse("torch.hub.download_url_to_file")),
        (nn.Module, "load_state_dict", load_state_dict),
        (socket.socket, "connect", refuse("connecting to")),
        (socket, "create_connection", refuse("connecting to")),
    ]
    # modules that imported the function by name (torchvision, timm) get it too
    for module in list(sys.modules.values()):
        if module is not torch.hub and _is_download(_attribute(module), original_url):
            patches.append((module, "load_state_dict_from_url", load_state_dict_from_url))
    load_state_dict_from_url.shapecheck_original = original_url  # type: ignore[attr-defined]
    saved = [(owner, name, owner.__dict__.get(name, _MISSING)) for owner, name, _ in patches]
    try:
        for owner, name, value in patches:
            setattr(owner, name, value)
        yield
    finally:
        for owner, name, value in reversed(saved):
            if value is _MISSING:
                delattr(owner, name)
            else:
                setattr(owner, name, value)
        # modules imported meanwhile took the stand-in by name: give them the real one
        for module in list(sys.modules.values()):
            if _attribute(module) is load_state_dict_from_url:
                with contextlib.suppress(Exception):
                    setattr(module, "load_state_dict_from_url", original_url)


_MISSING = object()


def _attribute(module: Any) -> Any:
    try:
        return module.__dict__.get("load_state_dict_from_url")
    except Exception:  # an odd object in sys.modules
        return None


def _is_download(function: Any, original: Any) -> bool:
    return function is not None and (
        function is original or getattr(function, "shapecheck_original", None) is original)


def _user_line() -> str:
    """` (asked for at m.py:12)` for the innermost user frame, or ''."""
    from shapecheck.load.frames import display_path

    frame: Optional[Any] = sys._getframe(2)
    while frame is not None:
        if is_user_file(frame.f_code.co_filename):
            return f" (asked for at {display_path(frame.f_code.co_filename)}:{frame.f_lineno})"
        frame = frame.f_back
    return ""
