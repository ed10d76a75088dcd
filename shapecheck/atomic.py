"""The one way shapecheck writes an output file: all of it, or nothing."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Union


def write_atomically(path: Union[str, os.PathLike], data: Union[str, bytes], *,
                     make_parents: bool = False) -> None:
    """Write `data` (text as UTF-8, or bytes) to `path` at once: a temporary file beside
    it, then `os.replace`.

    Whatever goes wrong (missing directory, full disk, an exception while writing), `path`
    keeps its previous content or stays absent; no partial file is left behind.

    Args:
        make_parents: create missing parent directories first (graph files); otherwise a
            missing directory is the caller's mistake and raises.

    Raises:
        OSError: the directory does not exist (without make_parents) or is not writable.

    Example:
        >>> import tempfile, os
        >>> target = os.path.join(tempfile.mkdtemp(), "report.json")
        >>> write_atomically(target, "{}\\n"); open(target).read()
        '{}\\n'
    """
    target = Path(path)
    directory = target.absolute().parent
    if make_parents:
        directory.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=directory, prefix=f".{target.name}.",
                                         suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data.encode("utf-8") if isinstance(data, str) else data)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temporary, 0o666 & ~_umask())  # mkstemp makes 0600; give the usual mode
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
