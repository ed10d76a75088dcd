"""From a command-line target (`path.py` or `path.py:NAME`) to models and example inputs.

The user's file is imported as a module (its directory on `sys.path`, a unique module name,
`__name__` never "__main__", so `if __name__ == "__main__":` blocks do not run). Without
`:NAME`, the file is searched for what it offers (see `discover`). Example inputs come from
`--input`, else the file (`INPUT_SHAPES`, `INPUT_SHAPE`, `example_inputs()`); when none is
given, `inputs` stays None and the engine infers one from the first layer (and says so).

Nothing here raises for a user's mistake: every failure becomes a `TargetError` with the
user's file and line, carried by the `LoadedTarget` it concerns.
"""

from __future__ import annotations

import ast
import difflib
import hashlib
import importlib
import importlib.machinery
import importlib.util
import inspect
import os
import re
import sys
import types
from dataclasses import dataclass, field
from typing import Any, Callable, Optional, Union

import torch
from torch import nn

from shapecheck.load.declared import (Inputs, InputSpecError, normalize_inputs,
                                      _resolve_declared_inputs)
from shapecheck.load.execute import (NotPythonSource, UserFileLoader, explain, raised_by_user,
                                     read_source, user_environment)
from shapecheck.load.frames import (describe_exception, display_path, exception_location,
                                    format_traceback, is_user_file)
from shapecheck.load.limits import TargetTimeout, time_limit
from shapecheck.load.notebook import NotebookError, is_notebook, notebook_place
from shapecheck.load.toplevel import skipped_note
from shapecheck.report import Location, Shape, TargetError

FACTORY_NAMES = ("build", "model", "create_model")
FACTORY_PREFIXES = ("build_", "make_model")
# Front ends for other frameworks' files (shapecheck.keras registers one): each is called as
# `claim(spec, path, attr, inputs)` and returns that file's targets, or None if not its own.
FRONT_ENDS: list[Callable[[str, str, Optional[str], Any], Optional[list["LoadedTarget"]]]] = []


@dataclass
class LoadedTarget:
    """One model to check, or the reason it cannot be.

    `name` is `path:attr` with the path as the user gave it; `factory` is what
    `build.build_model` accepts (a class, a no-argument function or a module instance);
    `inputs` is None when neither --input nor the file gives one; `discovered` is
    True when the model was found by discovery rather than named.
    """

    name: str
    path: str
    attr: Optional[str] = None
    factory: Any = None
    inputs: Optional[Inputs] = None
    input_source: Optional[str] = None
    kind: Optional[str] = None  # "instance", "function" or "class"
    line: Optional[int] = None
    discovered: bool = False
    nothing_found: bool = False  # the file offers no model (skipped when a directory is searched)
    notes: list[str] = field(default_factory=list)
    error: Optional[TargetError] = None
    traceback: Optional[str] = None
    tally: Optional["FileTally"] = None  # shared by the models discovered in one file


@dataclass
class FileTally:
    """What discovery found in one file and what checking made of it: a file whose
    discovered classes all turn out not to be models (no parameters, no forward) offers
    nothing, an error unless the file was met in a directory search."""

    path: str
    remaining: int
    in_directory: bool = False
    checked: int = 0
    not_models: list[str] = field(default_factory=list)



# ---------------------------------------------------------------------------- targets


def parse_target(spec: str) -> tuple[str, Optional[str]]:
    """Split `path.py:NAME` into path and NAME (None when absent).

    A colon that is part of the path (`C:\\models\\x.py`) is not taken for the separator.

    Example:
        >>> parse_target("examples/x.py:build"), parse_target("x.py")
        (('examples/x.py', 'build'), ('x.py', None))
    """
    path, sep, name = spec.rpartition(":")
    if sep and path and re.fullmatch(r"[A-Za-z_][\w.]*", name) and not os.path.exists(spec):
        return path, name
    return spec, None


def load_targets(spec: str, inputs: Any = None, *, run_all: bool = False,
                 timeout: Optional[float] = None) -> list[LoadedTarget]:
    """Import `spec`'s file and return the models it names or offers, with their inputs.

    Args:
        spec: `path.py`, `path.py:NAME`, or a directory (every `*.py` below it that
            offers a model; files that offer none, tests, `conftest.py`, `setup.py` and
            names starting with `_` or `.` are skipped). Notebooks (`.ipynb`) count too.
        inputs: the `--input` values (shape strings, shapes or tensors), which override
            whatever the file declares; None to use the file's own or a default.
        run_all: run the whole file (`--exec`); by default only its definitions run
            (imports, functions, classes, assignments; see `load.toplevel`).
        timeout: seconds the import may take (None: no limit).

    Returns:
        One `LoadedTarget` per model, in source order; a failure is a single target with
        `error` set (kind load or input) naming the file and line.

    Example:
        >>> [t.name for t in load_targets("models/resnet.py:resnet18")]  # doctest: +SKIP
        ['models/resnet.py:resnet18']
    """
    path, attr = parse_target(spec)
    given_inputs: Optional[Inputs] = None
    if inputs is not None and not (isinstance(inputs, (list, tuple)) and len(inputs) == 0):
        try:
            given_inputs = normalize_inputs(inputs, "--input")
        except InputSpecError as exc:
            return [LoadedTarget(spec, path, attr, error=TargetError("input", str(exc)))]
    if os.path.isdir(path) and attr is None:
        return _load_directory(path, given_inputs, run_all, timeout)
    for claim in FRONT_ENDS:
        claimed = claim(spec, path, attr, given_inputs)
        if claimed is not None:
            return claimed
    notes: list[str] = []
    module_or_failure = _import_target_file(spec, path, run_all, timeout, notes)
    if isinstance(module_or_failure, LoadedTarget):
        return [module_or_failure]
    module = module_or_failure
    definitions = top_level_definitions(path)
    if attr is not None:
        targets = [_named_target(module, path, attr, definitions)]
    else:
        targets = discover(module, path, definitions)
        if not targets:
            return [_no_model_found(module, path, definitions)]
    note = skipped_note(_skipped.get(os.path.realpath(path), []),
                        notebook_place(path) if is_notebook(path) else None)
    notes += [note] if note else []
    tally = FileTally(path, len(targets)) if attr is None else None
    for target in targets:
        target.notes[:0] = notes
        target.tally = tally
        if target.error is None:
            _resolve_declared_inputs(target, module, definitions, given_inputs)
    return targets


def _load_directory(directory: str, inputs: Any, run_all: bool = False,
                    timeout: Optional[float] = None) -> list[LoadedTarget]:
    files = []
    for root, dirs, names in os.walk(directory):
        dirs[:] = sorted(d for d in dirs if not d.startswith((".", "_")))
        files += [os.path.join(root, n) for n in sorted(names) if _model_file_name(n)]
    targets: list[LoadedTarget] = []
    for file in files:
        found = load_targets(file, inputs, run_all=run_all, timeout=timeout)
        for target in found:
            if target.tally is not None:
                target.tally.in_directory = True
        # In a directory, a file without models is a helper, not a mistake.
        if not (len(found) == 1 and found[0].nothing_found):
            targets += found
    if not targets:
        message = f"no model found in any Python file under {directory}"
        return [LoadedTarget(directory, directory, error=TargetError("load", message))]
    return targets


def _model_file_name(name: str) -> bool:
    """Python files (and notebooks) a directory search imports: not private, not tests or
    build scripts."""
    return (name.endswith((".py", ".ipynb")) and not name.startswith(("_", ".", "test_"))
            and not name.endswith("_test.py") and name not in ("conftest.py", "setup.py"))


def _import_target_file(spec: str, path: str, run_all: bool = False,
                        timeout: Optional[float] = None,
                        notes: Optional[list[str]] = None) -> Union[types.ModuleType, LoadedTarget]:
    if not os.path.exists(path):
        return LoadedTarget(spec, path, error=TargetError(
            "load", f"no such file: {path}"))
    if os.path.isdir(path):
        return LoadedTarget(spec, path, error=TargetError(
            "load", f"{path} is a directory; name a Python file (path.py or path.py:NAME)"))
    try:
        with user_environment(path, notes), time_limit(timeout):
            return import_file(path, run_all=run_all)
    except (NotPythonSource, NotebookError) as exc:
        message = str(exc).replace(os.path.realpath(path), path)
        return LoadedTarget(spec, path, error=TargetError("load", message, Location(path, 1)))
    except BaseException as exc:  # the user's module-level code may raise anything
        if isinstance(exc, KeyboardInterrupt) and not raised_by_user(exc):
            raise
        why = explain(exc)
        message = f"importing {path} failed: {describe_exception(exc)}"
        if why:
            message = f"importing {path} failed: {why}"
        location = getattr(exc, "location", None) if isinstance(exc, TargetTimeout) else None
        return LoadedTarget(spec, path, error=TargetError(
            "load", message, location or exception_location(exc, path)),
            traceback=format_traceback(exc))


_imported: dict[tuple[str, int, int, bool], types.ModuleType] = {}
_skipped: dict[str, list] = {}  # real path -> the top-level code its last import skipped


def import_file(path: str, run_all: bool = False) -> types.ModuleType:
    """Import the Python file at `path` as a fresh module and return it.

    The file's directory goes first on `sys.path` (as when it is run as a script). A file
    inside a package (a directory with `__init__.py`) is imported under its dotted name, so
    its relative imports work; any other file under a unique name `shapecheck_user_<stem>_<hash>`.
    A file is imported once per process unless it changed. Only the file's definitions run
    unless `run_all` (see `load.toplevel`); a notebook runs its code cells.

    Example:
        >>> import_file("models/resnet.py").__name__  # doctest: +SKIP
        'shapecheck_user_resnet_1a2b3c4d'
    """
    real = os.path.realpath(path)
    stat = os.stat(real)
    key = (real, stat.st_mtime_ns, stat.st_size, run_all)
    if key in _imported:
        return _imported[key]
    directory = os.path.dirname(real)
    _prepend_sys_path(directory)
    loader = UserFileLoader(real, run_all)
    module = _import_in_package(real, loader) or _import_standalone(real, loader)
    _skipped[real] = loader.skipped
    _imported[key] = module
    return module


def _prepend_sys_path(directory: str) -> None:
    if directory not in sys.path:
        sys.path.insert(0, directory)


def _import_in_package(real: str, loader: UserFileLoader) -> Optional[types.ModuleType]:
    """Import a file that lives in a package under its dotted name; None if it does not."""
    parts = [os.path.splitext(os.path.basename(real))[0]]
    directory = os.path.dirname(real)
    while os.path.isfile(os.path.join(directory, "__init__.py")):
        parts.insert(0, os.path.basename(directory))
        directory = os.path.dirname(directory)
    if len(parts) == 1 or not all(p.isidentifier() for p in parts):
        return None
    dotted = ".".join(parts)
    existing = sys.modules.get(parts[0])
    if existing is not None and not _same_dir(existing, os.path.join(directory, parts[0])):
        return None  # another package of that name is imported already: stay out of its way
    _prepend_sys_path(directory)
    importlib.import_module(dotted.rpartition(".")[0])  # the package's __init__ runs whole
    return _execute(dotted, real, loader)


def _same_dir(package: types.ModuleType, directory: str) -> bool:
    paths = list(getattr(package, "__path__", []) or [])
    return any(os.path.realpath(p) == os.path.realpath(directory) for p in paths)


def _import_standalone(real: str, loader: UserFileLoader) -> types.ModuleType:
    stem = re.sub(r"\W", "_", os.path.splitext(os.path.basename(real))[0])
    digest = hashlib.sha1(real.encode()).hexdigest()[:8]
    return _execute(f"shapecheck_user_{stem}_{digest}", real, loader)


def _execute(name: str, real: str, loader: UserFileLoader) -> types.ModuleType:
    """Run the file as module `name` (registered in sys.modules while and after it runs)."""
    spec = importlib.util.spec_from_file_location(name, real, loader=loader)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    previous = sys.modules.get(name)
    sys.modules[name] = module  # dataclasses, pickling and typing look modules up here
    try:
        loader.exec_module(module)
    except BaseException:
        if previous is None:
            sys.modules.pop(name, None)
        else:
            sys.modules[name] = previous
        raise
    package, _, child = name.rpartition(".")
    if package and package in sys.modules:
        setattr(sys.modules[package], child, module)
    return module


# ---------------------------------------------------------------------------- discovery


@dataclass(frozen=True)
class Definition:
    """A name bound at the top level of a file: how (def, class, assign) and on which line."""

    name: str
    kind: str
    line: int


def top_level_definitions(path: str) -> dict[str, Definition]:
    """Names bound at module level in `path` (inside `if`/`try`/`with` too), first binding wins.

    Example:
        >>> defs = top_level_definitions(__file__)
        >>> defs["load_targets"].kind
        'def'
    """
    try:
        tree = ast.parse(read_source(path), filename=path)
    except (OSError, SyntaxError, ValueError):
        return {}
    found: dict[str, Definition] = {}

    def visit(statements: list[ast.stmt]) -> None:
        for stmt in statements:
            if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
                found.setdefault(stmt.name, Definition(stmt.name, "def", stmt.lineno))
            elif isinstance(stmt, ast.ClassDef):
                found.setdefault(stmt.name, Definition(stmt.name, "class", stmt.lineno))
            elif isinstance(stmt, (ast.Assign, ast.AnnAssign)):
                targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
                for target in targets:
                    for node in ast.walk(target):
                        if isinstance(node, ast.Name):
                            found.setdefault(node.id, Definition(node.id, "assign", stmt.lineno))
            elif isinstance(stmt, (ast.If, ast.Try, ast.With)):
                for block in ("body", "orelse", "finalbody"):
                    visit(getattr(stmt, block, []) or [])
                for handler in getattr(stmt, "handlers", []) or []:
                    visit(handler.body)

    visit(tree.body)
    return found


def discover(module: types.ModuleType, path: str,
             definitions: Optional[dict[str, Definition]] = None) -> list[LoadedTarget]:
    """The models a file offers, in source order.

    In order of appearance: module-level `nn.Module` instances assigned in the file;
    functions defined in the file, callable without arguments, that are annotated to return
    an `nn.Module` (or subclass) or are named `build`, `model`, `create_model`, `build_*`
    or `make_model*`; `nn.Module` subclasses defined in the file and constructible without
    arguments. Names starting with `_` are skipped. A module-level `SHAPECHECK_TARGETS`
    list of names replaces the search.

    Example:
        >>> path = "models/resnet.py"
        >>> [t.attr for t in discover(import_file(path), path)][:2]  # doctest: +SKIP
        ['resnet18', 'resnet34']
    """
    definitions = definitions if definitions is not None else top_level_definitions(path)
    explicit = getattr(module, "SHAPECHECK_TARGETS", None)
    if isinstance(explicit, (list, tuple)) and explicit:
        return [_named_target(module, path, str(name), definitions) for name in explicit]
    targets: list[LoadedTarget] = []
    seen: set[int] = set()
    for definition in sorted(definitions.values(), key=lambda d: d.line):
        if definition.name.startswith("_") or definition.name not in vars(module):
            continue
        obj = vars(module)[definition.name]
        kind = _model_kind(obj, module, path, definition, by_name=False)
        if kind is None or id(obj) in seen:
            continue
        seen.add(id(obj))
        targets.append(LoadedTarget(f"{path}:{definition.name}", path, definition.name, obj,
                                    kind=kind, line=definition.line, discovered=True))
    return targets


def _model_kind(obj: Any, module: types.ModuleType, path: str, definition: Optional[Definition],
                by_name: bool) -> Optional[str]:
    """"instance", "function" or "class" when `obj` is a model the file offers, else None.

    `by_name` relaxes the rules for a NAME the user gave: any no-argument callable counts.
    """
    if isinstance(obj, nn.Module):
        return "instance" if by_name or (definition and definition.kind == "assign") else None
    if inspect.isclass(obj):
        if not issubclass(obj, nn.Module) or inspect.isabstract(obj):
            return None
        if not by_name and obj.__module__ != module.__name__:
            return None
        return "class" if _callable_without_arguments(obj) else None
    if callable(obj):
        if by_name:
            return "function" if _callable_without_arguments(obj) else None
        function = inspect.unwrap(obj)
        code = getattr(function, "__code__", None)
        if code is None or os.path.realpath(code.co_filename) != os.path.realpath(path):
            return None
        if not _callable_without_arguments(obj):
            return None
        if _named_like_factory(definition.name if definition else obj.__name__):
            return "function"
        return "function" if _returns_module(obj) else None
    return None


def _named_like_factory(name: str) -> bool:
    return name in FACTORY_NAMES or name.startswith(FACTORY_PREFIXES)


def _callable_without_arguments(obj: Any) -> bool:
    try:
        signature = inspect.signature(obj)
    except (TypeError, ValueError):
        return False
    return all(p.default is not p.empty or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
               for p in signature.parameters.values())


def _required_parameters(obj: Any) -> list[str]:
    try:
        signature = inspect.signature(obj)
    except (TypeError, ValueError):
        return []
    return [p.name for p in signature.parameters.values()
            if p.default is p.empty and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]


def _returns_module(function: Callable[..., Any]) -> bool:
    """True when the return annotation is `nn.Module` or a subclass (strings resolved)."""
    try:
        annotation = inspect.signature(function).return_annotation
    except (TypeError, ValueError):
        return False
    if annotation is inspect.Signature.empty:
        return False
    if isinstance(annotation, str):
        try:
            annotation = eval(annotation, getattr(function, "__globals__", {}))  # noqa: S307
        except Exception:  # an annotation naming something not importable at run time
            return bool(re.search(r"(^|\.)\w*Module$|\bnn\.\w+$", annotation.strip()))
    return inspect.isclass(annotation) and issubclass(annotation, nn.Module)


def _named_target(module: types.ModuleType, path: str, attr: str,
                  definitions: dict[str, Definition]) -> LoadedTarget:
    name = f"{path}:{attr}"
    obj: Any = module
    for part in attr.split("."):
        if not hasattr(obj, part):
            return LoadedTarget(name, path, attr, error=TargetError(
                "load", _missing_name_message(module, path, attr, definitions),
                Location(path, 1)))
        obj = getattr(obj, part)
    definition = definitions.get(attr)
    line = definition.line if definition else _definition_line(obj)
    kind = _model_kind(obj, module, path, definition, by_name=True)
    if kind is None:
        return LoadedTarget(name, path, attr, line=line, error=TargetError(
            "load", _not_a_model_message(obj, attr), Location(path, line or 1)))
    return LoadedTarget(name, path, attr, obj, kind=kind, line=line)


def _definition_line(obj: Any) -> Optional[int]:
    try:
        return inspect.getsourcelines(obj)[1]
    except (OSError, TypeError):
        return None


def _missing_name_message(module: types.ModuleType, path: str, attr: str,
                          definitions: dict[str, Definition]) -> str:
    offered = [t.attr for t in discover(module, path, definitions)]
    names = [n for n in definitions if not n.startswith("_")]
    close = difflib.get_close_matches(attr, names, n=1)
    message = f"{path} has no {attr!r}"
    message += f"; did you mean {close[0]!r}?" if close else "."
    if offered:
        message += f" It offers: {', '.join(offered)}."
    return message


def _not_a_model_message(obj: Any, attr: str) -> str:
    if inspect.isclass(obj) and issubclass(obj, nn.Module):
        required = ", ".join(_required_parameters(obj))
        return (f"{attr} needs arguments ({required}) to be built; name a function that "
                f"returns a configured model, e.g. def build(): return {attr}(...)")
    if callable(obj):
        required = ", ".join(_required_parameters(obj))
        return (f"{attr}() needs arguments ({required}); name a function callable "
                f"without arguments that returns an nn.Module")
    return (f"{attr} is a {type(obj).__name__}, not an nn.Module, an nn.Module subclass or a "
            f"function returning one")


def _no_model_found(module: types.ModuleType, path: str,
                    definitions: dict[str, Definition]) -> LoadedTarget:
    needing_arguments = [
        d for d in sorted(definitions.values(), key=lambda d: d.line)
        if d.kind == "class" and inspect.isclass(vars(module).get(d.name))
        and issubclass(vars(module)[d.name], nn.Module)]
    message = (f"no model found in {path}: it has no module-level nn.Module instance, no "
               f"function callable without arguments that returns one (annotated "
               f"'-> nn.Module' or named build, model, create_model, build_* or make_model*), "
               f"and no nn.Module subclass constructible without arguments")
    line = 1
    if needing_arguments:
        first = needing_arguments[0]
        required = ", ".join(_required_parameters(vars(module)[first.name]))
        message += (f" ({first.name} needs arguments: {required}). Add a `def build() -> "
                    f"nn.Module:` or name one with {path}:NAME")
        line = first.line
    else:
        message += f". Name one with {path}:NAME"
    return LoadedTarget(path, path, error=TargetError("load", message, Location(path, line)),
                        nothing_found=True)


