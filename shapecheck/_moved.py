"""Old import paths of modules that moved into the stage folders, kept for one release.

A finder on `sys.meta_path` answers each old name with its new module, so
`import shapecheck.trace` and `from shapecheck.trace import x` give the very same module
object (patching through either path patches both), and the package folder shows only
the stages.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys
import warnings

MOVED = {
    "shapecheck.build": "shapecheck.load.build",
    "shapecheck.inputs": "shapecheck.load.inputs",
    "shapecheck.thirdparty": "shapecheck.load.thirdparty",
    "shapecheck.trace": "shapecheck.graph.trace",
    "shapecheck.record": "shapecheck.graph.record",
    "shapecheck.source": "shapecheck.graph.source",
    "shapecheck.residual": "shapecheck.graph.residual",
    "shapecheck.meta": "shapecheck.ops.meta",
    "shapecheck.shape_rules": "shapecheck.ops.shape_rules",
    "shapecheck.layers": "shapecheck.ops.layers",
    "shapecheck.layout": "shapecheck.ops.layout",
    "shapecheck.stats": "shapecheck.ops.counts",
    "shapecheck.propagate": "shapecheck.analysis.propagate",
    "shapecheck.intent": "shapecheck.analysis.intent",
    "shapecheck.diagnose": "shapecheck.analysis.diagnose",
    "shapecheck.fix": "shapecheck.analysis.fix",
    "shapecheck.confirm_chain": "shapecheck.confirm.chain",
    "shapecheck.confirm_device": "shapecheck.confirm.device",
    "shapecheck.confirm_run": "shapecheck.confirm.run",
}


class _MovedFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds the old paths in MOVED; loading one puts its new module in its place."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname not in MOVED:
            return None
        return importlib.util.spec_from_loader(fullname, self)

    def create_module(self, spec):
        return None  # a placeholder module, replaced in exec_module

    def exec_module(self, module) -> None:
        old = module.__name__
        warnings.warn(f"{old} moved to {MOVED[old]}; the old path goes in the next release",
                      DeprecationWarning, stacklevel=2)
        # the import system returns whatever sys.modules holds once this returns
        sys.modules[old] = importlib.import_module(MOVED[old])


def install() -> None:
    """Serve the old import paths (called once, by `shapecheck/__init__.py`).

    >>> import shapecheck.ops.layout, shapecheck.layout
    >>> shapecheck.layout is shapecheck.ops.layout
    True
    """
    if not any(isinstance(f, _MovedFinder) for f in sys.meta_path):
        sys.meta_path.append(_MovedFinder())
