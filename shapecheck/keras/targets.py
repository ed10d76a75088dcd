"""Keras files on the command line: which files are Keras, and the models they offer.

`claim_file` is registered with `load.targets.FRONT_ENDS` (see `hook`): for a file that
imports Keras it imports the file itself, under `recording` and with weights on meta, so
that module-level models are recorded too, and discovers, like the PyTorch loader, the
module-level `keras.Model` instances and the no-argument builder functions (named `build`,
`model`, `create_model`, `build_*`, `make_model*`, or annotated to return a Model).
Nothing raises for a user's mistake: it becomes a `LoadedTarget` with `error` set.
"""

from __future__ import annotations

import ast
import inspect
import os
from typing import Any, Optional

from shapecheck.keras.backend import INSTALL_HINT, KerasUnavailable, import_keras
from shapecheck.load.frames import describe_exception, exception_location, format_traceback
from shapecheck.load.targets import (FACTORY_NAMES, FACTORY_PREFIXES, LoadedTarget,
                                     import_file, top_level_definitions)
from shapecheck.report import Location, TargetError

KERAS_INSTANCE, KERAS_FUNCTION = "keras_instance", "keras_function"
KERAS_KINDS = frozenset({KERAS_INSTANCE, KERAS_FUNCTION})


def keras_imports(path: str) -> tuple[Optional[int], Optional[int]]:
    """Lines of the first `import keras`-style and the first `tensorflow.keras` import.

    >>> import tempfile
    >>> with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as f:
    ...     _ = f.write("import os\\nfrom keras.layers import Add\\n")
    >>> keras_imports(f.name)
    (2, None)
    """
    try:
        with open(path, "rb") as handle:
            tree = ast.parse(handle.read(), filename=path)
    except (OSError, SyntaxError, ValueError):
        return None, None
    keras_line = tf_line = None
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        for name in names:
            if name == "keras" or name.startswith("keras."):
                keras_line = keras_line or node.lineno
            elif name.startswith(("tensorflow.keras", "tensorflow.python.keras")):
                tf_line = tf_line or node.lineno
    return keras_line, tf_line


def claim_file(spec: str, path: str, attr: Optional[str], inputs: Any) -> Optional[list[LoadedTarget]]:
    """The Keras targets of `path`, or None when it is not a Keras file (PyTorch goes on)."""
    if not path.endswith(".py") or not os.path.isfile(path):
        return None
    keras_line, tf_line = keras_imports(path)
    if tf_line is not None:
        return [_failure(spec, path, attr, tf_line,
                         f"{path} imports tensorflow.keras; shapecheck reads Keras 3: write "
                         f"`import keras` (Keras 3) and run with KERAS_BACKEND=torch")]
    if keras_line is None:
        return None
    try:
        keras = import_keras()
        module = _import(path)
    except KerasUnavailable as exc:
        return [_failure(spec, path, attr, keras_line, str(exc))]
    except BaseException as exc:  # the user's module-level code may raise anything
        if isinstance(exc, KeyboardInterrupt):
            raise
        target = LoadedTarget(spec, path, attr, error=TargetError(
            "load", f"importing {path} failed: {describe_exception(exc)}",
            exception_location(exc, path)), traceback=format_traceback(exc))
        return [target]
    definitions = top_level_definitions(path)
    if attr is not None:
        return [_named(keras, module, path, attr, definitions, inputs)]
    found = []
    for definition in sorted(definitions.values(), key=lambda d: d.line):
        obj = vars(module).get(definition.name)
        if definition.name.startswith("_") or obj is None:
            continue
        kind = _kind(keras, obj, path, definition.name, definition.kind, by_name=False)
        if kind is not None:
            found.append(_target(module, path, definition.name, obj, kind, definition.line,
                                 inputs, discovered=True))
    if not found:
        return [_failure(spec, path, None, 1,
                         f"no Keras model found in {path}: it has no module-level keras.Model "
                         f"and no function callable without arguments named build, model, "
                         f"create_model, build_* or make_model* (or annotated -> keras.Model). "
                         f"Name one with {path}:NAME")]
    return found


def _import(path: str) -> Any:
    keras = import_keras()
    from shapecheck.keras.record import recording

    keras.backend.clear_session()
    with recording(), keras.device("meta"):
        return import_file(path)


def _kind(keras: Any, obj: Any, path: str, name: str, binding: str, by_name: bool) -> Optional[str]:
    if isinstance(obj, keras.Model):
        return KERAS_INSTANCE if by_name or binding == "assign" else None
    if inspect.isclass(obj) or not callable(obj):
        return None
    code = getattr(inspect.unwrap(obj), "__code__", None)
    if not by_name and (code is None or os.path.realpath(code.co_filename) != os.path.realpath(path)):
        return None
    try:
        required = [p for p in inspect.signature(obj).parameters.values()
                    if p.default is p.empty and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
    except (TypeError, ValueError):
        return None
    if required:
        return None
    if by_name or name in FACTORY_NAMES or name.startswith(FACTORY_PREFIXES):
        return KERAS_FUNCTION
    annotation = inspect.signature(obj).return_annotation
    text = annotation if isinstance(annotation, str) else getattr(annotation, "__name__", "")
    return KERAS_FUNCTION if str(text).split(".")[-1] in ("Model", "Sequential", "Functional") else None


def _named(keras: Any, module: Any, path: str, attr: str, definitions: dict, inputs: Any) -> LoadedTarget:
    obj = getattr(module, attr, None)
    definition = definitions.get(attr)
    line = definition.line if definition else 1
    if obj is None:
        return _failure(f"{path}:{attr}", path, attr, 1, f"{path} has no {attr!r}")
    kind = _kind(keras, obj, path, attr, definition.kind if definition else "assign", by_name=True)
    if kind is None:
        return _failure(f"{path}:{attr}", path, attr, line,
                        f"{attr} is not a keras.Model nor a function callable without "
                        f"arguments that returns one")
    return _target(module, path, attr, obj, kind, line, inputs, discovered=False)


def _target(module: Any, path: str, attr: str, obj: Any, kind: str, line: int, inputs: Any,
            discovered: bool) -> LoadedTarget:
    source = "--input"
    if inputs is None:
        per_target = getattr(module, "INPUT_SHAPES", None)
        if isinstance(per_target, dict) and attr in per_target:
            inputs, source = per_target[attr], "INPUT_SHAPES"
        elif hasattr(module, "INPUT_SHAPE"):
            inputs, source = module.INPUT_SHAPE, "INPUT_SHAPE"
    return LoadedTarget(f"{path}:{attr}", path, attr, obj, inputs=inputs,
                        input_source=source if inputs is not None else None, kind=kind,
                        line=line, discovered=discovered)


def _failure(spec: str, path: str, attr: Optional[str], line: int, message: str) -> LoadedTarget:
    return LoadedTarget(spec, path, attr, error=TargetError("load", message, Location(path, line)),
                        nothing_found=message.startswith("no Keras model"))


__all__ = ["KERAS_KINDS", "claim_file", "keras_imports", "INSTALL_HINT"]
