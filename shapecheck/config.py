"""`[tool.shapecheck]` in the nearest pyproject.toml: defaults that command-line flags override.

    [tool.shapecheck]
    targets = ["models/resnet.py", "examples/keras_resnext.py:build"]
    input = "1,3,224,224"          # or a list, one shape per model input
    select = ["SC1"]
    ignore = ["SC104"]
    format = "text"
    timeout = 120                  # seconds per target (0: no limit)
    sizes = "32..1024"             # every failing input size in it is an error (false: off)

Target paths are relative to the directory of that pyproject.toml.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from typing import Any, Optional

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10 has no tomllib; tomli is its backport
    try:
        import tomli as tomllib
    except ImportError:
        tomllib = None  # type: ignore[assignment]

from shapecheck.reporters import FORMATS

KEYS = ("targets", "input", "select", "ignore", "format", "detail", "device", "timeout",
        "sizes")


class ConfigError(ValueError):
    """The `[tool.shapecheck]` table is malformed; the message names the file."""


@dataclass
class Config:
    """Settings from `[tool.shapecheck]`; empty (all None/[]) when there is no table."""

    path: Optional[str] = None
    targets: list[str] = field(default_factory=list)
    input: list[str] = field(default_factory=list)
    select: list[str] = field(default_factory=list)
    ignore: list[str] = field(default_factory=list)
    format: Optional[str] = None
    detail: Optional[str] = None
    device: Optional[str] = None
    timeout: Optional[float] = None  # seconds per target; 0: no limit
    sizes: Any = None  # None: the default proof; True/False; or a range text like "32..512"
    warnings: list[str] = field(default_factory=list)


def find_pyproject(start: Optional[str] = None) -> Optional[str]:
    """The nearest pyproject.toml in `start` (default: the working directory) or above.

    Example:
        >>> find_pyproject("/")  # doctest: +SKIP
        None
    """
    directory = os.path.abspath(start or os.getcwd())
    while True:
        candidate = os.path.join(directory, "pyproject.toml")
        if os.path.isfile(candidate):
            return candidate
        parent = os.path.dirname(directory)
        if parent == directory:
            return None
        directory = parent


def load_config(start: Optional[str] = None) -> Config:
    """Read `[tool.shapecheck]` from the nearest pyproject.toml (an empty Config if none).

    Raises:
        ConfigError: the file is not valid TOML or a value has the wrong type.

    Example:
        >>> load_config("/").targets  # doctest: +SKIP
        []
    """
    path = find_pyproject(start)
    if path is None:
        return Config()
    if tomllib is None:
        return Config(path=path, warnings=[f"{path}: install tomli to read [tool.shapecheck]"])
    try:
        with open(path, "rb") as handle:
            document = tomllib.load(handle)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{_shown(path)}: cannot read it: {exc}") from None
    table = document.get("tool", {}).get("shapecheck")
    if table is None:
        return Config(path=path)
    if not isinstance(table, dict):
        raise ConfigError(f"{_shown(path)}: [tool.shapecheck] must be a table")
    return parse_table(table, path)


def parse_table(table: dict[str, Any], path: str) -> Config:
    """Validate a `[tool.shapecheck]` table read from `path`.

    Example:
        >>> parse_table({"select": "SC1, SC2", "targets": ["m.py"]}, "/p/pyproject.toml").select
        ['SC1', 'SC2']
    """
    shown = _shown(path)
    base = os.path.dirname(path)
    config = Config(path=path)
    for key in table:
        if key not in KEYS:
            config.warnings.append(f"{shown}: unknown key [tool.shapecheck] {key!r} ignored "
                                   f"(known: {', '.join(KEYS)})")
    config.targets = [_relative_target(t, base) for t in _strings(table, "targets", shown)]
    config.input = _strings(table, "input", shown, split_commas=False)
    config.select = _strings(table, "select", shown)
    config.ignore = _strings(table, "ignore", shown)
    for key, allowed in (("format", FORMATS), ("detail", ("blocks", "layers", "ops")),
                         ("device", None)):
        value = table.get(key)
        if value is None:
            continue
        if not isinstance(value, str) or (allowed and value not in allowed):
            choices = f" (one of {', '.join(allowed)})" if allowed else ""
            raise ConfigError(f"{shown}: [tool.shapecheck] {key} must be a string{choices}, "
                              f"not {value!r}")
        setattr(config, key, value)
    timeout = table.get("timeout")
    if timeout is not None:
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout < 0:
            raise ConfigError(f"{shown}: [tool.shapecheck] timeout must be a number of "
                              f"seconds (0: no limit), not {timeout!r}")
        config.timeout = float(timeout)
    config.sizes = _sizes(table.get("sizes"), shown)
    return config


def _sizes(value: Any, shown: str) -> Any:
    """`sizes = true | false | "32..512"` (as `--sizes` / `--no-sizes` / `--sizes RANGE`).

    >>> _sizes("H=32..512", "pyproject.toml"), _sizes(False, "pyproject.toml")
    ('H=32..512', False)
    """
    if value is None or isinstance(value, bool):
        return value
    from shapecheck.analysis.sizes import parse_ranges

    try:
        if not isinstance(value, str):
            raise ValueError("expected true, false or a range such as \"32..512\"")
        parse_ranges(value)
    except ValueError as exc:
        raise ConfigError(f"{shown}: [tool.shapecheck] sizes {value!r}: {exc}") from None
    return value


def _strings(table: dict[str, Any], key: str, shown: str, split_commas: bool = True) -> list[str]:
    value = table.get(key)
    if value is None:
        return []
    if isinstance(value, str):
        items = value.split(",") if split_commas else [value]
    elif isinstance(value, list) and all(isinstance(v, str) for v in value):
        items = value
    else:
        raise ConfigError(f"{shown}: [tool.shapecheck] {key} must be a string or a list of "
                          f"strings, not {value!r}")
    return [item.strip() for item in items if item.strip()]


def _relative_target(target: str, base: str) -> str:
    """A target path from the config's directory, shown relative to the working directory."""
    if os.path.isabs(target):
        return target
    path, sep, name = target.partition(":")
    absolute = os.path.normpath(os.path.join(base, path))
    try:
        shown = os.path.relpath(absolute)
    except ValueError:  # another drive on Windows
        shown = absolute
    return f"{shown}{sep}{name}"


def _shown(path: str) -> str:
    relative = os.path.relpath(path)
    return path if relative.startswith("..") else relative
