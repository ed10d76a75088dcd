"""Shared test helpers: loading example/model files by path and finding source lines."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest
import torch

ROOT = Path(__file__).resolve().parent.parent
# model files that the CLI tests load in subprocesses (some broken on purpose), not test
# modules: `--doctest-modules` must not import them
# data for the tests, never collected as tests (some exit or parse argv when imported)
collect_ignore_glob = ["fixtures/*", "reliability/*", "corpus/*", "data/*", "output/*"]


def load_file(relative: str) -> ModuleType:
    """Import a repository file (e.g. "examples/keras_resnext.py") as a module."""
    path = ROOT / relative
    name = "sc_test_" + relative.replace("/", "_").removesuffix(".py")
    if name in sys.modules:
        return sys.modules[name]
    sys.path.insert(0, str(path.parent))
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def line_of(relative: str, text: str) -> int:
    """The 1-based line of the only line of `relative` that contains `text`."""
    lines = (ROOT / relative).read_text().splitlines()
    hits = [i + 1 for i, line in enumerate(lines) if text in line]
    assert len(hits) == 1, f"{text!r} found on lines {hits} of {relative}"
    return hits[0]


def build_meta(factory):
    with torch.device("meta"):
        return factory()


@pytest.fixture
def example():
    """example("keras_resnext", "build") -> (model on meta, its declared input shape)."""

    def make(module_name: str, factory: str):
        module = load_file(f"examples/{module_name}.py")
        shape = getattr(module, "INPUT_SHAPES", {}).get(factory) or module.INPUT_SHAPE
        return build_meta(getattr(module, factory)), shape

    return make
