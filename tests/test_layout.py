"""The package's plan: stage folders, imports that run one way, old paths still working."""

from __future__ import annotations

import ast
import importlib
import warnings
from pathlib import Path

import pytest

from shapecheck._moved import MOVED

PACKAGE = Path(__file__).resolve().parent.parent / "shapecheck"

# The pipeline in order; a module may import only from its own stage or earlier ones.
# Siblings on one rank (confirm, reporters, render) read the Report and never each other.
STAGES = [
    ("core", {"report", "codes", "messages", "i18n", "atomic", "_moved"}),
    ("ops", {"ops"}),
    ("load", {"load"}),
    ("graph", {"graph"}),
    ("analysis", {"analysis", "keras"}),
    ("api", {"api"}),
    ("consumers", {"confirm", "reporters", "render"}),
    ("runner", {"runner", "config", "repair"}),
    ("front", {"cli", "pytest_plugin", "testing", "exercises", "__main__", "__init__"}),
]
RANK = {part: rank for rank, (_, parts) in enumerate(STAGES) for part in parts}


def unit_of(module: str) -> str:
    """`shapecheck.graph.trace` -> "graph"; `shapecheck.api` -> "api"."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def module_name(path: Path) -> str:
    relative = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(relative.parts)
    if parts[-1] == "__init__" and len(parts) > 1:
        parts = parts[:-1] if len(parts) > 2 else parts
    return ".".join(parts)


def imported_modules(path: Path) -> list[str]:
    """Every `shapecheck...` module `path` imports, at any depth (function bodies too)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "shapecheck":
                found += [f"shapecheck.{alias.name}" for alias in node.names
                          if alias.name not in ("__version__",)]
            elif node.module.startswith("shapecheck."):
                found.append(node.module)
        elif isinstance(node, ast.Import):
            found += [a.name for a in node.names if a.name.startswith("shapecheck.")]
    return found


def back_imports() -> list[str]:
    """Imports from an earlier stage to a later one (or between consumer siblings)."""
    bad = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if "items" in path.parts or "starters" in path.parts or "solutions" in path.parts:
            continue  # exercise content: user code, not the package's plan
        source = module_name(path)
        here = unit_of(source)
        for target in imported_modules(path):
            there = unit_of(target)
            if there == here or target == "shapecheck":
                continue
            siblings = RANK[there] == RANK[here] and STAGES[RANK[here]][0] == "consumers"
            if RANK[there] > RANK[here] or siblings:
                bad.append(f"{source} -> {target}")
    return bad


def test_the_package_lists_its_stages():
    folders = {p.name for p in PACKAGE.iterdir() if p.is_dir() and not p.name.startswith("_")}
    assert {"load", "graph", "ops", "analysis", "confirm", "reporters", "render",
            "exercises"} <= folders
    every_unit = {p.stem for p in PACKAGE.glob("*.py")} | folders
    assert every_unit <= set(RANK), sorted(every_unit - set(RANK))


def test_imports_run_one_way():
    assert back_imports() == []


@pytest.mark.parametrize("old", sorted(MOVED))
def test_old_import_paths_are_the_new_modules(old):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        module = importlib.import_module(old)
    assert module is importlib.import_module(MOVED[old])
    assert module.__name__ == MOVED[old]
    if caught:  # the warning fires on the first import of the old name in this process
        assert any(issubclass(w.category, DeprecationWarning) and old in str(w.message)
                   for w in caught)


def test_the_package_facades_keep_their_old_names():
    from shapecheck import confirm, load

    for name in ("InputSpecError", "LoadedTarget", "discover", "exception_location",
                 "import_file", "load_targets", "normalize_inputs", "parse_shape",
                 "parse_target", "top_level_definitions", "describe_exception",
                 "format_traceback"):
        assert callable(getattr(load, name)), name
    for name in ("ConfirmError", "confirm_report"):
        assert callable(getattr(confirm, name)), name
